-- 028_ucp2: a login by address alone (account_auth_address): exactly one
-- account with login_by_address listing the peer; never an account that did
-- not opt in, never an ambiguous address, never a disabled account.
BEGIN;
SELECT plan(8);

SELECT throws_ok($$INSERT INTO smspool.accounts (system_id, password, login_by_address) VALUES ('ipx', 'pw', true)$$,
	'23514', NULL, 'login_by_address needs allowed_addresses');
INSERT INTO smspool.accounts (system_id, password, allowed_addresses, login_by_address)
	VALUES ('ipa', 'pw', '{192.0.2.0/28}', true);
INSERT INTO smspool.accounts (system_id, password, allowed_addresses) VALUES ('ipb', 'pw', '{198.51.100.7/32}');

SELECT is((SELECT row(ok, system_id)::text FROM smspool.account_auth_address('192.0.2.5')), '(t,ipa)',
	'an address of the account''s allowed_addresses logs in as it');
SELECT is((SELECT row(ok, system_id)::text FROM smspool.account_auth_address('::ffff:192.0.2.5')), '(t,ipa)',
	'an IPv4-mapped peer is compared as IPv4');
SELECT is((SELECT row(ok, reason)::text FROM smspool.account_auth_address('198.51.100.7')), '(f,"address not allowed")',
	'an account without login_by_address is never taken by address');
SELECT is((SELECT ok FROM smspool.account_auth_address('not an address')), false, 'a peer that is no address: refused');

INSERT INTO smspool.accounts (system_id, password, allowed_addresses, login_by_address)
	VALUES ('ipc', 'pw', '{192.0.2.5/32}', true);
SELECT is((SELECT row(ok, reason)::text FROM smspool.account_auth_address('192.0.2.5')), '(f,"address not allowed")',
	'an address two accounts list is ambiguous: refused');
DELETE FROM smspool.accounts WHERE system_id = 'ipc';

UPDATE smspool.accounts SET enabled = false WHERE system_id = 'ipa';
SELECT is((SELECT row(ok, reason)::text FROM smspool.account_auth_address('192.0.2.5')), '(f,"account disabled")',
	'a disabled account is refused');
SELECT is((SELECT count(*)::int FROM smspool.account_auth_address('192.0.2.5')), 1, 'always exactly one row');

SELECT * FROM finish();
ROLLBACK;
