#!/usr/bin/env bash
# Fault suite 5: the delivery report arrives before the submit_sm_resp.  The
# SMSC (tests/peers/smsc.js, "early_receipts") sends the receipt deliver_sm
# first and answers the submit_sm only once the daemon has answered that
# deliver_sm, i.e. once the report is committed -- unmatched, since no row
# knows the remote id yet.  The daemon must match it when it records the
# result: every message ends delivered.
#   A. receipts carrying receipted_message_id (the id as submit_sm_resp gives it)
#   B. receipts with the id only in the text, in decimal while submit_sm_resp
#      gives hex (a common SMSC habit, handled by 70 when the receipt comes
#      after the response), on a connection that has not seen a response yet
#      -- as after a restart, when the SMSC delivers the receipts it kept.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/reconcile.sh"

N=${FAULT_N:-300}
fault_small && N=${FAULT_N:-100}
NB=50
plan $((RECON_TESTS + 4))

smsc_start "$E2E_TMP/smsc" '"receipts": {"delay_ms": 10, "tlv": "all"}, "early_receipts": {"dest_prefix": "1555"}'
SMSC_A_LOG=$SMSC_LOG SMSC_A_PORT=$SMSC_PORT SMSC_A_PID=$SMSC_PID
smsc_start "$E2E_TMP/smsc-b" '"receipts": {"delay_ms": 10, "tlv": "none", "text_id": "decimal"}, "early_receipts": {"dest_prefix": "1555"}'
SMSC_B_LOG=$SMSC_LOG SMSC_B_PORT=$SMSC_PORT SMSC_B_PID=$SMSC_PID
trap 'kill $SMSC_A_PID $SMSC_B_PID 2>/dev/null; _e2e_cleanup' EXIT

e2e_db smspool_e2e_fault_early
SMSC_PORT=$SMSC_A_PORT
add_connection smsc smpp "$(smpp_settings)" 20
SMSC_PORT=$SMSC_B_PORT
# The SMSC gives hex ids in responses and decimal ones in receipt texts:
# said once in the settings, the ids match from the first receipt on.
add_connection textid smpp "$(smpp_settings '"receipt_ids": "dec2hex"')" 20
add_route smsc
start_daemon fe
wait_for 20 "SELECT count(*) = 2 FROM smspool.connection_state WHERE state = 'up'" || bail "no bind: $(sql 'SELECT name, state, detail FROM smspool.connection_state')"

# --- A ------------------------------------------------------------------
fault_insert e "$N"
RECON_SCOPE='e%' reconcile "A: receipts before responses" "$SMSC_A_LOG" "$N" 0 60
SMSC_LOG=$SMSC_A_LOG
early=$(smsc_q 'L.filter((e) => e.ev === "early_resp" && e.why === "answered 0").length')
is "$early" "$N" "A: for each message the SMSC had the receipt acknowledged before it sent the submit_sm_resp"
is "$(sql "SELECT count(*) FROM smspool.outbox o JOIN smspool.reports r ON r.message_id = o.id
           WHERE o.client_ref LIKE 'e%' AND r.received_at < o.sent_at AND r.matched_at >= o.sent_at AND r.state = 'delivered'")" "$N" \
	"A: each report was stored unmatched before the result, matched when the result was recorded"

# --- B ------------------------------------------------------------------
sql "INSERT INTO smspool.outbox (recipient, body, client_ref, connection)
     SELECT '+1555' || lpad(g::text, 7, '0'), 'fault b' || g, 'b' || g, 'textid' FROM generate_series(1, $NB) g" || bail "INSERT"
SMSC_LOG=$SMSC_B_LOG
wait_smsc_b() {
	local end=$(($(now_ms) + 20000))
	while [ "$(smsc_q 'L.filter((e) => e.ev === "early_resp").length')" -lt "$NB" ]; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.2
	done
}
wait_smsc_b || diag "B: the SMSC answered only $(smsc_q 'L.filter((e) => e.ev === "early_resp").length') of $NB submits"
wait_for 10 "SELECT count(*) = $NB FROM smspool.outbox WHERE client_ref LIKE 'b%' AND status = 'delivered'"
diag "B: $(sql "SELECT string_agg(status || '=' || n, ' ') FROM (SELECT status, count(*) n FROM smspool.outbox WHERE client_ref LIKE 'b%' GROUP BY 1) s"); unmatched reports: $(sql "SELECT count(*) || ' e.g. ' || coalesce(min(remote_id), '') FROM smspool.reports WHERE message_id IS NULL AND connection = 'textid'")"
ok "$(sql "SELECT count(*) FROM smspool.outbox WHERE client_ref LIKE 'b%' AND status = 'delivered'") == $NB" \
	"B: receipts with a decimal id in the text only, before any response on the connection (receipt_ids dec2hex): all $NB delivered"

stop_daemon fe
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
