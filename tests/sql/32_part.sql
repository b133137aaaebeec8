-- 032_part: outbox, reports and inbox partitioned by id: the partitions kept
-- ahead of the sequence (sized from the recorded rate), rows and claims
-- across a partition boundary, idempotency keys across partitions
-- (outbox_keys), the retirement steps (detach, archive hook, drop) and what
-- the conversion kept (views, policies, grants, no foreign key into inbox).
BEGIN;
SELECT plan(33);
SET LOCAL search_path = smspool, public;
-- setval() is not undone by the ROLLBACK: the sequence is put back at the
-- end, or the tests after this one would insert past the last partition.
CREATE TEMP TABLE seq0 AS SELECT last_value AS v FROM smspool.outbox_id_seq;

DELETE FROM smspool.queue;
DELETE FROM smspool.report_wait;
INSERT INTO smspool.connections (name, type) VALUES ('pt', 'loopback');
INSERT INTO smspool.accounts (system_id, password) VALUES ('ptacct', 'pw');

SELECT is(ARRAY(SELECT c.relkind::text FROM pg_class c
                WHERE c.oid IN ('smspool.outbox'::regclass, 'smspool.reports'::regclass, 'smspool.inbox'::regclass)),
	ARRAY['p', 'p', 'p'], 'outbox, reports and inbox are partitioned');
SELECT is((SELECT count(DISTINCT l.tbl)::int FROM smspool.partition_list() l), 3, 'each table has partitions');
SELECT ok(smspool.partitions_ahead() >= 0, 'partitions_ahead() (the ids other tests took may ask for one more)');
SELECT ok((SELECT bool_and(x.top - coalesce(s.last_value, 0) >= 2 * smspool.partition_size(x.tbl))
           FROM (SELECT l.tbl, max(l.hi) AS top FROM smspool.partition_list() l GROUP BY l.tbl) x
           JOIN pg_sequences s ON s.schemaname = 'smspool' AND s.sequencename = x.tbl || '_id_seq'),
	'two partitions'' worth of ids lie above each sequence');

-- the size of a new partition follows the recorded rate
DELETE FROM smspool.partition_stats;
UPDATE smspool.config SET value = '1000' WHERE key = 'partition_min_ids';
UPDATE smspool.config SET value = '3' WHERE key = 'partition_hours';
INSERT INTO smspool.partition_stats (tbl, at, last_id) VALUES ('outbox', now() - interval '2 hours', 1000), ('outbox', now(), 21000);
SELECT is(smspool.partition_size('outbox'), 30000::bigint, '10,000 ids an hour, partition_hours 3: 30,000 ids');
UPDATE smspool.config SET value = '1' WHERE key = 'partition_hours';
SELECT is(smspool.partition_size('outbox'), 10000::bigint, 'partition_hours 1: 10,000 ids');
UPDATE smspool.config SET value = '50000' WHERE key = 'partition_min_ids';
SELECT is(smspool.partition_size('outbox'), 50000::bigint, 'never below partition_min_ids');
UPDATE smspool.config SET value = '1000' WHERE key = 'partition_min_ids';
UPDATE smspool.config SET value = '2000' WHERE key = 'partition_max_ids';
SELECT is(smspool.partition_size('outbox'), 2000::bigint, 'never above partition_max_ids');
UPDATE smspool.config SET value = '50000000' WHERE key = 'partition_max_ids';
UPDATE smspool.config SET value = '50000' WHERE key = 'partition_min_ids';
DELETE FROM smspool.partition_stats;
INSERT INTO smspool.partition_stats (tbl, at, last_id) VALUES ('outbox', now() - interval '30 hours', 0), ('outbox', now(), 21000000);
SELECT is(smspool.partition_size('outbox'), 50000::bigint, 'records older than a day are not the recent rate');
SELECT throws_ok($$UPDATE smspool.config SET value = '0' WHERE key = 'partition_min_ids'$$, '23514', NULL, 'partition_min_ids is a positive integer');
SELECT throws_ok($$UPDATE smspool.config SET value = 'no_such_function' WHERE key = 'partition_archive'$$, '23514', NULL,
	'partition_archive names a function');

-- near the end of the last partition: two small ones are made ahead
DELETE FROM smspool.partition_stats;
UPDATE smspool.config SET value = '10' WHERE key = 'partition_min_ids';
CREATE TEMP TABLE top AS SELECT max(hi) AS hi FROM smspool.partition_list() WHERE tbl = 'outbox';
SELECT setval('smspool.outbox_id_seq', (SELECT hi FROM top) - 4);
SELECT is(smspool.partitions_ahead(), 2, 'four ids left: two partitions of 10 ids made');
SELECT results_eq($$SELECT lo, hi FROM smspool.partition_list() WHERE tbl = 'outbox' AND lo >= (SELECT hi FROM top) ORDER BY lo$$,
	$$SELECT (SELECT hi FROM top) + x, (SELECT hi FROM top) + x + 10 FROM (VALUES (0), (10)) v(x)$$, 'with adjacent id ranges');
SELECT is(smspool.partitions_ahead(), 0, 'and no more while the margin holds');
SELECT is((SELECT c.reloptions FROM pg_class c WHERE c.oid = format('smspool.outbox_p%s', (SELECT hi FROM top))::regclass),
	(SELECT options FROM smspool.partition_options WHERE tbl = 'outbox'), 'a new partition gets the storage settings of outbox');

