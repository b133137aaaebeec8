-- Parts of a long text kept in smspool.inbound_parts (sql/029_modem2.sql):
-- an element of record_inbound with a key sms-part:... is committed as a
-- part, not an inbox row; the set becomes one inbox row when its last part
-- comes, text joined in part order; a part given again is kept once; an
-- overdue incomplete set is stored with what came; whole texts are stored
-- as before in the same call.
BEGIN;
SELECT plan(9);

SELECT is((SELECT count(*)::int FROM smspool.record_inbound(ARRAY['pa', 'pa'], ARRAY['+4911', '+4912'], ARRAY['me', 'me'],
	ARRAY['world', 'whole'], NULL, NULL, ARRAY['gsm7', 'gsm7'], ARRAY[1, 1], NULL,
	ARRAY['sms-part:3600:2:2:0/+4911/7', NULL])), 1, 'a part is no inbox row; a whole text in the same call is');
SELECT is((SELECT count(*)::int FROM smspool.inbound_parts WHERE connection = 'pa'), 1, 'the part is committed on its own');
SELECT is((SELECT count(*)::int FROM smspool.record_inbound(ARRAY['pa'], ARRAY['+4911'], ARRAY['me'], ARRAY['world'],
	NULL, NULL, ARRAY['gsm7'], ARRAY[1], NULL, ARRAY['sms-part:3600:2:2:0/+4911/7'])), 0, 'the same part again: kept once');
CREATE TEMP TABLE p1 AS SELECT * FROM smspool.record_inbound(ARRAY['pa'], ARRAY['+4911'], ARRAY['me'], ARRAY['hello '],
	NULL, NULL, ARRAY['gsm7'], ARRAY[1], NULL, ARRAY['sms-part:3600:2:1:0/+4911/7']) AS id;
SELECT results_eq($$SELECT i.sender, i.body, i.parts, i.encoding FROM p1 JOIN smspool.inbox i USING (id)$$,
	$$VALUES ('+4911'::text, 'hello world'::text, 2, 'gsm7'::text)$$, 'the last part makes one inbox row, in part order');
SELECT is((SELECT count(*)::int FROM smspool.inbound_parts WHERE connection = 'pa'), 0, 'and its parts are gone');

-- Overdue: a set of three of which one came long ago.
SELECT smspool.record_inbound(ARRAY['pb'], ARRAY['+4913'], ARRAY['me'], ARRAY['first of three'], NULL, NULL,
	ARRAY['gsm7'], ARRAY[1], NULL, ARRAY['sms-part:60:3:1:0/+4913/9']);
UPDATE smspool.inbound_parts SET received_at = now() - interval '2 minutes' WHERE connection = 'pb';
CREATE TEMP TABLE p2 AS SELECT * FROM smspool.record_inbound(ARRAY['pb'], ARRAY['+4914'], ARRAY['me'], NULL,
	ARRAY['0102'], NULL, ARRAY['binary'], ARRAY[1], NULL, ARRAY['sms-part:60:2:1:4/+4914/1']) AS id;
SELECT results_eq($$SELECT i.body, i.parts FROM p2 JOIN smspool.inbox i USING (id)$$,
	$$VALUES ('first of three'::text, 1)$$, 'an overdue set is stored with the parts that came');
-- Mixed: a binary part makes the whole set hex.
CREATE TEMP TABLE p3 AS SELECT * FROM smspool.record_inbound(ARRAY['pb'], ARRAY['+4914'], ARRAY['me'], ARRAY['A'],
	NULL, NULL, ARRAY['gsm7'], ARRAY[1], NULL, ARRAY['sms-part:60:2:2:4/+4914/1']) AS id;
SELECT results_eq($$SELECT i.payload, i.encoding, i.body IS NULL FROM p3 JOIN smspool.inbox i USING (id)$$,
	$$VALUES ('010241'::text, 'binary'::text, true)$$, 'a set with a binary part is stored as hex');
SELECT is((SELECT count(*)::int FROM smspool.record_inbound(ARRAY['pc'], ARRAY['+4915'], ARRAY['me'], ARRAY['nine'],
	NULL, NULL, NULL, NULL, NULL)), 1, 'the 9-argument form still works');
SELECT ok(NOT has_function_privilege('public', 'smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[])', 'EXECUTE')
	AND has_function_privilege('smspool_daemon', 'smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[])', 'EXECUTE')
	AND has_function_privilege('smspool_daemon', 'smspool.record_inbound_whole(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[])', 'EXECUTE')
	AND has_table_privilege('smspool_daemon', 'smspool.inbound_parts', 'INSERT'),
	'only the daemon may record');

SELECT * FROM finish();
ROLLBACK;
