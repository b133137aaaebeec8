#!/usr/bin/env bash
# Fault suite 9 (issue 9): leases hold while the daemon holds the message.
# lease_s is 2 s; a connection with throughput 5 msg/s and window 100 gets
# 40 messages, so most of them wait in the daemon for 2 to 8 s, longer than
# their lease.  Before, the claimer took them again when the lease ran out
# (even this very daemon) and they went out twice.  Now the heartbeat renews
# the leases of what the daemon holds: a second daemon on the same database,
# claiming all the while, gets none of them, and the SMSC (npm smpp) sees
# each message exactly once.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/reconcile.sh"

N=40
plan 5

smsc_start "$E2E_TMP/smsc" '"receipts": {"delay_ms": 20}, "log_lean": true, "log_skip": ["rx", "enquire_link", "receipt", "deliver_resp"]'
e2e_db smspool_e2e_fault_lease
sql "UPDATE smspool.config SET value = '2' WHERE key = 'lease_s'" || bail "config"
sql "INSERT INTO smspool.connections (name, type, settings, \"window\", throughput)
     VALUES ('slow', 'smpp', '$(smpp_settings)'::jsonb, 100, 5)" || bail "connection"
add_route slow
start_daemon l1
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'slow' AND instance = 'l1'" || bail "no bind"

sql "INSERT INTO smspool.outbox (recipient, body, client_ref)
     SELECT '+1555' || lpad(g::text, 7, '0'), 'lease ' || g, 'l' || g FROM generate_series(1, $N) g" || bail "insert"
# Once l1 holds every message, a second daemon joins and claims all along.
wait_for 10 "SELECT count(*) = 0 FROM smspool.outbox WHERE client_ref LIKE 'l%' AND status = 'queued'" || bail "l1 claimed nothing"
start_daemon l2
if wait_for 60 "SELECT count(*) = $N FROM smspool.outbox WHERE client_ref LIKE 'l%' AND status = 'delivered'"; then
	pass "all $N messages delivered"
else
	fail "all $N messages delivered" "$(sql "SELECT string_agg(status || '=' || n, ' ') FROM (SELECT status, count(*) n FROM smspool.outbox GROUP BY status) s")"
fi
submits=$(grep -c '"ev":"submit"' "$SMSC_LOG")
is "$submits" "$N" "the SMSC received each message exactly once though each waited past its lease"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE client_ref LIKE 'l%' AND attempts <> 1")" 0 "every message took one attempt"
ok "$(sql "SELECT extract(epoch FROM max(sent_at) - min(sent_at))::int FROM smspool.outbox WHERE client_ref LIKE 'l%'") >= 4" \
	"the throughput limit made the messages wait longer than lease_s"
stop_daemon l1
stop_daemon l2
is "$DAEMON_STATUS" 0 "the daemons stop cleanly"
finish
