#!/usr/bin/env bash
# make bench: figures anyone can reproduce, never a verdict.  Everything runs
# on the private PostgreSQL cluster and 127.0.0.1, bounded in time; prints one
# table and writes var/bench/latest.json and var/bench/latest.png.
#
#   BENCH_SCALE=full   (default) the sizes of issue 5, about 30 minutes on 2 cores (1,648 s on 2026-12-03)
#   BENCH_SCALE=small  the same phases scaled down, ~2-3 minutes (for development)
#   BENCH_PHASES="ceiling sink lifecycle two_daemons ucp sustained retention latency producer backlog ingest ucp_ingest kannel odbc email"
#                      run only some phases (the others print n/a)
#
# Phases (each on fresh tables of the database bench_smspool, dropped at exit):
#  1. ceiling   pgbench on smspool's own functions: (a) claim+sent+delivered in
#               batches of 100 and of 1000 on rows already queued (best kept),
#               (b) single-row producer INSERTs, one per transaction, 2 clients.
#  2. sink      capacity of the C SMPP sink (tests/bench/sink.c), blasted by the
#               C ESME (tests/bench/load.c) with receipts: must dwarf the rest.
#     lifecycle N rows queued -> `smpp` connection -> sink -> receipt -> delivered.
#     two_daemons the same N rows drained by two daemons (instances bench2a,
#               bench2b) on the one database, each with its own session of the
#               `bench` connection to the sink: what a second daemon adds.
#     ucp       the same N through a `ucp` connection to the C EMI/UCP sink
#               (tests/bench/ucp_sink.c: ACK + op 53 per message): TRN window 100
#               (the settings' `window`, EMI's limit) and the connection's window
#               (submit to committed result) the SMPP phase's $WINDOW.
#     sustained producer + daemon for SUST_N messages or SUST_MAX_S seconds,
#               delivered per 10-s slice; outbox sizes and dead tuples at the end.
#     retention producer + daemon for RET_N messages or RET_S seconds while
#               retention keeps only the last RET_KEEP_S seconds of finished
#               messages (018's purge in batches, each second, standing for
#               maintain() with retention_days), pace.c inserting 200 rows/s
#               on the side: table sizes over time, INSERT latency while
#               rows go, delivered per 10-s slice.
#  3. latency   pace.c inserts LAT_RATE rows/s, one per transaction (8 libpq
#               connections, nonblocking), logging send and commit-ack times;
#               the sink logs when the submit_sm with the same text arrives.
#     producer  PROD_T s of single-row INSERTs, one per transaction, 4
#               pgbench clients, without a daemon, then with the daemon
#               running and sending them to the sink: the producer's rate
#               with the daemon / without (NOTIFY only while a claimer waits).
#  4. backlog   BACKLOG_N rows queued on a disabled connection: daemon RSS
#               before, and after the connection is enabled and drains.
#  5. ingest    4 ESMEs (load.c) bind to the smpp-server connection and submit.
#     ucp_ingest BENCH_UCP_CLIENTS (4) EMI clients (ucp_load.c, window 100 each) log in to a
#               ucp-server connection and submit.
#  9. link      LINK_N rows of daemon A (this database) -> `link` -> daemon B
#               (database bench_smspool_b) `link-server` -> B's smpp -> sink ->
#               receipt -> delivered in B -> state back over the link ->
#               delivered in A; then the same path over SMPP (A's smpp
#               client -> B's smpp-server, receipts back as deliver_sm), in
#               the same run: msg/s to delivered in A, each.
#  8. email     EMAIL_N messages through an `email` connection (STARTTLS, AUTH)
#               into a private Exim (queue_only), msg/s to sent; EMAIL_N mails
#               dropped into a private Dovecot's maildir, taken over POP3 into
#               the inbox (and deleted), msg/s (tests/lib/mailpeers.sh).
#  6. kannel    the same lifecycle through Kannel 1.4.5 (sendsms -> bearerbox
#               -> sink, receipts in memory -> dlr-url counted by kload.c).
#  7. odbc      ODBC_N (BENCH_ODBC_N) rows in a private MariaDB's sms_outgoing -> odbc
#               connection -> sink -> receipt -> status delivered in MariaDB.
# The Makefile runs `sh tests/bench/run.sh`: continue under bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT"
BIN=${SMSPOOL_BIN:-bin/smspool}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
BUILD=${SMSPOOL_BUILD:-build}
SCALE=${BENCH_SCALE:-full}
PHASES=${BENCH_PHASES:-ceiling sink lifecycle two_daemons ucp sustained retention latency producer backlog ingest ucp_ingest kannel odbc email link}
case $SCALE in
small)
	RET_N=400000 RET_S=45 RET_KEEP_S=10 RET_PART_IDS=100000 PROD_T=5 CEIL_T=5 CEIL_Q=150000 LIFE_N=20000 SUST_N=1000000 SUST_MAX_S=35 LAT_RATE=1000 LAT_S=10
	BACKLOG_N=100000 INGEST_N=20000 KANNEL_N=10000 SINK_N=200000 ODBC_N=20000 EMAIL_N=2000 LINK_N=10000
	;;
full)
	RET_N=10000000 RET_S=600 RET_KEEP_S=60 RET_PART_IDS=1000000 PROD_T=15 CEIL_T=15 CEIL_Q=700000 LIFE_N=200000 SUST_N=2000000 SUST_MAX_S=600 LAT_RATE=1000 LAT_S=30
	BACKLOG_N=1000000 INGEST_N=100000 KANNEL_N=200000 SINK_N=1000000 ODBC_N=100000 EMAIL_N=10000 LINK_N=100000
	;;
*)
	echo "bench: BENCH_SCALE must be small or full" >&2
	exit 2
	;;
esac
LIFE_N=${BENCH_N:-$LIFE_N}
LINK_N=${BENCH_LINK_N:-$LINK_N}
ODBC_N=${BENCH_ODBC_N:-$ODBC_N}   # rows of the odbc phase
WINDOW=${BENCH_WINDOW:-1000}     # connections.window of the smpp client connection
# connections.window of the ucp connection: the slots a message holds from its
# submit until its result is committed (the crash-duplicate bound), as for
# smpp; the TRNs outstanding are the settings' window (100).  With 100 here the
# phase measured the commit latency (100 per submit-to-commit round), not EMI.
UCP_WINDOW=${BENCH_UCP_WINDOW:-$WINDOW}
INGEST_WINDOW=${BENCH_INGEST_WINDOW:-500}
UCP_CLIENTS=${BENCH_UCP_CLIENTS:-4} # EMI sessions of the ucp_ingest phase (window 100 each: TRN 00-99)
KANNEL_WINDOW=100 KANNEL_CONC=50
PGBIN=/usr/lib/postgresql/15/bin
OUT=$ROOT/var/bench
TMP=$OUT/run
BB=$ROOT/$BUILD/bench
rm -rf "$TMP"
rm -f "$OUT/sustained.tsv" "$OUT/latency.tsv" "$OUT/latest.png" "$OUT/latest.json" "$OUT/latest.txt"
mkdir -p "$OUT" "$TMP" "$BB"
T_BENCH0=$(date +%s)
has_phase() { case " $PHASES " in *" $1 "*) return 0 ;; *) return 1 ;; esac }
say() { printf '== %s\n' "$*" >&2; }

# --- tools ------------------------------------------------------------------
# Installed by `make bench-deps` (packaging/install-deps.sh --bench), never here.
command -v gnuplot >/dev/null 2>&1 || echo "bench: gnuplot is not installed (make bench-deps): no plot" >&2

[ -x "$BIN" ] || make >/dev/null
[ -f "$BUILD/libsmspool.a" ] || make >/dev/null
PKG_LIBS="$(pkg-config --libs libpq libevent jansson libevent_openssl openssl libcurl libmicrohttpd) -levent_pthreads -lpthread -lm"
BCFLAGS="-O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Isrc -Idrivers $(pkg-config --cflags jansson libpq libcurl libmicrohttpd)"
for p in sink load pace ucp_sink ucp_load; do
	# shellcheck disable=SC2086
	cc $BCFLAGS -o "$BB/$p" "tests/bench/$p.c" "$BUILD/libsmspool.a" $PKG_LIBS
done
# shellcheck disable=SC2086,SC2046
cc $BCFLAGS -o "$BB/kload" tests/bench/kload.c $(pkg-config --libs libcurl libmicrohttpd)

# --- database ---------------------------------------------------------------
sh packaging/pgcluster.sh start >/dev/null
DB=bench_smspool
sh packaging/pgcluster.sh dropdb $DB >/dev/null 2>&1 || true
sh packaging/pgcluster.sh createdb $DB >/dev/null
SMSPOOL_DB="$(sh packaging/pgcluster.sh url | sed "s/dbname=[^ ]*/dbname=$DB/")"
export SMSPOOL_DB SMSPOOL_INSTANCE=bench SMSPOOL_LOG_LEVEL=${BENCH_LOG_LEVEL:-warn}
"$BIN" db migrate >/dev/null
# BENCH_EXPLAIN_MS=300: log the plan of every statement slower than that (the
# daemon's nested SQL included) to the cluster log var/pg/log, for profiling.
if [ -n "${BENCH_EXPLAIN_MS:-}" ]; then
	for s in "session_preload_libraries = 'auto_explain'" "auto_explain.log_min_duration = '${BENCH_EXPLAIN_MS}ms'" \
		"auto_explain.log_nested_statements = on" "auto_explain.log_analyze = on"; do
		"$PGBIN/psql" -XAtq "$SMSPOOL_DB" -c "ALTER DATABASE $DB SET $s"
	done
