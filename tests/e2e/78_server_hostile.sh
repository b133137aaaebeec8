#!/usr/bin/env bash
# Hostile clients against both listeners, smpp-server and http-api (issue 9),
# scripted by tests/peers/smpp_hostile.py and http_hostile.py (raw sockets,
# written from the specifications, not smspool's code):
# - logins have a lane of their own: an account whose bcrypt hash is very
#   costly (cost 15, seconds per check) is bound again and again while a
#   bound client submits; its submits never wait for those checks;
# - the HTTP API authenticates at the headers: a wrong password announcing a
#   60 kB body is answered 401 at once without the body, an unknown account
#   gets the same answer, and `Expect: 100-continue` gets its 100 only once
#   authenticated;
# - slowloris on both listeners from another local address (127.0.0.2):
#   sessions that send one byte every 0.5 s and never finish are all closed
#   (bind_timeout_s / header_timeout_s, and the per-address limit), while a
#   client on 127.0.0.1 keeps being served;
# - a flood of wrong-password HTTP logins from 127.0.0.2 (100 workers for
#   8 s; 200 for 60 s under `make soak`: HOSTILE_FLOOD_S, HOSTILE_WORKERS)
#   beside a client on 127.0.0.1 that keeps sending;
# - a client that never answers deliver_sm does not delay another account's
#   receipts, and its own receipts wait for it (none lost);
# - the daemon's peak RSS stays bounded through all of it.
. "$(dirname "$0")/../lib/e2e.sh"
plan 24
FLOOD_S=${HOSTILE_FLOOD_S:-8}
WORKERS=${HOSTILE_WORKERS:-100}

command -v python3 >/dev/null || bail "python3 is missing (packaging/install-deps.sh)"
SMPPH="$E2E_ROOT/tests/peers/smpp_hostile.py"
HTTPH="$E2E_ROOT/tests/peers/http_hostile.py"
python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null ||
	bail "127.0.0.2 is not a local address here (the slowloris clients need a second loopback address)"

e2e_db smspool_e2e_server_hostile
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('esme1', 'secret1');
	INSERT INTO smspool.accounts (system_id, password) VALUES ('app1', 'longer-secret-1');
	INSERT INTO smspool.accounts (system_id, password) VALUES ('slow1', 'unused');
	INSERT INTO smspool.accounts (system_id, password) VALUES ('mute1', 'mutepw');
	UPDATE smspool.accounts SET password_hash = crypt('slowpw', gen_salt('bf', 15)) WHERE system_id = 'slow1'" ||
	bail "accounts"
add_connection smppd smpp-server '{"listen": "127.0.0.1:0", "bind_timeout_s": 3, "max_sessions_per_address": 10}'
# Logins that take seconds: a listener whose bind_timeout_s leaves them time.
add_connection smppd2 smpp-server '{"listen": "127.0.0.1:0", "bind_timeout_s": 120}'
add_connection api http-api '{"listen": "127.0.0.1:0", "header_timeout_s": 3, "max_connections_per_address": 10}'
add_connection emu emulator '{}'
add_route emu
start_daemon h1

port_of() {
	wait_for 20 "SELECT state = 'up' AND detail LIKE 'listening on 127.0.0.1:%' FROM smspool.connection_state WHERE name = '$1'" ||
		bail "$1 does not listen: $(sql "SELECT state, detail FROM smspool.connection_state WHERE name = '$1'")"
	sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = '$1'"
}
SPORT=$(port_of smppd)
SPORT2=$(port_of smppd2)
HPORT=$(port_of api)
pass "the listeners are up (smpp $SPORT and $SPORT2, http $HPORT)"

