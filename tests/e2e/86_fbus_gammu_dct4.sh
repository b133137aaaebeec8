#!/usr/bin/env bash
# The FBUS phone emulator as a DCT4 phone (tests/peers/fbus_phone.py --dct4
# --model NPE-4: a Nokia 6310) checked by Gammu, which picks its "6510"
# (DCT4) module from the model the phone reports: `gammu identify` (model,
# firmware, IMEI through type 1B, the DCT4 service queries), `gammu getsmsc`
# (type 02/14 with number blocks) and `gammu sendsms -report` (type 02/02
# with the DCT4 block frame, answered 02/03 with the TP-MR).  If Gammu
# cannot, the DCT4 emulator is wrong.  Reading stored SMS (DCT4 folders,
# type 14) is not emulated yet.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/fbus.sh"
plan 8

command -v gammu >/dev/null 2>&1 || bail "gammu is not installed (make test-deps)"
D=$E2E_TMP/phone
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; _e2e_cleanup' EXIT
start_phone "$D" --dct4 --model NPE-4 --version 05.10
gammu_rc "$D"

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
finish