fi
# q SQL: psql; waits (up to 60 s) through a restart of the shared cluster,
# which other test suites on this machine may do.
q() {
	local out _
	for _ in $(seq 60); do
		if out=$("$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 "$SMSPOOL_DB" -c "$1" 2>&1); then
			[ -n "$out" ] && printf '%s\n' "$out"
			return 0
		fi
		case $out in
		*"shutting down"* | *"starting up"* | *"connection to server"* | *"terminating connection"* | *"server closed the connection"*) sleep 1 ;;
		*)
			printf '%s\n' "$out" >&2
			return 1
			;;
		esac
	done
	printf '%s\n' "$out" >&2
	return 1
}
# pq SQL: the polls of the waiting loops, on one psql kept open (a
# coprocess).  A psql process and a new backend per poll cost about 40 ms of
# CPU; at ten polls a second that was a fifth of this 2-core machine taken
# from the phase being measured (the link phase ran about 20 % faster with
# one poll a second).  Sets PQ_OUT (rows as psql -At prints them, "" when
# the query failed) and returns 0, or 1 when psql is not there (it is
# started again at the next call, e.g. after a restart of the cluster).
PQ_OUT="" PQ_PID=""
pq() {
	local line out=""
	PQ_OUT=""
	if [ -z "$PQ_PID" ] || ! kill -0 "$PQ_PID" 2>/dev/null; then
		coproc PQ { exec "$PGBIN/psql" -XAtq "$SMSPOOL_DB" 2>/dev/null; }
		PIDS+=("$PQ_PID")
	fi
	[ -n "${PQ[1]:-}" ] || return 1
	printf '%s;\n\\echo __pq_end__\n' "$1" >&"${PQ[1]}" 2>/dev/null || return 1
	while IFS= read -r -t 10 line <&"${PQ[0]}"; do
		if [ "$line" = __pq_end__ ]; then
			PQ_OUT=$out
			return 0
		fi
		out=${out:+$out$'\n'}$line
	done
	return 1
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; } # calc FORMAT EXPR
pct() { # pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }'
}

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if declare -F mariadb_kill >/dev/null; then mariadb_kill; fi
	[ -n "${BENCH_KEEP_DB:-}" ] || sh packaging/pgcluster.sh dropdb $DB >/dev/null 2>&1 || true
	[ -n "${BENCH_KEEP_DB:-}" ] || sh packaging/pgcluster.sh dropdb ${DB}_b >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# results: key -> value; every row of the table is one key
declare -A R=()
declare -A NOTE=()

