#!/usr/bin/env bash
# Configuration tables reach a running daemon without a restart, and the
# spool honours throughput limits, failover, scheduling, validity and retries.
. "$(dirname "$0")/../lib/e2e.sh"
plan 12

e2e_db smspool_e2e_config
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'"
sql "UPDATE smspool.config SET value = '3' WHERE key = 'max_attempts'"
add_connection primary emulator '{"report_delay_ms": 0}'
add_connection backup emulator '{"report_delay_ms": 0, "seed": 9}'
sql "INSERT INTO smspool.routes (position, connection) VALUES (10, 'primary'), (20, 'backup')"
sql "INSERT INTO smspool.connections (name, type, enabled, settings) VALUES ('late', 'emulator', false, '{\"report_delay_ms\": 0}')"
start_daemon cfg
wait_for 10 "SELECT count(*) = 2 FROM smspool.connection_state WHERE state = 'up'" ||
	diag "connections did not come up"

# No fixed sleeps: each step waits for the event it means, and fails when it
# does not come.
# probe: a message through primary/backup, delivered = the daemon has claimed
# since everything inserted before it.
probe() {
	local pid
	pid=$(sql "INSERT INTO smspool.outbox (recipient, body) VALUES ('+15559999', 'probe') RETURNING id")
	wait_for 10 "SELECT status = 'delivered' FROM smspool.outbox WHERE id = $pid" || diag "the probe was not delivered"
}
# restarted NAME SINCE: the connection was opened again after SINCE (a
# settings change replaces it) and is up.
since_of() { sql "SELECT since FROM smspool.connection_state WHERE name = '$1'"; }
restarted() {
	wait_for 10 "SELECT state = 'up' AND since > '$2' FROM smspool.connection_state WHERE name = '$1'" ||
		diag "$1 was not restarted: $(sql "SELECT state, since FROM smspool.connection_state WHERE name = '$1'")"
}

# A disabled connection takes nothing; enabling it is picked up at once.
id=$(sql "INSERT INTO smspool.outbox (recipient, body, connection) VALUES ('+15550001', 'to late', 'late') RETURNING id")
probe
is "$(sql "SELECT status FROM smspool.outbox WHERE id = $id")" queued "a message for a disabled connection stays queued"
t0=$(now_ms)
sql "UPDATE smspool.connections SET enabled = true WHERE name = 'late'"
if wait_for 5 "SELECT status = 'delivered' FROM smspool.outbox WHERE id = $id"; then
	pass "enabling the connection delivers it ($(($(now_ms) - t0)) ms after the UPDATE)"
else
	fail "enabling the connection delivers it" "$(state_counts)"
fi

# Changed settings are applied to the running daemon: everything is rejected now.
t=$(since_of late)
sql "UPDATE smspool.connections SET settings = '{\"report_delay_ms\": 0, \"accept_rate\": 0}' WHERE name = 'late'"
restarted late "$t"
id=$(sql "INSERT INTO smspool.outbox (recipient, body, connection) VALUES ('+15550002', 'rejected now', 'late') RETURNING id")
wait_for 10 "SELECT status = 'rejected' FROM smspool.outbox WHERE id = $id" &&
	pass "a settings change takes effect without a restart" ||
	fail "a settings change takes effect without a restart" "$(state_counts)"

# Throughput: 30 messages at 10/s take about three seconds, never much less.
t=$(since_of late)
sql "UPDATE smspool.connections SET settings = '{\"report_delay_ms\": 0}', throughput = 10 WHERE name = 'late'"
restarted late "$t"
t0=$(now_ms)
sql "INSERT INTO smspool.outbox (recipient, body, connection, client_ref) SELECT '+1555' || i, 'paced', 'late', 'tp' FROM generate_series(1, 30) i"
wait_for 30 "SELECT count(*) = 30 FROM smspool.outbox WHERE client_ref = 'tp' AND status = 'delivered'"
span=$(sql "SELECT round(extract(epoch FROM max(sent_at) - min(sent_at)) * 1000) FROM smspool.outbox WHERE client_ref = 'tp'")
ok "${span:-0} >= 2000" "throughput 10/s: 30 messages sent over ${span} ms (>= 2000)"
ok "${span:-0} <= 8000" "throughput 10/s: not needlessly slow (${span} ms <= 8000)"

# Failover: with primary disabled the route's next position takes over.
sql "UPDATE smspool.connections SET enabled = false WHERE name = 'primary'"
wait_for 10 "SELECT state <> 'up' FROM smspool.connection_state WHERE name = 'primary'" || diag "primary is still up"
id=$(sql "INSERT INTO smspool.outbox (recipient, body) VALUES ('+15550003', 'failover') RETURNING id")
wait_for 10 "SELECT status = 'delivered' FROM smspool.outbox WHERE id = $id"
is "$(sql "SELECT connection_used FROM smspool.outbox WHERE id = $id")" backup "routed to the failover connection while primary is down"
sql "UPDATE smspool.connections SET enabled = true WHERE name = 'primary'"
wait_for 10 "SELECT count(*) = 1 FROM smspool.connection_state WHERE name = 'primary' AND state = 'up'"
id=$(sql "INSERT INTO smspool.outbox (recipient, body) VALUES ('+15550004', 'back') RETURNING id")
wait_for 10 "SELECT status = 'delivered' FROM smspool.outbox WHERE id = $id"
is "$(sql "SELECT connection_used FROM smspool.outbox WHERE id = $id")" primary "back on the first rule once primary is up"

# Scheduling: send_after in the future is honoured.
id=$(sql "INSERT INTO smspool.outbox (recipient, body, send_after) VALUES ('+15550005', 'later', now() + interval '6 s') RETURNING id")
probe
is "$(sql "SELECT status FROM smspool.outbox WHERE id = $id")" queued "send_after in the future: still queued"
wait_for 10 "SELECT status = 'delivered' FROM smspool.outbox WHERE id = $id" &&
	pass "send_after: delivered once due" || fail "send_after: delivered once due" "$(state_counts)"

# Validity: a message that cannot be sent before valid_until expires.
# A table change takes effect within a second, not at the commit: wait for it.
sql "UPDATE smspool.connections SET enabled = false WHERE name = 'late'"
wait_for 10 "SELECT state <> 'up' FROM smspool.connection_state WHERE name = 'late'"
id=$(sql "INSERT INTO smspool.outbox (recipient, body, connection, valid_until) VALUES ('+15550006', 'too late', 'late', now() + interval '1 s') RETURNING id")
wait_for 10 "SELECT now() > valid_until FROM smspool.outbox WHERE id = $id"
sql "UPDATE smspool.connections SET enabled = true WHERE name = 'late'"
wait_for 10 "SELECT status = 'expired' FROM smspool.outbox WHERE id = $id" &&
	pass "valid_until passed before sending: expired" || fail "valid_until passed: expired" "$(sql "SELECT status FROM smspool.outbox WHERE id = $id")"

# Retries: temporary errors are retried with backoff, then failed after max_attempts.
add_connection flaky emulator '{"report_delay_ms": 0, "temporary_rate": 1.0}'
wait_for 10 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'flaky'" || diag "flaky did not come up"
id=$(sql "INSERT INTO smspool.outbox (recipient, body, connection) VALUES ('+15550007', 'always temporary', 'flaky') RETURNING id")
wait_for 20 "SELECT status = 'failed' FROM smspool.outbox WHERE id = $id"
is "$(sql "SELECT status || ' ' || attempts || ' ' || error_class FROM smspool.outbox WHERE id = $id")" "failed 3 temporary" \
	"temporary errors retried up to max_attempts, then failed"

stop_daemon cfg
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
