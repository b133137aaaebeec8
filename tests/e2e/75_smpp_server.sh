#!/usr/bin/env bash
# The SMPP server (connection type smpp-server) with an independent ESME:
# npm `smpp` 0.5.1 scripted by tests/peers/esme.js, on 127.0.0.1 and a free
# port (the server listens on port 0 and connection_state names the port).
# Account esme1; outbound messages go to an emulator connection that reports
# after 200 ms; inbound texts come from a loopback connection through an
# inbound route.  Checked from what the ESME printed and from SQL: bind
# refusals (wrong password, unknown system_id) with the daemon still alive;
# GSM and UCS-2 submits whose submit_sm_resp ids are the outbox ids of
# account esme1; delivery receipts (stat:DELIVRD, the id, TLVs); a receipt
# kept for a session that binds later; an inbound text as deliver_sm; an
# invalid recipient refused with ESME_RINVDSTADR, an invalid sender with
# ESME_RINVSRCADR, a validity before the schedule with ESME_RINVEXPIRY (the
# field the database names, issue 17); a relative validity period;
# 200 concurrent binds each submitting once; a clean stop.
. "$(dirname "$0")/../lib/e2e.sh"
plan 31

[ -d "$E2E_ROOT/tests/peers/node_modules/smpp" ] && command -v node >/dev/null 2>&1 ||
	bail "the npm peers are not installed: run make test-deps (tests/peers/install.sh)"

e2e_db smspool_e2e_smpp_server
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('esme1', 'secret1')" || bail "account"
# A self-signed certificate for 127.0.0.1: the TLS listener's, and the ESME's CA.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$E2E_TMP/key.pem" -out "$E2E_TMP/cert.pem" >/dev/null 2>&1 || bail "openssl could not make a test certificate"
add_connection smppd smpp-server "{\"listen\": \"127.0.0.1:0\", \"enquire_link_s\": 5, \"response_timeout_s\": 5,
	\"tls_listen\": \"127.0.0.1:0\", \"tls_cert_file\": \"$E2E_TMP/cert.pem\", \"tls_key_file\": \"$E2E_TMP/key.pem\"}"
add_connection emu emulator '{"report_delay_ms": 200}'
add_connection lo loopback '{}'
add_route emu
sql "INSERT INTO smspool.inbound_routes (position, connection, account) VALUES (1, 'lo', 'esme1')" || bail "inbound route"
start_daemon srv1

wait_for 20 "SELECT state = 'up' AND detail LIKE 'listening on 127.0.0.1:%' FROM smspool.connection_state WHERE name = 'smppd'" ||
	bail "the smpp-server connection does not listen: $(sql "SELECT state, detail FROM smspool.connection_state WHERE name = 'smppd'")"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'smppd'")
TLS_PORT=$(sql "SELECT substring(detail from 'and tls 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'smppd'")
diag "smpp-server listening on 127.0.0.1:$PORT, TLS on $TLS_PORT"
pass "smpp-server connection is up and listening on a free port"

# esme NAME 'STEPS JSON': runs tests/peers/esme.js; its output goes to $E2E_TMP/NAME.jsonl.
esme() {
	printf '{"port": %s, "tls_port": %s, "ca": "%s", "timeout_ms": 20000, "steps": %s}\n' "$PORT" "${TLS_PORT:-0}" "$E2E_TMP/cert.pem" "$2" >"$E2E_TMP/$1.json"
	node "$E2E_ROOT/tests/peers/esme.js" "$E2E_TMP/$1.json" >"$E2E_TMP/$1.jsonl" 2>"$E2E_TMP/$1.err"
}
# q NAME 'jq filter': over the events NAME printed (slurped into one array).
q() { jq -r -s "$2" "$E2E_TMP/$1.jsonl"; }

# --- bind refusals ---------------------------------------------------------
esme refuse '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "wrong"},
	{"op": "bind", "as": "b", "system_id": "nobody", "password": "x"}]'
is "$(q refuse '[.[] | select(.ev == "bind_resp") | .status] | join(",")')" "ESME_RINVPASWD,ESME_RINVSYSID" \
	"wrong password -> ESME_RINVPASWD, unknown system_id -> ESME_RINVSYSID"
