#!/usr/bin/env bash
# The http connection's callback listener as providers really call it, with
# curl standing in for the provider and the signatures computed here in
# Python from each provider's documented algorithm:
#  - Infobip-style: many reports in one JSON request (report_list) → every
#    one stored, or 400 and none; never a 200 for a report that was dropped
#  - Twilio: X-Twilio-Signature (HMAC-SHA1 over URL + sorted form fields)
#  - Vonage: signed webhooks (JWT HS256, payload_hash) and the SMS API's sig
#  - hmac: the signature covers the query string the mapping reads
#  - TLS on the listener (https, certificate checked by curl)
#  - callback_auth none / a CHANGE_ME secret refused without allow_insecure_callbacks
. "$(dirname "$0")/../lib/e2e.sh"
plan 27

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
http_code() { # http_code URL [curl args...]: the HTTP status (000 when no answer)
	local url=$1
	shift
	curl -s -m 10 -o "$E2E_TMP/last_body" -w '%{http_code}' "$@" "$url"
}
py() { python3 -c "$@"; }

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$E2E_TMP/key.pem" -out "$E2E_TMP/cert.pem" >/dev/null 2>&1 || bail "openssl could not make a test certificate"

declare -A PORT=()
for n in ib tw vj vs hq tls ins chg; do
	while :; do
		p=$(free_port)
		case " ${PORT[*]} " in *" $p "*) ;; *) break ;; esac
	done
	PORT[$n]=$p
done

e2e_db smspool_e2e_http_cb
U='"url": "http://127.0.0.1:9/unused"'
add_connection ib http "{$U, \"listen\": \"127.0.0.1:${PORT[ib]}\", \"callback_auth\": \"hmac\", \"callback_secret\": \"ibsecret\",
	\"report_list\": \"/results\", \"report_fields\": {\"remote_id\": \"messageId\", \"state\": \"/status/groupName\", \"error_code\": \"/error/id\"},
	\"report_state_map\": {\"DELIVERED\": \"delivered\", \"UNDELIVERABLE\": \"undelivered\", \"EXPIRED\": \"expired\", \"REJECTED\": \"rejected\"}}"
add_connection tw http "{$U, \"listen\": \"127.0.0.1:${PORT[tw]}\", \"callback_auth\": \"twilio\", \"callback_secret\": \"twtoken\",
	\"report_fields\": {\"remote_id\": \"MessageSid\", \"state\": \"MessageStatus\", \"error_code\": \"ErrorCode\"},
	\"report_state_map\": {\"delivered\": \"delivered\", \"undelivered\": \"undelivered\", \"failed\": \"undelivered\"}}"
add_connection vj http "{$U, \"listen\": \"127.0.0.1:${PORT[vj]}\", \"callback_auth\": \"vonage_jwt\", \"callback_secret\": \"vjsecret\",
	\"report_fields\": {\"remote_id\": \"message_uuid\", \"state\": \"status\"}}"
add_connection vs http "{$U, \"listen\": \"127.0.0.1:${PORT[vs]}\", \"callback_auth\": \"vonage_sig\", \"callback_secret\": \"vssecret\",
	\"callback_sig_method\": \"sha256\", \"report_fields\": {\"remote_id\": \"messageId\", \"state\": \"status\", \"error_code\": \"err-code\"}}"
add_connection hq http "{$U, \"listen\": \"127.0.0.1:${PORT[hq]}\", \"callback_auth\": \"hmac\", \"callback_secret\": \"hqsecret\"}"
add_connection tls http "{$U, \"listen\": \"127.0.0.1:${PORT[tls]}\", \"callback_auth\": \"token_header\", \"callback_secret\": \"tlstok\",
	\"callback_tls_cert_file\": \"$E2E_TMP/cert.pem\", \"callback_tls_key_file\": \"$E2E_TMP/key.pem\"}"
add_connection ins http "{$U, \"listen\": \"127.0.0.1:${PORT[ins]}\"}"
add_connection chg http "{$U, \"listen\": \"127.0.0.1:${PORT[chg]}\", \"callback_auth\": \"hmac\", \"callback_secret\": \"CHANGE_ME\"}"

start_daemon e2ehttpcb
wait_for 20 "SELECT count(*) = 6 FROM smspool.connection_state WHERE state = 'up'" ||
	bail "connections not up: $(sql "SELECT string_agg(name || '=' || state || ':' || coalesce(detail, ''), ' ') FROM smspool.connection_state")"
