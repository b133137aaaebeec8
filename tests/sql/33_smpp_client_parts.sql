-- 033_smpp: outbox.client_parts (the parts a client submitted for one
-- message a server-side connection joined) set by the 17-argument submit(),
-- carried into the report event and returned by account_events_claim;
-- client_ref stays the client's own and keeps its uniqueness rule.
BEGIN;
SELECT plan(7);

DELETE FROM smspool.queue;   -- start from an empty queue (rolled back)
INSERT INTO smspool.connections (name, type) VALUES ('cp', 'loopback');
INSERT INTO smspool.accounts (system_id, password, unique_client_ref) VALUES ('cpa', 'pw', true);

CREATE TEMP TABLE s AS SELECT * FROM smspool.submit('cpa', ARRAY['+4921', '+4922'], NULL, ARRAY['joined', 'whole'], NULL,
	NULL, NULL, ARRAY['u1', NULL], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ARRAY[3, NULL]);
SELECT is((SELECT count(*)::int FROM s WHERE id IS NOT NULL AND error_class IS NULL), 2, 'the 17-argument submit() inserts both');
SELECT results_eq($$SELECT body, client_ref, client_parts::int FROM smspool.outbox WHERE account = 'cpa' ORDER BY body$$,
	$$VALUES ('joined', 'u1', 3), ('whole', NULL, NULL)$$, 'client_parts as given; client_ref is the client''s own');

CREATE TEMP TABLE s2 AS SELECT * FROM smspool.submit('cpa', ARRAY['+4923'], NULL, ARRAY['again'], NULL,
	NULL, NULL, ARRAY['u1'], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ARRAY[2]);
SELECT is((SELECT error_class FROM s2), 'invalid', 'unique_client_ref still refuses the reference taken by a joined message');

SELECT throws_ok($$UPDATE smspool.outbox SET client_parts = 0 WHERE account = 'cpa'$$, '23514', NULL,
	'client_parts is 1..255 or NULL');

SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['cp'], 10)), 2, 'setup: claimed');
SELECT smspool.record_results('d1', ARRAY(SELECT id FROM smspool.outbox WHERE account = 'cpa' AND status = 'sending' ORDER BY id),
	ARRAY['rejected', 'rejected'], ARRAY['cp', 'cp'], NULL, NULL, NULL, NULL, NULL);
SELECT results_eq($$SELECT client_ref, client_parts::int FROM smspool.account_events WHERE account = 'cpa' ORDER BY message_id$$,
	$$VALUES ('u1', 3), (NULL, NULL)$$, 'the report event carries client_parts');
SELECT results_eq($$SELECT client_ref, client_parts::int FROM smspool.account_events_claim('d1', ARRAY['cpa'], 10) ORDER BY message_id$$,
	$$VALUES ('u1', 3), (NULL::text, NULL::int)$$, 'account_events_claim returns client_parts');

SELECT * FROM finish();
ROLLBACK;
