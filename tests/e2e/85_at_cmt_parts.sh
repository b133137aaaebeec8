#!/usr/bin/env bash
# A long text a modem pushes with +CMT (cnma = true) against the emulator's
# cnma-wait quirk (as +CSMS=1: no next part before the AT+CNMA of the last,
# a part not acknowledged in time pushed again): each part is committed
# (smspool.inbound_parts, sql/029_modem2.sql) before its AT+CNMA, so a
# daemon killed between two parts loses nothing; the set becomes one inbox
# row.  A part pushed while no daemon listens is pushed again and taken.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/modem.sh"
plan 6
trap 'stop_all_modems; _e2e_cleanup' EXIT

start_modem c --quirks cnma-wait --cnma-timeout 3
e2e_db smspool_e2e_at_cmt_parts
add_connection modem at "{\"port\": \"$E2E_TMP/c.tty\", \"cnma\": true, \"command_timeout_ms\": 2000, \"sweep_s\": 5, \"reconnect_min_ms\": 200, \"reconnect_max_ms\": 1000}"
start_daemon c1
wait_for 30 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'modem'" ||
	bail "the at connection did not come up: $(sql "SELECT state, detail FROM smspool.connection_state")"

LONG=$(printf 'part of a long pushed text %.0s' $(seq 1 14)) # 378 characters: three parts
modem_ctl c "{\"op\": \"inject\", \"from\": \"+441632960077\", \"text\": \"$LONG\", \"mode\": \"cmt\", \"hold_after\": 1}"
wait_modem c 30 'sum(e["ev"] == "cnma" for e in ev) >= 1' || bail "the first part was never acknowledged"
# The AT+CNMA came after the commit: the part is in the database now.
is "$(sql "SELECT count(*) FROM smspool.inbound_parts WHERE connection = 'modem'")" 1 \
	"the first part is committed (inbound_parts) when its AT+CNMA has come"
is "$(sql "SELECT count(*) FROM smspool.inbox")" 0 "no inbox row for a part"

# Killed between two parts; the second is pushed while nobody listens.
kill_daemon c1
modem_ctl c '{"op": "release"}'
wait_modem c 20 'sum(e["ev"] == "pushed" for e in ev) >= 2' || diag "the second part was not pushed"
start_daemon c2
if wait_for 60 "SELECT count(*) = 1 FROM smspool.inbox WHERE connection = 'modem'"; then
	pass "the text reaches the inbox across the kill"
else
	fail "the text reaches the inbox across the kill" "parts: $(sql "SELECT seq FROM smspool.inbound_parts")"
fi
is "$(sql "SELECT body = '$LONG' AND parts = 3 AND sender = '+441632960077' FROM smspool.inbox WHERE connection = 'modem'")" t \
	"joined whole: all three parts, in order, once"
ok "$(modem_py c 'sum(e["ev"] == "cnma" and not e.get("unexpected") for e in ev)') == 3" \
	"each part acknowledged once it was committed, none twice"
stop_daemon c2
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
