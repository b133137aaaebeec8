#!/usr/bin/env bash
# The link's exactly-once guarantee under faults: daemon A (database A) sends
# N messages over a link, through a TCP proxy that can cut the connection
# (tests/peers/cut_proxy.py), to daemon B's link-server (database B), whose
# emulator delivers them; meanwhile M texts routed in B to the link's account
# flow back to A's inbox.  During the run: the connection is cut mid-stream,
# A is killed with SIGKILL and restarted, B is killed with SIGKILL and
# restarted, the connection is cut again.  Then both databases are
# reconciled: every message of A in the same final state as its row in B
# (delivered, but for the few whose report died with B's emulator at its
# SIGKILL: those stay sent on both sides), each held once by B (one row per
# idempotency key, B's id being A's remote id), each inbound text once in
# A's inbox, no account event left in B: 0 lost, 0 duplicated.
#
# LINK_FAULT_N / LINK_FAULT_M change the sizes.
. "$(dirname "$0")/../lib/e2e.sh"

N=${LINK_FAULT_N:-3000}
M=${LINK_FAULT_M:-200}
plan 9

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PROXY_PID=
trap '[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null; _e2e_cleanup' EXIT

BPORT=$(free_port)
e2e_db smspool_e2e_link_faults_b
DB_B=$SMSPOOL_DB
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('linkacct', 'pw')" || bail "account"
add_connection linkd link-server "{\"listen\": \"127.0.0.1:$BPORT\", \"response_timeout_s\": 5}"
add_connection emu emulator '{"report_delay_ms": 20}' 200
add_connection lo loopback '{}'
sql "UPDATE smspool.connections SET throughput = 40 WHERE name = 'lo'" || bail "throughput"
add_route emu
sql "INSERT INTO smspool.inbound_routes (position, connection, account) VALUES (1, 'lo', 'linkacct')" || bail "inbound route"
start_daemon b SMSPOOL_DB="$DB_B"
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'linkd'" ||
	bail "B's link-server does not listen: $(sql "SELECT state, detail FROM smspool.connection_state")"

python3 "$E2E_ROOT/tests/peers/cut_proxy.py" "$E2E_TMP/proxy.port" "$BPORT" 2>"$E2E_TMP/proxy.log" &
PROXY_PID=$!
for ((i = 0; i < 100; i++)); do [ -s "$E2E_TMP/proxy.port" ] && break; sleep 0.1; done
[ -s "$E2E_TMP/proxy.port" ] || bail "the proxy did not start: $(cat "$E2E_TMP/proxy.log")"
PPORT=$(cat "$E2E_TMP/proxy.port")
diag "B's link-server on 127.0.0.1:$BPORT, the cutting proxy on 127.0.0.1:$PPORT; $N messages, $M inbound texts"

e2e_db smspool_e2e_link_faults_a
DB_A=$SMSPOOL_DB
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
sql "UPDATE smspool.config SET value = '50' WHERE key = 'max_attempts'" || bail "config"
add_connection up link "{\"host\": \"127.0.0.1\", \"port\": $PPORT, \"account\": \"linkacct\", \"password\": \"pw\", \"reconnect_min_ms\": 100, \"reconnect_max_ms\": 1000, \"keepalive_s\": 1, \"response_timeout_s\": 5, \"batch\": 20, \"window\": 4}" 80
sql "UPDATE smspool.connections SET throughput = 200 WHERE name = 'up'" || bail "throughput"
add_route up
sql "INSERT INTO smspool.outbox (recipient, body, client_ref)
	SELECT '+1555' || lpad(g::text, 7, '0'), 'link fault ' || g, 'lf' || g FROM generate_series(1, $N) g" || bail "INSERT"
SMSPOOL_DB=$DB_B sql "INSERT INTO smspool.outbox (recipient, sender, body, connection)
	SELECT '+4915' || lpad(g::text, 7, '0'), '12345', 'inbound ' || g, 'lo' FROM generate_series(1, $M) g" || bail "INSERT inbound"
start_daemon a SMSPOOL_DB="$DB_A"