# --- sink and daemon helpers -----------------------------------------------
SINK_PID="" SINK_PORT=""
start_sink() { # start_sink ARGS...: the C sink on a free port
	rm -f "$TMP/sink.port"
	"$BB/sink" -P "$TMP/sink.port" "$@" 2>>"$TMP/sink.log" &
	SINK_PID=$!
	PIDS+=("$SINK_PID")
	for _ in $(seq 100); do [ -s "$TMP/sink.port" ] && break; sleep 0.05; done
	SINK_PORT=$(cat "$TMP/sink.port")
}
stop_sink() { kill -TERM "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; }

DPID=""
start_daemon() { # start_daemon TAG
	"$BIN" run 2>>"$TMP/daemon-$1.log" &
	DPID=$!
	PIDS+=("$DPID")
}
stop_daemon() { kill -TERM "$DPID" 2>/dev/null || true; wait "$DPID" 2>/dev/null || true; }
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# pg_cpu_s: CPU of this cluster's sessions on the bench database now (the
# daemon's: psql's come and go), for the share PostgreSQL takes of a phase.
pg_cpu_s() {
	local t=0 p pm
	pm=$(head -1 var/pg/data/postmaster.pid 2>/dev/null) || { echo 0; return; }
	for p in $(pgrep -P "$pm" -f "postgres: .* $DB " || true); do
		t=$(calc %.2f "$t + $(cpu_s "$p" 2>/dev/null || echo 0)")
	done
	echo "$t"
}
rss_mb() { awk -v k="$2" '$1 == k":" { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; } # rss_mb PID VmRSS|VmHWM
wait_up() { # wait_up CONNECTION SECONDS
	local end=$(($(now_ms) + $2 * 1000))
	while [ "$(q "SELECT state FROM smspool.connection_state WHERE name = '$1'")" != up ]; do
		[ "$(now_ms)" -lt $end ] || return 1
		sleep 0.1
	done
}
# wait_drained SECONDS [by_id]: until no row is queued, sending or awaiting its
# report.  Polls the two small hot tables only (queue, report_wait), never the
# outbox while they hold rows.  by_id: a link with client_ids (047) leaves no
# report_wait rows behind its sends, so once both are empty the outbox itself
# says whether reports are still awaited (a scan, but only for the tail).
SENT_MS=""
wait_drained() {
	local end=$(($(now_ms) + $1 * 1000)) qn rn
	SENT_MS=""
	while :; do
		qn="" rn=""
		pq "SELECT (SELECT count(*) FROM smspool.queue), (SELECT count(*) FROM smspool.report_wait)" &&
			IFS='|' read -r qn rn <<<"$PQ_OUT"
		[ -z "$SENT_MS" ] && [ "$qn" = 0 ] && SENT_MS=$(now_ms)
		if [ "$qn" = 0 ] && [ "$rn" = 0 ] && [ "${2:-}" = by_id ]; then
			rn=""
			pq "SELECT count(*) FROM smspool.outbox WHERE status IN ('sending', 'sent') AND done_at IS NULL" && rn=$PQ_OUT
		fi
		[ "$qn" = 0 ] && [ "$rn" = 0 ] && return 0
		[ "$(now_ms)" -lt $end ] || return 1
		sleep 0.1
	done
}
fresh_tables() {
	q "TRUNCATE smspool.outbox, smspool.queue, smspool.report_wait, smspool.reports CASCADE"
	q "VACUUM ANALYZE smspool.outbox" 2>/dev/null || true
	q "CHECKPOINT" 2>/dev/null || true
}
insert_rows() { # insert_rows COUNT [CONNECTION]: already queued, 10,000 rows per statement
	local left=$1 k conn=${2:-bench}
	while [ "$left" -gt 0 ]; do
		k=$((left < 10000 ? left : 10000))
		# ids beyond the last partition are refused (032): keep partitions
		# ahead of a bulk load as the daemon's partition round would
		q "SELECT smspool.partitions_ahead()" >/dev/null
		q "INSERT INTO smspool.outbox (recipient, body, connection)
		   SELECT '+1555' || lpad((i % 10000000)::text, 7, '0'), 'bench message ' || i, '$conn' FROM generate_series(1, $k) i"
		left=$((left - k))
	done
}

# Partitions (032) of at least 2,000,000 ids, and the daemons' partition round
# every second: the phases queue hundreds of thousands of rows in seconds,
# beyond the two partitions of the default 100,000 ids kept ahead (an id past
# the last partition is refused; sql/partitions.md). The sequences are not
# reset between phases.
q "UPDATE smspool.config SET value = CASE key WHEN 'partition_check_s' THEN '1' ELSE '2000000' END
   WHERE key IN ('partition_check_s', 'partition_min_ids')" >/dev/null
q "SELECT smspool.partitions_ahead()" >/dev/null

# The client connection `bench` (type smpp) to the sink, and a catch-all route to it.
SINK_BOOT_PORT=$(free_port)
SMPP_SETTINGS() { echo "{\"host\": \"127.0.0.1\", \"port\": $1, \"system_id\": \"smspool\", \"password\": \"bench\", \"request_reports\": true, \"enquire_link_s\": 30, \"reconnect_min_ms\": 100, \"reconnect_max_ms\": 1000}"; }
q "INSERT INTO smspool.connections (name, type, settings, \"window\") VALUES ('bench', 'smpp', '$(SMPP_SETTINGS "$SINK_BOOT_PORT")', $WINDOW)"
q "INSERT INTO smspool.routes (position, connection) VALUES (100, 'bench')"
set_sink_port() { q "UPDATE smspool.connections SET settings = '$(SMPP_SETTINGS "$1")' WHERE name = 'bench'"; }

# ============================================================================
# 1. PostgreSQL ceiling
if has_phase ceiling; then
	for b in 100 1000; do
		script=tests/bench/ceiling.pgbench
		[ $b = 1000 ] && script=tests/bench/ceiling1000.pgbench
		say "ceiling (a): claim+sent+delivered, batches of $b, 2 clients, ${CEIL_T} s"
		fresh_tables
		insert_rows "$CEIL_Q"
		q "VACUUM ANALYZE smspool.outbox, smspool.queue" 2>/dev/null || true
		# the daemon's sessions use generic plans (src/db/pg.c): so does the ceiling
		PGOPTIONS="-c plan_cache_mode=force_generic_plan" \
			"$PGBIN/pgbench" -n -c 2 -j 2 -T "$CEIL_T" -f "$script" "$SMSPOOL_DB" >"$TMP/ceiling$b.out" 2>&1 ||
			NOTE[ceiling_lifecycle_b$b]="pgbench failed: $(grep -m1 error "$TMP/ceiling$b.out")"
		done_n=$(q "SELECT count(*) FROM smspool.outbox WHERE status = 'delivered'")
		left=$(q "SELECT count(*) FROM smspool.queue")
		R[ceiling_lifecycle_b$b]=$(calc %.0f "$done_n / $CEIL_T")
		[ "$left" = 0 ] && NOTE[ceiling_lifecycle_b$b]="queue ran dry: a lower bound"
	done
	if [ "${R[ceiling_lifecycle_b100]}" -ge "${R[ceiling_lifecycle_b1000]}" ]; then
		R[ceiling_lifecycle_msgs_per_s]=${R[ceiling_lifecycle_b100]} R[ceiling_batch]=100
	else
		R[ceiling_lifecycle_msgs_per_s]=${R[ceiling_lifecycle_b1000]} R[ceiling_batch]=1000
	fi
	say "ceiling (b): single-row INSERT, one per transaction, 2 clients, ${CEIL_T} s"
	fresh_tables
	cat >"$TMP/insert.pgbench" <<'EOF'
\set r random(0, 999999)
INSERT INTO smspool.outbox (recipient, body) VALUES ('+1555' || lpad((:client_id * 1000000 + :r)::text, 7, '0'), 'bench insert');
EOF
	"$PGBIN/pgbench" -n -c 2 -j 2 -T "$CEIL_T" -f "$TMP/insert.pgbench" "$SMSPOOL_DB" >"$TMP/insert.out" 2>&1 ||
		NOTE[ceiling_insert_msgs_per_s]="pgbench failed: $(grep -m1 error "$TMP/insert.out")"
	R[ceiling_insert_msgs_per_s]=$(awk '/^tps/ { printf "%.0f", $3; exit }' "$TMP/insert.out")
fi
CEIL_A=${R[ceiling_lifecycle_msgs_per_s]:-0}
CEIL_B=${R[ceiling_insert_msgs_per_s]:-0}

# ============================================================================
# 2a. sink capacity: the C ESME blasts the C sink, receipts on
if has_phase sink; then
	say "sink capacity: load.c -> sink.c, $SINK_N submit_sm with receipts, window 1000"
	start_sink
	"$BB/load" -p "$SINK_PORT" -n "$SINK_N" -W 1000 -r -b trx >"$TMP/sink_load.out" 2>>"$TMP/load.err" || true
	stop_sink
	R[sink_capacity_msgs_per_s]=$(sed -n 's/.*receipt_per_s=\([0-9]*\).*/\1/p' "$TMP/sink_load.out")
fi

# ============================================================================
# 2b. lifecycle: LIFE_N rows already queued -> smpp -> sink -> delivered
if has_phase lifecycle; then
	say "lifecycle: $LIFE_N rows queued, smpp connection (window $WINDOW) to the sink"
	fresh_tables
	insert_rows "$LIFE_N"
	q "VACUUM ANALYZE smspool.outbox, smspool.queue" 2>/dev/null || true
	start_sink
	set_sink_port "$SINK_PORT"
	t0=$(now_ms)
	start_daemon lifecycle
	if ! wait_drained 600; then NOTE[lifecycle_delivered_msgs_per_s]="did not finish in 10 minutes"; fi
	cpu=$(cpu_s "$DPID")
	R[daemon_peak_rss_mb]=$(rss_mb "$DPID" VmHWM)
	stop_daemon
	stop_sink
	read -r sent_ms done_ms n_del < <(q "SELECT round(extract(epoch from max(sent_at)) * 1000 - $t0), round(extract(epoch from max(done_at)) * 1000 - $t0), count(*) FILTER (WHERE status = 'delivered') FROM smspool.outbox" | tr '|' ' ')
	R[lifecycle_sent_msgs_per_s]=$(calc %.0f "$LIFE_N * 1000 / $sent_ms")
	R[lifecycle_delivered_msgs_per_s]=$(calc %.0f "$n_del * 1000 / $done_ms")
	R[daemon_cpu_s_per_10k]=$(calc %.3f "$cpu * 10000 / $LIFE_N")
	R[lifecycle_delivered_of_n]="$n_del/$LIFE_N"
	# the second half of the run alone: the rate once the start (bind, first
	# claims, the plans of the first statements) is behind
	# (the median first, on its own: joined, statistics taken before the run
	# once made a plan that relaunched parallel workers for every row)
	mid=$(q "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY done_at) FROM smspool.outbox WHERE status = 'delivered'")
	R[lifecycle_second_half_msgs_per_s]=$(q "SELECT round(count(*) / nullif(extract(epoch from max(done_at) - '$mid'::timestamptz), 0))
	   FROM smspool.outbox WHERE status = 'delivered' AND done_at > '$mid'::timestamptz")
fi

# ============================================================================
# 2b'. the lifecycle over EMI/UCP: LIFE_N rows queued -> ucp -> ucp_sink -> op 53 -> delivered
if has_phase ucp; then
	say "ucp lifecycle: $LIFE_N rows queued, ucp connection (window $UCP_WINDOW, TRN window 100) to the UCP sink"
	fresh_tables
	rm -f "$TMP/ucp_sink.port"
	"$BB/ucp_sink" -P "$TMP/ucp_sink.port" 2>>"$TMP/ucp_sink.log" &
	USINK_PID=$!
	PIDS+=("$USINK_PID")
	for _ in $(seq 100); do [ -s "$TMP/ucp_sink.port" ] && break; sleep 0.05; done
	q "INSERT INTO smspool.connections (name, type, settings, \"window\") VALUES ('ubench', 'ucp',
	   '{\"host\": \"127.0.0.1\", \"port\": $(cat "$TMP/ucp_sink.port"), \"login\": \"bench\", \"password\": \"bench\", \"window\": 100, \"reconnect_min_ms\": 100}', $UCP_WINDOW)"
	insert_rows "$LIFE_N" ubench
	q "VACUUM ANALYZE smspool.outbox, smspool.queue" 2>/dev/null || true
	t0=$(now_ms)
	start_daemon ucp
	if ! wait_drained 600; then NOTE[ucp_lifecycle_delivered_msgs_per_s]="did not finish in 10 minutes"; fi
	stop_daemon
	kill -TERM "$USINK_PID" 2>/dev/null || true
	wait "$USINK_PID" 2>/dev/null || true
	read -r done_ms n_del < <(q "SELECT round(extract(epoch from max(done_at)) * 1000 - $t0), count(*) FILTER (WHERE status = 'delivered') FROM smspool.outbox" | tr '|' ' ')
	R[ucp_lifecycle_delivered_msgs_per_s]=$(calc %.0f "$n_del * 1000 / $done_ms")
	R[ucp_lifecycle_delivered_of_n]="$n_del/$LIFE_N"
	[ -n "${R[lifecycle_delivered_msgs_per_s]:-}" ] &&
		R[ucp_to_smpp_lifecycle_ratio]=$(calc %.2f "${R[ucp_lifecycle_delivered_msgs_per_s]} / ${R[lifecycle_delivered_msgs_per_s]}")
	q "DELETE FROM smspool.connections WHERE name = 'ubench'"
fi

# ============================================================================
# 2c. sustained: a producer keeps ~30,000 rows queued (10,000 per INSERT) while
#     the daemon drains, SUST_N messages or SUST_MAX_S seconds.
if has_phase sustained; then
	say "sustained: $SUST_N messages or $SUST_MAX_S s, producer + daemon"
	fresh_tables
	start_sink
	set_sink_port "$SINK_PORT"
	insert_rows 30000
	start_daemon sustained
	t0=$(now_ms)
	end=$((t0 + SUST_MAX_S * 1000))
	made=30000
	while [ "$made" -lt "$SUST_N" ] && [ "$(now_ms)" -lt $end ]; do
		if pq "SELECT count(*) FROM smspool.queue" && [ -n "$PQ_OUT" ] && [ "$PQ_OUT" -lt 20000 ]; then
			k=$((SUST_N - made < 10000 ? SUST_N - made : 10000))
			insert_rows $k
			made=$((made + k))
		else
			sleep 0.05
		fi
	done
	# the producer has stopped: what is queued (at most ~30,000) drains, bounded
	wait_drained 120 || NOTE[sustained_messages]="rows left after the producer stopped and 120 s of draining"
	R[sustained_messages]=$(q "SELECT count(*) FROM smspool.outbox WHERE status = 'delivered'")
	R[sustained_daemon_peak_rss_mb]=$(rss_mb "$DPID" VmHWM)
	stop_daemon
	stop_sink
	# delivered per complete 10-s slice from the first report on
	q "WITH b AS (SELECT min(done_at) AS t0, max(done_at) AS t1 FROM smspool.outbox WHERE status = 'delivered'),
	   x AS (SELECT floor(extract(epoch from o.done_at - b.t0) / 10)::int AS s FROM smspool.outbox o, b WHERE o.status = 'delivered')
	   SELECT x.s * 10, count(*) / 10.0 FROM x, b WHERE b.t0 + (x.s + 1) * interval '10 s' <= b.t1
	   GROUP BY x.s ORDER BY x.s" | tr '|' '\t' >"$OUT/sustained.tsv"
	nsl=$(wc -l <"$OUT/sustained.tsv")
	if [ "$nsl" -ge 2 ]; then
		first=$(head -1 "$OUT/sustained.tsv" | cut -f2)
		last=$(tail -1 "$OUT/sustained.tsv" | cut -f2)
		R[sustained_first_slice_msgs_per_s]=$(calc %.0f "$first")
		R[sustained_last_slice_msgs_per_s]=$(calc %.0f "$last")
		R[sustained_last_to_first_ratio]=$(calc %.2f "$last / $first")
		R[sustained_min_slice_msgs_per_s]=$(sort -t$'\t' -k2 -g "$OUT/sustained.tsv" | head -1 | cut -f2 | xargs printf %.0f)
	else
		NOTE[sustained_last_to_first_ratio]="fewer than two complete 10-s slices"
	fi
	read -r osz oisz odead olive qsz qdead rwsz < <(q "SELECT
	   round((SELECT sum(pg_relation_size(relid)) FROM (SELECT relid FROM pg_partition_tree('smspool.outbox') UNION SELECT 'smspool.outbox'::regclass) t) / 1048576.0, 1),
	   round((SELECT sum(pg_indexes_size(relid)) FROM (SELECT relid FROM pg_partition_tree('smspool.outbox') UNION SELECT 'smspool.outbox'::regclass) t) / 1048576.0, 1),
	   (SELECT sum(n_dead_tup) FROM pg_stat_user_tables WHERE relid IN (SELECT relid FROM (SELECT relid FROM pg_partition_tree('smspool.outbox') UNION SELECT 'smspool.outbox'::regclass) t)),
	   (SELECT sum(n_live_tup) FROM pg_stat_user_tables WHERE relid IN (SELECT relid FROM (SELECT relid FROM pg_partition_tree('smspool.outbox') UNION SELECT 'smspool.outbox'::regclass) t)),
	   round(pg_total_relation_size('smspool.queue') / 1048576.0, 1),
	   (SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = 'smspool.queue'::regclass),
	   round(pg_total_relation_size('smspool.report_wait') / 1048576.0, 1)" | tr '|' ' ')
	R[sustained_outbox_table_mb]=$osz R[sustained_outbox_indexes_mb]=$oisz
	R[sustained_outbox_dead_tuples]=$odead R[sustained_outbox_live_tuples]=$olive
	R[sustained_queue_total_mb]=$qsz R[sustained_queue_dead_tuples]=$qdead R[sustained_report_wait_total_mb]=$rwsz
	q "SELECT relname, n_live_tup, n_dead_tup, n_tup_upd, n_tup_hot_upd, autovacuum_count, autoanalyze_count
	   FROM pg_stat_user_tables WHERE schemaname = 'smspool' AND relname IN ('outbox', 'queue', 'report_wait', 'reports')
	   ORDER BY relname" >"$TMP/sustained_tables.txt"
fi

# ============================================================================
# 2d. retention: the sustained load while retention deletes what is older
#     than RET_KEEP_S (finished messages with their reports, consumed inbox)
if has_phase retention; then
	say "retention: $RET_N messages or $RET_S s, keeping the last $RET_KEEP_S s"
	fresh_tables
	start_sink
	set_sink_port "$SINK_PORT"
	# partitioned tables (032): partitions of RET_PART_IDS ids, a round each
	# heartbeat; the partitions the purge emptied are detached and dropped
	# (retention_days > 0 lets them go; the rows are seconds old).  The
	# sequences jump past the partitions made for the earlier phases (emptied
	# by fresh_tables, retired in this phase too), so that this phase's rows
	# go to partitions of its own size.
	q "UPDATE smspool.config SET value = CASE key WHEN 'retention_days' THEN '1' WHEN 'partition_check_s' THEN '1'
	   ELSE '$RET_PART_IDS' END WHERE key IN ('retention_days', 'partition_check_s', 'partition_min_ids', 'partition_max_ids')" >/dev/null
	q "SELECT setval(pg_get_serial_sequence('smspool.' || tbl, 'id'), max(hi)) FROM smspool.partition_list() GROUP BY tbl" >/dev/null
	q "SELECT smspool.partitions_ahead()" >/dev/null
	seq=$(q "SELECT pg_get_serial_sequence('smspool.outbox', 'id')")
	id0=$(q "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM $seq")
	insert_rows 30000
	start_daemon retention
	wait_up bench 20 || NOTE[retention_last_to_first_ratio]="connection not up after 20 s"
	# the retention: one purge each second (batches of 10,000 that commit)
	(
		while :; do
			"$PGBIN/psql" -XAtq "$SMSPOOL_DB" -c "CALL smspool.purge(now() - interval '$RET_KEEP_S seconds', p_batch => 10000)" >/dev/null 2>>"$TMP/retention_purge.err" || true
			sleep 1
		done
	) &
	PURGE_PID=$!
	PIDS+=("$PURGE_PID")
	"$BB/pace" -d "$SMSPOOL_DB" -r 200 -s "$((RET_S - 5))" -c 4 -o "$TMP/ret_insert.txt" >"$TMP/ret_pace.out" 2>>"$TMP/ret_pace.err" &
	PACE_PID=$!
	PIDS+=("$PACE_PID")
	t0=$(now_ms)
	end=$((t0 + RET_S * 1000))
	made=30000 next_sample=$t0
	: >"$TMP/retention_samples.tsv"
	q "SELECT part FROM smspool.partition_list()" >"$TMP/retention_parts.txt"
	while [ "$made" -lt "$RET_N" ] && [ "$(now_ms)" -lt $end ]; do
		now=$(now_ms)
		if [ "$now" -ge "$next_sample" ]; then
			# ms, bytes of the three tables, messages done so far
			# (the tables may be partitioned: the sum over their partitions; pg_partition_tree of a plain table is empty)
			q "SELECT $now - $t0, (SELECT sum(pg_total_relation_size(t.relid)) FROM unnest(ARRAY['smspool.outbox', 'smspool.reports',
			     'smspool.inbox']::regclass[]) r, LATERAL (SELECT relid FROM pg_partition_tree(r) UNION SELECT r) t),
			   (SELECT last_value FROM $seq) - $id0 - (SELECT count(*) FROM smspool.queue) - (SELECT count(*) FROM smspool.report_wait)" |
				tr '|' '\t' >>"$TMP/retention_samples.tsv"
			q "SELECT part FROM smspool.partition_list()" >>"$TMP/retention_parts.txt"
			next_sample=$((now + 2000))
		fi
		if pq "SELECT count(*) FROM smspool.queue" && [ -n "$PQ_OUT" ] && [ "$PQ_OUT" -lt 20000 ]; then
			k=$((RET_N - made < 10000 ? RET_N - made : 10000))
			insert_rows $k
			made=$((made + k))
		else
			sleep 0.05
		fi
	done
	wait "$PACE_PID" 2>/dev/null || NOTE[retention_insert_p99_ms]="some paced INSERTs failed (see $TMP/ret_pace.err)"
	kill "$PURGE_PID" 2>/dev/null || true
	wait "$PURGE_PID" 2>/dev/null || true
	wait_drained 120 || NOTE[retention_last_to_first_ratio]="rows left after the producer stopped and 120 s of draining"
	stop_daemon
	stop_sink
	q "UPDATE smspool.config SET value = '0' WHERE key = 'retention_days'" >/dev/null
	# partitions seen during the phase (sampled every 2 s) and gone at its end
	# (the daemon logs each retirement only at info level)
	R[retention_partitions_retired]=$(sort -u "$TMP/retention_parts.txt" | comm -23 - <(q "SELECT part FROM smspool.partition_list()" | sort -u) | wc -l)
	R[retention_messages]=$(($(q "SELECT last_value FROM $seq") - id0))
	R[retention_retained_rows]=$(q "SELECT count(*) FROM smspool.outbox")
	# steady state: the second half of the samples
	awk -F'\t' '{ t[NR] = $1 / 1000; b[NR] = $2 } END {
		h = int(NR / 2) + 1; n = 0; st = sb = stt = stb = 0
		for (i = h; i <= NR; i++) { n++; st += t[i]; sb += b[i]; stt += t[i] * t[i]; stb += t[i] * b[i] }
		if (n < 2) { print "n/a n/a"; exit }
		d = n * stt - st * st
		printf "%.0f %.0f\n", sb / n, (d > 0 ? (n * stb - st * sb) / d : 0)
	}' "$TMP/retention_samples.tsv" >"$TMP/retention_fit.txt"
	read -r mean_bytes slope <"$TMP/retention_fit.txt"
	R[retention_size_slope_second_half]=$slope
	R[retention_steady_mb]=$(calc %.1f "$mean_bytes / 1048576")
	# retained: what RET_KEEP_S holds at the rate of the run
	retained=$(awk -F'\t' 'NR > 1 { dt = ($1 - t) / 1000; if (dt > 0) r = ($3 - d) / dt } { t = $1; d = $3 } END { printf "%.0f", r * '"$RET_KEEP_S"' }' "$TMP/retention_samples.tsv")
	[ "${retained:-0}" -gt 0 ] && R[retention_steady_bytes_per_retained_msg]=$(calc %.0f "$mean_bytes / $retained")
	# done per 10-s slice, from the samples (every 2 s)
	awk -F'\t' '{ s = int($1 / 10000); if (!(s in d0)) { d0[s] = $3; t0[s] = $1 } d1[s] = $3; t1[s] = $1; if (s > m) m = s }
		END { for (s = 0; s < m; s++) if ((s in d0) && t1[s] > t0[s]) printf "%d\t%.1f\n", s * 10, (d1[s] - d0[s]) * 1000 / (t1[s] - t0[s]) }' \
		"$TMP/retention_samples.tsv" >"$TMP/retention_slices.tsv"
	if [ "$(wc -l <"$TMP/retention_slices.tsv")" -ge 2 ]; then
		first=$(head -1 "$TMP/retention_slices.tsv" | cut -f2)
		last=$(tail -1 "$TMP/retention_slices.tsv" | cut -f2)
		R[retention_first_slice_msgs_per_s]=$(calc %.0f "$first")
		R[retention_last_slice_msgs_per_s]=$(calc %.0f "$last")
		[ "$(calc %.0f "$first")" != 0 ] && R[retention_last_to_first_ratio]=$(calc %.2f "$last / $first")
	else
		NOTE[retention_last_to_first_ratio]="fewer than two 10-s slices"
	fi
	awk '{ print $3 - $2 }' "$TMP/ret_insert.txt" >"$TMP/ret_insert_us.txt"
	R[retention_insert_p50_ms]=$(calc %.2f "$(pct "$TMP/ret_insert_us.txt" 50) / 1000")
	R[retention_insert_p99_ms]=$(calc %.2f "$(pct "$TMP/ret_insert_us.txt" 99) / 1000")
	R[retention_insert_max_ms]=$(calc %.2f "$(pct "$TMP/ret_insert_us.txt" 100) / 1000")
