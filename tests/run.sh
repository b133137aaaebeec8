#!/usr/bin/env bash
# The test runner behind `make check` (which builds the binary, the unit test
# binaries and the fuzzers first).
#
#   make check
#   bash tests/run.sh                 every suite: format, unit, sql, fuzz, e2e
#   bash tests/run.sh e2e sql         only these suites, in the usual order
#   bash tests/run.sh 'e2e:20_*'      a suite restricted to names matching a glob
#
# Environment (exported by the Makefile): SMSPOOL_BIN (the smspool binary),
# SMSPOOL_BUILD (build dir; unit tests are $SMSPOOL_BUILD/tests/test_*),
# FUZZ_SECONDS (per fuzzer, default 10).
#
# Results are counted from TAP: every `ok` line is a pass, every `not ok` a
# failure, a `# SKIP` or `# TODO` directive a skip.  Indented (subtest) lines
# are counted each, and the top-level line that closes a block of them is not
# counted again.  A program that exits non-zero, crashes, times out, runs
# fewer tests than its plan or prints no result at all, without printing a
# failing line, counts as one failure.  The last line is always
#   N passed, N failed[, N skipped]
# and the exit status is 1 if anything failed.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT"

abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }
# TSAN=1 / SANITIZE=1, as make takes them: that build's binaries (make check
# exports SMSPOOL_BIN and SMSPOOL_BUILD itself).
if [ "${TSAN:-0}" = 1 ]; then
	: "${SMSPOOL_BIN:=build-tsan/bin/smspool}" "${SMSPOOL_BUILD:=build-tsan}"
elif [ "${SANITIZE:-0}" = 1 ]; then
	: "${SMSPOOL_BIN:=build-san/bin/smspool}" "${SMSPOOL_BUILD:=build-san}"
fi
SMSPOOL_BIN=$(abspath "${SMSPOOL_BIN:-bin/smspool}")
SMSPOOL_BUILD=$(abspath "${SMSPOOL_BUILD:-build}")
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
export SMSPOOL_BIN SMSPOOL_BUILD FUZZ_SECONDS
# A ThreadSanitizer build: its reports fail the program that printed them
# (exit status 66 at exit, counted below; e2e tests also look for report
# files, tests/lib/e2e.sh), and only third-party code is suppressed.
case $SMSPOOL_BUILD in */build-tsan)
	export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 history_size=4 suppressions=$ROOT/tests/tsan.supp ${TSAN_OPTIONS:-}"
	;;
esac
export SMSPOOL_ROOT=$ROOT
# Tests choose their own databases; nothing configured outside may leak in.
unset SMSPOOL_DB SMSPOOL_INSTANCE PGHOST PGPORT PGUSER PGDATABASE PGSERVICE PGOPTIONS
export SMSPOOL_LOG_LEVEL=${SMSPOOL_LOG_LEVEL:-info}

PGCLUSTER="$ROOT/packaging/pgcluster.sh"
PGBIN=/usr/lib/postgresql/15/bin
PSQL=$PGBIN/psql
[ -x "$PSQL" ] || PSQL=psql

# Per-program time limits (seconds); each e2e script bounds itself well below.
LIMIT_UNIT=${LIMIT_UNIT:-300}
LIMIT_SQL=${LIMIT_SQL:-300}
LIMIT_E2E=${LIMIT_E2E:-420}

PASSED=0
FAILED=0
SKIPPED=0
FAILURES=()
TIMES=() # "SECONDS NAME" of every TAP program, for the slowest list
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smspool-check.XXXXXX")
CHILD=""
CLUSTER_STARTED=0
T0=$SECONDS

fail_one() { # fail_one NAME REASON: a failure that no TAP line reported
	FAILED=$((FAILED + 1))
	FAILURES+=("$1: $2")
	echo "not ok - $1: $2"
}

