#!/usr/bin/env bash
# http-api: an account's access changed in the database reaches the HTTP
# send API within seconds, without a restart (issue 17).  HTTP has no
# session to end: what must go is the login cache (auth_cache_s, here an
# hour, so that without the fix the old credentials would be taken for that
# long).  Four accounts send and are cached; then a1's password changes, a2
# is disabled, a3's allowed_addresses exclude 127.0.0.1 and b's description
# changes (no access change).  The old credentials of a1 are refused (401),
# a2 and a3 get 403, b still gets 200 and a1's new password 200, all from the
# same daemon.  Client: curl.
. "$(dirname "$0")/../lib/e2e.sh"
plan 8

e2e_db smspool_e2e_http_api_revoke
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('a1', 'secret-a1'), ('a2', 'secret-a2'),
	('a3', 'secret-a3'), ('b', 'secret-b')" || bail "accounts"
add_connection api http-api '{"listen": "127.0.0.1:0", "auth_cache_s": 3600}'
add_connection lo loopback '{}'
add_route lo
start_daemon api1
wait_for 20 "SELECT state = 'up' AND detail LIKE 'listening on 127.0.0.1:%' FROM smspool.connection_state WHERE name = 'api'" ||
	bail "the http-api connection does not listen: $(sql "SELECT state, detail FROM smspool.connection_state WHERE name = 'api'")"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'api'")
BASE="http://127.0.0.1:$PORT/api/v1"
PID=${DAEMON_PID[api1]}

# post USER PASS: a message; prints its id.  get USER PASS ID: prints the
# status of GET /messages/ID (the state of one of the account's messages).
post() {
	curl -sS -m 10 -u "$1:$2" -H 'Content-Type: application/json' \
		--data-binary '{"to": "+15551234567", "text": "revoke test"}' "$BASE/messages" | jq -r .id
}
get() { curl -sS -m 10 -o /dev/null -w '%{http_code}' -u "$1:$2" "$BASE/messages/$3"; }

declare -A ID=()
for u in a1 a2 a3 b; do
	ID[$u]=$(post "$u" "secret-$u")
done
R=""
for u in a1 a2 a3 b; do # the second request of each comes from the cache
	R+="$u=$(get "$u" "secret-$u" "${ID[$u]:-0}") "
done
is "$R" "a1=200 a2=200 a3=200 b=200 " "four accounts send and read their messages (their logins cached)"

T0=$(now_ms)
sql "UPDATE smspool.accounts SET description = 'not an access change' WHERE system_id = 'b';
	UPDATE smspool.accounts SET password = 'secret-new' WHERE system_id = 'a1';
	UPDATE smspool.accounts SET enabled = false WHERE system_id = 'a2';
	UPDATE smspool.accounts SET allowed_addresses = '{10.0.0.0/8}' WHERE system_id = 'a3'" || bail "UPDATE accounts"

# until USER STATUS: asks (at most 10 s, each refusal once) until the
# account's old credentials get STATUS; prints "STATUS after_ms=N".
until_refused() {
	local u=$1 want=$2 end=$(($(now_ms) + 10000 * E2E_WAIT_SCALE)) s
	while :; do
		s=$(get "$u" "secret-$u" "${ID[$u]:-0}")
		if [ "$s" = "$want" ] || [ "$s" != 200 ] || [ "$(now_ms)" -ge "$end" ]; then
			echo "$s after_ms=$(($(now_ms) - T0))"
			return
		fi
		sleep 0.05
	done
}
A1=$(until_refused a1 401)
A2=$(until_refused a2 403)
A3=$(until_refused a3 403)
diag "revoke latency (UPDATE -> old credentials refused, client side, with the refusal's delay): a1 ${A1#* } a2 ${A2#* } a3 ${A3#* }"
TS=$(grep -m 1 'http_api_revoked' "${DAEMON_LOG[api1]}" | sed -n 's/^ts=\([^ ]*\) .*/\1/p')
[ -n "$TS" ] && diag "revoke latency (UPDATE -> logins forgotten, daemon log): $(($(date -d "$TS" +%s%3N) - T0)) ms"
is "${A1% *} ${A2% *} ${A3% *}" "401 403 403" \
	"the old credentials are refused: wrong password 401, disabled and address 403"
ok "$([ "${A1#*after_ms=}" -lt 10000 ] && echo t)" "within seconds (${A1#* })"
is "$(get b secret-b "${ID[b]:-0}")" 200 "a change that does not touch access (description) leaves the other account's login"
is "$(get a1 secret-new "${ID[a1]:-0}")" 200 "the new password is taken"
like "$(grep -c 'http_api_revoked.*account="a[123]"' "${DAEMON_LOG[api1]}")" '^3$' \
	"the connection logs each account whose logins it forgot"
ok "$(daemon_alive api1 && [ "${DAEMON_PID[api1]}" = "$PID" ] && echo t)" "the same daemon, never restarted"
stop_daemon api1
is "$DAEMON_STATUS" 0 "the daemon exits 0"
finish
