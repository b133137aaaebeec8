#!/usr/bin/env bash
# Partitions (issue 10, sql/032_part.sql).  First the upgrade: a database at
# the schema before 032 (031 and older, applied as they were) holding
# messages in several states, reports, inbox rows and idempotency keys is
# migrated in place: every row of outbox, reports and inbox is the same
# (compared by a hash of each table's rows in id order), the keys still hold,
# ids go on.  Then a daemon sends through loopback with tiny partitions (400
# ids, a partition round each heartbeat) while this script produces messages,
# takes the inbox and ages what is final by two days (retention_days 1):
# partitions are made ahead, old final ones are detached concurrently, handed
# to an archive hook and dropped while the traffic goes on; no INSERT fails,
# every message is final, no row of a live partition is missing, and the
# archive hook saw only final rows.
. "$(dirname "$0")/../lib/e2e.sh"

plan 18
E2E_MIGRATE=none e2e_db smspool_e2e_partitions
for f in "$E2E_ROOT"/sql/0*.sql; do
	case $(basename "$f") in 032_* | 03[3-9]_* | 0[4-9]*) continue ;; esac
	out=$("$E2E_PSQL" -X -q -v ON_ERROR_STOP=1 -d "$SMSPOOL_DB" -f "$f" 2>&1) || bail "applying $f: $out"
	v=$(basename "$f" .sql)
	sql "CREATE TABLE IF NOT EXISTS smspool.schema_migrations (version int PRIMARY KEY, name text NOT NULL,
	     applied_at timestamptz NOT NULL DEFAULT now(), checksum text);
	     INSERT INTO smspool.schema_migrations (version, name) VALUES (${v%%_*}, '$v')" || bail "recording $v"
done
[ "$(sql "SELECT relkind FROM pg_class WHERE oid = 'smspool.outbox'::regclass")" = r ] || bail "outbox already partitioned before 032"

# Data at the old schema.
add_connection lp loopback '{}'
sql "INSERT INTO smspool.outbox (recipient, body, connection, client_ref, idempotency_key)
     SELECT '+4930' || g, 'old ' || g, 'lp', 'old' || g, CASE WHEN g % 15 = 0 THEN 'key' || g END
     FROM generate_series(1, 1500) g" || bail "old outbox rows"
sql "SELECT count(*) FROM smspool.claim('old', ARRAY['lp'], 1000)" >/dev/null || bail "claim"
sql "SELECT smspool.record_results('old', a, array_fill('sent'::text, ARRAY[1000]), array_fill('lp'::text, ARRAY[1000]),
       ARRAY(SELECT 'old-r' || x FROM unnest(a) x), NULL, NULL, NULL, NULL)
     FROM (SELECT ARRAY(SELECT id FROM smspool.outbox WHERE status = 'sending' ORDER BY id) a) s" >/dev/null || bail "results"
sql "SELECT count(*) FROM smspool.record_reports(array_fill('lp'::text, ARRAY[500]),
       ARRAY(SELECT 'old-r' || id FROM smspool.outbox WHERE status = 'sent' ORDER BY id LIMIT 500),
       array_fill('delivered'::text, ARRAY[500]), NULL, NULL)" >/dev/null || bail "reports"
sql "SELECT smspool.record_inbound(array_fill('lp'::text, ARRAY[200]), ARRAY(SELECT '+4940' || g FROM generate_series(1, 200) g),
       array_fill('123'::text, ARRAY[200]), ARRAY(SELECT 'in ' || g FROM generate_series(1, 200) g), NULL, NULL,
       array_fill('gsm7'::text, ARRAY[200]), array_fill(1, ARRAY[200]), NULL)" >/dev/null || bail "inbound"
