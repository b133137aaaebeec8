-- 015_odbc: client_ref as an idempotency key, for the ODBC connection type.
--
-- An ODBC connection takes rows from another database's table and submits
-- each as an outbox row of its account, client_ref = the foreign row's key;
-- then it marks the foreign row taken.  Two databases, two commits: if the
-- daemon dies between them, the foreign row is taken again after a restart.
-- For an account with unique_client_ref, a second message with a client_ref
-- the account already has is refused with the first one's id in the error
-- ("outbox.client_ref: already taken as message N", SQLSTATE 23505), so the
-- driver marks the foreign row with that id instead of sending twice.
--
-- The check is a BEFORE INSERT trigger whose WHEN clause is false for every
-- row without both an account and a client_ref (applications' rows never call
-- it); the account's flag is one primary-key lookup.  Concurrent inserts of
-- one key are serialised by a transaction-level advisory lock on its hash, so
-- two daemons taking the same foreign row at once cannot both insert it.

ALTER TABLE smspool.accounts ADD COLUMN unique_client_ref boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN smspool.accounts.unique_client_ref IS 'true = outbox.client_ref is an idempotency key for this account''s messages: submit() refuses a message whose client_ref the account already has, with error "outbox.client_ref: already taken as message <id>" (SQLSTATE 23505). Set it for the account of an odbc connection (the key of the foreign row is the client_ref).';

CREATE FUNCTION smspool.outbox_unique_client_ref() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_id bigint;
BEGIN
	IF NOT coalesce((SELECT a.unique_client_ref FROM smspool.accounts a WHERE a.system_id = NEW.account), false) THEN
		RETURN NEW;
	END IF;
	PERFORM pg_advisory_xact_lock(hashtextextended(NEW.account || E'\x1f' || NEW.client_ref, 15));
	SELECT o.id INTO v_id FROM smspool.outbox o
	WHERE o.client_ref = NEW.client_ref AND o.account = NEW.account
	ORDER BY o.id LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'outbox.client_ref: already taken as message %', v_id
			USING ERRCODE = 'unique_violation';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION smspool.outbox_unique_client_ref() IS 'BEFORE INSERT row trigger of outbox (only rows with an account and a client_ref): for an account with unique_client_ref, refuses a client_ref the account already has ("outbox.client_ref: already taken as message <id>", 23505).';
CREATE TRIGGER outbox_unique_client_ref BEFORE INSERT ON smspool.outbox
	FOR EACH ROW WHEN (NEW.account IS NOT NULL AND NEW.client_ref IS NOT NULL)
	EXECUTE FUNCTION smspool.outbox_unique_client_ref();
