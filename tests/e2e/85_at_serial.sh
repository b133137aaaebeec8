#!/usr/bin/env bash
# The libserialport side without hardware: `smspool serial list` enumerates
# cleanly (exit 0; one "path<TAB>usb id or -<TAB>description" line per port,
# or "no serial ports found"), and an `at` connection whose `usb` id no
# present device has stays `connecting` with that reason, retrying, without
# a crash; the daemon stops cleanly.  Opening a real port is not tested here.
. "$(dirname "$0")/../lib/e2e.sh"
plan 4

out=$("$SMSPOOL_BIN" serial list 2>"$E2E_TMP/list.err")
rc=$?
if [ "$rc" = 0 ] && { [ -n "$out" ] || grep -q 'no serial ports found' "$E2E_TMP/list.err"; } &&
	! printf '%s\n' "$out" | grep -v '^$' | grep -qvP '^/dev/\S+\t(-|usb=[0-9a-f]{4}:[0-9a-f]{4}\S*)\t'; then
	pass "smspool serial list enumerates cleanly"
else
	fail "smspool serial list enumerates cleanly" "rc=$rc out=$out err=$(cat "$E2E_TMP/list.err")"
fi

e2e_db smspool_e2e_at_serial
add_connection absent at '{"usb": "ffff:fffe", "reconnect_min_ms": 100, "reconnect_max_ms": 300}'
start_daemon s1
if wait_for 30 "SELECT state = 'connecting' AND detail = 'no USB serial port ffff:fffe is present' FROM smspool.connection_state WHERE name = 'absent'"; then
	pass "a usb id no device has: connecting, with the reason"
else
	fail "a usb id no device has: connecting, with the reason" "$(sql "SELECT state, detail FROM smspool.connection_state")"
fi
for ((i = 0; i < 150; i++)); do # up to 30 s for a second attempt
	[ "$(grep -c 'at_open_failed' "${DAEMON_LOG[s1]}")" -ge 2 ] && break
	sleep 0.2
done
ok "$(grep -c 'at_open_failed' "${DAEMON_LOG[s1]}") >= 2 && $(daemon_alive s1 && echo 1 || echo 0)" \
	"it keeps looking for the device (several attempts), the daemon alive"
stop_daemon s1
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
