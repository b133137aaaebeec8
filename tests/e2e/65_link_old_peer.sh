#!/usr/bin/env bash
# The native link between a peer that offers client_ids (047) and one that
# does not (SMSPOOL_LINK_CLIENT_IDS=0 makes a daemon answer as an older
# build): the session agrees on none, the client waits for its reports in
# report_wait by the server's ids, as before, and every message still ends
# delivered -- with an old server, then with an old client.  Both new: the
# client's report_wait stays empty (report_wait_by_id instead).
. "$(dirname "$0")/../lib/e2e.sh"
plan 10

e2e_db smspool_e2e_link_old_b
DB_B=$SMSPOOL_DB
sql "INSERT INTO smspool.accounts (system_id, password, report_parts) VALUES ('linkacct', 'pw', true)" || bail "account"
add_connection linkd link-server '{"listen": "127.0.0.1:0"}'
add_connection emu emulator '{"report_delay_ms": 50}'
add_route emu

e2e_db smspool_e2e_link_old_a
DB_A=$SMSPOOL_DB

# run_phase NAME N ENV_B ENV_A: B and A started with those environments, N
# messages (one of three parts) sent from A; checks they end delivered.
run_phase() {
	local name=$1 n=$2 envb=$3 enva=$4 port
	start_daemon b SMSPOOL_DB="$DB_B" $envb
	SMSPOOL_DB=$DB_B wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'linkd' AND detail LIKE 'listening on %'" ||
		bail "B's link-server does not listen: $(SMSPOOL_DB=$DB_B sql "SELECT state, detail FROM smspool.connection_state")"
	port=$(SMSPOOL_DB=$DB_B sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'linkd'")
	sql "DELETE FROM smspool.routes; DELETE FROM smspool.connections" || bail "connections"
	add_connection up link "{\"host\": \"127.0.0.1\", \"port\": $port, \"account\": \"linkacct\", \"password\": \"pw\", \"reconnect_min_ms\": 200, \"batch\": 20}" 200
	add_route up
	start_daemon a SMSPOOL_DB="$DB_A" $enva
	sql "INSERT INTO smspool.outbox (recipient, body, client_ref)
		SELECT '+1555003' || lpad(g::text, 4, '0'), CASE WHEN g = 1 THEN repeat('three parts over the link ', 16) ELSE '$name ' || g END, '$name-' || g
		FROM generate_series(1, $n) g" || bail "INSERT"
	if wait_for 60 "SELECT count(*) = $n FROM smspool.outbox WHERE client_ref LIKE '$name-%' AND status = 'delivered'"; then
		pass "$name: all $n messages end delivered in A"
	else
		fail "$name: all $n messages end delivered in A" "$(state_counts)" "$(SMSPOOL_DB=$DB_B state_counts)"
		daemon_tails
	fi
	stop_daemon a
	stop_daemon b
}

run_phase oldserver 60 SMSPOOL_LINK_CLIENT_IDS=0 ""
is "$(sql "SELECT (SELECT count(*) FROM smspool.report_wait_by_id) || '/' || (SELECT count(*) FROM smspool.reports WHERE message_id IS NULL) || '/' || (SELECT count(DISTINCT message_id) FROM smspool.reports)")" \
	"0/0/60" "an old server: no waits by id, every state matched by the server's id (report_wait)"
is "$(sql "SELECT parts FROM smspool.outbox WHERE client_ref = 'oldserver-1'")" 3 "the long message went in three parts"

run_phase oldclient 60 "" SMSPOOL_LINK_CLIENT_IDS=0
is "$(sql "SELECT (SELECT count(*) FROM smspool.report_wait_by_id) || '/' || (SELECT count(*) FROM smspool.reports WHERE message_id IS NULL) || '/' || (SELECT count(DISTINCT message_id) FROM smspool.reports)")" \
	"0/0/120" "an old client: no waits by id, every state matched by the server's id (report_wait)"
ok "$(grep -c 'event=link_state_ignored' "${DAEMON_LOG[a]}") == 0" "no state ignored"

run_phase bothnew 60 "" ""
is "$(sql "SELECT (SELECT count(*) FROM smspool.report_wait) || '/' || (SELECT count(DISTINCT x) FROM smspool.report_wait_by_id w, unnest(w.message_ids) x) || '/' || (SELECT count(*) FROM smspool.reports WHERE message_id IS NULL) || '/' || (SELECT count(DISTINCT message_id) FROM smspool.reports)")" \
	"0/60/0/180" "both new: each message waits by id, none in report_wait, every state matched"
is "$(sql "SELECT string_agg(status || ':' || array_to_string(part_status, ','), ' ') FROM smspool.outbox WHERE client_ref LIKE '%-1' ORDER BY 1")" \
	"delivered:delivered,delivered,delivered delivered:delivered,delivered,delivered delivered:delivered,delivered,delivered" \
	"the three-part message is delivered part by part, each way"
is "$(SMSPOOL_DB=$DB_B sql "SELECT count(*) FROM smspool.account_events")" 0 "B's account events are all acknowledged"
finish
