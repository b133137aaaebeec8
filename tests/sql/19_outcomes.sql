-- 019_outcomes: the outcome feed, off (nothing captured) and on (each final
-- state and each inbound text once, taken by exactly one consumer).
BEGIN;
SELECT plan(11);
SET LOCAL search_path = smspool, public;

DELETE FROM smspool.queue;
INSERT INTO smspool.connections (name, type) VALUES ('oc', 'loopback');
INSERT INTO smspool.outbox (recipient, body, client_ref, want_report) VALUES ('5001', 'off', 'oc-off', false);
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['oc'], 10)), 1, 'setup: claimed');
SELECT is(smspool.record_results('d1', ARRAY(SELECT id FROM smspool.outbox WHERE client_ref = 'oc-off'), ARRAY['sent'],
	ARRAY['oc'], ARRAY['x1'], NULL, NULL, NULL, NULL), 1, 'setup: sent, no report wanted: final');
SELECT is((SELECT count(*)::int FROM smspool.outcomes), 0, 'feed off: nothing is captured');

SELECT is(smspool.outcome_feed(true), true, 'outcome_feed(true) turns it on');
SELECT is((SELECT value FROM smspool.config WHERE key = 'outcome_feed'), 'on', 'config outcome_feed says so');
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('5002', 'a', 'oc-a'), ('5002', 'b', 'oc-b');
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['oc'], 10)), 2, 'setup: two claimed');
SELECT is(smspool.record_results('d1', ARRAY(SELECT id FROM smspool.outbox WHERE client_ref IN ('oc-a', 'oc-b') ORDER BY id),
	ARRAY['rejected', 'sent'], ARRAY['oc', 'oc'], ARRAY[NULL, 'x2'], NULL, ARRAY['0x0B', NULL], NULL, NULL), 2, 'setup: one rejected, one sent awaiting its report');
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('5002', 'c', 'oc-c');
UPDATE smspool.outbox SET status = 'cancelled' WHERE client_ref = 'oc-c';
SELECT is((SELECT count(*)::int FROM smspool.record_reports(ARRAY['oc'], ARRAY['x2'], ARRAY['delivered'], NULL, NULL)), 1, 'setup: its report');
SELECT smspool.record_inbound(ARRAY['oc'], ARRAY['+49'], ARRAY['1'], ARRAY['hi'], NULL, NULL, ARRAY['gsm7'], ARRAY[1], NULL);
SELECT is((SELECT array_agg(kind || ':' || coalesce(client_ref, '') || ':' || coalesce(status, '') ORDER BY outcome_id) FROM smspool.outcomes_take(2)),
	ARRAY['final:oc-a:rejected', 'final:oc-c:cancelled'], 'outcomes_take hands them out oldest first');
SELECT is((SELECT array_agg(kind || ':' || coalesce(client_ref, '') || ':' || coalesce(status, '') ORDER BY outcome_id) FROM smspool.outcomes_take(10)),
	ARRAY['final:oc-b:delivered', 'inbound::'], 'each once: the report made one final, the inbound text one');
SELECT is(smspool.outcome_feed(false), false, 'and off again');

SELECT * FROM finish();
ROLLBACK;
