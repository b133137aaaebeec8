-- 010_hardening (issue 9): claims that skip locked and held rows and enforce
-- max_attempts, renewed leases, reused remote ids in one batch, bulk cancel,
-- clearing send_after, length limits.
BEGIN;
SELECT plan(30);
-- pgTAP lives in schema smspool, found through "$user" only as smspool
SET LOCAL search_path = smspool, public;

DELETE FROM smspool.queue;
INSERT INTO smspool.connections (name, type) VALUES ('ha', 'loopback');
UPDATE smspool.config SET value = '3' WHERE key = 'max_attempts';
UPDATE smspool.config SET value = '60' WHERE key = 'lease_s';

-- max_attempts at claim time: a message whose claims ended without a result
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('2001', 'looping', 'h-loop');
UPDATE smspool.outbox SET status = 'sending', attempts = 3 WHERE client_ref = 'h-loop';
UPDATE smspool.queue SET claimed_by = 'dead', due_at = now() - interval '1 second'
WHERE message_id = (SELECT id FROM smspool.outbox WHERE client_ref = 'h-loop');
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['ha'], 100)), 0, 'a message at max_attempts is not claimed again');
SELECT is((SELECT ARRAY[status, error_class] FROM smspool.outbox WHERE client_ref = 'h-loop'), ARRAY['failed', 'local'],
	'it becomes failed (error_class local)');
SELECT matches((SELECT error_text FROM smspool.outbox WHERE client_ref = 'h-loop'), '^gave up after 3 attempts', 'error_text says why');
SELECT ok(NOT EXISTS (SELECT 1 FROM smspool.queue q JOIN smspool.outbox o ON o.id = q.message_id WHERE o.client_ref = 'h-loop'),
	'and leaves the queue');

-- a claim never takes a row its own instance holds, even past its lease
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('2002', 'held', 'h-held');
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['ha'], 100)), 1, 'setup: d1 claims it');
UPDATE smspool.queue SET due_at = now() - interval '1 second'
WHERE message_id = (SELECT id FROM smspool.outbox WHERE client_ref = 'h-held');
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['ha'], 100)), 0, 'its own instance does not claim it again');

-- renew_leases extends what the instance holds
SELECT is(smspool.renew_leases('d1'), 1, 'renew_leases renews the lease past half its time');
SELECT is((SELECT due_at FROM smspool.queue WHERE claimed_by = 'd1'), now() + interval '60 seconds', 'to lease_s from now');
SELECT is(smspool.renew_leases('d1'), 0, 'a fresh lease is left alone');
SELECT is((SELECT count(*)::int FROM smspool.claim('d2', ARRAY['ha'], 100)), 0, 'another daemon cannot take a renewed row');

-- two results of one batch carrying the same remote id on one connection
INSERT INTO smspool.outbox (recipient, body, client_ref) SELECT '2003', 'dup ' || g, 'h-dup' || g FROM generate_series(1, 2) g;
SELECT is((SELECT count(*)::int FROM smspool.claim('d3', ARRAY['ha'], 100)), 2, 'setup: two claimed');
SELECT lives_ok($$SELECT smspool.record_results('d3',
	ARRAY(SELECT id FROM smspool.outbox WHERE client_ref LIKE 'h-dup%' ORDER BY id), ARRAY['sent', 'sent'], ARRAY['ha', 'ha'],
	ARRAY['same-id', 'same-id'], ARRAY[1, 1], NULL, NULL, NULL)$$, 'a reused remote id within one batch does not fail it');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE client_ref LIKE 'h-dup%' AND status = 'sent'), 2, 'both results are recorded');
SELECT is((SELECT message_id FROM smspool.report_wait WHERE remote_id = 'same-id' AND connection = 'ha'),
	(SELECT max(id) FROM smspool.outbox WHERE client_ref LIKE 'h-dup%'), 'the newer message waits for the report');

-- bulk cancel: the queued rows are cancelled, the others left, with a count
INSERT INTO smspool.outbox (recipient, body, client_ref) SELECT '2004', 'bulk ' || g, 'h-bulk' || g FROM generate_series(1, 4) g;
UPDATE smspool.outbox SET status = 'sending' WHERE client_ref = 'h-bulk1';
CREATE TEMP TABLE cnt (n int);
CREATE FUNCTION pg_temp.bulk_cancel() RETURNS int LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
	UPDATE smspool.outbox SET status = 'cancelled' WHERE client_ref LIKE 'h-bulk%';
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END $$;
SELECT is(pg_temp.bulk_cancel(), 3, 'a bulk cancel counts the rows it cancelled');
SELECT is((SELECT array_agg(status ORDER BY client_ref) FROM smspool.outbox WHERE client_ref LIKE 'h-bulk%'),
	ARRAY['sending', 'cancelled', 'cancelled', 'cancelled'], 'and leaves the one being sent');

