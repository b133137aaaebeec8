-- 024_odbc2: submit() checks the idempotency keys of an account with
-- unique_client_ref for the whole batch; accounts.report_sent queues a
-- 'sent' report event.
BEGIN;
SELECT plan(12);

DELETE FROM smspool.queue;   -- start from an empty queue (rolled back)
INSERT INTO smspool.connections (name, type) VALUES ('o2', 'loopback');
INSERT INTO smspool.accounts (system_id, password, unique_client_ref, report_sent) VALUES ('tap_o2', 'pw', true, true);
INSERT INTO smspool.accounts (system_id, password) VALUES ('tap_o2_plain', 'pw');

-- a batch: new keys, a key taken before 024 (no idempotency_key), a key twice
INSERT INTO smspool.outbox (recipient, body, client_ref, account, idempotency_key)
	VALUES ('+4920', 'old', 'old-1', 'tap_o2', NULL);
UPDATE smspool.outbox SET idempotency_key = NULL WHERE client_ref = 'old-1';
CREATE TEMP TABLE b1 AS SELECT * FROM smspool.submit('tap_o2', ARRAY['+4921', '+4922', '+4923', '+4924', '+4925'], NULL,
	ARRAY['one', 'old again', 'three', 'three again', 'five'], NULL, NULL, NULL,
	ARRAY['n-1', 'old-1', 'n-3', 'n-3', 'n-5'], NULL, NULL, NULL, NULL, NULL, NULL);
SELECT is((SELECT count(DISTINCT idx)::int FROM b1), 5, 'one answer per element');
SELECT results_eq($$SELECT b.idx, o.client_ref, o.body FROM b1 b JOIN smspool.outbox o ON o.id = b.id ORDER BY b.idx$$,
	$$VALUES (1, 'n-1', 'one'), (3, 'n-3', 'three'), (5, 'n-5', 'five')$$,
	'the new keys are inserted, each answer with the id of its own row');
SELECT is((SELECT error FROM b1 WHERE idx = 2),
	format('outbox.client_ref: already taken as message %s', (SELECT id FROM smspool.outbox WHERE client_ref = 'old-1')),
	'a key of a row inserted without idempotency_key (before 024) is already taken');
SELECT is((SELECT error FROM b1 WHERE idx = 4),
	format('outbox.client_ref: already taken as message %s', (SELECT id FROM b1 WHERE idx = 3)),
	'a key twice in one batch: the second is answered with the first''s id');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE account = 'tap_o2' AND idempotency_key = client_ref), 3,
	'inserted rows carry idempotency_key = client_ref');

-- the unique index answers a key inserted since the check (another session)
INSERT INTO smspool.outbox (recipient, body, account, idempotency_key) VALUES ('+4926', 'other', 'tap_o2', 'n-6');
CREATE TEMP TABLE b2 AS SELECT * FROM smspool.submit('tap_o2', ARRAY['+4926'], NULL, ARRAY['six'], NULL, NULL, NULL,
	ARRAY['n-6'], NULL, NULL, NULL, NULL, NULL, NULL);
SELECT is((SELECT error FROM b2),
	format('outbox.client_ref: already taken as message %s', (SELECT id FROM smspool.outbox WHERE body = 'other')),
	'a unique_violation on the idempotency key is answered with the id of the row holding it');

-- a row inserted by other means still goes through the 015 check, and gets the key
INSERT INTO smspool.outbox (recipient, body, client_ref, account) VALUES ('+4927', 'direct', 'n-7', 'tap_o2');
SELECT is((SELECT idempotency_key FROM smspool.outbox WHERE body = 'direct'), 'n-7',
	'a row without idempotency_key takes its client_ref as key');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, body, client_ref, account) VALUES ('+4927', 'again', 'n-1', 'tap_o2')$$,
	'23505', NULL, 'and is refused when the key is taken');

-- other accounts: no key
SELECT is((SELECT count(*)::int FROM smspool.submit('tap_o2_plain', ARRAY['+4928', '+4928'], NULL, ARRAY['x', 'y'],
	NULL, NULL, NULL, ARRAY['n-1', 'n-1'], NULL, NULL, NULL, NULL, NULL, NULL) WHERE id IS NOT NULL), 2,
	'an account without unique_client_ref may repeat a client_ref');

-- report_sent: a 'sent' report event, then the final one
SELECT is((SELECT count(*)::int FROM smspool.claim('d24', ARRAY['o2'], 100)), 8, 'setup: the 8 messages claimed');
SELECT smspool.record_results('d24', ARRAY(SELECT id FROM smspool.outbox WHERE account IN ('tap_o2', 'tap_o2_plain') ORDER BY id),
	ARRAY(SELECT 'sent'::text FROM smspool.outbox WHERE account IN ('tap_o2', 'tap_o2_plain')),
	ARRAY(SELECT 'o2'::text FROM smspool.outbox WHERE account IN ('tap_o2', 'tap_o2_plain')),
	ARRAY(SELECT 'R' || id FROM smspool.outbox WHERE account IN ('tap_o2', 'tap_o2_plain') ORDER BY id), NULL, NULL, NULL, NULL);
SET CONSTRAINTS smspool.outbox_account_sent IMMEDIATE;   -- as at the commit of the daemon's transaction
SELECT results_eq($$SELECT account, client_ref, state FROM smspool.account_events WHERE account LIKE 'tap_o2%' ORDER BY id$$,
	$$SELECT 'tap_o2'::text, client_ref, 'sent'::text FROM smspool.outbox WHERE account = 'tap_o2' AND client_ref IS NOT NULL
	  AND status = 'sent' ORDER BY id$$,
	'sent: a report event with state sent for each message with a client_ref of the report_sent account only');

-- sent and delivered in one transaction: only the final event
DELETE FROM smspool.account_events WHERE account = 'tap_o2';
SET CONSTRAINTS smspool.outbox_account_sent DEFERRED;
SELECT smspool.record_reports(ARRAY['o2', 'o2'], ARRAY(SELECT 'R' || id FROM smspool.outbox WHERE account = 'tap_o2' AND client_ref IN ('n-1', 'n-3') ORDER BY id),
	ARRAY['delivered', 'delivered'], NULL, NULL);
INSERT INTO smspool.outbox (recipient, body, client_ref, account, connection) VALUES ('+4929', 'fast', 'n-9', 'tap_o2', 'o2');
SELECT smspool.claim('d24', ARRAY['o2'], 100);
SELECT smspool.record_results('d24', ARRAY(SELECT id FROM smspool.outbox WHERE client_ref = 'n-9'), ARRAY['sent'], ARRAY['o2'],
	ARRAY['R-fast'], NULL, NULL, NULL, NULL);
SELECT smspool.record_reports(ARRAY['o2'], ARRAY['R-fast'], ARRAY['delivered'], NULL, NULL);
SET CONSTRAINTS smspool.outbox_account_sent IMMEDIATE;
SELECT results_eq($$SELECT client_ref, state FROM smspool.account_events WHERE account = 'tap_o2' ORDER BY client_ref, id$$,
	$$VALUES ('n-1', 'delivered'), ('n-3', 'delivered'), ('n-9', 'delivered')$$,
	'a message final by the commit that made it sent gets only its final event');

SELECT * FROM finish();
ROLLBACK;
