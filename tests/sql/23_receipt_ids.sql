-- Receipt ids (issue 17): a report whose id is another form of the awaited
-- id (decimal receipt for a hexadecimal submit response or the reverse,
-- leading zeros, case) matches in the database, whatever process sent the
-- message; the same form still wins; other connections never match.
BEGIN;
SELECT plan(11);

DELETE FROM smspool.queue;
INSERT INTO smspool.connections (name, type) VALUES ('ka', 'loopback'), ('kb', 'loopback');
INSERT INTO smspool.outbox (recipient, body, client_ref) SELECT '300' || g, 'm' || g, 'k' || g FROM generate_series(1, 5) g;
CREATE FUNCTION pg_temp.mid(text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM smspool.outbox WHERE client_ref = $1 $$;
CREATE FUNCTION pg_temp.st(text) RETURNS text LANGUAGE sql AS $$ SELECT status FROM smspool.outbox WHERE client_ref = $1 $$;
SELECT is((SELECT count(*)::int FROM smspool.claim('k1', NULL, 10)), 5, 'setup: 5 claimed');
SELECT is(smspool.record_results('k1', ARRAY[pg_temp.mid('k1'), pg_temp.mid('k2'), pg_temp.mid('k3'), pg_temp.mid('k4'), pg_temp.mid('k5')],
	ARRAY['sent', 'sent', 'sent', 'sent', 'sent'], ARRAY['ka', 'ka', 'ka', 'ka', 'ka'],
	ARRAY['A1B', '0000ff', '12345', '10', 'A'], ARRAY[1, 1, 1, 1, 1], NULL, NULL, NULL), 5, 'setup: 5 sent');

SELECT is(smspool.receipt_id_keys('2587'), ARRAY['2587', 'A1B', '9607'], 'keys of a digits-only id: itself, its hexadecimal form, and its decimal read as hexadecimal');
SELECT is(smspool.receipt_id_keys('00ff'), ARRAY['FF', '255'], 'keys of a hexadecimal id: without zeros, upper case, and its decimal');

SELECT results_eq($$SELECT message_id FROM smspool.record_reports(ARRAY['kb'], ARRAY['2587'], ARRAY['delivered'], NULL, NULL)$$,
	$$VALUES (NULL::bigint)$$, 'another connection never matches');
SELECT results_eq($$SELECT message_id FROM smspool.record_reports(ARRAY['ka'], ARRAY['2587'], ARRAY['delivered'], NULL, NULL)$$,
	$$SELECT pg_temp.mid('k1')$$, 'decimal receipt id 2587 matches the response id A1B');
SELECT results_eq($$SELECT message_id FROM smspool.record_reports(ARRAY['ka', 'ka'], ARRAY['255', '0000000000003039'], ARRAY['undelivered', 'delivered'], NULL, NULL)$$,
	$$VALUES (pg_temp.mid('k2')), (pg_temp.mid('k3'))$$,
	'decimal 255 matches zero-padded 0000ff; zero-padded hexadecimal 3039 matches decimal 12345 (one batch)');
SELECT is(ARRAY[pg_temp.st('k1'), pg_temp.st('k2'), pg_temp.st('k3')], ARRAY['delivered', 'undelivered', 'delivered'],
	'the messages take the reports'' states');
SELECT ok(NOT EXISTS (SELECT 1 FROM smspool.report_wait WHERE message_id IN (pg_temp.mid('k1'), pg_temp.mid('k2'), pg_temp.mid('k3'))),
	'their report waits end (the stored form is removed)');
SELECT results_eq($$SELECT message_id FROM smspool.record_reports(ARRAY['ka'], ARRAY['10'], ARRAY['delivered'], NULL, NULL)$$,
	$$SELECT pg_temp.mid('k4')$$, 'the same form wins over another form of another id (10 is k4, not hexadecimal A = k5)');
SELECT is(pg_temp.st('k5'), 'sent', 'and k5 still waits');

SELECT * FROM finish();
ROLLBACK;
