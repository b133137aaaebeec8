-- 031_parts: a multipart message whose parts were partly accepted keeps the
-- accepted parts' ids (record_results on temporary|throttled|release), their
-- reports wait, claim() hands them to the next attempt, and the final result
-- keeps the report state of the parts it repeats.
BEGIN;
SELECT plan(17);
SET LOCAL search_path = smspool, public;
DELETE FROM smspool.queue;

INSERT INTO smspool.connections (name, type) VALUES ('pc', 'loopback');
INSERT INTO smspool.outbox (recipient, body, want_report, client_ref)
VALUES ('4001', repeat('Part of a long text number 001. ', 13), true, 'parts');
CREATE TEMP TABLE m AS SELECT id FROM smspool.outbox WHERE client_ref = 'parts';
SELECT is((SELECT parts FROM smspool.outbox WHERE id = (SELECT id FROM m)), 3, 'setup: a message of 3 parts');

CREATE TEMP TABLE c1 AS SELECT * FROM smspool.claim('i1', ARRAY['pc'], 100);
SELECT is((SELECT remote_ids FROM c1), NULL, 'a first claim holds no part ids');

-- part 2 throttled, parts 1 and 3 accepted
SELECT is(smspool.record_results('i1', ARRAY[(SELECT id FROM m)], ARRAY['release'], ARRAY['pc'], ARRAY[E'a1\x1f\x1fa3'],
	ARRAY[3], ARRAY['58'], ARRAY['ESME_RTHROTTLED'], ARRAY[0]), 1, 'a throttled result with the ids of 2 of 3 parts');
SELECT is((SELECT status || ' ' || array_to_string(remote_ids, ',', '*') || ' ' || connection_used || ' ' || attempts
	FROM smspool.outbox WHERE id = (SELECT id FROM m)), 'queued a1,,a3 pc 0',
	'queued again, no attempt spent, the accepted parts'' ids kept (an empty one for part 2)');
SELECT is((SELECT array_agg(remote_id || ':' || part ORDER BY part) FROM smspool.report_wait WHERE message_id = (SELECT id FROM m)),
	ARRAY['a1:1', 'a3:3'], 'the accepted parts'' reports wait');
SELECT is((SELECT part_status FROM smspool.outbox WHERE id = (SELECT id FROM m)), ARRAY['pending', 'pending', 'pending'],
	'every part pending');

-- part 1's receipt comes while the message waits for its retry
SELECT is((SELECT message_id FROM smspool.record_reports(ARRAY['pc'], ARRAY['a1'], ARRAY['delivered'], ARRAY[NULL::text], ARRAY[NULL::text])),
	(SELECT id FROM m), 'a receipt for a held part matches the message');
SELECT is((SELECT status || ' ' || array_to_string(part_status, ',') FROM smspool.outbox WHERE id = (SELECT id FROM m)),
	'queued delivered,pending,pending', 'part 1 delivered, the message still queued');

CREATE TEMP TABLE c2 AS SELECT * FROM smspool.claim('i1', ARRAY['pc'], 100);
SELECT is((SELECT remote_ids || '|' || connection_used FROM c2), E'a1\x1f\x1fa3|pc',
	'claim returns the held ids (joined by U+001F) and the connection that gave them');

-- the retry sends part 2 alone; its result carries every part's id
SELECT is(smspool.record_results('i1', ARRAY[(SELECT id FROM m)], ARRAY['sent'], ARRAY['pc'], ARRAY[E'a1\x1fb2\x1fa3'],
	ARRAY[3], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[NULL::int]), 1, 'the retry''s result: sent');
SELECT is((SELECT status || ' ' || array_to_string(remote_ids, ',') || ' ' || array_to_string(part_status, ',')
	FROM smspool.outbox WHERE id = (SELECT id FROM m)), 'sent a1,b2,a3 delivered,pending,pending',
	'sent with 3 ids; part 1 keeps its delivered state');
SELECT is((SELECT array_agg(remote_id || ':' || part ORDER BY part) FROM smspool.report_wait WHERE message_id = (SELECT id FROM m)),
	ARRAY['b2:2', 'a3:3'], 'parts 2 and 3 wait for their reports, part 1 not again');
SELECT is((SELECT count(*)::int FROM smspool.record_reports(ARRAY['pc', 'pc'], ARRAY['b2', 'a3'], ARRAY['delivered', 'delivered'],
	ARRAY[NULL::text, NULL], ARRAY[NULL::text, NULL]) WHERE message_id = (SELECT id FROM m)), 2, 'receipts for parts 2 and 3 match');
SELECT is((SELECT status FROM smspool.outbox WHERE id = (SELECT id FROM m)), 'delivered', 'the message ends delivered');

-- a failure without any accepted part keeps nothing, and claim holds nothing
INSERT INTO smspool.outbox (recipient, body, want_report, client_ref)
VALUES ('4002', repeat('Part of a long text number 002. ', 13), true, 'none');
SELECT is((SELECT count(*)::int FROM smspool.claim('i1', ARRAY['pc'], 100)), 1, 'setup: claimed');
SELECT is(smspool.record_results('i1', ARRAY[(SELECT id FROM smspool.outbox WHERE client_ref = 'none')], ARRAY['temporary'],
	ARRAY['pc'], ARRAY[E'\x1f\x1f'], ARRAY[3], ARRAY['timeout'], ARRAY['no answer'], ARRAY[0]), 1, 'a temporary result, no part accepted');
SELECT is((SELECT remote_ids FROM smspool.outbox WHERE client_ref = 'none'), NULL, '... keeps no ids');

SELECT * FROM finish();
ROLLBACK;
