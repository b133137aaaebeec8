-- Only a connection whose type can send (connection_types.caps has 'send')
-- may be named by a message or a route.  The server-side types (smpp-server,
-- http-api) take messages in and hand them back to their own accounts; a
-- message forced onto one would wait in the queue for ever, since the daemon
-- never claims for it.

CREATE FUNCTION smspool.check_sending_connection(p_column text, p_connection text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_type text;
BEGIN
	SELECT c.type INTO v_type
	FROM smspool.connections c JOIN smspool.connection_types t ON t.type = c.type
	WHERE c.name = p_connection AND NOT ('send' = ANY (t.caps));
	IF FOUND THEN
		RAISE EXCEPTION '%: connection "%" (type %) takes messages in and cannot send them; name a connection of a sending type', p_column, left(p_connection, 70), v_type
			USING ERRCODE = 'check_violation';
	END IF;
END
$$;
COMMENT ON FUNCTION smspool.check_sending_connection(text, text) IS 'Internal: raises "<column>: connection ... cannot send" when the connection exists and its type lacks the send capability.';

-- One trigger function for both tables; SECURITY DEFINER because an
-- application that may insert into outbox need not read connection_types.
CREATE FUNCTION smspool.sending_connection_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM smspool.check_sending_connection(TG_TABLE_NAME || '.connection', NEW.connection);
	RETURN NEW;
END
$$;
CREATE TRIGGER outbox_sending_connection BEFORE INSERT OR UPDATE OF connection ON smspool.outbox
	FOR EACH ROW WHEN (NEW.connection IS NOT NULL)
	EXECUTE FUNCTION smspool.sending_connection_check();
CREATE TRIGGER routes_sending_connection BEFORE INSERT OR UPDATE OF connection ON smspool.routes
	FOR EACH ROW WHEN (NEW.connection IS NOT NULL)
	EXECUTE FUNCTION smspool.sending_connection_check();
