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

---------------------------------------------------------------------------
-- Per-part and intermediate states (issue 15: the link)
---------------------------------------------------------------------------
-- Every report event now carries the message's part_status (one element
-- per part, 'pending' for a part without report), which the link-server
-- sends back to a client that asked for part states.  An account with
-- report_parts (the account of a link) also gets an event each time one of
-- its messages that want a report and have an idempotency key (as those
-- of a link have) becomes sent, and each time a part's
-- report changes part_status while it is sent (accepted, enroute, buffered,
-- a part delivered before the others...).  Like the 'sent' event of
-- report_sent (024), these are made at commit and only when the message is
-- still sent then: a message that became final in the same transaction gets
-- only its final event.
ALTER TABLE smspool.accounts ADD COLUMN report_parts boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN smspool.accounts.report_parts IS 'true = a message of this account that wants a report and has an idempotency_key (as every message that came over a link has) also queues a ''report'' account event (state sent, with part_status) when it becomes sent and whenever a part''s report changes part_status while it is sent. For the account of a link-server session (the link carries per-part and intermediate states); other connection types expect final states only.';
GRANT SELECT (report_parts) ON smspool.accounts TO smspool_admin, smspool_daemon;
GRANT INSERT (report_parts), UPDATE (report_parts) ON smspool.accounts TO smspool_admin;

ALTER TABLE smspool.account_events ADD COLUMN part_status text[];
COMMENT ON COLUMN smspool.account_events.part_status IS 'report events: the message''s part_status when the event was made (one element per part; pending for parts without a report).';

CREATE OR REPLACE FUNCTION smspool.outbox_account_report() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO smspool.account_events (account, kind, message_id, client_ref, client_parts, state, error_code, sender,
		recipient, submitted_at, done_at, part_status)
	SELECT NEW.account, 'report', NEW.id, NEW.client_ref, NEW.client_parts, NEW.status, NEW.error_code, NEW.sender, NEW.recipient,
		NEW.created_at, coalesce(NEW.done_at, now()),
		coalesce(NEW.part_status, array_fill('pending'::text, ARRAY[greatest(coalesce(NEW.parts, 1), 1)]))
	WHERE EXISTS (SELECT 1 FROM smspool.accounts a WHERE a.system_id = NEW.account);   -- not for a deleted account
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.outbox_account_report() IS 'AFTER UPDATE OF status row trigger of outbox (only for account messages with want_report entering a final state that report_on asks for): queues a ''report'' account event, with the message''s client_ref, client_parts (033_smpp) and part_status (034_link).';

CREATE FUNCTION smspool.outbox_account_parts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO smspool.account_events (account, kind, message_id, client_ref, client_parts, state, sender, recipient,
		submitted_at, done_at, part_status)
	SELECT o.account, 'report', o.id, o.client_ref, o.client_parts, 'sent', o.sender, o.recipient, o.created_at,
		coalesce(o.sent_at, now()),
		coalesce(o.part_status, array_fill('pending'::text, ARRAY[greatest(coalesce(o.parts, 1), 1)]))
	FROM smspool.outbox o
	WHERE o.id = NEW.id AND o.status = 'sent'
	  AND EXISTS (SELECT 1 FROM smspool.accounts a WHERE a.system_id = NEW.account AND a.report_parts);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.outbox_account_parts() IS 'Deferred (at commit) AFTER UPDATE OF status, part_status row trigger of outbox (account messages with an idempotency_key and want_report that are sent): queues a ''report'' account event with state sent and the part_status of the message at commit, when the account has report_parts and the message is still sent then.';
CREATE CONSTRAINT TRIGGER outbox_account_parts AFTER UPDATE OF status, part_status ON smspool.outbox
	DEFERRABLE INITIALLY DEFERRED
	-- idempotency_key: the link's messages have one; an account's other
	-- messages (SMPP, UCP, HTTP) never pay for the call.
	FOR EACH ROW WHEN (NEW.account IS NOT NULL AND NEW.idempotency_key IS NOT NULL AND NEW.want_report
		AND NEW.report_on IS NULL AND NEW.status = 'sent'
		AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.part_status IS DISTINCT FROM NEW.part_status))
	EXECUTE FUNCTION smspool.outbox_account_parts();