sql "SELECT count(*) FROM smspool.inbox_take(99)" >/dev/null || bail "inbox_take"
# Later migrations add columns and triggers of their own: the comparison is
# over what the tables had before the upgrade (but the account event row
# triggers, which 041 replaces with the statement trigger outbox_account_events).
PRE_COLS=$(sql "SELECT 'ARRAY[' || string_agg(quote_literal(table_name || '.' || column_name), ',') || ']::text[]'
                FROM information_schema.columns WHERE table_schema = 'smspool' AND table_name IN ('outbox', 'reports', 'inbox')")
PRE_TRIGS=$(sql "SELECT 'ARRAY[' || string_agg(quote_literal(tgname), ',') || ']::text[]' FROM pg_trigger
                 WHERE tgrelid IN ('smspool.outbox'::regclass, 'smspool.reports'::regclass, 'smspool.inbox'::regclass) AND NOT tgisinternal
                   AND tgname NOT IN ('outbox_account_report', 'outbox_account_sent', 'outbox_account_parts')")
row_hash() { # table
	echo "(SELECT md5(string_agg((SELECT jsonb_object_agg(k, v) FROM jsonb_each(to_jsonb(t)) e(k, v)
	                             WHERE '$1.' || k = ANY ($PRE_COLS))::text, '|' ORDER BY id)) FROM smspool.$1 t)"
}
hashes() {
	sql "SELECT $(row_hash outbox) || ' ' || $(row_hash reports) || ' ' || $(row_hash inbox)"
}
before=$(hashes)
# what followed the tables: policies, table and column grants, triggers (of those before the upgrade)
catalogue() {
	sql "SELECT (SELECT string_agg(tablename || ':' || policyname || ':' || cmd || ':' || coalesce(qual, '') || ':' || coalesce(with_check, ''), ' '
	                               ORDER BY tablename, policyname)
	             FROM pg_policies WHERE schemaname = 'smspool' AND tablename IN ('outbox', 'reports', 'inbox'))
	     || ' | ' || (SELECT string_agg(grantee || ':' || table_name || ':' || privilege_type, ' ' ORDER BY grantee, table_name, privilege_type)
	             FROM information_schema.table_privileges WHERE table_schema = 'smspool' AND table_name IN ('outbox', 'reports', 'inbox'))
	     || ' | ' || (SELECT 'column grants ' || md5(string_agg(grantee || ':' || table_name || ':' || column_name || ':' || privilege_type, ' '
	                                      ORDER BY grantee, table_name, column_name, privilege_type))
	             FROM information_schema.column_privileges WHERE table_schema = 'smspool' AND table_name IN ('outbox', 'reports', 'inbox')
	               AND table_name || '.' || column_name = ANY ($PRE_COLS))
	     || ' | ' || (SELECT string_agg(tgrelid::regclass::text || ':' || tgname || ':' || tgtype, ' ' ORDER BY tgname)
	             FROM pg_trigger WHERE tgrelid IN ('smspool.outbox'::regclass, 'smspool.reports'::regclass, 'smspool.inbox'::regclass)
	               AND NOT tgisinternal AND tgname = ANY ($PRE_TRIGS))
	     || ' | ' || (SELECT string_agg(relname || ':' || relrowsecurity, ' ' ORDER BY relname) FROM pg_class
	             WHERE oid IN ('smspool.outbox'::regclass, 'smspool.reports'::regclass, 'smspool.inbox'::regclass))"
}
cat_before=$(catalogue)
old_last=$(sql "SELECT max(id) FROM smspool.outbox")
diag "states before: $(state_counts)"
# tiny partitions, set before the upgrade so that its first partition is tiny too
sql "INSERT INTO smspool.config (key, value) VALUES ('partition_min_ids', '400'), ('partition_max_ids', '400'),
     ('partition_check_s', '1')" || bail "config"

out=$("$SMSPOOL_BIN" db migrate 2>&1)
is "$?" 0 "smspool db migrate partitions a database holding data"
diag "$(echo "$out" | tail -2)"
is "$(sql "SELECT string_agg(relkind::text, '' ORDER BY relname) FROM pg_class
           WHERE oid IN ('smspool.outbox'::regclass, 'smspool.reports'::regclass, 'smspool.inbox'::regclass)")" ppp \
	"outbox, reports and inbox are partitioned"
after=$(hashes)
is "$after" "$before" "every row of outbox, reports and inbox is unchanged (same ids, same values)"
is "$(catalogue)" "$cat_before" "the same policies, table and column grants, triggers and row level security on the parents"
is "$(sql "SELECT count(*) FROM smspool.inbox_take(1)")" 1 "inbox_take (of the table's row type) works on the parent"
is "$(sql "SELECT count(*) FROM smspool.outbox_keys")" 100 "the 100 idempotency keys are in outbox_keys"
out=$(sql "INSERT INTO smspool.outbox (recipient, body, idempotency_key) VALUES ('+4930', 'again', 'key15')" 2>&1)
like "$out" "outbox.idempotency_key: already used" "a key used before the upgrade is refused after it"

# Traffic with tiny partitions and retirement.
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retention_days';
     CREATE TABLE public.sent_ids (id bigint PRIMARY KEY);
     CREATE TABLE public.archived (tbl text, id bigint, final boolean);
     CREATE FUNCTION public.archive(p regclass, t text, lo bigint, hi bigint) RETURNS void LANGUAGE plpgsql AS \$f\$
     BEGIN
       IF t = 'outbox' THEN
         EXECUTE format('INSERT INTO public.archived SELECT %L, id, done_at IS NOT NULL FROM %s', t, p);
       ELSIF t = 'inbox' THEN
         EXECUTE format('INSERT INTO public.archived SELECT %L, id, consumed_at IS NOT NULL FROM %s', t, p);
       ELSE
         EXECUTE format('INSERT INTO public.archived SELECT %L, id, true FROM %s', t, p);
       END IF;
     END \$f\$;
     UPDATE smspool.config SET value = 'public.archive' WHERE key = 'partition_archive'" || bail "archive hook"
