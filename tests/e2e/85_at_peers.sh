#!/usr/bin/env bash
# Our GSM modem emulator (tests/peers/modem_emu.py) checked by software
# nobody here wrote: Gammu (connection = at) identifies it, sends a text
# through it and reads the texts stored on its SIM; smstools3 (smsd) sends
# a text through it and receives one.  If they cannot, the emulator is wrong
# and 85_at_driver.sh proves nothing.  The PDU Gammu sent is also decoded
# with `smspool decode sms-pdu`, a second opinion on our codec.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/modem.sh"
plan 9
trap 'stop_all_modems; [ -n "${SMSD_PID:-}" ] && kill "$SMSD_PID" 2>/dev/null; _e2e_cleanup' EXIT

command -v gammu >/dev/null 2>&1 || bail "gammu is not installed (make test-deps)"
command -v smsd >/dev/null 2>&1 || bail "smsd (smstools) is not installed (make test-deps)"

# --- Gammu ---
start_modem g
cat >"$E2E_TMP/gammurc" <<CONF
[gammu]
device = $E2E_TMP/g.tty
connection = at
use_locking = no
logfile = $E2E_TMP/gammu.log
logformat = textall
CONF
out=$(timeout 60 gammu -c "$E2E_TMP/gammurc" identify 2>&1)
like "$out" 'IMEI *: 490154203237518' "gammu identify reads the emulator's IMEI" || diag "$out"

out=$(timeout 60 gammu -c "$E2E_TMP/gammurc" sendsms TEXT +441632960123 -text "Hello from gammu" 2>&1)
like "$out" 'OK, message reference=1' "gammu sendsms gets a message reference back" || diag "$out"
pdu=$(modem_py g '[e for e in ev if e["ev"] == "sent"][0]["pdu"]' 2>/dev/null)
dec=$("$SMSPOOL_BIN" decode sms-pdu "$pdu" 2>&1)
like "$(printf '%s\n' "$dec" | paste -sd';')" 'da=\+441632960123;.*text=Hello from gammu' \
	"the PDU Gammu sent decodes with our codec to its number and text" || diag "$dec"

modem_ctl g '{"op": "inject", "from": "+447700900777", "text": "stored for gammu"}'
modem_ctl g "{\"op\": \"inject\", \"from\": \"+447700900778\", \"text\": \"$(printf 'Long %.0s' $(seq 1 40))\"}"
wait_modem g 10 'sum(e["ev"] == "stored" for e in ev) == 3' || diag "injections not stored"
out=$(timeout 60 gammu -c "$E2E_TMP/gammurc" getallsms 2>&1)
like "$out" 'stored for gammu' "gammu getallsms reads a stored text" || diag "$out"
like "$out" 'Concatenated.*part 2 of 2' "gammu getallsms sees both parts of a long text with their UDH" || diag "$out"
stop_modem g

# --- smstools3 ---
start_modem s
S=$E2E_TMP/smsd
mkdir -p "$S/outgoing" "$S/checked" "$S/failed" "$S/incoming" "$S/sent"
cat >"$S/smsd.conf" <<CONF
devices = GSM1
outgoing = $S/outgoing
checked = $S/checked
failed = $S/failed
incoming = $S/incoming
sent = $S/sent
logfile = $S/smsd.log
loglevel = 7
infofile = $S/smsd.running
pidfile = $S/smsd.pid

[GSM1]
device = $E2E_TMP/s.tty
init = AT+CMGF=0
incoming = yes
baudrate = 115200
rtscts = no
CONF
modem_ctl s '{"op": "inject", "from": "+441632960777", "text": "Hello smstools"}'
printf 'To: 15551234567\n\nHello from smstools\n' >"$S/outgoing/msg1"
smsd -t -c "$S/smsd.conf" >"$S/smsd.out" 2>&1 &
SMSD_PID=$!
for ((i = 0; i < 300; i++)); do
	[ -e "$S/sent/msg1" ] && [ -n "$(ls "$S/incoming")" ] && break
	sleep 0.1
done
kill "$SMSD_PID" 2>/dev/null
wait "$SMSD_PID" 2>/dev/null
SMSD_PID=
ok "$([ -e "$S/sent/msg1" ] && echo 1 || echo 0) == 1" "smsd sends a text through the emulator" || diag "$(tail -20 "$S/smsd.log")"
is "$(modem_py s '[e["da"] for e in ev if e["ev"] == "sent"]')" "['+15551234567']" "the emulator got smsd's PDU for +15551234567"
like "$(cat "$S"/incoming/* 2>/dev/null)" 'From: 441632960777.*Hello smstools' "smsd receives a text stored in the emulator" ||
	diag "$(tail -20 "$S/smsd.log")"
is "$(modem_count s deleted)" 1 "smsd deletes what it read (AT+CMGD)"
finish
