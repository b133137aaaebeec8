#!/usr/bin/env bash
# Long texts through the SMPP server (connection type smpp-server): an
# independent ESME (npm `smpp` 0.5.1, tests/peers/esme.js) submits
# concatenated texts, all parts pipelined.  A 3-part text with UDH IE 0x00
# (esm_class 0x40) and a 2-part UCS-2 text with the SAR TLVs each become ONE
# outbox row with the whole text (no UDH in it); every part gets its own
# submit_sm_resp, with the id "<outbox id>-<part>", only once the set is
# complete; the ESME then gets one delivery receipt per part it submitted,
# with those ids.  The count of parts is outbox.client_parts; client_ref
# stays the client's own reference (user_message_reference).  An incomplete set (2 parts of 3) is answered
# ESME_RSUBMITFAIL part by part after reassembly_timeout_s, and nothing is
# stored.
. "$(dirname "$0")/../lib/e2e.sh"
plan 16

[ -d "$E2E_ROOT/tests/peers/node_modules/smpp" ] && command -v node >/dev/null 2>&1 ||
	bail "the npm peers are not installed: run make test-deps (tests/peers/install.sh)"

e2e_db smspool_e2e_smpp_long
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('esme1', 'secret1')" || bail "account"
add_connection smppd smpp-server '{"listen": "127.0.0.1:0", "reassembly_timeout_s": 3, "reassembly_max_parts": 4,
	"response_timeout_s": 5}'
add_connection emu emulator '{"report_delay_ms": 200}'
add_route emu
start_daemon srv1

wait_for 20 "SELECT state = 'up' AND detail LIKE 'listening on 127.0.0.1:%' FROM smspool.connection_state WHERE name = 'smppd'" ||
	bail "the smpp-server connection does not listen: $(sql "SELECT state, detail FROM smspool.connection_state WHERE name = 'smppd'")"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'smppd'")

esme() {
	printf '{"port": %s, "timeout_ms": 20000, "steps": %s}\n' "$PORT" "$2" >"$E2E_TMP/$1.json"
	node "$E2E_ROOT/tests/peers/esme.js" "$E2E_TMP/$1.json" >"$E2E_TMP/$1.jsonl" 2>"$E2E_TMP/$1.err"
}
q() { jq -r -s "$2" "$E2E_TMP/$1.jsonl"; }