fi

# ============================================================================
# 3. latency: pace.c inserts one row per transaction through the route
if has_phase latency; then
	say "latency: $LAT_RATE INSERT/s one at a time for $LAT_S s"
	fresh_tables
	start_sink -L "$TMP/lat_arrival.txt"
	set_sink_port "$SINK_PORT"
	start_daemon latency
	wait_up bench 20 || NOTE[latency_wire_p50_ms]="connection not up after 20 s"
	sleep 1
	"$BB/pace" -d "$SMSPOOL_DB" -r "$LAT_RATE" -s "$LAT_S" -c "${BENCH_LAT_CONNS:-8}" -o "$TMP/lat_insert.txt" >"$TMP/pace.out" 2>>"$TMP/pace.err" ||
		NOTE[latency_insert_rate]="some INSERTs failed (see $TMP/pace.err)"
	wait_drained 60 || true
	stop_daemon
	stop_sink
	# commit -> wire and INSERT sent -> wire, joined on the sequence number in the text
	awk 'NR == FNR { start[$1] = $2; commit[$1] = $3; next }
	     ($1 in commit) { print $2 - commit[$1] > "'"$TMP/lat_wire_us.txt"'"; print $2 - start[$1] > "'"$TMP/lat_wire_from_start_us.txt"'" }' \
		"$TMP/lat_insert.txt" "$TMP/lat_arrival.txt"
	for p in 50 95 99 100; do
		k=p$p
		[ $p = 100 ] && k=max
		R[latency_wire_${k}_ms]=$(calc %.2f "$(pct "$TMP/lat_wire_us.txt" $p) / 1000")
		R[latency_insert_to_wire_${k}_ms]=$(calc %.2f "$(pct "$TMP/lat_wire_from_start_us.txt" $p) / 1000")
	done
	R[latency_messages]=$(wc -l <"$TMP/lat_wire_us.txt")
	R[latency_insert_rate]=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' "$TMP/pace.out")
	R[latency_insert_late]=$(sed -n 's/.*late=\([0-9]*\).*/\1/p' "$TMP/pace.out")
	q "SELECT round(extract(epoch from done_at - created_at) * 1000000) FROM smspool.outbox WHERE status = 'delivered'" >"$TMP/lat_done_us.txt"
	for p in 50 95 99 100; do
		v=$(pct "$TMP/lat_done_us.txt" $p)
		k=p$p
		[ $p = 100 ] && k=max
		R[latency_delivered_${k}_ms]=$(calc %.2f "$v / 1000")
	done
	printf 'wire\t%s\t%s\t%s\t%s\ndelivered\t%s\t%s\t%s\t%s\n' \
		"${R[latency_wire_p50_ms]}" "${R[latency_wire_p95_ms]}" "${R[latency_wire_p99_ms]}" "${R[latency_wire_max_ms]}" \
		"${R[latency_delivered_p50_ms]}" "${R[latency_delivered_p95_ms]}" "${R[latency_delivered_p99_ms]}" "${R[latency_delivered_max_ms]}" \
		>"$OUT/latency.tsv"
fi

# ============================================================================
# 3b. producer: single-row INSERTs as fast as 4 clients go, without and with
#     the daemon draining them (the daemon's wake-up must not slow producers)
if has_phase producer; then
	cat >"$TMP/produce.pgbench" <<'EOF'
