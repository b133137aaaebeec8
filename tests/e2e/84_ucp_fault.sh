#!/usr/bin/env bash
# Our EMI/UCP client against a scripted SMSC that misbehaves
# (tests/peers/ucp_smsc.py): a NACK 24 (rejected for good), a NACK 04 (a
# throttle: retried), a stall (no result: retried after response_timeout_s),
# a dropped connection (reconnect, retried), a notification before its ACK,
# noise and a frame with a bad checksum (answered NACK 01), notifications
# with Dst 2 (not delivered, its Rsn kept) and Dst 1 (buffered: enroute)
# before Dst 0.  Every message ends in its final state, and the SMSC saw
# each message once, except the ones retried by design (once more each);
# every submit asked a notification (request_reports: NRq 1, NT 3).  The
# connection's own host refuses (port 9): it logs in through backup_hosts.
. "$(dirname "$0")/../lib/e2e.sh"
plan 14

SDIR=$E2E_TMP/smsc
mkdir -p "$SDIR"
python3 "$E2E_ROOT/tests/peers/ucp_smsc.py" "$SDIR/port" "$SDIR/log.jsonl" &
SMSC_PID=$!
trap 'kill $SMSC_PID 2>/dev/null; _e2e_cleanup' EXIT
for ((i = 0; i < 100; i++)); do
	[ -s "$SDIR/port" ] && break
	sleep 0.1
done
PORT=$(cat "$SDIR/port") || bail "the scripted SMSC did not start"

e2e_db smspool_e2e_ucp_fault
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
add_connection smsc ucp "{\"host\": \"127.0.0.1\", \"port\": 9, \"backup_hosts\": [\"127.0.0.1:$PORT\"], \"login\": \"1234\", \"password\": \"x\", \"response_timeout_s\": 2, \"throttle_pause_ms\": 300, \"reconnect_min_ms\": 200, \"reconnect_max_ms\": 1000}"
add_route smsc
start_daemon f
pid=${DAEMON_PID[f]}
if wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'smsc'"; then
	pass "the host refuses: the client logs in through backup_hosts"
else
	bail "no login: $(sql "SELECT state, detail FROM smspool.connection_state")"
fi

sql "INSERT INTO smspool.outbox (recipient, body) VALUES
	('+1555000201', 'rejected'), ('+1555000202', 'throttled once'), ('+1555000203', 'stalled once'),
	('+1555000204', 'dropped once'), ('+1555000205', 'notified early'), ('+1555000206', 'plain'),
	('+1555000208', 'not delivered'), ('+1555000209', 'buffered first')" || bail "INSERT"
if wait_for 60 "SELECT count(*) = 8 FROM smspool.outbox WHERE status IN ('delivered', 'rejected', 'failed', 'undelivered')"; then
	pass "every message reaches a final state"
else
	fail "every message reaches a final state" "$(sql "SELECT recipient, status, attempts, error_code, error_text FROM smspool.outbox ORDER BY recipient")"
fi
is "$(sql "SELECT status || '|' || error_code FROM smspool.outbox WHERE recipient = '+1555000201'")" "rejected|24" \
	"NACK 24 rejects the message for good, with its code"
like "$(sql "SELECT error_text FROM smspool.outbox WHERE recipient = '+1555000201'")" 'Message too long' \
	"the NACK's name is stored"
is "$(sql "SELECT string_agg(right(recipient, 3) || ':' || status, ',' ORDER BY recipient) FROM smspool.outbox WHERE recipient NOT IN ('+1555000201', '+1555000208')")" \
	"202:delivered,203:delivered,204:delivered,205:delivered,206:delivered,209:delivered" \
	"throttled, stalled, dropped and early-notified messages end delivered"
is "$(sql "SELECT attempts FROM smspool.outbox WHERE recipient = '+1555000202'")" 1 \
	"a NACK 04 (throttling) spends no attempt"
counts=$(python3 -c '
import json, sys, collections
c = collections.Counter(json.loads(l)["adc"][-3:] for l in open(sys.argv[1]) if "\"submit\"" in l)
print(",".join("%s:%d" % (k, c[k]) for k in sorted(c)))' "$SDIR/log.jsonl")
is "$counts" "201:1,202:2,203:2,204:2,205:1,206:1,208:1,209:1" "each message sent once, the retried ones twice"
is "$(sql "SELECT status || '|' || error_code FROM smspool.outbox WHERE recipient = '+1555000208'")" "undelivered|108" \
	"an op 53 with Dst 2 makes the message undelivered, its Rsn kept as the error code"
# Not an assertion by itself: the bounded wait for the second report, and the
# check that follows fails (showing the states that came) when it did not.
wait_for 20 "SELECT count(*) = 2 FROM smspool.reports r JOIN smspool.outbox o ON o.id = r.message_id WHERE o.recipient = '+1555000209'" ||
	diag "the second report of +1555000209 did not come"
is "$(sql "SELECT string_agg(r.state || ':' || coalesce(r.error_code, ''), ',' ORDER BY r.id) FROM smspool.reports r JOIN smspool.outbox o ON o.id = r.message_id WHERE o.recipient = '+1555000209'")" \
	"enroute:103,delivered:000" "an op 53 with Dst 1 (buffered) is stored as enroute, then Dst 0 delivers"
is "$(python3 -c '
import json, sys
print(sorted(set((e["nrq"], e["nt"]) for e in map(json.loads, open(sys.argv[1])) if e["ev"] == "submit")))' "$SDIR/log.jsonl")" \
	"[('1', '3')]" "request_reports: every op 51 asks a notification (NRq 1, NT 3)"
like "$(grep -c '"ev": "drop"' "$SDIR/log.jsonl")" '^1$' "the SMSC dropped the connection once"
like "$(grep '"ot": 31' "$SDIR/log.jsonl" | grep -c '"ec": "01"')" '^[1-9]' \
	"a frame with a bad checksum is answered NACK 01 (noise before it is skipped)"
ok "$(grep '"ot": 53' "$SDIR/log.jsonl" | grep -c '"ack": true') >= 5" "every notification is acknowledged"
stop_daemon f
is "$DAEMON_STATUS" 0 "the daemon exits 0"
finish
