#!/usr/bin/env bash
# Status reports that the modem keeps in a memory of their own: with
# `"cnmi": "2,1,0,2,0"` the emulator (quirk sr-memory) stores each report in
# "SR" and says +CDSI: "SR",n.  The driver switches AT+CPMS to "SR" for the
# read and the delete and back, so that the messages become `delivered`,
# each report is deleted from "SR" after its commit, and a text stored in
# "SM" meanwhile is read and deleted from "SM" — never the other way round.
# Reports stored in "SR" while no daemon runs are found by the AT+CMGL sweep
# of "SR" (setting report_storage) at the next start.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/modem.sh"
plan 7
trap 'stop_all_modems; _e2e_cleanup' EXIT

start_modem r --quirks sr-memory --report-delay 2
e2e_db smspool_e2e_at_reports
# A modem is an exclusive connection (one daemon at a time, through a lease):
# the daemon started after the kill takes it over once the dead one's lease
# ends, 2/3 of lease_s.
sql "UPDATE smspool.config SET value = '6' WHERE key = 'lease_s'" || bail "config"
add_connection modem at "{\"port\": \"$E2E_TMP/r.tty\", \"cnmi\": \"2,1,0,2,0\", \"report_storage\": \"SR\", \"command_timeout_ms\": 3000, \"sweep_s\": 3, \"reconnect_min_ms\": 200}"
add_route modem
start_daemon r1
wait_for 30 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'modem'" ||
	bail "the at connection did not come up: $(sql "SELECT state, detail FROM smspool.connection_state")"

sql "INSERT INTO smspool.outbox (recipient, body) SELECT '+4477009004' || lpad(i::text, 2, '0'), 'report ' || i
       FROM generate_series(1, 3) i" || bail "INSERT failed"
modem_ctl r '{"op": "inject", "from": "+441632960401", "text": "in SM while reports go to SR"}'
if wait_for 40 "SELECT count(*) = 3 FROM smspool.outbox WHERE status = 'delivered'"; then
	pass "three messages delivered through reports kept in SR (+CDSI: \"SR\",n)"
else
	fail "three messages delivered through reports kept in SR (+CDSI: \"SR\",n)" "states: $(state_counts)"
fi
if wait_for 20 "SELECT count(*) = 1 FROM smspool.inbox WHERE body = 'in SM while reports go to SR'"; then
	pass "the text stored in SM reaches the inbox"
else
	fail "the text stored in SM reaches the inbox"
fi
if wait_modem r 15 'sum(e["ev"] == "deleted" and e["mem"] == "SR" for e in ev) == 3'; then
	pass "each report is deleted from SR after its commit"
else
	fail "each report is deleted from SR after its commit" "$(grep deleted "$E2E_TMP/r.ev")"
fi
wait_modem r 15 'sum(e["ev"] == "deleted" and e["mem"] == "SM" for e in ev) >= 1'
is "$(modem_py r '[(e["mem"], e["index"]) for e in ev if e["ev"] == "deleted" and e["mem"] == "SM"]')" "[('SM', 1)]" \
	"the text is deleted from SM, and nothing else is"

# Two more sent, the daemon killed before their reports come.
sql "INSERT INTO smspool.outbox (recipient, body) VALUES ('+447700900411', 'report 11'), ('+447700900412', 'report 12')"
wait_modem r 30 'sum(e["ev"] == "sent" for e in ev) >= 5' || diag "the last two were not sent"
kill_daemon r1
wait_modem r 20 'sum(e["ev"] == "report_stored" and e["mem"] == "SR" for e in ev) >= 5' || diag "no reports stored in SR"
start_daemon r2
if wait_for 40 "SELECT count(*) = 5 FROM smspool.outbox WHERE status = 'delivered'"; then
	pass "reports stored in SR while no daemon ran are found by the sweep of SR at start"
else
	fail "reports stored in SR while no daemon ran are found by the sweep of SR at start" "states: $(state_counts)"
fi
if wait_modem r 15 'sum(e["ev"] == "deleted" and e["mem"] == "SR" for e in ev) >= 5'; then
	pass "and deleted from SR after their commit"
else
	fail "and deleted from SR after their commit" "$(grep deleted "$E2E_TMP/r.ev")"
fi
stop_daemon r2
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
