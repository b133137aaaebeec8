-- 017_ops: redirect rules for inbound texts (issue 16, "Redirect").
--
-- A rule of smspool.inbound_redirects forwards texts that arrive on one
-- connection out through another (or through the routes): to a fixed
-- number, or to the number the text starts with ("+15551234 the message").
-- The forward is an ordinary outbox row, inserted in the same transaction
-- as the inbox row (so it exists exactly when the inbound text does), and
-- smspool.redirected links it to its origin.  A forward that cannot be made
-- (no number in the text, a row the outbox refuses) is recorded with its
-- error and never fails the inbound insert: the peer's acknowledgement must
-- not depend on it.  A forwarded text that comes back (a loop through a
-- loopback or an echoing peer) is not forwarded again.

CREATE TABLE smspool.inbound_redirects (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	position int NOT NULL DEFAULT 100,
	connection text NOT NULL REFERENCES smspool.connections (name) ON UPDATE CASCADE ON DELETE CASCADE,
	recipient_prefix text,
	sender_pattern text,
	to_number text,
	to_connection text REFERENCES smspool.connections (name) ON UPDATE CASCADE ON DELETE CASCADE,
	keep_sender boolean NOT NULL DEFAULT false,
	enabled boolean NOT NULL DEFAULT true,
	description text,
	CONSTRAINT inbound_redirects_prefix_format CHECK (recipient_prefix IS NULL OR recipient_prefix ~ '^\+?[0-9]*$'),
	CONSTRAINT inbound_redirects_to_number_format CHECK (to_number IS NULL OR to_number ~ '^\+?[0-9]{1,20}$')
);
CREATE INDEX inbound_redirects_connection ON smspool.inbound_redirects (connection, position) WHERE enabled;
COMMENT ON TABLE smspool.inbound_redirects IS 'Forwarding of inbound texts: a text stored in inbox from connection, matching recipient_prefix and sender_pattern, is sent on as a new outbox row (to to_number, or to the number the text starts with) through to_connection (NULL = the routes). The first enabled rule by position (then id) wins. See smspool.redirected.';
COMMENT ON COLUMN smspool.inbound_redirects.position IS 'Rule order (ascending); the first matching rule forwards.';
COMMENT ON COLUMN smspool.inbound_redirects.connection IS 'Connection the text arrived on.';
COMMENT ON COLUMN smspool.inbound_redirects.recipient_prefix IS 'Digits with an optional leading +: our number the text was sent to must start with it (a leading + ignored); NULL = any.';
COMMENT ON COLUMN smspool.inbound_redirects.sender_pattern IS 'Regular expression the sender must match (NULL sender = empty string); NULL = any.';
COMMENT ON COLUMN smspool.inbound_redirects.to_number IS 'Fixed recipient of the forward; NULL = the text must start with a number (1 to 20 digits, optional +) and a space, and the rest is what is sent.';
COMMENT ON COLUMN smspool.inbound_redirects.to_connection IS 'Connection the forward is sent through (outbox.connection); NULL = routed by smspool.routes.';
COMMENT ON COLUMN smspool.inbound_redirects.keep_sender IS 'true = the forward carries the original sender as its sender; false = the connection''s default.';
COMMENT ON COLUMN smspool.inbound_redirects.enabled IS 'false = ignored.';
COMMENT ON COLUMN smspool.inbound_redirects.description IS 'Free text.';

CREATE FUNCTION smspool.inbound_redirects_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.sender_pattern IS NOT NULL THEN
		BEGIN
			PERFORM '' ~ NEW.sender_pattern;
		EXCEPTION WHEN invalid_regular_expression THEN
			RAISE EXCEPTION 'inbound_redirects.sender_pattern: not a valid regular expression: %', SQLERRM
				USING ERRCODE = 'check_violation';
		END;
	END IF;
	IF NEW.to_connection IS NOT NULL THEN
		PERFORM smspool.check_sending_connection('inbound_redirects.to_connection', NEW.to_connection);
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER inbound_redirects_check BEFORE INSERT OR UPDATE ON smspool.inbound_redirects
	FOR EACH ROW EXECUTE FUNCTION smspool.inbound_redirects_check();

