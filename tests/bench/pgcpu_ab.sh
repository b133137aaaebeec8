#!/bin/bash
# Before/after of record_results() and record_reports() in ONE session: the
# batches alternate between the installed functions (new) and the bodies of
# OLD_SQL (old), so that a loaded machine's swings fall on both alike (the
# separate runs of pgcpu.sh moved by more than the changes measured).
# OLD_SQL holds "CREATE OR REPLACE FUNCTION smspool.record_results/
# record_reports" bodies (e.g. cut from an older migration); they are created
# in the schema pgcpu_old, and a function it lacks is the installed one.
# Prints backend CPU ticks (utime + stime) per function, new / old, each over
# half the batches.  Needs a superuser session (pg_read_file of /proc).
#
#   bash tests/bench/pgcpu_ab.sh OLD_SQL [N [BATCH [ACCOUNT]]]
#   defaults: 40000 messages, batches of 1000, account NULL ('cpu41smpp' etc.
#   after tests/bench/pgcpu.sh made them); PGOPTIONS as the daemon:
#   PGOPTIONS='-c plan_cache_mode=force_generic_plan'
set -euo pipefail
cd "$(dirname "$0")/../.."
DB=${SMSPOOL_DB:-$(bin/smspool db url)}
OLD=$1
N=${2:-40000}
B=${3:-1000}
ACC=${4:-NULL}
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$DB" -c "$1"; }
q "SET client_min_messages = warning; DROP SCHEMA IF EXISTS pgcpu_old CASCADE; CREATE SCHEMA pgcpu_old"
sed 's/FUNCTION smspool\.record_re/FUNCTION pgcpu_old.record_re/' "$OLD" | psql -X -q -v ON_ERROR_STOP=1 "$DB" >/dev/null
res_old=smspool.record_results
rep_old=smspool.record_reports
[ "$(q "SELECT count(*) FROM pg_proc WHERE proname = 'record_results' AND pronamespace = 'pgcpu_old'::regnamespace")" = 0 ] ||
	res_old=pgcpu_old.record_results
[ "$(q "SELECT count(*) FROM pg_proc WHERE proname = 'record_reports' AND pronamespace = 'pgcpu_old'::regnamespace")" = 0 ] ||
	rep_old=pgcpu_old.record_reports
q "INSERT INTO smspool.connections (name, type) VALUES ('cpu41', 'loopback') ON CONFLICT DO NOTHING"
q "TRUNCATE smspool.outbox, smspool.outbox_keys, smspool.queue, smspool.report_wait, smspool.reports, smspool.account_events RESTART IDENTITY CASCADE"
q "SELECT smspool.partitions_ahead()" >/dev/null
q "INSERT INTO smspool.outbox (recipient, body, connection, account)
   SELECT '+1555' || lpad(i::text, 7, '0'), 'bench message ' || i, 'cpu41', $ACC FROM generate_series(1, $N) i"
q "VACUUM ANALYZE smspool.outbox, smspool.queue, smspool.report_wait, smspool.reports, smspool.account_events"
psql -X -q -At -v ON_ERROR_STOP=1 "$DB" <<EOF 2>&1 | sed -n -e 's/^NOTICE: *//p' -e '/ERROR/p'
CREATE FUNCTION pg_temp.ticks() RETURNS bigint LANGUAGE sql AS \$\$
	SELECT (f[12])::bigint + (f[13])::bigint
	FROM (SELECT string_to_array(split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2), ' ') AS f) s
\$\$;
DO \$\$
DECLARE
	v_ids bigint[]; v_n int; v_rids text[]; t0 bigint; k int := 0; s int;
	c_res bigint[] := '{0,0}'; c_rep bigint[] := '{0,0}';
BEGIN
	LOOP
		SELECT array_agg(id), count(*) INTO v_ids, v_n FROM smspool.claim('cpu41', '{cpu41}', $B);
		COMMIT;
		EXIT WHEN v_n = 0;
		k := k + 1; s := 1 + k % 2;   -- 1 new, 2 old
		v_rids := ARRAY(SELECT 'P' || x FROM unnest(v_ids) x);
		t0 := pg_temp.ticks();
		EXECUTE format('SELECT %s(\$1, \$2, \$3, \$4, \$5, \$6, \$7, \$8, \$9)',
			CASE s WHEN 1 THEN 'smspool.record_results' ELSE '$res_old' END)
		USING 'cpu41', v_ids, array_fill('sent'::text, ARRAY[v_n]), array_fill('cpu41'::text, ARRAY[v_n]), v_rids,
			array_fill(1, ARRAY[v_n]), array_fill(NULL::text, ARRAY[v_n]), array_fill(NULL::text, ARRAY[v_n]),
			array_fill(NULL::int, ARRAY[v_n]);
		COMMIT;
		c_res[s] := c_res[s] + pg_temp.ticks() - t0;
		t0 := pg_temp.ticks();
		EXECUTE format('SELECT count(*) FROM %s(\$1, \$2, \$3, \$4, \$5)',
			CASE s WHEN 1 THEN 'smspool.record_reports' ELSE '$rep_old' END)
		USING array_fill('cpu41'::text, ARRAY[v_n]), v_rids, array_fill('delivered'::text, ARRAY[v_n]),
			array_fill('000'::text, ARRAY[v_n]), array_fill(''::text, ARRAY[v_n]);
		COMMIT;
		c_rep[s] := c_rep[s] + pg_temp.ticks() - t0;
	END LOOP;
	RAISE NOTICE 'batches % of %: CPU ticks, new / old: record_results % / %, record_reports % / %',
		k, $B, c_res[1], c_res[2], c_rep[1], c_rep[2];
END
\$\$;
EOF
q "SET client_min_messages = warning; DROP SCHEMA pgcpu_old CASCADE"
