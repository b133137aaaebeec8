#!/usr/bin/env bash
# The fbus connection against the FBUS phone emulator (tests/peers/fbus_phone.py,
# which 86_fbus_gammu.sh validates with Gammu) on a pty: the daemon syncs and
# identifies the phone, sends texts (a long one in two parts, a UCS-2 one)
# with status report requests, the phone's reports make them `delivered`; a
# text arriving in the phone lands in smspool.inbox and is deleted from the
# SIM only after that; then the phone stops answering (frames unacknowledged,
# no replies) while a message waits and a text arrives, and comes back:
# the connection goes down and up again and nothing is lost.
. "$(dirname "$0")/../lib/e2e.sh"
plan 17

command -v python3 >/dev/null 2>&1 || bail "python3 is not installed (make test-deps)"
D=$E2E_TMP/phone
mkdir -p "$D/ctl"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; _e2e_cleanup' EXIT
python3 "$E2E_ROOT/tests/peers/fbus_phone.py" --link "$D/tty" --control "$D/ctl" --log "$D/events.log" \
	--report-delay 0.3 >"$D/emulator.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -e "$D/tty" ] && break; sleep 0.1; done
[ -e "$D/tty" ] || bail "the emulator did not create its pty: $(cat "$D/emulator.out")"
events() { grep -c "\"event\": \"$1\"" "$D/events.log"; }

# A second phone that ignores service commands (type 40: no IMEI).
python3 "$E2E_ROOT/tests/peers/fbus_phone.py" --link "$D/tty2" --control "$D/ctl2" --log "$D/events2.log" \
	--no-service >"$D/emulator2.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -e "$D/tty2" ] && break; sleep 0.1; done
[ -e "$D/tty2" ] || bail "the second emulator did not create its pty: $(cat "$D/emulator2.out")"

e2e_db smspool_e2e_fbus
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
add_connection phone fbus "{\"port\": \"$D/tty\", \"sweep_s\": 2, \"ack_timeout_ms\": 300, \"retries\": 2, \"reply_timeout_ms\": 3000, \"reconnect_min_ms\": 200, \"reconnect_max_ms\": 1000}"
add_route phone
add_connection quiet fbus "{\"port\": \"$D/tty2\", \"reply_timeout_ms\": 1000, \"reconnect_min_ms\": 200}"
start_daemon fbus1

if wait_for 30 "SELECT count(*) = 1 FROM smspool.connection_state WHERE name = 'phone' AND state = 'up'"; then
	pass "the phone is synced and identified: connection up"
else
	fail "the phone is synced and identified: connection up" "$(sql "SELECT state, detail FROM smspool.connection_state")"
fi
like "$(sql "SELECT detail FROM smspool.connection_state WHERE name = 'phone'")" \
	"model=NSE-3 version=05.24 imei=490154203237518 smsc=\+15550000000" "status shows model, firmware, IMEI and the phone's SMS centre"
if wait_for 30 "SELECT detail LIKE '%model=NSE-3 % imei=- smsc=+15550000000' FROM smspool.connection_state WHERE name = 'quiet' AND state = 'up'"; then
	pass "a phone that ignores service commands comes up without an IMEI"
else
	fail "a phone that ignores service commands comes up without an IMEI" "$(sql "SELECT state, detail FROM smspool.connection_state WHERE name = 'quiet'")"
fi

LONG=$(printf 'Long text number %02d. ' $(seq 1 9)) # 9 x 22 = 198 GSM characters: two parts
sql "INSERT INTO smspool.outbox (recipient, body) VALUES
	('+15550000001', 'Hello phone @ 10:00'),
	('+15550000002', '$LONG'),
	('+15550000003', 'Grüße, Привет')" || bail "INSERT failed"
if wait_for 60 "SELECT count(*) = 3 FROM smspool.outbox WHERE status = 'delivered'"; then
	pass "three messages delivered through the phone's status reports"
else
	fail "three messages delivered through the phone's status reports" "$(sql "SELECT recipient, status, remote_ids, error_text FROM smspool.outbox")"
fi
is "$(sql "SELECT array_length(remote_ids, 1) FROM smspool.outbox WHERE recipient = '+15550000002'")" 2 "the long text went as two parts"
like "$(grep '"sent"' "$D/events.log" | grep 15550000001)" '"text": "Hello phone @ 10:00", "mr": [0-9]+, "srr": true' \
	"the phone got the text with TP-SRR set"
