#!/usr/bin/env bash
# PostgreSQL backend CPU per 1,000 rows of the outbox INSERT paths (040_sqlhot).
# The machine is shared and wall times lie: this reads the backend's own
# utime+stime (/proc/<backend pid>/stat through pg_read_file, as the
# superuser of the private cluster; clock ticks of 10 ms) before and after
# each statement, REPS times after one warm-up run, and prints the minimum.
# The tables are emptied (TRUNCATE ... RESTART IDENTITY) before each run.
#
#   sh packaging/pgcluster.sh start
#   bash tests/bench/insert_cpu.sh setup DB      create DB (dropped first) and migrate it with bin/smspool
#   bash tests/bench/insert_cpu.sh run DB        the figures
#   bash tests/bench/insert_cpu.sh triggers DB   the same INSERTs with each outbox INSERT trigger disabled in turn
#
# Environment: N (rows per batch, 10000), SINGLE (single-row transactions, 2000), REPS (5).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT"
MODE=${1:?usage: insert_cpu.sh setup|run|triggers DB}
DB=${2:?usage: insert_cpu.sh setup|run|triggers DB}
N=${N:-10000}
SINGLE=${SINGLE:-2000}
REPS=${REPS:-5}
BIN=${SMSPOOL_BIN:-bin/smspool}
URL="host=$ROOT/var/pg/run port=5499 user=smspool dbname=$DB"
PSQL=/usr/lib/postgresql/15/bin/psql
[ -x "$PSQL" ] || PSQL=psql

if [ "$MODE" = setup ]; then
	sh packaging/pgcluster.sh dropdb "$DB" >/dev/null
	sh packaging/pgcluster.sh createdb "$DB" >/dev/null
	SMSPOOL_DB=$URL "$BIN" db migrate >/dev/null
	exit 0
fi

# The batch the daemon's store sends (src/store_server.c do_submit_account): every
# array filled, NULL elements where a submission has nothing.
PREP="
CREATE FUNCTION pg_temp.cpu_ms() RETURNS bigint LANGUAGE sql AS \$\$
	SELECT (f[12]::bigint + f[13]::bigint) * 10
	FROM (SELECT string_to_array(split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2), ' ') f) s
\$\$;
CREATE TEMP TABLE cpu (run int, ms bigint);
CREATE TEMP TABLE arr AS SELECT
	ARRAY(SELECT '+49151' || (1000000 + g) FROM generate_series(1, $N) g) AS rcp,
	array_fill(NULL::text, ARRAY[$N]) AS nul,
	ARRAY(SELECT 'hello world, message ' || g FROM generate_series(1, $N) g) AS body,
	array_fill('auto'::text, ARRAY[$N]) AS enc,
	array_fill(0, ARRAY[$N]) AS pri,
	array_fill(true, ARRAY[$N]) AS wr,
	array_fill(false, ARRAY[$N]) AS fl,
	array_fill(NULL::int, ARRAY[$N]) AS nuli,
	array_fill(NULL::timestamptz, ARRAY[$N]) AS nult,
	ARRAY(SELECT 'key-' || g FROM generate_series(1, $N) g) AS keys,
	array_fill(1, ARRAY[$N]) AS ro,
	array_fill(2, ARRAY[$N]) AS cp;