\set r random(0, 999999)
INSERT INTO smspool.outbox (recipient, body) VALUES ('+1555' || lpad((:client_id * 1000000 + :r)::text, 7, '0'), 'bench produce');
EOF
	# notify: the same with a waiting flag that never goes (every INSERT
	# NOTIFYs, as before 021_part), for comparison in the same run
	for mode in alone daemon notify; do
		say "producer: single-row INSERTs, 4 clients, ${PROD_T} s, $mode"
		fresh_tables
		[ $mode = notify ] && q "INSERT INTO smspool.claimer_waiting (instance) VALUES ('bench-always')"
		if [ $mode != alone ]; then
			start_sink
			set_sink_port "$SINK_PORT"
			start_daemon producer
			wait_up bench 20 || NOTE[producer_rate_with_daemon_ratio]="connection not up after 20 s"
		fi
		"$PGBIN/pgbench" -n -c 4 -j 2 -T "$PROD_T" -f "$TMP/produce.pgbench" "$SMSPOOL_DB" >"$TMP/produce_$mode.out" 2>&1 ||
			NOTE[producer_rate_with_daemon_ratio]="pgbench failed: $(grep -m1 error "$TMP/produce_$mode.out")"
		R[producer_rate_${mode}_rows_per_s]=$(awk '/^tps/ { printf "%.0f", $3; exit }' "$TMP/produce_$mode.out")
		[ $mode = daemon ] && R[producer_daemon_took_during_run]=$(q "SELECT count(*) FROM smspool.outbox WHERE status <> 'queued'")
		if [ $mode != alone ]; then
			wait_drained 120 || NOTE[producer_rate_with_daemon_ratio]="rows left after 120 s of draining"
			stop_daemon
			stop_sink
		fi
		q "DELETE FROM smspool.claimer_waiting WHERE instance = 'bench-always'"
	done
	[ -n "${R[producer_rate_alone_rows_per_s]:-}" ] && [ -n "${R[producer_rate_daemon_rows_per_s]:-}" ] &&
		R[producer_rate_with_daemon_ratio]=$(calc %.2f "${R[producer_rate_daemon_rows_per_s]} / ${R[producer_rate_alone_rows_per_s]}")
fi

# ============================================================================
# 4. backlog memory: BACKLOG_N rows on a disabled connection, then enabled
if has_phase backlog; then
	say "backlog: $BACKLOG_N rows queued on a disabled connection, then enabled"
	fresh_tables
	start_sink
	set_sink_port "$SINK_PORT"
	q "UPDATE smspool.connections SET enabled = false WHERE name = 'bench'"
	insert_rows "$BACKLOG_N"
	q "VACUUM ANALYZE smspool.outbox, smspool.queue" 2>/dev/null || true
	start_daemon backlog
	sleep 5
	R[rss_backlog_before_mb]=$(rss_mb "$DPID" VmRSS)
	R[backlog_queued_while_down]=$(q "SELECT count(*) FROM smspool.queue")
	t0=$(now_ms)
	q "UPDATE smspool.connections SET enabled = true WHERE name = 'bench'"
	wait_drained 600 || NOTE[rss_backlog_mb]="did not drain in 10 minutes"
	R[backlog_drain_msgs_per_s]=$(calc %.0f "$BACKLOG_N * 1000 / ($(now_ms) - $t0)")
	R[rss_backlog_after_mb]=$(rss_mb "$DPID" VmRSS)
	R[rss_backlog_mb]=$(rss_mb "$DPID" VmHWM)
	stop_daemon
	stop_sink
fi

# ============================================================================
# 5. SMPP server ingest: 4 ESMEs, each its own bind, through smpp-server
if has_phase ingest; then
	say "ingest: 4 ESMEs x window $INGEST_WINDOW submit $INGEST_N messages to the smpp-server connection"
	fresh_tables
	q "UPDATE smspool.connections SET enabled = false WHERE name = 'bench'"
	q "INSERT INTO smspool.accounts (system_id, password) VALUES ('benchesme', 'benchpw') ON CONFLICT DO NOTHING"
	q "INSERT INTO smspool.connections (name, type, settings) VALUES ('benchsrv', 'smpp-server', '{\"listen\": \"127.0.0.1:0\", \"max_pending\": $INGEST_WINDOW}')"
	start_daemon ingest
	if wait_up benchsrv 20; then
		port=$(q "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'benchsrv'")
		c0=$(cpu_s "$DPID") p0=$(pg_cpu_s)
		"$BB/load" -p "$port" -u benchesme -w benchpw -b tx -s 4 -W "$INGEST_WINDOW" -n "$INGEST_N" >"$TMP/ingest.out" 2>>"$TMP/load.err" || NOTE[smpp_server_ingest_msgs_per_s]="not every submit got ESME_ROK (see $TMP/load.err)"
		c1=$(cpu_s "$DPID") p1=$(pg_cpu_s)
		R[ingest_pg_cpu_s_per_10k]=$(calc %.3f "($p1 - $p0) * 10000 / $INGEST_N")
		R[ingest_rows_per_submit]=$(q "SELECT round(count(*)::numeric / greatest(count(DISTINCT xmin::text), 1), 1) FROM smspool.outbox WHERE account = 'benchesme'")
		R[smpp_server_ingest_msgs_per_s]=$(sed -n 's/.*resp_per_s=\([0-9]*\).*/\1/p' "$TMP/ingest.out")
		R[ingest_rows_committed]=$(q "SELECT count(*) FROM smspool.outbox WHERE account = 'benchesme'")
		R[ingest_daemon_cpu_s_per_10k]=$(calc %.3f "($c1 - $c0) * 10000 / $INGEST_N")
	else
		NOTE[smpp_server_ingest_msgs_per_s]="smpp-server not up"
	fi
	stop_daemon
	q "DELETE FROM smspool.connections WHERE name = 'benchsrv'"
	q "UPDATE smspool.connections SET enabled = true WHERE name = 'bench'"
fi

# ============================================================================
# 5b. UCP server ingest: 4 EMI clients, window 100 each, through ucp-server
if has_phase ucp_ingest; then
	say "ucp ingest: $UCP_CLIENTS EMI clients x window 100 submit $INGEST_N messages to the ucp-server connection"
	fresh_tables
	q "UPDATE smspool.connections SET enabled = false WHERE name = 'bench'"
	q "INSERT INTO smspool.accounts (system_id, password, max_binds) VALUES ('benchemi', 'benchpw', 0) ON CONFLICT DO NOTHING"
	q "INSERT INTO smspool.connections (name, type, settings) VALUES ('benchucp', 'ucp-server', '{\"listen\": \"127.0.0.1:0\"}')"
	start_daemon ucp_ingest
	if wait_up benchucp 20; then
		port=$(q "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'benchucp'")
		c0=$(cpu_s "$DPID") p0=$(pg_cpu_s)
		"$BB/ucp_load" -p "$port" -u benchemi -w benchpw -c "$UCP_CLIENTS" -W 100 -n "$INGEST_N" >"$TMP/ucp_ingest.out" 2>>"$TMP/load.err" ||
			NOTE[ucp_server_ingest_msgs_per_s]="a login or a session failed (see $TMP/load.err)"
		c1=$(cpu_s "$DPID") p1=$(pg_cpu_s)
		R[ucp_ingest_pg_cpu_s_per_10k]=$(calc %.3f "($p1 - $p0) * 10000 / $INGEST_N")
		R[ucp_ingest_rows_per_submit]=$(q "SELECT round(count(*)::numeric / greatest(count(DISTINCT xmin::text), 1), 1) FROM smspool.outbox WHERE account = 'benchemi'")
		R[ucp_server_ingest_msgs_per_s]=$(sed -n 's/.*msg_per_s=\([0-9]*\).*/\1/p' "$TMP/ucp_ingest.out")
		R[ucp_ingest_daemon_cpu_s_per_10k]=$(calc %.3f "($c1 - $c0) * 10000 / $INGEST_N")
		R[ucp_ingest_acked]=$(sed -n 's/^acked=\([0-9]*\) .*/\1/p' "$TMP/ucp_ingest.out")
		R[ucp_ingest_rows_committed]=$(q "SELECT count(*) FROM smspool.outbox WHERE account = 'benchemi'")
	else
		NOTE[ucp_server_ingest_msgs_per_s]="ucp-server not up"
	fi
	stop_daemon
	q "DELETE FROM smspool.connections WHERE name = 'benchucp'"
	q "UPDATE smspool.connections SET enabled = true WHERE name = 'bench'"
fi

# ============================================================================
# 6. Kannel 1.4.5 side by side: sendsms -> bearerbox -> sink, receipts in memory
KANNEL_SETTINGS=""
if has_phase kannel; then
	if ! command -v bearerbox >/dev/null 2>&1 || ! command -v smsbox >/dev/null 2>&1; then
		NOTE[kannel_delivered_msgs_per_s]="n/a: Kannel (Debian kannel) is not installed (make bench-deps)"
	else
		say "kannel: $KANNEL_N messages, sendsms x $KANNEL_CONC in flight -> bearerbox (window $KANNEL_WINDOW) -> sink, receipts to a dlr-url"
		start_sink
		KD=$TMP/kannel
		mkdir -p "$KD"
		ADMIN_PORT=$(free_port) BOX_PORT=$(free_port) SENDSMS_PORT=$(free_port)
		# No blank line inside a group: an empty line ends it.
		KANNEL_SETTINGS="max-pending-submits=$KANNEL_WINDOW (window), dlr-storage=internal, msg-id-type=0x00, log-level=4 (panics only), no access-log, no store file, smsbox max-pending-requests=1024, $KANNEL_CONC sendsms in flight over keep-alive"
		cat >"$KD/kannel.conf" <<EOF
group = core
admin-port = $ADMIN_PORT
admin-password = benchadm
smsbox-port = $BOX_PORT
box-allow-ip = 127.0.0.1
log-file = "$KD/bearerbox.log"
log-level = 4
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = sink
host = 127.0.0.1
port = $SINK_PORT
transceiver-mode = true
smsc-username = kannel
smsc-password = bench
system-type = ""
interface-version = 34
max-pending-submits = $KANNEL_WINDOW
msg-id-type = 0x00
enquire-link-interval = 30
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $BOX_PORT
sendsms-port = $SENDSMS_PORT
log-file = "$KD/smsbox.log"
log-level = 4
max-pending-requests = 1024

