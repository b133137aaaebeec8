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
	p_valid_until timestamptz[], p_report_on int[])
RETURNS TABLE (idx int, id bigint, error_class text, error text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	r record;
BEGIN
	FOR r IN SELECT * FROM smspool.submit(p_account, p_recipients, p_senders, p_bodies, p_payloads, p_udhs, p_encodings,
		p_client_refs, p_priorities, p_want_reports, p_flash, p_msg_classes, p_send_after, p_valid_until) s LOOP
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
COMMENT ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], int[]) IS 'Daemon: submit() of 14 arguments, and each inserted message''s report_on from p_report_on (NULL elements: a report for every final state), in the same transaction, before anything can send it.';
