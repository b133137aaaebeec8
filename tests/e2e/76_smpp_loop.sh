#!/usr/bin/env bash
# Our SMPP client against our SMPP server: daemon A (database A) has a
# connection of type smpp bound to daemon B's smpp-server connection
# (database B, account loopacct), whose messages go to an emulator.  A
# message inserted into A's outbox becomes an outbox row of loopacct in B;
# the emulator's report comes back to A as a delivery receipt, so the
# message ends delivered in A with B's outbox id as its remote id.  A long
# text, sent by A in two UDH parts, is joined by B into one row; A gets the
# per-part ids "<B id>-1", "<B id>-2" and a receipt for each.
. "$(dirname "$0")/../lib/e2e.sh"
plan 9

e2e_db smspool_e2e_smpp_loop_b
DB_B=$SMSPOOL_DB
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('loopacct', 'pw')" || bail "account"
add_connection smppd smpp-server '{"listen": "127.0.0.1:0", "interface_version": "5.0"}'
add_connection emu emulator '{"report_delay_ms": 200}'
add_route emu
start_daemon b SMSPOOL_DB="$DB_B"
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'smppd'" ||
	bail "B's smpp-server does not listen: $(sql "SELECT state, detail FROM smspool.connection_state")"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'smppd'")
diag "daemon B's smpp-server on 127.0.0.1:$PORT"

e2e_db smspool_e2e_smpp_loop_a
DB_A=$SMSPOOL_DB
add_connection up smpp "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"system_id\": \"loopacct\", \"password\": \"pw\", \"interface_version\": \"5.0\", \"reconnect_min_ms\": 200}"
add_route up
start_daemon a SMSPOOL_DB="$DB_A"
if wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'up'"; then
	pass "A's smpp connection binds to B's smpp-server"
else
	fail "A's smpp connection binds to B's smpp-server" "$(sql "SELECT state, detail FROM smspool.connection_state")"
fi

LONG=$(printf 'Loop text %03d. ' $(seq 1 12)) # 12 x 15 = 180 characters: two parts
sql "INSERT INTO smspool.outbox (recipient, sender, body) VALUES
	('+15550001001', 'LoopA', 'Hello through two daemons'),
	('+15550001002', '+4930123456', 'Grüße 😀'),
	('+15550001003', NULL, '$LONG')" || bail "INSERT"
if wait_for 30 "SELECT count(*) = 3 FROM smspool.outbox WHERE status = 'delivered'"; then
	pass "all three messages end delivered in A (by B's receipts)"
else
	fail "all three messages end delivered in A (by B's receipts)" "$(sql "SELECT recipient, status, error_text FROM smspool.outbox")"
fi
A_ROWS=$(sql "SELECT recipient || '|' || array_to_string(remote_ids, ',') FROM smspool.outbox ORDER BY recipient")
B_ROWS=$(SMSPOOL_DB=$DB_B sql "SELECT recipient || '|' || CASE WHEN body = '$LONG' THEN id || '-1,' || id || '-2' ELSE id::text END FROM smspool.outbox WHERE account = 'loopacct' ORDER BY recipient")
is "$A_ROWS" "$B_ROWS" "A's remote ids are B's outbox ids of account loopacct (the long text: one B row, an id per part)"
is "$(SMSPOOL_DB=$DB_B sql "SELECT sender || '|' || body FROM smspool.outbox WHERE recipient = '+15550001001'")" \
	"LoopA|Hello through two daemons" "B's row keeps sender and text"
is "$(SMSPOOL_DB=$DB_B sql "SELECT sender || '|' || encoding || '|' || body FROM smspool.outbox WHERE recipient = '+15550001002'")" \
	"+4930123456|ucs2|Grüße 😀" "UCS-2 text arrives in B as UCS-2"
is "$(SMSPOOL_DB=$DB_B sql "SELECT count(*) || '|' || min(body) FROM smspool.outbox WHERE recipient = '+15550001003'")" \
	"1|$LONG" "the long text's two parts are one row in B, with the whole text"
is "$(SMSPOOL_DB=$DB_B sql "SELECT count(*) FILTER (WHERE status = 'delivered') || '/' || count(*) FROM smspool.outbox WHERE account = 'loopacct'")" \
	"3/3" "every B row delivered"
stop_daemon a
is "$DAEMON_STATUS" 0 "daemon A exits 0"
stop_daemon b
is "$DAEMON_STATUS" 0 "daemon B exits 0"
finish
