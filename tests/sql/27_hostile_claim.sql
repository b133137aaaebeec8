-- 027_hostile: a row whose lease ran out is taken over from another daemon
-- only when that daemon is gone (its instance lock is free) or has not
-- renewed for ten leases.  This session plays the live daemon "alive1" by
-- holding its instance lock (session-level: released by hand below, a
-- ROLLBACK does not release it).
BEGIN;
SELECT plan(5);
SET LOCAL search_path = smspool, public;
DELETE FROM smspool.queue;

INSERT INTO smspool.connections (name, type) VALUES ('hc', 'loopback');
UPDATE smspool.config SET value = '2' WHERE key = 'lease_s';
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('3001', 'held by a live daemon', 'hc-live');
SELECT is((SELECT count(*)::int FROM smspool.claim('alive1', ARRAY['hc'], 100)), 1, 'setup: alive1 claims it');
UPDATE smspool.queue SET due_at = now() - interval '3 seconds' WHERE claimed_by = 'alive1';
DO $$ BEGIN PERFORM pg_advisory_lock(hashtext('smspool.instance'), hashtext('alive1')); END $$;
SELECT is((SELECT count(*)::int FROM smspool.claim('other1', ARRAY['hc'], 100)), 0,
	'past its lease, a row is not taken from a daemon whose instance lock is held (it still lives)');
UPDATE smspool.queue SET due_at = now() - interval '19 seconds' WHERE claimed_by = 'alive1';
SELECT is((SELECT count(*)::int FROM smspool.claim('other1', ARRAY['hc'], 100)), 1,
	'... but it is once the holder has not renewed for ten leases (a wedged daemon)');
-- the same again, with the holder gone
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('3002', 'held by a dead daemon', 'hc-dead');
SELECT is((SELECT count(*)::int FROM smspool.claim('alive1', ARRAY['hc'], 100)), 1, 'setup: alive1 claims another');
UPDATE smspool.queue SET due_at = now() - interval '3 seconds' WHERE claimed_by = 'alive1';
DO $$ BEGIN PERFORM pg_advisory_unlock(hashtext('smspool.instance'), hashtext('alive1')); END $$;
SELECT is((SELECT count(*)::int FROM smspool.claim('other1', ARRAY['hc'], 100)), 1,
	'a row whose holder is gone (instance lock free) is taken over once its lease ran out');

SELECT * FROM finish();
ROLLBACK;
