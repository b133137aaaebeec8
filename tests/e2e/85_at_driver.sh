#!/usr/bin/env bash
# The `at` connection against our GSM modem emulator (tests/peers/modem_emu.py,
# itself checked with Gammu and smstools in 85_at_peers.sh): outbox rows go
# out with AT+CMGS (a two-part text as two PDUs with a concatenation UDH),
# the emulator's status reports (stored, +CDSI) make them `delivered`; texts stored
# on the SIM (+CMTI, and one left there before the start, found by the
# AT+CMGL sweep) reach the inbox, a long one joined, and are deleted only
# after that; `smspool status` data (IMEI, IMSI, operator, signal) is in the
# connection state.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/modem.sh"
plan 11
trap 'stop_all_modems; _e2e_cleanup' EXIT

start_modem m1
modem_ctl m1 '{"op": "inject", "from": "+441632960001", "text": "left on the SIM before the start"}'
wait_modem m1 10 'any(e["ev"] == "stored" for e in ev)' || bail "the emulator did not store the first text"

e2e_db smspool_e2e_at_driver
add_connection modem at "{\"port\": \"$E2E_TMP/m1.tty\", \"command_timeout_ms\": 3000, \"sweep_s\": 3, \"status_s\": 2, \"reconnect_min_ms\": 200, \"reconnect_max_ms\": 1000}" 4
add_route modem
start_daemon a1
if wait_for 30 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'modem'"; then
	pass "the at connection comes up"
else
	bail "the at connection did not come up: $(sql "SELECT state, detail FROM smspool.connection_state")"
fi
out=$("$SMSPOOL_BIN" status 2>&1)
like "$out" 'a1: .*csq=17 creg=1 operator="Emu Net" imsi=001010123456789 imei=490154203237518' \
	"smspool status shows the modem's signal, registration, operator, IMSI and IMEI" || diag "$out"

LONG=$(printf 'Long text %.0s' $(seq 1 20)) # 200 characters: two parts
sql "INSERT INTO smspool.outbox (recipient, body) SELECT '+4477009001' || lpad(i::text, 2, '0'), 'hello ' || i
       FROM generate_series(1, 4) i;
     INSERT INTO smspool.outbox (recipient, body) VALUES ('+447700900199', '$LONG'),
       ('+447700900198', 'Grüße, Привет')" || bail "INSERT failed"
if wait_for 60 "SELECT count(*) = 6 FROM smspool.outbox WHERE status = 'delivered'"; then
	pass "six messages delivered (status reports matched by TP-MR and recipient)"
else
	fail "six messages delivered (status reports matched by TP-MR and recipient)" "states: $(state_counts)"
fi
is "$(modem_count m1 sent)" 7 "seven PDUs went to the modem (the long text in two parts)"
is "$(modem_py m1 'sum(1 for e in ev if e["ev"] == "sent" and e["srr"])')" 7 "every PDU asked for a status report (TP-SRR)"
is "$(sql "SELECT parts FROM smspool.outbox WHERE recipient = '+447700900199'")" 2 "the long text is two parts"

modem_ctl m1 '{"op": "inject", "from": "+441632960002", "text": "a short text"}'
modem_ctl m1 "{\"op\": \"inject\", \"from\": \"+441632960003\", \"text\": \"$LONG\"}"
if wait_for 30 "SELECT count(*) = 3 FROM smspool.inbox WHERE connection = 'modem'"; then
	pass "three texts in the inbox (swept, +CMTI, a two-part one joined)"
else
	fail "three texts in the inbox (swept, +CMTI, a two-part one joined)" "$(sql "SELECT sender, body FROM smspool.inbox")"
fi
is "$(sql "SELECT body FROM smspool.inbox WHERE sender = '+441632960003'")" "$LONG" "the two-part text arrives whole"
is "$(sql "SELECT body FROM smspool.inbox WHERE sender = '+441632960001'")" "left on the SIM before the start" \
	"the text left on the SIM is found by the sweep"
if wait_modem m1 15 'sum(e["ev"] == "stored" for e in ev) == 4 and sum(e["ev"] == "deleted" for e in ev) == sum(e["ev"] in ("stored", "report_stored") for e in ev)'; then
	pass "the four stored texts and the stored reports are deleted from the SIM after the commit"
else
	fail "the four stored texts and the stored reports are deleted from the SIM after the commit" "$(grep -c deleted "$E2E_TMP/m1.ev")"
fi
stop_daemon a1
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
