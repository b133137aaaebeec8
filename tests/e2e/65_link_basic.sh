#!/usr/bin/env bash
# The native link: daemon A (database A) has a connection of type link to
# daemon B's link-server (database B, account linkacct), whose messages go to
# an emulator.  Messages inserted into A's outbox become outbox rows of
# linkacct in B with everything SMPP cannot carry (client_ref, priority,
# valid_until, a binary payload with UDH, want_report) and the idempotency
# key "<A's instance>:<A's id>"; B's final states come back to A and end A's
# rows delivered (remote id = B's id), applied by A's own id (client_ids:
# no report_wait rows in A).  A text routed in B to linkacct comes
# back as an inbox row of A.  A message B refuses is rejected in A, the
# field B's database named in the result.  A wrong password and a peer speaking another
# link version are refused with a clear error.
. "$(dirname "$0")/../lib/e2e.sh"
plan 17

e2e_db smspool_e2e_link_basic_b
DB_B=$SMSPOOL_DB
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('linkacct', 'pw')" || bail "account"
add_connection linkd link-server '{"listen": "127.0.0.1:0"}'
add_connection emu emulator '{"report_delay_ms": 100}'
add_connection lo loopback '{}'
add_route emu
sql "INSERT INTO smspool.inbound_routes (position, connection, account) VALUES (1, 'lo', 'linkacct')" || bail "inbound route"
start_daemon b SMSPOOL_DB="$DB_B"
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'linkd'" ||
	bail "B's link-server does not listen: $(sql "SELECT state, detail FROM smspool.connection_state")"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'linkd'")
diag "daemon B's link-server on 127.0.0.1:$PORT"

e2e_db smspool_e2e_link_basic_a
DB_A=$SMSPOOL_DB
add_connection up link "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"account\": \"linkacct\", \"password\": \"pw\", \"reconnect_min_ms\": 200, \"keepalive_s\": 1, \"batch\": 50}" 500
add_connection bad link "{\"host\": \"127.0.0.1\", \"port\": $PORT, \"account\": \"linkacct\", \"password\": \"wrong\", \"reconnect_min_ms\": 500}"
add_route up
start_daemon a SMSPOOL_DB="$DB_A"
if wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'up'"; then
	pass "A's link connection is up on B's link-server"
else
	fail "A's link connection is up on B's link-server" "$(sql "SELECT state, detail FROM smspool.connection_state")"
fi
if wait_for 20 "SELECT detail LIKE '%auth%authentication failed%' FROM smspool.connection_state WHERE name = 'bad'"; then
	pass "a wrong password is refused with a clear error"
else
	fail "a wrong password is refused with a clear error" "$(sql "SELECT state, detail FROM smspool.connection_state WHERE name = 'bad'")"
fi

sql "INSERT INTO smspool.outbox (recipient, sender, body, client_ref, priority, valid_until) VALUES
	('+15550001001', 'LinkA', 'Hello over the link', 'ref-1', 7, '2099-01-02 03:04:05+00')" || bail "INSERT"
sql "INSERT INTO smspool.outbox (recipient, encoding, payload, udh, want_report) VALUES
	('+15550001002', 'binary', 'deadbeef', '060504158a0000', true)" || bail "INSERT binary"
sql "INSERT INTO smspool.outbox (recipient, body, client_ref)
	SELECT '+1555002' || lpad(g::text, 4, '0'), 'bulk ' || g, 'bulk-' || g FROM generate_series(1, 300) g" || bail "INSERT bulk"
if wait_for 60 "SELECT count(*) = 302 FROM smspool.outbox WHERE status = 'delivered'"; then
	pass "all 302 messages end delivered in A (by B's states)"
else
	fail "all 302 messages end delivered in A (by B's states)" "$(state_counts)" "$(SMSPOOL_DB=$DB_B state_counts)"
	daemon_tails
fi
# 047: both sides offer client_ids: A records them sent without report_wait
# rows (report_wait_by_id holds each id once), and every state of B is
# applied by A's id (no report stored unmatched).
is "$(sql "SELECT (SELECT count(*) FROM smspool.report_wait) || '/' || (SELECT count(DISTINCT x) FROM smspool.report_wait_by_id w, unnest(w.message_ids) x) || '/' || (SELECT count(*) FILTER (WHERE message_id IS NULL) || '/' || count(DISTINCT message_id) FROM smspool.reports)")" \
	"0/302/0/302" "client_ids: no report_wait in A, each row waits by id, every state matched by A's id"
is "$(SMSPOOL_DB=$DB_B sql "SELECT count(*) FILTER (WHERE status = 'delivered') || '/' || count(*) FROM smspool.outbox WHERE account = 'linkacct'")" \
	"302/302" "B holds each message once, as a row of linkacct, delivered"
is "$(sql "SELECT count(*) FROM smspool.outbox a WHERE cardinality(remote_ids) = 1")" 302 "one remote id per row in A"
is "$(SMSPOOL_DB=$DB_B sql "SELECT string_agg(id::text || '=' || idempotency_key, ',' ORDER BY id) FROM smspool.outbox")" \
	"$(sql "SELECT string_agg(remote_ids[1] || '=a:' || id, ',' ORDER BY remote_ids[1]::bigint) FROM smspool.outbox")" \
	"A's remote id is B's id, B's key is A's instance and id"