progress() { sql "SELECT count(*) FROM smspool.outbox WHERE status IN ('sent', 'delivered')" 2>/dev/null || echo 0; }
# wait_progress K: until K of A's messages have left (bounded).
wait_progress() {
	local end=$(($(now_ms) + 60000))
	while [ "$(progress)" -lt "$1" ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.1; done
}
inflight() { sql "SELECT count(*) FROM smspool.outbox WHERE status = 'sending'" 2>/dev/null || echo '?'; }

wait_progress $((N / 6))
diag "cut 1 at $(progress) sent, $(inflight) in flight"
kill -USR1 "$PROXY_PID"

wait_progress $((2 * N / 6))
diag "SIGKILL of A at $(progress) sent, $(inflight) in flight"
kill_daemon a
start_daemon a SMSPOOL_DB="$DB_A"

wait_progress $((3 * N / 6))
# Claim at submit (048): B is killed while it holds rows of the link's
# batches that it inserted already claimed (their lease runs from their
# INSERT); the reconciliation below finds each of them once.
held_at_submit() {
	SMSPOOL_DB=$DB_B sql "SELECT count(*) FROM smspool.queue q JOIN smspool.outbox o ON o.id = q.message_id
		WHERE q.claimed_by = 'b' AND q.due_at = o.created_at + make_interval(secs => coalesce(smspool.config_int('lease_s'), 60))" 2>/dev/null || echo 0
}
end=$(($(now_ms) + 10000))
while HELD=$(held_at_submit) && [ "$HELD" = 0 ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.02; done
diag "SIGKILL of B at $(progress) sent, $(inflight) in flight, $HELD rows held by B claimed at submit"
kill_daemon b
if [ "$HELD" -gt 0 ]; then
	pass "B is killed while it holds rows it inserted claimed at submit ($HELD)"
else
	fail "B is killed while it holds rows it inserted claimed at submit" "none seen in 10 s"
fi
KILL_B_AT=$(SMSPOOL_DB=$DB_B sql "SELECT now()")
start_daemon b SMSPOOL_DB="$DB_B"

wait_progress $((4 * N / 6))
diag "cut 2 at $(progress) sent, $(inflight) in flight"
kill -USR1 "$PROXY_PID"

# --- reconciliation ---------------------------------------------------------
states_a() { sql "SELECT md5(string_agg(remote_ids[1] || '=' || status, ',' ORDER BY remote_ids[1]::bigint)) FROM smspool.outbox"; }
states_b() { SMSPOOL_DB=$DB_B sql "SELECT md5(string_agg(id || '=' || status, ',' ORDER BY id)) FROM smspool.outbox WHERE account = 'linkacct'"; }
settled() {
	[ "$(sql "SELECT count(*) FROM smspool.outbox WHERE status IN ('queued', 'sending') OR remote_ids IS NULL")" = 0 ] &&
		[ "$(SMSPOOL_DB=$DB_B sql "SELECT count(*) FROM smspool.outbox WHERE status IN ('queued', 'sending')")" = 0 ] &&
		[ "$(states_a)" = "$(states_b)" ]
}
end=$(($(now_ms) + 180000))
until settled || [ "$(now_ms)" -ge "$end" ]; do sleep 0.5; done
if settled; then
	pass "every message of A has left and ends in the state of its row in B"
else
	fail "every message of A has left and ends in the state of its row in B" "A: $(state_counts)" "B: $(SMSPOOL_DB=$DB_B state_counts)"
	daemon_tails
fi
is "$(sql "SELECT count(*) FROM smspool.outbox")" "$N" "A holds N rows (nothing added, nothing lost)"
is "$(SMSPOOL_DB=$DB_B sql "SELECT count(*) || '/' || count(DISTINCT idempotency_key) FROM smspool.outbox WHERE account = 'linkacct'")" \
	"$N/$N" "B holds each message once: N rows of the account, N keys (0 duplicated over the link)"
is "$(SMSPOOL_DB=$DB_B sql "SELECT md5(string_agg(id::text || '=' || idempotency_key, ',' ORDER BY id)) FROM smspool.outbox WHERE account = 'linkacct'")" \
	"$(sql "SELECT md5(string_agg(remote_ids[1] || '=a:' || id, ',' ORDER BY remote_ids[1]::bigint)) FROM smspool.outbox")" \
	"each row of A has B's row of its key as its remote id (0 lost)"
is "$(SMSPOOL_DB=$DB_B sql "SELECT count(*) FROM smspool.outbox WHERE account = 'linkacct' AND status <> 'delivered' AND NOT (status = 'sent' AND sent_at < '$KILL_B_AT')")" \
	0 "every row of B delivered, but those sent before B's SIGKILL whose report died with its emulator"
diag "rows whose report died with B's emulator: $(SMSPOOL_DB=$DB_B sql "SELECT count(*) FROM smspool.outbox WHERE status = 'sent'")"
if wait_for 120 "SELECT count(*) >= $M FROM smspool.inbox"; then
	pass "the inbound texts reach A's inbox"
else
	fail "the inbound texts reach A's inbox" "$(sql "SELECT count(*) FROM smspool.inbox")"
fi
is "$(sql "SELECT count(*) || '/' || count(DISTINCT body) FROM smspool.inbox")" "$M/$M" "each inbound text is in A's inbox once"
if SMSPOOL_DB=$DB_B wait_for 60 "SELECT count(*) = 0 FROM smspool.account_events"; then
	pass "B's account events are all acknowledged"
else
	fail "B's account events are all acknowledged" "$(SMSPOOL_DB=$DB_B sql "SELECT kind, count(*), max(attempts) FROM smspool.account_events GROUP BY kind" 2>&1)"
fi
diag "messages of A sent more than once over the link (answered from their key the second time): $(sql "SELECT count(*) FROM smspool.outbox WHERE attempts > 1")"
diag "cuts: $(cat "$E2E_TMP/proxy.port.cuts" 2>/dev/null); sessions lost in A: $(grep -c link_session_lost "$E2E_TMP"/daemon-a.log)"
stop_daemon a
stop_daemon b
finish
