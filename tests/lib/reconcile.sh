# shellcheck shell=bash
# Reconciliation of the fault suite (tests/e2e/9*_fault_*.sh, tests/soak/run.sh):
# what the database says against what the SMSC (tests/peers/smsc.js) says it
# received.  Source it after tests/lib/e2e.sh.
#
# Every message of a fault scenario is inserted with
#   client_ref = KEY   and   body = 'fault KEY'        (fault_insert does it)
# so that each submit_sm in the SMSC's event log names its outbox row.
#
#   fault_insert PREFIX N
#                          N messages, keys PREFIX1..PREFIXN, recipients +1555…
#   recon_mark_inflight    remembers the rows now in `sending` (call right after
#                          a fault: a SIGKILL, a dropped connection…); with
#                          RECON_INFLIGHT=1 every duplicate must be one of them
#   reconcile LABEL SMSC_LOG N MAX_DUP [WAIT_S]   (FAULT_WAIT_S overrides WAIT_S)
#                          RECON_TESTS (9) TAP assertions about the rows whose
#                          client_ref is LIKE $RECON_SCOPE (default '%'):
#     1. no row left queued or sending within WAIT_S (default 60) seconds
#     2. no row left in sent awaiting its report within 10 s more
#        (FAULT_REPORT_WAIT_S changes the 10 s)
#     3. no row lost, none doubled: N rows, N distinct keys (one row per
#        message, hence one final state per message)
#     4. every row in a state of $RECON_STATES (default: delivered)
#     5. every sent/delivered row has exactly one remote id per part, and
#        each part of a delivered row has a final part_status
#     6. every delivered row's remote ids were given by the SMSC to THAT
#        message (a submit_sm carrying its key, answered ESME_ROK with that id)
#     7. the SMSC accepted nothing that is not an outbox row of the scope
#     8. with RECON_INFLIGHT=1: every duplicated row (the SMSC accepted it
#        more than once) was in flight at a fault (recon_mark_inflight)
#     9. duplicates (submits the SMSC accepted beyond the first, per row)
#        <= MAX_DUP (the caller passes window x faults); printed as a diag
#        line "LABEL: duplicates D (rows R) <= MAX_DUP", with the most
#        duplicates one fault caused (per fault: the rows whose last fault
#        in flight it was).
# There is no switch that turns an assertion into a TODO: a test that can
# be switched off cannot fail.
# After it, RECON_DUPS holds D and RECON_DUP_MAX the most for one fault.
#
# The SMSC's log is loaded into the table public.fault_recv(key, status, id)
# of the test database (reloaded at each call).
RECON_TESTS=9
RECON_SCOPE=${RECON_SCOPE:-%}
RECON_STATES=${RECON_STATES:-delivered}
RECON_INFLIGHT=${RECON_INFLIGHT:-0}
RECON_DUPS=0
RECON_DUP_MAX=0
_recon_fault=0

# fault_insert PREFIX N: N messages with keys PREFIX1..PREFIXN.
fault_insert() {
	local prefix=$1 n=$2 i
	for ((i = 0; i < 50; i++)); do
		sql "INSERT INTO smspool.outbox (recipient, body, client_ref)
		     SELECT '+1555' || lpad(g::text, 7, '0'), 'fault $prefix' || g, '$prefix' || g
		     FROM generate_series(1, $n) g" 2>/dev/null && return 0
		sleep 0.2 # PostgreSQL restarting
	done
	bail "could not insert $n messages $prefix*"
}

_recon_tables() {
	sql "CREATE TABLE IF NOT EXISTS public.fault_recv (key text, status text, id text);
	     CREATE TABLE IF NOT EXISTS public.fault_inflight (message_id bigint, fault int, PRIMARY KEY (message_id, fault))" >/dev/null 2>&1
}

recon_mark_inflight() {
	local i
	_recon_tables
	_recon_fault=$((_recon_fault + 1))
	for ((i = 0; i < 50; i++)); do
		sql "INSERT INTO public.fault_inflight SELECT id, $_recon_fault FROM smspool.outbox WHERE status = 'sending'
		     ON CONFLICT DO NOTHING" 2>/dev/null && return 0
		sleep 0.2
	done
	diag "recon_mark_inflight: could not record the rows in flight"
}