CREATE TABLE smspool.redirected (
	inbox_id bigint PRIMARY KEY REFERENCES smspool.inbox (id) ON DELETE CASCADE,
	redirect_id bigint REFERENCES smspool.inbound_redirects (id) ON DELETE SET NULL,
	outbox_id bigint,
	error text,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX redirected_outbox ON smspool.redirected (outbox_id) WHERE outbox_id IS NOT NULL;
COMMENT ON TABLE smspool.redirected IS 'One row per inbound text a redirect rule matched: the outbox row that forwards it (outbox_id), or why it could not be forwarded (error, outbox_id NULL).';
COMMENT ON COLUMN smspool.redirected.inbox_id IS 'The inbound text (inbox.id).';
COMMENT ON COLUMN smspool.redirected.redirect_id IS 'The rule that matched (inbound_redirects.id; NULL once the rule is deleted).';
COMMENT ON COLUMN smspool.redirected.outbox_id IS 'The forward (outbox.id); NULL when it could not be made.';
COMMENT ON COLUMN smspool.redirected.error IS 'Why no forward was made (no number in the text, the outbox refused the row...).';
COMMENT ON COLUMN smspool.redirected.created_at IS 'When the rule matched.';

-- SECURITY DEFINER: the daemon's role stores inbound texts; the forward is
-- inserted into outbox with the schema owner's rights.
CREATE FUNCTION smspool.inbox_redirect() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	r smspool.inbound_redirects;
	v_to text;
	v_body text;
	v_m text[];
	v_id bigint;
BEGIN
	IF NEW.body IS NULL OR NEW.connection IS NULL THEN
		RETURN NULL; -- binary texts are not forwarded
	END IF;
	SELECT d.* INTO r FROM smspool.inbound_redirects d
	WHERE d.enabled AND d.connection = NEW.connection
	  AND (d.recipient_prefix IS NULL OR ltrim(coalesce(NEW.recipient, ''), '+') LIKE ltrim(d.recipient_prefix, '+') || '%')
	  AND (d.sender_pattern IS NULL OR coalesce(NEW.sender, '') ~ d.sender_pattern)
	ORDER BY d.position, d.id LIMIT 1;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	-- A forward that comes back (through a loopback or an echoing peer)
	-- stops here: same text, from the number it was forwarded to.
	IF EXISTS (SELECT 1 FROM smspool.redirected x JOIN smspool.outbox o ON o.id = x.outbox_id
	           WHERE x.created_at > now() - interval '1 hour'
	             AND ltrim(o.recipient, '+') = ltrim(coalesce(NEW.sender, ''), '+') AND o.body = NEW.body) THEN
		INSERT INTO smspool.redirected (inbox_id, redirect_id, error)
		VALUES (NEW.id, r.id, 'not forwarded again: this text is a forward that came back');
		RETURN NULL;
	END IF;
	IF r.to_number IS NOT NULL THEN
		v_to := r.to_number;
		v_body := NEW.body;
	ELSE
		v_m := regexp_match(NEW.body, '^\s*(\+?[0-9]{1,20})\s+(.+)$', 's');
		IF v_m IS NULL THEN
			INSERT INTO smspool.redirected (inbox_id, redirect_id, error)
			VALUES (NEW.id, r.id, 'the text does not start with a number and a space');
			RETURN NULL;
		END IF;
		v_to := v_m[1];
		v_body := v_m[2];
	END IF;
	BEGIN
		INSERT INTO smspool.outbox (recipient, sender, body, connection)
		VALUES (v_to, CASE WHEN r.keep_sender THEN NEW.sender END, v_body, r.to_connection)
		RETURNING id INTO v_id;
		INSERT INTO smspool.redirected (inbox_id, redirect_id, outbox_id) VALUES (NEW.id, r.id, v_id);
	EXCEPTION WHEN others THEN
		INSERT INTO smspool.redirected (inbox_id, redirect_id, error) VALUES (NEW.id, r.id, SQLERRM);
	END;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.inbox_redirect() IS 'Internal: forwards an inbound text by the first matching rule of inbound_redirects (see there).';
CREATE TRIGGER inbox_redirect AFTER INSERT ON smspool.inbox
	FOR EACH ROW EXECUTE FUNCTION smspool.inbox_redirect();

GRANT SELECT, INSERT, UPDATE, DELETE ON smspool.inbound_redirects TO smspool_admin;
GRANT SELECT ON smspool.redirected TO smspool_admin, smspool_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON smspool.inbound_redirects, smspool.redirected TO smspool_daemon;

---------------------------------------------------------------------------
-- Status page and /metrics login (metrics_auth = admin): accounts with the
-- admin flag, checked by admin_auth() with account_auth()'s rules.
---------------------------------------------------------------------------
ALTER TABLE smspool.accounts ADD COLUMN admin boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN smspool.accounts.admin IS 'true = may log in (HTTP basic auth) to the status page and /metrics of a daemon whose metrics_auth is admin. Grants nothing else.';
GRANT SELECT (admin), INSERT (admin), UPDATE (admin) ON smspool.accounts TO smspool_admin;
GRANT SELECT (admin) ON smspool.accounts TO smspool_daemon;

CREATE FUNCTION smspool.admin_auth(p_system_id text, p_password text, p_peer text) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT coalesce((SELECT a.ok FROM smspool.account_auth(p_system_id, p_password, p_peer) a), false)
	   AND coalesce((SELECT x.admin FROM smspool.accounts x WHERE x.system_id = p_system_id), false)
$$;
COMMENT ON FUNCTION smspool.admin_auth(text, text, text) IS 'Daemon: true when the account exists, the password matches, it is enabled, the peer is allowed (account_auth) and it has the admin flag.';
REVOKE EXECUTE ON FUNCTION smspool.admin_auth(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.admin_auth(text, text, text) TO smspool_daemon;
