# shellcheck shell=bash
# Helpers for the e2e tests of the `fbus` connection (tests/e2e/86_fbus*.sh):
# the phone emulator tests/peers/fbus_phone.py on a pty, and Gammu on it.
#
#   start_phone DIR [emulator options...]   link DIR/tty, events DIR/events.log,
#                                           control DIR/ctl; its PID in PIDS
#                                           (the caller's EXIT trap kills PIDS)
#   gammu_rc DIR                            DIR/gammurc: Gammu on DIR/tty over FBUS
#   g ARGS...                               one bounded Gammu run with $D/gammurc:
#                                           output in $OUT, status in $RC

PIDS=()

start_phone() {
	local d=$1
	shift
	mkdir -p "$d/ctl"
	python3 "$E2E_ROOT/tests/peers/fbus_phone.py" --link "$d/tty" --control "$d/ctl" --log "$d/events.log" \
		"$@" >"$d/emulator.out" 2>&1 &
	PIDS+=($!)
	local i
	for ((i = 0; i < 100; i++)); do
		[ -e "$d/tty" ] && return 0
		sleep 0.1
	done
	bail "the emulator did not create its pty: $(cat "$d/emulator.out")"
}

gammu_rc() {
	cat >"$1/gammurc" <<EOG
[gammu]
device = $1/tty
connection = fbus
use_locking = no
logformat = textall
logfile = $1/gammu.log
EOG
}

g() {
	OUT=$(timeout 60 gammu -c "$D/gammurc" "$@" 2>&1)
	RC=$?
	cp "$D/gammu.log" "$D/gammu-$1.log" 2>/dev/null
}