first_new=$(sql "SELECT max(id) + 1 FROM smspool.outbox")
start_daemon e2eparts
insert_errors=0
rounds=0
end=$(($(now_ms) + 150000))
# until three partitions of new traffic were retired (or time is up)
while [ "$(now_ms)" -lt "$end" ]; do
	rounds=$((rounds + 1))
	out=$(sql "WITH n AS (INSERT INTO smspool.outbox (recipient, body, connection)
	                     SELECT '+4950' || g, 'new ' || g, 'lp' FROM generate_series(1, 20) g RETURNING id)
	           INSERT INTO public.sent_ids SELECT id FROM n" 2>&1) || {
		insert_errors=$((insert_errors + 1))
		diag "INSERT failed: $out"
	}
	sql "UPDATE smspool.outbox SET created_at = now() - interval '2 days' WHERE done_at IS NOT NULL AND created_at > now() - interval '1 day';
	     UPDATE smspool.reports SET received_at = now() - interval '2 days' WHERE received_at > now() - interval '1 day';
	     SELECT count(*) FROM smspool.inbox_take(1000);
	     UPDATE smspool.inbox SET received_at = now() - interval '2 days' WHERE consumed_at IS NOT NULL AND received_at > now() - interval '1 day'" \
		>/dev/null 2>&1
	if [ $((rounds % 10)) = 0 ]; then
		n=$(sql "SELECT count(DISTINCT (tbl, id / 400)) FROM public.archived WHERE tbl = 'outbox' AND id >= $first_new")
		[ "${n:-0}" -ge 3 ] && break
	fi
	sleep 0.3
done
diag "$rounds rounds, $(sql "SELECT count(*) FROM public.sent_ids") messages; partitions now: $(sql "SELECT string_agg(part, ' ' ORDER BY tbl, lo) FROM smspool.partition_list()")"
is "$insert_errors" 0 "no INSERT failed while partitions were made and retired"
ok "$(sql "SELECT count(*) FROM smspool.partition_list() WHERE tbl = 'outbox' AND lo > $first_new") >= 3" \
	"outbox partitions were made ahead of the traffic"
is "$(sql "SELECT bool_and(x.top > coalesce(s.last_value, 0)) FROM (SELECT tbl, max(hi) top FROM smspool.partition_list() GROUP BY tbl) x
           JOIN pg_sequences s ON s.schemaname = 'smspool' AND s.sequencename = x.tbl || '_id_seq'")" t \
	"each table has room above its sequence"
ok "$(sql "SELECT count(DISTINCT id / 400) FROM public.archived WHERE tbl = 'outbox' AND id >= $first_new") >= 2" \
	"old final outbox partitions were retired while the traffic went on"
ok "$(sql "SELECT count(DISTINCT tbl) FROM public.archived") == 3" "reports and inbox partitions too"
is "$(sql "SELECT count(*) FROM public.archived WHERE NOT final")" 0 "the archive hook saw only final messages and consumed inbox rows"
is "$(sql "SELECT count(*) FROM smspool.partition_list() l WHERE l.lo < $old_last AND l.tbl = 'outbox'")" 1 \
	"the partition of the old messages (some awaiting reports) stays"

# the daemon finishes what is queued; nothing of a live partition is missing
if wait_for 60 "SELECT count(*) = 0 FROM public.sent_ids s JOIN smspool.outbox o ON o.id = s.id WHERE o.done_at IS NULL"; then
	pass "every message sent during the run is final (claims across partition boundaries)"
else
	fail "every message sent during the run is final (claims across partition boundaries)" "states: $(state_counts)"
fi
is "$(sql "SELECT count(*) FROM public.sent_ids s WHERE NOT EXISTS (SELECT 1 FROM smspool.outbox o WHERE o.id = s.id)
             AND NOT EXISTS (SELECT 1 FROM public.archived a WHERE a.tbl = 'outbox' AND a.id = s.id)")" 0 \
	"every message is in the outbox or went whole with an archived partition"
is "$(sql "SELECT count(*) FROM public.sent_ids s JOIN smspool.partition_list() l ON l.tbl = 'outbox' AND s.id >= l.lo AND s.id < l.hi
             WHERE NOT EXISTS (SELECT 1 FROM smspool.outbox o WHERE o.id = s.id)")" 0 "no row of a live partition is missing"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE id <= $old_last")" 1500 "the 1,500 messages of before the upgrade are all there"
stop_daemon e2eparts
daemon_tails
finish
