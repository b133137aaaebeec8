#!/usr/bin/env bash
# Retry only the parts that failed (issue 17): a 3-part message whose 2nd part
# the SMSC (npm smpp, tests/peers/smsc.js) throttles once.  Parts 1 and 3 were
# accepted and keep their ids; the retry sends part 2 alone, with the same
# concatenation reference, and the message ends delivered with a receipt
# matched for each of its 3 parts.  Before, the whole message went back to
# the queue and parts 1 and 3 reached the handset twice.
. "$(dirname "$0")/../lib/e2e.sh"
plan 8

[ -d "$E2E_ROOT/tests/peers/node_modules/smpp" ] && command -v node >/dev/null 2>&1 ||
	bail "the npm peers are not installed: run make test-deps (tests/peers/install.sh)"

SMSC_DIR=$E2E_TMP/smsc
mkdir -p "$SMSC_DIR"
SMSC_LOG=$SMSC_DIR/events.jsonl
cat >"$SMSC_DIR/conf.json" <<EOF
{
  "port_file": "$SMSC_DIR/port",
  "log": "$SMSC_LOG",
  "receipts": {"delay_ms": 50},
  "rules": [{"dest_prefix": "1555", "part": 2, "status": "ESME_RTHROTTLED", "times": 1}]
}
EOF
node "$E2E_ROOT/tests/peers/smsc.js" "$SMSC_DIR/conf.json" >"$SMSC_DIR/stdout" 2>&1 &
SMSC_PID=$!
trap 'kill $SMSC_PID 2>/dev/null; _e2e_cleanup' EXIT
for ((i = 0; i < 100; i++)); do
	[ -s "$SMSC_DIR/port" ] && break
	kill -0 $SMSC_PID 2>/dev/null || break
	sleep 0.1
done
[ -s "$SMSC_DIR/port" ] || bail "the SMSC did not start: $(cat "$SMSC_DIR/stdout")"
PORT=$(cat "$SMSC_DIR/port")

# smsc_q 'JS expression': evaluated over L (the SMSC's events) and P (the
# submits of the long text: {part, status, id, ref}, in order).
smsc_q() {
	node -e '
		const fs = require("fs");
		const L = fs.existsSync(process.argv[1]) ? fs.readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse) : [];
		const P = L.filter((e) => e.ev === "submit" && e.dst === "15550001234")
			.map((e) => ({ part: e.udh ? parseInt(e.udh.slice(-2), 16) : 0, ref: e.udh ? e.udh.slice(-6, -4) : "", status: e.status, id: e.id }));
		const r = eval(process.argv[2]);
		console.log(typeof r === "object" ? JSON.stringify(r) : String(r));' "$SMSC_LOG" "$1"
}

e2e_db smspool_e2e_smpp_part_retry
add_connection smsc smpp "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"system_id\": \"smspool\", \"password\": \"secret\",
	\"response_timeout_s\": 30, \"enquire_link_s\": 60}"
add_route smsc
LONG=$(printf 'Part of a long text number %03d. ' $(seq 1 13)) # 13 x 32 = 416 GSM characters: 3 parts of 153
ID=$(sql "INSERT INTO smspool.outbox (recipient, body, want_report) VALUES ('15550001234', '$LONG', true) RETURNING id") ||
	bail "INSERT"
is "$(sql "SELECT parts FROM smspool.outbox WHERE id = $ID")" 3 "a message of 3 parts"
start_daemon p
wait_for 60 "SELECT status = 'delivered' FROM smspool.outbox WHERE id = $ID" ||
	diag "$(sql "SELECT status, attempts, remote_ids, part_status, error_class, error_text FROM smspool.outbox WHERE id = $ID")"
is "$(smsc_q 'P.map((p) => p.part + ":" + p.status).join(" ")')" \
	"1:ESME_ROK 2:ESME_RTHROTTLED 3:ESME_ROK 2:ESME_ROK" \
	"the SMSC got parts 1 and 3 once and part 2 twice (throttled, then accepted)"
is "$(smsc_q 'P.filter((p) => p.status === "ESME_ROK").length')" 3 "each part accepted exactly once: nothing twice on the handset"
is "$(smsc_q 'new Set(P.map((p) => p.ref)).size')" 1 "the part sent again has the same concatenation reference"
is "$(sql "SELECT status FROM smspool.outbox WHERE id = $ID")" delivered "the message ends delivered"
is "$(sql "SELECT array_to_string(remote_ids, ',') FROM smspool.outbox WHERE id = $ID")" \
	"$(smsc_q 'P.filter((p) => p.status === "ESME_ROK").sort((a, b) => a.part - b.part).map((p) => p.id).join(",")')" \
	"its remote ids are the ids of the accepted parts, in part order"
is "$(sql "SELECT count(DISTINCT part) FROM smspool.reports WHERE message_id = $ID AND state = 'delivered'")" 3 \
	"3 receipts matched, one per part"
stop_daemon p
is "$DAEMON_STATUS" 0 "daemon exits 0"
finish