like "$(grep '"sent"' "$D/events.log" | grep 15550000003)" '"dcs": "08"' "the Cyrillic text went as UCS-2"
like "$(sql "SELECT remote_ids[1] FROM smspool.outbox WHERE recipient = '+15550000001'")" '^[0-9]+/50000001$' \
	"remote id: the message reference and the recipient's last 8 digits"

printf '{"from": "+15557770001", "text": "Hello from the phone"}\n' >"$D/ctl/inbound-1.json"
LONG_MO=$(printf 'Inbound part text %02d. ' $(seq 1 9)) # 9 x 22 = 198 characters: two parts
printf '{"from": "+15557770003", "text": "%s"}\n' "$LONG_MO" >"$D/ctl/inbound-3.json"
if wait_for 30 "SELECT count(*) = 1 FROM smspool.inbox WHERE sender = '+15557770001' AND body = 'Hello from the phone'"; then
	pass "an SMS arriving in the phone lands in smspool.inbox"
else
	fail "an SMS arriving in the phone lands in smspool.inbox" "$(sql "SELECT sender, body FROM smspool.inbox")"
fi
if wait_for 30 "SELECT count(*) = 1 FROM smspool.inbox WHERE sender = '+15557770003' AND parts = 2 AND body = '$LONG_MO'"; then
	pass "a long text arriving in two parts is joined into one inbox row"
else
	fail "a long text arriving in two parts is joined into one inbox row" "$(sql "SELECT sender, parts, body FROM smspool.inbox")"
fi
# 4 reports (one per part), the text and the two parts: each deleted once, after its commit.
for _ in $(seq 100); do [ "$(events deleted)" -ge 7 ] && break; sleep 0.1; done
is "$(events deleted)" 7 "the texts and the four reports are deleted from the SIM after they were stored"

# Line noise (a false frame start among it) before a request, then a phone
# that acknowledges nothing for a while: the reader resynchronises, replies
# stand for the lost acknowledgements, resends are not taken twice.
touch "$D/ctl/garbage"
for _ in $(seq 50); do [ "$(events garbage)" -ge 1 ] && break; sleep 0.1; done
touch "$D/ctl/drop-acks"
sql "INSERT INTO smspool.outbox (recipient, body) VALUES ('+15550000007', 'through noise and lost acks')" || bail "INSERT"
if wait_for 30 "SELECT status = 'delivered' FROM smspool.outbox WHERE recipient = '+15550000007'"; then
	pass "line noise and unacknowledged frames: the message is delivered"
else
	fail "line noise and unacknowledged frames: the message is delivered" "$(sql "SELECT status, error_text FROM smspool.outbox WHERE recipient = '+15550000007'")"
fi
rm -f "$D/ctl/drop-acks"
is "$(grep '"sent"' "$D/events.log" | grep -c 15550000007)" 1 "sent exactly once"

# The phone stops answering, a message waits, a text arrives; it comes back.
touch "$D/ctl/mute"
sql "INSERT INTO smspool.outbox (recipient, body) VALUES ('+15550000009', 'sent while the phone sleeps')" || bail "INSERT"
if wait_for 30 "SELECT state <> 'up' FROM smspool.connection_state WHERE name = 'phone'"; then
	pass "a phone that stops answering takes the connection down"
else
	fail "a phone that stops answering takes the connection down" "$(sql "SELECT state, detail FROM smspool.connection_state")"
fi
printf '{"from": "+15557770002", "text": "arrived while muted"}\n' >"$D/ctl/inbound-2.json"
sleep 0.5
rm -f "$D/ctl/mute"
if wait_for 60 "SELECT status = 'delivered' FROM smspool.outbox WHERE recipient = '+15550000009'"; then
	pass "the phone comes back: the waiting message is delivered"
else
	fail "the phone comes back: the waiting message is delivered" "$(sql "SELECT status, attempts, error_text FROM smspool.outbox WHERE recipient = '+15550000009'; SELECT state, detail FROM smspool.connection_state")"
fi
if wait_for 30 "SELECT count(*) = 1 FROM smspool.inbox WHERE sender = '+15557770002'"; then
	pass "the text that arrived while the phone was silent reaches the inbox once"
else
	fail "the text that arrived while the phone was silent reaches the inbox once" "$(sql "SELECT sender, body FROM smspool.inbox")"
fi
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE status <> 'delivered'")" 0 "nothing lost: every message delivered"

finish
