-- record_reports(): single part, multipart, intermediate states, unmatched then matched
BEGIN;
SELECT plan(19);

DELETE FROM smspool.queue;
INSERT INTO smspool.connections (name, type) VALUES ('ra', 'loopback'), ('rb', 'loopback');
INSERT INTO smspool.outbox (recipient, body, client_ref) SELECT '200' || g, 'm' || g, 'd' || g FROM generate_series(1, 4) g;
CREATE FUNCTION pg_temp.mid(text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM smspool.outbox WHERE client_ref = $1 $$;
CREATE FUNCTION pg_temp.st(text) RETURNS text LANGUAGE sql AS $$ SELECT status FROM smspool.outbox WHERE client_ref = $1 $$;
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', NULL, 10)), 4, 'setup: 4 claimed');
SELECT is(smspool.record_results('d1', ARRAY[pg_temp.mid('d1'), pg_temp.mid('d2'), pg_temp.mid('d3')], ARRAY['sent', 'sent', 'sent'],
	ARRAY['ra', 'ra', 'rb'], ARRAY['A1', 'B1' || chr(31) || 'B2' || chr(31) || 'B3', 'C1' || chr(31) || 'C2'], ARRAY[1, 3, 2], NULL, NULL, NULL), 3, 'setup: 3 sent');

-- single part
SELECT results_eq($$SELECT message_id FROM smspool.record_reports(ARRAY['ra'], ARRAY['A1'], ARRAY['enroute'], NULL, NULL)$$,
	$$SELECT pg_temp.mid('d1')$$, 'intermediate report is matched');
SELECT is(pg_temp.st('d1'), 'sent', 'intermediate report does not finish the message');
SELECT is((SELECT part_status FROM smspool.outbox WHERE client_ref = 'd1'), ARRAY['enroute'], 'intermediate report sets part_status');
SELECT results_eq($$SELECT message_id FROM smspool.record_reports(ARRAY['ra'], ARRAY['A1'], ARRAY['delivered'], NULL, ARRAY['id:A1 stat:DELIVRD'])$$,
	$$SELECT pg_temp.mid('d1')$$, 'final report is matched');
SELECT is(pg_temp.st('d1'), 'delivered', 'final report finishes the message');
SELECT ok((SELECT done_at IS NOT NULL FROM smspool.outbox WHERE client_ref = 'd1'), 'done_at set');
SELECT ok(NOT EXISTS (SELECT 1 FROM smspool.report_wait WHERE remote_id = 'A1'), 'report_wait row deleted');
SELECT is((SELECT count(*)::int FROM smspool.reports WHERE message_id = pg_temp.mid('d1')), 2, 'both reports stored and matched');

-- same remote id on another connection does not match
SELECT results_eq($$SELECT message_id FROM smspool.record_reports(ARRAY['rb'], ARRAY['B1'], ARRAY['delivered'], NULL, NULL)$$,
	$$VALUES (NULL::bigint)$$, 'a remote id is matched per connection only');

-- multipart: all delivered but one undelivered -> undelivered; in one batch
SELECT results_eq($$SELECT message_id FROM smspool.record_reports(ARRAY['ra', 'ra'], ARRAY['B1', 'B3'], ARRAY['delivered', 'delivered'], NULL, NULL)$$,
	$$SELECT pg_temp.mid('d2') UNION ALL SELECT pg_temp.mid('d2')$$, 'two parts of one message in one batch, ids in input order');
SELECT is(pg_temp.st('d2'), 'sent', 'multipart: not final while a part lacks its report');
SELECT is((SELECT part_status FROM smspool.outbox WHERE client_ref = 'd2'), ARRAY['delivered', 'pending', 'delivered'], 'multipart: per-part status');
SELECT lives_ok($$SELECT * FROM smspool.record_reports(ARRAY['ra'], ARRAY['B2'], ARRAY['undelivered'], ARRAY['001'], NULL)$$, 'last part report');
SELECT is((SELECT ARRAY[status, error_class, error_code] FROM smspool.outbox WHERE client_ref = 'd2'), ARRAY['undelivered', 'undelivered', '001'],
	'multipart: worst part state wins once every part is final');

-- report before the submit response: stored unmatched, matched by record_results
SELECT results_eq($$SELECT message_id FROM smspool.record_reports(ARRAY['ra'], ARRAY['EARLY'], ARRAY['delivered'], NULL, NULL)$$,
	$$VALUES (NULL::bigint)$$, 'unknown remote id: stored unmatched');
SELECT is(smspool.record_results('d1', ARRAY[pg_temp.mid('d4')], ARRAY['sent'], ARRAY['ra'], ARRAY['EARLY'], ARRAY[1], NULL, NULL, NULL), 1, 'submit response recorded afterwards');
SELECT is((SELECT ARRAY[o.status, r.message_id::text] FROM smspool.outbox o, smspool.reports r WHERE o.client_ref = 'd4' AND r.remote_id = 'EARLY'),
	ARRAY['delivered', pg_temp.mid('d4')::text], 'the early report is matched and finishes the message');

SELECT * FROM finish();
ROLLBACK;
