-- The storage settings of migration 007 are in place.
BEGIN;
SELECT plan(3);

SELECT ok((SELECT 'vacuum_truncate=off' = ANY (reloptions) FROM pg_class WHERE oid = 'smspool.queue'::regclass),
	'queue: VACUUM never truncates (no ACCESS EXCLUSIVE lock in the way of claims)');
SELECT ok((SELECT 'vacuum_truncate=off' = ANY (reloptions) FROM pg_class WHERE oid = 'smspool.report_wait'::regclass),
	'report_wait: VACUUM never truncates');
-- outbox is partitioned (032): each partition has the settings
SELECT ok((SELECT bool_and('autovacuum_vacuum_insert_scale_factor=2.0' = ANY (c.reloptions)) FROM smspool.partition_list() l
           JOIN pg_class c ON c.oid = format('smspool.%I', l.part)::regclass WHERE l.tbl = 'outbox'),
	'outbox: no autovacuum for inserts alone until the table has tripled');

SELECT * FROM finish();
ROLLBACK;