# --- logins in a lane of their own ---------------------------------------------
python3 "$SMPPH" steady "$SPORT2" 14 esme1 secret1 >"$E2E_TMP/steady.json" &
STEADY=$!
sleep 1 # the steady client binds first (its bind is not under test)
python3 "$SMPPH" binds "$SPORT2" 3 slow1 slowpw >"$E2E_TMP/binds.json" || bail "smpp_hostile.py binds failed"
wait "$STEADY" || bail "smpp_hostile.py steady failed"
diag "costly binds: $(cat "$E2E_TMP/binds.json")"
diag "steady client: $(cat "$E2E_TMP/steady.json")"
is "$(jq -r '.statuses.ESME_ROK // 0' "$E2E_TMP/binds.json")" 3 "three binds of the costly account accepted"
slowest=$(jq -r '.seconds | max' "$E2E_TMP/binds.json")
ok "$(jq -r '.submits >= 20 and (.statuses.ESME_ROK // 0) == .submits' "$E2E_TMP/steady.json")" \
	"the bound client's submits were all accepted meanwhile"
ok "$(jq -r --argjson b "$slowest" '.max < $b / 2' "$E2E_TMP/steady.json")" \
	"no submit waited for a login: slowest submit $(jq -r .max "$E2E_TMP/steady.json") s, a login took up to $slowest s"

# --- the HTTP API authenticates before the body -----------------------------------
out=$(python3 "$HTTPH" early "$HPORT" app1 wrong-password 60000) || bail "http_hostile.py early failed"
diag "early, wrong password: $out"
ok "$(jq -r '.status == "401" and .seconds < 5' <<<"$out")" \
	"a wrong password announcing a 60 kB body (under max_body) is answered 401 without the body"
out2=$(python3 "$HTTPH" early "$HPORT" nobody wrong-password 60000) || bail "http_hostile.py early failed"
is "$(jq -r '.status + " " + .detail' <<<"$out2")" "$(jq -r '.status + " " + .detail' <<<"$out")" \
	"an unknown account gets the very same answer"
out=$(python3 "$HTTPH" continue "$HPORT" app1 longer-secret-1) || bail "http_hostile.py continue failed"
diag "100-continue, right password: $out"
ok "$(jq -r '(.first | test(" 100 ")) and (.final | test(" 201 "))' <<<"$out")" \
	"Expect: 100-continue: 100 once authenticated, then 201 for the body"
out=$(python3 "$HTTPH" continue "$HPORT" app1 wrong-password) || bail "http_hostile.py continue failed"
ok "$(jq -r '(.first | test(" 401 ")) and .final == null' <<<"$out")" \
	"Expect: 100-continue with a wrong password: 401, never a 100"

# --- slowloris on the SMPP listener ------------------------------------------------
python3 "$SMPPH" steady "$SPORT" 9 esme1 secret1 >"$E2E_TMP/steady2.json" &
STEADY=$!
out=$(python3 "$SMPPH" slowloris "$SPORT" 127.0.0.2 40 10) || bail "smpp_hostile.py slowloris failed"
wait "$STEADY" || bail "smpp_hostile.py steady failed"
diag "smpp slowloris: $out"
diag "steady client meanwhile: $(cat "$E2E_TMP/steady2.json")"
ok "$(jq -r '.open_at_end == 0 and .closed_by_server + .connect_failed == 40' <<<"$out")" \
	"40 dribbling SMPP sessions: every one closed by the server"
ok "$(jq -r '.last_close_s <= 8' <<<"$out")" "... the last within bind_timeout_s (3 s) and a margin"
ok "$(jq -r '.submits >= 20 and (.statuses.ESME_ROK // 0) == .submits and .p99 < 2' "$E2E_TMP/steady2.json")" \
	"a client on another address kept submitting (all accepted, p99 under 2 s)"

# --- slowloris on the HTTP listener ---------------------------------------------
python3 "$HTTPH" steady "$HPORT" app1 longer-secret-1 9 >"$E2E_TMP/hsteady.json" &
STEADY=$!
out=$(python3 "$HTTPH" slowloris "$HPORT" 127.0.0.2 40 10) || bail "http_hostile.py slowloris failed"
wait "$STEADY" || bail "http_hostile.py steady failed"
diag "http slowloris: $out"
diag "steady client meanwhile: $(cat "$E2E_TMP/hsteady.json")"
ok "$(jq -r '.open_at_end == 0 and .closed_by_server + .connect_failed == 40' <<<"$out")" \
	"40 dribbling HTTP connections: every one closed by the server"