group = sendsms-user
username = bench
password = benchpw
max-messages = 1
EOF
		bearerbox "$KD/kannel.conf" >"$KD/bearerbox.out" 2>&1 &
		BB_PID=$!
		PIDS+=("$BB_PID")
		for _ in $(seq 150); do
			curl -s "http://127.0.0.1:$ADMIN_PORT/status.txt?password=benchadm" 2>/dev/null | grep -q 'online' && break
			sleep 0.2
		done
		smsbox "$KD/kannel.conf" >"$KD/smsbox.out" 2>&1 &
		SB_PID=$!
		PIDS+=("$SB_PID")
		URL="http://127.0.0.1:$SENDSMS_PORT/cgi-bin/sendsms?username=bench&password=benchpw"
		for _ in $(seq 150); do
			curl -s -o /dev/null "http://127.0.0.1:$SENDSMS_PORT/" 2>/dev/null && break
			sleep 0.2
		done
		sleep 1
		kc0=$(( $(awk '{print $14 + $15}' /proc/$BB_PID/stat) + $(awk '{print $14 + $15}' /proc/$SB_PID/stat) ))
		"$BB/kload" -u "$URL" -n "$KANNEL_N" -c "$KANNEL_CONC" -t 900 >"$TMP/kannel.out" 2>>"$TMP/kload.err" ||
			NOTE[kannel_delivered_msgs_per_s]="not every report came back (see $TMP/kload.err)"
		kc1=$(( $(awk '{print $14 + $15}' /proc/$BB_PID/stat) + $(awk '{print $14 + $15}' /proc/$SB_PID/stat) ))
		R[kannel_cpu_s_per_10k]=$(calc %.3f "($kc1 - $kc0) / $(getconf CLK_TCK) * 10000 / $KANNEL_N")
		R[kannel_delivered_msgs_per_s]=$(sed -n 's/.*dlr_per_s=\([0-9]*\).*/\1/p' "$TMP/kannel.out")
		R[kannel_accepted_msgs_per_s]=$(sed -n 's/.*accept_per_s=\([0-9]*\).*/\1/p' "$TMP/kannel.out")
		R[kannel_reports]=$(sed -n 's/.*dlrs=\([0-9]*\).*/\1/p' "$TMP/kannel.out")
		kill -TERM "$SB_PID" 2>/dev/null || true
		wait "$SB_PID" 2>/dev/null || true
		kill -TERM "$BB_PID" 2>/dev/null || true
		wait "$BB_PID" 2>/dev/null || true
		stop_sink
	fi
fi

# ============================================================================
# 7. odbc: rows of a MariaDB table -> odbc connection -> sink -> delivered in MariaDB
if has_phase odbc; then
	if ! command -v mariadb-install-db >/dev/null 2>&1 || [ ! -f /usr/lib/x86_64-linux-gnu/odbc/libmaodbc.so ]; then
		NOTE[odbc_mariadb_delivered_msgs_per_s]="n/a: mariadb-server and odbc-mariadb are not installed"
	else
		say "odbc: $ODBC_N rows in MariaDB sms_outgoing -> odbc connection -> sink -> delivered in MariaDB"
		. tests/lib/mariadb.sh
		export ODBCSYSINI=$TMP ODBCINI=$TMP/odbc.ini
		: >"$ODBCINI"
		fresh_tables
		start_sink
		set_sink_port "$SINK_PORT"
		if mariadb_start "$TMP/mariadb" 2>>"$TMP/mariadb.err"; then
			mariadb_sql "CREATE DATABASE app CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
			  CREATE USER 'smspool'@'127.0.0.1' IDENTIFIED BY 'benchpw'; GRANT ALL ON app.* TO 'smspool'@'127.0.0.1';"
			mariadb_sql "$("$BIN" odbc schema --dialect mariadb)" app
			mariadb_sql "INSERT INTO sms_outgoing (recipient, body)
			  SELECT CONCAT('+1555', LPAD(seq, 7, '0')), CONCAT('odbc bench ', seq) FROM seq_1_to_$ODBC_N" app
			# report_sent: the foreign rows show sent before delivered (BENCH_ODBC_SENT=false: final states only)
			q "INSERT INTO smspool.accounts (system_id, password, unique_client_ref, report_sent)
			   VALUES ('benchodbc', 'benchpw', true, ${BENCH_ODBC_SENT:-true}) ON CONFLICT DO NOTHING"
			q "INSERT INTO smspool.connections (name, type, settings) VALUES ('benchodbc', 'odbc', '{
			  \"connection_string\": \"Driver=/usr/lib/x86_64-linux-gnu/odbc/libmaodbc.so;Server=127.0.0.1;Port=$MARIADB_PORT;Database=app;User=smspool;Password=benchpw;CHARSET=utf8mb4\",
			  \"account\": \"benchodbc\", \"batch\": 1000, \"poll_ms\": 100}')"
			t0=$(now_ms)
			start_daemon odbc
			mc0=$(cpu_s "$MARIADB_PID")
			end=$((t0 + 900000))
			while [ "$(mariadb_sql "SELECT count(*) FROM sms_outgoing WHERE status = 'delivered'" app)" != "$ODBC_N" ]; do
				[ "$(now_ms)" -lt $end ] || { NOTE[odbc_mariadb_delivered_msgs_per_s]="not all delivered within 900 s"; break; }
				sleep 0.5
			done
			t1=$(now_ms)
			R[odbc_mariadb_delivered_msgs_per_s]=$(calc %.0f "$ODBC_N * 1000 / ($t1 - $t0)")
			R[odbc_mariadb_delivered]=$(mariadb_sql "SELECT count(*) FROM sms_outgoing WHERE status = 'delivered'" app)
			R[odbc_daemon_cpu_s_per_10k]=$(calc %.3f "$(cpu_s "$DPID") * 10000 / $ODBC_N")
			# where the CPU goes: the daemon's PostgreSQL sessions, MariaDB
			R[odbc_pg_cpu_s_per_10k]=$(calc %.3f "$(pg_cpu_s) * 10000 / $ODBC_N")
			R[odbc_mariadb_cpu_s_per_10k]=$(calc %.3f "($(cpu_s "$MARIADB_PID") - $mc0) * 10000 / $ODBC_N")
			stop_daemon
			mariadb_stop
			q "DELETE FROM smspool.connections WHERE name = 'benchodbc'"
		else
			NOTE[odbc_mariadb_delivered_msgs_per_s]="MariaDB did not start (see $TMP/mariadb.err)"
		fi
		stop_sink
	fi
fi

# ============================================================================
# 8. email: SMTP into a private Exim, POP3 out of a private Dovecot
if has_phase email; then
	say "email: $EMAIL_N messages over SMTP (STARTTLS, AUTH, window 20) to Exim; $EMAIL_N mails over POP3 into the inbox"
	. tests/lib/mailpeers.sh
	MAIL_DIR=$TMP/mail MAIL_QUEUE_ONLY=1
	if ! mail_peers_start >"$TMP/mailpeers.out" 2>&1; then
		NOTE[email_smtp_sent_msgs_per_s]="n/a: the mail servers did not start (see $TMP/mailpeers.out)"
	else
		PIDS+=("$EXIM_PID" "$DOVECOT_PID")
		fresh_tables
		q "INSERT INTO smspool.connections (name, type, settings, \"window\") VALUES ('benchmail', 'email',
		   '{\"smtp_url\": \"smtp://localhost:$SMTP_PORT\", \"username\": \"$MAIL_USER\", \"password\": \"$MAIL_PASS\",
		     \"tls_ca_file\": \"$MAIL_CA\", \"from\": \"gw@smspool.test\", \"to\": \"{recipient}@sms.test\"}', 20)"
		insert_rows "$EMAIL_N" benchmail
		t0=$(now_ms)
		start_daemon email
		end=$(($(now_ms) + 900000))
		while [ "$(q "SELECT count(*) FROM smspool.queue")" != 0 ] && [ "$(now_ms)" -lt $end ]; do sleep 0.2; done
		read -r sent_ms n_sent < <(q "SELECT round(extract(epoch from max(sent_at)) * 1000 - $t0), count(*) FILTER (WHERE status IN ('sent', 'delivered')) FROM smspool.outbox WHERE connection = 'benchmail'" | tr '|' ' ')
		R[email_smtp_sent_msgs_per_s]=$(calc %.0f "$n_sent * 1000 / $sent_ms")
		[ "$n_sent" = "$EMAIL_N" ] || NOTE[email_smtp_sent_msgs_per_s]="only $n_sent of $EMAIL_N sent"
		python3 - "$MAILDIR" "$EMAIL_N" <<'PY'
import os, sys
from email.message import EmailMessage
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    m = EmailMessage()
    m["From"] = "+1555%07d@sms.example" % i
    m["To"] = "4930100@smspool.test"
    m["Subject"] = "bench %d" % i
    m.set_content("bench mail %d: Grüße" % i, charset="utf-8", cte="quoted-printable")
    with open(os.path.join(d, "tmp", "b%d" % i), "w") as f:
        f.write(m.as_string())
    os.rename(os.path.join(d, "tmp", "b%d" % i), os.path.join(d, "new", "b%d" % i))
PY
		chown -R "$(id -u Debian-exim):$(id -g Debian-exim)" "$MAILDIR"
		t0=$(now_ms)
		q "INSERT INTO smspool.connections (name, type, settings) VALUES ('benchpop', 'email',
		   '{\"mailbox_url\": \"pop3://localhost:$POP3_PORT\", \"username\": \"$MAIL_USER\", \"password\": \"$MAIL_PASS\",
		     \"tls_ca_file\": \"$MAIL_CA\", \"poll_s\": 1}')"
		end=$(($(now_ms) + 900000))
		while [ "$(q "SELECT count(*) FROM smspool.inbox WHERE connection = 'benchpop'")" -lt "$EMAIL_N" ] && [ "$(now_ms)" -lt $end ]; do sleep 0.2; done
		read -r got_ms n_got < <(q "SELECT round(extract(epoch from max(received_at)) * 1000 - $t0), count(*) FROM smspool.inbox WHERE connection = 'benchpop'" | tr '|' ' ')
		R[email_pop3_received_msgs_per_s]=$(calc %.0f "$n_got * 1000 / $got_ms")
		[ "$n_got" = "$EMAIL_N" ] || NOTE[email_pop3_received_msgs_per_s]="only $n_got of $EMAIL_N received"
		stop_daemon
		mail_peers_stop
	fi
fi