report() { sql "SELECT state || '|' || coalesce(error_code, '') FROM smspool.reports WHERE remote_id = '$1'"; }

# --- insecure listeners are refused -------------------------------------------------------------
wait_for 10 "SELECT count(*) = 2 FROM smspool.connection_state WHERE name IN ('ins', 'chg') AND state = 'error'"
like "$(sql "SELECT detail FROM smspool.connection_state WHERE name = 'ins'")" 'allow_insecure_callbacks' \
	"callback_auth none on a listener is refused, naming allow_insecure_callbacks"
like "$(sql "SELECT detail FROM smspool.connection_state WHERE name = 'chg'")" 'CHANGE_ME' \
	"a callback_secret still CHANGE_ME is refused"
sql "UPDATE smspool.connections SET settings = settings || '{\"allow_insecure_callbacks\": true}' WHERE name = 'ins'" >/dev/null
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'ins'"
is "$(sql "SELECT state FROM smspool.connection_state WHERE name = 'ins'")" up \
	"with allow_insecure_callbacks the same listener comes up"

# --- many reports in one request (Infobip) -------------------------------------------------------
hmac() { py 'import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())' "$1"; }
IB='{"results": [
 {"messageId": "ib-1", "to": "41793026727", "status": {"groupName": "DELIVERED", "id": 5}, "error": {"id": 0}},
 {"messageId": "ib-2", "to": "41793026728", "status": {"groupName": "UNDELIVERABLE", "id": 9}, "error": {"id": 1}},
 {"messageId": "ib-3", "to": "41793026729", "status": {"groupName": "EXPIRED", "id": 15}, "error": {"id": 0}}]}'
CB=http://127.0.0.1:${PORT[ib]}
is "$(http_code "$CB/report" -H 'Content-Type: application/json' -H "X-Signature: $(printf '%s' "$IB" | hmac ibsecret)" --data-binary "$IB")" 200 \
	"three reports in one request: 200"
is "$(report ib-1),$(report ib-2),$(report ib-3)" "delivered|0,undelivered|1,expired|0" \
	"every report of the request is stored, each with its own state and error"
like "$(sql "SELECT text FROM smspool.reports WHERE remote_id = 'ib-2'")" '"messageId": ?"ib-2"' \
	"each report keeps its own element as its text"
IB2='{"results": [{"messageId": "ib-4", "status": {"groupName": "DELIVERED"}}, {"status": {"groupName": "DELIVERED"}}]}'
is "$(http_code "$CB/report" -H 'Content-Type: application/json' -H "X-Signature: $(printf '%s' "$IB2" | hmac ibsecret)" --data-binary "$IB2")" 400 \
	"a request with one unusable report: 400"
like "$(cat "$E2E_TMP/last_body")" 'report 2 of 2' "the error names the report"
is "$(sql "SELECT count(*) FROM smspool.reports WHERE remote_id = 'ib-4'")" 0 \
	"... and none of its reports is stored (the provider sends them again)"

# --- Twilio ----------------------------------------------------------------------------------------
CB=http://127.0.0.1:${PORT[tw]}
TWF='MessageSid=SMtw1&MessageStatus=delivered&AccountSid=AC1&To=%2B15550001111&ErrorCode=0'
twsig() { # twsig URL FORM
	py 'import hmac,hashlib,base64,sys,urllib.parse as u
p=u.parse_qsl(sys.argv[3]); s=sys.argv[2]+"".join(k+v for k,v in sorted(p))
print(base64.b64encode(hmac.new(sys.argv[1].encode(), s.encode(), hashlib.sha1).digest()).decode())' twtoken "$1" "$2"
}
is "$(http_code "$CB/report" -H "X-Twilio-Signature: $(twsig "$CB/report" "$TWF")" --data "$TWF")" 200 \
	"Twilio status callback with a valid X-Twilio-Signature: 200"
is "$(report SMtw1)" "delivered|0" "the Twilio report is stored"
TWF2='MessageSid=SMtw2&MessageStatus=delivered&AccountSid=AC1&To=%2B15550001111'
is "$(http_code "$CB/report" -H "X-Twilio-Signature: $(twsig "$CB/report" "${TWF2/delivered/failed}")" --data "$TWF2")" 403 \
	"a changed field: 403"
is "$(http_code "$CB/report?MessageSid=SMtw3&MessageStatus=delivered" -H "X-Twilio-Signature: $(twsig "$CB/report" "MessageSid=SMtw3&MessageStatus=delivered")")" 403 \
	"query fields outside the signed URL: 403"
