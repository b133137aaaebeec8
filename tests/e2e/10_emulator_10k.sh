#!/usr/bin/env bash
# 10,000 messages through an emulator connection, inserted in one statement:
# every one reaches a final state in bounded time, the outcome mix follows the
# emulator's weights, delivered rows are consistent, and one report is stored
# per message that was sent with want_report.
. "$(dirname "$0")/../lib/e2e.sh"
plan 14

N=10000
e2e_db smspool_e2e_10k
add_connection emu emulator '{"seed": 42, "accept_rate": 0.98,
  "outcomes": {"delivered": 80, "undelivered": 15, "expired": 5},
  "report_delay_ms": 200, "latency_ms": 1}'
add_route emu
start_daemon e2e10k

t0=$(now_ms)
sql "INSERT INTO smspool.outbox (recipient, body)
     SELECT '+1555' || lpad(i::text, 7, '0'), 'e2e 10k message ' || i
     FROM generate_series(1, $N) i" || bail "INSERT of $N rows failed"

if wait_for 120 "SELECT count(*) = $N FROM smspool.outbox WHERE status IN ($FINAL_STATES)"; then
	pass "all $N messages final within 120 s ($(($(now_ms) - t0)) ms)"
else
	fail "all $N messages final within 120 s" "states: $(state_counts)"
fi
diag "states: $(state_counts)"

c() { count_where "$1"; }
delivered=$(c "status = 'delivered'")
undelivered=$(c "status = 'undelivered'")
expired=$(c "status = 'expired'")
rejected=$(c "status = 'rejected'")
other=$(c "status IN ('failed', 'cancelled')")
ok "$delivered + $undelivered + $expired + $rejected + $other == $N" "counts per final state add up to $N"
ok "$other == 0" "no message failed or cancelled ($other)"
# Expected: rejected 2% = 200; of the accepted 9,800: 80/15/5 % = 7,840 / 1,470 / 490.
ok "$rejected >= 100 && $rejected <= 320" "rejected near 2% ($rejected, want 100..320)"
ok "$delivered >= 7440 && $delivered <= 8240" "delivered near 78.4% ($delivered, want 7440..8240)"
ok "$undelivered >= 1220 && $undelivered <= 1720" "undelivered near 14.7% ($undelivered, want 1220..1720)"
ok "$expired >= 340 && $expired <= 640" "expired near 4.9% ($expired, want 340..640)"

bad=$(c "status = 'delivered' AND NOT (sent_at IS NOT NULL AND done_at IS NOT NULL AND sent_at <= done_at)")
ok "$bad == 0" "every delivered row has sent_at <= done_at ($bad bad)"
bad=$(c "status = 'delivered' AND coalesce(cardinality(remote_ids), 0) < 1")
ok "$bad == 0" "every delivered row has a remote id ($bad without)"
bad=$(c "status = 'delivered' AND connection_used IS DISTINCT FROM 'emu'")
ok "$bad == 0" "connection_used is the routed connection ($bad other)"
bad=$(c "status = 'rejected' AND (error_class IS NULL AND error_code IS NULL AND error_text IS NULL)")
ok "$bad == 0" "every rejected row says why ($bad without error)"

# One report per part of each message sent with want_report (texts here are one part).
sent=$(sql "SELECT coalesce(sum(parts), 0) FROM smspool.outbox
	WHERE status IN ('delivered', 'undelivered', 'expired') AND want_report")
is "$(sql "SELECT count(*) FROM smspool.reports")" "$sent" "one delivery report stored per part sent with want_report"
is "$(sql "SELECT count(*) FROM smspool.reports WHERE message_id IS NOT NULL")" "$sent" "every report matched to its message"

stop_daemon e2e10k
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
