# shellcheck shell=bash
# The body of the odbc e2e tests (tests/e2e/87_odbc_*.sh), one per engine.
# The engine's script sources tests/lib/e2e.sh, starts its database and
# defines, before calling odbc_e2e_run:
#   ENGINE, DIALECT       names (dialect as `smspool odbc schema` takes it)
#   CONNSTR               the ODBC connection string of the foreign database
#   fsql "SQL"            runs SQL with the engine's own plain client; rows as a|b
#   fdb_down / fdb_up     makes the foreign database go away / come back
#   NUL_EXPR or NUL_SKIP  an SQL expression of a text with a NUL inside, or why none
#   ftx_client, until_open SECONDS (optional)  the plain client reading SQL from
#                         stdin, and a wait until another session's transaction is open
#   fbatched (optional)   prints how many batched write-backs (one UPDATE ... JOIN
#                         JSON_TABLE per run of rows, drivers/odbc/batch.h) the server ran
#
# What it checks, all through the engine's own client on one side and
# smspool's tables on the other: rows inserted into sms_outgoing are sent
# through the emulator and their delivered state and smspool id come back
# into the foreign row; a message routed to the connection and an inbound text
# routed to its account land in sms_incoming; rows committed out of id order
# are taken; hostile text is stored verbatim both ways; the foreign database
# going away, or a column missing, puts the connection down with a clear
# detail and it recovers by itself; a daemon SIGKILLed between smspool's commit and the foreign update
# neither loses nor duplicates a message.