is "$(http_code "$CB/report" --data "$TWF2")" 401 "no signature: 401"
is "$(sql "SELECT count(*) FROM smspool.reports WHERE remote_id IN ('SMtw2', 'SMtw3')")" 0 "refused Twilio callbacks store nothing"

# --- Vonage signed webhooks (JWT) -----------------------------------------------------------------
CB=http://127.0.0.1:${PORT[vj]}
VB='{"message_uuid": "aaaaaaaa-0000-4000-8000-000000000001", "to": "447700900000", "from": "Vonage", "status": "delivered", "channel": "sms"}'
jwt() { # jwt SECRET BODY [IAT_OFFSET]
	py 'import hmac,hashlib,base64,json,sys,time
b=lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
h=b(json.dumps({"alg":"HS256","typ":"JWT"}).encode())
c=b(json.dumps({"iat":int(time.time())+int(sys.argv[3]),"jti":"j","iss":"Vonage","payload_hash":hashlib.sha256(sys.argv[2].encode()).hexdigest(),"api_key":"k"}).encode())
print(h+"."+c+"."+b(hmac.new(sys.argv[1].encode(),(h+"."+c).encode(),hashlib.sha256).digest()))' "$1" "$2" "${3:-0}"
}
is "$(http_code "$CB/report" -H 'Content-Type: application/json' -H "Authorization: Bearer $(jwt vjsecret "$VB")" --data-binary "$VB")" 200 \
	"Vonage message status with a valid JWT: 200"
is "$(report aaaaaaaa-0000-4000-8000-000000000001)" "delivered|" "the Vonage report is stored"
VB2=${VB/000000000001/000000000002}
is "$(http_code "$CB/report" -H 'Content-Type: application/json' -H "Authorization: Bearer $(jwt vjsecret "$VB")" --data-binary "$VB2")" 403 \
	"a body that is not the one signed (payload_hash): 403"
is "$(http_code "$CB/report" -H 'Content-Type: application/json' -H "Authorization: Bearer $(jwt vjsecret "$VB2" -3600)" --data-binary "$VB2")" 403 \
	"a JWT issued an hour ago: 403"

# --- Vonage SMS API sig ---------------------------------------------------------------------------
CB=http://127.0.0.1:${PORT[vs]}
vsig() { # vsig QUERY → QUERY&sig=...
	py 'import hmac,hashlib,sys,urllib.parse as u
p=dict(u.parse_qsl(sys.argv[2])); s="".join("&"+k+"="+p[k].replace("&","_").replace("=","_") for k in sorted(p))
print(sys.argv[2]+"&sig="+hmac.new(sys.argv[1].encode(), s.encode(), hashlib.sha256).hexdigest())' vssecret "$1"
}
VQ="messageId=0B00000012345678&msisdn=447700900000&to=AcmeInc&status=delivered&err-code=0&timestamp=$(date +%s)&nonce=n1"
is "$(http_code "$CB/report?$(vsig "$VQ")")" 200 "Vonage delivery receipt (GET) with a valid sig: 200"
is "$(report 0B00000012345678)" "delivered|0" "the Vonage receipt is stored"
is "$(http_code "$CB/report?$(vsig "${VQ/0B00000012345678/0B00000012345679}")&status=failed")" 403 \
	"a parameter added after signing: 403"

# --- hmac covers the query ------------------------------------------------------------------------
CB=http://127.0.0.1:${PORT[hq]}
is "$(http_code "$CB/report?id=hq-1&status=delivered" --data-binary '' -H "X-Signature: $(printf '' | hmac hqsecret)")" 403 \
	"hmac of the (empty) body only, with fields in the query: 403"
is "$(http_code "$CB/report?id=hq-1&status=delivered" -H "X-Signature: $(printf 'id=hq-1&status=delivered\n' | hmac hqsecret)")" 200 \
	"hmac of query and body: 200, stored"

# --- TLS ---------------------------------------------------------------------------------------------
is "$(http_code "https://127.0.0.1:${PORT[tls]}/report?id=tls-1&status=delivered" --cacert "$E2E_TMP/cert.pem" -H 'X-Callback-Token: tlstok')" 200 \
	"callback over HTTPS (certificate checked): 200"
is "$(report tls-1)" "delivered|" "... and stored"

stop_daemon e2ehttpcb
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
