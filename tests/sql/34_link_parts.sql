-- 034_link: report events carry part_status; an account with report_parts
-- also gets a 'sent' event (at commit, only if still sent) when a message is
-- sent and when a part's report changes part_status while it is sent; the
-- claim returns part_status.
BEGIN;
SELECT plan(6);

DELETE FROM smspool.queue;   -- start from an empty queue (rolled back)
INSERT INTO smspool.connections (name, type) VALUES ('lp34', 'loopback');
INSERT INTO smspool.accounts (system_id, password, report_parts) VALUES ('tap_lp', 'pw', true);
INSERT INTO smspool.accounts (system_id, password) VALUES ('tap_lp_plain', 'pw');
INSERT INTO smspool.outbox (recipient, body, account, connection, idempotency_key) VALUES
	('+4930', repeat('abcdefghij', 40), 'tap_lp', 'lp34', 'a:1'), ('+4931', 'plain', 'tap_lp_plain', 'lp34', 'a:2'),
	('+4932', 'no key', 'tap_lp', 'lp34', NULL);
SELECT is((SELECT count(*)::int FROM smspool.claim('d34', ARRAY['lp34'], 10)), 3, 'setup: the 3 claimed');
SELECT smspool.record_results('d34', ARRAY(SELECT id FROM smspool.outbox WHERE connection = 'lp34' ORDER BY id),
	ARRAY['sent', 'sent', 'sent'], ARRAY['lp34', 'lp34', 'lp34'], ARRAY['P1' || chr(31) || 'P2' || chr(31) || 'P3', 'Q1', 'K1'],
	ARRAY[3, 1, 1], NULL, NULL, NULL);
SET CONSTRAINTS smspool.outbox_account_parts IMMEDIATE;   -- as at the commit of the daemon's transaction
SELECT results_eq($$SELECT account, state, part_status FROM smspool.account_events WHERE account LIKE 'tap_lp%' ORDER BY id$$,
	$$VALUES ('tap_lp'::text, 'sent'::text, '{pending,pending,pending}'::text[])$$,
	'sent: an event with each part pending, for the report_parts account''s keyed message only');
SET CONSTRAINTS smspool.outbox_account_parts DEFERRED;
SELECT smspool.record_reports(ARRAY['lp34'], ARRAY['P2'], ARRAY['enroute'], NULL, NULL);
SET CONSTRAINTS smspool.outbox_account_parts IMMEDIATE;
SELECT is((SELECT part_status FROM smspool.account_events WHERE account = 'tap_lp' ORDER BY id DESC LIMIT 1),
	'{pending,enroute,pending}', 'an intermediate part report: an event with the new part_status');
DELETE FROM smspool.account_events WHERE account LIKE 'tap_lp%';
SET CONSTRAINTS smspool.outbox_account_parts DEFERRED;
SELECT smspool.record_reports(ARRAY['lp34', 'lp34', 'lp34', 'lp34'], ARRAY['P1', 'P2', 'P3', 'Q1'],
	ARRAY['delivered', 'delivered', 'expired', 'delivered'], NULL, NULL);
SET CONSTRAINTS smspool.outbox_account_parts IMMEDIATE;
SELECT results_eq($$SELECT account, state, part_status FROM smspool.account_events WHERE account LIKE 'tap_lp%' ORDER BY account, id$$,
	$$VALUES ('tap_lp'::text, 'expired'::text, '{delivered,delivered,expired}'::text[]),
	         ('tap_lp_plain', 'delivered', '{delivered}')$$,
	'final by the commit: only the final event, with every part''s state (any account)');
SELECT results_eq($$SELECT state, part_status FROM smspool.account_events_claim('d34', ARRAY['tap_lp'], 10)$$,
	$$VALUES ('expired'::text, '{delivered,delivered,expired}'::text[])$$, 'the claim returns part_status');
SELECT ok(has_function_privilege('smspool_daemon', 'smspool.account_events_claim(text, text[], int)', 'EXECUTE')
	AND NOT has_function_privilege('public', 'smspool.account_events_claim(text, text[], int)', 'EXECUTE'),
	'the daemon may claim, the public may not');

SELECT * FROM finish();
ROLLBACK;
