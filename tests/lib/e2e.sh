# shellcheck shell=bash
# Helpers for the end-to-end tests tests/e2e/*.sh (bash).  Source it first:
#
#   . "$(dirname "$0")/../lib/e2e.sh"
#   plan 5
#   e2e_db e2e_example                  fresh database, migrated; exports SMSPOOL_DB
#   sql "INSERT INTO smspool.connections (name, type) VALUES ('lo', 'loopback')"
#   start_daemon a                      `smspool run` with SMSPOOL_INSTANCE=a, in the background
#   wait_for 30 "SELECT count(*) = 0 FROM smspool.outbox WHERE status = 'queued'"
#   ok "$(sql 'SELECT count(*) FROM smspool.outbox') == 10" "ten rows"
#   is "$(sql 'SELECT 1')" 1 "one"
#   stop_daemon a                       SIGTERM, wait up to 20 s; status in $DAEMON_STATUS
#   finish                              exit status: 1 if anything failed
#
# Output is TAP.  On a failed assertion the tail of every daemon log of the
# test is printed as diagnostics.  An EXIT trap kills every daemon the test
# started and drops its databases, whatever happens.
#
# The private cluster must be running (tests/run.sh starts it).
# E2E_MIGRATE=psql applies sql/*.sql with psql instead of `smspool db migrate`
# (only for trying the tests while the migrator does not exist); none leaves
# the database empty.