HOSTILE="Robert'); DROP TABLE sms_outgoing; -- \"q\" 😀 𝄞 Grüße ' OR '1'='1"
HOSTILE_LIT=${HOSTILE//\'/\'\'}

# fwait SECONDS "SQL" WANT: polls the foreign database until SQL prints WANT.
fwait() {
	local end=$(($(now_ms) + $1 * 1000)) got
	while :; do
		got=$(fsql "$2" 2>/dev/null)
		[ "$got" = "$3" ] && return 0
		if [ "$(now_ms)" -ge "$end" ]; then
			diag "timed out after $1 s: $2 printed '$got', want '$3'"
			return 1
		fi
		sleep 0.2
	done
}

# log_has SECONDS PATTERN: waits until the daemon log contains PATTERN.
log_has() {
	local end=$(($(now_ms) + $1 * 1000))
	until grep -q -- "$2" "$E2E_TMP"/daemon-*.log 2>/dev/null; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# outgoing_values FROM TO PREFIX: a VALUES list of rows FROM..TO.
outgoing_values() {
	local i v=""
	for ((i = $1; i <= $2; i++)); do
		v+="${v:+,}('+1555$3$(printf %04d "$i")', 'odbc $ENGINE $i')"
	done
	printf '%s' "$v"
}

odbc_e2e_run() {
	plan 31
	e2e_db "smspool_e2e_odbc_$ENGINE"
	"$SMSPOOL_BIN" odbc schema --dialect "$DIALECT" >"$E2E_TMP/schema.sql" || bail "smspool odbc schema failed"
	fsql "$(cat "$E2E_TMP/schema.sql")" >/dev/null || bail "creating the default layout in $ENGINE failed"
	fsql "CREATE TABLE gate (closed int)" >/dev/null || bail "creating table gate"

	sql "INSERT INTO smspool.accounts (system_id, password, unique_client_ref, report_sent)
	     VALUES ('odbcapp', 'odbc-secret', true, true)" ||
		bail "account"
	add_connection emu emulator '{"seed": 5, "accept_rate": 1.0, "report_delay_ms": 50}' 50
	add_route emu
	# +155503…: reports come late, so that the foreign rows stay new while
	# they are taken again (section 5)
	add_connection emuslow emulator '{"seed": 6, "accept_rate": 1.0, "report_delay_ms": 600000}' 50
	sql "INSERT INTO smspool.routes (position, recipient_prefix, connection) VALUES (5, '+155503', 'emuslow'),
	     (6, '+155507', 'emuslow')" || bail "route"
	add_connection loopback loopback '{}'
	sql "INSERT INTO smspool.inbound_routes (position, connection, account) VALUES (10, 'loopback', 'odbcapp')" ||
		bail "inbound route"
	# The default taken statement plus a gate: while gate has a row, marking
	# changes nothing, which is the state of a crash between the two commits.
	local taken="UPDATE sms_outgoing SET status = :status, smspool_id = :smspool_id, error = :error,
	  updated_at = CURRENT_TIMESTAMP WHERE id = :key AND status IS NULL AND NOT EXISTS (SELECT 1 FROM gate)"
	"$E2E_PSQL" -X -q -v ON_ERROR_STOP=1 -d "$SMSPOOL_DB" -v cs="$CONNSTR" -v taken="$taken" <<'SQL' || bail "odbc connection"
INSERT INTO smspool.connections (name, type, settings, "window") VALUES ('fdb', 'odbc', jsonb_build_object(
  'connection_string', :'cs', 'account', 'odbcapp', 'poll_ms', 100, 'batch', 50,
  'retry_min_ms', 100, 'retry_max_ms', 1000, 'taken_statement', :'taken'), 20);
SQL
	start_daemon "odbc$ENGINE"

	# 1. rows written by the application's own client
	fsql "INSERT INTO sms_outgoing (recipient, body) VALUES $(outgoing_values 1 20 01)" >/dev/null || bail "insert"
	fsql "INSERT INTO sms_outgoing (recipient, body) VALUES ('+15550109999', '$HOSTILE_LIT')" >/dev/null ||
		bail "insert of the hostile text"
	if fwait 60 "SELECT count(*) FROM sms_outgoing WHERE status = 'delivered'" 21; then
		pass "21 rows of sms_outgoing sent through the emulator, status delivered in $ENGINE"
	else
		fail "21 rows delivered in $ENGINE" "$(fsql "SELECT status, count(*) FROM sms_outgoing GROUP BY status")"
	fi
	is "$(fsql "SELECT id, smspool_id FROM sms_outgoing ORDER BY id")" \
		"$(sql "SELECT client_ref || '|' || id FROM smspool.outbox WHERE account = 'odbcapp' ORDER BY client_ref::bigint")" \
		"each foreign row carries the id of the one outbox row whose client_ref is its key"
	is "$(sql "SELECT count(*) FROM smspool.outbox WHERE account = 'odbcapp' AND status = 'delivered'")" 21 \
		"21 outbox rows delivered"
	local hkey
	hkey=$(fsql "SELECT id FROM sms_outgoing WHERE recipient = '+15550109999'")
	is "$(sql "SELECT body FROM smspool.outbox WHERE account = 'odbcapp' AND client_ref = '$hkey'")" "$HOSTILE" \
		"hostile text (quotes, DROP TABLE, 4-byte UTF-8) taken verbatim"
	is "$(fsql "SELECT count(*) FROM sms_outgoing WHERE updated_at IS NOT NULL AND error IS NULL")" 21 \
		"updated_at set, no error"

	# 1b. a NUL inside a text (where the engine can store one): refused, marked failed
	if [ -n "${NUL_EXPR:-}" ]; then
		fsql "INSERT INTO sms_outgoing (recipient, body) VALUES ('+15550109998', $NUL_EXPR)" >/dev/null ||
			bail "insert of a text with a NUL"
		if fwait 30 "SELECT status FROM sms_outgoing WHERE recipient = '+15550109998'" failed; then
			pass "a text with a NUL is marked failed, not cut short"
		else
			fail "a text with a NUL is marked failed"
		fi
		is "$(sql "SELECT count(*) FROM smspool.outbox WHERE recipient = '+15550109998'")" 0 "and never reaches the outbox"
	else
		skip "a text with a NUL is marked failed" "$NUL_SKIP"
		skip "and never reaches the outbox" "$NUL_SKIP"
	fi

	# 1c. sent without a report (yet): the foreign row says sent, not queued
	fsql "INSERT INTO sms_outgoing (recipient, body) VALUES ('+15550700001', 'no report'), ('+15550700002', 'none')" \
		>/dev/null || bail "insert"
	if fwait 30 "SELECT count(*) FROM sms_outgoing WHERE recipient LIKE '+155507%' AND status = 'sent'" 2; then
		pass "a sent message without a delivery report is sent in $ENGINE"
	else
		fail "a sent message is sent in $ENGINE" "$(fsql "SELECT recipient, status FROM sms_outgoing WHERE recipient LIKE '+155507%'")"
	fi
	is "$(fsql "SELECT id, smspool_id FROM sms_outgoing WHERE recipient LIKE '+155507%' ORDER BY id")" \
		"$(sql "SELECT client_ref || '|' || id FROM smspool.outbox WHERE status = 'sent' AND recipient LIKE '+155507%' ORDER BY client_ref::bigint")" \
		"and carries the id of its sent outbox row"

	# 2. rows committed out of id order: a higher id first, then a lower one
	fsql "INSERT INTO sms_outgoing (id, recipient, body) VALUES (1000000, '+15550110002', 'higher id first')" >/dev/null
	fwait 30 "SELECT count(*) FROM sms_outgoing WHERE id = 1000000 AND status IS NOT NULL" 1 ||
		diag "row 1000000 not taken"
	fsql "INSERT INTO sms_outgoing (id, recipient, body) VALUES (999999, '+15550110001', 'lower id later')" >/dev/null
	if fwait 30 "SELECT count(*) FROM sms_outgoing WHERE id IN (999999, 1000000) AND status = 'delivered'" 2; then
		pass "a row committed after a row with a higher id is taken and delivered"
	else
		fail "a row committed after a row with a higher id is taken and delivered"
	fi

	# 2b. the same with two real transactions, where the engine has them: the
	# lower id is drawn first and committed after a higher one was taken
	if declare -F ftx_client >/dev/null; then
		exec 8> >(ftx_client >"$E2E_TMP/tx.out" 2>&1)
		local txpid=$!
		echo "BEGIN; INSERT INTO sms_outgoing (recipient, body) VALUES ('+15550115001', 'drawn first, committed last');" >&8
		until_open 30 || diag "the open transaction did not show"
		fsql "INSERT INTO sms_outgoing (recipient, body) VALUES ('+15550115002', 'drawn second, committed first')" >/dev/null
		fwait 30 "SELECT count(*) FROM sms_outgoing WHERE recipient = '+15550115002' AND status IS NOT NULL" 1 ||
			diag "the row committed first was not taken"
		echo "COMMIT;" >&8
		exec 8>&-
		wait "$txpid" 2>/dev/null
		if fwait 30 "SELECT count(*) FROM sms_outgoing WHERE recipient = '+15550115001' AND status = 'delivered'" 1; then
			pass "a transaction holding a lower id, committed after a higher id was taken: taken and delivered"
		else
			fail "a lower id committed late is taken" "$(cat "$E2E_TMP/tx.out")"
		fi
		ok "$(fsql "SELECT count(*) FROM sms_outgoing a, sms_outgoing b WHERE a.recipient = '+15550115001'
		     AND b.recipient = '+15550115002' AND a.id < b.id")" "the late row has the lower id"
	else
		skip "a lower id committed late is taken" "$ENGINE has one writer at a time"
		skip "the late row has the lower id" "$ENGINE has one writer at a time"
	fi

	# 3. a message routed to the connection, and an inbound text routed to its account
	sql "INSERT INTO smspool.outbox (recipient, sender, body, connection)
	     VALUES ('+15550120001', '+15550120000', '$HOSTILE_LIT', 'fdb'),
	            ('+15550130001', '+15550130000', 'in: $HOSTILE_LIT', 'loopback')" || bail "outbox insert"
	if fwait 30 "SELECT count(*) FROM sms_incoming" 2; then
		pass "the routed message and the inbound text are rows of sms_incoming"
	else
		fail "the routed message and the inbound text are rows of sms_incoming"
	fi
	is "$(fsql "SELECT body FROM sms_incoming WHERE recipient = '+15550120001' AND sender = '+15550120000'")" "$HOSTILE" \
		"routed message stored verbatim in sms_incoming"
	is "$(fsql "SELECT body FROM sms_incoming WHERE sender = '+15550130001' AND recipient = '+15550130000'")" \
		"in: $HOSTILE" "inbound text stored verbatim in sms_incoming"
	wait_for 30 "SELECT status = 'sent' FROM smspool.outbox WHERE recipient = '+15550120001'" ||
		diag "outbox: $(sql "SELECT status, error_text FROM smspool.outbox WHERE recipient = '+15550120001'")"
	is "$(sql "SELECT status || '/' || connection_used FROM smspool.outbox WHERE recipient = '+15550120001'")" \
		"sent/fdb" "the routed message is sent once its row is committed"

	# 4. the foreign database goes away mid-run and comes back
	fsql "INSERT INTO sms_outgoing (recipient, body) VALUES $(outgoing_values 1 30 02)" >/dev/null || bail "insert"
	fdb_down
	if wait_for 30 "SELECT coalesce(bool_or(state = 'down' AND detail LIKE 'foreign database:%'), false)
	                FROM smspool.connection_state WHERE name = 'fdb'"; then
		pass "connection down with a clear detail while $ENGINE is away"
	else
		fail "connection down while $ENGINE is away" "$(sql "SELECT state, detail FROM smspool.connection_state")"
	fi
	diag "detail: $(sql "SELECT detail FROM smspool.connection_state WHERE name = 'fdb'")"
	fdb_up
	ok "$(wait_for 60 "SELECT coalesce(bool_or(state = 'up'), false) FROM smspool.connection_state WHERE name = 'fdb'" &&
		echo 1 || echo 0)" "connection up again by itself"
	if fwait 90 "SELECT count(*) FROM sms_outgoing WHERE recipient LIKE '+155502%' AND status = 'delivered'" 30; then
		pass "the 30 rows of the outage delivered"
	else
		fail "the 30 rows of the outage delivered" "$(fsql "SELECT status, count(*) FROM sms_outgoing GROUP BY status")"
	fi

	# 4b. a column the statements need is missing, then back
	fsql "ALTER TABLE sms_outgoing RENAME COLUMN body TO body_gone" >/dev/null || bail "rename column"
	if wait_for 30 "SELECT coalesce(bool_or(state = 'down' AND detail LIKE '%take statement%body%'), false)
	                FROM smspool.connection_state WHERE name = 'fdb'"; then
		pass "a missing column puts the connection down, naming the statement and the column"
	else
		fail "a missing column puts the connection down" "$(sql "SELECT state, detail FROM smspool.connection_state")"
	fi
	diag "detail: $(sql "SELECT detail FROM smspool.connection_state WHERE name = 'fdb'")"
	fsql "ALTER TABLE sms_outgoing RENAME COLUMN body_gone TO body" >/dev/null || bail "rename column back"
	ok "$(wait_for 60 "SELECT coalesce(bool_or(state = 'up'), false) FROM smspool.connection_state WHERE name = 'fdb'" &&
		echo 1 || echo 0)" "up again once the column is back"

	# 5. SIGKILL between smspool's commit and the foreign update
	fsql "INSERT INTO gate VALUES (1)" >/dev/null
	fsql "INSERT INTO sms_outgoing (recipient, body) VALUES $(outgoing_values 1 10 03)" >/dev/null || bail "insert"
	wait_for 30 "SELECT count(*) = 10 FROM smspool.outbox WHERE recipient LIKE '+155503%'" || diag "not 10 in outbox"
	log_has 30 "odbc_taken_again" || diag "no retake logged"
	kill_daemon "odbc$ENGINE"
	is "$(fsql "SELECT count(*) FROM sms_outgoing WHERE recipient LIKE '+155503%' AND status IS NULL")" 10 \
		"killed with 10 rows committed in smspool and still new in $ENGINE"
	fsql "DELETE FROM gate" >/dev/null
	start_daemon "odbc$ENGINE"
	# (their reports died with the emulator of the killed daemon: they stay
	# queued or sent in smspool, which is what the foreign rows must say)
	if fwait 60 "SELECT count(*) FROM sms_outgoing WHERE recipient LIKE '+155503%' AND status IS NOT NULL" 10; then
		pass "after the restart the 10 rows are marked taken"
	else
		fail "after the restart the 10 rows are marked taken"
	fi
	is "$(fsql "SELECT id, smspool_id FROM sms_outgoing WHERE recipient LIKE '+155503%' ORDER BY id")" \
		"$(sql "SELECT client_ref || '|' || id FROM smspool.outbox WHERE recipient LIKE '+155503%' ORDER BY client_ref::bigint")" \
		"each is marked with the id its first taking got"
	is "$(sql "SELECT count(*) FROM smspool.outbox WHERE recipient LIKE '+155503%'")" 10 \
		"taken again after the kill, yet one outbox row each (idempotency key)"
	# 6. SIGTERM while rows are being taken: a clean stop, then nothing lost or doubled
	fsql "INSERT INTO sms_outgoing (recipient, body) VALUES $(outgoing_values 1 300 04)" >/dev/null || bail "insert"
	wait_for 30 "SELECT count(*) > 0 FROM smspool.outbox WHERE recipient LIKE '+155504%'" || diag "none taken yet"
	stop_daemon "odbc$ENGINE"
	is "$DAEMON_STATUS" 0 "SIGTERM while rows are taken: the daemon exits 0"
	start_daemon "odbc$ENGINE"
	if fwait 90 "SELECT count(*) FROM sms_outgoing WHERE recipient LIKE '+155504%' AND status = 'delivered'" 300; then
		pass "after the restart all 300 rows delivered"
	else
		fail "after the restart all 300 rows delivered" "$(fsql "SELECT status, count(*) FROM sms_outgoing GROUP BY status")"
	fi
	is "$(sql "SELECT count(*) FROM smspool.outbox WHERE recipient LIKE '+155504%'")" 300 "one outbox row each"
	if declare -F fbatched >/dev/null; then
		ok "$([ "$(fbatched)" -gt 0 ] && echo 1 || echo 0)" "the states went back as batched UPDATEs ($(fbatched) since the restart)"
	else
		skip "the states went back as batched UPDATEs" "$ENGINE keeps the portable path (parameter arrays)"
	fi

	is "$(fsql "SELECT count(*) FROM sms_outgoing WHERE recipient <> '+15550109998'")" \
		"$(sql "SELECT count(*) FROM smspool.outbox WHERE account = 'odbcapp'")" \
		"as many outbox rows as foreign rows: none lost, none twice"

	stop_daemon "odbc$ENGINE"
	is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
}
