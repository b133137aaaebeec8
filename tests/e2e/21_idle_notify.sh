#!/usr/bin/env bash
# Producers NOTIFY smspool_outbox only while a claimer waits (021_part.sql):
# no daemon, no NOTIFY; an idle daemon sets its flag and an INSERT wakes it;
# a busy daemon drains a burst and sets its flag again; SIGTERM clears it.
. "$(dirname "$0")/../lib/e2e.sh"
plan 9

e2e_db smspool_e2e_idle_notify
add_connection loopback loopback '{}'

# listen_insert BODY: one session LISTENs, INSERTs a row (autocommit) and
# prints what it received: a session gets its own notifications.
listen_insert() {
	"$E2E_PSQL" -X -A -t -q -d "$SMSPOOL_DB" -c "LISTEN smspool_outbox" \
		-c "INSERT INTO smspool.outbox (recipient, body, connection) VALUES ('+15550001111', '$1', 'loopback')" \
		-c "SELECT 'done'" 2>&1
}

out=$(listen_insert "no daemon")
like "$out" "done" "INSERT without a daemon works"
ok "$(! grep -q 'Asynchronous notification' <<<"$out" && echo 1 || echo 0) == 1" "no claimer waits: the INSERT does not NOTIFY"
sql "DELETE FROM smspool.outbox" >/dev/null

start_daemon idle1
if wait_for 30 "SELECT count(*) = 1 FROM smspool.claimer_waiting WHERE instance = 'idle1'"; then
	pass "an idle daemon sets its waiting flag"
else
	fail "an idle daemon sets its waiting flag"
fi

out=$(listen_insert "wake up")
like "$out" 'Asynchronous notification "smspool_outbox"' "a claimer waits: the INSERT does NOTIFY"
if wait_for 30 "SELECT status = 'delivered' FROM smspool.outbox WHERE body = 'wake up'"; then
	pass "the NOTIFY wakes the daemon: the row is delivered"
else
	fail "the NOTIFY wakes the daemon: the row is delivered" "states: $(state_counts)"
fi

# a burst: the claimer works through it (busy: producers do not notify),
# and sets its flag again when it runs dry
sql "INSERT INTO smspool.outbox (recipient, body, connection)
     SELECT '+1555000' || lpad(i::text, 4, '0'), 'burst ' || i, 'loopback' FROM generate_series(1, 5000) i" >/dev/null
for i in 1 2 3 4 5; do
	sql "INSERT INTO smspool.outbox (recipient, body, connection) VALUES ('+15550002222', 'single $i', 'loopback')" >/dev/null
done
if wait_for 120 "SELECT count(*) = 0 FROM smspool.outbox WHERE status NOT IN ($FINAL_STATES)"; then
	pass "a burst of 5000 and 5 single INSERTs: all final"
else
	fail "a burst of 5000 and 5 single INSERTs: all final" "states: $(state_counts)"
fi
if wait_for 30 "SELECT count(*) = 1 FROM smspool.claimer_waiting WHERE instance = 'idle1'"; then
	pass "drained: the daemon waits again (flag set)"
else
	fail "drained: the daemon waits again (flag set)"
fi

stop_daemon idle1
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
is "$(sql "SELECT count(*) FROM smspool.claimer_waiting")" 0 "a stopped daemon clears its flag"
finish
