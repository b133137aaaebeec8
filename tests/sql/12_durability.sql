-- Which statements wait for their WAL flush: claims do not (a lost claim
-- only returns rows to the queue), results, reports and inbound texts do.
BEGIN;
SELECT plan(5);

SET LOCAL synchronous_commit = on;
SELECT count(*) FROM smspool.claim('tap-durability', ARRAY['none'], 1);
SELECT is(current_setting('synchronous_commit'), 'off', 'a claim commits without waiting for the WAL flush');

SET LOCAL synchronous_commit = on;
-- Each batch function takes an empty batch (a test that can fail: each call
-- runs inside lives_ok).
SELECT lives_ok($$SELECT smspool.record_results('tap-durability', '{}'::bigint[], '{}'::text[], '{}'::text[],
	'{}'::text[], '{}'::int[], '{}'::text[], '{}'::text[], '{}'::int[])$$, 'record_results accepts an empty batch');
SELECT lives_ok($$SELECT count(*) FROM smspool.record_reports('{}'::text[], '{}'::text[], '{}'::text[],
	'{}'::text[], '{}'::text[])$$, 'record_reports accepts an empty batch');
SELECT lives_ok($$SELECT count(*) FROM smspool.record_inbound('{}'::text[], '{}'::text[], '{}'::text[], '{}'::text[],
	'{}'::text[], '{}'::text[], '{}'::text[], '{}'::int[], '{}'::timestamptz[])$$,
	'record_inbound accepts an empty batch');
SELECT is(current_setting('synchronous_commit'), 'on', 'results, reports and inbound texts stay fully durable');

SELECT * FROM finish();
ROLLBACK;
