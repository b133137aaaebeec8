#!/usr/bin/env bash
# An incomplete long text pushed with +CMT ends in the inbox on a timer:
# the modem emulator (cnma-wait quirk) pushes the first of three parts and
# holds the rest; nothing else arrives.  reasm_timeout_s after the first
# part the connection sends the database a flush marker (sql/036_modem.sql)
# and the set is stored with the part that came (parts = 1), without
# waiting for more traffic; the marker itself is no inbox row.  A set a
# stopped daemon left overdue is stored by the marker of the next daemon's
# first sweep.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/modem.sh"
plan 6
trap 'stop_all_modems; _e2e_cleanup' EXIT

start_modem c --quirks cnma-wait --cnma-timeout 30
e2e_db smspool_e2e_at_cmt_timeout
# sweep_s long: only the timer can flush the set within the test's wait.
add_connection modem at "{\"port\": \"$E2E_TMP/c.tty\", \"cnma\": true, \"reasm_timeout_s\": 3, \"command_timeout_ms\": 2000, \"sweep_s\": 3600, \"reconnect_min_ms\": 200}"
start_daemon t1
wait_for 30 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'modem'" ||
	bail "the at connection did not come up: $(sql "SELECT state, detail FROM smspool.connection_state")"

LONG=$(printf 'part of a long pushed text %.0s' $(seq 1 14)) # 378 characters: three parts
modem_ctl c "{\"op\": \"inject\", \"from\": \"+441632960078\", \"text\": \"$LONG\", \"mode\": \"cmt\", \"hold_after\": 1}"
wait_modem c 30 'sum(e["ev"] == "cnma" for e in ev) >= 1' || bail "the first part was never acknowledged"
is "$(sql "SELECT count(*) FROM smspool.inbox")" 0 "the first part waits for the rest (no inbox row yet)"
if wait_for 30 "SELECT count(*) = 1 FROM smspool.inbox WHERE connection = 'modem'"; then
	pass "the incomplete set reaches the inbox on the timer, with no further traffic"
else
	fail "the incomplete set reaches the inbox on the timer, with no further traffic" \
		"parts: $(sql "SELECT seq, received_at FROM smspool.inbound_parts")"
fi
is "$(sql "SELECT parts = 1 AND sender = '+441632960078' AND body = substr('$LONG', 1, 153) FROM smspool.inbox WHERE connection = 'modem'")" t \
	"stored with the part that came (parts = 1, its text)"
is "$(sql "SELECT count(*) FROM smspool.inbound_parts")" 0 "no part left waiting"
stop_daemon t1

sql "INSERT INTO smspool.inbound_parts (connection, set_key, seq, total, sender, recipient, body, encoding, timeout_s, received_at)
	VALUES ('modem', '0/+441632960079/9', 1, 2, '+441632960079', 'modem', 'left by a stopped daemon', 'gsm7', 3, now() - interval '1 minute')" ||
	bail "INSERT failed"
start_daemon t2
if wait_for 30 "SELECT count(*) = 1 FROM smspool.inbox WHERE sender = '+441632960079' AND body = 'left by a stopped daemon' AND parts = 1"; then
	pass "a set a stopped daemon left overdue is stored at the next daemon's first sweep"
else
	fail "a set a stopped daemon left overdue is stored at the next daemon's first sweep" "$(sql "SELECT * FROM smspool.inbound_parts")"
fi
is "$(sql "SELECT count(*) FROM smspool.inbox")" 2 "no inbox row for a marker"
stop_daemon t2
finish