INSERT INTO smspool.accounts (system_id, password) VALUES ('cpu', 'pw') ON CONFLICT DO NOTHING;
INSERT INTO smspool.accounts (system_id, password, unique_client_ref) VALUES ('cpuodbc', 'pw', true) ON CONFLICT DO NOTHING;
INSERT INTO smspool.connections (name, type) VALUES ('cpu-lp', 'loopback') ON CONFLICT DO NOTHING;
"
ARGS15="a.rcp, a.nul, a.body, a.nul, a.nul, a.enc, a.nul, a.pri, a.wr, a.fl, a.nuli, a.nult, a.nult"
declare -A CASES=(
	[submit_plain]="SELECT count(*) FROM arr a, smspool.submit('cpu', $ARGS15, a.nul) s WHERE s.error_class IS NULL;"
	[submit_ro_cp]="SELECT count(*) FROM arr a, smspool.submit('cpu', $ARGS15, a.nul, a.ro, a.cp) s WHERE s.error_class IS NULL;"
	[submit_odbc]="SELECT count(*) FROM arr a, smspool.submit('cpuodbc', a.rcp, a.nul, a.body, a.nul, a.nul, a.enc, a.keys, a.pri, a.wr, a.fl, a.nuli, a.nult, a.nult, a.nul) s WHERE s.error_class IS NULL;"
	[submit_keys]="SELECT count(*) FROM arr a, smspool.submit('cpu', $ARGS15, a.keys) s WHERE s.error_class IS NULL;"
	[insert_plain]="INSERT INTO smspool.outbox (recipient, body) SELECT '+49151' || (1000000 + g), 'hello world, message ' || g FROM generate_series(1, $N) g;"
	[insert_conn]="INSERT INTO smspool.outbox (recipient, body, connection) SELECT '+49151' || (1000000 + g), 'hello world, message ' || g, 'cpu-lp' FROM generate_series(1, $N) g;"
	[insert_long]="INSERT INTO smspool.outbox (recipient, body) SELECT '+49151' || (1000000 + g), repeat('long text ', 20) || g FROM generate_series(1, $N) g;"
)
ROWS_OF() { case $1 in single_rows) echo "$SINGLE" ;; *) echo "$N" ;; esac; }

# statements of one case ($1), run REPS+1 times; prints "ms per 1000 rows"
case_sql() {
	local name=$1 r
	for r in $(seq 0 "$REPS"); do
		echo "TRUNCATE smspool.outbox, smspool.queue, smspool.outbox_keys RESTART IDENTITY;"
		echo "SELECT pg_temp.cpu_ms() AS t0 \\gset"
		if [ "$name" = single_rows ]; then
			seq 1 "$SINGLE" | awk '{ printf "INSERT INTO smspool.outbox (recipient, body) VALUES ('"'"'+49151%d'"'"', '"'"'hello world, message %d'"'"');\n", 1000000 + $1, $1 }'
		else
			echo "${CASES[$name]}"
		fi
		echo "INSERT INTO cpu VALUES ($r, pg_temp.cpu_ms() - :t0);"
	done
}

measure() { # case [sql before] [sql after]: one psql session
	local name=$1 rows
	rows=$(ROWS_OF "$name")
	{
		echo "\\set ON_ERROR_STOP 1"
		echo "$PREP"
		echo "${2:-}"
		case_sql "$name"
		echo "${3:-}"
		echo "SELECT round(min(ms) FILTER (WHERE run > 0) * 1000.0 / $rows, 1) || ' ms/1000 rows (runs: '
		             || string_agg(ms::text, ' ' ORDER BY run) || ' ms, first is warm-up)' FROM cpu;"
	} | "$PSQL" -X -q -A -t -d "$URL" 2>&1 | tail -1
}

ALL="submit_plain submit_ro_cp submit_keys submit_odbc insert_plain insert_conn insert_long single_rows"
case $MODE in
run)
	echo "database $DB, schema $("$PSQL" -X -A -t -d "$URL" -c "SELECT max(version) FROM smspool.schema_migrations")," \
		"N=$N SINGLE=$SINGLE REPS=$REPS, backend CPU (utime+stime), minimum of the runs"
	for c in ${CASES_ONLY:-$ALL}; do
		printf '%-14s %s\n' "$c" "$(measure "$c")"
	done
	;;
triggers)
	trigs=$("$PSQL" -X -A -t -d "$URL" -c "SELECT string_agg(tgname, ' ' ORDER BY tgname) FROM pg_trigger
		WHERE tgrelid = 'smspool.outbox'::regclass AND NOT tgisinternal AND (tgtype & 4) <> 0")
	for c in ${CASES_ONLY:-insert_plain insert_conn submit_keys single_rows}; do
		printf '%-14s %-28s %s\n' "$c" "(all triggers)" "$(measure "$c")"
		for t in $trigs; do
			printf '%-14s %-28s %s\n' "$c" "without $t" "$(measure "$c" "ALTER TABLE smspool.outbox DISABLE TRIGGER $t;" \
				"ALTER TABLE smspool.outbox ENABLE TRIGGER $t;")"
		done
	done
	;;
*)
	echo "insert_cpu.sh: unknown mode $MODE (setup, run, triggers)" >&2
	exit 2
	;;
esac
