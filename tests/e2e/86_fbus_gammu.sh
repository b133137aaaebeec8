#!/usr/bin/env bash
# The FBUS phone emulator (tests/peers/fbus_phone.py) checked by software
# nobody here wrote: Gammu with `connection = fbus` on the emulator's pty
# identifies the phone, reads an SMS that arrived in it, sends an SMS with a
# status report request, reads that report back and deletes a message.  If
# Gammu cannot, the emulator is wrong and the driver tests built on it prove
# nothing.  Gammu (Debian `gammu`) is installed by make test-deps; without it
# this is a set-up failure.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/fbus.sh"
plan 13

command -v gammu >/dev/null 2>&1 || bail "gammu is not installed (make test-deps)"
command -v python3 >/dev/null 2>&1 || bail "python3 is not installed (make test-deps)"

D=$E2E_TMP/phone
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; _e2e_cleanup' EXIT
start_phone "$D"
gammu_rc "$D"
events() { grep -c "\"event\": \"$1\"" "$D/events.log"; }

g identify
is "$RC" 0 "gammu identify succeeds"
like "$OUT" "Model +: 6110 \(NSE-3\)" "Gammu identifies a Nokia 6110 (NSE-3)"
like "$OUT" "IMEI +: 490154203237518" "Gammu reads the IMEI"

printf '{"from": "+15551234567", "text": "Hello from the phone"}\n' >"$D/ctl/inbound-1.json"
for _ in $(seq 50); do [ "$(events inbound)" -ge 1 ] && break; sleep 0.1; done
g getallsms
is "$RC" 0 "gammu getallsms succeeds"
like "$OUT" 'Remote number +: "\+15551234567".*Hello from the phone' "Gammu reads the SMS that arrived, sender and text"

g sendsms TEXT +15557654321 -text "Hi there" -report
is "$RC" 0 "gammu sendsms succeeds"
like "$(grep '"sent"' "$D/events.log")" '"to": "\+15557654321", "text": "Hi there", "mr": 1, "srr": true' \
	"the emulator got recipient, text and the status report request"

for _ in $(seq 50); do [ "$(events report)" -ge 1 ] && break; sleep 0.1; done
g getallsms
like "$OUT" "SMS status report.*Reference number +: 1.*Delivery status +: Delivered" \
	"Gammu reads the status report of reference 1"

# A long text arrives in two parts, each reply longer than one frame (two
# FBUS frames from the emulator): Gammu must see both parts and their UDH.
LONG=$(printf 'Long inbound part %02d. ' $(seq 1 9))
printf '{"from": "+15551230000", "text": "%s"}\n' "$LONG" >"$D/ctl/inbound-2.json"
for _ in $(seq 50); do [ "$(events inbound)" -ge 2 ] && break; sleep 0.1; done
g getallsms
like "$OUT" "Concatenated \(linked\) message, ID \(8 bit\) 66, part 1 of 2.*part 2 of 2" \
	"Gammu reads both parts of a long text, sent as multi-frame replies"
like "$OUT" "Long inbound part 01\. Long inbound part 02\." "Gammu decodes the first part's text"

g deletesms 0 1
is "$RC" 0 "gammu deletesms 0 1 (folder 0: the SIM) succeeds"
is "$(events deleted)" 1 "the emulator deleted location 1"
g getallsms
like "$OUT" "3 SMS parts in [0-9] SMS sequences" "three messages are left"

finish
