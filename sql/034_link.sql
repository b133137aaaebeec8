-- 034_link: a login by a client certificate (issue 15, mutual TLS on the
-- link-server).  The daemon verifies the certificate against the CAs of the
-- connection's tls_client_ca_file and maps it to an account with its
-- tls_client_accounts setting; the database then checks the account as
-- account_auth() does, without a password: it exists, it is enabled, the
-- peer's address is allowed.  Disabling the account (or removing the
-- certificate from the mapping) refuses the certificate's next login.

CREATE FUNCTION smspool.account_auth_cert(p_system_id text, p_peer text)
RETURNS TABLE (ok boolean, reason text, max_binds int, throughput numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	v_row record;
	v_peer inet;
BEGIN
	SELECT a.enabled, a.allowed_addresses, a.max_binds, a.throughput INTO v_row
	FROM smspool.accounts a WHERE a.system_id = p_system_id;
	IF NOT FOUND THEN
		RETURN QUERY SELECT false, 'unknown account'::text, NULL::int, NULL::numeric;
		RETURN;
	END IF;
	IF NOT v_row.enabled THEN
		RETURN QUERY SELECT false, 'account disabled'::text, NULL::int, NULL::numeric;
		RETURN;
	END IF;
	IF v_row.allowed_addresses IS NOT NULL AND p_peer IS NOT NULL THEN
		BEGIN
			v_peer := p_peer::inet;
		EXCEPTION WHEN invalid_text_representation THEN
			v_peer := NULL;          -- not an address: matches nothing
		END;
		IF family(v_peer) = 6 AND v_peer <<= '::ffff:0.0.0.0/96'::inet THEN   -- IPv4-mapped
			v_peer := '0.0.0.0'::inet + (v_peer - '::ffff:0.0.0.0'::inet);
		END IF;
		IF v_peer IS NULL OR NOT v_peer <<= ANY (v_row.allowed_addresses) THEN
			RETURN QUERY SELECT false, 'address not allowed'::text, NULL::int, NULL::numeric;
			RETURN;
		END IF;
	END IF;
	RETURN QUERY SELECT true, NULL::text, v_row.max_binds, v_row.throughput;
END
$$;
COMMENT ON FUNCTION smspool.account_auth_cert(text, text) IS 'Daemon: a login by a client certificate that the daemon verified and mapped to p_system_id (link-server: tls_client_ca_file, tls_client_accounts). Always exactly one row (ok, reason, max_binds, throughput) as account_auth() without the password: reason ''unknown account'', ''account disabled'' or ''address not allowed'' (p_peer NULL skips the address check).';
REVOKE EXECUTE ON FUNCTION smspool.account_auth_cert(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.account_auth_cert(text, text) TO smspool_daemon;