finish() {
	trap - INT TERM EXIT
	if [ "$CLUSTER_STARTED" = 1 ]; then
		sh "$PGCLUSTER" stop >/dev/null 2>&1 || true
	fi
	rm -rf "$TMP"
	echo
	echo "=== summary ($((SECONDS - T0)) s)"
	if [ ${#TIMES[@]} -gt 1 ]; then
		# Where the time goes (make check must stay under 30 minutes on 2 cores).
		echo "slowest: $(printf '%s\n' "${TIMES[@]}" | sort -rn | head -n 8 | awk '{printf "%s%s %d s", (NR > 1 ? ", " : ""), $2, $1}')"
	fi
	if [ ${#FAILURES[@]} -gt 0 ]; then
		echo "failures:"
		printf '  %s\n' "${FAILURES[@]}"
	fi
	if [ "$SKIPPED" -gt 0 ]; then
		echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	else
		echo "$PASSED passed, $FAILED failed"
	fi
	[ "$FAILED" = 0 ]
	exit $?
}

on_signal() {
	echo "tests/run.sh: interrupted" >&2
	# shellcheck disable=SC2086 # CHILD may hold several PIDs (the fuzzers run in pairs)
	if [ -n "$CHILD" ]; then kill -TERM $CHILD 2>/dev/null; wait $CHILD 2>/dev/null; fi
	FAILURES+=("interrupted")
	FAILED=$((FAILED + 1))
	finish
}
trap on_signal INT TERM

# tap_count FILE: prints "pass fail skip planned top_level_results"
tap_count() {
	awk '
	{
		line = $0
		sub(/\r$/, "", line)
		ind = match(line, /^[ \t]+/) ? RLENGTH : 0
		s = substr(line, ind + 1)
		if (s ~ /^(not )?ok([ \t]|$)/) {
			isnot = (s ~ /^not /)
			skip = (s ~ /#[ \t]*([Ss][Kk][Ii][Pp]|[Tt][Oo][Dd][Oo])/)
			if (ind > 0) {
				insub = 1
				if (skip) k++; else if (isnot) { f++; subfail = 1 } else p++
				next
			}
			n++
			if (insub) {
				# closes a block of subtests that were counted one by one
				if (isnot && !subfail && !skip) f++
				insub = 0; subfail = 0
				next
			}
			if (skip) k++; else if (isnot) f++; else p++
		} else if (ind == 0 && s ~ /^1\.\.[0-9]+/) {
			m = s; sub(/^1\.\./, "", m); sub(/[^0-9].*$/, "", m)
			plan += m + 0
			if (m + 0 == 0 && s ~ /[Ss][Kk][Ii][Pp]/) k++
			planned = 1
		}
	}
	END { printf "%d %d %d %d %d %d\n", p, f, k, plan, n, planned }
	' "$1"
}

# run_tap NAME LIMIT CMD...: runs CMD (output streamed and kept), counts its TAP.
run_tap() {
	local name=$1 limit=$2
	shift 2
	local log="$TMP/out.log" rc tailpid t0=$SECONDS
	: >"$log"
	echo "--- $name"
	timeout -k 15 "$limit" "$@" >"$log" 2>&1 </dev/null &
	CHILD=$!
	tail -n +1 -s 0.2 -f --pid="$CHILD" "$log" &
	tailpid=$!
	wait "$CHILD"
	rc=$?
	wait "$tailpid" 2>/dev/null
	CHILD=""
	local p f k plan n planned
	read -r p f k plan n planned < <(tap_count "$log")
	PASSED=$((PASSED + p))
	SKIPPED=$((SKIPPED + k))
	FAILED=$((FAILED + f))
	if [ "$f" -gt 0 ]; then
		FAILURES+=("$name: $f failed")
	fi
	local why="" bail
	bail=$(sed -n 's/^Bail out! *//p' "$log" | head -n 1)
	if [ -n "$bail" ]; then
		why="bailed out: $bail"
	elif [ "$rc" = 124 ]; then
		why="timed out after $limit s"
	elif [ "$rc" -gt 128 ]; then
		why="killed by signal $((rc - 128))"
	elif [ "$rc" != 0 ]; then
		why="exited with status $rc"
	fi
	if [ "$f" = 0 ]; then
		if [ -n "$why" ]; then
			fail_one "$name" "$why"
		elif [ "$planned" = 1 ] && [ "$n" -lt "$plan" ]; then
			fail_one "$name" "planned $plan tests, ran $n"
		elif [ "$p" = 0 ] && [ "$k" = 0 ]; then
			fail_one "$name" "printed no test result"
		fi
	elif [ -n "$why" ]; then
		echo "# $name $why"
	fi
	TIMES+=("$((SECONDS - t0)) $name")
	echo "# $name: $p ok, $f not ok$([ "$k" -gt 0 ] && echo ", $k skipped") ($((SECONDS - t0)) s)"
}

want_suite() { # want_suite SUITE: 0 if selected; sets PATTERN
	PATTERN='*'
	[ ${#SELECT[@]} = 0 ] && return 0
	local s
	for s in "${SELECT[@]}"; do
		case $s in
		"$1") return 0 ;;
		"$1":*)
			PATTERN=${s#*:}
			return 0
			;;
		esac
	done
	return 1
}

header() {
	echo
	echo "=== $1"
}

SELECT=("$@")
for s in "${SELECT[@]}"; do
	case ${s%%:*} in format | unit | sql | fuzz | e2e) ;; *)
		echo "tests/run.sh: unknown suite '$s' (format, unit, sql, fuzz, e2e; SUITE:GLOB)" >&2
		exit 2
		;;
	esac
done

# --- the private cluster ---------------------------------------------------
NEED_DB=0
want_suite sql && NEED_DB=1
want_suite e2e && NEED_DB=1
DB_OK=0
if [ "$NEED_DB" = 1 ]; then
	header "database: private PostgreSQL cluster"
	if sh "$PGCLUSTER" status >/dev/null 2>&1; then
		sh "$PGCLUSTER" status && DB_OK=1
	elif sh "$PGCLUSTER" start; then
		CLUSTER_STARTED=1
		DB_OK=1
	fi
	[ "$DB_OK" = 1 ] || fail_one "database" "the private cluster did not start (packaging/pgcluster.sh start)"
fi
url_for() { # url_for DBNAME
	sh "$PGCLUSTER" url | sed "s/dbname=[^ ]*/dbname=$1/"
}

# --- format: clang-format with the checked-in .clang-format -------------------
if want_suite format; then
	header "format: clang-format --dry-run --Werror on src/ drivers/ tests/ C files"
	if ! command -v clang-format >/dev/null 2>&1; then
		fail_one "format" "clang-format is missing (Debian clang-format)"
	else
		# One check for the whole tree (the summary counts behaviour, not
		# files); the files that are not formatted are named.
		bad=()
		nfiles=0
		for f in $(git ls-files 'src/*.[ch]' 'drivers/*.[ch]' 'tests/*.[ch]' 2>/dev/null || find src drivers tests -name '*.[ch]'); do
			case $f in $PATTERN) ;; *) continue ;; esac
			nfiles=$((nfiles + 1))
			clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
		done
		if [ ${#bad[@]} = 0 ]; then
			PASSED=$((PASSED + 1))
			echo "ok - format: $nfiles C files formatted"
		else
			fail_one "format" "${#bad[@]} of $nfiles C files not formatted (make format): ${bad[*]}"
		fi
	fi
fi

# --- a. unit -----------------------------------------------------------------
if want_suite unit; then
	header "unit: $SMSPOOL_BUILD/tests/test_* (cmocka, TAP)"
	n=0
	for src in tests/unit/test_*.c; do
		[ -e "$src" ] || continue
		t=$(basename "$src" .c)
		case $t in $PATTERN) ;; *) continue ;; esac
		[ -x "$SMSPOOL_BUILD/tests/$t" ] || fail_one "unit/$t" "not built ($SMSPOOL_BUILD/tests/$t missing: make unit)"
	done
	for t in "$SMSPOOL_BUILD"/tests/test_*; do
		[ -x "$t" ] && [ -f "$t" ] || continue
		name=$(basename "$t")
		case $name in $PATTERN) ;; *) continue ;; esac
		n=$((n + 1))
		run_tap "unit/$name" "$LIMIT_UNIT" env CMOCKA_MESSAGE_OUTPUT=TAP SMSPOOL_VECTORS=tests/vectors "$t"
	done
	[ "$n" -gt 0 ] || fail_one "unit" "no unit test programs found ($SMSPOOL_BUILD/tests/test_*; sources tests/unit/test_*.c)"