ok "$(daemon_alive srv1 && echo t)" "the daemon is still alive after the refusals"
like "$(grep -c 'smpp_server_bind_refused.*reason="wrong password"' "${DAEMON_LOG[srv1]}")" '^[1-9]' \
	"the refusal is logged with its reason"
is "$(grep -c 'wrong"' "${DAEMON_LOG[srv1]}")" 0 "the password itself is never logged"

# --- protocol errors ---------------------------------------------------------
# A submit before any bind; then five PDUs of an unknown command id.
esme proto '[{"op": "connect", "as": "a"},
	{"op": "submit", "as": "a", "ref": "unbound", "to": "+15550000001", "text": "too early"},
	{"op": "raw", "as": "a", "hex": "00000010000000ff0000000000000777", "count": 5},
	{"op": "wait_close", "as": "a"}]'
is "$(q proto '[.[] | select(.ev == "submit_resp") | .status] | join(",")')" "ESME_RINVBNDSTS" "submit_sm before bind -> ESME_RINVBNDSTS"
is "$(q proto '[.[] | select(.ev == "generic_nack") | .status] | join(",")'),$(q proto '[.[] | select(.ev == "close" or .ev == "timeout") | .ev] | join(",")')" \
	"ESME_RINVCMDID,ESME_RINVCMDID,ESME_RINVCMDID,ESME_RINVCMDID,ESME_RINVCMDID,close" \
	"five bad PDUs: each answered generic_nack ESME_RINVCMDID, then the server closes the session"

# --- submits and receipts on one transceiver session ------------------------
esme trx '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1"},
	{"op": "submit", "as": "a", "ref": "gsm", "to": "+15550000001", "from": "Shop", "text": "Plain GSM @ {ok}"},
	{"op": "submit", "as": "a", "ref": "ucs2", "to": "+15550000002", "from": "+4930123456", "text": "Grüße, Привет 😀", "dc": 8},
	{"op": "submit", "as": "a", "ref": "bad", "to": "not-a-number", "text": "to nowhere"},
	{"op": "submit", "as": "a", "ref": "valid", "to": "+15550000003", "text": "valid for a day", "validity": "000001000000000R"},
	{"op": "submit", "as": "a", "ref": "badfrom", "to": "+15550000004", "from": "Sender name too long", "text": "x"},
	{"op": "submit", "as": "a", "ref": "expiry", "to": "+15550000005", "text": "gone before it is due",
	 "schedule": "000002000000000R", "validity": "000001000000000R"},
	{"op": "wait", "as": "a", "receipts": 3},
	{"op": "unbind", "as": "a"}]'
is "$(q trx '[.[] | select(.ev == "bind_resp") | .status + ":" + .system_id + ":" + (.sc_version | tostring)] | join(",")')" \
	"ESME_ROK:smspool:52" "bind_transceiver OK, our system_id and sc_interface_version 0x34"
is "$(q trx '[.[] | select(.ev == "submit_resp") | .ref + ":" + .status] | join(",")')" \
	"gsm:ESME_ROK,ucs2:ESME_ROK,bad:ESME_RINVDSTADR,valid:ESME_ROK,badfrom:ESME_RINVSRCADR,expiry:ESME_RINVEXPIRY" \
	"submit_sm_resp statuses by the field the database refused (recipient, sender, validity before the schedule)"
GSM_ID=$(q trx '.[] | select(.ev == "submit_resp" and .ref == "gsm") | .id')
UCS_ID=$(q trx '.[] | select(.ev == "submit_resp" and .ref == "ucs2") | .id')
VAL_ID=$(q trx '.[] | select(.ev == "submit_resp" and .ref == "valid") | .id')
is "$(sql "SELECT account || '|' || recipient || '|' || sender || '|' || body FROM smspool.outbox WHERE id = ${GSM_ID:-0}")" \
	"esme1|+15550000001|Shop|Plain GSM @ {ok}" "GSM submit: message_id is the outbox id, account esme1, text and addresses kept"
is "$(sql "SELECT account || '|' || sender || '|' || encoding || '|' || body FROM smspool.outbox WHERE id = ${UCS_ID:-0}")" \
	"esme1|+4930123456|ucs2|Grüße, Привет 😀" "UCS-2 submit: outbox row with the decoded text"
ok "$(sql "SELECT valid_until BETWEEN now() + interval '23 hours' AND now() + interval '25 hours' FROM smspool.outbox WHERE id = ${VAL_ID:-0}")" \
	"relative validity_period (1 day) -> valid_until"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE account = 'esme1'")" 3 "three outbox rows for esme1, none for the refused submit"