P1="This is the first part of a long text that the client split itself, "
P2="then the second part, with {braces} and a euro sign: 10€, "
P3="and the third and last part."
U1="Grüße aus "
U2="Berlin, Привет 😀"
esme long "[{\"op\": \"bind\", \"as\": \"a\", \"system_id\": \"esme1\", \"password\": \"secret1\"},
	{\"op\": \"parts\", \"as\": \"a\", \"ref\": \"udh\", \"to\": \"+15550000001\", \"from\": \"Shop\", \"concat_ref\": 66, \"umr\": 777,
	 \"texts\": [\"$P1\", \"$P2\", \"$P3\"]},
	{\"op\": \"parts\", \"as\": \"a\", \"ref\": \"sar\", \"to\": \"+15550000002\", \"from\": \"Shop\", \"concat_ref\": 4660,
	 \"sar\": true, \"dc\": 8, \"texts\": [\"$U1\", \"$U2\"]},
	{\"op\": \"wait\", \"as\": \"a\", \"receipts\": 5},
	{\"op\": \"unbind\", \"as\": \"a\"}]"

is "$(q long '[.[] | select(.ev == "submit_resp") | .ref + ":" + .status] | sort | join(",")')" \
	"sar#1:ESME_ROK,sar#2:ESME_ROK,udh#1:ESME_ROK,udh#2:ESME_ROK,udh#3:ESME_ROK" "every part answered ESME_ROK"
UDH_ID=$(q long '[.[] | select(.ev == "submit_resp" and .ref == "udh#1") | .id] | first // "" | sub("-1$"; "")')
SAR_ID=$(q long '[.[] | select(.ev == "submit_resp" and .ref == "sar#1") | .id] | first // "" | sub("-1$"; "")')
is "$(q long '[.[] | select(.ev == "submit_resp") | .ref + "=" + .id] | sort | join(",")')" \
	"sar#1=${SAR_ID:-?}-1,sar#2=${SAR_ID:-?}-2,udh#1=${UDH_ID:-?}-1,udh#2=${UDH_ID:-?}-2,udh#3=${UDH_ID:-?}-3" \
	"each part's id is <outbox id>-<part>"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE account = 'esme1'")" 2 "two outbox rows for five parts"
is "$(sql "SELECT recipient || '|' || sender || '|' || body FROM smspool.outbox WHERE id = ${UDH_ID:-0}")" \
	"+15550000001|Shop|$P1$P2$P3" "the UDH text: one row with the whole text, no UDH in it"
is "$(sql "SELECT encoding || '|' || body FROM smspool.outbox WHERE id = ${SAR_ID:-0}")" \
	"ucs2|$U1$U2" "the SAR UCS-2 text: one row with the whole text"
is "$(sql "SELECT coalesce(client_ref, '-') || '|' || coalesce(client_parts::text, '-') FROM smspool.outbox WHERE id IN (${UDH_ID:-0}, ${SAR_ID:-0}) ORDER BY id = ${SAR_ID:-0}")" \
	"777|3
-|2" "the count of submitted parts in client_parts; client_ref is the client's own (user_message_reference 777, or none)"
if wait_for 20 "SELECT count(*) = 2 FROM smspool.outbox WHERE account = 'esme1' AND status = 'delivered'"; then
	pass "both joined messages delivered"
else
	fail "both joined messages delivered" "$(sql "SELECT id, status FROM smspool.outbox")"
fi
is "$(q long '[.[] | select(.ev == "deliver" and .receipt) | .receipted_id + ":" + (.text | capture("id:(?<i>[^ ]+)").i) + ":" + (.text | capture("stat:(?<s>[A-Z]+)").s)] | join("\n")' | LC_ALL=C sort | paste -sd,)" \
	"$(for i in "$SAR_ID-1" "$SAR_ID-2" "$UDH_ID-1" "$UDH_ID-2" "$UDH_ID-3"; do echo "$i:$i:DELIVRD"; done | LC_ALL=C sort | paste -sd,)" \
	"one receipt per submitted part (3 + 2), each with its part's id"

# --- binary parts: the payload joined, the other IEs of the UDH kept -------
esme bin '[{"op": "bind", "as": "a", "system_id": "esme1", "password": "secret1"},
	{"op": "parts", "as": "a", "ref": "bin", "to": "+15550000006", "concat_ref": 9, "dc": 4, "udh_ies": "05040b8423f0",
	 "hexes": ["0102", "0304"], "rd": 0},
	{"op": "unbind", "as": "a"}]'
BIN_ID=$(q bin '[.[] | select(.ev == "submit_resp" and .ref == "bin#1") | .id] | first // "" | sub("-1$"; "")')
is "$(q bin '[.[] | select(.ev == "submit_resp") | .ref + ":" + .status] | sort | join(",")')|$(sql "SELECT encoding || '|' || payload || '|' || udh FROM smspool.outbox WHERE id = ${BIN_ID:-0}")" \
	"bin#1:ESME_ROK,bin#2:ESME_ROK|binary|01020304|0605040B8423F0" \
	"binary parts: one row, the payload joined, the port IE kept and the concatenation IE dropped"

# --- an incomplete set: answered with an error after the timeout -----------
esme short "[{\"op\": \"bind\", \"as\": \"a\", \"system_id\": \"esme1\", \"password\": \"secret1\"},
	{\"op\": \"parts\", \"as\": \"a\", \"ref\": \"half\", \"to\": \"+15550000003\", \"concat_ref\": 7,
	 \"total\": 3, \"seqs\": [1, 3], \"texts\": [\"first \", \"third\"]},
	{\"op\": \"unbind\", \"as\": \"a\"}]"
is "$(q short '[.[] | select(.ev == "submit_resp") | .ref + ":" + .status] | sort | join(",")')" \
	"half#1:ESME_RSUBMITFAIL,half#3:ESME_RSUBMITFAIL" "an incomplete set: each part answered ESME_RSUBMITFAIL"
T=$(q short '[.[] | select(.ev == "submit_resp") | .ms] | min // 0')
ok "$([ "$T" -ge 2500 ] && echo t)" "... only after reassembly_timeout_s (first answer after $T ms)"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE account = 'esme1'")" 3 "... and nothing stored for it"

# --- the cap on parts held, and a client gone with parts held ---------------
# Five first parts of five sets: four are held (reassembly_max_parts), the
# fifth is refused at once; a second session sends one part and disconnects.
esme cap "[{\"op\": \"bind\", \"as\": \"b\", \"system_id\": \"esme1\", \"password\": \"secret1\"},
	{\"op\": \"parts\", \"as\": \"b\", \"ref\": \"gone\", \"to\": \"+15550000005\", \"total\": 2, \"texts\": [\"x\"], \"nowait\": true},
	{\"op\": \"close\", \"as\": \"b\"},
	{\"op\": \"bind\", \"as\": \"a\", \"system_id\": \"esme1\", \"password\": \"secret1\"},
	{\"op\": \"parts\", \"as\": \"a\", \"ref\": \"cap\", \"to\": \"+15550000004\", \"total\": 2, \"seqs\": [1, 1, 1, 1, 1],
	 \"concat_refs\": [1, 2, 3, 4, 5], \"texts\": [\"a\", \"b\", \"c\", \"d\", \"e\"]},
	{\"op\": \"unbind\", \"as\": \"a\"}]"
is "$(q cap '[.[] | select(.ev == "submit_resp") | .ref + ":" + .status] | join(",")')" \
	"cap#5/1:ESME_RMSGQFUL,cap#1/1:ESME_RSUBMITFAIL,cap#2/1:ESME_RSUBMITFAIL,cap#3/1:ESME_RSUBMITFAIL,cap#4/1:ESME_RSUBMITFAIL" \
	"a session holds at most reassembly_max_parts parts: one more is refused ESME_RMSGQFUL at once, the others time out"
ok "$(daemon_alive srv1 && echo t)" "a client that leaves with a part held: the daemon lives on"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE account = 'esme1'")" 3 "... and nothing more is stored"

stop_daemon srv1
is "$DAEMON_STATUS" 0 "the daemon exits 0 (nothing held is left behind)"
finish