# recon_load SMSC_LOG: the submits of fault messages, as key TAB status TAB id.
recon_load() {
	local tsv=$E2E_TMP/recon.tsv
	node -e '
		const fs = require("fs");
		const out = [];
		for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
			if (!line.includes("\"submit\"")) continue;
			let e;
			try { e = JSON.parse(line); } catch (x) { continue; }
			if (e.ev !== "submit" || typeof e.text !== "string" || !e.text.startsWith("fault ")) continue;
			out.push(e.text.slice(6) + "\t" + (e.status || "") + "\t" + (e.id || "\\N"));
		}
		fs.writeFileSync(process.argv[2], out.length ? out.join("\n") + "\n" : "");' "$1" "$tsv" ||
		{ diag "recon_load: cannot read $1"; return 1; }
	_recon_tables
	sql "TRUNCATE public.fault_recv" && "$E2E_PSQL" -X -q -v ON_ERROR_STOP=1 -d "$SMSPOOL_DB" \
		-c "COPY public.fault_recv FROM STDIN" <"$tsv"
}

reconcile() {
	local label=$1 log=$2 n=$3 maxdup=$4 wait_s=${FAULT_WAIT_S:-${5:-60}}
	local scope="client_ref LIKE '$RECON_SCOPE'"
	local pending="status IN ('queued', 'sending') OR (status = 'sent' AND want_report)"
	local states_sql r

	local counts="SELECT string_agg(status || '=' || n, ' ' ORDER BY status) FROM (SELECT status, count(*) n FROM smspool.outbox WHERE $scope GROUP BY status) s"
	# 1. nothing left in the queue within the bound
	if wait_for "$wait_s" "SELECT count(*) = 0 FROM smspool.outbox WHERE $scope AND status IN ('queued', 'sending')"; then
		pass "$label: no row left queued or sending within $wait_s s"
	else
		fail "$label: no row left queued or sending within $wait_s s" "states: $(sql "$counts")" \
			"some of them: $(sql "SELECT string_agg(id || ' ' || status || ' attempts=' || attempts || ' ' || coalesce(error_text, ''), '; ') FROM (SELECT * FROM smspool.outbox WHERE $scope AND status IN ('queued', 'sending') ORDER BY id LIMIT 5) x")"
	fi
	# 2. every report arrived and was matched
	local stuck
	wait_for "${FAULT_REPORT_WAIT_S:-10}" "SELECT count(*) = 0 FROM smspool.outbox WHERE $scope AND ($pending)" >/dev/null
	stuck=$(sql "SELECT count(*) FROM smspool.outbox WHERE $scope AND status = 'sent' AND want_report")
	if [ "$stuck" != 0 ]; then
		diag "$label: $stuck rows still sent awaiting a report, e.g. $(sql "SELECT string_agg(id || ' ' || remote_ids::text, '; ') FROM (SELECT * FROM smspool.outbox WHERE $scope AND status = 'sent' AND want_report ORDER BY id LIMIT 3) x")" \
			"of them with their report stored but unmatched: $(sql "SELECT count(DISTINCT o.id) || ', reports stored ' || coalesce(round(avg(extract(epoch FROM r.received_at - o.sent_at) * 1000)), 0) || ' ms after the result on average (received_at - sent_at)' FROM smspool.outbox o JOIN smspool.reports r ON r.remote_id = ANY (o.remote_ids) AND r.connection = o.connection_used AND r.message_id IS NULL WHERE o.$scope AND o.status = 'sent' AND o.want_report")"
	fi
	ok "$stuck == 0" "$label: no row left in sent awaiting its report ($stuck)"
	diag "$label: states $(sql "$counts")"
	recon_load "$log" || bail "$label: the SMSC log cannot be loaded"

	# 3. no row lost, none doubled
	r=$(sql "SELECT count(*) || '/' || count(DISTINCT client_ref) FROM smspool.outbox WHERE $scope")
	is "$r" "$n/$n" "$label: no row lost, one row per message ($r rows/keys)"

	# 4. the expected final states
	local st=$RECON_STATES
	states_sql=$(printf "'%s'," ${st//,/ })
	r=$(sql "SELECT count(*) FROM smspool.outbox WHERE $scope AND status NOT IN (${states_sql%,})")
	if [ "$r" = 0 ]; then
		pass "$label: every row ends $st"
	else
		fail "$label: every row ends $st" "$r rows do not:" \
			"$(sql "SELECT id || ' ' || client_ref || ' ' || status || ' attempts=' || attempts || ' ' || coalesce(error_class, '') || ' ' || coalesce(error_text, '') FROM smspool.outbox WHERE $scope AND status NOT IN (${states_sql%,}) ORDER BY id LIMIT 10")"
	fi

	# 5. one remote id per part
	r=$(sql "SELECT count(*) FROM smspool.outbox WHERE $scope AND status IN ('sent', 'delivered')
	         AND (coalesce(cardinality(remote_ids), 0) <> parts OR EXISTS (SELECT 1 FROM unnest(remote_ids) x WHERE coalesce(x, '') = '')
	              OR (status = 'delivered' AND EXISTS (SELECT 1 FROM unnest(part_status) p WHERE p IS DISTINCT FROM 'delivered'))
	              OR (status = 'delivered' AND coalesce(cardinality(part_status), 0) <> parts))")
	if [ "$r" = 0 ]; then
		pass "$label: sent/delivered rows have one remote id per part (and delivered parts)"
	else
		fail "$label: sent/delivered rows have one remote id per part (and delivered parts)" "$r rows do not:" \
			"$(sql "SELECT id || ' ' || status || ' parts=' || parts || ' ids=' || coalesce(remote_ids::text, 'NULL') || ' ps=' || coalesce(part_status::text, 'NULL') FROM smspool.outbox WHERE $scope AND status IN ('sent', 'delivered') AND (coalesce(cardinality(remote_ids), 0) <> parts OR status = 'delivered') ORDER BY id LIMIT 5")"
	fi

	# 6. remote ids really given to that message
	r=$(sql "SELECT count(*) FROM smspool.outbox o, unnest(o.remote_ids) rid
	         WHERE o.$scope AND o.status IN ('sent', 'delivered')
	           AND NOT EXISTS (SELECT 1 FROM public.fault_recv f WHERE f.key = o.client_ref AND f.status = 'ESME_ROK' AND f.id = rid)")
	if [ "$r" = 0 ]; then
		pass "$label: every remote id was given by the SMSC to that very message"
	else
		fail "$label: every remote id was given by the SMSC to that very message" "$r remote ids are not:" \
			"$(sql "SELECT o.id || ' ' || o.client_ref || ' ' || rid || ' smsc: ' || coalesce((SELECT string_agg(f.status || ':' || coalesce(f.id, ''), ',') FROM public.fault_recv f WHERE f.key = o.client_ref), 'nothing') FROM smspool.outbox o, unnest(o.remote_ids) rid WHERE o.$scope AND o.status IN ('sent', 'delivered') AND NOT EXISTS (SELECT 1 FROM public.fault_recv f WHERE f.key = o.client_ref AND f.status = 'ESME_ROK' AND f.id = rid) LIMIT 5")"
	fi

	# 7. nothing accepted that is not ours
	r=$(sql "SELECT count(*) FROM public.fault_recv f WHERE f.key LIKE '$RECON_SCOPE' AND f.status = 'ESME_ROK'
	         AND NOT EXISTS (SELECT 1 FROM smspool.outbox o WHERE o.client_ref = f.key)")
	is "$r" 0 "$label: the SMSC accepted nothing that is not an outbox row"

	# 8, 9. duplicates
	local dups rows notin=0 dupq
	dupq="SELECT key, count(*) - 1 AS extra FROM public.fault_recv WHERE key LIKE '$RECON_SCOPE' AND status = 'ESME_ROK' GROUP BY key HAVING count(*) > 1"
	read -r dups rows < <(sql "SELECT coalesce(sum(extra), 0), count(*) FROM ($dupq) d" | tr '|' ' ')
	RECON_DUPS=$dups
	RECON_DUP_MAX=$(sql "SELECT coalesce(max(n), 0) FROM (SELECT f.fault, sum(d.extra) n FROM ($dupq) d
	         JOIN smspool.outbox o ON o.client_ref = d.key
	         JOIN LATERAL (SELECT max(i.fault) AS fault FROM public.fault_inflight i WHERE i.message_id = o.id) f ON true
	         GROUP BY f.fault) x" 2>/dev/null)
	diag "$label: duplicates $dups (rows $rows) <= $maxdup, at most ${RECON_DUP_MAX:-?} for one fault; SMSC submits: $(sql "SELECT string_agg(status || '=' || n, ' ' ORDER BY status) FROM (SELECT status, count(*) n FROM public.fault_recv WHERE key LIKE '$RECON_SCOPE' GROUP BY status) s"); unmatched reports: $(sql "SELECT count(*) || ' (' || count(*) FILTER (WHERE EXISTS (SELECT 1 FROM smspool.reports m WHERE m.remote_id = u.remote_id AND m.connection = u.connection AND m.message_id IS NOT NULL)) || ' of them copies of a matched one)' FROM smspool.reports u WHERE u.message_id IS NULL")"
	if [ "$RECON_INFLIGHT" = 1 ]; then
		notin=$(sql "SELECT count(*) FROM ($dupq) d JOIN smspool.outbox o ON o.client_ref = d.key
		            WHERE NOT EXISTS (SELECT 1 FROM public.fault_inflight i WHERE i.message_id = o.id)")
		if [ "$notin" = 0 ]; then
			pass "$label: every duplicated row was in flight at a fault ($rows rows)"
		else
			fail "$label: every duplicated row was in flight at a fault ($rows rows)" "$notin were not:" \
				"$(sql "SELECT d.key || ' x' || (d.extra + 1) || ' id=' || o.id || ' ' || o.status FROM ($dupq) d JOIN smspool.outbox o ON o.client_ref = d.key WHERE NOT EXISTS (SELECT 1 FROM public.fault_inflight i WHERE i.message_id = o.id) LIMIT 10")"
		fi
	else
		skip "$label: every duplicated row was in flight at a fault" "rows in flight are not recorded for this fault"
	fi
	if [ "$dups" -le "$maxdup" ]; then
		pass "$label: duplicates $dups <= $maxdup (window x faults)"
	else
		fail "$label: duplicates $dups <= $maxdup (window x faults)" \
			"$(sql "SELECT d.key || ' x' || (d.extra + 1) || ' id=' || coalesce(o.id::text, '?') || ' ' || coalesce(o.status, '') FROM ($dupq) d LEFT JOIN smspool.outbox o ON o.client_ref = d.key ORDER BY d.key LIMIT 10")"
	fi
}

# --- the SMSC ------------------------------------------------------------------

# smsc_start DIR 'JSON members': writes DIR/conf.json with port_file, log
# (DIR/events.jsonl) and control (DIR/control) plus the members given, starts
# tests/peers/smsc.js; sets SMSC_PID, SMSC_PORT, SMSC_LOG, SMSC_CONTROL.
smsc_start() {
	local dir=$1 extra=$2 i
	[ -d "$E2E_ROOT/tests/peers/node_modules/smpp" ] && command -v node >/dev/null 2>&1 ||
		bail "the npm peers are not installed: run make test-deps (tests/peers/install.sh)"
	mkdir -p "$dir"
	SMSC_LOG=$dir/events.jsonl
	SMSC_CONTROL=$dir/control
	cat >"$dir/conf.json" <<EOF
{"port_file": "$dir/port", "log": "$SMSC_LOG", "control": "$SMSC_CONTROL",
 "accounts": {"smspool": "secret"}, ${extra}}
EOF
	node "$E2E_ROOT/tests/peers/smsc.js" "$dir/conf.json" >"$dir/stdout" 2>&1 &
	SMSC_PID=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/port" ] && break
		kill -0 "$SMSC_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$dir/port" ] || bail "the SMSC did not start: $(cat "$dir/stdout")"
	SMSC_PORT=$(cat "$dir/port")
	trap 'kill $SMSC_PID 2>/dev/null; _e2e_cleanup' EXIT
	diag "SMSC (npm smpp) on 127.0.0.1:$SMSC_PORT, pid $SMSC_PID, events in $SMSC_LOG"
}

# smsc_mode MODE: normal | stall | throttle | garbage | drop (see smsc.js "control").
smsc_mode() {
	printf '{"mode": "%s", "at": %s}\n' "$1" "$(now_ms)" >"$SMSC_CONTROL.tmp" && mv "$SMSC_CONTROL.tmp" "$SMSC_CONTROL"
	sleep 0.1 # polled every 50 ms
}

# smsc_q 'JS expression' over L, the SMSC's events.
smsc_q() {
	node -e '
		const fs = require("fs");
		const L = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
		const r = eval(process.argv[2]);
		console.log(typeof r === "object" ? JSON.stringify(r) : String(r));' "$SMSC_LOG" "$1"
}

# smsc_alive: the SMSC process still runs.
smsc_alive() { kill -0 "$SMSC_PID" 2>/dev/null; }

# smpp_settings [MORE]: the settings JSON of a connection to the SMSC.
smpp_settings() {
	echo "{\"host\": \"127.0.0.1\", \"port\": $SMSC_PORT, \"system_id\": \"smspool\", \"password\": \"secret\",
	       \"enquire_link_s\": 2, \"response_timeout_s\": 5, \"reconnect_min_ms\": 100, \"reconnect_max_ms\": 500${1:+, $1}}"
}

# fault_small: true when the binary is a sanitizer build, ASan or TSan
# (slower: smaller runs).
fault_small() { case $SMSPOOL_BIN in *build-san* | *build-tsan*) return 0 ;; esac; return 1; }
