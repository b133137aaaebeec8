#!/usr/bin/env bash
# An account's access changed in the database ends its live SMPP sessions
# within seconds (issue 17): a changed password, a changed allowed_addresses
# and a disabled account each get their bound session an unbind from the
# server and then a close; a session of an account whose change does not
# touch its access (a description) stays bound and submits.  Afterwards the
# old password is refused and the new one binds (no cached login survives),
# and the other two accounts are refused.  Peer: npm `smpp` 0.5.1 through
# tests/peers/esme.js.
. "$(dirname "$0")/../lib/e2e.sh"
plan 9

[ -d "$E2E_ROOT/tests/peers/node_modules/smpp" ] && command -v node >/dev/null 2>&1 ||
	bail "the npm peers are not installed: run make test-deps (tests/peers/install.sh)"

e2e_db smspool_e2e_smpp_revoke
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('esme1', 'secret1'), ('esme2', 'secret2'),
	('esme3', 'secret3'), ('esme4', 'secret4')" || bail "accounts"
add_connection smppd smpp-server '{"listen": "127.0.0.1:0", "response_timeout_s": 5}'
add_connection emu emulator '{}'
add_route emu
start_daemon srv1
wait_for 20 "SELECT state = 'up' AND detail LIKE 'listening on 127.0.0.1:%' FROM smspool.connection_state WHERE name = 'smppd'" ||
	bail "the smpp-server connection does not listen"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'smppd'")

esme() {
	printf '{"port": %s, "timeout_ms": %s, "steps": %s}\n' "$PORT" "$2" "$3" >"$E2E_TMP/$1.json"
	node "$E2E_ROOT/tests/peers/esme.js" "$E2E_TMP/$1.json" >"$E2E_TMP/$1.jsonl" 2>"$E2E_TMP/$1.err"
}
q() { jq -r -s "$2" "$E2E_TMP/$1.jsonl"; }

# Four sessions bound; each waits (at most 20 s) for the server to close it.
esme live 20000 '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1"},
	{"op": "bind", "as": "b", "system_id": "esme2", "password": "secret2"},
	{"op": "bind", "as": "c", "system_id": "esme3", "password": "secret3"},
	{"op": "bind", "as": "d", "system_id": "esme4", "password": "secret4"},
	{"op": "wait_close", "as": "a"}, {"op": "wait_close", "as": "c"}, {"op": "wait_close", "as": "d"},
	{"op": "submit", "as": "b", "ref": "still", "to": "+15550000001", "text": "still bound", "rd": 0},
	{"op": "unbind", "as": "b"}]' &
LIVE_PID=$!
for ((i = 0; i < 200; i++)); do
	[ "$(grep -c bind_resp "$E2E_TMP/live.jsonl" 2>/dev/null)" = 4 ] && break
	sleep 0.1
done
is "$(q live '[.[] | select(.ev == "bind_resp") | .status] | join(",")')" "ESME_ROK,ESME_ROK,ESME_ROK,ESME_ROK" "four accounts bound"

T0=$(now_ms)
sql "UPDATE smspool.accounts SET description = 'not an access change' WHERE system_id = 'esme2';
	UPDATE smspool.accounts SET password = 'newpass1' WHERE system_id = 'esme1';
	UPDATE smspool.accounts SET allowed_addresses = '{10.0.0.0/8}' WHERE system_id = 'esme3';
	UPDATE smspool.accounts SET enabled = false WHERE system_id = 'esme4'" || bail "UPDATE accounts"
wait $LIVE_PID
T1=$(now_ms)
diag "sessions ended $((T1 - T0)) ms after the change"
is "$(q live '[.[] | select(.ev == "timeout")] | length')" 0 "no step waited in vain (every changed account's session was closed)"
is "$(q live '[.[] | select((.ev == "unbind" or .ev == "close") and .as != "b") | .as + ":" + .ev] | sort | join(",")')" \
	"a:close,a:unbind,c:close,c:unbind,d:close,d:unbind" \
	"password, allowed_addresses and enabled changes: each session gets an unbind, then the close"
ok "$([ $((T1 - T0)) -lt 15000 ] && echo t)" "within seconds ($((T1 - T0)) ms)"
is "$(q live '[.[] | select(.ev == "submit_resp") | .ref + ":" + .status] | join(",")')" "still:ESME_ROK" \
	"a change that does not touch access (description) leaves the other account's session bound"
like "$(grep -c 'smpp_server_revoked.*account=\"esme[134]\"' "${DAEMON_LOG[srv1]}")" '^3$' "the server logs each session it ends, with the reason"

esme after 20000 '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1"},
	{"op": "bind", "as": "b", "system_id": "esme1", "password": "newpass1"},
	{"op": "bind", "as": "c", "system_id": "esme3", "password": "secret3"},
	{"op": "bind", "as": "d", "system_id": "esme4", "password": "secret4"},
	{"op": "unbind", "as": "b"}]'
is "$(q after '[.[] | select(.ev == "bind_resp") | .as + ":" + .status] | join(",")')" \
	"a:ESME_RINVPASWD,b:ESME_ROK,c:ESME_RBINDFAIL,d:ESME_RBINDFAIL" \
	"afterwards: the old password is refused, the new one binds, the address and the disabled account are refused"
ok "$(daemon_alive srv1 && echo t)" "the daemon is alive"
stop_daemon srv1
is "$DAEMON_STATUS" 0 "daemon exits 0"
finish
