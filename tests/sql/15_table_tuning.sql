-- The storage settings of migration 007 are in place.
BEGIN;
SELECT plan(3);

SELECT ok((SELECT 'vacuum_truncate=off' = ANY (reloptions) FROM pg_class WHERE oid = 'smspool.queue'::regclass),
	'queue: VACUUM never truncates (no ACCESS EXCLUSIVE lock in the way of claims)');
SELECT ok((SELECT 'vacuum_truncate=off' = ANY (reloptions) FROM pg_class WHERE oid = 'smspool.report_wait'::regclass),
	'report_wait: VACUUM never truncates');
SELECT ok((SELECT 'autovacuum_vacuum_insert_scale_factor=2.0' = ANY (reloptions) FROM pg_class WHERE oid = 'smspool.outbox'::regclass),
	'outbox: no autovacuum for inserts alone until the table has tripled');

SELECT * FROM finish();
ROLLBACK;
