-- 026_link: submit() with idempotency keys (the link server's batches): a key
-- the account already used gets the id of the row that has it and inserts
-- nothing; keys are per account; a key twice in one call is inserted once;
-- the 14-argument form is unchanged.
BEGIN;
SELECT plan(8);

INSERT INTO smspool.accounts (system_id, password) VALUES ('lk1', 'pw'), ('lk2', 'pw');
CREATE TEMP TABLE k1 AS SELECT * FROM smspool.submit('lk1', ARRAY['+4911', '+4912', 'bad'], NULL,
	ARRAY['one', 'two', 'three'], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	ARRAY['a:1', 'a:2', 'a:3']);
SELECT results_eq($$SELECT idx, id IS NOT NULL, error_class FROM k1 ORDER BY idx$$,
	$$VALUES (1, true, NULL::text), (2, true, NULL), (3, false, 'invalid')$$, 'keyed batch: rows inserted, a bad one refused');
SELECT results_eq($$SELECT o.idempotency_key FROM k1 JOIN smspool.outbox o ON o.id = k1.id ORDER BY k1.idx$$,
	$$VALUES ('a:1'), ('a:2')$$, 'each row keeps its key');

-- the same batch again (its answer was lost), with one new message in it
CREATE TEMP TABLE k2 AS SELECT * FROM smspool.submit('lk1', ARRAY['+4911', '+4913', '+4912'], NULL,
	ARRAY['one', 'four', 'two'], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	ARRAY['a:1', 'a:4', 'a:2']);
SELECT results_eq($$SELECT k2.idx, k2.id = k1.id FROM k2 JOIN k1 ON k1.idx = CASE k2.idx WHEN 1 THEN 1 WHEN 3 THEN 2 END ORDER BY k2.idx$$,
	$$VALUES (1, true), (3, true)$$, 'a key used before is answered with the id it has');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE account = 'lk1'), 3, 'nothing inserted twice, the new one inserted');
SELECT is((SELECT o.body FROM k2 JOIN smspool.outbox o ON o.id = k2.id WHERE k2.idx = 2), 'four', 'the new message maps to its element');

-- keys are per account
CREATE TEMP TABLE k4 AS SELECT * FROM smspool.submit('lk2', ARRAY['+4911'], NULL, ARRAY['one'], NULL, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL, NULL, NULL, ARRAY['a:1']);
SELECT is((SELECT o.account FROM k4 JOIN smspool.outbox o ON o.id = k4.id), 'lk2', 'another account may use the same key');

-- a key twice in one call: one row, both elements answered with its id
CREATE TEMP TABLE k3 AS SELECT * FROM smspool.submit('lk1', ARRAY['+4915', '+4915'], NULL, ARRAY['five', 'five'],
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ARRAY['a:5', 'a:5']);
SELECT is((SELECT count(DISTINCT id)::int || '/' || count(*) FROM k3 WHERE error_class IS NULL), '1/2',
	'a key twice in one call: one row, both answered with its id');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE account = 'lk1' AND idempotency_key = 'a:5'), 1, 'inserted once');

SELECT * FROM finish();
ROLLBACK;
