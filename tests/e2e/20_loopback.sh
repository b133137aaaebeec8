#!/usr/bin/env bash
# The loopback connection: every message forced to it is delivered and comes
# back into smspool.inbox with sender and recipient swapped and the same body;
# a two-part text arrives as one inbox row with the whole text.
. "$(dirname "$0")/../lib/e2e.sh"
plan 9

e2e_db smspool_e2e_loopback
add_connection loopback loopback '{}'
start_daemon e2eloop

LONG=$(printf 'A%.0s' $(seq 1 161))       # 161 GSM characters: two parts
UNI='Grüße, Привет 😀'                     # UCS-2 with a surrogate pair: one part
sql "INSERT INTO smspool.outbox (recipient, sender, body, connection)
     SELECT '+1555000' || lpad(i::text, 4, '0'), '+15559990000', 'loopback ' || i, 'loopback'
     FROM generate_series(1, 20) i;
     INSERT INTO smspool.outbox (recipient, sender, body, connection)
     VALUES ('+15550009998', '+15559990001', '$LONG', 'loopback'),
            ('+15550009999', '+15559990002', '$UNI', 'loopback')" || bail "INSERT failed"

if wait_for 30 "SELECT count(*) = 22 FROM smspool.outbox WHERE status IN ($FINAL_STATES)"; then
	pass "22 messages final within 30 s"
else
	fail "22 messages final within 30 s" "states: $(state_counts)"
fi
is "$(count_where "status = 'delivered'")" 22 "all delivered"
is "$(count_where "connection_used = 'loopback'")" 22 "all sent through loopback"
echoed=$(sql "SELECT count(*) FROM smspool.outbox o WHERE EXISTS (
	SELECT 1 FROM smspool.inbox i WHERE i.sender = o.recipient AND i.recipient = o.sender
	AND i.body = o.body AND i.connection = 'loopback')")
is "$echoed" 22 "each message is in the inbox, sender and recipient swapped, same body"
is "$(sql "SELECT count(*) FROM smspool.inbox")" 22 "exactly one inbox row per message"
is "$(sql "SELECT parts FROM smspool.outbox WHERE recipient = '+15550009998'")" 2 "161 GSM characters: parts = 2"
is "$(sql "SELECT count(*) FROM smspool.inbox WHERE body = '$LONG' AND sender = '+15550009998'")" 1 \
	"the two-part text comes back as one inbox row with the whole text"
is "$(sql "SELECT body FROM smspool.inbox WHERE sender = '+15550009999'")" "$UNI" "a UCS-2 text with an emoji comes back intact"

stop_daemon e2eloop
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