-- The claim returns part_status too, besides 033's client_parts (a changed
-- result type: DROP and CREATE;
-- the daemon reads columns by name).
DROP FUNCTION smspool.account_events_claim(text, text[], int);
CREATE FUNCTION smspool.account_events_claim(p_instance text, p_accounts text[], p_limit int)
RETURNS TABLE (id bigint, account text, kind text, message_id bigint, client_ref text, state text, error_code text,
	submitted_at timestamptz, done_at timestamptz, sender text, recipient text, body text, payload text, udh text,
	encoding text, client_parts smallint, part_status text[])
LANGUAGE plpgsql
-- Touches a batch of rows by key: never a sequential scan (see 003).
SET enable_seqscan = off AS $$
#variable_conflict use_column
DECLARE
	v_ids bigint[];
	v_lease interval;
BEGIN
	IF p_accounts IS NULL OR cardinality(p_accounts) = 0 OR coalesce(p_limit, 0) <= 0 THEN
		RETURN;
	END IF;
	-- as in 020_event_claims
	v_ids := ARRAY(
		SELECT e.id FROM smspool.account_events e
		WHERE e.id = ANY (ARRAY(
			SELECT c.id
			FROM (SELECT DISTINCT a FROM unnest(p_accounts) a) acc
			CROSS JOIN LATERAL (
				SELECT x.id, x.due_at FROM smspool.account_events x
				WHERE x.account = acc.a AND x.due_at <= now()
				  AND x.claimed_by IS DISTINCT FROM p_instance
				ORDER BY x.due_at LIMIT 2 * p_limit) c
			ORDER BY c.due_at, c.id
			LIMIT 2 * p_limit))
		  AND e.due_at <= now()
		ORDER BY e.due_at, e.id
		LIMIT p_limit
		FOR UPDATE SKIP LOCKED);
	IF cardinality(v_ids) = 0 THEN
		RETURN;
	END IF;
	v_lease := make_interval(secs => coalesce(smspool.config_int('lease_s'), 60));
	RETURN QUERY
	WITH u AS (
		UPDATE smspool.account_events e SET due_at = now() + v_lease, claimed_by = p_instance, attempts = e.attempts + 1
		WHERE e.id = ANY (v_ids)
		RETURNING e.id, e.account, e.kind, e.message_id, e.client_ref, e.state, e.error_code, e.submitted_at, e.done_at,
			e.sender, e.recipient, e.body, e.payload, e.udh, e.encoding, e.client_parts, e.part_status
	)
	SELECT u.id, u.account, u.kind, u.message_id, u.client_ref, u.state, u.error_code, u.submitted_at, u.done_at,
		u.sender, u.recipient, u.body, u.payload, u.udh, u.encoding, u.client_parts, u.part_status
	FROM u JOIN unnest(v_ids) WITH ORDINALITY AS o(id, n) ON o.id = u.id
	ORDER BY o.n;
END
$$;
COMMENT ON FUNCTION smspool.account_events_claim(text, text[], int) IS 'Daemon: claims up to p_limit due events (due_at <= now) of the accounts p_accounts, oldest due first, FOR UPDATE SKIP LOCKED (concurrent instances never get the same event, never wait); leases them to p_instance for config lease_s, never one it holds already (due_at = now() + lease_s, claimed_by, attempts + 1) and returns them in that order, with client_parts (033) and part_status, with part_status (034_link). An event whose lease ends without account_events_done is claimable again.';
REVOKE EXECUTE ON FUNCTION smspool.account_events_claim(text, text[], int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.account_events_claim(text, text[], int) TO smspool_daemon;