set -uo pipefail
ulimit -c 0 2>/dev/null # a crashing daemon leaves no core file in the work tree

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
E2E_NAME=$(basename "$0" .sh)
cd "$E2E_ROOT" || exit 1
SMSPOOL_BIN=${SMSPOOL_BIN:-$E2E_ROOT/bin/smspool}
case $SMSPOOL_BIN in /*) ;; *) SMSPOOL_BIN=$E2E_ROOT/$SMSPOOL_BIN ;; esac
export SMSPOOL_BIN
export SMSPOOL_LOG_LEVEL=${SMSPOOL_LOG_LEVEL:-info}
PGCLUSTER="$E2E_ROOT/packaging/pgcluster.sh"
PGBIN=/usr/lib/postgresql/15/bin
E2E_PSQL=$PGBIN/psql
[ -x "$E2E_PSQL" ] || E2E_PSQL=psql
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/smspool-$E2E_NAME.XXXXXX")

# A ThreadSanitizer build (make TSAN=1): every smspool process the test runs
# (daemons, CLI commands, daemons a test starts by hand) writes its reports
# to $E2E_TMP/tsan.PID instead of its stderr, and finish fails the test when
# any such file exists, whatever the process's exit status was (a daemon
# killed with SIGKILL never gets to exit with TSan's status 66).
E2E_TSAN=0
case $SMSPOOL_BIN in */build-tsan/*) E2E_TSAN=1 ;; esac
if [ "$E2E_TSAN" = 1 ]; then
	export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 history_size=4 suppressions=$E2E_ROOT/tests/tsan.supp ${TSAN_OPTIONS:-} log_path=$E2E_TMP/tsan"
fi
# Bounds of the waits (wait_for, stop_daemon) are for a plain build; an
# instrumented daemon runs several times slower (TSan 5-15x on CPU), so its
# waits are stretched.  A wait still ends with a failure when the event does
# not come; only how long it is given changes.  E2E_WAIT_SCALE overrides.
case $SMSPOOL_BIN in
*/build-tsan/*) E2E_WAIT_SCALE=${E2E_WAIT_SCALE:-4} ;;
*/build-san/*) E2E_WAIT_SCALE=${E2E_WAIT_SCALE:-2} ;;
*) E2E_WAIT_SCALE=${E2E_WAIT_SCALE:-1} ;;
esac

_tap_n=0
_tap_failed=0
_tap_planned=""
_dbs=()
declare -A DAEMON_PID=()    # instance -> pid
declare -A DAEMON_LOG=()    # instance -> log file
declare -A DAEMON_EXPECT=() # instance -> 1 while it should be running
DAEMON_STATUS=""

# --- TAP ------------------------------------------------------------------

plan() {
	_tap_planned=$1
	echo "1..$1"
}

diag() {
	local line
	printf '%s\n' "$@" | while IFS= read -r line; do printf '# %s\n' "$line"; done
}

pass() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1"
}

fail() { # fail NAME [DIAG...]
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $1"
	shift
	[ $# -gt 0 ] && diag "$@"
	daemon_tails
	return 1
}

skip() { # skip NAME REASON
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP ${2:-}"
}

# ok COND NAME: COND is an arithmetic expression ("$n == 10000", "$x > 0"),
# or t/true (pass) or f/false/empty (fail), as psql prints booleans.
ok() {
	local cond=$1 name=$2 r=1
	case $cond in
	t | true) r=0 ;;
	f | false | '') r=1 ;;
	*) if (eval "(( $cond ))") 2>/dev/null; then r=0; fi ;;
	esac
	if [ "$r" = 0 ]; then pass "$name"; else fail "$name" "condition: $cond"; fi
}

# is GOT WANT NAME: string equality.
is() {
	if [ "$1" == "$2" ]; then
		pass "$3"
	else
		fail "$3" "got:  '$1'" "want: '$2'"
	fi
}

# like GOT REGEX NAME: extended regular expression match.
like() {
	if [[ $1 =~ $2 ]]; then
		pass "$3"
	else
		fail "$3" "got:  '$1'" "want: /$2/"
	fi
}

bail() {
	tsan_reports
	echo "Bail out! $*"
	daemon_tails
	exit 1
}

# tsan_reports: with a TSan build, one failing assertion (outside the plan)
# when any process of the test reported a race, a deadlock or a thread leak;
# the reports' summaries are its diagnostics.  Nothing otherwise.
_tsan_failed=0
tsan_reports() {
	[ "$E2E_TSAN" = 1 ] && [ "$_tsan_failed" = 0 ] || return 0
	local files=("$E2E_TMP"/tsan.*)
	[ -e "${files[0]}" ] || return 0
	_tsan_failed=1
	local n
	n=$(cat "${files[@]}" | grep -c '^WARNING: ThreadSanitizer')
	fail "ThreadSanitizer: $n report(s) in ${#files[@]} process(es) (kept in $E2E_TMP)" \
		"$(grep -h -E '^(WARNING: ThreadSanitizer|SUMMARY: ThreadSanitizer)' "${files[@]}" | sort | uniq -c | head -n 20)" \
		"$(head -n 40 "${files[0]}")"
}

# finish: closes the test; exit status 1 if any assertion failed or fewer
# assertions ran than planned (or, with a TSan build, a process reported).
finish() {
	tsan_reports
	[ -n "$_tap_planned" ] || echo "1..$_tap_n"
	if [ -n "$_tap_planned" ] && [ "$((_tap_n - _tsan_failed))" != "$_tap_planned" ]; then
		diag "planned $_tap_planned tests, ran $_tap_n"
		exit 1
	fi
	[ "$_tap_failed" = 0 ] || {
		diag "$_tap_failed of $_tap_n failed; logs kept in $E2E_TMP"
		E2E_KEEP=1
		exit 1
	}
	exit 0
}

# --- database -------------------------------------------------------------

e2e_url() { # e2e_url DBNAME: conninfo of a database of the private cluster
	sh "$PGCLUSTER" url | sed "s/dbname=[^ ]*/dbname=$1/"
}

