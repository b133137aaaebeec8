#!/usr/bin/env bash
# Redirect rules (smspool.inbound_redirects) end to end: texts that two
# emulator connections receive are forwarded by the daemon's own INSERT into
# inbox — one to the number each text starts with, through a loopback
# connection; one to a fixed number, through the routes — and every forward
# is an outbox row linked to its origin in smspool.redirected, delivered, and
# not forwarded again when the loopback echoes it back.
. "$(dirname "$0")/../lib/e2e.sh"
plan 8

e2e_db smspool_e2e_redirect
add_connection emu1 emulator '{"mo_interval_ms": 300, "mo_sender": "+15550000001", "mo_recipient": "+15550000100", "mo_text": "+15557770001 forwarded by number"}'
add_connection emu2 emulator '{"mo_interval_ms": 300, "mo_sender": "+15550000002", "mo_recipient": "+15550000200", "mo_text": "fixed target"}'
add_connection lo loopback '{}'
add_route lo
sql "INSERT INTO smspool.inbound_redirects (position, connection, to_number, to_connection) VALUES
       (10, 'emu1', NULL, 'lo'),
       (10, 'emu2', '+15550009999', NULL)" || bail "INSERT of the rules failed"
start_daemon r1

if wait_for 60 "SELECT count(*) >= 3 FROM smspool.outbox WHERE recipient = '+15557770001'
                AND body = 'forwarded by number' AND status = 'delivered'"; then
	pass "texts from emu1 are forwarded to the number they start with, and delivered"
else
	fail "texts from emu1 are forwarded to the number they start with, and delivered" "states: $(state_counts)"
fi
if wait_for 60 "SELECT count(*) >= 3 FROM smspool.outbox WHERE recipient = '+15550009999'
                AND body = 'fixed target' AND status = 'delivered'"; then
	pass "texts from emu2 are forwarded to the fixed number through the routes, and delivered"
else
	fail "texts from emu2 are forwarded to the fixed number through the routes, and delivered" "states: $(state_counts)"
fi
stop_daemon r1
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"

is "$(sql "SELECT count(*) FROM smspool.outbox o WHERE o.recipient IN ('+15557770001', '+15550009999')
           AND NOT EXISTS (SELECT 1 FROM smspool.redirected x WHERE x.outbox_id = o.id)")" 0 \
	"every forward is linked to its origin"
is "$(sql "SELECT count(*) FROM smspool.redirected x JOIN smspool.inbox i ON i.id = x.inbox_id
           JOIN smspool.outbox o ON o.id = x.outbox_id
           WHERE NOT ((i.connection = 'emu1' AND o.recipient = '+15557770001' AND o.connection_used = 'lo')
                   OR (i.connection = 'emu2' AND o.recipient = '+15550009999'))")" 0 \
	"each link joins an inbound text of the rule's connection to its forward"
is "$(sql "SELECT count(*) FROM smspool.inbox i WHERE i.connection IN ('emu1', 'emu2')
           AND NOT EXISTS (SELECT 1 FROM smspool.redirected x WHERE x.inbox_id = i.id)")" 0 \
	"every text from emu1 and emu2 matched its rule"
ok "$(sql "SELECT count(*) FROM smspool.inbox WHERE connection = 'lo' AND body = 'forwarded by number'") >= 3" \
	"the loopback echoes the forwards back"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE body = 'forwarded by number' AND recipient <> '+15557770001'")" 0 \
	"an echoed forward is not forwarded again"
finish
