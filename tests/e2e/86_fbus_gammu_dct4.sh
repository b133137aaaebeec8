#!/usr/bin/env bash
# The FBUS phone emulator as a DCT4 phone (tests/peers/fbus_phone.py --dct4
# --model NPE-4: a Nokia 6310) checked by Gammu, which picks its "6510"
# (DCT4) module from the model the phone reports: `gammu identify` (model,
# firmware, IMEI through type 1B, the DCT4 service queries), `gammu getsmsc`
# (type 02/14 with number blocks) and `gammu sendsms -report` (type 02/02
# with the DCT4 block frame, answered 02/03 with the TP-MR), and the DCT4
# SMS memory (type 14: folder list, folder status, read, delete, with
# 16-bit locations in the SIM and the phone memory): `gammu getallsms`,
# `gammu getsms`, `gammu deletesms` list, read and delete the texts and
# the status report the emulator holds.  If Gammu cannot, the DCT4
# emulator is wrong.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/fbus.sh"
plan 19

command -v gammu >/dev/null 2>&1 || bail "gammu is not installed (make test-deps)"
D=$E2E_TMP/phone
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; _e2e_cleanup' EXIT
start_phone "$D" --dct4 --model NPE-4 --version 05.10
gammu_rc "$D"

events() { grep -c "\"event\": \"$1\"" "$D/events.log"; }

g identify
is "$RC" 0 "gammu identify succeeds"
like "$OUT" "Model +: 6310 \(NPE-4\)" "Gammu identifies a Nokia 6310 (NPE-4), a DCT4 phone"
like "$OUT" "IMEI +: 490154203237518" "Gammu reads the IMEI (DCT4 type 1B)"
g getsmsc 1
is "$RC" 0 "gammu getsmsc 1 succeeds"
like "$OUT" 'Number +: "\+15550000000"' "Gammu reads the SMS centre from the DCT4 number block"
g sendsms TEXT +15557654321 -text "Hi there" -report
is "$RC" 0 "gammu sendsms succeeds"
like "$OUT" "message reference=1" "the phone's answer carries the TP-MR"
like "$(grep '"sent"' "$D/events.log")" '"to": "\+15557654321", "text": "Hi there", "mr": 1, "srr": true' \
	"the emulator decoded recipient, text and the status report request from the DCT4 frame"

# Texts arriving: one in the SIM inbox, a long one (two parts) in the phone's.
printf '{"from": "+15551234567", "text": "Hello from the phone"}\n' >"$D/ctl/inbound-1.json"
LONG=$(printf 'Long inbound part %02d. ' $(seq 1 9))
printf '{"from": "+15551230000", "text": "%s", "memory": "me"}\n' "$LONG" >"$D/ctl/inbound-2.json"
for _ in $(seq 100); do [ "$(events inbound)" -ge 3 ] && [ "$(events report)" -ge 1 ] && break; sleep 0.1; done
g getallsms
is "$RC" 0 "gammu getallsms succeeds"
like "$OUT" 'Location [12], folder "Inbox", SIM memory[^L]*Remote number +: "\+15551234567"[^L]*Hello from the phone' \
	"Gammu reads the text in the SIM inbox (folder 01/02)"
like "$OUT" 'Location [12], folder "Inbox", SIM memory[^L]*SMS status report.*Reference number +: 1.*Delivery status +: Delivered' \
	"Gammu reads the status report of the message it sent (SIM inbox)"
like "$OUT" 'Location 200001, folder "Inbox", phone memory.*part 1 of 2.*Long inbound part 01\..*Location 200002.*part 2 of 2' \
	"Gammu reads both parts of the long text in the phone inbox (folder 02/02), multi-frame replies"
like "$OUT" "4 SMS parts in 4 SMS sequences" "four messages held"
g getsms 3 2
is "$RC" 0 "gammu getsms 3 2 (phone inbox, location 2) succeeds"
like "$OUT" 'part 2 of 2.*Long inbound part 09\.' "Gammu reads the second part by its folder and location"
g deletesms 3 1
is "$RC" 0 "gammu deletesms 3 1 succeeds"
g deletesms 1 1
is "$RC" 0 "gammu deletesms 1 1 succeeds"
like "$(grep '"deleted"' "$D/events.log" | tr '\n' ' ')" '"mem": 2, "folder": 2, "loc": 1.*"mem": 1, "folder": 2, "loc": 1' \
	"the emulator deleted phone inbox location 1 and SIM inbox location 1"
g getallsms
like "$OUT" "2 SMS parts in 2 SMS sequences" "two messages are left"
finish
