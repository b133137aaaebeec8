#!/usr/bin/env bash
# Flow control per PDU (issue 17): a connection's throughput counts SMS parts,
# as SMSCs do.  At throughput 2/s, a 4-part message takes four tokens, so the
# next message waits about two seconds behind it (it waited half a second
# when a message counted once).
. "$(dirname "$0")/../lib/e2e.sh"
plan 3

e2e_db smspool_e2e_pdu_throughput
add_connection paced emulator '{"report_delay_ms": 0}'
sql "UPDATE smspool.connections SET throughput = 2 WHERE name = 'paced'" || bail "throughput"
add_route paced
start_daemon pt
wait_for 10 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'paced'" || bail "paced is not up"

# 500 GSM characters: four parts of 153.
long=$(printf 'x%.0s' $(seq 1 500))
id1=$(sql "INSERT INTO smspool.outbox (recipient, body) VALUES ('+15550101', '$long') RETURNING id")
wait_for 20 "SELECT sent_at IS NOT NULL FROM smspool.outbox WHERE id = $id1" || bail "the long message was not sent"
id2=$(sql "INSERT INTO smspool.outbox (recipient, body) VALUES ('+15550102', 'short') RETURNING id")
wait_for 20 "SELECT sent_at IS NOT NULL FROM smspool.outbox WHERE id = $id2" || bail "the short message was not sent"
is "$(sql "SELECT parts FROM smspool.outbox WHERE id = $id1")" 4 "the long message went in four parts"
gap=$(sql "SELECT round(extract(epoch FROM b.sent_at - a.sent_at) * 1000) FROM smspool.outbox a, smspool.outbox b WHERE a.id = $id1 AND b.id = $id2")
ok "${gap:-0} >= 1500" "the next message waited for the four parts' tokens (${gap} ms >= 1500)"
stop_daemon pt
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
