-- roles: what an application may and may not do
BEGIN;
SELECT plan(13);

INSERT INTO smspool.connections (name, type, settings) VALUES ('ro', 'emulator', '{"seed": 1}');
-- run one statement as smspool_app (pgTAP itself keeps running as the test user;
-- on error the role change is undone with throws_ok's subtransaction)
CREATE FUNCTION pg_temp.as_app(p_sql text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
	SET LOCAL ROLE smspool_app;
	EXECUTE p_sql;
	RESET ROLE;
END
$f$;
SELECT lives_ok($x$SELECT pg_temp.as_app($$INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('+4915', 'from app', 'app-1')$$)$x$, 'app: insert works');
SELECT lives_ok($x$SELECT pg_temp.as_app($$INSERT INTO smspool.outbox (recipient, body, client_ref, connection) VALUES ('+4915', 'forced', 'app-2', 'ro')$$)$x$, 'app: insert with a forced connection works');
SELECT lives_ok($x$SELECT pg_temp.as_app($$INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('+4915', repeat('long ', 100), 'app-3')$$)$x$, 'app: multipart insert works (reads max_parts)');
SELECT lives_ok($x$SELECT pg_temp.as_app($$SELECT status FROM smspool.outbox WHERE client_ref = 'app-1'$$)$x$, 'app: reads the outbox');
SELECT is((SELECT status FROM smspool.outbox WHERE client_ref = 'app-1'), 'queued', 'app: its message is queued');
SELECT throws_ok($x$SELECT pg_temp.as_app($$INSERT INTO smspool.outbox (recipient, body, status) VALUES ('+4915', 'x', 'sent')$$)$x$, '42501', NULL, 'app: cannot name a daemon column');
SELECT throws_ok($x$SELECT pg_temp.as_app($$UPDATE smspool.outbox SET status = 'sent' WHERE client_ref = 'app-1'$$)$x$, '42501',
	'outbox.status: applications may only set status cancelled (message ' || (SELECT id FROM smspool.outbox WHERE client_ref = 'app-1') || ' from queued to sent)',
	'app: setting status sent is refused');
SELECT throws_ok($x$SELECT pg_temp.as_app($$UPDATE smspool.outbox SET body = 'changed' WHERE client_ref = 'app-1'$$)$x$, '42501', NULL, 'app: cannot change the text');
SELECT lives_ok($x$SELECT pg_temp.as_app($$UPDATE smspool.outbox SET status = 'cancelled' WHERE client_ref = 'app-1'$$)$x$, 'app: cancel works');
SELECT throws_ok($x$SELECT pg_temp.as_app($$INSERT INTO smspool.connections (name, type) VALUES ('evil', 'loopback')$$)$x$, '42501', NULL, 'app: INSERT into connections refused');
SELECT throws_ok($x$SELECT pg_temp.as_app($$SELECT settings FROM smspool.connections$$)$x$, '42501', NULL, 'app: cannot read connection settings');
SELECT throws_ok($x$SELECT pg_temp.as_app($$SELECT * FROM smspool.claim('x', NULL, 1)$$)$x$, '42501', NULL, 'app: cannot claim');
SELECT ok(NOT EXISTS (SELECT 1 FROM smspool.queue q JOIN smspool.outbox o ON o.id = q.message_id WHERE o.client_ref = 'app-1'), 'app cancel removed the queue row');

SELECT * FROM finish();
ROLLBACK;
