# shellcheck shell=bash
# Helpers for the e2e tests of the `at` connection (tests/e2e/85_at*.sh):
# tests/peers/modem_emu.py on a pty, started and stopped by PID.
#
#   start_modem NAME [emulator options...]   link $E2E_TMP/NAME.tty, events
#                                            $E2E_TMP/NAME.ev, control dir
#                                            $E2E_TMP/NAME.ctl
#   modem_ctl NAME 'JSON'                    one control operation
#   modem_count NAME EVENT                   how many events of that kind
#   wait_modem NAME SECONDS 'PYTHON EXPR'    until the expression over the
#                                            events list `ev` is true

declare -A MODEM_PID=()
_modem_ctl_n=0

start_modem() {
	local name=$1
	shift
	mkdir -p "$E2E_TMP/$name.ctl"
	python3 "$E2E_ROOT/tests/peers/modem_emu.py" --link "$E2E_TMP/$name.tty" --events "$E2E_TMP/$name.ev" \
		--ctl "$E2E_TMP/$name.ctl" --ready "$E2E_TMP/$name.ready" "$@" >>"$E2E_TMP/$name.log" 2>&1 &
	MODEM_PID[$name]=$!
	local i
	for ((i = 0; i < 100; i++)); do
		[ -e "$E2E_TMP/$name.ready" ] && return 0
		sleep 0.1
	done
	bail "the modem emulator $name did not start: $(tail -5 "$E2E_TMP/$name.log")"
}

stop_modem() {
	local pid=${MODEM_PID[$1]:-}
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	unset "MODEM_PID[$1]"
}

stop_all_modems() {
	local n
	for n in "${!MODEM_PID[@]}"; do stop_modem "$n"; done
}

modem_ctl() {
	_modem_ctl_n=$((_modem_ctl_n + 1))
	local f
	f=$(printf '%s/%s.ctl/%06d' "$E2E_TMP" "$1" "$_modem_ctl_n")
	printf '%s\n' "$2" >"$f.tmp" && mv "$f.tmp" "$f.json"
}

# modem_py NAME 'EXPR': evaluates EXPR with ev = the list of event dicts.
modem_py() {
	python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(eval(sys.argv[2]))' "$E2E_TMP/$1.ev" "$2"
}

modem_count() {
	modem_py "$1" "sum(1 for e in ev if e[\"ev\"] == \"$2\")"
}

wait_modem() {
	local name=$1 secs=$2 expr=$3 end
	end=$(($(date +%s%N) / 1000000 + secs * 1000))
	while [ "$(($(date +%s%N) / 1000000))" -lt "$end" ]; do
		[ "$(modem_py "$name" "$expr" 2>/dev/null)" = True ] && return 0
		sleep 0.2
	done
	diag "timed out after $secs s waiting for the modem: $expr"
	return 1
}
