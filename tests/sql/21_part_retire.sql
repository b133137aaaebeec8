-- 021_part: the retirement rules of an id range (retire_blocker), each
-- condition that keeps it on its own, then the range that may go.
BEGIN;
SELECT plan(14);
SET LOCAL search_path = smspool, public;

DELETE FROM smspool.queue;
DELETE FROM smspool.report_wait;
INSERT INTO smspool.connections (name, type) VALUES ('rt', 'loopback');
UPDATE smspool.config SET value = '7' WHERE key = 'retention_days';

-- three messages: one delivered, one sent awaiting its report, one queued
INSERT INTO smspool.outbox (recipient, body, client_ref, want_report)
VALUES ('6001', 'a', 'rt-a', true), ('6001', 'b', 'rt-b', true), ('6001', 'c', 'rt-c', true);
CREATE TEMP TABLE r AS SELECT min(id) AS lo, max(id) + 1 AS hi FROM smspool.outbox WHERE client_ref LIKE 'rt-%';
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['rt'], 2)), 2, 'setup: two claimed');
SELECT is(smspool.record_results('d1', ARRAY(SELECT id FROM smspool.outbox WHERE client_ref IN ('rt-a', 'rt-b') ORDER BY id),
	ARRAY['sent', 'sent'], ARRAY['rt', 'rt'], ARRAY['ra', 'rb'], NULL, NULL, NULL, NULL), 2, 'setup: both sent, reports wanted');
SELECT is((SELECT count(*)::int FROM smspool.record_reports(ARRAY['rt'], ARRAY['ra'], ARRAY['delivered'], NULL, NULL)), 1, 'setup: a delivered');
-- one more message after them, so that the range is behind the sequence
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('6001', 'later', 'rt-later');
-- make the three old
UPDATE smspool.outbox SET created_at = now() - interval '30 days' WHERE client_ref IN ('rt-a', 'rt-b', 'rt-c');

SELECT is(smspool.retire_blocker('outbox', (SELECT lo FROM r), (SELECT hi FROM r)), 'a message is not final', 'a queued message keeps the range');
UPDATE smspool.outbox SET status = 'cancelled' WHERE client_ref = 'rt-c';
SELECT is(smspool.retire_blocker('outbox', (SELECT lo FROM r), (SELECT hi FROM r)), 'a message is not final',
	'a message sent and awaiting its report (not final) keeps it');
-- b final while its report_wait row is still there (a report still awaited)
UPDATE smspool.outbox SET status = 'delivered', done_at = now() - interval '30 days' WHERE client_ref = 'rt-b';
SELECT ok(EXISTS (SELECT 1 FROM smspool.report_wait w JOIN r ON w.message_id >= r.lo AND w.message_id < r.hi), 'setup: b''s wait is still there');
SELECT is(smspool.retire_blocker('outbox', (SELECT lo FROM r), (SELECT hi FROM r)), 'a report is awaited', 'an awaited report keeps it');
DELETE FROM smspool.report_wait w USING r WHERE w.message_id >= r.lo AND w.message_id < r.hi;
SELECT is(smspool.retire_blocker('outbox', (SELECT lo FROM r), (SELECT hi FROM r)), NULL, 'all final, nothing awaited, all older than retention_days: it may go');
UPDATE smspool.outbox SET created_at = now() - interval '2 days' WHERE client_ref = 'rt-c';
SELECT is(smspool.retire_blocker('outbox', (SELECT lo FROM r), (SELECT hi FROM r)), 'the newest row is younger than retention_days', 'one row younger than retention_days keeps it');
UPDATE smspool.outbox SET created_at = now() - interval '30 days' WHERE client_ref = 'rt-c';
SELECT is(smspool.retire_blocker('outbox', (SELECT lo FROM r), (SELECT hi FROM r) + 1000000), 'current: new rows may still come', 'a range the sequence has not passed stays');
UPDATE smspool.config SET value = '0' WHERE key = 'retention_days';
SELECT is(smspool.retire_blocker('outbox', (SELECT lo FROM r), (SELECT hi FROM r)), 'kept for ever (retention_days 0)', 'retention_days 0 keeps everything');
UPDATE smspool.config SET value = '7' WHERE key = 'retention_days';

-- inbox: an unconsumed row keeps its range
SELECT smspool.record_inbound(ARRAY['rt', 'rt'], ARRAY['+49', '+49'], ARRAY['1', '1'], ARRAY['x', 'y'], NULL, NULL, ARRAY['gsm7', 'gsm7'], ARRAY[1, 1], NULL);
SELECT smspool.record_inbound(ARRAY['rt'], ARRAY['+49'], ARRAY['1'], ARRAY['later'], NULL, NULL, ARRAY['gsm7'], ARRAY[1], NULL);
CREATE TEMP TABLE ri AS SELECT min(id) AS lo, max(id) + 1 AS hi FROM smspool.inbox WHERE body IN ('x', 'y');
UPDATE smspool.inbox SET received_at = now() - interval '30 days' WHERE body IN ('x', 'y');
UPDATE smspool.inbox SET consumed_at = now(), consumed_by = 'test' WHERE body = 'x';
SELECT is(smspool.retire_blocker('inbox', (SELECT lo FROM ri), (SELECT hi FROM ri)), 'an inbox row is not consumed', 'an unconsumed inbox row keeps the range');
UPDATE smspool.inbox SET consumed_at = now(), consumed_by = 'test' WHERE body = 'y';
SELECT is(smspool.retire_blocker('inbox', (SELECT lo FROM ri), (SELECT hi FROM ri)), NULL, 'all consumed and old: it may go');
SELECT throws_ok($$SELECT smspool.retire_blocker('queue', 1, 2)$$, '22023', NULL, 'only outbox, reports, inbox');

SELECT * FROM finish();
ROLLBACK;