-- clearing send_after makes a queued message due at once
INSERT INTO smspool.outbox (recipient, body, client_ref, send_after) VALUES ('2005', 'later', 'h-later', now() + interval '1 day');
UPDATE smspool.outbox SET send_after = NULL WHERE client_ref = 'h-later';
SELECT is((SELECT q.due_at FROM smspool.queue q JOIN smspool.outbox o ON o.id = q.message_id WHERE o.client_ref = 'h-later'),
	now(), 'clearing send_after makes it due now');

-- length limits
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('2006', 'x', repeat('r', 257))$$, '23514',
	NULL, 'client_ref over 256 characters is refused');
SELECT throws_like($$INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('2006', 'x', repeat('r', 257))$$,
	'%outbox.client_ref: at most 256 characters%', 'the error names the column and the rule');
UPDATE smspool.config SET value = '255' WHERE key = 'max_parts';
SELECT throws_like($$INSERT INTO smspool.outbox (recipient, body) VALUES ('2006', repeat('é', 40001))$$,
	'%outbox.body%', 'a body over the limit is refused');

-- tenants see and cancel only their own messages
CREATE ROLE tap_tenant1 LOGIN IN ROLE smspool_tenant;
CREATE ROLE tap_tenant2 LOGIN IN ROLE smspool_tenant;
SET ROLE tap_tenant1;
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('3001', 'from t1', 'h-t1a'), ('3001', 'from t1', 'h-t1b');
RESET ROLE;
SET ROLE tap_tenant2;
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('3002', 'from t2', 'h-t2');
SELECT is((SELECT array_agg(client_ref ORDER BY client_ref) FROM smspool.outbox), ARRAY['h-t2'], 'a tenant sees only its own messages');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, body, tenant) VALUES ('3002', 'x', 'tap_tenant1')$$, '42501', NULL,
	'a tenant cannot insert in another tenant''s name');
UPDATE smspool.outbox SET status = 'cancelled' WHERE client_ref LIKE 'h-t1%';
RESET ROLE;
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE client_ref LIKE 'h-t1%' AND status = 'queued'), 2,
	'a tenant cannot cancel another tenant''s messages');
SELECT is((SELECT tenant FROM smspool.outbox WHERE client_ref = 'h-t2'), 'tap_tenant2', 'tenant is the inserting role');
SET ROLE tap_tenant1;
SELECT throws_ok($$UPDATE smspool.outbox SET status = 'sending' WHERE client_ref = 'h-t1a'$$, '42501', NULL,
	'a tenant may not set any status but cancelled');
UPDATE smspool.outbox SET status = 'cancelled' WHERE client_ref = 'h-t1a';
RESET ROLE;
SELECT is((SELECT status FROM smspool.outbox WHERE client_ref = 'h-t1a'), 'cancelled', 'a tenant cancels its own queued message');
INSERT INTO smspool.reports (connection, remote_id, state, message_id)
SELECT 'ha', 'rt-' || client_ref, 'delivered', id FROM smspool.outbox WHERE client_ref IN ('h-t1b', 'h-t2');
SET ROLE tap_tenant1;
SELECT is((SELECT array_agg(remote_id) FROM smspool.reports WHERE remote_id LIKE 'rt-%'), ARRAY['rt-h-t1b'], 'a tenant sees only the reports of its messages');
SELECT throws_ok($$SELECT count(*) FROM smspool.inbox$$, '42501', NULL, 'a tenant has no inbox');
RESET ROLE;
SET ROLE smspool_app;
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE client_ref LIKE 'h-t%'), 3, 'smspool_app still sees every message');
RESET ROLE;

-- report_hourly filtered by hour goes through the index
CREATE FUNCTION pg_temp.plan_of(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; v text := '';
BEGIN
	SET LOCAL enable_seqscan = off;
	FOR r IN EXECUTE 'EXPLAIN ' || p_sql LOOP v := v || r || E'\n'; END LOOP;
	RETURN v;
END $$;
SELECT matches(pg_temp.plan_of($$SELECT * FROM smspool.report_hourly WHERE hour >= now() - interval '1 day'$$),
	'outbox_hour_brin', 'report_hourly filtered by hour uses the hour index');

SELECT * FROM finish();
ROLLBACK;
