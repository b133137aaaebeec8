#!/usr/bin/env bash
# The SMPP client (connection type smpp) against an independent SMSC: npm
# `smpp` 0.5.1 scripted by tests/peers/smsc.js, on 127.0.0.1 and a free port.
# Three connections bind to it: "smsc" (transceiver, UDH), "split"
# (transmitter+receiver, SAR TLVs, Latin-1 data_coding) and "late" (a wrong
# password first, then fixed; long texts as message_payload).  Checked from
# SQL and from what the SMSC recorded: binds, GSM / UCS-2 / long texts ending
# delivered through receipts (half of them with the id only in the receipt
# text, in decimal while submit_sm_resp gave hex), a rejected destination, a
# throttled one retried, MO texts (one long text in UDH parts, one in SAR
# parts) in smspool.inbox once each, a bind failure shown in
# connection_state without losing a message, and the SMSC dropping the
# connection in the middle of a batch: reconnect, every message still final.
. "$(dirname "$0")/../lib/e2e.sh"
plan 39

[ -d "$E2E_ROOT/tests/peers/node_modules/smpp" ] && command -v node >/dev/null 2>&1 ||
	bail "the npm peers are not installed: run make test-deps (tests/peers/install.sh)"

SMSC_DIR=$E2E_TMP/smsc
mkdir -p "$SMSC_DIR"
SMSC_LOG=$SMSC_DIR/events.jsonl
# A self-signed certificate for 127.0.0.1: the SMSC's TLS listener, and the
# CA file of the "secure" connection.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$SMSC_DIR/key.pem" -out "$SMSC_DIR/cert.pem" >/dev/null 2>&1 || bail "openssl could not make a test certificate"
LONG_MO='This inbound text is longer than one SMS can carry, so the SMSC sends it in two parts with a UDH header; smspool joins them.'
SAR_MO='Another long inbound text, this one cut by SAR TLVs instead of a UDH, which smspool has to join just as well as the other one!!'
cat >"$SMSC_DIR/conf.json" <<EOF
{
  "port_file": "$SMSC_DIR/port",
  "tls": {"key": "$SMSC_DIR/key.pem", "cert": "$SMSC_DIR/cert.pem", "port_file": "$SMSC_DIR/tls_port"},
  "log": "$SMSC_LOG",
  "accounts": {"smspool": "secret", "split": "secret2", "late": "secret3", "noisy": "secret4", "secure": "secret5"},
  "ids": "hex",
  "receipts": {"delay_ms": 50, "tlv": "alternate", "text_id": "decimal"},
  "rules": [{"dest_prefix": "1666", "status": "ESME_RINVDSTADR"},
            {"dest_prefix": "1777", "status": "ESME_RTHROTTLED", "times": 1},
            {"dest_prefix": "1779", "status": "ESME_RMSGQFUL", "times": 3}],
  "drop_on_dest": "1888000001",
  "garbage": {"system_id": "noisy", "count": 8},
  "mo": [{"from": "+4915110000001", "to": "12345", "text": "Hello from the SMSC", "system_id": "smspool"},
         {"from": "+4915110000002", "to": "12345", "text": "Grüße aus Köln 😀", "dc": 8, "system_id": "smspool"},
         {"from": "+4915110000003", "to": "12345", "text": "$LONG_MO", "parts": 2, "system_id": "smspool"},
         {"from": "4915110000004", "to": "12346", "text": "$SAR_MO", "parts": 2, "sar": true, "system_id": "split"}]
}
EOF
node "$E2E_ROOT/tests/peers/smsc.js" "$SMSC_DIR/conf.json" >"$SMSC_DIR/stdout" 2>&1 &
SMSC_PID=$!
trap 'kill $SMSC_PID 2>/dev/null; _e2e_cleanup' EXIT
for ((i = 0; i < 100; i++)); do
	[ -s "$SMSC_DIR/port" ] && [ -s "$SMSC_DIR/tls_port" ] && break
	kill -0 $SMSC_PID 2>/dev/null || break
	sleep 0.1
