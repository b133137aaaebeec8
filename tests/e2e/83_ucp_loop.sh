#!/usr/bin/env bash
# Our EMI/UCP client against our EMI/UCP server: daemon A (database A) has a
# connection of type ucp logged in (op 60) to daemon B's ucp-server (database
# B, account loopacct), whose messages go to an emulator.  Messages inserted
# into A's outbox (an alphanumeric sender, a two-part UCS-2 text, a two-part
# GSM text) become outbox rows of loopacct in B, one per message (B joins
# the parts); B's op 53 notifications, one per part, come back to A, so they
# end delivered in A with AdC:SCTS remote ids, a different one per part.  A
# row's valid_until and priority 9 reach B as VP and PR (valid_until to the
# minute, priority 9), its report request as NRq.  A
# two-part UCS-2 text routed in B to loopacct goes to A as two op 52 and is
# joined into one inbox row of A.  A's connection has a window of 20 over
# 2 TRNs: twelve more messages, a third of them two-part, wait in the
# client's held queue and all end delivered.
. "$(dirname "$0")/../lib/e2e.sh"
plan 14

e2e_db smspool_e2e_ucp_loop_b
DB_B=$SMSPOOL_DB
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('loopacct', 'pw')" || bail "account"
add_connection ucpd ucp-server '{"listen": "127.0.0.1:0"}'
add_connection emu emulator '{"report_delay_ms": 200}'
add_connection lo loopback '{}'
add_route emu
sql "INSERT INTO smspool.inbound_routes (position, connection, account) VALUES (1, 'lo', 'loopacct')" || bail "inbound route"
start_daemon b SMSPOOL_DB="$DB_B"
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'ucpd'" ||
	bail "B's ucp-server does not listen: $(sql "SELECT state, detail FROM smspool.connection_state")"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'ucpd'")
diag "daemon B's ucp-server on 127.0.0.1:$PORT"

e2e_db smspool_e2e_ucp_loop_a
DB_A=$SMSPOOL_DB
add_connection up ucp "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"login\": \"loopacct\", \"password\": \"pw\", \"reconnect_min_ms\": 200, \"keepalive_s\": 2, \"window\": 2}" 20
add_route up
start_daemon a SMSPOOL_DB="$DB_A"
if wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'up'"; then
	pass "A's ucp connection logs in to B's ucp-server"
else
	fail "A's ucp connection logs in to B's ucp-server" "$(sql "SELECT state, detail FROM smspool.connection_state")"
fi

LONG=$(printf 'Loop text %03d. ' $(seq 1 12)) # 12 x 15 = 180 characters: two parts
UCS=$(printf 'Привет, мир %02d! ' $(seq 1 6)) # 6 x 16 = 96 UCS-2 characters: two parts
sql "INSERT INTO smspool.outbox (recipient, sender, body) VALUES
	('+15550001001', 'LoopA', 'Hello through two daemons'),
	('+15550001002', '+4930123456', '$UCS'),
	('+15550001003', NULL, '$LONG')" || bail "INSERT"
sql "INSERT INTO smspool.outbox (recipient, body, valid_until, priority) VALUES
	('+15550001004', 'Valid and urgent', now() + interval '2 days', 9)" || bail "INSERT"
if wait_for 30 "SELECT count(*) = 4 FROM smspool.outbox WHERE status = 'delivered'"; then
	pass "all four messages end delivered in A (by B's op 53 notifications)"
else
	fail "all four messages end delivered in A (by B's op 53 notifications)" "$(sql "SELECT recipient, status, error_text FROM smspool.outbox")"
fi
is "$(sql "SELECT string_agg(recipient || ':' || cardinality(remote_ids), ',' ORDER BY recipient) FROM smspool.outbox")" \
	"+15550001001:1,+15550001002:2,+15550001003:2,+15550001004:1" "one remote id per part in A"
is "$(sql "SELECT count(DISTINCT r) FROM smspool.outbox, unnest(remote_ids) r")" 6 "all 6 remote ids differ"
like "$(sql "SELECT remote_ids[1] FROM smspool.outbox WHERE recipient = '+15550001001'")" '^0015550001001:[0-9]{12}$' \
	"a remote id is AdC:SCTS"
is "$(SMSPOOL_DB=$DB_B sql "SELECT sender || '|' || body FROM smspool.outbox WHERE recipient = '+15550001001'")" \
	"LoopA|Hello through two daemons" "B's row keeps the alphanumeric sender (OTOA 5039) and the text"
is "$(SMSPOOL_DB=$DB_B sql "SELECT count(*) || '|' || min(sender) || '|' || min(encoding) || '|' || min(parts) || '|' || min(body) FROM smspool.outbox WHERE recipient = '+15550001002'")" \
	"1|+4930123456|ucs2|2|$UCS" "the 2 UCS-2 parts are joined in B into one UCS-2 row"
is "$(SMSPOOL_DB=$DB_B sql "SELECT count(*) FILTER (WHERE status = 'delivered') || '/' || count(*) FROM smspool.outbox WHERE account = 'loopacct'")" \
	"4/4" "every B row delivered (one per message)"
VALID_A=$(sql "SELECT extract(epoch FROM date_trunc('minute', valid_until))::bigint FROM smspool.outbox WHERE recipient = '+15550001004'")
is "$(SMSPOOL_DB=$DB_B sql "SELECT extract(epoch FROM valid_until)::bigint || '|' || priority || '|' || want_report FROM smspool.outbox WHERE recipient = '+15550001004'")" \
	"$VALID_A|9|true" "valid_until (VP, to the minute), priority 9 (PR) and the report (NRq) reach B's row"

# The connection's window (20: slots until the result is committed) over the
# TRN window (2): what exceeds the TRNs waits in the client, two-part ones too.
sql "INSERT INTO smspool.outbox (recipient, body)
	SELECT '+1555000' || (2000 + g), CASE WHEN g % 3 = 0 THEN '$LONG' ELSE 'Short ' || g END
	FROM generate_series(1, 12) g" || bail "INSERT 12"
if wait_for 60 "SELECT count(*) = 12 FROM smspool.outbox WHERE recipient LIKE '+155500020%' AND status = 'delivered'"; then
	pass "12 messages over a window of 20 and 2 TRNs end delivered"
else
	fail "12 messages over a window of 20 and 2 TRNs end delivered" "$(sql "SELECT status, count(*) FROM smspool.outbox GROUP BY 1")"
fi
is "$(sql "SELECT sum(cardinality(remote_ids)) FROM smspool.outbox WHERE recipient LIKE '+155500020%'")" 16 \
	"each of their 16 parts has its remote id"

# Inbound: B's loopback returns a long UCS-2 text from the recipient, routed to loopacct.
SMSPOOL_DB=$DB_B sql "INSERT INTO smspool.outbox (recipient, sender, body, connection) VALUES
	('+4915110000001', '12345', '$UCS', 'lo')" || bail "INSERT inbound"
if wait_for 30 "SELECT count(*) = 1 FROM smspool.inbox"; then
	is "$(sql "SELECT sender || '|' || recipient || '|' || parts || '|' || encoding || '|' || body FROM smspool.inbox")" \
		"+4915110000001|12345|2|ucs2|$UCS" "two op 52 with a UDH in XSer are joined into one inbox row of A"
else
	fail "two op 52 with a UDH in XSer are joined into one inbox row of A" "$(sql "SELECT * FROM smspool.inbox")"
fi
stop_daemon a
is "$DAEMON_STATUS" 0 "daemon A exits 0"
stop_daemon b
is "$DAEMON_STATUS" 0 "daemon B exits 0"
finish
