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

---------------------------------------------------------------------------
-- Receipts on failure only / on success only (SMPP registered_delivery 2, 3)
---------------------------------------------------------------------------
ALTER TABLE smspool.outbox ADD COLUMN report_on smallint;
ALTER TABLE smspool.outbox ADD CONSTRAINT outbox_report_on CHECK (report_on IS NULL OR report_on IN (1, 2));
COMMENT ON COLUMN smspool.outbox.report_on IS 'For account messages with want_report: NULL = a report for every final state; 1 = only when it did not reach the handset (every final state but delivered: SMPP registered_delivery 2, failure only); 2 = only when delivered (registered_delivery 3 of SMPP 5.0, success only). Set by submit().';

DROP TRIGGER outbox_account_report ON smspool.outbox;
CREATE TRIGGER outbox_account_report AFTER UPDATE OF status ON smspool.outbox
	FOR EACH ROW WHEN (NEW.account IS NOT NULL AND NEW.want_report AND OLD.status IS DISTINCT FROM NEW.status
		AND NEW.status IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed')
		AND (NEW.report_on IS NULL OR (NEW.report_on = 1 AND NEW.status <> 'delivered')
			OR (NEW.report_on = 2 AND NEW.status = 'delivered')))
	EXECUTE FUNCTION smspool.outbox_account_report();
COMMENT ON FUNCTION smspool.outbox_account_report() IS 'AFTER UPDATE OF status row trigger of outbox (only for account messages with want_report entering a final state that report_on asks for): queues a ''report'' account event.';

CREATE FUNCTION smspool.submit(p_account text, p_recipients text[], p_senders text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_client_refs text[], p_priorities int[],
	p_want_reports boolean[], p_flash boolean[], p_msg_classes int[], p_send_after timestamptz[],
	p_valid_until timestamptz[], p_keys text[], p_report_on int[])
RETURNS TABLE (idx int, id bigint, error_class text, error text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	r record;
BEGIN
	FOR r IN SELECT * FROM smspool.submit(p_account, p_recipients, p_senders, p_bodies, p_payloads, p_udhs, p_encodings,
		p_client_refs, p_priorities, p_want_reports, p_flash, p_msg_classes, p_send_after, p_valid_until, p_keys) s LOOP
		IF r.id IS NOT NULL AND p_report_on[r.idx] IS NOT NULL THEN
			UPDATE smspool.outbox o SET report_on = p_report_on[r.idx] WHERE o.id = r.id;
		END IF;
		idx := r.idx;
		id := r.id;
		error_class := r.error_class;
		error := r.error;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[]) IS 'Daemon: submit() with idempotency keys p_keys (see the 15-argument form of 026_link), and each inserted message''s report_on from p_report_on (NULL elements: a report for every final state), in the same transaction, before anything can send it.';

