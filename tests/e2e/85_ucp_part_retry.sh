#!/usr/bin/env bash
# Retry only the parts that failed, with our EMI/UCP client (as
# 70_smpp_part_retry does for SMPP): a 3-part message whose 2nd part the
# scripted SMSC (tests/peers/ucp_smsc.py, AdC ending 207) NACKs 04 once.
# Parts 1 and 3 were accepted and keep their ids (AdC:SCTS); the retry
# sends part 2 alone, with the same concatenation reference, and the
# message ends delivered with a notification matched for each of its parts.
. "$(dirname "$0")/../lib/e2e.sh"
plan 7

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

# The submits of the long text: "part:ack-or-nack:ref" in order, from the
# SMSC's log (its results are not logged: NACK follows from the rule).
smsc_parts() {
	python3 -c '
import json, sys
seen = set()
out = []
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("ev") == "submit" and e["adc"].endswith("207"):
        st = "N" if e["part"] == 2 and 2 not in seen else "A"
        seen.add(e["part"])
        out.append("%d:%s:%d" % (e["part"], st, e["ref"]))
print(" ".join(out))' "$SDIR/log.jsonl"
}

e2e_db smspool_e2e_ucp_part_retry
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
add_connection smsc ucp "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"login\": \"1234\", \"password\": \"x\",
	\"response_timeout_s\": 10, \"throttle_pause_ms\": 300, \"reconnect_min_ms\": 200}"
add_route smsc
LONG=$(printf 'Part of a long text number %03d. ' $(seq 1 13)) # 416 GSM characters: 3 parts of 153
ID=$(sql "INSERT INTO smspool.outbox (recipient, body, want_report) VALUES ('+1555000207', '$LONG', true) RETURNING id") ||
	bail "INSERT"
is "$(sql "SELECT parts FROM smspool.outbox WHERE id = $ID")" 3 "a message of 3 parts"
start_daemon p
wait_for 60 "SELECT status = 'delivered' FROM smspool.outbox WHERE id = $ID" ||
	diag "$(sql "SELECT status, attempts, remote_ids, part_status, error_class, error_text FROM smspool.outbox WHERE id = $ID")"
P=$(smsc_parts)
REF=$((ID & 255))
is "$P" "1:A:$REF 2:N:$REF 3:A:$REF 2:A:$REF" \
	"the SMSC got parts 1 and 3 once and part 2 twice (NACK 04, then ACK), all with the reference of the message's id"
is "$(sql "SELECT status FROM smspool.outbox WHERE id = $ID")" delivered "the message ends delivered"
is "$(sql "SELECT cardinality(remote_ids) || ':' || count(DISTINCT r) FROM smspool.outbox, unnest(remote_ids) r
	WHERE id = $ID AND r LIKE '001555000207:%' GROUP BY remote_ids")" "3:3" \
	"3 remote ids (AdC:SCTS), one per part, all different"
is "$(sql "SELECT count(DISTINCT part) FROM smspool.reports WHERE message_id = $ID AND state = 'delivered'")" 3 \
	"3 notifications matched, one per part"
like "$(grep 'ucp_parts_held' "${DAEMON_LOG[p]}")" "id=$ID parts=3 held=2" "the retry logged the 2 parts held"
stop_daemon p
is "$DAEMON_STATUS" 0 "daemon exits 0"
finish
