-- accounts: write-only passwords, validation, privileges, account_auth(), submit()
BEGIN;
SELECT plan(54);

-- run one statement as another role (undone on error by throws_ok's subtransaction)
CREATE FUNCTION pg_temp.as_role(p_role text, p_sql text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', p_role);
	EXECUTE p_sql;
	RESET ROLE;
END
$f$;

---------------------------------------------------------------------------
-- passwords are hashed and cleared
---------------------------------------------------------------------------
INSERT INTO smspool.accounts (system_id, password) VALUES ('esme1', 'secret');
SELECT is((SELECT password FROM smspool.accounts WHERE system_id = 'esme1'), NULL, 'insert: password column is cleared');
SELECT matches((SELECT password_hash FROM smspool.accounts WHERE system_id = 'esme1'), '^\$2a\$08\$', 'insert: password_hash is a bcrypt hash of cost 8');
SELECT ok((SELECT crypt('secret', password_hash) = password_hash FROM smspool.accounts WHERE system_id = 'esme1'), 'insert: the hash matches the password');
SELECT ok((SELECT enabled AND max_binds = 10 AND throughput IS NULL AND allowed_addresses IS NULL FROM smspool.accounts WHERE system_id = 'esme1'),
	'defaults: enabled, max_binds 10, throughput and allowed_addresses NULL');

CREATE TEMP TABLE h AS SELECT password_hash AS old FROM smspool.accounts WHERE system_id = 'esme1';
UPDATE smspool.accounts SET description = 'no password change' WHERE system_id = 'esme1';
SELECT is((SELECT password_hash FROM smspool.accounts WHERE system_id = 'esme1'), (SELECT old FROM h), 'update of other columns keeps the hash');
UPDATE smspool.accounts SET password = 'n3w-longer-password-for-http' WHERE system_id = 'esme1';
SELECT is((SELECT password FROM smspool.accounts WHERE system_id = 'esme1'), NULL, 'update: password column is cleared');
SELECT ok((SELECT crypt('n3w-longer-password-for-http', password_hash) = password_hash AND password_hash <> (SELECT old FROM h)
	FROM smspool.accounts WHERE system_id = 'esme1'), 'update: new hash matches the new password');
SELECT ok((SELECT updated_at = now() FROM smspool.accounts WHERE system_id = 'esme1'), 'update sets updated_at');

---------------------------------------------------------------------------
-- validation
---------------------------------------------------------------------------
SELECT throws_ok($$INSERT INTO smspool.accounts (system_id) VALUES ('nopw')$$, '23514',
	'accounts.password: required (1 to 64 characters)', 'an account without password is refused');
SELECT throws_ok($$INSERT INTO smspool.accounts (system_id, password) VALUES ('e', '')$$, '23514',
	'accounts.password: must be 1 to 64 characters (got 0)', 'empty password refused');
SELECT throws_ok(format($$INSERT INTO smspool.accounts (system_id, password) VALUES ('e', %L)$$, repeat('x', 65)), '23514',
	'accounts.password: must be 1 to 64 characters (got 65)', 'password of 65 characters refused');
SELECT lives_ok(format($$INSERT INTO smspool.accounts (system_id, password) VALUES ('e64', %L)$$, repeat('x', 64)), 'password of 64 characters accepted');
SELECT throws_like(format($$INSERT INTO smspool.accounts (system_id, password) VALUES ('e', %L)$$, repeat('€', 30)),
	'accounts.password: must be at most 72 bytes%', 'password over 72 bytes refused (bcrypt limit)');
SELECT throws_ok($$INSERT INTO smspool.accounts (system_id, password) VALUES ('this-is-16-chars', 'x')$$, '23514',
	'accounts.system_id: must be 1 to 15 characters of A-Z a-z 0-9 _ . - (got "this-is-16-chars")', 'system_id of 16 characters refused');
SELECT throws_like($$INSERT INTO smspool.accounts (system_id, password) VALUES ('bad id', 'x')$$,
	'accounts.system_id: must be 1 to 15 characters%', 'system_id with a blank refused');
SELECT throws_ok($$INSERT INTO smspool.accounts (system_id, password, connections) VALUES ('e', 'x', '{nope}')$$, '23503',
	'accounts.connections: unknown connection "nope" (see smspool.connections)', 'unknown connection refused');
SELECT throws_like($$INSERT INTO smspool.accounts (system_id, password, max_binds) VALUES ('e', 'x', -1)$$,
	'accounts.max_binds: must be >= 0%', 'negative max_binds refused');
SELECT throws_like($$INSERT INTO smspool.accounts (system_id, password, throughput) VALUES ('e', 'x', 0)$$,
	'accounts.throughput: must be > 0%', 'throughput 0 refused');
SELECT throws_like($$INSERT INTO smspool.accounts (system_id, password, allowed_addresses) VALUES ('e', 'x', '{}')$$,
	'accounts.allowed_addresses: must be NULL (any address) or a non-empty list%', 'empty allowed_addresses refused');
SELECT throws_ok($$INSERT INTO smspool.accounts (system_id, password, default_sender) VALUES ('e', 'x', 'TwelveChars1')$$, '23514',
	'accounts.default_sender: must be 1 to 20 digits with an optional leading + or 1 to 11 GSM characters (got "TwelveChars1")', 'invalid default_sender refused');

---------------------------------------------------------------------------
-- privileges: nobody but the owner reads password_hash
---------------------------------------------------------------------------
SELECT throws_ok($x$SELECT pg_temp.as_role('smspool_admin', $$SELECT password_hash FROM smspool.accounts$$)$x$, '42501', NULL,
	'admin: cannot read password_hash');
SELECT throws_ok($x$SELECT pg_temp.as_role('smspool_admin', $$SELECT * FROM smspool.accounts$$)$x$, '42501', NULL,
	'admin: SELECT * is refused too (it includes password_hash)');
SELECT throws_ok($x$SELECT pg_temp.as_role('smspool_daemon', $$SELECT password_hash FROM smspool.accounts$$)$x$, '42501', NULL,
	'daemon: cannot read password_hash');
SELECT throws_ok($x$SELECT pg_temp.as_role('smspool_app', $$SELECT system_id FROM smspool.accounts$$)$x$, '42501', NULL,
	'app: cannot read accounts');
SELECT lives_ok($x$SELECT pg_temp.as_role('smspool_admin', $$INSERT INTO smspool.accounts (system_id, password, max_binds) VALUES ('byadmin', 'pw', 2)$$)$x$,
	'admin: inserts an account');
SELECT lives_ok($x$SELECT pg_temp.as_role('smspool_admin', $$UPDATE smspool.accounts SET password = 'pw2', enabled = false WHERE system_id = 'byadmin'$$)$x$,
	'admin: changes a password');
SELECT ok((SELECT crypt('pw2', password_hash) = password_hash AND password IS NULL FROM smspool.accounts WHERE system_id = 'byadmin'),
	'admin''s password change is hashed');
SELECT throws_ok($x$SELECT pg_temp.as_role('smspool_admin', $$UPDATE smspool.accounts SET password_hash = 'x' WHERE system_id = 'byadmin'$$)$x$, '42501', NULL,
	'admin: cannot write password_hash');
SELECT throws_ok($x$SELECT pg_temp.as_role('smspool_admin', $$SELECT * FROM smspool.account_auth('esme1', 'x', NULL)$$)$x$, '42501', NULL,
	'admin: cannot call account_auth');
SELECT lives_ok($x$SELECT pg_temp.as_role('smspool_admin', $$DELETE FROM smspool.accounts WHERE system_id = 'byadmin'$$)$x$,
	'admin: deletes an account');
SELECT throws_ok($x$SELECT pg_temp.as_role('smspool_app', $$INSERT INTO smspool.outbox (recipient, body, account) VALUES ('1', 'x', 'esme1')$$)$x$, '42501', NULL,
	'app: cannot set outbox.account');
SELECT lives_ok($x$SELECT pg_temp.as_role('smspool_app', $$SELECT * FROM smspool.account_status$$)$x$, 'app: reads account_status');

---------------------------------------------------------------------------
-- account_auth
---------------------------------------------------------------------------
INSERT INTO smspool.accounts (system_id, password, max_binds, throughput, allowed_addresses)
	VALUES ('esme2', 'pw', 3, 12.5, '{10.0.0.0/8,2001:db8::/32}');
INSERT INTO smspool.accounts (system_id, password, enabled) VALUES ('esme3', 'pw', false);
SELECT results_eq($$SELECT * FROM smspool.account_auth('esme2', 'pw', '10.1.2.3')$$,
	$$VALUES (true, NULL::text, 3, 12.5)$$, 'ok: one row with max_binds and throughput');
SELECT results_eq($$SELECT * FROM smspool.account_auth('nobody', 'pw', '10.1.2.3')$$,
	$$VALUES (false, 'unknown account', NULL::int, NULL::numeric)$$, 'unknown account');
SELECT results_eq($$SELECT * FROM smspool.account_auth('esme2', 'PW', '10.1.2.3')$$,
	$$VALUES (false, 'wrong password', NULL::int, NULL::numeric)$$, 'wrong password');
SELECT results_eq($$SELECT ok, reason FROM smspool.account_auth('esme2', NULL, NULL)$$,
	$$VALUES (false, 'wrong password')$$, 'NULL password is a wrong password');
SELECT results_eq($$SELECT ok, reason FROM smspool.account_auth('esme3', 'pw', NULL)$$,
	$$VALUES (false, 'account disabled')$$, 'account disabled');
SELECT results_eq($$SELECT ok, reason FROM smspool.account_auth('esme3', 'bad', NULL)$$,
	$$VALUES (false, 'wrong password')$$, 'a disabled account is told only to whoever knows the password');
SELECT results_eq($$SELECT ok, reason FROM smspool.account_auth('esme2', 'pw', '192.0.2.1')$$,
	$$VALUES (false, 'address not allowed')$$, 'address not allowed');
SELECT results_eq($$SELECT ok, reason FROM smspool.account_auth('esme2', 'pw', 'not-an-ip')$$,
	$$VALUES (false, 'address not allowed')$$, 'a peer that is not an address is not allowed');
SELECT results_eq($$SELECT ok FROM smspool.account_auth('esme2', 'pw', '::ffff:10.9.9.9')$$,
	$$VALUES (true)$$, 'an IPv4-mapped IPv6 peer is compared as IPv4');
SELECT results_eq($$SELECT ok FROM smspool.account_auth('esme2', 'pw', '2001:db8::5')$$,
	$$VALUES (true)$$, 'IPv6 peer in an allowed network');
SELECT results_eq($$SELECT ok FROM smspool.account_auth('esme2', 'pw', NULL)$$,
	$$VALUES (true)$$, 'NULL peer skips the address check');
SELECT results_eq($$SELECT ok, max_binds FROM smspool.account_auth('esme1', 'n3w-longer-password-for-http', '192.0.2.1')$$,
	$$VALUES (true, 10)$$, 'no allowed_addresses: any peer');

---------------------------------------------------------------------------
-- submit
---------------------------------------------------------------------------
INSERT INTO smspool.connections (name, type) VALUES ('acc-a', 'loopback'), ('acc-b', 'loopback');
UPDATE smspool.accounts SET default_sender = 'Shop' WHERE system_id = 'esme1';
CREATE TEMP TABLE s1 AS SELECT * FROM smspool.submit('esme1',
	ARRAY['+4911', 'abc', '+4913', '+4914', '+4915'],
	ARRAY[NULL, NULL, '+4999', NULL, NULL],
	ARRAY['one', 'two', 'three', NULL, 'five'],
	NULL, NULL, NULL,
	ARRAY['s-1', 's-2', 's-3', 's-4', 's-5'],
	ARRAY[NULL, NULL, 5, NULL, 100000],
	ARRAY[NULL, NULL, false, NULL, NULL]::boolean[], NULL, NULL, NULL, NULL);
SELECT results_eq($$SELECT idx, id IS NOT NULL, error_class, error FROM s1 ORDER BY idx$$,
	$$VALUES (1, true, NULL::text, NULL::text),
	         (2, false, 'invalid', 'outbox.recipient: must be 1 to 20 digits with an optional leading + (got "abc")'),
	         (3, true, NULL, NULL),
	         (4, false, 'invalid', 'outbox.body: must not be empty for encoding auto (binary data goes in payload with encoding binary)'),
	         (5, false, 'invalid', 'outbox.priority: must be 0 to 9 (got 100000)')$$,
	'mixed batch: one row per element, refused rows carry the validation message');
SELECT results_eq($$SELECT o.client_ref, o.account, o.sender, o.priority::int, o.want_report, o.status FROM s1 JOIN smspool.outbox o ON o.id = s1.id ORDER BY s1.idx$$,
	$$VALUES ('s-1', 'esme1', 'Shop', 0, true, 'queued'), ('s-3', 'esme1', '+4999', 5, false, 'queued')$$,
	'valid rows are inserted with the account; default_sender only where no sender was given');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE client_ref IN ('s-2', 's-4', 's-5')), 0, 'refused rows are not inserted');
