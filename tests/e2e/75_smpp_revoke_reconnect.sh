#!/usr/bin/env bash
# A revocation whose NOTIFY came while the daemon was not connected (issue
# 17): the daemon's listening session is ended and kept out (its instance
# lock is held here) while esme1's password changes, so the NOTIFY of
# smspool.accounts_revoke reaches nobody.  Once the daemon is back it
# compares every account's access_version (038_core) with what it read
# before and revokes what changed: esme1's live SMPP session gets an unbind
# and a close, esme2 (unchanged) stays bound and submits, and afterwards the
# old password is refused and the new one binds.  Peer: npm `smpp` 0.5.1
# through tests/peers/esme.js.
. "$(dirname "$0")/../lib/e2e.sh"
plan 8

[ -d "$E2E_ROOT/tests/peers/node_modules/smpp" ] && command -v node >/dev/null 2>&1 ||
	bail "the npm peers are not installed: run make test-deps (tests/peers/install.sh)"

e2e_db smspool_e2e_smpp_revoke_rc
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('esme1', 'secret1'), ('esme2', 'secret2')" ||
	bail "accounts"
add_connection smppd smpp-server '{"listen": "127.0.0.1:0", "response_timeout_s": 5}'
add_connection emu emulator '{}'
add_route emu
start_daemon rc1
wait_for 20 "SELECT state = 'up' AND detail LIKE 'listening on 127.0.0.1:%' FROM smspool.connection_state WHERE name = 'smppd'" ||
	bail "the smpp-server connection does not listen"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'smppd'")

esme() {
	printf '{"port": %s, "timeout_ms": %s, "steps": %s}\n' "$PORT" "$2" "$3" >"$E2E_TMP/$1.json"
	node "$E2E_ROOT/tests/peers/esme.js" "$E2E_TMP/$1.json" >"$E2E_TMP/$1.jsonl" 2>"$E2E_TMP/$1.err"
}
q() { jq -r -s "$2" "$E2E_TMP/$1.jsonl"; }

esme live 40000 '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1"},
	{"op": "bind", "as": "b", "system_id": "esme2", "password": "secret2"},
	{"op": "wait_close", "as": "a"},
	{"op": "submit", "as": "b", "ref": "still", "to": "+15550000001", "text": "still bound", "rd": 0},
	{"op": "unbind", "as": "b"}]' &
LIVE_PID=$!
for ((i = 0; i < 200; i++)); do
	[ "$(grep -c bind_resp "$E2E_TMP/live.jsonl" 2>/dev/null)" = 2 ] && break
	sleep 0.1
done
is "$(q live '[.[] | select(.ev == "bind_resp") | .status] | join(",")')" "ESME_ROK,ESME_ROK" "two accounts bound"

# One session of psql: end the daemon's main session (the one that LISTENs)
# and take its instance lock before it is back, so that it cannot listen
# again; change the password while it is out; then let it in.
T0=$(now_ms)
out=$("$E2E_PSQL" -X -A -t -q -v ON_ERROR_STOP=1 -d "$SMSPOOL_DB" 2>&1 <<'SQL'
DO $$
DECLARE
	v_until timestamptz := clock_timestamp() + interval '20 s';
BEGIN
	LOOP
		PERFORM pg_terminate_backend(pid, 5000) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'smspool';
		EXIT WHEN pg_try_advisory_lock(hashtext('smspool.instance'), hashtext('rc1'));
		IF clock_timestamp() > v_until THEN
			RAISE EXCEPTION 'the daemon kept its instance lock';
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
END
$$;
SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'smspool';
UPDATE smspool.accounts SET password = 'newpass1' WHERE system_id = 'esme1';
SELECT pg_sleep(1);
SELECT pg_advisory_unlock(hashtext('smspool.instance'), hashtext('rc1'));
SQL
) || bail "cutting the daemon's connection: $out"
is "$(echo "$out" | head -n 1)" 0 "the daemon's listening session was ended and kept out while the password changed"
wait $LIVE_PID
T1=$(now_ms)
diag "esme1's session ended $((T1 - T0)) ms after the cut"
like "$(grep -c 'store_revocation_missed.*account="esme1"' "${DAEMON_LOG[rc1]}")" '^1$' \
	"after reconnecting, the daemon finds the change it did not hear, and only that one"
is "$(q live '[.[] | select(.ev == "timeout")] | length')" 0 "no step waited in vain (esme1's session was closed)"
is "$(q live '[.[] | select((.ev == "unbind" or .ev == "close") and .as == "a") | .ev] | join(",")')" "unbind,close" \
	"esme1's session gets an unbind, then the close"
is "$(q live '[.[] | select(.ev == "submit_resp") | .ref + ":" + .status] | join(",")')" "still:ESME_ROK" \
	"the unchanged account's session stays bound and submits"

esme after 20000 '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1"},
	{"op": "bind", "as": "b", "system_id": "esme1", "password": "newpass1"},
	{"op": "unbind", "as": "b"}]'
is "$(q after '[.[] | select(.ev == "bind_resp") | .as + ":" + .status] | join(",")')" \
	"a:ESME_RINVPASWD,b:ESME_ROK" "afterwards: the old password is refused, the new one binds"
stop_daemon rc1
is "$DAEMON_STATUS" 0 "daemon exits 0"
finish
