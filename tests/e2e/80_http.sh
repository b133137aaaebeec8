#!/usr/bin/env bash
# The http connection against a scripted provider (tests/peers/http_provider.py
# on 127.0.0.1): one connection per scenario, checked from SQL and from the
# requests the provider recorded.
#  - success (generic-json preset, bearer auth, JSON body) → sent with the
#    provider's id, then the provider's HMAC-signed callback → delivered
#  - Kannel sendsms (kannel.json preset): 202 "0: Accepted", dlr-url → delivered
#  - multipart "parts": one request per part, one id per part, UDH per part
#  - 4xx → rejected with the provider's error text; 5xx, 429, timeout,
#    connection reset → retried (attempts > 1), finally failed
#  - callbacks: inbound (JSON + HMAC, and GET + token) → smspool.inbox;
#    missing/wrong credentials → 401/403 and nothing stored; 413, 400, 404
#  - a bad template is refused at configuration time, naming the placeholder
. "$(dirname "$0")/../lib/e2e.sh"
plan 38

PROV_LOG=$E2E_TMP/provider.jsonl
PROV_PID=
_http_cleanup() {
	[ -n "$PROV_PID" ] && kill "$PROV_PID" 2>/dev/null && wait "$PROV_PID" 2>/dev/null
	_e2e_cleanup
}
trap _http_cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# prov 'EXPR': evaluates a Python expression over R, the list of recorded requests.
prov() {
	python3 - "$PROV_LOG" "$1" <<'EOF'
import json, sys
R = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")] if __import__("os").path.exists(sys.argv[1]) else []
print(eval(sys.argv[2]))
EOF
}