SELECT is((SELECT count(*)::int FROM smspool.queue q JOIN s1 ON s1.id = q.message_id), 2, 'inserted rows are queued');

CREATE TEMP TABLE s2 AS SELECT * FROM smspool.submit('esme1', ARRAY['+4921', '+4922', '+4923'], NULL, ARRAY['a', 'b', 'c'],
	NULL, NULL, NULL, ARRAY['f-1', 'f-2', 'f-3'], NULL, NULL, NULL, NULL, NULL, NULL);
SELECT results_eq($$SELECT s2.idx, o.client_ref FROM s2 JOIN smspool.outbox o ON o.id = s2.id ORDER BY s2.idx$$,
	$$VALUES (1, 'f-1'), (2, 'f-2'), (3, 'f-3')$$, 'fast path: ids map to their input element');

-- a large batch: retried in chunks of 64, failing chunks row by row
CREATE TEMP TABLE s4 AS SELECT * FROM smspool.submit('esme1',
	ARRAY(SELECT CASE WHEN g IN (70, 150, 151) THEN 'x' || g ELSE '+49' || g END FROM generate_series(1, 200) g), NULL,
	ARRAY(SELECT 'big ' || g FROM generate_series(1, 200) g), NULL, NULL, NULL,
	ARRAY(SELECT 'big-' || g FROM generate_series(1, 200) g), NULL, NULL, NULL, NULL, NULL, NULL);
