#!/usr/bin/env bash
# PostgreSQL restarts (fast, then immediate) while messages flow: the daemon
# stays alive (same pid), reconnects, and every message ends final.
. "$(dirname "$0")/../lib/e2e.sh"
plan 9

BATCH=1000
e2e_db smspool_e2e_pgrestart
add_connection emu emulator '{"seed": 9, "accept_rate": 1.0,
  "outcomes": {"delivered": 90, "undelivered": 7, "expired": 3},
  "report_delay_ms": 200, "latency_ms": 5}' 20
add_route emu
start_daemon pgr
pid=${DAEMON_PID[pgr]}

# insert_batch K: BATCH more messages, retried while PostgreSQL comes back.
insert_batch() {
	local i
	for ((i = 0; i < 50; i++)); do
		sql "INSERT INTO smspool.outbox (recipient, body)
		     SELECT '+1555' || lpad(($1 * $BATCH + i)::text, 7, '0'), 'pg restart ' || $1 || '/' || i
		     FROM generate_series(1, $BATCH) i" 2>/dev/null && return 0
		sleep 0.2
	done
	bail "could not insert batch $1"
}

insert_batch 0
wait_for 30 "SELECT count(*) >= 100 FROM smspool.outbox WHERE status IN ($FINAL_STATES)" ||
	diag "few final before the first restart: $(state_counts)"
out=$(sh "$PGCLUSTER" restart fast 2>&1) || bail "pgcluster.sh restart fast: $out"
insert_batch 1
# Alive means working again: a message inserted after the restart is
# claimed (wait_for returns at once when the daemon dies).
if wait_for 30 "SELECT count(*) > 0 FROM smspool.outbox WHERE body LIKE 'pg restart 1/%' AND status <> 'queued'" &&
	kill -0 "$pid" 2>/dev/null; then
	pass "daemon alive and sending after a fast restart (pid $pid)"
else
	fail "daemon alive and sending after a fast restart (pid $pid)" "$(state_counts)"
fi

wait_for 30 "SELECT count(*) >= $((BATCH + 100)) FROM smspool.outbox WHERE status IN ($FINAL_STATES)" ||
	diag "few final before the second restart: $(state_counts)"
out=$(sh "$PGCLUSTER" restart immediate 2>&1) || bail "pgcluster.sh restart immediate: $out"
insert_batch 2
# Alive means working again: a message inserted after the restart is
# claimed (wait_for returns at once when the daemon dies).
if wait_for 30 "SELECT count(*) > 0 FROM smspool.outbox WHERE body LIKE 'pg restart 2/%' AND status <> 'queued'" &&
	kill -0 "$pid" 2>/dev/null; then
	pass "daemon alive and sending after an immediate restart (pid $pid)"
else
	fail "daemon alive and sending after an immediate restart (pid $pid)" "$(state_counts)"
fi

N=$((3 * BATCH))
if wait_for 120 "SELECT count(*) = $N FROM smspool.outbox WHERE status IN ($FINAL_STATES)"; then
	pass "all $N messages final"
else
	fail "all $N messages final" "states: $(state_counts)"
fi
diag "states: $(state_counts)"
is "$(sql "SELECT count(*) FROM smspool.outbox")" "$N" "no message lost"
is "$(count_where "status IN ('queued', 'sending', 'sent')")" 0 "none left queued, sending or awaiting a report"
is "$(count_where "status IN ('failed', 'rejected')")" 0 "none failed or rejected"
ok "$(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0)" "the same daemon process ran throughout"
twice=$(count_where "attempts > 1 OR coalesce(cardinality(remote_ids), 0) > parts")
diag "sent more than once: $twice"
ok "$twice <= 100" "few messages sent twice ($twice)"

stop_daemon pgr
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
