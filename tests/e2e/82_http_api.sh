#!/usr/bin/env bash
# The HTTP send API (connection type http-api) with curl as the client, on
# 127.0.0.1 and a free port (the API listens on port 0 and connection_state
# names the port).  Accounts: app1 (unlimited), slow1 (throughput 1 msg/s),
# off1 (disabled).  Messages go to an emulator connection that reports after
# 200 ms.  Checked from the HTTP answers and from SQL: JSON and form submits
# (201, the outbox row of account app1), GET until delivered, another
# account's message is 404, a batch with one bad recipient (207, per-message
# results in order), concurrent requests, every error class (400 unknown
# field / broken JSON / invalid UTF-8 / missing text / bad recipient, 401
# wrong password / no credentials / Bearer, 403 disabled, 404, 405, 413,
# 415, 429 with Retry-After), HTTPS on a second connection, the daemon
# alive after all, a clean stop.
. "$(dirname "$0")/../lib/e2e.sh"
plan 36

e2e_db smspool_e2e_http_api
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('app1', 'longer-secret-1');
	INSERT INTO smspool.accounts (system_id, password, throughput) VALUES ('slow1', 'longer-secret-2', 1);
	INSERT INTO smspool.accounts (system_id, password, enabled) VALUES ('off1', 'longer-secret-3', false)" ||
	bail "accounts"
add_connection api http-api '{"listen": "127.0.0.1:0", "max_body": 4096}'
# HTTPS on a second connection, with a self-signed certificate for 127.0.0.1.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$E2E_TMP/key.pem" -out "$E2E_TMP/cert.pem" >/dev/null 2>&1 || bail "openssl could not make a test certificate"
add_connection apis http-api "{\"listen\": \"127.0.0.1:0\", \"base_path\": \"/sms\", \"tls\": true,
	\"tls_cert_file\": \"$E2E_TMP/cert.pem\", \"tls_key_file\": \"$E2E_TMP/key.pem\"}"
add_connection emu emulator '{"report_delay_ms": 200}'
add_route emu
start_daemon api1

wait_for 20 "SELECT state = 'up' AND detail LIKE 'listening on 127.0.0.1:%' FROM smspool.connection_state WHERE name = 'api'" ||
	bail "the http-api connection does not listen: $(sql "SELECT state, detail FROM smspool.connection_state WHERE name = 'api'")"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'api'")
BASE="http://127.0.0.1:$PORT/api/v1"
diag "http-api listening on 127.0.0.1:$PORT"
pass "http-api connection is up and listening on a free port"

# req NAME CURL-ARGS...: one request; prints the status; the body goes to
# $E2E_TMP/NAME.body and the headers to NAME.hdr.
req() {
	local n=$1
	shift
	curl -sS -m 15 -o "$E2E_TMP/$n.body" -D "$E2E_TMP/$n.hdr" -w '%{http_code}' "$@" 2>"$E2E_TMP/$n.err"
}
body() { cat "$E2E_TMP/$1.body"; }
j() { jq -r "$2" "$E2E_TMP/$1.body" 2>/dev/null; } # j NAME 'jq filter'
hdr() { grep -i "^$2:" "$E2E_TMP/$1.hdr" | tr -d '\r' | head -n 1 | cut -d' ' -f2-; }
APP1=(-u app1:longer-secret-1)
JSON=(-H 'Content-Type: application/json')

# --- submits -------------------------------------------------------------------
S=$(req post1 "${APP1[@]}" "${JSON[@]}" --data-binary '{"to": "+15551234567", "text": "Hello from the API", "from": "Shop", "client_ref": "order-17", "priority": 3}' "$BASE/messages")
ID1=$(j post1 .id)
is "$S|$(j post1 .status)|$([[ $ID1 =~ ^[0-9]+$ ]] && echo num)" "201|queued|num" "POST JSON -> 201 {\"id\": N, \"status\": \"queued\"}"
is "$(hdr post1 Location)" "/api/v1/messages/$ID1" "Location names the new message"
is "$(sql "SELECT account || '|' || recipient || '|' || sender || '|' || body || '|' || client_ref || '|' || priority FROM smspool.outbox WHERE id = ${ID1:-0}")" \
	"app1|+15551234567|Shop|Hello from the API|order-17|3" "the outbox row exists, committed before the answer: account app1, the text and fields"

S=$(req form1 "${APP1[@]}" --data-urlencode 'to=+15551234568' --data-urlencode 'text=Grüße über Form' --data-urlencode 'report=false' "$BASE/messages")
ID2=$(j form1 .id)
is "$S|$(sql "SELECT account || '|' || body || '|' || want_report FROM smspool.outbox WHERE id = ${ID2:-0}")" "201|app1|Grüße über Form|false" \
	"POST application/x-www-form-urlencoded -> 201, UTF-8 text and report=false kept"

