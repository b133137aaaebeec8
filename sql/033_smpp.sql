-- Issue 17 (smpp): the number of parts a client submitted for one joined
-- message, in its own column.  smpp-server joins the parts of a
-- concatenated submit into one outbox row and answers each part with the id
-- "<outbox id>-<k>"; the receipt goes out once per part, with those ids.
-- The count used to be written into client_ref ("smpp-parts:N:..."), which
-- changed the application's reference and broke unique_client_ref and its
-- idempotency; client_ref is now the client's own again.
--
-- Plain nullable columns added with ALTER TABLE ... ADD COLUMN: they work
-- whether outbox is a plain or a partitioned table.

ALTER TABLE smspool.outbox ADD COLUMN client_parts smallint;
ALTER TABLE smspool.outbox ADD CONSTRAINT outbox_client_parts CHECK (client_parts IS NULL OR client_parts BETWEEN 1 AND 255);
COMMENT ON COLUMN smspool.outbox.client_parts IS 'For account messages a server-side connection joined from a client''s concatenated parts (SMPP UDH or SAR): how many parts the client submitted (2..255); the message''s receipt goes to the client once per part, with the per-part ids it was answered. NULL: the client submitted the message whole. Set by submit(); not the number of parts the message is sent in (parts).';

ALTER TABLE smspool.account_events ADD COLUMN client_parts smallint;
COMMENT ON COLUMN smspool.account_events.client_parts IS 'report: outbox.client_parts of the message (NULL: submitted whole).';

CREATE OR REPLACE FUNCTION smspool.outbox_account_report() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO smspool.account_events (account, kind, message_id, client_ref, client_parts, state, error_code, sender,
		recipient, submitted_at, done_at)
	SELECT NEW.account, 'report', NEW.id, NEW.client_ref, NEW.client_parts, NEW.status, NEW.error_code, NEW.sender,
		NEW.recipient, NEW.created_at, coalesce(NEW.done_at, now())
	WHERE EXISTS (SELECT 1 FROM smspool.accounts a WHERE a.system_id = NEW.account);   -- not for a deleted account
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.outbox_account_report() IS 'AFTER UPDATE OF status row trigger of outbox (only for account messages with want_report entering a final state that report_on asks for): queues a ''report'' account event (with the message''s client_ref and client_parts).';

-- The claim returns client_parts too: a new result type, so drop and create.
DROP FUNCTION smspool.account_events_claim(text, text[], int);
CREATE FUNCTION smspool.account_events_claim(p_instance text, p_accounts text[], p_limit int)
RETURNS TABLE (id bigint, account text, kind text, message_id bigint, client_ref text, state text, error_code text,
	submitted_at timestamptz, done_at timestamptz, sender text, recipient text, body text, payload text, udh text,
	encoding text, client_parts smallint)
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
	-- as in 020: the oldest due events of each account, never one this
	-- instance holds, twice the limit as candidates, then locked
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
			e.sender, e.recipient, e.body, e.payload, e.udh, e.encoding, e.client_parts
	)
	SELECT u.id, u.account, u.kind, u.message_id, u.client_ref, u.state, u.error_code, u.submitted_at, u.done_at,
		u.sender, u.recipient, u.body, u.payload, u.udh, u.encoding, u.client_parts
	FROM u JOIN unnest(v_ids) WITH ORDINALITY AS o(id, n) ON o.id = u.id
	ORDER BY o.n;
END
$$;
COMMENT ON FUNCTION smspool.account_events_claim(text, text[], int) IS 'Daemon: claims up to p_limit due events (due_at <= now) of the accounts p_accounts, oldest due first, FOR UPDATE SKIP LOCKED (concurrent instances never get the same event, never wait); leases them to p_instance for config lease_s, never one it holds already (due_at = now() + lease_s, claimed_by, attempts + 1) and returns them in that order, with client_parts (report events of joined messages). An event whose lease ends without account_events_done is claimable again.';

CREATE FUNCTION smspool.submit(p_account text, p_recipients text[], p_senders text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_client_refs text[], p_priorities int[],
	p_want_reports boolean[], p_flash boolean[], p_msg_classes int[], p_send_after timestamptz[],
	p_valid_until timestamptz[], p_keys text[], p_report_on int[], p_client_parts int[])
RETURNS TABLE (idx int, id bigint, error_class text, error text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	r record;
BEGIN
	FOR r IN SELECT * FROM smspool.submit(p_account, p_recipients, p_senders, p_bodies, p_payloads, p_udhs, p_encodings,
		p_client_refs, p_priorities, p_want_reports, p_flash, p_msg_classes, p_send_after, p_valid_until, p_keys,
		p_report_on) s LOOP
		IF r.id IS NOT NULL AND p_client_parts[r.idx] IS NOT NULL THEN
			UPDATE smspool.outbox o SET client_parts = p_client_parts[r.idx] WHERE o.id = r.id;
		END IF;
		idx := r.idx;
		id := r.id;
		error_class := r.error_class;
		error := r.error;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[], int[]) IS 'Daemon: submit() with idempotency keys and report_on (see the 16-argument form of 023_smpp17), and each inserted message''s client_parts from p_client_parts (NULL elements: submitted whole), in the same transaction, before anything can send it.';
REVOKE EXECUTE ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[], int[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[], int[]) TO smspool_daemon;
REVOKE EXECUTE ON FUNCTION smspool.account_events_claim(text, text[], int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.account_events_claim(text, text[], int) TO smspool_daemon;
