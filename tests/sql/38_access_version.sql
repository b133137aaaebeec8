-- 038_core: accounts.access_version changes exactly when accounts_revoke
-- announces a change of access (password, enabled, allowed_addresses,
-- connections, system_id), so that a daemon that missed the NOTIFY finds
-- the change by comparing versions; other changes keep it; it cannot be set
-- by hand; the daemon may read it.
BEGIN;
SELECT plan(11);

INSERT INTO smspool.connections (name, type) VALUES ('av_c', 'loopback');
INSERT INTO smspool.accounts (system_id, password) VALUES ('av1', 'pw1'), ('av2', 'pw2');
CREATE TEMP TABLE v AS SELECT system_id, access_version FROM smspool.accounts WHERE system_id IN ('av1', 'av2');
CREATE FUNCTION pg_temp.changed(p text) RETURNS boolean LANGUAGE sql AS $$
	SELECT a.access_version IS DISTINCT FROM (SELECT v.access_version FROM v WHERE v.system_id = p)
	FROM smspool.accounts a WHERE a.system_id = p
$$;
CREATE FUNCTION pg_temp.keep(p text) RETURNS void LANGUAGE sql AS $$
	UPDATE v SET access_version = (SELECT a.access_version FROM smspool.accounts a WHERE a.system_id = p) WHERE system_id = p
$$;

SELECT ok((SELECT count(DISTINCT access_version) FROM v) = 2, 'each new account gets its own version');

UPDATE smspool.accounts SET description = 'just words', max_binds = 3, default_sender = 'Shop' WHERE system_id = 'av1';
SELECT ok(NOT pg_temp.changed('av1'), 'description, max_binds, default_sender: the same version');
UPDATE smspool.accounts SET password = 'pw1b' WHERE system_id = 'av1';
SELECT ok(pg_temp.changed('av1'), 'a new password: a new version');
SELECT pg_temp.keep('av1');
UPDATE smspool.accounts SET enabled = false WHERE system_id = 'av1';
SELECT ok(pg_temp.changed('av1'), 'disabled: a new version');
SELECT pg_temp.keep('av1');
UPDATE smspool.accounts SET allowed_addresses = '{10.0.0.0/8}' WHERE system_id = 'av1';
SELECT ok(pg_temp.changed('av1'), 'allowed_addresses: a new version');
SELECT pg_temp.keep('av1');
UPDATE smspool.accounts SET connections = '{av_c}' WHERE system_id = 'av1';
SELECT ok(pg_temp.changed('av1'), 'connections: a new version');
SELECT pg_temp.keep('av1');
UPDATE smspool.accounts SET access_version = 1 WHERE system_id = 'av1';
SELECT ok(NOT pg_temp.changed('av1'), 'access_version cannot be set by hand');
SELECT ok(NOT pg_temp.changed('av2'), 'another account''s version stays');
UPDATE smspool.accounts SET system_id = 'av3' WHERE system_id = 'av2';
SELECT ok((SELECT access_version FROM smspool.accounts WHERE system_id = 'av3') <> (SELECT access_version FROM v WHERE system_id = 'av2'),
	'a renamed account: a new version');

SELECT ok(has_column_privilege('smspool_daemon', 'smspool.accounts', 'access_version', 'SELECT')
	AND has_column_privilege('smspool_daemon', 'smspool.accounts', 'system_id', 'SELECT'),
	'the daemon reads every account''s version');

SET LOCAL ROLE smspool_admin;
UPDATE smspool.accounts SET password = 'pw3' WHERE system_id = 'av3';
INSERT INTO smspool.accounts (system_id, password) VALUES ('av4', 'pw4');
RESET ROLE;
SELECT ok((SELECT access_version FROM smspool.accounts WHERE system_id = 'av4') >
	(SELECT access_version FROM smspool.accounts WHERE system_id = 'av1'), 'the admin role inserts and changes accounts (no right on the sequence needed)');

SELECT * FROM finish();
ROLLBACK;
