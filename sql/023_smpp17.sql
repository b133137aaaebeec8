-- Issue 17 (smpp17): what the daemon must hear about accounts and receipts.

---------------------------------------------------------------------------
-- An account's access changed: its live sessions end
---------------------------------------------------------------------------
CREATE FUNCTION smspool.accounts_revoke() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		PERFORM pg_notify('smspool_account_revoked', '');
	ELSIF TG_OP = 'DELETE' THEN
		PERFORM pg_notify('smspool_account_revoked', OLD.system_id);
	ELSIF OLD.password_hash IS DISTINCT FROM NEW.password_hash
	   OR (OLD.enabled AND NOT NEW.enabled)
	   OR OLD.allowed_addresses IS DISTINCT FROM NEW.allowed_addresses
	   OR OLD.connections IS DISTINCT FROM NEW.connections
	   OR OLD.system_id IS DISTINCT FROM NEW.system_id THEN
		PERFORM pg_notify('smspool_account_revoked', OLD.system_id);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.accounts_revoke() IS 'AFTER row trigger of accounts: when a password, enabled (to false), allowed_addresses, connections or system_id changes, or the account is deleted, NOTIFY smspool_account_revoked with its (old) system_id (TRUNCATE: an empty payload, every account). Every daemon then ends the account''s live sessions on every server-side connection and forgets its cached logins; the client binds again under the new rules.';
CREATE TRIGGER accounts_revoke AFTER UPDATE OR DELETE ON smspool.accounts
	FOR EACH ROW EXECUTE FUNCTION smspool.accounts_revoke();
CREATE TRIGGER accounts_revoke_all AFTER TRUNCATE ON smspool.accounts
	FOR EACH STATEMENT EXECUTE FUNCTION smspool.accounts_revoke();