SELECT results_eq($$SELECT idx, error_class FROM s4 WHERE error_class IS NOT NULL ORDER BY idx$$,
	$$VALUES (70, 'invalid'), (150, 'invalid'), (151, 'invalid')$$, 'large batch: exactly the bad rows refused');
SELECT is((SELECT count(*)::int FROM s4 JOIN smspool.outbox o ON o.id = s4.id AND o.client_ref = 'big-' || s4.idx), 197,
	'large batch: every other row inserted, in one row per element, ids matching their element');

SELECT results_eq($$SELECT idx, id, error_class, error FROM smspool.submit('nobody', ARRAY['+1', '+2'], NULL, ARRAY['a', 'b'],
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)$$,
	$$VALUES (1, NULL::bigint, 'forbidden', 'outbox.account: unknown account "nobody"'), (2, NULL, 'forbidden', 'outbox.account: unknown account "nobody"')$$,
	'unknown account: every row forbidden');
SELECT results_eq($$SELECT DISTINCT error_class, error FROM smspool.submit('esme3', ARRAY['+1'], NULL, ARRAY['a'],
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)$$,
	$$VALUES ('forbidden', 'outbox.account: account "esme3" is disabled')$$, 'disabled account: forbidden');

INSERT INTO smspool.routes (position, recipient_prefix, connection) VALUES (1, '+4930', 'acc-b');
INSERT INTO smspool.accounts (system_id, password, connections) VALUES ('esme4', 'pw', '{acc-a,acc-b}');
CREATE TEMP TABLE s3 AS SELECT * FROM smspool.submit('esme4', ARRAY['+49301', '+4940'], NULL, ARRAY['x', 'y'],
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT results_eq($$SELECT o.connection FROM s3 JOIN smspool.outbox o ON o.id = s3.id ORDER BY s3.idx$$,
	$$VALUES ('acc-b'), ('acc-a')$$, 'accounts.connections: forced to the matching route''s connection, else the first one');

SELECT * FROM finish();
ROLLBACK;