ok "$(jq -r '.last_close_s <= 8' <<<"$out")" "... the last within header_timeout_s (3 s) and a margin"
ok "$(jq -r '.requests >= 20 and (.statuses["201"] // 0) == .requests and .p99 < 2' "$E2E_TMP/hsteady.json")" \
	"a client on another address kept sending (all 201, p99 under 2 s)"
like "$(cat "${DAEMON_LOG[h1]}")" "event=httpd_header_timeout" "the header deadline is logged"

# --- a flood of wrong-password HTTP logins -------------------------------------------
python3 "$HTTPH" steady "$HPORT" app1 longer-secret-1 $((FLOOD_S + 2)) >"$E2E_TMP/hsteady2.json" &
STEADY=$!
out=$(python3 "$HTTPH" flood "$HPORT" 127.0.0.2 "$FLOOD_S" "$WORKERS" app1) || bail "http_hostile.py flood failed"
wait "$STEADY" || bail "http_hostile.py steady failed"
diag "http flood: $out"
diag "steady client meanwhile: $(cat "$E2E_TMP/hsteady2.json")"
ok "$(jq -r '(.statuses["201"] // 0) == 0 and .attempts >= 200' <<<"$out")" \
	"the flood made at least 200 attempts and no wrong password was accepted"
ok "$(jq -r '((.statuses["401"] // 0) + (.statuses["429"] // 0)) > 0' <<<"$out")" "... answered 401, then 429 for the address"
ok "$(jq -r '.requests >= 20 and (.statuses["201"] // 0) == .requests and .p99 < 2' "$E2E_TMP/hsteady2.json")" \
	"a client on another address kept sending (all 201, p99 under 2 s)"

# --- a receiver that never answers deliver_sm ----------------------------------------
python3 "$SMPPH" receipts "$SPORT2" mute1 mutepw 50 8 silent >"$E2E_TMP/silent.json" &
SILENT=$!
sleep 1 # the silent client's receipts come first
python3 "$SMPPH" receipts "$SPORT2" esme1 secret1 50 20 answer >"$E2E_TMP/receipts.json" ||
	bail "smpp_hostile.py receipts failed"
wait "$SILENT" || bail "smpp_hostile.py receipts (silent) failed"
diag "silent client: $(cat "$E2E_TMP/silent.json")"
diag "answering client: $(cat "$E2E_TMP/receipts.json")"
ok "$(jq -r '.accepted == 50 and .deliver_sm > 0' "$E2E_TMP/silent.json")" \
	"the silent client's 50 messages were accepted and receipts offered to it"
ok "$(jq -r '.receipts == 50 and .max < 3' "$E2E_TMP/receipts.json")" \
	"another account got all 50 receipts meanwhile, none later than 3 s"
wait_for 20 "SELECT count(*) = 50 FROM smspool.account_events WHERE account = 'mute1' AND kind = 'report'" ||
	diag "mute1 events: $(sql "SELECT count(*) FROM smspool.account_events WHERE account = 'mute1'")"
is "$(sql "SELECT count(*) FROM smspool.account_events WHERE account = 'mute1' AND kind = 'report'")" 50 \
	"the 50 receipts the silent client never acknowledged wait for its next bind"

# --- bounded ----------------------------------------------------------------------
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/${DAEMON_PID[h1]}/status")
diag "daemon peak RSS: $((hwm / 1024)) MB"
ok "$([ "$hwm" -lt $((96 * 1024)) ] && echo true)" "the daemon's peak RSS stayed under 96 MB ($((hwm / 1024)) MB)"
ok "$(daemon_alive h1 && echo true)" "the daemon is alive"
stop_daemon h1
pass "the daemon stops cleanly"
finish
