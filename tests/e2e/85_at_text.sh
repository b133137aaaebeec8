#!/usr/bin/env bash
# The `at` connection in text mode (`"mode": "text"`, the fallback for a
# modem without PDU mode) against the emulator: AT+CMGF=1, AT+CSMP with
# TP-SRR, AT+CMGS="<number>" with the text, status reports as text-mode
# +CDS lines; texts read with AT+CMGR / AT+CMGL="ALL" in text form; a text
# text mode cannot carry fails with a clear reason.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/modem.sh"
plan 7
trap 'stop_all_modems; _e2e_cleanup' EXIT

start_modem t
modem_ctl t '{"op": "inject", "from": "+441632960201", "text": "waiting on the SIM"}'
wait_modem t 10 'any(e["ev"] == "stored" for e in ev)' || bail "the emulator did not store the first text"
e2e_db smspool_e2e_at_text
add_connection modem at "{\"port\": \"$E2E_TMP/t.tty\", \"mode\": \"text\", \"command_timeout_ms\": 3000, \"sweep_s\": 3, \"reconnect_min_ms\": 200}"
add_route modem
start_daemon t1
wait_for 30 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'modem'" ||
	bail "the at connection did not come up: $(sql "SELECT state, detail FROM smspool.connection_state")"
is "$(modem_py t '[e["line"] for e in ev if e["ev"] == "cmd" and e["line"].startswith("AT+CMGF")]')" "['AT+CMGF=1']" \
	"text mode selected with AT+CMGF=1"

sql "INSERT INTO smspool.outbox (recipient, body) VALUES ('+447700900301', 'plain text one'), ('+447700900302', 'plain text two'),
       ('+447700900303', 'Grüße')" || bail "INSERT failed"
if wait_for 40 "SELECT count(*) = 2 FROM smspool.outbox WHERE status = 'delivered'"; then
	pass "two texts delivered (text-mode +CDS matched by TP-MR and recipient)"
else
	fail "two texts delivered (text-mode +CDS matched by TP-MR and recipient)" "states: $(state_counts)"
fi
is "$(modem_py t 'sorted(e["text"] for e in ev if e["ev"] == "sent")')" "['plain text one', 'plain text two']" \
	"the emulator got the texts themselves after AT+CMGS=\"<number>\""
wait_for 20 "SELECT status = 'failed' FROM smspool.outbox WHERE recipient = '+447700900303'"
like "$(sql "SELECT status || ' ' || error_text FROM smspool.outbox WHERE recipient = '+447700900303'")" \
	'failed .*ASCII' "a non-ASCII text fails in text mode with the reason"

modem_ctl t '{"op": "inject", "from": "+441632960202", "text": "arrives as +CMTI"}'
if wait_for 30 "SELECT count(*) = 2 FROM smspool.inbox WHERE connection = 'modem'"; then
	pass "both texts in the inbox (one swept, one after +CMTI)"
else
	fail "both texts in the inbox (one swept, one after +CMTI)" "$(sql "SELECT sender, body FROM smspool.inbox")"
fi
is "$(sql "SELECT string_agg(sender || ':' || body, ',' ORDER BY sender) FROM smspool.inbox")" \
	"+441632960201:waiting on the SIM,+441632960202:arrives as +CMTI" "senders and texts as the modem gave them"
stop_daemon t1
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
