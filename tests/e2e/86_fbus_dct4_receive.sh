#!/usr/bin/env bash
# Receiving through a DCT4 phone: the emulator as a Nokia 6310
# (tests/peers/fbus_phone.py --dct4 --model NPE-4, whose SMS memory
# 86_fbus_gammu_dct4.sh validates with Gammu's getallsms/getsms/deletesms).
# The driver sweeps the SIM's and the phone's inbox folders (type 14: folder
# status, read, delete) at start, on the phone's 02/04 "SMS arrived" notice
# and every sweep_s: a text left in the phone before the daemon started, a
# text announced, one stored without a notice, a long text in the phone
# memory (two parts, joined), a status report matched to its part (TP-MR +
# recipient).  Each is deleted only after its inbox row (or report) is
# committed; a daemon killed between the commit and the delete reads the
# text again after its restart and stores it once (its key).
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/fbus.sh"
plan 12

command -v python3 >/dev/null 2>&1 || bail "python3 is not installed (make test-deps)"
D=$E2E_TMP/phone
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; _e2e_cleanup' EXIT
start_phone "$D" --dct4 --model NPE-4 --version 05.10 --report-delay 0.3
events() { grep -c "\"event\": \"$1\"" "$D/events.log"; }
inbound() { # inbound N JSON: drop it and wait until the phone stored it
	local n=$(($(events inbound) + $1))
	printf '%s\n' "$2" >"$D/ctl/inbound-$RANDOM$RANDOM.json"
	for _ in $(seq 100); do [ "$(events inbound)" -ge "$n" ] && return 0; sleep 0.1; done
	bail "the emulator did not store the inbound text: $2"
}

# Left in the phone before any daemon runs (stored, not announced).
touch "$D/ctl/no-notify"
inbound 1 '{"from": "+15557770001", "text": "left in the SIM"}'
rm -f "$D/ctl/no-notify"

e2e_db smspool_e2e_fbus_dct4_rx
# The daemon started after the kill takes the phone over (an exclusive
# connection) once the dead one's lease ends.
sql "UPDATE smspool.config SET value = '6' WHERE key = 'lease_s'" || bail "config"
add_connection phone fbus "{\"port\": \"$D/tty\", \"sweep_s\": 2, \"ack_timeout_ms\": 300, \"retries\": 2, \"reply_timeout_ms\": 5000, \"reconnect_min_ms\": 200}"
add_route phone
start_daemon d1
wait_for 30 "SELECT count(*) = 1 FROM smspool.connection_state WHERE name = 'phone' AND state = 'up'" ||
	bail "the DCT4 phone did not come up: $(sql "SELECT state, detail FROM smspool.connection_state")"
like "$(sql "SELECT detail FROM smspool.connection_state WHERE name = 'phone'")" "model=NPE-4 .* family=dct4$" \
	"the DCT4 phone is up, receiving"
if wait_for 30 "SELECT count(*) = 1 FROM smspool.inbox WHERE sender = '+15557770001' AND body = 'left in the SIM'"; then
	pass "a text left in the SIM inbox is read by the sweep at start"
else
	fail "a text left in the SIM inbox is read by the sweep at start" "$(sql "SELECT sender, body FROM smspool.inbox")"
fi

inbound 1 '{"from": "+15557770002", "text": "Hello DCT4 inbox"}'
LONG=$(printf 'Inbound part text %02d. ' $(seq 1 9)) # 198 characters: two parts
inbound 2 "{\"from\": \"+15557770003\", \"text\": \"$LONG\", \"memory\": \"me\"}"
if wait_for 30 "SELECT count(*) = 1 FROM smspool.inbox WHERE sender = '+15557770002' AND body = 'Hello DCT4 inbox'"; then
	pass "an announced text (02/04) lands in smspool.inbox"
else
	fail "an announced text (02/04) lands in smspool.inbox" "$(sql "SELECT sender, body FROM smspool.inbox")"
fi
if wait_for 30 "SELECT count(*) = 1 FROM smspool.inbox WHERE sender = '+15557770003' AND parts = 2 AND body = '$LONG'"; then
	pass "a long text in the phone memory (folder 02/02) is joined into one inbox row"
else
	fail "a long text in the phone memory (folder 02/02) is joined into one inbox row" "$(sql "SELECT sender, parts, body FROM smspool.inbox")"
fi
touch "$D/ctl/no-notify"
inbound 1 '{"from": "+15557770004", "text": "stored without a notice"}'
rm -f "$D/ctl/no-notify"
if wait_for 30 "SELECT count(*) = 1 FROM smspool.inbox WHERE sender = '+15557770004'"; then
	pass "a text stored without a notice is read by the periodic sweep (sweep_s)"
else
	fail "a text stored without a notice is read by the periodic sweep (sweep_s)" "$(sql "SELECT sender, body FROM smspool.inbox")"
fi

sql "INSERT INTO smspool.outbox (recipient, body) VALUES ('+15550000001', 'report me')" || bail "INSERT failed"
if wait_for 60 "SELECT status = 'delivered' FROM smspool.outbox WHERE recipient = '+15550000001'"; then
	pass "the status report in the SIM inbox (01 frame) marks the message delivered"
else
	fail "the status report in the SIM inbox (01 frame) marks the message delivered" "$(sql "SELECT status, remote_ids FROM smspool.outbox")"
fi
# 4 texts (5 SMS) and a report: each deleted once, after its commit.
for _ in $(seq 100); do [ "$(events deleted)" -ge 6 ] && break; sleep 0.1; done
is "$(events deleted)" 6 "every text, part and report is deleted from the phone once stored"
ok "$(python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
stored = sorted((e["mem"], e["loc"]) for e in ev if e["event"] in ("inbound", "report"))
gone = sorted((e["mem"], e["loc"]) for e in ev if e["event"] == "deleted")
print(int(stored == gone))' "$D/events.log") == 1" \
	"the locations deleted are the locations stored (a location used again once freed)"

# Killed between the commit and the delete: the phone ignores the delete.
touch "$D/ctl/ignore-deletes"
inbound 1 '{"from": "+15557770005", "text": "killed before the delete"}'
wait_for 30 "SELECT count(*) = 1 FROM smspool.inbox WHERE sender = '+15557770005'" || bail "the text did not reach the inbox"
for _ in $(seq 100); do [ "$(events delete_ignored)" -ge 1 ] && break; sleep 0.1; done
is "$(events delete_ignored)" 1 "the delete went out after the commit (and the phone kept the text)"
kill_daemon d1
rm -f "$D/ctl/ignore-deletes"
start_daemon d2
for _ in $(seq 600); do [ "$(events deleted)" -ge 7 ] && break; sleep 0.1; done
is "$(events deleted)" 7 "after the restart the text is read again and deleted"
is "$(sql "SELECT count(*) FROM smspool.inbox WHERE sender = '+15557770005'")" 1 "stored once: nothing duplicated"
is "$(sql "SELECT count(*) FROM smspool.inbox")" 5 "nothing lost: five texts in the inbox"
stop_daemon d2
finish
