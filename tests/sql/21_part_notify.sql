-- 021_part: the claimers' waiting flag that decides whether an outbox INSERT
-- sends NOTIFY smspool_outbox, and the in-flight transactions a claimer
-- watches after setting it.  (The NOTIFY itself: e2e 21_idle_notify.)
BEGIN;
SELECT plan(8);

SELECT is((SELECT count(*)::int FROM smspool.claimer_waiting), 0, 'nobody waits at first');
SELECT smspool.claimer_wait('w1', true);
SELECT smspool.claimer_wait('w1', true);
SELECT is((SELECT array_agg(instance) FROM smspool.claimer_waiting), ARRAY['w1'], 'claimer_wait(true) sets one row, twice is once');
SELECT smspool.claimer_wait('w2', true);
SELECT smspool.claimer_wait('w1', false);
SELECT is((SELECT array_agg(instance) FROM smspool.claimer_waiting), ARRAY['w2'], 'claimer_wait(false) clears only its own');
SELECT smspool.claimer_wait('w2', false);
-- a daemon killed while waiting leaves its row: the next claimer to sleep
-- removes it once its heartbeat is a minute old; a live one's stays
INSERT INTO smspool.daemons (instance, heartbeat_at) VALUES ('gone', now() - interval '2 minutes'), ('live', now());
INSERT INTO smspool.claimer_waiting (instance) VALUES ('gone'), ('live'), ('nodaemon');
SELECT smspool.claimer_wait('w3', true);
SELECT is((SELECT array_agg(instance ORDER BY instance) FROM smspool.claimer_waiting), ARRAY['live', 'w3'],
	'going to sleep removes the flags of daemons without a recent heartbeat');

SELECT ok(pg_current_xact_id() = ANY (smspool.claimer_in_flight(ARRAY[pg_current_xact_id()])), 'an open transaction is in flight');
SELECT is(smspool.claimer_in_flight(ARRAY['3'::xid8]), '{}'::xid8[], 'a long finished one is not');
SELECT ok(smspool.claimer_in_flight(NULL) IS NOT NULL, 'claimer_in_flight(NULL): the transactions in progress now');
CREATE FUNCTION pg_temp.as_app(p_sql text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
	SET LOCAL ROLE smspool_app;
	EXECUTE p_sql;
	RESET ROLE;
END
$f$;
SELECT throws_ok($x$SELECT pg_temp.as_app($$SELECT smspool.claimer_wait('x', true)$$)$x$, '42501', NULL, 'an application cannot set the flag');

SELECT * FROM finish();
ROLLBACK;
