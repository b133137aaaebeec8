-- A delivery report that never comes ends the wait after config
-- report_timeout_h: the message stays sent, done, error_class no_report.
BEGIN;
SELECT plan(6);

INSERT INTO smspool.connections (name, type, settings) VALUES ('tap_rt', 'emulator', '{}');
INSERT INTO smspool.outbox (recipient, body, connection, client_ref) VALUES
	('+15550001', 'old', 'tap_rt', 'tap-rt-old'), ('+15550002', 'young', 'tap_rt', 'tap-rt-young');
SELECT count(*) FROM smspool.claim('tap-rt', ARRAY['tap_rt'], 10);
SELECT smspool.record_results('tap-rt', ARRAY(SELECT id FROM smspool.outbox WHERE client_ref LIKE 'tap-rt-%' ORDER BY id),
	ARRAY['sent', 'sent'], ARRAY['tap_rt', 'tap_rt'], ARRAY['RT-1', 'RT-2'], ARRAY[1, 1],
	ARRAY[NULL, NULL]::text[], ARRAY[NULL, NULL]::text[], ARRAY[NULL, NULL]::int[]);
UPDATE smspool.report_wait SET created_at = now() - interval '100 hours' WHERE remote_id = 'RT-1';

SELECT is(smspool.expire_report_waits(), 1, 'one message waited longer than report_timeout_h (72 h)');
SELECT is((SELECT status || ' ' || error_class || ' ' || (done_at IS NOT NULL) FROM smspool.outbox WHERE client_ref = 'tap-rt-old'),
	'sent no_report true', 'it stays sent, done, with error_class no_report');
SELECT is((SELECT count(*)::int FROM smspool.report_wait WHERE remote_id = 'RT-1'), 0, 'its report_wait row is gone');
SELECT is((SELECT status || ' ' || (done_at IS NULL) FROM smspool.outbox WHERE client_ref = 'tap-rt-young'),
	'sent true', 'a younger message still waits');
UPDATE smspool.config SET value = '1' WHERE key = 'report_timeout_h';
UPDATE smspool.report_wait SET created_at = now() - interval '2 hours' WHERE remote_id = 'RT-2';
SELECT is(smspool.expire_report_waits(), 1, 'report_timeout_h is read from smspool.config');
SELECT throws_like($$UPDATE smspool.config SET value = 'soon' WHERE key = 'report_timeout_h'$$,
	'config.value: report_timeout_h must be a positive integer%', 'report_timeout_h must be a positive integer');

SELECT * FROM finish();
ROLLBACK;