done
[ -s "$SMSC_DIR/port" ] && [ -s "$SMSC_DIR/tls_port" ] || bail "the SMSC did not start: $(cat "$SMSC_DIR/stdout")"
PORT=$(cat "$SMSC_DIR/port")
TLS_PORT=$(cat "$SMSC_DIR/tls_port")
diag "SMSC (npm smpp 0.5.1) on 127.0.0.1:$PORT and TLS $TLS_PORT, pid $SMSC_PID, events in $SMSC_LOG"

# smsc_q 'JS expression': evaluated over L, the SMSC's events.
smsc_q() {
	node -e '
		const fs = require("fs");
		const L = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
		const S = (dst) => L.filter((e) => e.ev === "submit" && e.dst === dst);
		const r = eval(process.argv[2]);
		console.log(typeof r === "object" ? JSON.stringify(r) : String(r));' "$SMSC_LOG" "$1"
}

# wait_smsc SECONDS 'JS expression': polls smsc_q every 0.2 s until it prints true.
wait_smsc() {
	local end=$(($(date +%s%N) / 1000000 + $1 * 1000))
	while [ "$(smsc_q "$2")" != true ]; do
		[ "$(($(date +%s%N) / 1000000))" -lt "$end" ] || return 1
		sleep 0.2
	done
}

