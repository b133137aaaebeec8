-- 015_odbc: for an account with unique_client_ref, client_ref is an
-- idempotency key; for every other account and for applications it is not.
BEGIN;
SELECT plan(7);

INSERT INTO smspool.accounts (system_id, password, unique_client_ref) VALUES ('tap_odbc', 'pw-odbc', true);
INSERT INTO smspool.accounts (system_id, password) VALUES ('tap_plain', 'pw-plain');

CREATE TEMP TABLE u1 AS SELECT * FROM smspool.submit('tap_odbc', ARRAY['+4911', '+4912'], NULL, ARRAY['one', 'two'],
	NULL, NULL, NULL, ARRAY['k-1', 'k-2'], NULL, NULL, NULL, NULL, NULL, NULL);
SELECT is((SELECT count(*)::int FROM u1 WHERE id IS NOT NULL), 2, 'new keys are inserted');

-- taken again after a crash: k-2 again (with a new k-3 beside it)
CREATE TEMP TABLE u2 AS SELECT * FROM smspool.submit('tap_odbc', ARRAY['+4912', '+4913'], NULL, ARRAY['two', 'three'],
	NULL, NULL, NULL, ARRAY['k-2', 'k-3'], NULL, NULL, NULL, NULL, NULL, NULL);
SELECT results_eq($$SELECT idx, id IS NULL, error_class, error FROM u2 ORDER BY idx$$,
	format($$VALUES (1, true, 'invalid', 'outbox.client_ref: already taken as message %s'), (2, false, NULL, NULL)$$,
		(SELECT id FROM u1 WHERE idx = 2)),
	'a key the account already has is refused with the id of its message; the other row goes in');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE account = 'tap_odbc'), 3, 'one row per key');

-- the same key under another account, or from an application, is not a duplicate
SELECT lives_ok($$SELECT smspool.submit('tap_plain', ARRAY['+4912'], NULL, ARRAY['x'], NULL, NULL, NULL, ARRAY['k-2'],
	NULL, NULL, NULL, NULL, NULL, NULL)$$, 'another account may use the key');
SELECT is((SELECT count(*)::int FROM smspool.submit('tap_plain', ARRAY['+4912'], NULL, ARRAY['x'], NULL, NULL, NULL,
	ARRAY['k-2'], NULL, NULL, NULL, NULL, NULL, NULL) WHERE id IS NOT NULL), 1,
	'an account without unique_client_ref may repeat a client_ref');
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('+4912', 'app', 'k-2'), ('+4912', 'app', 'k-2');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE account IS NULL AND client_ref = 'k-2'), 2,
	'applications may repeat a client_ref');
SELECT has_column('smspool', 'accounts', 'unique_client_ref', 'accounts.unique_client_ref exists');

SELECT * FROM finish();
ROLLBACK;
