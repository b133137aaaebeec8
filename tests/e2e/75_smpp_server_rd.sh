#!/usr/bin/env bash
# registered_delivery on the smpp-server (issue 17): 1 = a receipt for every
# final state, 2 = on failure only, 3 = on success only (SMPP 5.0).  Four
# submits over a transmitter session, to a connection that delivers and one
# whose messages end undelivered; once all are final, exactly the receipts
# asked for wait as account events, and a receiver session gets those.
# Peer: npm `smpp` 0.5.1 (tests/peers/esme.js).
. "$(dirname "$0")/../lib/e2e.sh"
plan 5

[ -d "$E2E_ROOT/tests/peers/node_modules/smpp" ] && command -v node >/dev/null 2>&1 ||
	bail "the npm peers are not installed: run make test-deps (tests/peers/install.sh)"

e2e_db smspool_e2e_smpp_rd
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('esme1', 'secret1')" || bail "account"
add_connection smppd smpp-server '{"listen": "127.0.0.1:0", "interface_version": "5.0"}'
add_connection good emulator '{"report_delay_ms": 50}'
add_connection bad emulator '{"report_delay_ms": 50, "outcomes": {"undelivered": 1}}'
add_route good 100
sql "INSERT INTO smspool.routes (position, recipient_prefix, connection) VALUES (10, '+1666', 'bad')" || bail "route"
start_daemon srv1
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'smppd'" || bail "smppd does not listen"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'smppd'")

esme() {
	printf '{"port": %s, "timeout_ms": 20000, "steps": %s}\n' "$PORT" "$2" >"$E2E_TMP/$1.json"
	node "$E2E_ROOT/tests/peers/esme.js" "$E2E_TMP/$1.json" >"$E2E_TMP/$1.jsonl" 2>"$E2E_TMP/$1.err"
}
q() { jq -r -s "$2" "$E2E_TMP/$1.jsonl"; }

esme tx '[{"op": "bind", "as": "t", "system_id": "esme1", "password": "secret1", "mode": "transmitter", "version": 80},
	{"op": "submit", "as": "t", "ref": "fail_only_ok", "to": "+15550000001", "text": "a", "rd": 2},
	{"op": "submit", "as": "t", "ref": "fail_only_bad", "to": "+16660000002", "text": "b", "rd": 2},
	{"op": "submit", "as": "t", "ref": "success_only_ok", "to": "+15550000003", "text": "c", "rd": 3},
	{"op": "submit", "as": "t", "ref": "success_only_bad", "to": "+16660000004", "text": "d", "rd": 3},
	{"op": "submit", "as": "t", "ref": "all_bad", "to": "+16660000005", "text": "e", "rd": 1},
	{"op": "unbind", "as": "t"}]'
is "$(q tx '[.[] | select(.ev == "submit_resp") | .status] | unique | join(",")')" "ESME_ROK" "five submits accepted"
id_of() { q tx ".[] | select(.ev == \"submit_resp\" and .ref == \"$1\") | .id"; }
wait_for 30 "SELECT count(*) = 5 FROM smspool.outbox WHERE account = 'esme1' AND status IN ('delivered', 'undelivered')" ||
	bail "the messages did not reach their final state: $(sql "SELECT recipient, status FROM smspool.outbox")"
is "$(sql "SELECT string_agg(recipient || ':' || status, ',' ORDER BY recipient) FROM smspool.outbox")" \
	"+15550000001:delivered,+15550000003:delivered,+16660000002:undelivered,+16660000004:undelivered,+16660000005:undelivered" \
	"routed and final as planned"
WANT="$(id_of fail_only_bad),$(id_of success_only_ok),$(id_of all_bad)"
is "$(sql "SELECT string_agg(message_id::text, ',' ORDER BY message_id) FROM smspool.account_events WHERE kind = 'report'")" "$WANT" \
	"report events only for: failure-only that failed, success-only that was delivered, and every-state"

esme rx '[{"op": "bind", "as": "r", "system_id": "esme1", "password": "secret1", "mode": "receiver"},
	{"op": "wait", "as": "r", "receipts": 3},
	{"op": "unbind", "as": "r"}]'
is "$(q rx '[.[] | select(.ev == "deliver" and .receipt) | .receipted_id + ":" + (.text | capture("stat:(?<s>[A-Z]+)").s)] | sort | join(",")')" \
	"$(printf '%s\n' "$(id_of fail_only_bad):UNDELIV" "$(id_of success_only_ok):DELIVRD" "$(id_of all_bad):UNDELIV" | sort | paste -sd,)" \
	"the receiver gets exactly those receipts"
stop_daemon srv1
is "$DAEMON_STATUS" 0 "daemon exits 0"
finish