e2e_db smspool_e2e_smpp_client
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s'" || bail "config"
COMMON="\"host\": \"127.0.0.1\", \"port\": $PORT, \"enquire_link_s\": 2, \"response_timeout_s\": 5, \"reconnect_min_ms\": 200, \"reconnect_max_ms\": 1000"
add_connection smsc smpp "{$COMMON, \"system_id\": \"smspool\", \"password\": \"secret\"}" 20
add_connection split smpp "{$COMMON, \"system_id\": \"split\", \"password\": \"secret2\", \"bind_mode\": \"transmitter+receiver\", \"long_mode\": \"sar\", \"default_data_coding\": 3}"
add_connection late smpp "{$COMMON, \"system_id\": \"late\", \"password\": \"wrong\", \"long_mode\": \"payload\"}"
add_connection noisy smpp "{$COMMON, \"system_id\": \"noisy\", \"password\": \"secret4\"}"
TLS_COMMON=${COMMON/\"port\": $PORT/\"port\": $TLS_PORT}
add_connection secure smpp "{$TLS_COMMON, \"system_id\": \"secure\", \"password\": \"secret5\", \"tls\": true, \"tls_ca_file\": \"$SMSC_DIR/cert.pem\"}"
add_connection badca smpp "{$TLS_COMMON, \"system_id\": \"secure\", \"password\": \"secret5\", \"tls\": true}"
start_daemon smpp1

# --- binds ---------------------------------------------------------------
if wait_for 20 "SELECT count(*) = 2 FROM smspool.connection_state WHERE name IN ('smsc', 'split') AND state = 'up'"; then
	pass "transceiver and transmitter+receiver connections bind"
else
	fail "transceiver and transmitter+receiver connections bind" "$(sql 'SELECT name, state, detail FROM smspool.connection_state')"
fi
is "$(smsc_q 'L.filter((e) => e.ev === "bind" && e.ok && e.system_id === "split").map((e) => e.mode).sort().join(",")')" \
	"receiver,transmitter" "split binds one transmitter and one receiver session"
if wait_for 20 "SELECT count(*) = 1 FROM smspool.connection_state WHERE name = 'late' AND state <> 'up' AND detail LIKE 'bind failed: ESME_RINVPASWD%'"; then
	pass "a wrong password shows in connection_state as the bind failure"
else
	fail "a wrong password shows in connection_state as the bind failure" "$(sql "SELECT state, detail FROM smspool.connection_state WHERE name = 'late'")"
fi

# --- TLS ---------------------------------------------------------------
sql "INSERT INTO smspool.outbox (recipient, body, connection) VALUES ('+15550000099', 'over TLS', 'secure')" || bail "INSERT"
if wait_for 20 "SELECT status = 'delivered' FROM smspool.outbox WHERE recipient = '+15550000099'"; then
	pass "TLS, verified with the SMSC's certificate as CA: a message delivered"
else
	fail "TLS, verified with the SMSC's certificate as CA: a message delivered" "$(sql "SELECT name, state, detail FROM smspool.connection_state WHERE name = 'secure'")"
fi
if wait_for 20 "SELECT state <> 'up' AND detail LIKE 'TLS with 127.0.0.1:$TLS_PORT failed: certificate verify failed%' FROM smspool.connection_state WHERE name = 'badca'"; then
	pass "TLS against an unknown CA: refused, connection_state says why"
else
	fail "TLS against an unknown CA: refused, connection_state says why" "$(sql "SELECT name, state, detail FROM smspool.connection_state WHERE name = 'badca'")"
fi

# --- submits -------------------------------------------------------------
LONG=$(printf 'Long GSM text %03d. ' $(seq 1 9)) # 9 x 19 = 171 GSM characters: two parts
LATIN=$(printf 'Détail no%02d à régler; ' $(seq 1 8)) # GSM-representable, not ASCII: two parts as Latin-1
PAYLOAD=$(printf 'Payload %03d, ' $(seq 1 20))
sql "INSERT INTO smspool.outbox (recipient, sender, body, connection) VALUES
	('+15550000001', 'Shop', 'Plain GSM text @ 10:00 {ok}', 'smsc'),
	('+15550000002', '+4930123456', 'Grüße, Привет 😀', 'smsc'),
	('+15550000003', '12345', '$LONG', 'smsc'),
	('+16660000001', NULL, 'to a destination the SMSC refuses', 'smsc'),
	('+17770000001', NULL, 'throttled once, then accepted', 'smsc'),
	('+17790000001', NULL, 'queue full three times, then accepted', 'smsc'),
	('+15550000004', 'Split', '$LATIN', 'split'),
	('+15550000005', NULL, 'short, waits for the bind', 'late'),
	('+15550000006', NULL, '$PAYLOAD', 'late')" || bail "INSERT failed"

if wait_for 30 "SELECT count(*) = 7 FROM smspool.outbox WHERE connection IN ('smsc', 'split') AND status IN ($FINAL_STATES)"; then
	pass "seven messages on smsc and split end final"
else
	fail "seven messages on smsc and split end final" "$(sql "SELECT recipient, status, attempts, error_text FROM smspool.outbox ORDER BY id")"
fi
row() { sql "SELECT $1 FROM smspool.outbox WHERE recipient = '$2'"; }
is "$(row "status || ' ' || array_length(remote_ids, 1)" +15550000001)" "delivered 1" "GSM text delivered from the SMSC's receipt"
is "$(smsc_q 'const e = S("15550000001")[0]; [e.dc, e.esm, e.src_ton, e.src_npi, e.dst_ton, e.dst_npi, e.rd, e.text].join("|")')" \
	"0|0|5|0|1|1|1|Plain GSM text @ 10:00 {ok}" "GSM text: data_coding 0, alphanumeric sender 5/0, international 1/1, receipt requested, same text"
is "$(smsc_q 'S("15550000001")[0].sm.slice(0, 4)')" "506c" "GSM text travels as unpacked septets"
is "$(row status +15550000002)" delivered "UCS-2 text delivered"
is "$(smsc_q 'const e = S("15550000002")[0]; [e.dc, e.src_ton, e.text].join("|")')" "8|1|Grüße, Привет 😀" \
	"UCS-2 text: data_coding 8, the emoji as a surrogate pair"
is "$(row "status || ' ' || parts || ' ' || array_length(remote_ids, 1) || ' ' || array_to_string(part_status, ',')" +15550000003)" \
	"delivered 2 2 delivered,delivered" "long text: one outbox row, parts = 2, two remote ids, both parts delivered"
is "$(smsc_q 'S("15550000003").map((e) => e.esm + ":" + e.udh.slice(0, 6) + e.udh.slice(8)).join(" ")')" \
	"64:0500030201 64:0500030202" "long text: two submit_sm with esm_class 0x40 and UDH 05 00 03 ref 02 01/02"
is "$(smsc_q 'S("15550000003").map((e) => e.text).join("")')" "$LONG" "long text: the parts join to the whole text"
is "$(row "status || ' ' || error_class || ' ' || error_code || ' ' || error_text" +16660000001)" \
	"rejected permanent 0x0000000B ESME_RINVDSTADR" "refused destination: rejected with the SMPP error name"
# Throttling is not failure: requeued without spending an attempt.
is "$(row "status || ' ' || attempts" +17770000001)" "delivered 1" "throttled message retried without spending an attempt, then delivered"
is "$(row "status || ' ' || attempts" +17790000001)" "delivered 1" "ESME_RMSGQFUL three times: requeued each time, one attempt, delivered"
is "$(smsc_q 'S("17770000001").map((e) => e.status).join(",")')" "ESME_RTHROTTLED,ESME_ROK" "the SMSC throttled it once"
is "$(row "status || ' ' || parts || ' ' || array_length(remote_ids, 1)" +15550000004)" "delivered 2 2" \
	"SAR long text delivered, two remote ids"
is "$(smsc_q 'S("15550000004").map((e) => [e.dc, e.esm, e.udh === undefined, e.sar.total, e.sar.seq].join(":")).join(" ")')" \
	"3:0:true:2:1 3:0:true:2:2" "SAR long text: data_coding 3, no UDH, sar_* TLVs 1/2 and 2/2"
is "$(smsc_q 'S("15550000004").map((e) => e.text).join("")')" "$LATIN" "SAR long text: Latin-1 octets join to the text"
ok "$(smsc_q 'L.filter((e) => e.ev === "receipt" && !e.tlv && e.text_id !== e.id).length') >= 2" \
	"receipts without receipted_message_id, their id in decimal, still matched (hex ids from submit_sm_resp)"

# --- bind failure: nothing lost, then fixed ------------------------------
is "$(sql "SELECT count(*) FILTER (WHERE status IN ('queued', 'sending')) || '/' || count(*) FROM smspool.outbox WHERE connection = 'late'")" "2/2" \
	"while the bind fails, its messages wait (queued, nothing failed or lost)"
sql "UPDATE smspool.connections SET settings = jsonb_set(settings, '{password}', '\"secret3\"') WHERE name = 'late'" || bail "UPDATE"
if wait_for 30 "SELECT count(*) = 2 FROM smspool.outbox WHERE connection = 'late' AND status = 'delivered'"; then
	pass "after the password is fixed, both waiting messages are delivered"
else
	fail "after the password is fixed, both waiting messages are delivered" "$(sql "SELECT status, error_text FROM smspool.outbox WHERE connection = 'late'") $(sql "SELECT state, detail FROM smspool.connection_state WHERE name = 'late'")"
fi
is "$(smsc_q 'const s = S("15550000006"); [s.length, s[0].sm, s[0].text].join("|")')|$(row parts +15550000006)" "1||$PAYLOAD|1" \
	"payload mode: one submit_sm, empty short_message, the text in message_payload, parts = 1"

# --- MO ------------------------------------------------------------------
if wait_for 20 "SELECT count(*) = 4 FROM smspool.inbox"; then
	pass "four MO texts in smspool.inbox"
else
	fail "four MO texts in smspool.inbox" "$(sql 'SELECT sender, parts, body FROM smspool.inbox')"
fi
is "$(sql "SELECT connection || '|' || recipient || '|' || encoding || '|' || body FROM smspool.inbox WHERE sender = '+4915110000001'")" \
	"smsc|12345|gsm7|Hello from the SMSC" "GSM MO text, international sender with +"
is "$(sql "SELECT encoding || '|' || body FROM smspool.inbox WHERE sender = '+4915110000002'")" "ucs2|Grüße aus Köln 😀" "UCS-2 MO text"
is "$(sql "SELECT count(*) || '|' || min(parts) || '|' || min(body) FROM smspool.inbox WHERE sender = '+4915110000003'")" "1|2|$LONG_MO" \
	"MO long text in UDH parts: one inbox row, parts = 2, whole text"
is "$(sql "SELECT count(*) || '|' || min(connection) || '|' || min(parts) || '|' || min(body) FROM smspool.inbox WHERE sender = '4915110000004'")" \
	"1|split|2|$SAR_MO" "MO long text in SAR parts on the receiver session: one inbox row"
is "$(smsc_q 'L.filter((e) => e.ev === "deliver_resp" && e.kind === "mo").map((e) => e.status).join(",")')" "0,0,0,0,0,0" \
	"every MO deliver_sm answered ESME_ROK (after the commit), once"

# --- a peer that sends garbage -------------------------------------------
if wait_smsc 20 'L.filter((e) => e.ev === "bind" && e.ok && e.system_id === "noisy").length === 2' &&
	wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'noisy'"; then
	pass "a peer sending malformed PDUs is disconnected, and the connection binds again"
else
	fail "a peer sending malformed PDUs is disconnected, and the connection binds again" "$(smsc_q 'L.filter((e) => e.system_id === "noisy")')"
fi
is "$(smsc_q 'L.filter((e) => e.ev === "rx" && e.system_id === "noisy" && e.command === "deliver_sm_resp").map((e) => (e.seq - 0x7000) + ":" + e.status).join(",")')" \
	"0:2,1:2,2:2,3:2,4:2" "each malformed deliver_sm is answered with an error (ESME_RINVCMDLEN) until the fifth, then the session closes"

# --- the SMSC drops the connection in the middle of a batch ---------------
sql "INSERT INTO smspool.outbox (recipient, body, connection)
     SELECT '+1888' || lpad(i::text, 7, '0'), 'batch ' || i, 'smsc' FROM generate_series(1, 20) i" || bail "INSERT batch"
if wait_for 40 "SELECT count(*) = 20 FROM smspool.outbox WHERE recipient LIKE '+1888%' AND status = 'delivered'"; then
	pass "SMSC drops the connection mid-batch: all 20 messages still end delivered"
else
	fail "SMSC drops the connection mid-batch: all 20 messages still end delivered" "$(sql "SELECT status, count(*) FROM smspool.outbox WHERE recipient LIKE '+1888%' GROUP BY 1")"
fi
is "$(smsc_q 'L.filter((e) => e.ev === "drop").length + ":" + L.filter((e) => e.ev === "bind" && e.ok && e.system_id === "smspool").length')" \
	"1:2" "the SMSC dropped once and smsc bound again"
ok "$(sql "SELECT count(*) FROM smspool.outbox WHERE recipient LIKE '+1888%' AND attempts > 1") >= 1" \
	"the message whose submit was cut off was sent again"
# The unbind check below needs smsc bound again: waited for, and asserted.
if wait_for 10 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'smsc'"; then
	pass "smsc is bound again before the stop"
else
	fail "smsc is bound again before the stop" "$(sql "SELECT instance || ':' || state || ' ' || coalesce(detail, '') FROM smspool.connection_state WHERE name = 'smsc'")"
fi

stop_daemon smpp1
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
is "$(smsc_q 'L.filter((e) => e.ev === "unbind").map((e) => e.system_id).sort().join(",")')" "late,noisy,secure,smspool,split,split" \
	"each session unbinds on stop"
finish
