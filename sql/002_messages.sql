-- 002_messages: SMS length functions, outbox (+ hot queue), delivery reports, inbox.
--
-- Storage design ("speed without decay"):
--  * outbox holds every message ever sent.  It has NO index on any column the
--    daemon updates (only the PK, a partial index on client_ref and a BRIN on
--    created_at, all never updated), and fillfactor 45: every state change
--    (queued -> sending -> sent -> delivered) can be a HOT update on the same
--    page, so finished rows and dead versions never grow an index.
--  * queue holds only the ids of messages still to be sent (a few hundred or
--    thousand rows): the claim scans it, not the outbox.
--  * report_wait holds one row per sent part still awaiting its report, keyed
--    (remote_id, connection, part) -- remote_id first.

---------------------------------------------------------------------------
-- SMS length
---------------------------------------------------------------------------
-- GSM 03.38 default alphabet (basic table) and extension table, as regex
-- bracket contents (ARE escapes; \n \r \f are LF, CR, FF).
--   basic:     @£$¥èéùìòÇ LF ØøCRÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ SP !"#¤%&'()*+,-./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà
--   extension: FF ^ { } \ [ ~ ] | €   (2 septets each: ESC + code)

CREATE FUNCTION smspool.sms_encoding(p_body text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE
		WHEN p_body IS NULL THEN NULL
		WHEN p_body ~ '^[@\u00A3$\u00A5\u00E8\u00E9\u00F9\u00EC\u00F2\u00C7\n\u00D8\u00F8\r\u00C5\u00E5\u0394_\u03A6\u0393\u039B\u03A9\u03A0\u03A8\u03A3\u0398\u039E\u00C6\u00E6\u00DF\u00C9 !"#\u00A4%&''()*+,./0-9:;<=>?\u00A1A-Z\u00C4\u00D6\u00D1\u00DC\u00A7\u00BFa-z\u00E4\u00F6\u00F1\u00FC\u00E0\f^{}\\\[~\]|\u20AC-]*$' THEN 'gsm7'
		ELSE 'ucs2'
	END
$$;
COMMENT ON FUNCTION smspool.sms_encoding(text) IS 'gsm7 when every character of the text is in the GSM 03.38 default alphabet or its extension table (^{}\[~]|€ and form feed), else ucs2. NULL for NULL.';

CREATE FUNCTION smspool.sms_parts(p_body text, p_encoding text DEFAULT 'auto', p_payload text DEFAULT NULL, p_udh text DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
	v_enc text := coalesce(p_encoding, 'auto');
	v_n int;
	v_extra int;
	v_parts int;
	v_used int;
	v_cost int;
	v_c text;
BEGIN
	IF v_enc = 'binary' THEN
		IF p_payload IS NULL THEN
			RETURN NULL;
		END IF;
		v_n := (octet_length(p_payload) + coalesce(octet_length(p_udh), 0)) / 2;
		RETURN CASE WHEN v_n <= 140 THEN 1 ELSE (v_n + 133) / 134 END;
	ELSIF v_enc NOT IN ('auto', 'gsm7', 'ucs2') THEN
		RAISE EXCEPTION 'sms_parts: encoding must be auto, gsm7, ucs2 or binary (got "%")', p_encoding
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_body IS NULL THEN
		RETURN NULL;
	END IF;
	v_n := char_length(p_body);
	IF v_n <= 35 THEN
		RETURN 1;            -- fits one part in any encoding
	END IF;
	IF v_enc = 'auto' THEN
		v_enc := smspool.sms_encoding(p_body);
	END IF;
	IF v_enc = 'gsm7' THEN
		-- extension characters cost two septets
		IF p_body ~ '[\f^{}\\\[~\]|\u20AC]' THEN
			v_extra := v_n - char_length(translate(p_body, E'\f^{}\\[~]|\u20AC', ''));
		ELSE
			v_extra := 0;
		END IF;
		IF v_n + v_extra <= 160 THEN
			RETURN 1;
		ELSIF v_extra = 0 THEN
			RETURN (v_n + 152) / 153;
		END IF;
		-- greedy split, 153 septets per part, an escape pair never split
		v_parts := 1; v_used := 0;
		FOREACH v_c IN ARRAY string_to_array(p_body, NULL) LOOP
			v_cost := CASE WHEN strpos(E'\f^{}\\[~]|\u20AC', v_c) > 0 THEN 2 ELSE 1 END;
			IF v_used + v_cost > 153 THEN
				v_parts := v_parts + 1; v_used := v_cost;
			ELSE
				v_used := v_used + v_cost;
			END IF;
		END LOOP;
		RETURN v_parts;
	END IF;
	-- UCS-2 (UTF-16 code units): characters above U+FFFF are a surrogate pair
	-- (they are the only ones taking 4 bytes in UTF-8)
	IF octet_length(p_body) >= v_n + 3 THEN
		v_extra := v_n - char_length(regexp_replace(p_body, '[\U00010000-\U0010FFFF]', '', 'g'));
	ELSE
		v_extra := 0;
	END IF;
	IF v_n + v_extra <= 70 THEN
		RETURN 1;
	ELSIF v_extra = 0 THEN
		RETURN (v_n + 66) / 67;
	END IF;
	v_parts := 1; v_used := 0;
	FOREACH v_c IN ARRAY string_to_array(p_body, NULL) LOOP
		v_cost := CASE WHEN octet_length(v_c) = 4 THEN 2 ELSE 1 END;
		IF v_used + v_cost > 67 THEN
			v_parts := v_parts + 1; v_used := v_cost;
		ELSE
			v_used := v_used + v_cost;
		END IF;
	END LOOP;
	RETURN v_parts;
END
$$;
COMMENT ON FUNCTION smspool.sms_parts(text, text, text, text) IS 'Number of SMS parts a message takes. gsm7: 160 septets in one part, else 153 per part (extension characters cost 2 septets and are never split); ucs2: 70 UTF-16 code units in one part, else 67 per part (a surrogate pair is never split); binary: payload+udh octets up to 140 in one part, else 134 per part; auto: gsm7 if sms_encoding() says so, else ucs2. NULL when there is no body (or payload for binary).';

---------------------------------------------------------------------------
-- outbox
---------------------------------------------------------------------------
CREATE TABLE smspool.outbox (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	created_at timestamptz NOT NULL DEFAULT now(),
	-- set by the application
	recipient text NOT NULL,
	sender text,
	body text,
	encoding text NOT NULL DEFAULT 'auto',
	payload text,
	udh text,
	connection text,
	priority smallint NOT NULL DEFAULT 0,
	send_after timestamptz,
	valid_until timestamptz,
	want_report boolean NOT NULL DEFAULT true,
	flash boolean NOT NULL DEFAULT false,
	msg_class smallint,
	client_ref text,
	-- set by the daemon
	status text NOT NULL DEFAULT 'queued',
	attempts int NOT NULL DEFAULT 0,
	next_attempt_at timestamptz,
	connection_used text,
	parts int,
	remote_ids text[],
	part_status text[],
	error_class text,
	error_code text,
	error_text text,
	sent_at timestamptz,
	done_at timestamptz
) WITH (
	-- The daemon updates ~500 consecutive rows (= whole pages) per statement,
	-- so a page needs room for a complete new version of all its rows for the
	-- updates to stay HOT (old versions are pruned at the next access).
	-- Measured (claim/sent/delivered loop, 500 per batch): fillfactor 70 ->
	-- 62% HOT updates, 45 -> 86% HOT and 35% more throughput.
	fillfactor = 45,
	autovacuum_vacuum_scale_factor = 0.02,
	autovacuum_vacuum_threshold = 10000,
	autovacuum_vacuum_insert_scale_factor = 0.05,
	autovacuum_analyze_scale_factor = 0.02,
	autovacuum_vacuum_cost_delay = 1
);
CREATE INDEX outbox_client_ref ON smspool.outbox (client_ref) WHERE client_ref IS NOT NULL;
CREATE INDEX outbox_created_brin ON smspool.outbox USING brin (created_at);

COMMENT ON TABLE smspool.outbox IS 'One row per message to send; applications INSERT here (minimal: recipient and body) and read the outcome here. Bad rows are refused at INSERT with "outbox.<column>: <rule> (got ...)" (SQLSTATE 23514, 23503 for an unknown connection). Daemon-owned columns (created_at, status, attempts, next_attempt_at, connection_used, parts, remote_ids, part_status, error_*, sent_at, done_at) are OVERWRITTEN at INSERT (status queued, attempts 0, the others NULL; parts = sms_parts() estimate); the application role cannot even name them (column grants). Applications cancel with UPDATE ... SET status = ''cancelled'' (only from queued). States: queued, sending, sent, delivered, undelivered, expired, rejected, failed, cancelled; final: delivered, undelivered, expired, rejected, failed, cancelled, and sent when no report was requested. Only the id, client_ref and created_at (BRIN) are indexed: query by id, client_ref or a created_at range.';
COMMENT ON COLUMN smspool.outbox.id IS 'Message id (identity, always generated).';
COMMENT ON COLUMN smspool.outbox.created_at IS 'Insert time (set by trigger; indexed by BRIN).';
COMMENT ON COLUMN smspool.outbox.recipient IS 'Destination number: 1 to 20 digits with an optional leading +.';
COMMENT ON COLUMN smspool.outbox.sender IS 'Originator: 1 to 20 digits with an optional leading +, or 1 to 11 GSM default-alphabet characters (alphanumeric); NULL = the connection''s default.';
COMMENT ON COLUMN smspool.outbox.body IS 'Text (required, non-empty, unless encoding is binary). Its parts (sms_parts) must not exceed config max_parts.';
COMMENT ON COLUMN smspool.outbox.encoding IS 'auto (gsm7 if possible, else ucs2) | gsm7 (refused if a character is outside GSM 03.38) | ucs2 | binary (payload instead of body).';
COMMENT ON COLUMN smspool.outbox.payload IS 'Binary user data as even-length hex; only with encoding binary.';
COMMENT ON COLUMN smspool.outbox.udh IS 'User data header as even-length hex (optional); only with encoding binary.';
COMMENT ON COLUMN smspool.outbox.connection IS 'Force this connection (must exist in connections); NULL = choose by routes.';
COMMENT ON COLUMN smspool.outbox.priority IS '0..9, higher is sent first.';
COMMENT ON COLUMN smspool.outbox.send_after IS 'Do not send before this time (NULL = now).';
COMMENT ON COLUMN smspool.outbox.valid_until IS 'Do not send after this time: the message becomes expired (must not be before send_after).';
COMMENT ON COLUMN smspool.outbox.want_report IS 'Request a delivery report; if false the message ends in state sent.';
COMMENT ON COLUMN smspool.outbox.flash IS 'Flash SMS (class 0 display).';
COMMENT ON COLUMN smspool.outbox.msg_class IS 'Message class 0..3 or NULL.';
COMMENT ON COLUMN smspool.outbox.client_ref IS 'Free reference of the application (indexed, not unique).';
COMMENT ON COLUMN smspool.outbox.status IS 'queued|sending|sent|delivered|undelivered|expired|rejected|failed|cancelled; transitions are checked by trigger (an illegal one raises "outbox.status: illegal transition from X to Y").';
COMMENT ON COLUMN smspool.outbox.attempts IS 'Submit attempts so far (incremented at each claim).';
COMMENT ON COLUMN smspool.outbox.next_attempt_at IS 'When a retried message is due again.';
COMMENT ON COLUMN smspool.outbox.connection_used IS 'Connection the message was (last) submitted on.';
COMMENT ON COLUMN smspool.outbox.parts IS 'Number of SMS parts (estimate from sms_parts at insert; set by the daemon when sent).';
COMMENT ON COLUMN smspool.outbox.remote_ids IS 'Message ids given by the remote side, one per part.';
COMMENT ON COLUMN smspool.outbox.part_status IS 'Report state per part (pending until a report arrives), same order as remote_ids.';
COMMENT ON COLUMN smspool.outbox.error_class IS 'Why the message is in its state: temporary|throttled|permanent (rejected by the remote side)|local (failed locally)|no_route|expired; for a report-based final state, the worst part state.';
COMMENT ON COLUMN smspool.outbox.error_code IS 'Error code of the connection/protocol (e.g. SMPP command_status, report err).';
COMMENT ON COLUMN smspool.outbox.error_text IS 'Human-readable error.';
COMMENT ON COLUMN smspool.outbox.sent_at IS 'When the remote side accepted the message.';
COMMENT ON COLUMN smspool.outbox.done_at IS 'When the message reached its final state.';

CREATE FUNCTION smspool.outbox_validate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_parts int;
	v_max int;
BEGIN
	IF TG_OP = 'INSERT' THEN
		-- daemon-owned columns are overwritten, never taken from the INSERT
		-- (one test on the common path, the assignments only when needed)
		IF NEW.status <> 'queued' OR NEW.attempts <> 0 OR NEW.created_at <> now()
		   OR num_nonnulls(NEW.next_attempt_at, NEW.connection_used, NEW.remote_ids, NEW.part_status,
		                   NEW.error_class, NEW.error_code, NEW.error_text, NEW.sent_at, NEW.done_at) > 0
		   OR num_nulls(NEW.status, NEW.attempts, NEW.created_at) > 0 THEN
			NEW.created_at := now();
			NEW.status := 'queued';
			NEW.attempts := 0;
			NEW.next_attempt_at := NULL;
			NEW.connection_used := NULL;
			NEW.remote_ids := NULL;
			NEW.part_status := NULL;
			NEW.error_class := NULL;
			NEW.error_code := NULL;
			NEW.error_text := NULL;
			NEW.sent_at := NULL;
			NEW.done_at := NULL;
		END IF;
	END IF;
	IF NEW.recipient IS NULL OR NEW.recipient !~ '^\+?[0-9]{1,20}$' THEN
		RAISE EXCEPTION 'outbox.recipient: must be 1 to 20 digits with an optional leading + (got %)',
			coalesce('"' || left(NEW.recipient, 40) || '"', 'NULL') USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.sender IS NOT NULL AND NEW.sender !~ '^\+?[0-9]{1,20}$'
	   AND NEW.sender !~ '^[@\u00A3$\u00A5\u00E8\u00E9\u00F9\u00EC\u00F2\u00C7\u00D8\u00F8\u00C5\u00E5\u0394_\u03A6\u0393\u039B\u03A9\u03A0\u03A8\u03A3\u0398\u039E\u00C6\u00E6\u00DF\u00C9 !"#\u00A4%&''()*+,./0-9:;<=>?\u00A1A-Z\u00C4\u00D6\u00D1\u00DC\u00A7\u00BFa-z\u00E4\u00F6\u00F1\u00FC\u00E0-]{1,11}$' THEN
		RAISE EXCEPTION 'outbox.sender: must be 1 to 20 digits with an optional leading + or 1 to 11 GSM characters (got "%")',
			left(NEW.sender, 40) USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.encoding IS NULL OR NEW.encoding NOT IN ('auto', 'gsm7', 'ucs2', 'binary') THEN
		RAISE EXCEPTION 'outbox.encoding: must be auto, gsm7, ucs2 or binary (got %)',
			coalesce('"' || left(NEW.encoding, 40) || '"', 'NULL') USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.priority IS NULL OR NEW.priority < 0 OR NEW.priority > 9 THEN
		RAISE EXCEPTION 'outbox.priority: must be 0 to 9 (got %)', coalesce(NEW.priority::text, 'NULL')
			USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.msg_class < 0 OR NEW.msg_class > 3 THEN
		RAISE EXCEPTION 'outbox.msg_class: must be 0 to 3 or NULL (got %)', NEW.msg_class
			USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.valid_until < NEW.send_after THEN
		RAISE EXCEPTION 'outbox.valid_until: must not be before send_after (got valid_until % < send_after %)', NEW.valid_until, NEW.send_after
			USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.encoding = 'binary' THEN
		IF NEW.payload IS NULL OR NEW.payload !~ '^([0-9A-Fa-f]{2})+$' THEN
			RAISE EXCEPTION 'outbox.payload: encoding binary needs a non-empty even-length hex string (got %)',
				coalesce('"' || left(NEW.payload, 40) || '"', 'NULL') USING ERRCODE = 'check_violation';
		END IF;
		IF NEW.udh IS NOT NULL AND NEW.udh !~ '^([0-9A-Fa-f]{2})+$' THEN
			RAISE EXCEPTION 'outbox.udh: must be a non-empty even-length hex string (got "%")', left(NEW.udh, 40)
				USING ERRCODE = 'check_violation';
		END IF;
		v_parts := CASE WHEN octet_length(NEW.payload) + coalesce(octet_length(NEW.udh), 0) <= 280 THEN 1
			ELSE smspool.sms_parts(NULL, 'binary', NEW.payload, NEW.udh) END;
	ELSE
		IF NEW.body IS NULL OR NEW.body = '' THEN
			RAISE EXCEPTION 'outbox.body: must not be empty for encoding % (binary data goes in payload with encoding binary)', NEW.encoding
				USING ERRCODE = 'check_violation';
		END IF;
		IF NEW.payload IS NOT NULL THEN
			RAISE EXCEPTION 'outbox.payload: only allowed with encoding binary (got encoding %)', NEW.encoding
				USING ERRCODE = 'check_violation';
		END IF;
		IF NEW.udh IS NOT NULL THEN
			RAISE EXCEPTION 'outbox.udh: only allowed with encoding binary (got encoding %)', NEW.encoding
				USING ERRCODE = 'check_violation';
		END IF;
		IF NEW.encoding = 'gsm7' AND smspool.sms_encoding(NEW.body) <> 'gsm7' THEN
			RAISE EXCEPTION 'outbox.body: encoding gsm7 but character "%" is not in GSM 03.38 (use encoding auto or ucs2)',
				(regexp_match(NEW.body, '[^@\u00A3$\u00A5\u00E8\u00E9\u00F9\u00EC\u00F2\u00C7\n\u00D8\u00F8\r\u00C5\u00E5\u0394_\u03A6\u0393\u039B\u03A9\u03A0\u03A8\u03A3\u0398\u039E\u00C6\u00E6\u00DF\u00C9 !"#\u00A4%&''()*+,./0-9:;<=>?\u00A1A-Z\u00C4\u00D6\u00D1\u00DC\u00A7\u00BFa-z\u00E4\u00F6\u00F1\u00FC\u00E0\f^{}\\\[~\]|\u20AC-]'))[1]
				USING ERRCODE = 'check_violation';
		END IF;
		v_parts := CASE WHEN char_length(NEW.body) <= 35 THEN 1
			ELSE smspool.sms_parts(NEW.body, NEW.encoding) END;
	END IF;
	IF v_parts > 1 THEN
		v_max := smspool.config_int('max_parts');
		IF v_parts > v_max THEN
			RAISE EXCEPTION 'outbox.%: the message needs % parts, more than config max_parts (%)',
				CASE WHEN NEW.encoding = 'binary' THEN 'payload' ELSE 'body' END, v_parts, v_max
				USING ERRCODE = 'check_violation';
		END IF;
	END IF;
	IF NEW.connection IS NOT NULL
	   AND (TG_OP = 'INSERT' OR NEW.connection IS DISTINCT FROM OLD.connection)
	   AND NOT EXISTS (SELECT 1 FROM smspool.connections c WHERE c.name = NEW.connection) THEN
		RAISE EXCEPTION 'outbox.connection: unknown connection "%" (see smspool.connections)', left(NEW.connection, 70)
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	IF TG_OP = 'INSERT' THEN
		NEW.parts := v_parts;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION smspool.outbox_validate() IS 'BEFORE INSERT (and UPDATE of application columns) row trigger of outbox: overwrites daemon columns at INSERT and refuses bad rows with "outbox.<column>: <rule> (got ...)".';
CREATE TRIGGER outbox_validate BEFORE INSERT ON smspool.outbox
	FOR EACH ROW EXECUTE FUNCTION smspool.outbox_validate();
CREATE TRIGGER outbox_validate_update
	BEFORE UPDATE OF recipient, sender, body, encoding, payload, udh, connection, priority, send_after, valid_until, msg_class
	ON smspool.outbox
	FOR EACH ROW EXECUTE FUNCTION smspool.outbox_validate();

---------------------------------------------------------------------------
-- queue: the small hot table the claim scans
---------------------------------------------------------------------------
CREATE TABLE smspool.queue (
	message_id bigint PRIMARY KEY,
	connection text,
	priority smallint NOT NULL DEFAULT 0,
	due_at timestamptz NOT NULL DEFAULT now(),
	valid_until timestamptz,
	claimed_by text
) WITH (
	-- Every claim and every result deletes or moves (non-HOT: due_at is
	-- indexed) rows of this table, so it churns through dead tuples far faster
	-- than its size: vacuum it after a fixed number of dead rows, whatever its
	-- size (scale factor 0), without cost-based sleeping (it is tiny), and keep
	-- its statistics fresh so the claim plan stays an index scan.
	autovacuum_vacuum_scale_factor = 0,
	autovacuum_vacuum_threshold = 1000,
	autovacuum_vacuum_insert_scale_factor = 0,
	autovacuum_vacuum_insert_threshold = 10000,
	autovacuum_vacuum_cost_delay = 0,
	autovacuum_analyze_scale_factor = 0,
	autovacuum_analyze_threshold = 5000
);
CREATE INDEX queue_claim ON smspool.queue (priority DESC, due_at);
CREATE INDEX queue_valid_until ON smspool.queue (valid_until) WHERE valid_until IS NOT NULL;
COMMENT ON TABLE smspool.queue IS 'Messages still to be sent (queued, or sending under a lease): one row per outbox row in state queued/sending, inserted by the outbox INSERT trigger, deleted when the message leaves the queue. Daemon-internal; applications read outbox.';
COMMENT ON COLUMN smspool.queue.message_id IS 'outbox.id.';
COMMENT ON COLUMN smspool.queue.connection IS 'Forced connection of the message (outbox.connection), NULL = routed.';
COMMENT ON COLUMN smspool.queue.priority IS 'outbox.priority.';
COMMENT ON COLUMN smspool.queue.due_at IS 'When the message may be claimed: send_after/now, the retry time, or while claimed the lease expiry (a crashed daemon''s messages become due again when the lease ends).';
COMMENT ON COLUMN smspool.queue.valid_until IS 'outbox.valid_until (for the expiry sweep in claim()).';
COMMENT ON COLUMN smspool.queue.claimed_by IS 'Daemon instance holding the lease, NULL when not claimed.';

-- Feeds the queue: ONE set-based insert and ONE notify per INSERT statement.
-- SECURITY DEFINER because the application role has no rights on queue.
CREATE FUNCTION smspool.outbox_enqueue() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO smspool.queue (message_id, connection, priority, due_at, valid_until)
	SELECT n.id, n.connection, n.priority, coalesce(n.send_after, now()), n.valid_until
	FROM new_rows n;
	IF FOUND THEN
		PERFORM pg_notify('smspool_outbox', '');
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER outbox_enqueue AFTER INSERT ON smspool.outbox
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION smspool.outbox_enqueue();

-- Keeps an unclaimed queue row in step when an admin changes the scheduling
-- columns of a queued message.
CREATE FUNCTION smspool.outbox_requeue() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE smspool.queue SET connection = NEW.connection, priority = NEW.priority,
		due_at = coalesce(NEW.next_attempt_at, NEW.send_after, due_at), valid_until = NEW.valid_until
	WHERE message_id = NEW.id AND claimed_by IS NULL;
	RETURN NULL;
END
$$;
CREATE TRIGGER outbox_requeue AFTER UPDATE OF connection, priority, send_after, valid_until ON smspool.outbox
	FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION smspool.outbox_requeue();

-- Status transitions.  Fires only when the status really changes.
CREATE FUNCTION smspool.outbox_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_legal boolean;
BEGIN
	IF NEW.status = 'cancelled' THEN
		IF OLD.status <> 'queued' THEN
			RAISE EXCEPTION 'outbox.status: only a queued message can be cancelled (message % is %)', OLD.id, OLD.status
				USING ERRCODE = 'check_violation';
		END IF;
		NEW.done_at := now();
		RETURN NEW;
	END IF;
	-- applications may only cancel (the daemon role is never an app member)
	IF pg_has_role('smspool_app', 'MEMBER') AND NOT pg_has_role('smspool_daemon', 'MEMBER') THEN
		RAISE EXCEPTION 'outbox.status: applications may only set status cancelled (message % from % to %)', OLD.id, OLD.status, NEW.status
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	v_legal := CASE OLD.status
		WHEN 'queued' THEN NEW.status IN ('sending', 'expired', 'failed')
		WHEN 'sending' THEN NEW.status IN ('queued', 'sent', 'failed', 'rejected', 'expired', 'delivered', 'undelivered')
		WHEN 'sent' THEN NEW.status IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed')
		ELSE false END;
	IF v_legal IS NOT TRUE THEN
		RAISE EXCEPTION 'outbox.status: illegal transition from % to % (message %)', OLD.status, coalesce(NEW.status, 'NULL'), OLD.id
			USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.done_at IS NULL AND NEW.status IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed') THEN
		NEW.done_at := now();
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION smspool.outbox_transition() IS 'Legal transitions: queued->sending|cancelled|expired|failed; sending->queued|sent|failed|rejected|expired|delivered|undelivered; sent->delivered|undelivered|expired|rejected|failed; nothing leaves a final state. Applications (smspool_app members that are not smspool_daemon members) may only cancel, and only from queued.';
-- The WHEN clause calls the function only where it has something to do: it
-- skips exactly the rows for which the function would return NEW unchanged
-- (a legal transition other than cancel, done_at already set or not needed,
-- by a role that is not an application-only role).  Those are the daemon's
-- own batch updates -- three per message -- which thus cost a plain
-- expression per row instead of a PL/pgSQL call.  Anything else (cancel,
-- illegal or NULL status, an application, a final state without done_at)
-- still runs the function, so behaviour is the same whoever updates.
CREATE TRIGGER outbox_transition BEFORE UPDATE OF status ON smspool.outbox
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND (
		CASE OLD.status
			WHEN 'queued' THEN NEW.status IN ('sending', 'expired', 'failed')
			WHEN 'sending' THEN NEW.status IN ('queued', 'sent', 'failed', 'rejected', 'expired', 'delivered', 'undelivered')
			WHEN 'sent' THEN NEW.status IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed')
			ELSE false END
		AND (NEW.done_at IS NOT NULL OR NEW.status NOT IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed'))
		AND NOT (pg_has_role('smspool_app', 'MEMBER') AND NOT pg_has_role('smspool_daemon', 'MEMBER'))
	) IS NOT TRUE)
	EXECUTE FUNCTION smspool.outbox_transition();

-- Cancelling removes the queue row.  SKIP LOCKED: if a daemon is claiming the
-- row right now, the claim sees the cancelled status after our commit and
-- drops the queue row itself (no lock-order deadlock).
CREATE FUNCTION smspool.outbox_cancelled() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM smspool.queue
	WHERE message_id = ANY (ARRAY(SELECT q.message_id FROM smspool.queue q WHERE q.message_id = NEW.id FOR UPDATE SKIP LOCKED));
	RETURN NULL;
END
$$;
CREATE TRIGGER outbox_cancelled AFTER UPDATE OF status ON smspool.outbox
	FOR EACH ROW WHEN (NEW.status = 'cancelled' AND OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION smspool.outbox_cancelled();

---------------------------------------------------------------------------
-- delivery reports
---------------------------------------------------------------------------
CREATE TABLE smspool.report_wait (
	remote_id text NOT NULL,
	connection text NOT NULL,
	message_id bigint NOT NULL,
	part int NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (remote_id, connection, part)
) WITH (
	-- insert at sent, delete at the final report: churns like the queue
	autovacuum_vacuum_scale_factor = 0.01,
	autovacuum_vacuum_threshold = 1000,
	autovacuum_vacuum_cost_delay = 0,
	autovacuum_analyze_scale_factor = 0.01,
	autovacuum_analyze_threshold = 5000
);
COMMENT ON TABLE smspool.report_wait IS 'One row per sent part awaiting its delivery report (messages with want_report). Matched by (remote_id, connection) -- remote_id first in the key -- and deleted when the part''s final report arrives. Daemon-internal.';
COMMENT ON COLUMN smspool.report_wait.remote_id IS 'Remote message id of the part.';
COMMENT ON COLUMN smspool.report_wait.connection IS 'Connection the part was sent on.';
COMMENT ON COLUMN smspool.report_wait.message_id IS 'outbox.id.';
COMMENT ON COLUMN smspool.report_wait.part IS 'Part number, 1-based (index into outbox.remote_ids / part_status).';
COMMENT ON COLUMN smspool.report_wait.created_at IS 'When the part was recorded as sent.';

CREATE TABLE smspool.reports (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	received_at timestamptz NOT NULL DEFAULT now(),
	connection text NOT NULL,
	remote_id text NOT NULL,
	state text NOT NULL,
	error_code text,
	text text,
	message_id bigint,
	part int,
	matched_at timestamptz
) WITH (
	autovacuum_vacuum_insert_scale_factor = 0.05,
	autovacuum_analyze_scale_factor = 0.02
);
CREATE INDEX reports_unmatched ON smspool.reports (remote_id, connection) WHERE message_id IS NULL;
CREATE INDEX reports_message ON smspool.reports (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX reports_received_brin ON smspool.reports USING brin (received_at);
COMMENT ON TABLE smspool.reports IS 'Every delivery report ever received, never dropped. Matched to its message at insert when the part is awaited (report_wait); an unmatched one (message_id NULL: the report came before the submit response was committed, or nothing awaits it) is matched later when a message with that remote id is recorded as sent.';
COMMENT ON COLUMN smspool.reports.id IS 'Report id.';
COMMENT ON COLUMN smspool.reports.received_at IS 'When it was stored.';
COMMENT ON COLUMN smspool.reports.connection IS 'Connection it arrived on.';
COMMENT ON COLUMN smspool.reports.remote_id IS 'Remote message id it refers to.';
COMMENT ON COLUMN smspool.reports.state IS 'Final: delivered|undelivered|expired|rejected|deleted; intermediate (stored, does not finish the message): accepted|enroute|unknown|anything else.';
COMMENT ON COLUMN smspool.reports.error_code IS 'Error code in the report.';
COMMENT ON COLUMN smspool.reports.text IS 'Raw receipt text.';
COMMENT ON COLUMN smspool.reports.message_id IS 'Matched outbox.id, NULL while unmatched.';
COMMENT ON COLUMN smspool.reports.part IS 'Matched part number (1-based).';
COMMENT ON COLUMN smspool.reports.matched_at IS 'When it was matched.';

CREATE FUNCTION smspool.report_state_is_final(p_state text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT p_state IN ('delivered', 'undelivered', 'expired', 'rejected', 'deleted')
$$;
COMMENT ON FUNCTION smspool.report_state_is_final(text) IS 'True for the final report states delivered, undelivered, expired, rejected, deleted.';

---------------------------------------------------------------------------
-- inbox
---------------------------------------------------------------------------
CREATE TABLE smspool.inbox (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	received_at timestamptz NOT NULL DEFAULT now(),
	connection text,
	sender text,
	recipient text,
	body text,
	payload text,
	udh text,
	encoding text,
	parts int NOT NULL DEFAULT 1,
	smsc_timestamp timestamptz,
	consumed_at timestamptz,
	consumed_by text
) WITH (autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);
CREATE INDEX inbox_unconsumed ON smspool.inbox (id) WHERE consumed_at IS NULL;
COMMENT ON TABLE smspool.inbox IS 'Received messages (committed before the remote side gets its acknowledgement). Applications consume them exactly once with inbox_take(); NOTIFY smspool_inbox once per inserting statement.';
COMMENT ON COLUMN smspool.inbox.id IS 'Inbound message id.';
COMMENT ON COLUMN smspool.inbox.received_at IS 'When it was stored.';
COMMENT ON COLUMN smspool.inbox.connection IS 'Connection it arrived on.';
COMMENT ON COLUMN smspool.inbox.sender IS 'Originator.';
COMMENT ON COLUMN smspool.inbox.recipient IS 'Destination (our number).';
COMMENT ON COLUMN smspool.inbox.body IS 'Text (NULL for binary messages).';
COMMENT ON COLUMN smspool.inbox.payload IS 'Binary user data as hex (binary messages).';
COMMENT ON COLUMN smspool.inbox.udh IS 'User data header as hex, if any.';
COMMENT ON COLUMN smspool.inbox.encoding IS 'gsm7|ucs2|binary as received.';
COMMENT ON COLUMN smspool.inbox.parts IS 'Number of parts it was reassembled from.';
COMMENT ON COLUMN smspool.inbox.smsc_timestamp IS 'Service-centre time stamp, if given.';
COMMENT ON COLUMN smspool.inbox.consumed_at IS 'When an application took it (inbox_take); NULL = not yet.';
COMMENT ON COLUMN smspool.inbox.consumed_by IS 'Who took it.';

CREATE FUNCTION smspool.inbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM new_rows) THEN
		PERFORM pg_notify('smspool_inbox', '');
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER inbox_notify AFTER INSERT ON smspool.inbox
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION smspool.inbox_notify();

CREATE FUNCTION smspool.inbox_take(p_limit int DEFAULT 100, p_consumer text DEFAULT current_user)
RETURNS SETOF smspool.inbox
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	WITH t AS (
		UPDATE smspool.inbox i SET consumed_at = now(), consumed_by = p_consumer
		WHERE i.id = ANY (ARRAY(
			SELECT u.id FROM smspool.inbox u WHERE u.consumed_at IS NULL
			ORDER BY u.id LIMIT p_limit FOR UPDATE SKIP LOCKED))
		  AND i.consumed_at IS NULL
		RETURNING i.*
	)
	SELECT * FROM t ORDER BY id
$$;
COMMENT ON FUNCTION smspool.inbox_take(int, text) IS 'Takes up to p_limit unconsumed inbox rows (oldest first), marks them consumed by p_consumer and returns them. Each row is returned to exactly one caller (FOR UPDATE SKIP LOCKED); concurrent consumers never wait on each other. Roll back to give the rows back.';