fi

# --- b. sql (pgTAP) ----------------------------------------------------------
if want_suite sql; then
	header "sql: tests/sql/*.sql (pgTAP through pg_prove)"
	db=smspool_test_sql
	files=()
	for f in tests/sql/*.sql; do
		[ -e "$f" ] || continue
		case $(basename "$f" .sql) in $PATTERN) files+=("$f") ;; esac
	done
	if ! command -v pg_prove >/dev/null 2>&1; then
		fail_one "sql" "pg_prove not found (Debian libtap-parser-sourcehandler-pgtap-perl: sh packaging/install-deps.sh)"
	elif [ "$DB_OK" != 1 ]; then
		fail_one "sql" "no database"
	elif [ ${#files[@]} = 0 ]; then
		fail_one "sql" "no tests in tests/sql/*.sql"
	elif ! sh "$PGCLUSTER" dropdb "$db" >/dev/null 2>&1 || ! sh "$PGCLUSTER" createdb "$db"; then
		fail_one "sql" "could not create database $db"
	elif ! SMSPOOL_DB=$(url_for "$db") "$SMSPOOL_BIN" db migrate; then
		fail_one "sql" "'smspool db migrate' failed on $db"
	elif ! "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(url_for "$db")" -c 'CREATE EXTENSION IF NOT EXISTS pgtap'; then
		fail_one "sql" "CREATE EXTENSION pgtap failed (Debian postgresql-15-pgtap)"
	else
		RUNDIR=$ROOT/var/pg/run
		for f in "${files[@]}"; do
			run_tap "sql/$(basename "$f" .sql)" "$LIMIT_SQL" \
				pg_prove --verbose --failures -h "$RUNDIR" -p 5499 -U smspool -d "$db" "$f"
		done
	fi
fi

# --- c. fuzz (libFuzzer) -----------------------------------------------------
if want_suite fuzz; then
	header "fuzz: build-fuzz/fuzz_* for $FUZZ_SECONDS s each"
	n=0
	for src in tests/fuzz/fuzz_*.c; do
		[ -e "$src" ] || continue
		t=$(basename "$src" .c)
		case $t in $PATTERN) ;; *) continue ;; esac
		[ -x "build-fuzz/$t" ] || fail_one "fuzz/$t" "not built (build-fuzz/$t missing: make fuzz-build; needs clang)"
	done
	# Each fuzzer is one process: FUZZ_JOBS of them run at a time (one per
	# core by default), their results reported in name order.
	jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
	names=()
	for fz in build-fuzz/fuzz_*; do
		[ -x "$fz" ] && [ -f "$fz" ] || continue
		name=$(basename "$fz")
		case $name in $PATTERN) ;; *) continue ;; esac
		names+=("$name")
	done
	n=${#names[@]}
	for ((i = 0; i < n; i += jobs)); do
		CHILD=""
		batch=("${names[@]:i:jobs}")
		for name in "${batch[@]}"; do
			short=${name#fuzz_}
			corpus=$TMP/corpus-$short
			mkdir -p "$corpus"
			if [ -d "tests/fuzz/corpus/$short" ]; then
				cp -R "tests/fuzz/corpus/$short/." "$corpus/"
			fi
			art=$ROOT/build-fuzz/artifacts/$short
			mkdir -p "$art"
			echo "--- fuzz/$name ($(find "$corpus" -type f | wc -l) corpus files)"
			timeout -k 10 $((FUZZ_SECONDS + 120)) "build-fuzz/$name" -max_total_time="$FUZZ_SECONDS" \
				-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$art/" "$corpus" \
				>"$TMP/fuzz-$short.log" 2>&1 </dev/null &
			CHILD="$CHILD $!"
			declare "FUZZ_PID_$short=$!"
		done
		for name in "${batch[@]}"; do
			short=${name#fuzz_}
			pidvar=FUZZ_PID_$short
			wait "${!pidvar}"
			rc=$?
			flog=$TMP/fuzz-$short.log
			runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$flog" | tail -n 1)
			if [ "$rc" = 0 ]; then
				PASSED=$((PASSED + 1))
				echo "ok - fuzz/$name: ${runs:-?} runs in $FUZZ_SECONDS s"
			else
				tail -n 40 "$flog" | sed 's/^/# /'
				crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$flog" | tail -n 1)
				# What the tail may have cut: the target's own diagnostics, the
				# top of the report, and the input itself (CI keeps no artifact).
				grep -E '^(fuzz-|==[0-9]+==ERROR|SUMMARY|    #[0-7] )' "$flog" | head -n 20 | sed 's/^/# /'
				[ -n "$crash" ] && [ -f "$crash" ] && echo "# input: $(od -An -v -tx1 "$crash" | tr -d ' \n' | head -c 4000)"
				fail_one "fuzz/$name" "exit status $rc${crash:+, input saved in $crash}"
			fi
		done
		CHILD=""
	done
	[ "$n" -gt 0 ] || fail_one "fuzz" "no fuzzers found (build-fuzz/fuzz_*; sources tests/fuzz/fuzz_*.c)"
fi

# --- d. e2e ------------------------------------------------------------------
if want_suite e2e; then
	header "e2e: tests/e2e/*.sh"
	n=0
	for f in tests/e2e/*.sh; do
		[ -e "$f" ] || continue
		case $(basename "$f" .sh) in $PATTERN) ;; *) continue ;; esac
		n=$((n + 1))
		if [ "$DB_OK" != 1 ]; then
			fail_one "e2e/$(basename "$f" .sh)" "no database"
			continue
		fi
		run_tap "e2e/$(basename "$f" .sh)" "$LIMIT_E2E" bash "$f"
	done
	[ "$n" -gt 0 ] || fail_one "e2e" "no tests in tests/e2e/*.sh"
fi

finish