---------------------------------------------------------------------------
-- Receipt ids: hexadecimal, decimal and zero-padded forms of one id match
---------------------------------------------------------------------------
CREATE FUNCTION smspool.receipt_id_key(p_id text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT upper(ltrim(p_id, '0')) $$;
COMMENT ON FUNCTION smspool.receipt_id_key(text) IS 'An SMSC message id compared across forms: without leading zeros, upper case (indexed on report_wait).';

CREATE FUNCTION smspool.receipt_id_keys(p_id text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT array_remove(ARRAY[
		smspool.receipt_id_key(d),
		CASE WHEN d ~ '^[0-9]{1,18}$' THEN smspool.receipt_id_key(to_hex(d::bigint)) END,
		CASE WHEN d ~ '^[0-9A-Fa-f]{1,15}$' THEN (('x' || lpad(d, 16, '0'))::bit(64)::bigint)::text END
	], NULL)
	FROM (SELECT ltrim(p_id, '0') AS d) s
$$;
COMMENT ON FUNCTION smspool.receipt_id_keys(text) IS 'The receipt_id_key of every id an SMSC may mean by the id of a receipt: the id itself, its decimal number in hexadecimal, its hexadecimal number in decimal (leading zeros and case ignored).';

CREATE INDEX report_wait_id_key ON smspool.report_wait (smspool.receipt_id_key(remote_id), connection);

CREATE OR REPLACE FUNCTION smspool.record_reports(p_connections text[], p_remote_ids text[], p_states text[], p_error_codes text[], p_texts text[])
RETURNS TABLE (report_id bigint, message_id bigint)
LANGUAGE plpgsql
-- Touches a batch of rows by key: never a sequential scan, whatever the
-- statistics say (a planner estimate of one 'sending' row on a big outbox
-- once turned a 1,000-row batch into a 1,000 x 1,000 nested loop).
SET enable_seqscan = off AS $$
#variable_conflict use_column
DECLARE
	v_ids bigint[]; v_msg bigint[];
	v_m bigint[]; v_p int[]; v_r text[]; v_c text[]; v_s text[]; v_e text[];
BEGIN
	IF p_remote_ids IS NULL OR cardinality(p_remote_ids) = 0 THEN
		RETURN;
	END IF;
	WITH inp AS (
		SELECT t.ord, t.conn, t.rid, coalesce(t.state, 'unknown') AS state, t.ecode, t.txt,
		       smspool.report_state_is_final(coalesce(t.state, 'unknown')) AS fin
		FROM unnest(p_connections, p_remote_ids, p_states, p_error_codes, p_texts) WITH ORDINALITY
			AS t(conn, rid, state, ecode, txt, ord)
	),
	m AS (   -- every awaited part a report refers to (the newest message if an id was reused)
		-- One primary-key probe per report (LATERAL ... OFFSET 0 cannot be
		-- flattened): never a hash join on stale statistics, and never the
		-- nested loop with a join filter that a join on the rows found by
		-- remote_id = ANY (...) became (1,000 x 1,000 comparisons per batch).
		-- rid is the awaited id as the submit response wrote it: the same as
		-- the report's, or (none such) another form of the same number
		-- (receipt_id_keys), as SMSCs write receipts decimal and responses
		-- hexadecimal, zero-padded or not.
		SELECT i.ord, i.conn, w.rid, i.state, i.ecode, i.fin, w.message_id, w.part,
		       max(w.message_id) OVER (PARTITION BY i.ord) AS best
		FROM inp i
		CROSS JOIN LATERAL (
			SELECT w.message_id, w.part, w.remote_id AS rid FROM smspool.report_wait w
			WHERE w.remote_id = i.rid AND w.connection = i.conn
			UNION ALL
			SELECT w.message_id, w.part, w.remote_id FROM smspool.report_wait w
			WHERE smspool.receipt_id_key(w.remote_id) = ANY (smspool.receipt_id_keys(i.rid)) AND w.connection = i.conn
			  AND w.remote_id <> i.rid
			  AND NOT EXISTS (SELECT 1 FROM smspool.report_wait x WHERE x.remote_id = i.rid AND x.connection = i.conn)
			OFFSET 0) w
	),
	mm AS (
		SELECT * FROM m WHERE message_id = best
	),
	pick AS (
		SELECT ord, min(message_id) AS message_id, min(part) AS part FROM mm GROUP BY ord
	),
	ins AS (
		INSERT INTO smspool.reports (connection, remote_id, state, error_code, text, message_id, part, matched_at)
		SELECT i.conn, i.rid, i.state, i.ecode, i.txt, p.message_id, p.part,
		       CASE WHEN p.message_id IS NOT NULL THEN now() END
		FROM inp i LEFT JOIN pick p ON p.ord = i.ord
		ORDER BY i.ord
		RETURNING id, message_id
	),
	pp AS (  -- per part: the first final report of the batch, else the last one
		SELECT DISTINCT ON (message_id, part) message_id, part, rid, conn, state, ecode
		FROM mm
		ORDER BY message_id, part, fin DESC, CASE WHEN fin THEN ord ELSE -ord END
	)
	SELECT (SELECT array_agg(id ORDER BY id) FROM ins), (SELECT array_agg(message_id ORDER BY id) FROM ins),
	       array_agg(pp.message_id), array_agg(pp.part), array_agg(pp.rid), array_agg(pp.conn), array_agg(pp.state), array_agg(pp.ecode)
	INTO v_ids, v_msg, v_m, v_p, v_r, v_c, v_s, v_e
	FROM pp;
	IF v_m IS NOT NULL THEN
		PERFORM smspool.apply_part_states(v_m, v_p, v_r, v_c, v_s, v_e);
	END IF;
	RETURN QUERY SELECT t.rid, t.mid FROM unnest(v_ids, v_msg) AS t(rid, mid);
END
$$;
COMMENT ON FUNCTION smspool.record_reports(text[], text[], text[], text[], text[]) IS 'Daemon: stores every delivery report (one array element each) in reports and returns (report_id, message_id) in input order, message_id NULL when unmatched. A report matches the awaited part(s) with the same (remote_id, connection) in report_wait, or when there is none, those whose remote_id is another form of the same number (receipt_id_keys: decimal in the receipt and hexadecimal in the submit response or the reverse, leading zeros, case): part_status is updated; a final state (delivered|undelivered|expired|rejected|deleted) removes the report_wait row and, once every part has a final report, sets the message''s final state (part_status_final) and done_at. Intermediate states (accepted, enroute, unknown...) only update part_status. Unmatched reports are matched later by record_results.';