# ============================================================================
# 2b'. two daemons on one database: the lifecycle drained by two (issue 16)
if has_phase two_daemons; then
	say "two daemons: $LIFE_N rows queued, two daemons, each an smpp session (window $WINDOW) to the sink"
	fresh_tables
	insert_rows "$LIFE_N"
	q "VACUUM ANALYZE smspool.outbox, smspool.queue" 2>/dev/null || true
	start_sink
	set_sink_port "$SINK_PORT"
	t0=$(now_ms)
	SMSPOOL_INSTANCE=bench2a start_daemon two_a
	P2A=$DPID
	SMSPOOL_INSTANCE=bench2b start_daemon two_b
	P2B=$DPID
	if ! wait_drained 600; then NOTE[two_daemons_delivered_msgs_per_s]="did not finish in 10 minutes"; fi
	cpu=$(calc %.2f "$(cpu_s "$P2A") + $(cpu_s "$P2B")")
	kill -TERM "$P2A" "$P2B" 2>/dev/null || true
	wait "$P2A" "$P2B" 2>/dev/null || true
	stop_sink
	read -r done_ms n_del < <(q "SELECT round(extract(epoch from max(done_at)) * 1000 - $t0), count(*) FILTER (WHERE status = 'delivered') FROM smspool.outbox" | tr '|' ' ')
	R[two_daemons_delivered_msgs_per_s]=$(calc %.0f "$n_del * 1000 / $done_ms")
	R[two_daemons_delivered_of_n]="$n_del/$LIFE_N"
	R[two_daemons_cpu_s_per_10k]=$(calc %.3f "$cpu * 10000 / $LIFE_N")
	[ -n "${R[lifecycle_delivered_msgs_per_s]:-}" ] &&
		R[two_to_one_daemon_ratio]=$(calc %.2f "${R[two_daemons_delivered_msgs_per_s]} / ${R[lifecycle_delivered_msgs_per_s]}")
fi

# ============================================================================
# 9. link: A -> link -> B -> sink -> delivered in B -> state -> delivered in A,
#    beside A -> smpp -> B's smpp-server -> sink -> deliver_sm -> delivered in A
if has_phase link; then
	say "link: $LINK_N rows, A -> link -> B -> sink, then A -> smpp -> B's smpp-server -> sink"
	DB_B=${DB}_b
	sh packaging/pgcluster.sh dropdb "$DB_B" >/dev/null 2>&1 || true
	sh packaging/pgcluster.sh createdb "$DB_B" >/dev/null
	URL_B="$(sh packaging/pgcluster.sh url | sed "s/dbname=[^ ]*/dbname=$DB_B/")"
	SMSPOOL_DB=$URL_B "$BIN" db migrate >/dev/null
	qb() { SMSPOOL_DB=$URL_B q "$@"; }
	qb "UPDATE smspool.config SET value = CASE key WHEN 'partition_check_s' THEN '1' ELSE '2000000' END
	   WHERE key IN ('partition_check_s', 'partition_min_ids')" >/dev/null
	qb "SELECT smspool.partitions_ahead()" >/dev/null
	start_sink
	# one account per path: an account's reports go to any session of it
	qb "INSERT INTO smspool.accounts (system_id, password) VALUES ('benchlink', 'benchpw'), ('benchsmpp', 'benchpw')"
	qb "INSERT INTO smspool.connections (name, type, settings, \"window\") VALUES ('bench', 'smpp', '$(SMPP_SETTINGS "$SINK_PORT")', $WINDOW)"
	qb "INSERT INTO smspool.routes (position, connection) VALUES (100, 'bench')"
	qb "INSERT INTO smspool.connections (name, type, settings) VALUES ('linkd', 'link-server', '{\"listen\": \"127.0.0.1:0\"}'),
	   ('smppd', 'smpp-server', '{\"listen\": \"127.0.0.1:0\", \"max_pending\": 2000, \"window\": 500}')"
	SMSPOOL_DB=$URL_B SMSPOOL_INSTANCE=benchb "$BIN" run 2>>"$TMP/daemon-link-b.log" &
	BPID=$!
	PIDS+=("$BPID")
	if SMSPOOL_DB=$URL_B wait_up linkd 30 && SMSPOOL_DB=$URL_B wait_up smppd 30; then
		lport=$(qb "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'linkd'")
		sport=$(qb "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'smppd'")
		q "UPDATE smspool.connections SET enabled = false WHERE name = 'bench'"
		q "INSERT INTO smspool.connections (name, type, settings, \"window\") VALUES
		   ('alink', 'link', '{\"host\": \"127.0.0.1\", \"port\": $lport, \"account\": \"benchlink\", \"password\": \"benchpw\", \"batch\": 200, \"window\": 8}', $WINDOW),
		   ('asmpp', 'smpp', '{\"host\": \"127.0.0.1\", \"port\": $sport, \"system_id\": \"benchsmpp\", \"password\": \"benchpw\", \"request_reports\": true, \"reconnect_min_ms\": 100}', $WINDOW)"
		for path in link smpp_path; do
			conn=alink acct=benchlink
			[ $path = smpp_path ] && conn=asmpp acct=benchsmpp
			q "UPDATE smspool.connections SET enabled = (name = '$conn') WHERE name IN ('alink', 'asmpp')"
			fresh_tables
			qb "TRUNCATE smspool.outbox, smspool.queue, smspool.report_wait, smspool.reports, smspool.account_events CASCADE"
			insert_rows "$LINK_N" "$conn"
			q "VACUUM ANALYZE smspool.outbox, smspool.queue" 2>/dev/null || true
			t0=$(now_ms)
			start_daemon "$path"
			if ! wait_drained 900 by_id; then NOTE[${path}_delivered_msgs_per_s]="did not finish in 15 minutes"; fi
			stop_daemon
			read -r done_ms n_del < <(q "SELECT round(extract(epoch from max(done_at)) * 1000 - $t0), count(*) FILTER (WHERE status = 'delivered') FROM smspool.outbox" | tr '|' ' ')
			R[${path}_delivered_msgs_per_s]=$(calc %.0f "$n_del * 1000 / $done_ms")
			R[${path}_delivered_of_n]="$n_del/$LINK_N"
			R[${path}_rows_in_b]=$(qb "SELECT count(*) FROM smspool.outbox WHERE account = '$acct'")
		done
		R[link_to_smpp_path_ratio]=$(calc %.2f "${R[link_delivered_msgs_per_s]} / ${R[smpp_path_delivered_msgs_per_s]}")
		q "DELETE FROM smspool.connections WHERE name IN ('alink', 'asmpp')"
		q "UPDATE smspool.connections SET enabled = true WHERE name = 'bench'"
	else
		NOTE[link_delivered_msgs_per_s]="B's link-server or smpp-server not up (see $TMP/daemon-link-b.log)"
	fi
	kill -TERM "$BPID" 2>/dev/null || true
	wait "$BPID" 2>/dev/null || true
	stop_sink
fi

# ============================================================================
# table, JSON, plot
T_BENCH=$(($(date +%s) - T_BENCH0))
ratio() { # ratio VALUE BASE
	[ -n "$1" ] && [ -n "$2" ] && [ "$2" != 0 ] && [ "$1" != n/a ] && calc %.2f "$1 / $2" || echo "-"
}
row() { # row KEY LABEL UNIT CEILING_BASE TARGET
	local v=${R[$1]:-n/a} r="-"
	[ -n "$4" ] && r=$(ratio "$v" "$4")
	printf '%-44s %12s %-8s %8s  %s\n' "$2" "$v" "$3" "$r" "$5"
	[ -n "${NOTE[$1]:-}" ] && printf '%-44s   (%s)\n' "" "${NOTE[$1]}"
	return 0
}
KR=""
[ -n "${R[kannel_delivered_msgs_per_s]:-}" ] && [ -n "${R[lifecycle_delivered_msgs_per_s]:-}" ] &&
	KR=$(ratio "${R[lifecycle_delivered_msgs_per_s]}" "${R[kannel_delivered_msgs_per_s]}")
R[smspool_to_kannel_ratio]=${KR:-n/a}
[ -n "${R[kannel_delivered_msgs_per_s]:-}" ] && [ -n "${R[sustained_min_slice_msgs_per_s]:-}" ] &&
	R[smspool_sustained_to_kannel_ratio]=$(ratio "${R[sustained_min_slice_msgs_per_s]}" "${R[kannel_delivered_msgs_per_s]}")
[ -n "${R[lifecycle_delivered_msgs_per_s]:-}" ] && [ "$CEIL_A" != 0 ] &&
	R[lifecycle_to_ceiling_ratio]=$(ratio "${R[lifecycle_delivered_msgs_per_s]}" "$CEIL_A")
