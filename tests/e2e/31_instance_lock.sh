#!/usr/bin/env bash
# The instance lock: a daemon restarted at once after a crash finds its name
# still locked for a moment (the dead daemon's backend lets go when it
# notices the closed socket).  It waits for the lock instead of refusing to
# start; a second live daemon under the same name is still refused.
. "$(dirname "$0")/../lib/e2e.sh"
plan 7

e2e_db smspool_e2e_ilock
add_connection lo loopback '{}'
add_route lo

# wait_log INSTANCE EVENT SECONDS: the daemon's log shows event=EVENT
wait_log() {
	local end=$(($(now_ms) + $3 * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		grep -q "event=$2" "${DAEMON_LOG[$1]}" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Someone (a dead daemon's backend, here a session of ours) holds the lock
# of instance il for 3 s while il starts.
"$E2E_PSQL" -X -q -d "$SMSPOOL_DB" -c "SELECT pg_advisory_lock(hashtext('smspool.instance'), hashtext('il'));
	SELECT pg_sleep(3)" >/dev/null 2>&1 &
HOLDER=$!
wait_for 10 "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
	AND classid = hashtext('smspool.instance')::oid AND objid = hashtext('il')::oid" ||
	bail "the test's session did not get the instance lock"
start_daemon il
if wait_log il daemon_ready 30; then
	pass "a daemon whose instance lock is held for a moment waits and starts"
else
	fail "a daemon whose instance lock is held for a moment waits and starts" "$(tail -5 "${DAEMON_LOG[il]}")"
fi
ok "$(grep -c 'event=store_instance_lock_wait' "${DAEMON_LOG[il]}") == 1" "it said that it waited"
wait "$HOLDER"

# A second live daemon under the same name is refused (after the wait).
out=$(env SMSPOOL_INSTANCE=il timeout 60 "$SMSPOOL_BIN" run 2>&1)
rc=$?
ok "$rc != 0 && $rc != 124" "a second daemon named il exits with an error ($rc)"
like "$out" 'another daemon with instance name .{0,2}il.{0,2} is running' "and says why"
stop_daemon il
is "$DAEMON_STATUS" 0 "the first exits 0 on SIGTERM"

# SIGTERM during start-up: il2 waits for its instance lock (held by our
# session until we end it), gets SIGTERM there, then the lock goes.  Before
# its loop handled signals, the default action killed it (status 143).
"$E2E_PSQL" -X -q -d "$SMSPOOL_DB" -c "SELECT pg_advisory_lock(hashtext('smspool.instance'), hashtext('il2'));
	SELECT pg_sleep(120)" >/dev/null 2>&1 &
HOLDER=$!
wait_for 10 "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
	AND classid = hashtext('smspool.instance')::oid AND objid = hashtext('il2')::oid" ||
	bail "the test's session did not get the instance lock of il2"
start_daemon il2
wait_log il2 store_instance_lock_wait 30 || bail "il2 did not wait for its instance lock"
pid=${DAEMON_PID[il2]}
kill -TERM "$pid"
sql "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
	AND classid = hashtext('smspool.instance')::oid AND objid = hashtext('il2')::oid" >/dev/null
wait "$HOLDER" 2>/dev/null
end=$(($(now_ms) + 30000))
while kill -0 "$pid" 2>/dev/null && [ "$(now_ms)" -lt "$end" ]; do sleep 0.1; done
DAEMON_EXPECT[il2]=0
if kill -0 "$pid" 2>/dev/null; then
	kill -KILL "$pid"
	rc=timeout
else
	wait "$pid"
	rc=$?
fi
is "$rc" 0 "SIGTERM while the daemon starts: it exits 0 once started"
ok "$(grep -c 'event=daemon_stopped' "${DAEMON_LOG[il2]}") == 1" "and says that it stopped"
finish
