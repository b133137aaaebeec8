-- 028_ucp2: login by address alone (issue 11): operators that authorise an
-- EMI/UCP client (or any server-side session) by its IP address, without an
-- op 60 session or a password.  An account allows it with
-- login_by_address = true, which needs allowed_addresses (never "any").

ALTER TABLE smspool.accounts ADD COLUMN login_by_address boolean NOT NULL DEFAULT false;
ALTER TABLE smspool.accounts ADD CONSTRAINT accounts_login_by_address_needs_addresses
	CHECK (NOT login_by_address OR allowed_addresses IS NOT NULL);
COMMENT ON COLUMN smspool.accounts.login_by_address IS 'true = a client from one of allowed_addresses (which must then be set) is this account without a login or password (ucp-server: an operation before any op 60); the address must match exactly one such account. Default false.';

GRANT SELECT (login_by_address) ON smspool.accounts TO smspool_admin, smspool_daemon;
GRANT INSERT (login_by_address), UPDATE (login_by_address) ON smspool.accounts TO smspool_admin;

CREATE FUNCTION smspool.account_auth_address(p_peer text)
RETURNS TABLE (ok boolean, reason text, max_binds int, throughput numeric, system_id text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	v_peer inet;
	v_n int;
	v_row record;
BEGIN
	BEGIN
		v_peer := p_peer::inet;
	EXCEPTION WHEN invalid_text_representation THEN
		v_peer := NULL;
	END;
	IF family(v_peer) = 6 AND v_peer <<= '::ffff:0.0.0.0/96'::inet THEN   -- IPv4-mapped
		v_peer := '0.0.0.0'::inet + (v_peer - '::ffff:0.0.0.0'::inet);
	END IF;
	SELECT count(*) INTO v_n FROM smspool.accounts a
	WHERE a.login_by_address AND v_peer IS NOT NULL AND v_peer <<= ANY (a.allowed_addresses);
	IF v_n <> 1 THEN
		RETURN QUERY SELECT false, 'address not allowed'::text, NULL::int, NULL::numeric, NULL::text;
		RETURN;
	END IF;
	SELECT a.system_id, a.enabled, a.max_binds, a.throughput INTO v_row FROM smspool.accounts a
	WHERE a.login_by_address AND v_peer <<= ANY (a.allowed_addresses);
	IF NOT v_row.enabled THEN
		RETURN QUERY SELECT false, 'account disabled'::text, NULL::int, NULL::numeric, v_row.system_id;
		RETURN;
	END IF;
	RETURN QUERY SELECT true, NULL::text, v_row.max_binds, v_row.throughput, v_row.system_id;
END
$$;
COMMENT ON FUNCTION smspool.account_auth_address(text) IS 'Daemon: a login by address alone (p_peer, an IP address as text). Always exactly one row (ok, reason, max_binds, throughput, system_id): ok = true when exactly one account with login_by_address lists p_peer in allowed_addresses and is enabled; else reason ''address not allowed'' (no such account, several, or p_peer not an address) or ''account disabled''.';
REVOKE EXECUTE ON FUNCTION smspool.account_auth_address(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.account_auth_address(text) TO smspool_daemon;
