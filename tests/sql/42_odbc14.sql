-- The odbc path does not pay for the link's per-part events: an odbc
-- account's messages carry idempotency_key = client_ref (024) but the account
-- has no report_parts, so no parts event is written for them (041's
-- statement trigger reads the flag; 034's row trigger ran for each of them),
-- while a link account's message (report_parts) still gets its event.
BEGIN;
SELECT plan(3);

DELETE FROM smspool.queue;   -- start from an empty queue (rolled back)
INSERT INTO smspool.connections (name, type) VALUES ('lp42', 'loopback');
INSERT INTO smspool.accounts (system_id, password, report_parts) VALUES ('tap_42link', 'pw', true);
INSERT INTO smspool.accounts (system_id, password, report_parts, unique_client_ref) VALUES ('tap_42odbc', 'pw', false, true);
INSERT INTO smspool.outbox (recipient, body, account, connection, client_ref, idempotency_key) VALUES
	('+4940', 'link', 'tap_42link', 'lp42', 'app-ref', 'd1:17'),
	('+4941', 'odbc', 'tap_42odbc', 'lp42', '42', '42');
SELECT is((SELECT count(*)::int FROM smspool.claim('d42', ARRAY['lp42'], 10)), 2, 'setup: the 2 claimed');
SELECT smspool.record_results('d42', ARRAY(SELECT id FROM smspool.outbox WHERE connection = 'lp42' ORDER BY id),
	ARRAY['sent', 'sent'], ARRAY['lp42', 'lp42'], ARRAY['L1', 'O1'], ARRAY[1, 1], NULL, NULL, NULL);
SET CONSTRAINTS smspool.outbox_account_parts IMMEDIATE;   -- as at the commit of the daemon's transaction
SELECT results_eq($$SELECT account, state FROM smspool.account_events WHERE account LIKE 'tap_42%' ORDER BY id$$,
	$$VALUES ('tap_42link'::text, 'sent'::text)$$,
	'sent: the link account''s message gets its parts event, the odbc account''s (no report_parts) none');
SET CONSTRAINTS smspool.outbox_account_parts DEFERRED;
DELETE FROM smspool.account_events WHERE account LIKE 'tap_42%';
SELECT smspool.record_reports(ARRAY['lp42', 'lp42'], ARRAY['L1', 'O1'], ARRAY['delivered', 'delivered'], NULL, NULL);
SET CONSTRAINTS smspool.outbox_account_parts IMMEDIATE;
SELECT results_eq($$SELECT account, state FROM smspool.account_events WHERE account LIKE 'tap_42%' ORDER BY account$$,
	$$VALUES ('tap_42link'::text, 'delivered'::text), ('tap_42odbc', 'delivered')$$,
	'the final report events of both are unchanged');
SELECT * FROM finish();
ROLLBACK;
