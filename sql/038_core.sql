-- Issue 17 (core17): the report_on form of submit() without a loop, and the
-- version of an account's access that lets a daemon catch up on the
-- revocations it did not hear.

---------------------------------------------------------------------------
-- submit() with report_on: one UPDATE per call, not one per row
---------------------------------------------------------------------------
-- The inner submit() inserts the rows; a single statement (a CTE around it)
-- could not see them (every part of a statement shares one snapshot), so the
-- answers are collected once and the report_on of every inserted row is set
-- by one UPDATE joined on them.
CREATE OR REPLACE FUNCTION smspool.submit(p_account text, p_recipients text[], p_senders text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_client_refs text[], p_priorities int[],
	p_want_reports boolean[], p_flash boolean[], p_msg_classes int[], p_send_after timestamptz[],
	p_valid_until timestamptz[], p_keys text[], p_report_on int[])
RETURNS TABLE (idx int, id bigint, error_class text, error text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	v_idx int[]; v_id bigint[]; v_class text[]; v_error text[];
BEGIN
	SELECT array_agg(s.idx ORDER BY s.ord), array_agg(s.id ORDER BY s.ord), array_agg(s.error_class ORDER BY s.ord),
	       array_agg(s.error ORDER BY s.ord)
	INTO v_idx, v_id, v_class, v_error
	FROM smspool.submit(p_account, p_recipients, p_senders, p_bodies, p_payloads, p_udhs, p_encodings,
		p_client_refs, p_priorities, p_want_reports, p_flash, p_msg_classes, p_send_after, p_valid_until, p_keys)
		WITH ORDINALITY AS s(idx, id, error_class, error, ord);
	IF cardinality(array_remove(p_report_on, NULL)) > 0 THEN
		UPDATE smspool.outbox o SET report_on = r.report_on
		FROM (SELECT t.id, p_report_on[t.idx] AS report_on FROM unnest(v_idx, v_id) AS t(idx, id)) r
		WHERE o.id = r.id AND r.report_on IS NOT NULL;
	END IF;
	RETURN QUERY SELECT t.idx, t.id, t.error_class, t.error
		FROM unnest(v_idx, v_id, v_class, v_error) WITH ORDINALITY AS t(idx, id, error_class, error, ord)
		ORDER BY t.ord;
END
$$;
COMMENT ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[]) IS 'Daemon: submit() with idempotency keys p_keys (see the 15-argument form of 026_link), and each inserted message''s report_on from p_report_on (NULL elements: a report for every final state), in the same transaction, before anything can send it: one UPDATE for the whole call. Rows are returned in the order the 15-argument form returns them.';

---------------------------------------------------------------------------
-- The version of an account's access
---------------------------------------------------------------------------
CREATE SEQUENCE smspool.accounts_access_version;
ALTER TABLE smspool.accounts ADD COLUMN access_version bigint;
UPDATE smspool.accounts SET access_version = nextval('smspool.accounts_access_version');
ALTER TABLE smspool.accounts ALTER COLUMN access_version SET NOT NULL;
ALTER SEQUENCE smspool.accounts_access_version OWNED BY smspool.accounts.access_version;
COMMENT ON COLUMN smspool.accounts.access_version IS 'Changes (a new number from a sequence) whenever what accounts_revoke announces changes: password, enabled, allowed_addresses, connections, system_id. A daemon that was disconnected from the database when the NOTIFY came compares every account''s access_version with the one it read before, once it is connected again, and ends the live sessions of the accounts that changed or are gone.';

-- SECURITY DEFINER: whoever may write accounts (smspool_admin) needs no
-- right on the sequence.
CREATE FUNCTION smspool.accounts_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		NEW.access_version := nextval('smspool.accounts_access_version');
	ELSIF OLD.password_hash IS DISTINCT FROM NEW.password_hash
	   OR OLD.enabled IS DISTINCT FROM NEW.enabled
	   OR OLD.allowed_addresses IS DISTINCT FROM NEW.allowed_addresses
	   OR OLD.connections IS DISTINCT FROM NEW.connections
	   OR OLD.system_id IS DISTINCT FROM NEW.system_id THEN
		NEW.access_version := nextval('smspool.accounts_access_version');
	ELSE
		NEW.access_version := OLD.access_version;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION smspool.accounts_version() IS 'BEFORE INSERT/UPDATE row trigger of accounts (after accounts_check, which hashes the password: triggers fire in name order): a new access_version for a new account and when the access changes, else the old one (access_version cannot be set by hand).';
REVOKE EXECUTE ON FUNCTION smspool.accounts_version() FROM PUBLIC;
CREATE TRIGGER accounts_version BEFORE INSERT OR UPDATE ON smspool.accounts
	FOR EACH ROW EXECUTE FUNCTION smspool.accounts_version();

GRANT SELECT (access_version) ON smspool.accounts TO smspool_admin, smspool_daemon;
