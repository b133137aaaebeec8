#!/bin/bash
# PostgreSQL backend CPU of the message lifecycle's statements, per 1,000
# messages: the ceiling's claim + record_results + record_reports (each its
# own transaction, as tests/bench/ceiling1000.pgbench runs them) on N queued
# rows, for a plain connection and for account-bound messages of each kind
# (SMPP server, ODBC with report_sent, link with report_parts).  CPU, not wall
# time: on a shared, loaded machine the backend's own utime + stime
# (/proc/<backend>/stat, clock ticks) is what the statements cost.  Each
# variant runs REPEAT times; the minimum is printed.
#
#   bash tests/bench/pgcpu.sh [variants...]     (default: plain smpp odbc link)
#   env: PGCPU_N (10000), PGCPU_BATCH (1000), PGCPU_REPEAT (3), SMSPOOL_DB (bin/smspool db url)
# Needs a superuser session (pg_read_file of /proc) on the worktree cluster.
set -eu
cd "$(dirname "$0")/../.."
DB=${SMSPOOL_DB:-$(bin/smspool db url)}
N=${PGCPU_N:-10000}
B=${PGCPU_BATCH:-1000}
REPEAT=${PGCPU_REPEAT:-3}
VARIANTS=${*:-plain smpp odbc link}
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$DB" -c "$1"; }

q "INSERT INTO smspool.connections (name, type) VALUES ('cpu41', 'loopback') ON CONFLICT DO NOTHING"
q "DELETE FROM smspool.accounts WHERE system_id LIKE 'cpu41%'"
q "INSERT INTO smspool.accounts (system_id, password, report_sent, report_parts) VALUES
   ('cpu41smpp', 'pw', false, false), ('cpu41odbc', 'pw', true, false), ('cpu41link', 'pw', false, true)"

printf '%-6s %10s %10s %10s %10s   (ms CPU per 1,000 messages, min of %s runs of %s in batches of %s)\n' \
	variant claim results reports total "$REPEAT" "$N" "$B"
for v in $VARIANTS; do
	case $v in
	plain) cols="NULL, NULL, NULL" ;;
	smpp) cols="'cpu41smpp', NULL, NULL" ;;
	odbc) cols="'cpu41odbc', 'r' || i, 'r' || i" ;;
	link) cols="'cpu41link', NULL, 'k' || i" ;;
	*) echo "pgcpu: unknown variant $v" >&2; exit 2 ;;
	esac
	best=""
	for _ in $(seq "$REPEAT"); do
		q "TRUNCATE smspool.outbox, smspool.outbox_keys, smspool.queue, smspool.report_wait, smspool.reports, smspool.account_events RESTART IDENTITY CASCADE"
		q "SELECT smspool.partitions_ahead()" >/dev/null
		q "INSERT INTO smspool.outbox (recipient, body, connection, account, client_ref, idempotency_key)
		   SELECT '+1555' || lpad(i::text, 7, '0'), 'bench message ' || i, 'cpu41', $cols FROM generate_series(1, $N) i"
		q "VACUUM ANALYZE smspool.outbox, smspool.queue, smspool.report_wait, smspool.reports, smspool.account_events"
		# one session; COMMIT after each statement (DO at top level may commit)
		out=$(psql -X -q -At -v ON_ERROR_STOP=1 "$DB" <<EOF
CREATE TEMP TABLE cpu (phase text, ticks bigint);
-- utime + stime: fields 14 and 15 of /proc/<pid>/stat, 12 and 13 after "pid (comm) "
CREATE FUNCTION pg_temp.ticks() RETURNS bigint LANGUAGE sql AS \$\$
	SELECT (f[12])::bigint + (f[13])::bigint
	FROM (SELECT string_to_array(split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2), ' ') AS f) s
\$\$;
DO \$\$
DECLARE
	v_ids bigint[]; v_n int; v_rids text[]; t0 bigint; t1 bigint;
	c_claim bigint := 0; c_res bigint := 0; c_rep bigint := 0;
BEGIN
	LOOP
		t0 := pg_temp.ticks();
		SELECT array_agg(id), count(*) INTO v_ids, v_n FROM smspool.claim('cpu41', '{cpu41}', $B);
		COMMIT;
		t1 := pg_temp.ticks(); c_claim := c_claim + t1 - t0;
		EXIT WHEN v_n = 0;
		v_rids := ARRAY(SELECT 'P' || x FROM unnest(v_ids) x);
		t0 := pg_temp.ticks();
		PERFORM smspool.record_results('cpu41', v_ids, array_fill('sent'::text, ARRAY[v_n]), array_fill('cpu41'::text, ARRAY[v_n]),
			v_rids, array_fill(1, ARRAY[v_n]), array_fill(NULL::text, ARRAY[v_n]), array_fill(NULL::text, ARRAY[v_n]),
			array_fill(NULL::int, ARRAY[v_n]));
		COMMIT;
		t1 := pg_temp.ticks(); c_res := c_res + t1 - t0;
		t0 := pg_temp.ticks();
		PERFORM count(*) FROM smspool.record_reports(array_fill('cpu41'::text, ARRAY[v_n]), v_rids,
			array_fill('delivered'::text, ARRAY[v_n]), array_fill('000'::text, ARRAY[v_n]), array_fill(''::text, ARRAY[v_n]));
		COMMIT;
		t1 := pg_temp.ticks(); c_rep := c_rep + t1 - t0;
	END LOOP;
	INSERT INTO cpu VALUES ('claim', c_claim), ('results', c_res), ('reports', c_rep);
	COMMIT;
END
\$\$;
SELECT string_agg(ticks::text, ' ' ORDER BY phase) FROM cpu;
SELECT count(*) FILTER (WHERE status = 'delivered') || ' ' || (SELECT count(*) FROM smspool.account_events) FROM smspool.outbox;
EOF
)
		read -r t_claim t_rep t_res <<<"$(echo "$out" | sed -n 1p)"
		chk=$(echo "$out" | sed -n 2p)
		tot=$((t_claim + t_res + t_rep))
		if [ -z "$best" ] || [ "$tot" -lt "${best%% *}" ]; then
			best="$tot $t_claim $t_res $t_rep $chk"
		fi
	done
	read -r tot c r p del ev <<<"$best"
	tick_ms=$((1000 / $(getconf CLK_TCK)))
	per() { awk -v t="$1" -v ms="$tick_ms" -v n="$N" 'BEGIN { printf "%.1f", t * ms * 1000 / n }'; }
	printf '%-6s %10s %10s %10s %10s   delivered %s, account events %s\n' "$v" "$(per "$c")" "$(per "$r")" "$(per "$p")" \
		"$(per "$tot")" "$del" "$ev"
done
