-- 044_odbc_perf: submit() finds the client_refs a unique_client_ref account
-- already has in outbox_keys (one primary-key probe per element), not in
-- the partitioned outbox; the refs that counted without a key (rows of
-- before 024, rows of an account given the flag later) still count.
BEGIN;
SELECT plan(13);

INSERT INTO smspool.accounts (system_id, password, unique_client_ref) VALUES ('tap_44', 'pw', true);
INSERT INTO smspool.accounts (system_id, password) VALUES ('tap_44late', 'pw');

-- the odbc driver's crash case: a batch committed in PostgreSQL, the foreign
-- rows not marked, taken again and submitted again with a new row beside
CREATE TEMP TABLE s1 AS SELECT * FROM smspool.submit('tap_44', ARRAY['+4911', '+4912'], NULL, ARRAY['one', 'two'],
	NULL, NULL, NULL, ARRAY['101', '102'], NULL, NULL, NULL, NULL, NULL, NULL);
SELECT results_eq($$SELECT k.key, k.message_id FROM smspool.outbox_keys k WHERE k.scope = 'tap_44' ORDER BY k.key$$,
	$$SELECT client_ref, id FROM smspool.outbox WHERE account = 'tap_44' ORDER BY client_ref$$,
	'each inserted row''s client_ref is its key in outbox_keys');
CREATE TEMP TABLE s2 AS SELECT * FROM smspool.submit('tap_44', ARRAY['+4912', '+4913', '+4911'], NULL,
	ARRAY['two', 'three', 'one'], NULL, NULL, NULL, ARRAY['102', '103', '101'], NULL, NULL, NULL, NULL, NULL, NULL);
SELECT results_eq($$SELECT idx, id IS NULL, error_class, error FROM s2 ORDER BY idx$$,
	format($$VALUES (1, true, 'invalid', 'outbox.client_ref: already taken as message %s'), (2, false, NULL, NULL),
		(3, true, 'invalid', 'outbox.client_ref: already taken as message %s')$$,
		(SELECT id FROM s1 WHERE idx = 2), (SELECT id FROM s1 WHERE idx = 1)),
	'submitted again: the refs taken are refused with their message''s id, in order, the new one goes in');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE account = 'tap_44'), 3, 'no row is inserted twice');

-- the check reads outbox_keys: a ref whose key row is gone is not seen
-- (the 040 check probed outbox by client_ref and refused it)
DELETE FROM smspool.outbox_keys WHERE scope = 'tap_44' AND key = '103';
SELECT is((SELECT count(*)::int FROM smspool.submit('tap_44', ARRAY['+4913'], NULL, ARRAY['three'], NULL, NULL, NULL,
	ARRAY['103'], NULL, NULL, NULL, NULL, NULL, NULL) WHERE id IS NOT NULL), 1,
	'the lookup is outbox_keys'' (one probe per element), not outbox''s');

-- a row of before 024 (a client_ref, no key) counts once 044 gave it its key
INSERT INTO smspool.outbox (recipient, body, account, client_ref) VALUES ('+4914', 'old', 'tap_44late', '104');
UPDATE smspool.accounts SET unique_client_ref = true WHERE system_id = 'tap_44late';
SELECT is((SELECT k.message_id FROM smspool.outbox_keys k WHERE k.scope = 'tap_44late' AND k.key = '104'),
	(SELECT id FROM smspool.outbox WHERE account = 'tap_44late'),
	'an account given unique_client_ref: its messages'' client_refs become keys (accounts_unique_client_ref)');
SELECT results_eq($$SELECT error_class, error FROM smspool.submit('tap_44late', ARRAY['+4914'], NULL, ARRAY['old'],
	NULL, NULL, NULL, ARRAY['104'], NULL, NULL, NULL, NULL, NULL, NULL)$$,
	format($$VALUES ('invalid'::text, 'outbox.client_ref: already taken as message %s'::text)$$,
		(SELECT id FROM smspool.outbox WHERE account = 'tap_44late')),
	'so its old client_refs are taken');
UPDATE smspool.outbox SET idempotency_key = NULL WHERE account = 'tap_44late';
DELETE FROM smspool.outbox_keys WHERE scope = 'tap_44late';
SELECT is(smspool.unique_client_ref_keys('tap_44late'), 1::bigint,
	'unique_client_ref_keys (run by 044 for the rows of before 024) gives a keyless row its key');
SELECT is((SELECT idempotency_key FROM smspool.outbox WHERE account = 'tap_44late'), '104', 'and idempotency_key');

-- a client_ref over 200 characters is no key: still found in outbox
SELECT is((SELECT count(*)::int FROM smspool.submit('tap_44', ARRAY['+4915', '+4915'], NULL, ARRAY['long', 'long'],
	NULL, NULL, NULL, ARRAY[repeat('x', 250), repeat('y', 250)], NULL, NULL, NULL, NULL, NULL, NULL) WHERE id IS NOT NULL),
	2, 'setup: two rows with client_refs of 250 characters');
SELECT results_eq($$SELECT idx, error_class FROM smspool.submit('tap_44', ARRAY['+4915', '+4915'], NULL, ARRAY['long', 'z'],
	NULL, NULL, NULL, ARRAY[repeat('y', 250), repeat('z', 250)], NULL, NULL, NULL, NULL, NULL, NULL) ORDER BY idx$$,
	$$VALUES (1, 'invalid'::text), (2, NULL)$$, 'a client_ref too long for a key is still found (in outbox)');

-- a row inserted with an explicit key other than its client_ref: its
-- client_ref is registered too, so it stays taken (as 040's probe of outbox
-- found it); deleting the message frees both
CREATE TEMP TABLE s3 AS SELECT * FROM smspool.submit('tap_44', ARRAY['+4916'], NULL, ARRAY['keyed'], NULL, NULL, NULL,
	ARRAY['106'], NULL, NULL, NULL, NULL, NULL, NULL, ARRAY['kx-106']);
SELECT results_eq($$SELECT error_class, error FROM smspool.submit('tap_44', ARRAY['+4916'], NULL, ARRAY['keyed'],
	NULL, NULL, NULL, ARRAY['106'], NULL, NULL, NULL, NULL, NULL, NULL)$$,
	format($$VALUES ('invalid'::text, 'outbox.client_ref: already taken as message %s'::text)$$, (SELECT id FROM s3)),
	'the client_ref of a row with an explicit key is taken');
SELECT results_eq($$SELECT key FROM smspool.outbox_keys WHERE message_id = (SELECT id FROM s3) ORDER BY key$$,
	$$VALUES ('106'::text), ('kx-106')$$, 'its key and its client_ref are rows of outbox_keys');
DELETE FROM smspool.outbox WHERE id = (SELECT id FROM s3);
SELECT is((SELECT count(*)::int FROM smspool.outbox_keys WHERE message_id = (SELECT id FROM s3)), 0,
	'deleting the message deletes both');

SELECT * FROM finish();
ROLLBACK;