if wait_for 20 "SELECT count(*) = 3 FROM smspool.outbox WHERE account = 'esme1' AND status = 'delivered'"; then
	pass "the emulator delivers them"
else
	fail "the emulator delivers them" "$(state_counts)"
fi
is "$(q trx "[.[] | select(.ev == \"deliver\" and .receipt) | .receipted_id] | sort | join(\",\")")" \
	"$(printf '%s\n' "$GSM_ID" "$UCS_ID" "$VAL_ID" | sort | paste -sd,)" "a receipt for each message, receipted_message_id = its id"
R=$(q trx ".[] | select(.ev == \"deliver\" and .receipt and .receipted_id == \"$GSM_ID\")")
like "$(jq -r .text <<<"$R")" "^id:$GSM_ID sub:001 dlvrd:001 submit date:[0-9]{10} done date:[0-9]{10} stat:DELIVRD err:000 text:$" \
	"receipt text in the standard format with stat:DELIVRD"
is "$(jq -r '[.esm, .message_state, .src, .src_ton, .dst] | map(tostring) | join("|")' <<<"$R")" "4|2|15550000001|1|Shop" \
	"receipt: esm_class 0x04, message_state DELIVERED, from the recipient to the original sender"

# --- TLS ---------------------------------------------------------------------
esme tls '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1", "tls": true},
	{"op": "submit", "as": "a", "ref": "tls", "to": "+15550000004", "text": "over TLS", "rd": 0},
	{"op": "unbind", "as": "a"}]'
TLS_ID=$(q tls '.[] | select(.ev == "submit_resp") | .id')
is "$(q tls '[.[] | select(.ev == "bind_resp" or .ev == "submit_resp") | .status] | join(",")')|$(sql "SELECT body FROM smspool.outbox WHERE id = ${TLS_ID:-0}")" \
	"ESME_ROK,ESME_ROK|over TLS" "over TLS (tls_listen, verified by the ESME): bind and submit"

# --- a receipt for a session that binds later --------------------------------
esme early '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1", "mode": "transmitter"},
	{"op": "submit", "as": "a", "ref": "later", "to": "+15550000009", "text": "report me later"},
	{"op": "unbind", "as": "a"}]'
LATER_ID=$(q early '.[] | select(.ev == "submit_resp") | .id')
is "$(q early '[.[] | select(.ev == "submit_resp" or .ev == "unbind_resp") | .status] | join(",")')" "ESME_ROK,ESME_ROK" \
	"transmitter session: submit, then unbind before the report"
if wait_for 20 "SELECT count(*) = 1 FROM smspool.account_events WHERE kind = 'report' AND message_id = ${LATER_ID:-0}"; then
	pass "its report waits as an account event while nobody is bound"
else
	fail "its report waits as an account event while nobody is bound" "$(sql "SELECT status FROM smspool.outbox WHERE id = ${LATER_ID:-0}")"
fi
esme late '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1", "mode": "receiver"},
	{"op": "wait", "as": "a", "receipts": 1},
	{"op": "unbind", "as": "a"}]'
is "$(q late '[.[] | select(.ev == "deliver" and .receipt) | .receipted_id + ":" + (.text | capture("stat:(?<s>[A-Z]+)").s)] | join(",")')" \
	"$LATER_ID:DELIVRD" "bind_receiver later: the receipt arrives then"
if wait_for 10 "SELECT count(*) = 0 FROM smspool.account_events WHERE message_id = ${LATER_ID:-0}"; then
	pass "the acknowledged event is gone from account_events"
else
	fail "the acknowledged event is gone from account_events" "$(sql "SELECT * FROM smspool.account_events")"
fi

# --- an inbound text through an inbound route --------------------------------
LONG_MO=$(printf 'Inbound part %02d; ' $(seq 1 12)) # 12 x 17 = 204 characters: two parts
esme mo '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1"},
	{"op": "wait", "as": "a", "texts": 3},
	{"op": "unbind", "as": "a"}]' &
MO_PID=$!
# loopback: the text comes back from the recipient to the sender, on connection lo
for ((i = 0; i < 100; i++)); do # the ESME binds first, so the events are delivered, not only queued
	grep -q bind_resp "$E2E_TMP/mo.jsonl" 2>/dev/null && break
	sleep 0.1
