#!/usr/bin/env bash
# The `at` connection against a misbehaving modem (tests/peers/modem_emu.py
# quirks and control operations): URCs in the middle of answers, echo that
# stays on after ATE0, +CMS ERROR 500 on the first send, status reports
# without the SMSC field, a SIM that holds 3 texts, a modem that stops
# answering, answers garbage, is unplugged and comes back, and restarts.
# Nothing is lost: every message is sent and delivered (reports stored by the
# modem, found by the sweep after it was away), every injected text is in
# the inbox exactly once, and the SIM is empty at the end.  Then a wrong PIN
# stops a second connection for good: the PIN is tried once, never again.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/modem.sh"
plan 11
trap 'stop_all_modems; _e2e_cleanup' EXIT

start_modem q --quirks urc-in-answer,echo-sticky,cms500-once,cds-no-smsc,full-sim
e2e_db smspool_e2e_at_quirks
add_connection modem at "{\"port\": \"$E2E_TMP/q.tty\", \"command_timeout_ms\": 1500, \"send_timeout_ms\": 3000, \"sweep_s\": 2, \"status_s\": 1, \"reconnect_min_ms\": 200, \"reconnect_max_ms\": 1000}" 4
add_route modem
start_daemon q1
wait_for 30 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'modem'" ||
	bail "the at connection did not come up: $(sql "SELECT state, detail FROM smspool.connection_state")"
pass "up through echo that stays on and URCs inside answers"

# msgs FROM TO: outbox rows +44770090020FROM..TO.
msgs() {
	sql "INSERT INTO smspool.outbox (recipient, body) SELECT '+4477009002' || lpad(i::text, 2, '0'), 'quirk ' || i
	       FROM generate_series($1, $2) i" || bail "INSERT failed"
}
inject() { modem_ctl q "{\"op\": \"inject\", \"from\": \"+44163296010$1\", \"text\": \"inbound $1\"}"; }
# inits N: the driver has started the modem N times (ATE0 seen N times).
inits() { wait_modem q 40 "sum(e['ev'] == 'cmd' and e['line'] == 'ATE0' for e in ev) >= $1"; }

msgs 1 4
inject 1
inject 2
wait_modem q 30 'sum(e["ev"] == "sent" for e in ev) >= 4' || diag "phase 1: no sends"
# Line noise, then silence: the driver times out, reopens, starts again.
msgs 5 8
modem_ctl q '{"op": "garbage"}'
modem_ctl q '{"op": "silence", "seconds": 3}'
inject 3
inits 2 || diag "no restart after the silence"
wait_modem q 30 'sum(e["ev"] == "sent" for e in ev) >= 8' || diag "phase 2: no sends"
# Unplugged, back under the same name a second later.
modem_ctl q '{"op": "unplug", "seconds": 1}'
inject 4
inits 3 || diag "no restart after the unplug"
msgs 9 12
inject 5
wait_modem q 30 'sum(e["ev"] == "sent" for e in ev) >= 12' || diag "phase 3: no sends"
# A restart of the modem (RDY): it forgot CNMI and echo; the driver starts it again.
modem_ctl q '{"op": "reboot"}'
inits 4 || diag "no restart after RDY"
inject 6
inject 7

# With the default cnmi (2,1,0,2,0) the modem stores each status report
# (+CDSI) and the sweep at every start finds those that came while it was
# unplugged or restarting: every message is delivered, none is left `sent`.
if wait_for 90 "SELECT count(*) = 12 FROM smspool.outbox WHERE status = 'delivered'"; then
	pass "all twelve messages sent through every quirk, every report delivered"
else
	fail "all twelve messages sent through every quirk, every report delivered" "states: $(state_counts)"
fi
is "$(modem_count q refused)" 1 "the first AT+CMGS got +CMS ERROR 500 (temporary: retried)"
ok "$(modem_count q ignored) > 0" "the modem did stop answering for a while"
if wait_for 60 "SELECT count(*) = 7 FROM smspool.inbox WHERE connection = 'modem'"; then
	pass "seven inbound texts stored (through a SIM that holds three)"
else
	fail "seven inbound texts stored (through a SIM that holds three)" "$(sql "SELECT sender, body FROM smspool.inbox")"
fi
is "$(sql "SELECT count(DISTINCT body) FROM smspool.inbox WHERE body LIKE 'inbound %'")" 7 "each of them exactly once"
if wait_modem q 20 'sum(e["ev"] == "deleted" for e in ev) >= sum(e["ev"] == "stored" for e in ev) == 7'; then
	pass "every stored text was deleted from the SIM after its commit"
else
	fail "every stored text was deleted from the SIM after its commit"
fi
like "$(sql "SELECT detail FROM smspool.connection_state WHERE name = 'modem'")" 'imsi=001010123456789 imei=490154203237518' \
	"after every restart the answers still match their commands (IMSI and IMEI right)"
stop_daemon q1

# A wrong PIN: entered once, then the connection stays down.
start_modem p --pin 1234
sql "DELETE FROM smspool.routes; DELETE FROM smspool.connections"
add_connection pinned at "{\"port\": \"$E2E_TMP/p.tty\", \"pin\": \"9999\", \"command_timeout_ms\": 1500, \"reconnect_min_ms\": 100, \"reconnect_max_ms\": 200}"
start_daemon q2
if wait_for 30 "SELECT state = 'down' AND detail LIKE 'wrong PIN%' FROM smspool.connection_state WHERE name = 'pinned'"; then
	pass "a wrong PIN stops the connection with a clear state"
else
	fail "a wrong PIN stops the connection with a clear state" "$(sql "SELECT state, detail FROM smspool.connection_state")"
fi
sleep 2 # the reconnect delay is 0.1-0.2 s: a retry would have happened by now
is "$(modem_count p wrong_pin)" 1 "the PIN was tried once, never again"
stop_daemon q2
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