is "$(SMSPOOL_DB=$DB_B sql "SELECT sender || '|' || body || '|' || client_ref || '|' || priority || '|' || to_char(valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM smspool.outbox WHERE recipient = '+15550001001'")" \
	"LinkA|Hello over the link|ref-1|7|2099-01-02 03:04:05" "sender, text, client_ref, priority and valid_until arrive as set"
is "$(SMSPOOL_DB=$DB_B sql "SELECT encoding || '|' || lower(payload) || '|' || lower(udh) || '|' || want_report FROM smspool.outbox WHERE recipient = '+15550001002'")" \
	"binary|deadbeef|060504158a0000|true" \
	"a binary payload with its UDH arrives as it was"

# Inbound: B's loopback returns a text from the recipient, routed to linkacct.
SMSPOOL_DB=$DB_B sql "INSERT INTO smspool.outbox (recipient, sender, body, connection) VALUES
	('+4915110000001', '12345', 'Привет over the link', 'lo')" || bail "INSERT inbound"
if wait_for 30 "SELECT count(*) = 1 FROM smspool.inbox"; then
	is "$(sql "SELECT sender || '|' || recipient || '|' || body || '|' || connection FROM smspool.inbox")" \
		"+4915110000001|12345|Привет over the link|up" "a text routed in B to the account is an inbox row of A"
else
	fail "a text routed in B to the account is an inbox row of A" "$(sql "SELECT * FROM smspool.inbox")"
	daemon_tails
fi
if wait_for 20 "SELECT true" && SMSPOOL_DB=$DB_B wait_for 20 "SELECT count(*) = 0 FROM smspool.account_events"; then
	pass "B's account events are all acknowledged (after A's commit)"
else
	fail "B's account events are all acknowledged (after A's commit)" "$(SMSPOOL_DB=$DB_B sql "SELECT id, kind, attempts FROM smspool.account_events" 2>&1)"
fi

# A message B refuses (B allows one part, A ten): rejected in A with B's
# class, and the field B's database named travels in the result (issue 17).
SMSPOOL_DB=$DB_B sql "UPDATE smspool.config SET value = '1' WHERE key = 'max_parts'" || bail "config"
sql "INSERT INTO smspool.outbox (recipient, body) VALUES ('+15550001003', repeat('too long for B ', 20))" || bail "INSERT long"
if wait_for 30 "SELECT status = 'rejected' FROM smspool.outbox WHERE recipient = '+15550001003'" &&
	grep -q 'event=link_refused .*class=invalid field=body ' "${DAEMON_LOG[a]}"; then
	pass "a message B's database refuses is rejected in A, the refused field (body) named in the result"
else
	fail "a message B's database refuses is rejected in A, the refused field (body) named in the result" \
		"$(sql "SELECT status, error_class, error_text FROM smspool.outbox WHERE recipient = '+15550001003'")" \
		"$(grep link_refused "${DAEMON_LOG[a]}")"
fi

# A peer that speaks another link version is refused, with both versions named.
VER=$(python3 - "$PORT" <<'PY'
import socket, struct, sys
# Frame{hello: Hello{version: 99, instance: "x", account: "linkacct", password: "pw"}}
hello = bytes([0x08, 99, 0x12, 1]) + b"x" + bytes([0x1a, 8]) + b"linkacct" + bytes([0x22, 2]) + b"pw"
frame = bytes([0x0a, len(hello)]) + hello
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(struct.pack(">I", len(frame)) + frame)
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data[4:].decode("utf-8", "replace"))
PY
)
like "$VER" 'version.*99.*version 1' "another version is refused with error version, naming both"

# A frame over the limit (4 MiB by default) is refused before it is read.
BIG=$(python3 - "$PORT" <<'PY'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(struct.pack(">I", 64 << 20) + b"\0" * 1024)
data = b""
while True:
    try:
        chunk = s.recv(4096)
    except ConnectionResetError:
        break
    if not chunk:
        break
    data += chunk
print(data[4:].decode("utf-8", "replace"))
PY
)
like "$BIG" 'too_big' "a frame over max_frame is refused with error too_big"

stop_daemon a
is "$DAEMON_STATUS" 0 "daemon A exits 0"
stop_daemon b
is "$DAEMON_STATUS" 0 "daemon B exits 0"

# Claim at submit (048): B inserted the link's messages already claimed and
# sent them without its claimer.  Every attempt in B's outbox is one claim by
# the claimer or one claim at submit, and the latter did happen.
CLAIMS=$(grep -o 'event=daemon_claims .*' "${DAEMON_LOG[b]}" | tail -1)
AT=$(sed -n 's/.*claimed_at_submit=\([0-9]*\).*/\1/p' <<<"$CLAIMS")
CL=$(sed -n 's/.* claimed=\([0-9]*\).*/\1/p' <<<"$CLAIMS")
SUM=$(SMSPOOL_DB=$DB_B sql "SELECT coalesce(sum(attempts), 0) FROM smspool.outbox")
if [ "${AT:-0}" -gt 0 ] && [ $((${CL:-0} + AT)) -eq "$SUM" ]; then
	pass "B sent $AT link messages claimed at submit ($CL by its claimer; $SUM attempts in all)"
else
	fail "B sent link messages claimed at submit" "daemon_claims: '$CLAIMS', attempts in B: $SUM"
fi
finish
