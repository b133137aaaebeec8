-- 017_ops. inbound_redirects: an inbound text forwarded as an outbox row linked to
-- its origin (fixed number or the number the text starts with), the first
-- rule by position, sender patterns, errors recorded without failing the
-- inbound insert, binary texts and disabled rules ignored, loops stopped.
-- admin_auth: the status page's login (accounts with the admin flag).
BEGIN;
SELECT plan(22);

INSERT INTO smspool.connections (name, type) VALUES ('rda', 'loopback'), ('rdb', 'loopback'), ('rdc', 'loopback');
INSERT INTO smspool.inbound_redirects (position, connection, to_number, to_connection, keep_sender, sender_pattern)
VALUES (10, 'rda', '+15550001111', 'rdb', true, '^\+49'),
       (20, 'rda', NULL, 'rdb', false, NULL);
INSERT INTO smspool.inbound_redirects (position, connection, to_number, to_connection, enabled)
VALUES (5, 'rda', '+15550009999', 'rdb', false);

CREATE TEMP TABLE ib AS SELECT * FROM smspool.record_inbound(
	ARRAY['rda', 'rda', 'rda', 'rda', 'rdc'],
	ARRAY['+4915100', '+15550002', '+15550003', '+15550004', '+15550005'],
	ARRAY['100', '100', '100', '100', '100'],
	ARRAY['fixed rule', '+15557770001   hello there', 'no number here', NULL, 'other connection'],
	ARRAY[NULL, NULL, NULL, 'CAFE', NULL], NULL, ARRAY['gsm7', 'gsm7', 'gsm7', 'binary', 'gsm7'], NULL, NULL) AS id;
SELECT is((SELECT count(*)::int FROM ib), 5, 'every inbound text is stored, forwarded or not');

SELECT results_eq($$SELECT o.recipient, o.sender, o.body, o.connection FROM smspool.redirected x
	JOIN smspool.outbox o ON o.id = x.outbox_id JOIN smspool.inbox i ON i.id = x.inbox_id WHERE i.body = 'fixed rule'$$,
	$$VALUES ('+15550001111', '+4915100', 'fixed rule', 'rdb')$$,
	'a sender matching the first rule: forwarded to its fixed number with the original sender');
SELECT results_eq($$SELECT o.recipient, o.sender, o.body, o.connection, o.status FROM smspool.redirected x
	JOIN smspool.outbox o ON o.id = x.outbox_id JOIN smspool.inbox i ON i.id = x.inbox_id WHERE i.sender = '+15550002'$$,
	$$VALUES ('+15557770001', NULL::text, 'hello there', 'rdb', 'queued')$$,
	'the second rule: the number the text starts with, the rest as the text, no sender');
SELECT is((SELECT x.error FROM smspool.redirected x JOIN smspool.inbox i ON i.id = x.inbox_id WHERE i.sender = '+15550003'),
	'the text does not start with a number and a space', 'a text without a number: recorded, not forwarded');
SELECT is((SELECT count(*)::int FROM smspool.redirected x JOIN smspool.inbox i ON i.id = x.inbox_id WHERE i.sender IN ('+15550004', '+15550005')),
	0, 'binary texts and other connections are not forwarded');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE recipient = '+15550009999'), 0, 'a disabled rule is ignored');
SELECT is((SELECT redirect_id FROM smspool.redirected x JOIN smspool.inbox i ON i.id = x.inbox_id WHERE i.body = 'fixed rule'),
	(SELECT id FROM smspool.inbound_redirects WHERE position = 10), 'the link names the rule');

-- The outbox refuses the forward (a recipient too long): recorded, inbound kept.
SELECT lives_ok($$SELECT smspool.record_inbound(ARRAY['rda'], ARRAY['+15550006'], ARRAY['100'],
	ARRAY['+123456789012345678901234 too long'], NULL, NULL, ARRAY['gsm7'], NULL, NULL)$$,
	'an inbound text whose forward the outbox refuses is still stored');
SELECT ok((SELECT x.outbox_id IS NULL AND x.error IS NOT NULL FROM smspool.redirected x JOIN smspool.inbox i ON i.id = x.inbox_id
	WHERE i.sender = '+15550006'), 'and the refusal is recorded with its error');

-- A forward that comes back (loopback echo: sender and recipient swapped).
SELECT is((SELECT count(*)::int FROM smspool.record_inbound(ARRAY['rda'], ARRAY['+15557770001'], ARRAY['100'], ARRAY['hello there'],
	NULL, NULL, ARRAY['gsm7'], NULL, NULL)), 1, 'the echo of a forward is stored');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE body = 'hello there'), 1, 'a forward that comes back is not forwarded again');
SELECT alike((SELECT x.error FROM smspool.redirected x JOIN smspool.inbox i ON i.id = x.inbox_id
	WHERE i.sender = '+15557770001'), '%came back%', 'and says so');

-- The daemon's role stores inbound texts; the forward needs no outbox rights of its own.
CREATE FUNCTION pg_temp.as_role(p_role text, p_sql text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', p_role);
	EXECUTE p_sql;
	RESET ROLE;
END
$f$;
SELECT lives_ok($$SELECT pg_temp.as_role('smspool_daemon', 'SELECT smspool.record_inbound(ARRAY[''rda''], ARRAY[''+15550007''],
	ARRAY[''100''], ARRAY[''+15557770002 as the daemon''], NULL, NULL, ARRAY[''gsm7''], NULL, NULL)')$$,
	'smspool_daemon stores an inbound text with a rule');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE recipient = '+15557770002' AND body = 'as the daemon'), 1,
	'and its forward is in the outbox');

-- Rules are checked.
SELECT throws_like($$INSERT INTO smspool.inbound_redirects (connection, sender_pattern) VALUES ('rda', '(')$$,
	'%sender_pattern: not a valid regular expression%', 'a broken sender_pattern is refused');
SELECT throws_like($$INSERT INTO smspool.inbound_redirects (connection, to_number) VALUES ('rda', 'abc')$$,
	'%inbound_redirects_to_number_format%', 'a to_number that is no number is refused');
SELECT lives_ok($$DELETE FROM smspool.connections WHERE name = 'rdc'$$, 'deleting a connection deletes its rules (none here) without error');

-- admin_auth
INSERT INTO smspool.accounts (system_id, password, admin) VALUES ('opsadm', 'pw-admin', true);
INSERT INTO smspool.accounts (system_id, password) VALUES ('opsapp', 'pw-app');
SELECT is(smspool.admin_auth('opsadm', 'pw-admin', '127.0.0.1'), true, 'admin_auth: an admin account with its password');
SELECT is(smspool.admin_auth('opsadm', 'wrong', '127.0.0.1'), false, 'admin_auth: a wrong password');
SELECT is(smspool.admin_auth('opsapp', 'pw-app', '127.0.0.1'), false, 'admin_auth: an account without the admin flag');
SELECT is(smspool.admin_auth('nobody', 'x', NULL), false, 'admin_auth: an unknown account');
UPDATE smspool.accounts SET enabled = false WHERE system_id = 'opsadm';
SELECT is(smspool.admin_auth('opsadm', 'pw-admin', NULL), false, 'admin_auth: a disabled admin account');

SELECT * FROM finish();
ROLLBACK;
