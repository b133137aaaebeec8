-- The flush marker of sql/036_modem.sql: an element of record_inbound with
-- the key sms-parts-due is no inbox row, but its connection's overdue sets
-- of parts are stored (with the parts that came), and a set not yet due
-- stays; other connections' sets are not touched.
BEGIN;
SELECT plan(6);

SELECT smspool.record_inbound(ARRAY['qa'], ARRAY['+4921'], ARRAY['me'], ARRAY['first of two'], NULL, NULL,
	ARRAY['gsm7'], ARRAY[1], NULL, ARRAY['sms-part:60:2:1:0/+4921/3']);
SELECT smspool.record_inbound(ARRAY['qa'], ARRAY['+4922'], ARRAY['me'], ARRAY['not due yet'], NULL, NULL,
	ARRAY['gsm7'], ARRAY[1], NULL, ARRAY['sms-part:3600:2:1:0/+4922/4']);
SELECT smspool.record_inbound(ARRAY['qb'], ARRAY['+4923'], ARRAY['me'], ARRAY['other connection'], NULL, NULL,
	ARRAY['gsm7'], ARRAY[1], NULL, ARRAY['sms-part:60:2:1:0/+4923/5']);
UPDATE smspool.inbound_parts SET received_at = now() - interval '2 minutes';

CREATE TEMP TABLE f1 AS SELECT * FROM smspool.record_inbound(ARRAY['qa'], ARRAY['+4921'], ARRAY['me'], ARRAY[''],
	NULL, NULL, ARRAY['gsm7'], ARRAY[1], NULL, ARRAY['sms-parts-due']) AS id;
SELECT results_eq($$SELECT i.connection, i.sender, i.body, i.parts FROM f1 JOIN smspool.inbox i USING (id)$$,
	$$VALUES ('qa'::text, '+4921'::text, 'first of two'::text, 1)$$,
	'the marker stores the overdue set of its connection, with the part that came');
SELECT is((SELECT count(*)::int FROM smspool.inbox WHERE body = ''), 0, 'the marker itself is no inbox row');
SELECT is((SELECT array_agg(set_key ORDER BY set_key) FROM smspool.inbound_parts),
	ARRAY['0/+4922/4', '0/+4923/5'], 'a set not yet due and another connection''s set stay');
SELECT is((SELECT count(*)::int FROM smspool.record_inbound(ARRAY['qa', 'qa'], ARRAY['+4921', '+4929'], ARRAY['me', 'me'],
	ARRAY['', 'a whole text'], NULL, NULL, ARRAY['gsm7', 'gsm7'], ARRAY[1, 1], NULL, ARRAY['sms-parts-due', NULL])), 1,
	'a marker again is skipped; a whole text beside it is stored');
SELECT is((SELECT count(*)::int FROM smspool.inbound_keys WHERE key = 'sms-parts-due'), 1, 'one marker key per connection');
SELECT ok(NOT has_function_privilege('public', 'smspool.record_inbound_parts(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[])', 'EXECUTE')
	AND has_function_privilege('smspool_daemon', 'smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[])', 'EXECUTE')
	AND has_function_privilege('smspool_daemon', 'smspool.record_inbound_parts(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[], text[])', 'EXECUTE'),
	'only the daemon may record');

SELECT * FROM finish();
ROLLBACK;