done
sql "INSERT INTO smspool.outbox (recipient, sender, body, connection) VALUES
	('+4915110000001', '12345', 'Hello from a handset', 'lo'),
	('+4915110000002', '12345', '$LONG_MO', 'lo')" || bail "INSERT inbound"
wait $MO_PID
is "$(q mo '[.[] | select(.ev == "deliver" and (.receipt | not) and .udh == null) | .src + "|" + .dst + "|" + (.dc | tostring) + "|" + .text] | join(",")')" \
	"4915110000001|12345|0|Hello from a handset" "inbound text -> deliver_sm to the ESME (GSM, data_coding 0)"
is "$(q mo '[.[] | select(.ev == "deliver" and .udh != null)] | sort_by(.udh) | map(.text) | join("")')" "$LONG_MO" \
	"long inbound text -> two deliver_sm with UDH, joining to the text"
is "$(sql "SELECT count(*) FROM smspool.inbox WHERE consumed_by = 'account:esme1'")" 2 "both inbox rows consumed by the account"

# --- account limits: max_binds and throughput ----------------------------------
sql "UPDATE smspool.accounts SET max_binds = 2, throughput = 2 WHERE system_id = 'esme1'" || bail "UPDATE account"
esme limits '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1"},
	{"op": "bind", "as": "b", "system_id": "esme1", "password": "secret1", "mode": "transmitter"},
	{"op": "bind", "as": "c", "system_id": "esme1", "password": "secret1", "mode": "receiver"},
	{"op": "submit", "as": "b", "ref": "t1", "to": "+15570000001", "text": "t", "rd": 0},
	{"op": "submit", "as": "b", "ref": "t2", "to": "+15570000002", "text": "t", "rd": 0},
	{"op": "submit", "as": "b", "ref": "t3", "to": "+15570000003", "text": "t", "rd": 0},
	{"op": "submit", "as": "b", "ref": "t4", "to": "+15570000004", "text": "t", "rd": 0},
	{"op": "submit", "as": "b", "ref": "t5", "to": "+15570000005", "text": "t", "rd": 0},
	{"op": "submit", "as": "b", "ref": "t6", "to": "+15570000006", "text": "t", "rd": 0},
	{"op": "unbind", "as": "a"}, {"op": "unbind", "as": "b"}]'
is "$(q limits '[.[] | select(.ev == "bind_resp") | .status] | join(",")')" "ESME_ROK,ESME_ROK,ESME_RBINDFAIL" \
	"max_binds 2: a third session of the account is refused (ESME_RBINDFAIL)"
THR=$(q limits '[.[] | select(.ev == "submit_resp") | .status] | group_by(.) | map("\(.[0])=\(length)") | join(" ")')
like "$THR" '^ESME_ROK=[234] ESME_RTHROTTLED=[234]$' "throughput 2/s: six quick submits, the ones over the limit get ESME_RTHROTTLED ($THR)"
sql "UPDATE smspool.accounts SET max_binds = 0, throughput = NULL WHERE system_id = 'esme1'" || bail "UPDATE account"

# --- 200 concurrent binds ----------------------------------------------------
esme many '[{"op": "many", "count": 200, "system_id": "esme1", "password": "secret1", "to_prefix": "+1556", "text": "many"}]'
is "$(q many '.[] | select(.ev == "many") | "\(.bound) \(.statuses.ESME_ROK) \(.ids | unique | length)"')" "200 200 200" \
	"200 concurrent binds all succeed and each submit gets its own id"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE account = 'esme1' AND recipient LIKE '+1556%'")" 200 \
	"200 outbox rows of esme1"

# --- stop --------------------------------------------------------------------
esme idle '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1"}, {"op": "wait", "as": "a", "receipts": 1000}]' &
IDLE_PID=$!
for ((i = 0; i < 100; i++)); do
	grep -q bind_resp "$E2E_TMP/idle.jsonl" 2>/dev/null && break
	sleep 0.1
done
stop_daemon srv1
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM with an ESME bound"
wait $IDLE_PID
is "$(q idle '[.[] | select(.ev == "unbind" or .ev == "close") | .ev] | join(",")')" "unbind,close" \
	"the bound ESME is sent unbind on stop, then the session closes"
finish
