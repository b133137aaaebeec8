#!/usr/bin/env bash
# auth "oauth2" (client credentials) against the scripted provider's token
# endpoint (tests/peers/http_provider.py /oauth/*): one token for many
# sends, a new one after the provider revokes it (401 → fetch → the same
# attempt succeeds), a background refresh before it expires, the client
# secret in the form body, and a wrong secret failing sends temporarily
# with the endpoint's error.
. "$(dirname "$0")/../lib/e2e.sh"
plan 12

PROV_LOG=$E2E_TMP/provider.jsonl
PROV_PID=
_oa_cleanup() {
	[ -n "$PROV_PID" ] && kill "$PROV_PID" 2>/dev/null && wait "$PROV_PID" 2>/dev/null
	_e2e_cleanup
}
trap _oa_cleanup EXIT
prov() {
	python3 - "$PROV_LOG" "$1" <<'PY'
import json, os, sys
R = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")] if os.path.exists(sys.argv[1]) else []
print(eval(sys.argv[2]))
PY
}

EXPIRES=6
python3 tests/peers/http_provider.py --port-file "$E2E_TMP/provider.port" --log "$PROV_LOG" \
	--oauth-expires $EXPIRES >"$E2E_TMP/provider.out" 2>&1 &
PROV_PID=$!
for _ in $(seq 1 50); do
	[ -s "$E2E_TMP/provider.port" ] && break
	sleep 0.1
done
[ -s "$E2E_TMP/provider.port" ] || bail "the provider did not start: $(cat "$E2E_TMP/provider.out")"
PROV=http://127.0.0.1:$(cat "$E2E_TMP/provider.port")

e2e_db smspool_e2e_http_oauth
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s';
     UPDATE smspool.config SET value = '2' WHERE key = 'max_attempts'" || bail "config"
OA="\"method\": \"GET\", \"id_json_pointer\": \"/message_id\", \"auth\": \"oauth2\", \"oauth_token_url\": \"$PROV/oauth/token\", \"oauth_client_id\": \"cid\""
add_connection oa http "{\"url\": \"$PROV/oauth/send/a?to={recipient}\", $OA, \"oauth_client_secret\": \"csecret\", \"oauth_scope\": \"sms:send\"}"
add_connection oab http "{\"url\": \"$PROV/oauth/send/b?to={recipient}\", $OA, \"oauth_client_secret\": \"csecret\", \"oauth_client_auth\": \"body\"}"
add_connection oabad http "{\"url\": \"$PROV/oauth/send/c?to={recipient}\", $OA, \"oauth_client_secret\": \"wrong\"}"

start_daemon e2eoauth
wait_for 20 "SELECT count(*) = 3 FROM smspool.connection_state WHERE state = 'up'" || bail "connections not up"
row() { sql "SELECT $2 FROM smspool.outbox WHERE client_ref = '$1'"; }
TOKREQ="[r for r in R if r.get('path') == '/oauth/token']"

# --- one token for many sends --------------------------------------------------------------------
sql "INSERT INTO smspool.outbox (recipient, body, connection, client_ref)
     SELECT '+1555000010' || g, 'oauth ' || g, 'oa', 'a' || g FROM generate_series(1, 3) g" >/dev/null
wait_for 30 "SELECT count(*) = 3 FROM smspool.outbox WHERE client_ref LIKE 'a_' AND status = 'sent'" ||
	diag "$(sql "SELECT string_agg(client_ref || '=' || status || ':' || coalesce(error_text, ''), ' ') FROM smspool.outbox")"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE client_ref LIKE 'a_' AND status = 'sent' AND attempts = 1")" 3 \
	"three messages sent with an oauth2 token, one attempt each"
is "$(prov "len($TOKREQ)")" 1 "one token request for the three sends (cached)"
is "$(prov "[(r['method'], r['headers'].get('authorization', '')[:6], dict(__import__('urllib.parse').parse.parse_qsl(r['body']))) for r in $TOKREQ]")" \
	"[('POST', 'Basic ', {'grant_type': 'client_credentials', 'scope': 'sms:send'})]" \
	"the token request: POST, client in basic auth, grant_type and scope in the form"