# e2e_db NAME: drops NAME if it exists, creates it, migrates it, exports SMSPOOL_DB.
e2e_db() {
	local name=$1 out
	sh "$PGCLUSTER" status >/dev/null 2>&1 || bail "the private cluster is not running (sh packaging/pgcluster.sh start)"
	sh "$PGCLUSTER" dropdb "$name" >/dev/null 2>&1
	out=$(sh "$PGCLUSTER" createdb "$name" 2>&1) || bail "createdb $name: $out"
	_dbs+=("$name")
	SMSPOOL_DB=$(e2e_url "$name")
	export SMSPOOL_DB
	if [ "${E2E_MIGRATE:-}" = none ]; then
		: # an empty database: the test migrates it itself
	elif [ "${E2E_MIGRATE:-}" = psql ]; then
		local f
		for f in "$E2E_ROOT"/sql/*.sql; do
			out=$("$E2E_PSQL" -X -q -v ON_ERROR_STOP=1 -d "$SMSPOOL_DB" -f "$f" 2>&1) ||
				bail "applying $f: $out"
		done
	else
		[ -x "$SMSPOOL_BIN" ] || bail "$SMSPOOL_BIN does not exist (make)"
		out=$("$SMSPOOL_BIN" db migrate 2>&1) || bail "smspool db migrate on $name failed: $out"
	fi
}

# sql "STATEMENTS": runs on $SMSPOOL_DB, prints unaligned tuples; non-zero on error.
sql() {
	"$E2E_PSQL" -X -A -t -q -v ON_ERROR_STOP=1 -d "$SMSPOOL_DB" -c "$1"
}

# wait_for SECONDS "SQL returning a boolean": polls every 0.2 s until the
# query returns t.  Returns 1 when time runs out, or at once when a daemon that
# should be running has died.  Errors (e.g. while PostgreSQL restarts) count
# as "not yet".
wait_for() {
	local secs=$(($1 * E2E_WAIT_SCALE)) q=$2 end r inst
	end=$(($(date +%s%N) / 1000000 + secs * 1000))
	while :; do
		r=$(sql "$q" 2>/dev/null)
		[ "$r" = t ] && return 0
		for inst in "${!DAEMON_EXPECT[@]}"; do
			if [ "${DAEMON_EXPECT[$inst]}" = 1 ] && ! kill -0 "${DAEMON_PID[$inst]}" 2>/dev/null; then
				DAEMON_EXPECT[$inst]=0
				wait "${DAEMON_PID[$inst]}" 2>/dev/null
				diag "daemon $inst (pid ${DAEMON_PID[$inst]}) died (status $?) while waiting for: $q"
				return 1
			fi
		done
		[ "$(($(date +%s%N) / 1000000))" -lt "$end" ] || {
			diag "timed out after $secs s waiting for: $q"
			return 1
		}
		sleep 0.2
	done
}

# --- daemons --------------------------------------------------------------

# start_daemon INSTANCE [VAR=value...]: `smspool run` in the background.
start_daemon() {
	local inst=$1
	shift
	local log="$E2E_TMP/daemon-$inst.log"
	[ -x "$SMSPOOL_BIN" ] || bail "$SMSPOOL_BIN does not exist (make)"
	echo "--- start $(date +%T.%N)" >>"$log"
	env SMSPOOL_INSTANCE="$inst" "$@" "$SMSPOOL_BIN" run >>"$log" 2>&1 &
	DAEMON_PID[$inst]=$!
	DAEMON_LOG[$inst]=$log
	DAEMON_EXPECT[$inst]=1
	diag "started daemon $inst (pid $!, log $log)"
}

daemon_alive() { # daemon_alive INSTANCE
	[ -n "${DAEMON_PID[$1]:-}" ] && kill -0 "${DAEMON_PID[$1]}" 2>/dev/null
}

# stop_daemon INSTANCE: SIGTERM, waits up to 20 s (then SIGKILL).  Sets
# DAEMON_STATUS to the exit status, or "timeout"; returns 0 if it exited 0.
stop_daemon() {
	local inst=$1 pid=${DAEMON_PID[$1]:-} i
	DAEMON_EXPECT[$inst]=0
	DAEMON_STATUS="not started"
	[ -n "$pid" ] || return 1
	# Right after start_daemon the process may still be env or the dynamic
	# loader, for which SIGTERM is death (143): wait (bounded) until it holds
	# SIGTERM back (smspool run's start-up) or catches it (its loop).
	local m sig
	for ((i = 0; i < 100; i++)); do
		sig=$(awk '/^Sig(Blk|Cgt):/ {print $2}' "/proc/$pid/status" 2>/dev/null) || break
		[ -n "$sig" ] || break
		for m in $sig; do (((0x$m & 0x4000) != 0)) && break 2; done
		sleep 0.05
	done
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100 * E2E_WAIT_SCALE; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		diag "daemon $inst (pid $pid) still running $((20 * E2E_WAIT_SCALE)) s after SIGTERM: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		DAEMON_STATUS=timeout
		return 1
	fi
	wait "$pid" 2>/dev/null
	DAEMON_STATUS=$?
	diag "daemon $inst (pid $pid) exited with status $DAEMON_STATUS after SIGTERM"
	[ "$DAEMON_STATUS" = 0 ]
}

kill_daemon() { # kill_daemon INSTANCE: SIGKILL
	local pid=${DAEMON_PID[$1]:-}
	DAEMON_EXPECT[$1]=0
	[ -n "$pid" ] || return 1
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# daemon_tails: the last lines of each daemon log that grew since it was last
# shown (so that a run of failures does not repeat the same lines).
declare -A _shown_size=()
daemon_tails() {
	local inst log size
	for inst in "${!DAEMON_LOG[@]}"; do
		log=${DAEMON_LOG[$inst]}
		[ -s "$log" ] || continue
		size=$(stat -c %s "$log")
		[ "${_shown_size[$inst]:-}" = "$size" ] && continue
		_shown_size[$inst]=$size
		diag "--- last lines of daemon $inst ($log):"
		diag "$(tail -n 15 "$log")"
	done
}

# --- cleanup --------------------------------------------------------------

_e2e_cleanup() {
	local inst pid db tsan_before=$_tsan_failed
	for inst in "${!DAEMON_PID[@]}"; do
		pid=${DAEMON_PID[$inst]}
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done
	for db in "${_dbs[@]}"; do
		sh "$PGCLUSTER" dropdb "$db" >/dev/null 2>&1
	done
	# A TSan report written after finish (by a daemon still running then).
	tsan_reports
	if [ "${E2E_KEEP:-0}" = 1 ] || [ "$_tap_failed" != 0 ]; then
		: # logs stay in $E2E_TMP for a look
	else
		rm -rf "$E2E_TMP"
	fi
	[ "$_tsan_failed" = "$tsan_before" ] || exit 1
}
trap _e2e_cleanup EXIT
trap 'diag "interrupted"; exit 1' INT TERM

# Common SQL bits.
FINAL_STATES="'delivered','undelivered','expired','rejected','failed','cancelled'"

# count_where "CONDITION": count of outbox rows matching it.
count_where() {
	sql "SELECT count(*) FROM smspool.outbox WHERE $1"
}

# state_counts: "status=count ..." of the outbox, for diagnostics.
state_counts() {
	sql "SELECT string_agg(status || '=' || n, ' ' ORDER BY status) FROM (SELECT status, count(*) n FROM smspool.outbox GROUP BY status) s"
}

# add_connection NAME TYPE 'SETTINGS JSON' [WINDOW]: a row of smspool.connections.
add_connection() {
	local w=${4:-}
	if [ -n "$w" ]; then
		sql "INSERT INTO smspool.connections (name, type, settings, \"window\") VALUES ('$1', '$2', '$3'::jsonb, $w)"
	else
		sql "INSERT INTO smspool.connections (name, type, settings) VALUES ('$1', '$2', '$3'::jsonb)"
	fi || bail "could not add connection $1"
}

# add_route CONNECTION [POSITION]: a catch-all route to CONNECTION.
add_route() {
	sql "INSERT INTO smspool.routes (position, connection) VALUES (${2:-100}, '$1')" ||
		bail "could not add a route to $1"
}

# now_ms: milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