S=$(req sched "${APP1[@]}" "${JSON[@]}" --data-binary '{"to": "15551234569", "text": "later", "send_after": "2099-01-02T03:04:05+01:00", "valid_until": "2099-01-03T00:00:00Z", "class": 1, "flash": true}' "$BASE/messages")
ID3=$(j sched .id)
is "$S|$(sql "SELECT to_char(send_after AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '|' || to_char(valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '|' || msg_class || '|' || flash FROM smspool.outbox WHERE id = ${ID3:-0}")" \
	"201|2099-01-02 02:04:05|2099-01-03 00:00:00|1|true" "ISO 8601 send_after (with offset) and valid_until, class and flash"

# --- HTTPS ---------------------------------------------------------------------
wait_for 10 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'apis'" || diag "apis: $(sql "SELECT state, detail FROM smspool.connection_state WHERE name = 'apis'")"
TLS_PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'apis'")
S=$(req tls1 --cacert "$E2E_TMP/cert.pem" "${APP1[@]}" "${JSON[@]}" --data-binary '{"to": "+15551230000", "text": "over HTTPS"}' "https://127.0.0.1:${TLS_PORT:-1}/sms/messages")
is "$S|$(sql "SELECT account || '|' || body FROM smspool.outbox WHERE id = $(j tls1 '.id // 0')")" "201|app1|over HTTPS" \
	"HTTPS (tls, base_path /sms, certificate verified by curl): POST -> 201 and the row"

# --- GET -----------------------------------------------------------------------
st=""
for ((i = 0; i < 100; i++)); do
	S=$(req get1 "${APP1[@]}" "$BASE/messages/${ID1:-0}")
	st=$(j get1 .status)
	[ "$st" = delivered ] && break
	sleep 0.2
done
is "$S|$st|$(j get1 '[.id, .to, .from, .client_ref, .connection, .error] | map(tostring) | join("|")')" \
	"200|delivered|$ID1|+15551234567|Shop|order-17|emu|null" "GET {base}/messages/{id}: the status progresses to delivered"
like "$(j get1 '[.created_at, .sent_at, .done_at] | join(" ")')" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z [0-9-]{10}T[0-9:]{8}Z [0-9-]{10}T[0-9:]{8}Z$' \
	"created_at, sent_at, done_at in ISO 8601 UTC"
S=$(req get2 -u slow1:longer-secret-2 "$BASE/messages/${ID1:-0}")
is "$S|$(body get2)" '404|{"error":"no such message"}' "GET of another account's message -> 404"
S=$(req get3 "${APP1[@]}" "$BASE/messages/999999999")
is "$S|$(j get3 .error)" "404|no such message" "GET of an unknown id -> 404"

# --- batch ---------------------------------------------------------------------
S=$(req batch1 "${APP1[@]}" "${JSON[@]}" --data-binary '[{"to": "+15550000001", "text": "batch one"},
	{"to": "not-a-number", "text": "batch two"}, {"to": "+15550000003", "text": "batch three"}]' "$BASE/messages")
is "$S|$(j batch1 '[.messages[] | if .id then "id" else .field + ":" + .error end] | join(",")')" \
	"207|id,to:outbox.recipient: must be 1 to 20 digits with an optional leading + (got \"not-a-number\"),id" \
	"batch with one invalid recipient -> 207, per-message results in input order"
B1=$(j batch1 '.messages[0].id')
B3=$(j batch1 '.messages[2].id')
is "$(sql "SELECT string_agg(body, ',' ORDER BY id) FROM smspool.outbox WHERE id IN (${B1:-0}, ${B3:-0}) AND account = 'app1'")" \
	"batch one,batch three" "the two valid messages of the batch are in the outbox"
S=$(req batch2 "${APP1[@]}" "${JSON[@]}" --data-binary '{"messages": [{"to": "+15550000004", "text": "b4"}, {"to": "+15550000005", "text": "b5"}]}' "$BASE/messages")
is "$S|$(j batch2 '[.messages[] | .status] | join(",")')" "201|queued,queued" "{\"messages\": [...]} all valid -> 201"

# --- concurrency -----------------------------------------------------------------
before=$(count_where "account = 'app1'")
seq 1 40 | xargs -P 10 -I{} curl -sS -m 15 -o /dev/null -w '%{http_code}\n' -u app1:longer-secret-1 \
	-H 'Content-Type: application/json' --data-binary '{"to": "+1555100{}", "text": "parallel {}"}' "$BASE/messages" >"$E2E_TMP/par.codes"
is "$(sort "$E2E_TMP/par.codes" | uniq -c | awk '{print $2 "x" $1}')|$(($(count_where "account = 'app1'") - before))" "201x40|40" \
	"40 requests, 10 at a time: 40 x 201 and 40 new rows"

# --- errors ----------------------------------------------------------------------
S=$(req e_unknown "${APP1[@]}" "${JSON[@]}" --data-binary '{"to": "+15551234567", "text": "x", "colour": "red"}' "$BASE/messages")
is "$S|$(j e_unknown .field)" "400|colour" "unknown field -> 400 naming the field"
like "$(j e_unknown .error)" '^unknown field "colour"' "... with a clear message"
S=$(req e_json "${APP1[@]}" "${JSON[@]}" --data-binary '{"to": "+1555", "text": ' "$BASE/messages")
like "$S|$(j e_json .error)" '^400\|broken JSON at line 1' "broken JSON -> 400"
S=$(req e_utf8 "${APP1[@]}" "${JSON[@]}" --data-binary "$(printf '{"to": "+15551234567", "text": "\xff\xfe"}')" "$BASE/messages")
like "$S|$(j e_utf8 .error)" '^400\|the body is not valid UTF-8' "invalid UTF-8 -> 400"
S=$(req e_notext "${APP1[@]}" "${JSON[@]}" --data-binary '{"to": "+15551234567"}' "$BASE/messages")
is "$S|$(j e_notext .field)" "400|text" "missing text -> 400, field text"
S=$(req e_noto "${APP1[@]}" --data-urlencode 'text=hi' "$BASE/messages")
is "$S|$(j e_noto .field)" "400|to" "missing to (form) -> 400, field to"
S=$(req e_rcpt "${APP1[@]}" "${JSON[@]}" --data-binary '{"to": "12ab", "text": "x"}' "$BASE/messages")
is "$S|$(j e_rcpt .field)|$(j e_rcpt .error)" '400|to|outbox.recipient: must be 1 to 20 digits with an optional leading + (got "12ab")' \
	"bad recipient -> 400 with the database's validation message"
S=$(req e_valid "${APP1[@]}" "${JSON[@]}" --data-binary '{"to": "+15551234567", "text": "x", "send_after": "2030-01-02T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"}' "$BASE/messages")
is "$S|$(j e_valid .field)" '400|valid_until' "valid_until before send_after -> 400, field valid_until (the column the database names)"
S=$(req e_pw -u app1:wrong-password "${JSON[@]}" --data-binary '{"to": "+15551234567", "text": "x"}' "$BASE/messages")
is "$S|$(hdr e_pw WWW-Authenticate)" '401|Basic realm="smspool"' "wrong password -> 401 with WWW-Authenticate"
S=$(req e_nocred "${JSON[@]}" --data-binary '{"to": "+15551234567", "text": "x"}' "$BASE/messages")
is "$S|$(hdr e_nocred WWW-Authenticate)" '401|Basic realm="smspool"' "no credentials -> 401"
S=$(req e_bearer -H 'Authorization: Bearer abc' "${JSON[@]}" --data-binary '{"to": "+15551234567", "text": "x"}' "$BASE/messages")
like "$S|$(j e_bearer .error)" '^401\|Bearer tokens are not supported' "Authorization: Bearer -> 401, not supported"
S=$(req e_off -u off1:longer-secret-3 "${JSON[@]}" --data-binary '{"to": "+15551234567", "text": "x"}' "$BASE/messages")
is "$S" 403 "disabled account -> 403"
head -c 5000 /dev/zero | tr '\0' 'a' >"$E2E_TMP/big.txt"
S=$(req e_big "${APP1[@]}" "${JSON[@]}" --data-binary "@$E2E_TMP/big.txt" "$BASE/messages")
is "$S" 413 "body over max_body -> 413"
S=$(req e_ct "${APP1[@]}" -H 'Content-Type: text/plain' --data-binary 'hello' "$BASE/messages")
is "$S" 415 "Content-Type text/plain -> 415"
codes=""
for i in 1 2 3 4 5; do
	codes+="$(req slow$i -u slow1:longer-secret-2 "${JSON[@]}" --data-binary "{\"to\": \"+1555200000$i\", \"text\": \"slow $i\"}" "$BASE/messages") "
done
like "$codes" '^201 (.* )?429 ' "over the account's throughput (1 msg/s) -> 429 (codes: $codes)"
ra=""
for i in 2 3 4 5; do [ -s "$E2E_TMP/slow$i.hdr" ] && grep -q '^HTTP/1.1 429' "$E2E_TMP/slow$i.hdr" && ra=$(hdr slow$i Retry-After) && break; done
like "$ra" '^[1-9][0-9]*$' "429 carries Retry-After"
S=$(req e_path "${APP1[@]}" "http://127.0.0.1:$PORT/nothing/here")
is "$S|$(j e_path 'has("error")')" "404|true" "unknown path -> 404 with a JSON error"
S=$(req e_method "${APP1[@]}" "$BASE/messages")
is "$S|$(hdr e_method Allow)" "405|POST" "GET {base}/messages -> 405, Allow: POST"

# --- the end ---------------------------------------------------------------------
ok "$(daemon_alive api1 && echo t)" "the daemon is still alive"
is "$(grep -c -e 'longer-secret' -e 'wrong-password' "${DAEMON_LOG[api1]}")" 0 "no password in the log"
if stop_daemon api1; then pass "SIGTERM -> exit 0"; else fail "SIGTERM -> exit 0" "status $DAEMON_STATUS"; fi
finish