# wait_prov SECONDS 'EXPR': polls until EXPR over R is True.
wait_prov() {
	local end=$(($(now_ms) + $1 * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		[ "$(prov "$2")" = True ] && return 0
		sleep 0.2
	done
	diag "timed out waiting for provider: $2"
	return 1
}

hmac_hex() { # hmac_hex SECRET < body
	python3 -c 'import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())' "$1"
}

# http_code URL [curl args...]: prints the HTTP status (000 when no answer).
http_code() {
	local url=$1
	shift
	curl -s -m 10 -o "$E2E_TMP/last_body" -w '%{http_code}' "$@" "$url"
}

# preset_conn NAME PRESET 'OVERRIDES JSON': a connection from conf/http/PRESET merged with overrides.
preset_conn() {
	local preset
	preset=$(sed "s/'/''/g" "conf/http/$2")
	sql "INSERT INTO smspool.connections (name, type, settings)
	     VALUES ('$1', 'http', '$preset'::jsonb || '$3'::jsonb)" || bail "could not add connection $1"
}

# --- set-up ---------------------------------------------------------------------------
python3 tests/peers/http_provider.py --port-file "$E2E_TMP/provider.port" --log "$PROV_LOG" \
	--slow 3 --hmac-secret s3cret >"$E2E_TMP/provider.out" 2>&1 &
PROV_PID=$!
for _ in $(seq 1 50); do
	[ -s "$E2E_TMP/provider.port" ] && break
	sleep 0.1
done
[ -s "$E2E_TMP/provider.port" ] || bail "the provider did not start: $(cat "$E2E_TMP/provider.out")"
P=$(cat "$E2E_TMP/provider.port")
L1=$(free_port)
L2=$(free_port)
while [ "$L2" = "$L1" ]; do L2=$(free_port); done
PROV=http://127.0.0.1:$P

e2e_db smspool_e2e_http
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s';
     UPDATE smspool.config SET value = '3' WHERE key = 'max_attempts'" || bail "config"

preset_conn ok generic-json.json "{\"url\": \"$PROV/ok/v1/messages\", \"token\": \"tok123\",
	\"callback_url\": \"http://127.0.0.1:$L1/report\", \"listen\": \"127.0.0.1:$L1\", \"callback_secret\": \"s3cret\"}"
preset_conn kannel kannel.json "{\"url\": \"$PROV/cgi-bin/sendsms?username={username}&password={password}&to={recipient}&from={sender}&text={text}&charset=UTF-8&dlr-mask=19&dlr-url={callback_url}\",
	\"username\": \"foo\", \"password\": \"bar\", \"listen\": \"127.0.0.1:$L2\", \"callback_secret\": \"kt\",
	\"callback_url\": \"http://127.0.0.1:$L2/report?id={id}&status=%d&token=kt\"}"
add_connection parts http "{\"url\": \"$PROV/ok/parts\", \"multipart\": \"parts\",
	\"body\": \"to={recipient}&text={text}&udh={udh_hex}&part={part}&of={parts}&ref={id}\", \"id_json_pointer\": \"/message_id\"}"
add_connection rej http "{\"url\": \"$PROV/reject/send\", \"content_type\": \"application/json\",
	\"body\": \"{\\\"to\\\": \\\"{recipient}\\\"}\", \"error_json_pointer\": \"/error/message\"}"
add_connection t5xx http "{\"url\": \"$PROV/fail5xx/send?to={recipient}\", \"method\": \"GET\"}"
add_connection thr http "{\"url\": \"$PROV/throttle/send?to={recipient}\", \"method\": \"GET\"}"
add_connection slow http "{\"url\": \"$PROV/slow/send?to={recipient}\", \"method\": \"GET\", \"timeout_ms\": 1000}"
add_connection reset http "{\"url\": \"$PROV/reset/send\", \"body\": \"to={recipient}\"}"
add_connection badtpl http "{\"url\": \"$PROV/ok/x?to={recipent}\"}"

start_daemon e2ehttp
wait_for 20 "SELECT count(*) = 8 FROM smspool.connection_state WHERE state = 'up'" ||
	bail "connections not up: $(sql "SELECT string_agg(name || '=' || state || ':' || coalesce(detail, ''), ' ') FROM smspool.connection_state")"

TEXT='Hi "you" & <b> é € 😀'
LONG=$(printf 'B%.0s' $(seq 1 170))
sql "INSERT INTO smspool.outbox (recipient, sender, body, connection, client_ref) VALUES
	('+15550000001', 'ACME', '$TEXT', 'ok', 'ok1'),
	('+15550000002', 'ACME', 'kannel text é', 'kannel', 'kan1'),
	('+15550000003', 'ACME', 'rejected', 'rej', 'rej1'),
	('+15550000004', 'ACME', 'five hundred', 't5xx', '5xx1'),
	('+15550000005', 'ACME', 'throttled', 'thr', 'thr1'),
	('+15550000006', 'ACME', 'slow', 'slow', 'slow1'),
	('+15550000007', 'ACME', 'reset', 'reset', 'reset1');
     INSERT INTO smspool.outbox (recipient, sender, body, connection, client_ref, want_report)
	VALUES ('+15550000008', 'ACME', '$LONG', 'parts', 'parts1', false)" || bail "INSERT failed"

# --- configuration errors ----------------------------------------------------------------
wait_for 10 "SELECT count(*) = 1 FROM smspool.connection_state WHERE name = 'badtpl' AND state = 'error'"
like "$(sql "SELECT state || ': ' || detail FROM smspool.connection_state WHERE name = 'badtpl'")" \
	'^error: .*unknown placeholder \{recipent\}' "a template with an unknown placeholder is refused, naming it"

# --- success with the provider's id, then its signed delivery callback -----------------------
row() { sql "SELECT $2 FROM smspool.outbox WHERE client_ref = '$1'"; }
wait_for 20 "SELECT status = 'delivered' FROM smspool.outbox WHERE client_ref = 'ok1'" ||
	diag "ok1: $(row ok1 "status || ' ' || coalesce(error_text, '')")"
is "$(row ok1 status)" delivered "success: delivered after the provider's callback"
like "$(row ok1 "remote_ids[1]")" '^P[0-9]{6}$' "success: remote id is the provider's message_id"
is "$(row ok1 "attempts || '/' || parts")" 1/1 "success: one attempt, one part"
is "$(sql "SELECT r.state || ':' || (r.message_id = o.id) FROM smspool.reports r JOIN smspool.outbox o ON o.remote_ids[1] = r.remote_id WHERE o.client_ref = 'ok1'")" \
	"delivered:true" "the callback is stored as a report matched to the message"
RID=$(row ok1 "remote_ids[1]")
is "$(prov "[(r['method'], r['headers'].get('content-type'), r['headers'].get('authorization')) for r in R if r.get('path') == '/ok/v1/messages']")" \
	"[('POST', 'application/json', 'Bearer tok123')]" "success: POST, JSON content type, bearer token"
is "$(prov "[(d['to'], d['from'], d['text'], d['report'], d['reference'].isdigit(), d['callback']) for d in [__import__('json').loads(r['body']) for r in R if r.get('path') == '/ok/v1/messages']]")" \
	"[('+15550000001', 'ACME', 'Hi \"you\" & <b> é € 😀', 1, True, 'http://127.0.0.1:$L1/report')]" \
	"success: the JSON body carries recipient, sender, text (json filter), want_report and callback_url"
is "$(prov "[r['status'] for r in R if r.get('callback') and r.get('id') == '$RID'][-1:]")" "[200]" \
	"the provider's signed callback was answered 200 (after the commit)"

# --- Kannel sendsms preset ---------------------------------------------------------------------
wait_for 20 "SELECT status = 'delivered' FROM smspool.outbox WHERE client_ref = 'kan1'" ||
	diag "kan1: $(row kan1 "status || ' ' || coalesce(error_text, '')")"
is "$(row kan1 status)" delivered "kannel: delivered through the dlr-url callback"
is "$(row kan1 "remote_ids[1] = id::text")" t "kannel: the remote id is our own message id"
KID=$(row kan1 id)
is "$(prov "[(r['method'], r['query']['to'], r['query']['text'], r['query']['dlr-url']) for r in R if r.get('path') == '/cgi-bin/sendsms']")" \
	"[('GET', '+15550000002', 'kannel text é', 'http://127.0.0.1:$L2/report?id=$KID&status=%d&token=kt')]" \
	"kannel: GET sendsms with to, text and dlr-url (with %d) URL-encoded"
is "$(sql "SELECT text FROM smspool.reports WHERE remote_id = '$KID'")" "id=$KID&status=1" \
	"kannel: the report keeps the request as its text, without the callback token"

# --- parts mode --------------------------------------------------------------------------------
wait_for 20 "SELECT status = 'sent' FROM smspool.outbox WHERE client_ref = 'parts1'" ||
	diag "parts1: $(row parts1 "status || ' ' || coalesce(error_text, '')")"
is "$(row parts1 "parts || ':' || cardinality(remote_ids) || ':' || (remote_ids[1] <> remote_ids[2])")" "2:2:true" \
	"parts: 170 characters sent as 2 requests with 2 distinct ids"
is "$(prov "[(q['udh'][:6], q['udh'][-4:], len(q['text']), q['part'], q['of']) for q in [dict(__import__('urllib.parse').parse.parse_qsl(r['body'])) for r in R if r.get('path') == '/ok/parts']]")" \
	"[('050003', '0201', 153, '1', '2'), ('050003', '0202', 17, '2', '2')]" \
	"parts: each request has its part's text, {part}/{parts} and a concatenation UDH"

# --- permanent and temporary failures ---------------------------------------------------------
wait_for 20 "SELECT status = 'rejected' FROM smspool.outbox WHERE client_ref = 'rej1'"
is "$(row rej1 "status || '|' || error_code || '|' || error_text || '|' || attempts")" \
	"rejected|400|Invalid 'To' Phone Number|1" "4xx: rejected at once with the status and the provider's error text"
for c in 5xx1 slow1 reset1; do
	wait_for 40 "SELECT status = 'failed' FROM smspool.outbox WHERE client_ref = '$c'" ||
		diag "$c: $(row "$c" "status || ' ' || attempts || ' ' || coalesce(error_text, '')")"
done
is "$(row 5xx1 "status || '|' || attempts || '|' || error_class || '|' || error_code || '|' || error_text")" \
	"failed|3|temporary|503|Service Unavailable" "5xx: retried, failed after max_attempts, temporary"
# Throttling is not failure: 429 four times (max_attempts is 3), then accepted.
wait_for 40 "SELECT status IN ('sent', 'delivered', 'failed') FROM smspool.outbox WHERE client_ref = 'thr1'" ||
	diag "thr1: $(row thr1 "status || ' ' || attempts")"
is "$(row thr1 "(status IN ('sent', 'delivered'))::text || '|' || attempts")" "true|1" \
	"429 four times: requeued without spending attempts, then sent (1 attempt)"
is "$(row slow1 "status || '|' || attempts || '|' || error_class || '|' || error_code")" \
	"failed|3|temporary|timeout" "timeout: retried, failed after max_attempts"
is "$(row reset1 "status || '|' || attempts || '|' || error_class")" "failed|3|temporary" \
	"connection reset: temporary, retried"
is "$(prov "len([r for r in R if r.get('path') == '/fail5xx/send'])")" 3 "5xx: the provider saw 3 attempts"

# --- callbacks: inbound, authentication, bad input ------------------------------------------
CB1=http://127.0.0.1:$L1
BODY='{"from": "+15551112222", "to": "12345", "text": "Grüße from the provider"}'
SIG=$(printf '%s' "$BODY" | hmac_hex s3cret)
is "$(http_code "$CB1/inbound" -H 'Content-Type: application/json' -H "X-Signature: $SIG" --data-binary "$BODY")" 200 \
	"inbound (JSON, HMAC): 200"
is "$(sql "SELECT connection || '|' || sender || '|' || recipient || '|' || body FROM smspool.inbox WHERE sender = '+15551112222'")" \
	"ok|+15551112222|12345|Grüße from the provider" "inbound (JSON): a row in smspool.inbox"
is "$(http_code "$CB1/inbound" -H 'Content-Type: application/json' --data-binary "$BODY")" 401 \
	"inbound without a signature: 401"
is "$(http_code "$CB1/inbound" -H 'Content-Type: application/json' -H "X-Signature: $(printf '0%.0s' $(seq 1 64))" \
	--data-binary "$BODY")" 403 "inbound with a wrong signature: 403"
like "$(cat "$E2E_TMP/last_body")" '^\{"error": ?"authentication failed"\}$' "the refusal is a JSON error"
is "$(sql "SELECT count(*) FROM smspool.inbox")" 1 "refused callbacks store nothing"
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
is "$(http_code "$CB1/inbound" -H 'Content-Type: application/json' -H "X-Signature: $SIG" --data-binary "$big")" 413 \
	"a body over 64 KiB: 413"
BROKEN='{"from": "+1555", "text": '
is "$(http_code "$CB1/inbound" -H 'Content-Type: application/json' -H "X-Signature: $(printf '%s' "$BROKEN" | hmac_hex s3cret)" \
	--data-binary "$BROKEN")" 400 "broken JSON: 400"
like "$(cat "$E2E_TMP/last_body")" 'broken JSON' "broken JSON: the error says so"
NOTEXT='{"from": "+1555"}'
is "$(http_code "$CB1/inbound" -H 'Content-Type: application/json' -H "X-Signature: $(printf '%s' "$NOTEXT" | hmac_hex s3cret)" \
	--data-binary "$NOTEXT")" 400 "a missing field: 400"
BADUTF=$(printf '{"from": "+1555", "text": "\xff"}')
is "$(http_code "$CB1/inbound" -H 'Content-Type: application/json' -H "X-Signature: $(printf '%s' "$BADUTF" | hmac_hex s3cret)" \
	--data-binary "$BADUTF")" 400 "invalid UTF-8: 400"
is "$(http_code "$CB1/nowhere")" 404 "an unknown path: 404"
UNK='{"id": "no-such-id", "status": "delivered"}'
is "$(http_code "$CB1/report" -H 'Content-Type: application/json' -H "X-Signature: $(printf '%s' "$UNK" | hmac_hex s3cret)" \
	--data-binary "$UNK")" 200 "a report for an unknown id: 200 (stored, never dropped)"
is "$(sql "SELECT count(*) FROM smspool.reports WHERE remote_id = 'no-such-id' AND message_id IS NULL")" 1 \
	"the unknown report is stored unmatched"

CB2=http://127.0.0.1:$L2
is "$(http_code "$CB2/inbound?token=kt&from=%2B15553334444&to=777&text=via+GET")" 200 "inbound (GET, token in the query): 200"
is "$(sql "SELECT connection || '|' || body FROM smspool.inbox WHERE sender = '+15553334444'")" "kannel|via GET" \
	"inbound (GET): a row in smspool.inbox"
is "$(http_code "$CB2/report?id=1&status=1&token=wrong")$(http_code "$CB2/report?id=1&status=1")" 403401 \
	"report with a wrong / no token: 403 / 401"

stop_daemon e2ehttp
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