# the ceiling at the batch size the daemon's statements have under load
# (a few hundred rows), beside the best one above
[ -n "${R[lifecycle_delivered_msgs_per_s]:-}" ] && [ -n "${R[ceiling_lifecycle_b100]:-}" ] &&
	R[lifecycle_to_ceiling_b100_ratio]=$(ratio "${R[lifecycle_delivered_msgs_per_s]}" "${R[ceiling_lifecycle_b100]}")
{
	echo
	echo "smspool bench, BENCH_SCALE=$SCALE, $(nproc) cores, $(date -u +%FT%TZ), ${T_BENCH} s"
	printf '%-44s %12s %-8s %8s  %s\n' "figure" "value" "unit" "/ceiling" "target"
	printf '%s\n' "----------------------------------------------------------------------------------------------------"
	row ceiling_lifecycle_msgs_per_s "1a ceiling: claim+sent+delivered (best)" msg/s "$CEIL_A" "batch ${R[ceiling_batch]:-?}"
	row ceiling_lifecycle_b100 "   batches of 100" msg/s "$CEIL_A" ""
	row ceiling_lifecycle_b1000 "   batches of 1000" msg/s "$CEIL_A" ""
	row ceiling_insert_msgs_per_s "1b ceiling: single-row INSERT, 2 clients" rows/s "$CEIL_B" ""
	row sink_capacity_msgs_per_s "2  sink capacity (C ESME, receipts)" msg/s "$CEIL_A" "not the bottleneck"
	row lifecycle_sent_msgs_per_s "2  lifecycle $LIFE_N: to sent" msg/s "$CEIL_A" ""
	row lifecycle_delivered_msgs_per_s "2  lifecycle $LIFE_N: to delivered" msg/s "$CEIL_A" ">= 15000 and >= 0.70 of ceiling"
	row lifecycle_second_half_msgs_per_s "   second half of the run alone" msg/s "$CEIL_A" ""
	row two_daemons_delivered_msgs_per_s "2  two daemons, one database: to delivered" msg/s "$CEIL_A" ""
	row two_to_one_daemon_ratio "   two daemons / one daemon (lifecycle)" x "" ""
	row two_daemons_cpu_s_per_10k "   both daemons' CPU per 10,000 messages" s "" ""
	row ucp_lifecycle_delivered_msgs_per_s "2  UCP lifecycle $LIFE_N: to delivered" msg/s "$CEIL_A" ">= 0.6 of the SMPP lifecycle"
	row ucp_to_smpp_lifecycle_ratio "   UCP / SMPP lifecycle" x "" ">= 0.6"
	row lifecycle_to_ceiling_b100_ratio "   lifecycle / ceiling in batches of 100" "" "" ""
	row daemon_cpu_s_per_10k "   daemon CPU per 10,000 messages" s "" ""
	row daemon_peak_rss_mb "   daemon peak RSS (VmHWM)" MB "" ""
	row sustained_messages "2  sustained: messages delivered" msg "" "$SUST_N or ${SUST_MAX_S} s"
	row sustained_first_slice_msgs_per_s "   first 10-s slice" msg/s "$CEIL_A" ""
	row sustained_last_slice_msgs_per_s "   last complete 10-s slice" msg/s "$CEIL_A" ""
	row sustained_min_slice_msgs_per_s "   slowest 10-s slice" msg/s "$CEIL_A" ""
	row sustained_last_to_first_ratio "   last / first slice" "" "" ""
	row sustained_outbox_table_mb "   outbox table at the end" MB "" ""
	row sustained_outbox_indexes_mb "   outbox indexes at the end" MB "" ""
	row sustained_outbox_live_tuples "   outbox live tuples" "" "" ""
	row sustained_outbox_dead_tuples "   outbox dead tuples" "" "" ""
	row sustained_queue_total_mb "   queue (table+indexes) at the end" MB "" ""
	row sustained_queue_dead_tuples "   queue dead tuples" "" "" ""
	row sustained_report_wait_total_mb "   report_wait (table+indexes)" MB "" ""
	row retention_messages "2d retention: messages (keeping ${RET_KEEP_S} s)" msg "" "$RET_N or ${RET_S} s"
	row retention_first_slice_msgs_per_s "   first 10-s slice" msg/s "$CEIL_A" ""
	row retention_last_slice_msgs_per_s "   last 10-s slice" msg/s "$CEIL_A" ""
	row retention_partitions_retired "   partitions retired during the phase" "" "" "> 0"
	row retention_last_to_first_ratio "   last / first slice" "" "" ">= 0.90"
	row retention_steady_mb "   outbox+reports+inbox, second half (mean)" MB "" ""
	row retention_steady_bytes_per_retained_msg "   bytes per retained message" B "" ""
	row retention_size_slope_second_half "   size slope, second half" B/s "" "~ 0 when steady"
	row retention_retained_rows "   outbox rows at the end" rows "" ""
	row retention_insert_p50_ms "   paced INSERT (200/s) commit p50" ms "" ""
	row retention_insert_p99_ms "   paced INSERT (200/s) commit p99" ms "" ""
	row retention_insert_max_ms "   paced INSERT (200/s) commit max" ms "" ""
	row latency_wire_p50_ms "3  INSERT commit -> wire p50" ms "" "<= 2"
	row latency_wire_p95_ms "   INSERT commit -> wire p95" ms "" ""
	row latency_wire_p99_ms "   INSERT commit -> wire p99" ms "" "<= 20"
	row latency_wire_max_ms "   INSERT commit -> wire max" ms "" ""
	row latency_insert_to_wire_p50_ms "   INSERT sent -> wire p50 (commit incl.)" ms "" ""
	row latency_insert_to_wire_p99_ms "   INSERT sent -> wire p99 (commit incl.)" ms "" ""
	row latency_delivered_p50_ms "   created -> delivered p50" ms "" ""
	row latency_delivered_p95_ms "   created -> delivered p95" ms "" ""
	row latency_delivered_p99_ms "   created -> delivered p99" ms "" ""
	row latency_delivered_max_ms "   created -> delivered max" ms "" ""
	row latency_insert_rate "   producer rate achieved (pace.c)" rows/s "" "$LAT_RATE for $LAT_S s"
	row latency_insert_late "   rows sent > 1 ms behind schedule" rows "" ""
	row producer_rate_alone_rows_per_s "3b producer alone: 1-row INSERTs, 4 clients" rows/s "$CEIL_B" ""
	row producer_rate_daemon_rows_per_s "   the same with the daemon sending them" rows/s "$CEIL_B" ""
	row producer_rate_with_daemon_ratio "   with the daemon / alone" x "" "near 1 (CPU shared)"
	row producer_daemon_took_during_run "   rows the daemon took during that run" rows "" ""
	row producer_rate_notify_rows_per_s "   with the daemon, every INSERT notifying" rows/s "$CEIL_B" "(as before 021)"
	row rss_backlog_before_mb "4  RSS with $BACKLOG_N queued, link down" MB "" ""
	row rss_backlog_after_mb "   RSS after it came up and drained" MB "" ""
	row rss_backlog_mb "   peak RSS of the backlog run (VmHWM)" MB "" "<= 64"
	row backlog_drain_msgs_per_s "   drain rate of the backlog" msg/s "$CEIL_A" ""
	row smpp_server_ingest_msgs_per_s "5  smpp-server ingest, 4 ESMEs" msg/s "$CEIL_B" ">= 15000"
	row ingest_daemon_cpu_s_per_10k "   daemon CPU per 10,000 submits" s "" ""
	row ingest_pg_cpu_s_per_10k "   its PostgreSQL sessions' CPU per 10,000" s "" ""
	row ingest_rows_per_submit "   rows per submit() statement (mean)" rows "" ""
	row ucp_server_ingest_msgs_per_s "5b ucp-server ingest, $UCP_CLIENTS EMI clients" msg/s "$CEIL_B" ">= 15000"
	row ucp_ingest_daemon_cpu_s_per_10k "   daemon CPU per 10,000 submits" s "" ""
	row ucp_ingest_pg_cpu_s_per_10k "   its PostgreSQL sessions' CPU per 10,000" s "" ""
	row ucp_ingest_rows_per_submit "   rows per submit() statement (mean)" rows "" ""
	row kannel_delivered_msgs_per_s "6  Kannel 1.4.5 with reports ($KANNEL_N)" msg/s "$CEIL_A" ""
	row kannel_cpu_s_per_10k "   bearerbox+smsbox CPU per 10,000" s "" ""
	row smspool_to_kannel_ratio "   smspool lifecycle / Kannel" x "" ">= 5"
	row smspool_sustained_to_kannel_ratio "   smspool sustained (slowest slice) / Kannel" x "" ""
	row odbc_mariadb_delivered_msgs_per_s "7  odbc: MariaDB rows to delivered ($ODBC_N)" msg/s "$CEIL_A" ">= 5000"
	row odbc_daemon_cpu_s_per_10k "   daemon CPU per 10,000" s "" ""
	row odbc_pg_cpu_s_per_10k "   its PostgreSQL sessions' CPU per 10,000" s "" ""
	row odbc_mariadb_cpu_s_per_10k "   MariaDB's CPU per 10,000" s "" ""
	row email_smtp_sent_msgs_per_s "8  email: SMTP to Exim, to sent ($EMAIL_N)" msg/s "" ""
	row email_pop3_received_msgs_per_s "   email: POP3 from Dovecot, into the inbox" msg/s "" ""
	row link_delivered_msgs_per_s "9  A -> link -> B -> sink, delivered in A ($LINK_N)" msg/s "$CEIL_A" ">= 1.5 x the SMPP path"
	row smpp_path_delivered_msgs_per_s "   A -> smpp -> B smpp-server -> sink, in A" msg/s "$CEIL_A" ""
	row link_to_smpp_path_ratio "   link / SMPP path" x "" ">= 1.5"
	[ -n "$KANNEL_SETTINGS" ] && echo "Kannel settings: $KANNEL_SETTINGS"
	echo "Ratios under /ceiling: msg/s figures against 1a, ingest and INSERT against 1b."
} | tee "$OUT/latest.txt"

# the keys of issue 5 are always there: null when their phase did not run
for k in ceiling_lifecycle_msgs_per_s ceiling_insert_msgs_per_s sink_capacity_msgs_per_s lifecycle_sent_msgs_per_s \
	lifecycle_delivered_msgs_per_s daemon_cpu_s_per_10k daemon_peak_rss_mb latency_wire_p50_ms latency_wire_p95_ms \
	latency_wire_p99_ms latency_delivered_p50_ms latency_delivered_p99_ms rss_backlog_mb smpp_server_ingest_msgs_per_s \
	kannel_delivered_msgs_per_s sustained_last_to_first_ratio ucp_lifecycle_delivered_msgs_per_s ucp_server_ingest_msgs_per_s \
	odbc_mariadb_delivered_msgs_per_s email_smtp_sent_msgs_per_s email_pop3_received_msgs_per_s \
	two_daemons_delivered_msgs_per_s producer_rate_with_daemon_ratio retention_steady_bytes_per_retained_msg \
	retention_size_slope_second_half retention_insert_p99_ms retention_last_to_first_ratio link_delivered_msgs_per_s \
	smpp_path_delivered_msgs_per_s; do
	[ -n "${R[$k]:-}" ] || R[$k]=null
done
{
	printf '{\n  "scale": "%s", "cores": %s, "seconds": %s' "$SCALE" "$(nproc)" "$T_BENCH"
	for k in $(printf '%s\n' "${!R[@]}" | sort); do
		v=${R[$k]}
		if [[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || [ "$v" = null ]; then
			printf ',\n  "%s": %s' "$k" "$v"
		else
			printf ',\n  "%s": "%s"' "$k" "$v"
		fi
	done
	printf '\n}\n'
} >"$OUT/latest.json"
echo "written: $OUT/latest.json $OUT/latest.txt"

if command -v gnuplot >/dev/null 2>&1 && { [ -s "$OUT/sustained.tsv" ] || [ -s "$OUT/latency.tsv" ]; }; then
	[ -s "$OUT/sustained.tsv" ] || printf '0\t0\n' >"$OUT/sustained.tsv"
	[ -s "$OUT/latency.tsv" ] || printf 'wire\t0\t0\t0\t0\n' >"$OUT/latency.tsv"
	gnuplot -e "outfile='$OUT/latest.png'; sustained='$OUT/sustained.tsv'; latency='$OUT/latency.tsv'; ceiling=$CEIL_A; title='smspool bench ($SCALE)'" \
		tests/bench/plot.gp 2>"$TMP/gnuplot.err" && echo "written: $OUT/latest.png" || echo "bench: gnuplot failed (see $TMP/gnuplot.err)" >&2
fi