-- rows and claims across the boundary
INSERT INTO smspool.outbox (recipient, body, connection, client_ref, want_report, idempotency_key)
SELECT '6001', 'pt' || g, 'pt', 'pt-' || g, false, CASE WHEN g = 1 THEN 'ptk' END FROM generate_series(1, 12) g;
SELECT is((SELECT count(DISTINCT tableoid)::int FROM smspool.outbox WHERE client_ref LIKE 'pt-%'), 2, 'the rows lie in two partitions');
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['pt'], 100)), 12, 'one claim takes the rows of both');
SELECT is(smspool.record_results('d1', ARRAY(SELECT id FROM smspool.outbox WHERE client_ref LIKE 'pt-%' ORDER BY id),
	array_fill('sent'::text, ARRAY[12]), array_fill('pt'::text, ARRAY[12]),
	ARRAY(SELECT 'r' || id FROM smspool.outbox WHERE client_ref LIKE 'pt-%' ORDER BY id), NULL, NULL, NULL, NULL), 12,
	'their results are recorded');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE client_ref LIKE 'pt-%' AND status = 'sent' AND done_at IS NOT NULL), 12,
	'all 12 are final');

-- an idempotency key is unique across partitions
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, body, idempotency_key) VALUES ('6001', 'again', 'ptk')$$, '23505',
	'duplicate key value violates unique constraint "outbox.idempotency_key: already used"',
	'a key of a row in an older partition is refused in the newest');
CREATE TEMP TABLE s1 AS SELECT * FROM smspool.submit('ptacct', ARRAY['+4911'], NULL, ARRAY['one'], NULL, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL, NULL, NULL, ARRAY['pa:1']);
SELECT setval('smspool.outbox_id_seq', (SELECT hi FROM top) + 15);
CREATE TEMP TABLE s2 AS SELECT * FROM smspool.submit('ptacct', ARRAY['+4911'], NULL, ARRAY['one'], NULL, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL, NULL, NULL, ARRAY['pa:1']);
SELECT is((SELECT id FROM s2), (SELECT id FROM s1), 'submit() answers a key used in another partition with its id');

-- retirement
UPDATE smspool.config SET value = '1' WHERE key = 'retention_days';
CREATE TEMP TABLE oldp AS SELECT part, lo, hi FROM smspool.partition_list() WHERE tbl = 'outbox' AND hi = (SELECT hi FROM top);
SELECT is(smspool.retire_blocker('outbox', (SELECT lo FROM oldp), (SELECT hi FROM oldp)), 'the newest row is younger than retention_days',
	'young rows keep their partition');
UPDATE smspool.outbox SET created_at = now() - interval '2 days' WHERE client_ref LIKE 'pt-%';
SELECT is(smspool.retire_blocker('outbox', (SELECT lo FROM oldp), (SELECT hi FROM oldp)), NULL, 'final and old: it may go');
SELECT is(smspool.partition_next_step(),
	(SELECT format('ALTER TABLE smspool.outbox DETACH PARTITION smspool.%I CONCURRENTLY', part)
	 FROM smspool.partition_list() l WHERE l.tbl = 'outbox' AND smspool.retire_blocker(l.tbl, l.lo, l.hi) IS NULL ORDER BY lo LIMIT 1),
	'the next step detaches the lowest partition that may go, concurrently');
-- (a test runs in a transaction: the detach here is the plain one)
CREATE TABLE public.pt_archived (part text, tbl text, lo bigint, hi bigint, n bigint);
CREATE FUNCTION public.pt_archive(p regclass, t text, lo bigint, hi bigint) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
	EXECUTE format('INSERT INTO public.pt_archived SELECT %L, %L, %s, %s, count(*) FROM %s', p, t, lo, hi, p);
END
$f$;
UPDATE smspool.config SET value = 'public.pt_archive' WHERE key = 'partition_archive';
DO $$ BEGIN EXECUTE format('ALTER TABLE smspool.outbox DETACH PARTITION smspool.%I', (SELECT part FROM oldp)); END $$;
SELECT is(smspool.partition_next_step(), format('SELECT smspool.partition_drop(%L)', (SELECT part FROM oldp)),
	'a detached partition is dropped next');
SELECT lives_ok(format('SELECT smspool.partition_drop(%L)', (SELECT part FROM oldp)), 'partition_drop');
SELECT ok(to_regclass(format('smspool.%I', (SELECT part FROM oldp))) IS NULL, 'the partition is gone');
SELECT results_eq($$SELECT tbl, n FROM public.pt_archived$$, $$VALUES ('outbox', 3::bigint)$$, 'the archive hook had its 3 rows first');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE client_ref LIKE 'pt-%'), 9, 'the rows of the other partition stay');
SELECT lives_ok($$INSERT INTO smspool.outbox (recipient, body, idempotency_key) VALUES ('6001', 'again', 'ptk')$$,
	'the keys of the dropped rows are free again');
SELECT throws_ok($$SELECT smspool.partition_drop('outbox')$$, '22023', NULL, 'partition_drop takes only a detached partition');
UPDATE smspool.config SET value = '0' WHERE key = 'retention_days';
SELECT is(smspool.partition_next_step(), NULL, 'retention_days 0: nothing is retired');

-- what the conversion kept
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'smspool.redirected'::regclass AND contype = 'f'
                      AND confrelid = 'smspool.inbox'::regclass)
          AND EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'smspool.inbox'::regclass AND tgname = 'inbox_deleted'),
	'redirected: no foreign key into inbox, a delete trigger instead');

SELECT setval('smspool.outbox_id_seq', (SELECT v FROM seq0));
SELECT * FROM finish();
ROLLBACK;
