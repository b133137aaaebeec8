-- A receipt stored at the moment another daemon commits its message as sent
-- stays unmatched (neither transaction saw the other's row);
-- smspool.rematch_reports() matches it later.
BEGIN;
SELECT plan(5);

INSERT INTO smspool.connections (name, type, settings) VALUES ('tap_rematch', 'emulator', '{}');
INSERT INTO smspool.outbox (recipient, body, connection, client_ref) VALUES ('+15550001', 'race', 'tap_rematch', 'tap-rematch');
SELECT count(*) FROM smspool.claim('tap-rematch', ARRAY['tap_rematch'], 10);
SELECT smspool.record_results('tap-rematch', ARRAY[(SELECT id FROM smspool.outbox WHERE client_ref = 'tap-rematch')],
	ARRAY['sent'], ARRAY['tap_rematch'], ARRAY['RM-1'], ARRAY[1], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[NULL::int]);
-- What the other daemon's record_reports stored without seeing report_wait:
INSERT INTO smspool.reports (connection, remote_id, state, error_code, text)
VALUES ('tap_rematch', 'RM-1', 'delivered', '000', 'id:RM-1 stat:DELIVRD');

SELECT is((SELECT status FROM smspool.outbox WHERE client_ref = 'tap-rematch'), 'sent', 'before: the message waits for its report');
SELECT is(smspool.rematch_reports(), 1, 'rematch_reports finds the awaited, unmatched report');
SELECT is((SELECT status FROM smspool.outbox WHERE client_ref = 'tap-rematch'), 'delivered', 'after: the message is delivered');
SELECT is((SELECT count(*)::int FROM smspool.reports WHERE remote_id = 'RM-1' AND message_id IS NULL), 0, 'the report is matched');
SELECT is(smspool.rematch_reports(), 0, 'a second call finds nothing left to do');

SELECT * FROM finish();
ROLLBACK;
