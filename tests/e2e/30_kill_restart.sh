#!/usr/bin/env bash
# SIGKILL the daemon in the middle of 5,000 messages, restart it under the same
# instance name: every message ends final, none is lost, none stays in
# sending.  Messages sent twice (at-least-once window) are counted and shown.
. "$(dirname "$0")/../lib/e2e.sh"
plan 9

N=5000
e2e_db smspool_e2e_kill
add_connection emu emulator '{"seed": 3, "accept_rate": 1.0,
  "outcomes": {"delivered": 95, "undelivered": 4, "expired": 1},
  "report_delay_ms": 0, "latency_ms": 20}' 20
add_route emu
sql "INSERT INTO smspool.outbox (recipient, body)
     SELECT '+1555' || lpad(i::text, 7, '0'), 'kill test ' || i
     FROM generate_series(1, $N) i" || bail "INSERT failed"

start_daemon kr
if wait_for 60 "SELECT count(*) >= $((N / 20)) FROM smspool.outbox WHERE status IN ($FINAL_STATES)"; then
	pass "some messages final before the kill"
else
	fail "some messages final before the kill" "states: $(state_counts)"
fi
kill_daemon kr
final_at_kill=$(count_where "status IN ($FINAL_STATES)")
diag "at SIGKILL: $(state_counts)"
ok "$final_at_kill < $N" "killed mid-run ($final_at_kill of $N final)"

start_daemon kr
if wait_for 120 "SELECT count(*) = 0 FROM smspool.outbox WHERE status IN ('queued', 'sending')"; then
	pass "after the restart nothing is left queued or sending"
else
	fail "after the restart nothing is left queued or sending" "states: $(state_counts)"
fi
is "$(sql "SELECT count(*) FROM smspool.outbox")" "$N" "no message lost"
# Messages already `sent` at the kill wait for a report that the killed
# process owed them: they too must end final.
if wait_for 30 "SELECT count(*) = $N FROM smspool.outbox WHERE status IN ($FINAL_STATES)"; then
	pass "all $N messages end final, those sent before the kill included"
else
	fail "all $N messages end final, those sent before the kill included" \
		"states: $(state_counts)" "left in sent: $(count_where "status = 'sent'") (their reports died with the killed daemon)"
fi
diag "end: $(state_counts)"
is "$(count_where "status IN ('failed', 'rejected')")" 0 "none failed or rejected"
bad=$(count_where "status = 'delivered' AND coalesce(cardinality(remote_ids), 0) < 1")
ok "$bad == 0" "every delivered row has a remote id ($bad without)"
twice=$(count_where "attempts > 1 OR coalesce(cardinality(remote_ids), 0) > parts")
diag "sent more than once (attempts > 1 or more remote ids than parts): $twice"
ok "$twice <= 200" "few messages sent twice ($twice; the window between peer acceptance and commit)"

stop_daemon kr
is "$DAEMON_STATUS" 0 "restarted daemon exits 0 on SIGTERM"
finish
