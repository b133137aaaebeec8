#!/usr/bin/env bash
# The fbus connection with a DCT4 phone: the emulator as a Nokia 6310
# (tests/peers/fbus_phone.py --dct4 --model NPE-4, which
# 86_fbus_gammu_dct4.sh validates with Gammu).  The driver tells the family
# from the model code, reads the IMEI (type 1B) and the SMS centre (02/14)
# the DCT4 way and sends in the DCT4 frame (02/02): a short text, a long one
# in two parts and a UCS-2 one reach the phone intact, each part's TP-MR is
# its remote id; no DCT3 SIM request (type 14 op 36, SIM status) goes to
# the phone: its folders are read the DCT4 way (86_fbus_dct4_receive.sh).
# This phone never answers the folder status (--no-sms-memory, a model that
# keeps its SMS elsewhere): receiving goes off (receive=off) and the
# connection stays up and sends.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/fbus.sh"
plan 7

command -v python3 >/dev/null 2>&1 || bail "python3 is not installed (make test-deps)"
D=$E2E_TMP/phone
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; _e2e_cleanup' EXIT
start_phone "$D" --dct4 --model NPE-4 --version 05.10 --no-sms-memory

e2e_db smspool_e2e_fbus_dct4
add_connection phone fbus "{\"port\": \"$D/tty\", \"sweep_s\": 1, \"ack_timeout_ms\": 300, \"retries\": 2, \"reply_timeout_ms\": 3000, \"reconnect_min_ms\": 200}"
add_route phone
start_daemon d1
if wait_for 30 "SELECT count(*) = 1 FROM smspool.connection_state WHERE name = 'phone' AND state = 'up'"; then
	pass "the DCT4 phone is identified: connection up"
else
	bail "the DCT4 phone did not come up: $(sql "SELECT state, detail FROM smspool.connection_state")"
fi
like "$(sql "SELECT detail FROM smspool.connection_state WHERE name = 'phone'")" \
	"model=NPE-4 version=05.10 imei=490154203237518 smsc=\+15550000000 family=dct4" \
	"status shows the model, the IMEI and SMS centre read the DCT4 way, and the family"
if wait_for 30 "SELECT detail LIKE '% family=dct4 receive=off' AND state = 'up' FROM smspool.connection_state WHERE name = 'phone'"; then
	pass "an unanswered folder status switches receiving off; the connection stays up"
else
	fail "an unanswered folder status switches receiving off; the connection stays up" "$(sql "SELECT state, detail FROM smspool.connection_state")"
fi

LONG=$(printf 'Long text number %02d. ' $(seq 1 9)) # 198 GSM characters: two parts
sql "INSERT INTO smspool.outbox (recipient, body) VALUES
	('+15550000001', 'Hello DCT4 @ 10:00'), ('+15550000002', '$LONG'), ('+15550000003', 'Grüße, Привет')" ||
	bail "INSERT failed"
if wait_for 60 "SELECT count(*) = 3 FROM smspool.outbox WHERE status IN ('sent', 'delivered')"; then
	pass "three messages sent through the DCT4 phone"
else
	fail "three messages sent through the DCT4 phone" "$(sql "SELECT recipient, status, error_text FROM smspool.outbox")"
fi
texts=$(python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if "\"sent\"" in l]
print("|".join("%s=%s" % (e["to"], e["text"]) for e in ev))' "$D/events.log")
is "$texts" "+15550000001=Hello DCT4 @ 10:00|+15550000002=${LONG:0:153}|+15550000002=${LONG:153}|+15550000003=Grüße, Привет" \
	"the phone decoded every part from the DCT4 frame: recipients and texts intact"
is "$(sql "SELECT string_agg(array_to_string(remote_ids, ','), ' ' ORDER BY id) FROM smspool.outbox")" \
	"1/50000001 2/50000002,3/50000002 4/50000003" "each part's remote id is the TP-MR the phone gave"
is "$(grep -c '"type": "14", "hex": "00010036' "$D/events.log")" 0 "no DCT3 SIM status request went to the DCT4 phone"
stop_daemon d1
finish
