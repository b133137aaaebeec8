-- 042_odbc14: the odbc path no longer pays for the link's per-part trigger.
--
-- 034_link's deferred row trigger outbox_account_parts fires for every
-- account message with an idempotency_key that becomes sent ("the link's
-- messages have one"), and only inside looks at accounts.report_parts.  Since
-- 024 every message of an odbc connection's account (unique_client_ref) has
-- one too: idempotency_key = client_ref.  So each odbc message queued a
-- deferred trigger event and, at commit, a SECURITY DEFINER plpgsql call, an
-- outbox probe and an accounts probe that insert nothing: measured in the
-- odbc bench phase (pg_stat_user_functions, track_functions = pl) it was the
-- largest self time of all functions, about 30% of the PostgreSQL time of
-- the phase, for 0 rows.
--
-- A link message's key is "<instance>:<outbox id>" of the sending daemon,
-- never its client_ref; an odbc message's key is its client_ref.  The WHEN
-- clause now leaves out rows whose key is their client_ref, so the trigger
-- is not even queued for them.  Nothing else changes: the function, the
-- other conditions and the events of link messages are as in 034.
--
-- The account-event triggers are being reworked on another branch: this
-- only replaces the trigger if it is still 034's row trigger calling
-- outbox_account_parts() without this condition; otherwise it leaves it as
-- it is, with a NOTICE (the reworked trigger must then leave such rows out
-- itself).

DO $$
DECLARE
	v_def text;
BEGIN
	SELECT pg_get_triggerdef(t.oid) INTO v_def
	FROM pg_trigger t
	WHERE t.tgrelid = 'smspool.outbox'::regclass AND t.tgname = 'outbox_account_parts' AND NOT t.tgisinternal;
	IF v_def IS NULL OR v_def NOT LIKE '%FOR EACH ROW%' OR v_def NOT LIKE '%outbox_account_parts()%'
	   OR v_def LIKE '%client_ref%' THEN
		RAISE NOTICE '042_odbc14: outbox_account_parts is not 034''s trigger any more; left as it is (%)', v_def;
		RETURN;
	END IF;
	DROP TRIGGER outbox_account_parts ON smspool.outbox;
	CREATE CONSTRAINT TRIGGER outbox_account_parts AFTER UPDATE OF status, part_status ON smspool.outbox
		DEFERRABLE INITIALLY DEFERRED
		-- idempotency_key: the link's messages have one; an account's other
		-- messages (SMPP, UCP, HTTP) never pay for the call, nor do an odbc
		-- account's, whose key is their client_ref (042_odbc14).
		FOR EACH ROW WHEN (NEW.account IS NOT NULL AND NEW.idempotency_key IS NOT NULL AND NEW.want_report
			AND NEW.report_on IS NULL AND NEW.status = 'sent'
			AND NEW.idempotency_key IS DISTINCT FROM NEW.client_ref
			AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.part_status IS DISTINCT FROM NEW.part_status))
		EXECUTE FUNCTION smspool.outbox_account_parts();
END
$$;
