#!/usr/bin/env bash
# Per-part and intermediate states over the link: a 3-part text goes
# A -> link -> B -> emulator (reports after a delay).  A records one remote id
# per part ("<B's id>/<part>"); when B has sent it, A's parts show "sent";
# an intermediate report of B's second part (enroute, recorded on B as a
# receipt would) reaches A's second part; the emulator's final reports end
# every part, and the message, delivered in A (the account has report_parts).  A link client that does not
# ask for part states (an older one) is tested by 65_link_basic (single-part
# rows keep B's id as their one remote id).
. "$(dirname "$0")/../lib/e2e.sh"
plan 7

e2e_db smspool_e2e_link_parts_b
DB_B=$SMSPOOL_DB
sql "INSERT INTO smspool.accounts (system_id, password, report_parts) VALUES ('partacct', 'pw', true)" || bail "account"
add_connection linkd link-server '{"listen": "127.0.0.1:0"}'
add_connection emu emulator '{"report_delay_ms": 20000}'
add_route emu
start_daemon b SMSPOOL_DB="$DB_B"
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'linkd'" ||
	bail "B's link-server does not listen: $(sql "SELECT state, detail FROM smspool.connection_state")"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'linkd'")

e2e_db smspool_e2e_link_parts_a
DB_A=$SMSPOOL_DB
add_connection up link "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"account\": \"partacct\", \"password\": \"pw\", \"reconnect_min_ms\": 200}" 100
add_route up
start_daemon a SMSPOOL_DB="$DB_A"
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'up'" ||
	bail "A's link is not up: $(sql "SELECT state, detail FROM smspool.connection_state")"

# 400 GSM characters: 3 parts of 153
sql "INSERT INTO smspool.outbox (recipient, body, want_report) VALUES ('+15550007001', repeat('abcdefghij', 40), true)" || bail "INSERT"
if SMSPOOL_DB=$DB_B wait_for 60 "SELECT status = 'sent' AND cardinality(remote_ids) = 3 FROM smspool.outbox WHERE account = 'partacct'"; then
	pass "B sends the text in 3 parts"
else
	fail "B sends the text in 3 parts" "$(SMSPOOL_DB=$DB_B sql "SELECT status, parts, remote_ids FROM smspool.outbox")"
fi
BID=$(SMSPOOL_DB=$DB_B sql "SELECT id FROM smspool.outbox WHERE account = 'partacct'")
is "$(sql "SELECT parts || ' ' || array_to_string(remote_ids, ',') FROM smspool.outbox")" "3 $BID/1,$BID/2,$BID/3" \
	"A records one remote id per part: B's id and the part"
if wait_for 30 "SELECT status = 'sent' AND part_status = '{sent,sent,sent}' FROM smspool.outbox"; then
	pass "A's parts show sent once B has sent them"
else
	fail "A's parts show sent once B has sent them" "$(sql "SELECT status, part_status FROM smspool.outbox")"
fi
SMSPOOL_DB=$DB_B sql "SELECT count(*) FROM smspool.record_reports(ARRAY['emu'], ARRAY[(SELECT remote_ids[2] FROM smspool.outbox WHERE account = 'partacct')], ARRAY['enroute'], ARRAY[NULL::text], ARRAY[NULL::text])" >/dev/null ||
	bail "record_reports on B"
if wait_for 30 "SELECT status = 'sent' AND part_status = '{sent,enroute,sent}' FROM smspool.outbox"; then
	pass "an intermediate report of B's second part reaches A's second part"
else
	fail "an intermediate report of B's second part reaches A's second part" "$(sql "SELECT status, part_status FROM smspool.outbox")" \
		"$(SMSPOOL_DB=$DB_B sql "SELECT status, part_status FROM smspool.outbox")"
fi
if wait_for 90 "SELECT status = 'delivered' AND part_status = '{delivered,delivered,delivered}' FROM smspool.outbox"; then
	pass "the final reports end every part, and the message, delivered in A"
else
	fail "the final reports end every part, and the message, delivered in A" "$(sql "SELECT status, part_status FROM smspool.outbox")" \
		"$(SMSPOOL_DB=$DB_B sql "SELECT status, part_status FROM smspool.outbox")"
	daemon_tails
fi
is "$(sql "SELECT count(*) FROM smspool.reports WHERE message_id IS NULL")" 0 "A holds no unmatched report"
stop_daemon a
stop_daemon b
is "$DAEMON_STATUS" 0 "daemon B exits 0"
finish
