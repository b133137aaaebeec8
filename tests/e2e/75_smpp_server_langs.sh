#!/usr/bin/env bash
# Inbound decoding on the smpp-server side (issue 17): a submit_sm whose UDH
# names a national language table (IE 0x24 single shift, IE 0x25 locking
# shift: Turkish) is stored with the characters of that table; the UDH is
# not part of the text; and a server with data_coding_0 = latin1 reads
# data_coding 0 as Latin-1 (GSM 03.38 by default).  Peer: npm `smpp` 0.5.1
# (tests/peers/esme.js), raw octets.
. "$(dirname "$0")/../lib/e2e.sh"
plan 4

[ -d "$E2E_ROOT/tests/peers/node_modules/smpp" ] && command -v node >/dev/null 2>&1 ||
	bail "the npm peers are not installed: run make test-deps (tests/peers/install.sh)"

e2e_db smspool_e2e_smpp_langs
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('esme1', 'secret1')" || bail "account"
add_connection gsm smpp-server '{"listen": "127.0.0.1:0"}'
add_connection lat smpp-server '{"listen": "127.0.0.1:0", "data_coding_0": "latin1"}'
add_connection emu emulator '{}'
add_route emu
start_daemon srv1
for c in gsm lat; do
	wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = '$c'" || bail "$c does not listen"
done
port() { sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = '$1'"; }

esme() {
	printf '{"port": %s, "timeout_ms": 20000, "steps": %s}\n' "$2" "$3" >"$E2E_TMP/$1.json"
	node "$E2E_ROOT/tests/peers/esme.js" "$E2E_TMP/$1.json" >"$E2E_TMP/$1.jsonl" 2>"$E2E_TMP/$1.err"
}
q() { jq -r -s "$2" "$E2E_TMP/$1.jsonl"; }

esme g "$(port gsm)" '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1"},
	{"op": "submit", "as": "a", "ref": "single", "to": "+15550000001", "udh": "03240101", "hex": "1B471B671B531B731B69", "rd": 0},
	{"op": "submit", "as": "a", "ref": "locking", "to": "+15550000002", "udh": "03250101", "hex": "070B4041", "rd": 0},
	{"op": "submit", "as": "a", "ref": "plain", "to": "+15550000003", "hex": "2440", "rd": 0},
	{"op": "unbind", "as": "a"}]'
esme l "$(port lat)" '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1"},
	{"op": "submit", "as": "a", "ref": "latin", "to": "+15550000004", "hex": "2440E9", "rd": 0},
	{"op": "unbind", "as": "a"}]'
is "$(q g '[.[] | select(.ev == "submit_resp") | .status] | join(",")'),$(q l '[.[] | select(.ev == "submit_resp") | .status] | join(",")')" \
	"ESME_ROK,ESME_ROK,ESME_ROK,ESME_ROK" "every submit accepted"
is "$(sql "SELECT string_agg(body, '|' ORDER BY recipient) FROM smspool.outbox WHERE recipient IN ('+15550000001', '+15550000002')")" \
	"ĞğŞşı|ıĞİA" "Turkish single-shift and locking-shift texts are stored with the Turkish characters"
is "$(sql "SELECT body FROM smspool.outbox WHERE recipient = '+15550000003'")" "¤¡" "data_coding 0 is GSM 03.38 by default"
is "$(sql "SELECT body FROM smspool.outbox WHERE recipient = '+15550000004'")" '$@é' "data_coding_0 latin1: data_coding 0 is read as Latin-1"
stop_daemon srv1
finish
