#!/usr/bin/env bash
# Receipt ids across a restart (issue 17): the SMSC (tests/peers/smsc.js)
# answers submit_sm with hexadecimal ids and writes receipts with the id in
# decimal, text only (no TLV), and the connection says nothing about it
# (receipt_ids "auto").  The daemon that sent the messages stops before any
# receipt comes; another daemon binds later and gets the receipts the SMSC
# kept -- with no id of its own seen, it cannot translate them, and the
# database matches the decimal form to the hexadecimal one: every message
# ends delivered.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/reconcile.sh"

N=20
plan 4

smsc_start "$E2E_TMP/smsc" '"receipts": {"delay_ms": 5000, "tlv": "none", "text_id": "decimal"}'
trap 'kill $SMSC_PID 2>/dev/null; _e2e_cleanup' EXIT
e2e_db smspool_e2e_smpp_receipt_ids
add_connection smsc smpp "$(smpp_settings)" 20
add_route smsc
start_daemon d1
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'smsc'" || bail "no bind"
fault_insert r "$N"
wait_for 30 "SELECT count(*) = $N FROM smspool.outbox WHERE client_ref LIKE 'r%' AND status = 'sent'" ||
	bail "not sent: $(sql "SELECT status, count(*) FROM smspool.outbox GROUP BY 1")"
stop_daemon d1
is "$DAEMON_STATUS" 0 "the first daemon sent every message and stopped before the receipts"
STOPPED=$(sql "SELECT now()")
is "$(sql "SELECT count(*) FROM smspool.reports")" 0 "no receipt came to it"

start_daemon d2
if wait_for 60 "SELECT count(*) = $N FROM smspool.outbox WHERE client_ref LIKE 'r%' AND status = 'delivered'"; then
	pass "another daemon gets the receipts with decimal ids: every message delivered"
else
	fail "another daemon gets the receipts with decimal ids: every message delivered" \
		"$(sql "SELECT status, count(*) FROM smspool.outbox GROUP BY 1; SELECT remote_id, message_id FROM smspool.reports LIMIT 5")"
fi
is "$(sql "SELECT count(*) FILTER (WHERE r.remote_id <> ALL (o.remote_ids)) || '/' || count(*) FROM smspool.reports r
	JOIN smspool.outbox o ON o.id = r.message_id WHERE r.received_at > '$STOPPED'")" "$N/$N" \
	"each was received after the restart, in another form than the stored id, and matched"
stop_daemon d2
finish
