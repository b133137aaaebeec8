-- record_inbound with keys (sql/012_email.sql): an item whose key was stored
-- before for its connection, or repeats in the same call, is skipped; items
-- without a key are stored as always; keys are per connection.
BEGIN;
SELECT plan(8);

CREATE TEMP TABLE k1 AS SELECT * FROM smspool.record_inbound(ARRAY['ka', 'ka', 'ka', 'ka'], ARRAY['+4911', '+4912', '+4913', '+4914'],
	ARRAY['100', '100', '100', '100'], ARRAY['one', 'two', 'two again', 'no key'], NULL, NULL, ARRAY['gsm7', 'gsm7', 'gsm7', 'gsm7'],
	ARRAY[1, 1, 1, 1], NULL, ARRAY['m#1', 'm#2', 'm#2', NULL]) AS id;
SELECT is((SELECT count(*)::int FROM k1), 3, 'a key repeated in one call is stored once');
SELECT results_eq($$SELECT i.body FROM k1 JOIN smspool.inbox i USING (id) ORDER BY k1.id$$,
	$$VALUES ('one'), ('two'), ('no key')$$, 'the first item of a key is the one stored, in input order');
SELECT results_eq($$SELECT key FROM smspool.inbound_keys WHERE connection = 'ka' ORDER BY key$$,
	$$VALUES ('m#1'), ('m#2')$$, 'the keys are remembered');

CREATE TEMP TABLE k2 AS SELECT * FROM smspool.record_inbound(ARRAY['ka', 'ka', 'kb'], ARRAY['+4911', '+4915', '+4911'],
	ARRAY['100', '100', '100'], ARRAY['one', 'three', 'one elsewhere'], NULL, NULL, NULL, NULL, NULL, ARRAY['m#1', 'm#3', 'm#1']) AS id;
SELECT results_eq($$SELECT i.body FROM k2 JOIN smspool.inbox i USING (id) ORDER BY k2.id$$,
	$$VALUES ('three'), ('one elsewhere')$$, 'a key stored before is skipped; keys are per connection');
SELECT is((SELECT count(*)::int FROM smspool.inbox WHERE connection = 'ka' AND body = 'one'), 1, 'nothing is stored twice');

CREATE TEMP TABLE k3 AS SELECT * FROM smspool.record_inbound(ARRAY['ka'], ARRAY['+4911'], ARRAY['100'], ARRAY['one'],
	NULL, NULL, NULL, NULL, NULL, ARRAY['m#1']) AS id;
SELECT is((SELECT count(*)::int FROM k3), 0, 'a call with only known keys stores nothing and succeeds');
SELECT is((SELECT count(*)::int FROM smspool.record_inbound(ARRAY['ka'], ARRAY['+4916'], ARRAY['100'], ARRAY['nine-arg'],
	NULL, NULL, NULL, NULL, NULL)), 1, 'the 9-argument form still works');
SELECT ok(NOT has_function_privilege('public', 'smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[])', 'EXECUTE')
	AND has_function_privilege('smspool_daemon', 'smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[])', 'EXECUTE')
	AND has_table_privilege('smspool_daemon', 'smspool.inbound_keys', 'INSERT'),
	'only the daemon may record');

SELECT * FROM finish();
ROLLBACK;
