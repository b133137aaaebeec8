#!/usr/bin/env bash
# Fault suite 8 (issue 9): an SMSC whose submit_sm_resp carries a message id
# with a byte that is not UTF-8.  Before, the store's batch statement failed
# on that byte, was dropped after three tries, and every message of the
# connection was sent again when its lease ended.  Now peer strings are made
# valid UTF-8 at the core's boundary: every message is recorded as sent, once,
# with the byte escaped in its remote id, and none is sent again, also after
# several lease periods (lease_s 2 here).
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/reconcile.sh"

N=300
plan 6

smsc_start "$E2E_TMP/smsc" '"ids": "poison", "log_lean": true, "log_skip": ["rx", "enquire_link"]'
e2e_db smspool_e2e_fault_poison
sql "UPDATE smspool.config SET value = '2' WHERE key = 'lease_s'" || bail "config"
add_connection smsc smpp "$(smpp_settings)" 20
add_route smsc
start_daemon poison
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'smsc'" || bail "no bind"

sql "INSERT INTO smspool.outbox (recipient, body, client_ref, want_report)
     SELECT '+1555' || lpad(g::text, 7, '0'), 'poison ' || g, 'p' || g, false FROM generate_series(1, $N) g" || bail "insert"
if wait_for 60 "SELECT count(*) = $N FROM smspool.outbox WHERE client_ref LIKE 'p%' AND status = 'sent'"; then
	pass "all $N messages are recorded as sent"
else
	fail "all $N messages are recorded as sent" "$(sql "SELECT string_agg(status || '=' || n, ' ') FROM (SELECT status, count(*) n FROM smspool.outbox GROUP BY status) s")"
fi
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE client_ref LIKE 'p%' AND remote_ids[1] LIKE '%\\xFF'")" "$N" \
	"each remote id keeps the bad byte, escaped as \\xFF"
# A dropped batch would show after its lease (2 s): its messages are claimed
# and submitted again.  Wait five lease periods for a submit beyond N.
submits() { grep -c '"ev":"submit"' "$SMSC_LOG"; }
end=$(($(now_ms) + 10000))
while [ "$(submits)" -le "$N" ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.2; done
is "$(submits)" "$N" "the SMSC received each message exactly once, after five lease periods"
is "$(grep -c 'store_write_dropped\|store_result_refused' "${DAEMON_LOG[poison]}")" 0 "the store dropped or degraded nothing"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE client_ref LIKE 'p%' AND attempts <> 1")" 0 "every message took one attempt"
stop_daemon poison
is "$DAEMON_STATUS" 0 "the daemon stops cleanly"
finish
