-- 034_link: a login by a client certificate (account_auth_cert): the
-- account's checks of account_auth() without a password.
BEGIN;
SELECT plan(7);

INSERT INTO smspool.accounts (system_id, password) VALUES ('certa', 'pw');
INSERT INTO smspool.accounts (system_id, password, allowed_addresses) VALUES ('certb', 'pw', '{192.0.2.0/28}');

SELECT is((SELECT row(ok, reason, max_binds)::text FROM smspool.account_auth_cert('certa', '127.0.0.1')), '(t,,10)',
	'an enabled account logs in without a password');
SELECT is((SELECT row(ok, reason)::text FROM smspool.account_auth_cert('nosuch', '127.0.0.1')), '(f,"unknown account")',
	'an unknown account is refused');
SELECT is((SELECT ok FROM smspool.account_auth_cert('certb', '192.0.2.5')), true, 'an allowed address');
SELECT is((SELECT row(ok, reason)::text FROM smspool.account_auth_cert('certb', '198.51.100.7')),
	'(f,"address not allowed")', 'an address outside allowed_addresses is refused');
SELECT is((SELECT ok FROM smspool.account_auth_cert('certb', '::ffff:192.0.2.5')), true, 'an IPv4-mapped peer as IPv4');
UPDATE smspool.accounts SET enabled = false WHERE system_id = 'certa';
SELECT is((SELECT row(ok, reason)::text FROM smspool.account_auth_cert('certa', '127.0.0.1')), '(f,"account disabled")',
	'a disabled account is refused');
SELECT ok(has_function_privilege('smspool_daemon', 'smspool.account_auth_cert(text, text)', 'EXECUTE')
	AND NOT has_function_privilege('public', 'smspool.account_auth_cert(text, text)', 'EXECUTE'),
	'the daemon may call it, the public may not');

SELECT * FROM finish();
ROLLBACK;