is "$(prov "sorted(set(r['headers'].get('authorization') for r in R if r['path'] == '/oauth/send/a'))")" "['Bearer T1']" \
	"every send carries the token as a Bearer"

# --- revoked: 401, a new token, the same attempt succeeds ------------------------------------------
curl -s -m 5 -X POST "$PROV/oauth/revoke" >/dev/null
sql "INSERT INTO smspool.outbox (recipient, body, connection, client_ref) VALUES ('+15550000020', 'after revoke', 'oa', 'rv')" >/dev/null
wait_for 30 "SELECT status = 'sent' FROM smspool.outbox WHERE client_ref = 'rv'" || diag "rv: $(row rv "status || ' ' || coalesce(error_text, '')")"
is "$(row rv "status || '|' || attempts")" "sent|1" "after the provider revoked the token: sent, one attempt"
is "$(prov "[r['headers'].get('authorization') for r in R if r['path'] == '/oauth/send/a' and r['query'].get('to') == '+15550000020']")" \
	"['Bearer T1', 'Bearer T2']" "the 401 made it fetch a new token and send again"

# --- refreshed in the background before it expires ----------------------------------------------------
T2=$(prov "[r['t'] for r in $TOKREQ][-1]")
# The refresh is due in the token's last half (EXPIRES/2 s) and before it
# expires: a send in that window still uses T2 and starts the refresh.
while python3 -c "import sys,time; sys.exit(0 if time.time() < $T2 + $EXPIRES / 2 + 0.3 else 1)"; do sleep 0.1; done
sql "INSERT INTO smspool.outbox (recipient, body, connection, client_ref) VALUES ('+15550000030', 'refresh', 'oa', 'rf')" >/dev/null
wait_for 30 "SELECT status = 'sent' FROM smspool.outbox WHERE client_ref = 'rf'"
is "$(row rf "status || '|' || attempts")" "sent|1" "a send in the token's last half: sent"
for _ in $(seq 1 100); do
	[ "$(prov "len($TOKREQ) >= 3")" = True ] && break
	sleep 0.1
done
is "$(prov "len($TOKREQ) >= 3 and [r['t'] for r in $TOKREQ][2] < $T2 + $EXPIRES")" True \
	"a new token was fetched before the old one expired"

# --- client secret in the form body --------------------------------------------------------------------
sql "INSERT INTO smspool.outbox (recipient, body, connection, client_ref) VALUES ('+15550000040', 'body auth', 'oab', 'b1')" >/dev/null
wait_for 30 "SELECT status = 'sent' FROM smspool.outbox WHERE client_ref = 'b1'"
is "$(row b1 status)" sent "oauth_client_auth body: sent"
is "$(prov "[('authorization' in r['headers'], sorted(dict(__import__('urllib.parse').parse.parse_qsl(r['body'])))) for r in $TOKREQ if 'client_id' in r['body']]")" \
	"[(False, ['client_id', 'client_secret', 'grant_type'])]" "oauth_client_auth body: credentials in the form, no basic auth"

# --- a wrong secret: temporary failures with the endpoint's error ------------------------------------------
sql "INSERT INTO smspool.outbox (recipient, body, connection, client_ref) VALUES ('+15550000050', 'bad', 'oabad', 'x1')" >/dev/null
wait_for 40 "SELECT status = 'failed' FROM smspool.outbox WHERE client_ref = 'x1'" || diag "x1: $(row x1 "status || ' ' || attempts")"
like "$(row x1 "status || '|' || error_class || '|' || error_code || '|' || error_text")" \
	'^failed\|temporary\|oauth\|token endpoint answered 401: invalid_client' \
	"a wrong client secret: failed temporarily (attempts spent) with the endpoint's error"
is "$(prov "len([r for r in R if r['path'] == '/oauth/send/c'])")" 0 "nothing is sent without a token"

stop_daemon e2eoauth
finish
