-- record_results(): every outcome, backoff, max_attempts
BEGIN;
SELECT plan(27);

DELETE FROM smspool.queue;
INSERT INTO smspool.connections (name, type) VALUES ('ra', 'loopback');
INSERT INTO smspool.outbox (recipient, body, client_ref, want_report)
SELECT '100' || g, 'msg ' || g, 'r' || g, g <> 2 FROM generate_series(1, 9) g;
CREATE TEMP TABLE ids AS SELECT client_ref AS ref, id FROM smspool.outbox WHERE client_ref ~ '^r[0-9]$';
CREATE FUNCTION pg_temp.mid(text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ids WHERE ref = $1 $$;
CREATE FUNCTION pg_temp.st(text) RETURNS text LANGUAGE sql AS $$ SELECT status FROM smspool.outbox WHERE client_ref = $1 $$;
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['ra'], 100)), 9, 'setup: 9 claimed');

SELECT is(smspool.record_results('d1',
	ARRAY[pg_temp.mid('r1'), pg_temp.mid('r2'), pg_temp.mid('r3'), pg_temp.mid('r4'), pg_temp.mid('r5'), pg_temp.mid('r6'), pg_temp.mid('r7'), pg_temp.mid('r8')],
	ARRAY['sent', 'sent', 'temporary', 'throttled', 'rejected', 'failed', 'no_route', 'release'],
	ARRAY['ra', 'ra', 'ra', 'ra', 'ra', 'ra', NULL, NULL],
	ARRAY['id1a' || chr(31) || 'id1b', 'id2', NULL, NULL, NULL, NULL, NULL, NULL],
	ARRAY[2, 1, NULL, NULL, NULL, NULL, NULL, NULL],
	ARRAY[NULL, NULL, '0x58', '0x14', '0x0B', NULL, NULL, NULL],
	ARRAY[NULL, NULL, 'busy', 'throttled', 'bad number', 'cannot encode', 'no route', NULL],
	ARRAY[NULL, NULL, NULL, 30, NULL, NULL, NULL, 5]::int[]), 8, 'returns the number of rows updated');

-- sent
SELECT is(pg_temp.st('r1'), 'sent', 'sent: status sent');
SELECT is((SELECT ARRAY[connection_used, parts::text, remote_ids::text, part_status::text] FROM smspool.outbox WHERE client_ref = 'r1'),
	ARRAY['ra', '2', '{id1a,id1b}', '{pending,pending}'], 'sent: connection_used, parts, remote_ids split on 0x1f, part_status pending');
SELECT ok((SELECT sent_at = now() AND done_at IS NULL FROM smspool.outbox WHERE client_ref = 'r1'), 'sent: sent_at set, not done (report wanted)');
SELECT results_eq($$SELECT remote_id, part FROM smspool.report_wait WHERE message_id = pg_temp.mid('r1') ORDER BY part$$,
	$$VALUES ('id1a', 1), ('id1b', 2)$$, 'sent: one report_wait row per part');
SELECT ok(NOT EXISTS (SELECT 1 FROM smspool.queue WHERE message_id IN (pg_temp.mid('r1'), pg_temp.mid('r2'))), 'sent: queue rows deleted');
SELECT ok(NOT EXISTS (SELECT 1 FROM smspool.report_wait WHERE message_id = pg_temp.mid('r2')), 'sent without want_report: no report_wait row');
SELECT ok((SELECT done_at IS NOT NULL FROM smspool.outbox WHERE client_ref = 'r2'), 'sent without want_report: done');
-- temporary: backoff base * 2^(attempts-1) = 10 s after attempt 1
SELECT is((SELECT ARRAY[status, error_class, error_code, error_text] FROM smspool.outbox WHERE client_ref = 'r3'),
	ARRAY['queued', 'temporary', '0x58', 'busy'], 'temporary: queued again with the error recorded');
SELECT is((SELECT next_attempt_at FROM smspool.outbox WHERE client_ref = 'r3'), now() + interval '10 seconds', 'temporary: backoff of retry_base_s after the first attempt');
SELECT ok((SELECT due_at = now() + interval '10 seconds' AND claimed_by IS NULL FROM smspool.queue WHERE message_id = pg_temp.mid('r3')), 'temporary: queue row due at next_attempt_at, lease released');
-- throttled with retry-after
SELECT is((SELECT next_attempt_at FROM smspool.outbox WHERE client_ref = 'r4'), now() + interval '30 seconds', 'throttled: retry_after_s wins over the backoff');
SELECT is((SELECT error_class FROM smspool.outbox WHERE client_ref = 'r4'), 'throttled', 'throttled: error_class throttled');
-- rejected / failed / no_route
SELECT is((SELECT ARRAY[status, error_class, error_code] FROM smspool.outbox WHERE client_ref = 'r5'), ARRAY['rejected', 'permanent', '0x0B'], 'rejected: status rejected, error_class permanent');
SELECT is((SELECT ARRAY[status, error_class] FROM smspool.outbox WHERE client_ref = 'r6'), ARRAY['failed', 'local'], 'failed: status failed, error_class local');
SELECT is((SELECT ARRAY[status, error_class] FROM smspool.outbox WHERE client_ref = 'r7'), ARRAY['failed', 'no_route'], 'no_route: status failed, error_class no_route');
SELECT ok(NOT EXISTS (SELECT 1 FROM smspool.queue WHERE message_id IN (pg_temp.mid('r5'), pg_temp.mid('r6'), pg_temp.mid('r7'))), 'rejected/failed/no_route leave the queue');
SELECT ok((SELECT bool_and(done_at IS NOT NULL) FROM smspool.outbox WHERE client_ref IN ('r5', 'r6', 'r7')), 'rejected/failed/no_route are done');
-- release
SELECT is((SELECT ARRAY[status, attempts::text] FROM smspool.outbox WHERE client_ref = 'r8'), ARRAY['queued', '0'], 'release: queued, attempt not counted');
SELECT ok((SELECT due_at = now() + interval '5 seconds' AND claimed_by IS NULL FROM smspool.queue WHERE message_id = pg_temp.mid('r8')), 'release: due after retry_after_s');

-- expired outcome
SELECT is(smspool.record_results('d1', ARRAY[pg_temp.mid('r9')], ARRAY['expired'], NULL, NULL, NULL, NULL, NULL, NULL), 1, 'expired: one row');
SELECT is(pg_temp.st('r9'), 'expired', 'expired: status expired');

-- results for messages not in sending are ignored
SELECT is(smspool.record_results('d1', ARRAY[pg_temp.mid('r5'), pg_temp.mid('r3')], ARRAY['sent', 'sent'], ARRAY['ra', 'ra'], ARRAY['x', 'y'], NULL, NULL, NULL, NULL), 0,
	'results for messages not sending are ignored and not counted');
SELECT is(pg_temp.st('r5'), 'rejected', 'a final message stays final');

-- max_attempts: the 6th temporary failure fails the message
UPDATE smspool.outbox SET status = 'sending', attempts = 6 WHERE client_ref = 'r3';
SELECT is(smspool.record_results('d1', ARRAY[pg_temp.mid('r3')], ARRAY['temporary'], ARRAY['ra'], NULL, NULL, ARRAY['0x58'], ARRAY['busy'], NULL), 1, 'last attempt recorded');
SELECT is((SELECT ARRAY[status, error_class] FROM smspool.outbox WHERE client_ref = 'r3'), ARRAY['failed', 'temporary'], 'attempts >= max_attempts: failed with the last error class');

SELECT * FROM finish();
ROLLBACK;
