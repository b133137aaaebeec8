#!/usr/bin/env bash
# Maintenance redirect (issue 16, connections.redirect_to in sql/022_ha.sql):
# while connection A (emulator) redirects to B (loopback), every message routed
# or forced to A is sent through B, and smspool.redirected_outbound traces each
# one to A; A disabled for its maintenance still has its forced messages sent
# through B; once the redirect is cleared, A carries its traffic again.
. "$(dirname "$0")/../lib/e2e.sh"
plan 9

e2e_db smspool_e2e_ha_redirect
add_connection conna emulator '{}'
add_connection connb loopback '{}'
add_route conna
start_daemon r1
wait_for 30 "SELECT count(*) = 2 FROM smspool.connection_state WHERE state = 'up'" || bail "connections not up: $(sql 'SELECT * FROM smspool.connection_state')"

# send TAG N: N messages routed (to conna) and N forced to conna, body TAG
send() {
	sql "INSERT INTO smspool.outbox (recipient, body) SELECT '+1555100' || lpad(g::text, 4, '0'), '$1 routed' FROM generate_series(1, $2) g;
	     INSERT INTO smspool.outbox (recipient, body, connection) SELECT '+1555200' || lpad(g::text, 4, '0'), '$1 forced', 'conna' FROM generate_series(1, $2) g" ||
		bail "insert $1"
}
done_q() { echo "SELECT count(*) = $2 FROM smspool.outbox WHERE body LIKE '$1 %' AND status IN ('sent', 'delivered')"; }
used() { sql "SELECT string_agg(DISTINCT coalesce(connection_used, '-'), ',') FROM smspool.outbox WHERE body LIKE '$1 %'"; }

send before 10
wait_for 60 "$(done_q before 20)" || diag "states: $(state_counts)"
is "$(used before)" conna "before the redirect: every message went through conna"

sql "UPDATE smspool.connections SET redirect_to = 'connb' WHERE name = 'conna'" || bail "redirect"
# log_wait N REGEX: waits (30 s at most) until the daemon log has N lines matching REGEX
log_wait() {
	local end=$(($(now_ms) + 30000))
	while [ "$(grep -cE "$2" "${DAEMON_LOG[r1]}")" -lt "$1" ]; do
		[ "$(now_ms)" -lt "$end" ] || { diag "timed out waiting for $2 in the daemon log"; return 1; }
		sleep 0.1
	done
}
# the daemon applies the change on NOTIFY (and says so); then messages go
log_wait 1 'event=conn_redirect conn=conna to=connb'
send during 10
wait_for 60 "$(done_q during 20)" || diag "states: $(state_counts)"
is "$(used during)" connb "during the redirect: every message routed or forced to conna went through connb"
is "$(sql "SELECT count(DISTINCT o.id) FROM smspool.outbox o JOIN smspool.redirected_outbound r ON r.message_id = o.id
           WHERE o.body LIKE 'during %' AND r.from_connection = 'conna' AND r.to_connection = 'connb' AND r.outcome = 'sent'")" 20 \
	"each of them is traced to conna in redirected_outbound"
is "$(sql "SELECT count(*) FROM smspool.redirected_outbound r JOIN smspool.outbox o ON o.id = r.message_id WHERE o.body LIKE 'before %'")" 0 \
	"nothing sent before the redirect is traced"

sql "UPDATE smspool.connections SET enabled = false WHERE name = 'conna'" || bail "disable"
wait_for 30 "SELECT state <> 'up' FROM smspool.connection_state WHERE name = 'conna'" || diag "conna still up"
sql "INSERT INTO smspool.outbox (recipient, body, connection) SELECT '+1555300' || lpad(g::text, 4, '0'), 'maint forced', 'conna' FROM generate_series(1, 10) g" ||
	bail "insert maint"
wait_for 60 "$(done_q maint 10)" || diag "states: $(state_counts)"
is "$(used maint)/$(sql "SELECT count(*) FROM smspool.redirected_outbound r JOIN smspool.outbox o ON o.id = r.message_id WHERE o.body LIKE 'maint %' AND r.from_connection = 'conna'")" \
	"connb/10" "conna disabled for maintenance: messages forced to it go through connb, traced"

sql "UPDATE smspool.connections SET enabled = true, redirect_to = NULL WHERE name = 'conna'" || bail "clear"
log_wait 1 'event=conn_redirect_end conn=conna'
wait_for 30 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'conna'" || diag "conna not up again"
send after 10
wait_for 60 "$(done_q after 20)" || diag "states: $(state_counts)"
is "$(used after)" conna "after the redirect is cleared: conna carries its traffic again"

is "$(sql "SELECT count(*) FROM smspool.outbox WHERE status NOT IN ('sent', 'delivered')")" 0 "no message failed or was left behind"
like "$(sql "UPDATE smspool.connections SET redirect_to = 'conna' WHERE name = 'conna'" 2>&1)" "connections_redirect_not_self" \
	"a connection cannot redirect to itself"
stop_daemon r1
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
finish
