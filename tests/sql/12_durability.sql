-- Which statements wait for their WAL flush: claims do not (a lost claim
-- only returns rows to the queue), results, reports and inbound texts do.
BEGIN;
SELECT plan(3);

SET LOCAL synchronous_commit = on;
SELECT count(*) FROM smspool.claim('tap-durability', ARRAY['none'], 1);
SELECT is(current_setting('synchronous_commit'), 'off', 'a claim commits without waiting for the WAL flush');

SET LOCAL synchronous_commit = on;
SELECT smspool.record_results('tap-durability', '{}'::bigint[], '{}'::text[], '{}'::text[], '{}'::text[],
	'{}'::int[], '{}'::text[], '{}'::text[], '{}'::int[]);
SELECT count(*) FROM smspool.record_reports('{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[]);
SELECT count(*) FROM smspool.record_inbound('{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[],
	'{}'::text[], '{}'::text[], '{}'::int[], '{}'::timestamptz[]);
SELECT is(current_setting('synchronous_commit'), 'on', 'results, reports and inbound texts stay fully durable');
SELECT ok(true, 'the batch functions accept empty batches');

SELECT * FROM finish();
ROLLBACK;
