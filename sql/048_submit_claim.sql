-- 048_submit_claim: claim at submit (issue 15, the link's speed).
--
-- A link-server hands the daemon whole batches; until now each row was
-- inserted queued by submit() and claimed again by the claimer in a second
-- transaction (the claim's queue scan, its FOR UPDATE of queue and outbox,
-- the UPDATE of the queue lease and the UPDATE of outbox to sending: about a
-- third of B's claim-and-submit time in the link bench).  submit_claim()
-- runs submit() so that the rows claim() would take now are INSERTed
-- already claimed by the calling instance: outbox status sending, attempts
-- 1, the queue row leased to it (claimed_by, due_at = now() + lease_s), in
-- the same transaction, and returns them in claim()'s row shape (route
-- candidates included) for the daemon's loop to dispatch.
--
-- * Only rows this call inserts (a key already used is answered with the id
--   it has and stays as it is: never claimed twice), only up to p_budget
--   rows (the room the daemon's loop has), only rows due now (send_after
--   not in the future), still valid (valid_until), routed or forced to a
--   connection of p_connections; the others are inserted queued, as before.
-- * Order: a row claimed at submit does not wait behind queued rows of the
--   same or a higher priority that wait for room; the daemon lends room for
--   it only from what its claimer has not been asked to fill, so both share
--   the room its connections have and neither overfills it.
-- * After the commit they are like any claimed row: a daemon that dies
--   loses its lease and claim() takes them over (attempts 2 then).
-- * The mechanism: submit_claim() sets transaction-local settings that the
--   outbox triggers read (outbox_validate decides per row and counts the
--   budget down, outbox_enqueue leases the queue rows and records the ids)
--   and clears them before it returns.  A settings change made by a failed
--   INSERT (submit() retries a refused chunk row by row in subtransactions)
--   is undone with it.  Only a member of smspool_daemon gets rows inserted
--   claimed: an application that sets the settings itself inserts queued.
-- * submit() itself, and every other caller of it (smpp-server, ucp-server,
--   http-api, SQL inserts), is unchanged: with the settings unset the
--   triggers do what 042 made them do.

CREATE OR REPLACE FUNCTION smspool.outbox_validate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_parts int;
	v_max int;
	v_left int;
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
		-- 048: inserted already claimed, within submit_claim() (the
		-- daemon's link batches), when claim() would take the row now
		IF current_setting('smspool.claim_at_insert', true) <> '' THEN
			v_left := current_setting('smspool.claim_left')::int;
			IF v_left > 0 AND (NEW.send_after IS NULL OR NEW.send_after <= now())
			   AND (NEW.valid_until IS NULL OR NEW.valid_until > now())
			   AND (NEW.connection IS NULL OR current_setting('smspool.claim_conns') = ''
			        OR NEW.connection = ANY (current_setting('smspool.claim_conns')::text[]))
			   AND pg_has_role('smspool_daemon', 'MEMBER') THEN
				NEW.status := 'sending';
				NEW.attempts := 1;
				PERFORM set_config('smspool.claim_left', (v_left - 1)::text, true);
			END IF;
		END IF;
	END IF;
	IF NEW.recipient IS NULL OR NEW.recipient !~ '^\+?[0-9]{1,20}$' THEN
		RAISE EXCEPTION 'outbox.recipient: must be 1 to 20 digits with an optional leading + (got %)',
			coalesce('"' || left(NEW.recipient, 40) || '"', 'NULL') USING ERRCODE = 'check_violation', COLUMN = 'recipient';
	END IF;
	IF NEW.sender IS NOT NULL AND NEW.sender !~ '^\+?[0-9]{1,20}$'
	   AND NEW.sender !~ '^[@\u00A3$\u00A5\u00E8\u00E9\u00F9\u00EC\u00F2\u00C7\u00D8\u00F8\u00C5\u00E5\u0394_\u03A6\u0393\u039B\u03A9\u03A0\u03A8\u03A3\u0398\u039E\u00C6\u00E6\u00DF\u00C9 !"#\u00A4%&''()*+,./0-9:;<=>?\u00A1A-Z\u00C4\u00D6\u00D1\u00DC\u00A7\u00BFa-z\u00E4\u00F6\u00F1\u00FC\u00E0-]{1,11}$' THEN
		RAISE EXCEPTION 'outbox.sender: must be 1 to 20 digits with an optional leading + or 1 to 11 GSM characters (got "%")',
			left(NEW.sender, 40) USING ERRCODE = 'check_violation', COLUMN = 'sender';
	END IF;
	-- the four plain rules in one test; each on its own (in the order of
	-- their messages) only when one fails
	IF (NEW.encoding IN ('auto', 'gsm7', 'ucs2', 'binary') AND NEW.priority BETWEEN 0 AND 9
	    AND (NEW.msg_class IS NULL OR NEW.msg_class BETWEEN 0 AND 3)
	    AND (NEW.valid_until IS NULL OR NEW.send_after IS NULL OR NEW.valid_until >= NEW.send_after)) IS NOT TRUE THEN
		IF NEW.encoding IS NULL OR NEW.encoding NOT IN ('auto', 'gsm7', 'ucs2', 'binary') THEN
			RAISE EXCEPTION 'outbox.encoding: must be auto, gsm7, ucs2 or binary (got %)',
				coalesce('"' || left(NEW.encoding, 40) || '"', 'NULL') USING ERRCODE = 'check_violation', COLUMN = 'encoding';
		END IF;
		IF NEW.priority IS NULL OR NEW.priority < 0 OR NEW.priority > 9 THEN
			RAISE EXCEPTION 'outbox.priority: must be 0 to 9 (got %)', coalesce(NEW.priority::text, 'NULL')
				USING ERRCODE = 'check_violation', COLUMN = 'priority';
		END IF;
		IF NEW.msg_class < 0 OR NEW.msg_class > 3 THEN
			RAISE EXCEPTION 'outbox.msg_class: must be 0 to 3 or NULL (got %)', NEW.msg_class
				USING ERRCODE = 'check_violation', COLUMN = 'msg_class';
		END IF;
		IF NEW.valid_until < NEW.send_after THEN
			RAISE EXCEPTION 'outbox.valid_until: must not be before send_after (got valid_until % < send_after %)', NEW.valid_until, NEW.send_after
				USING ERRCODE = 'check_violation', COLUMN = 'valid_until';
		END IF;
	END IF;
	IF NEW.encoding = 'binary' THEN
		IF NEW.payload IS NULL OR NEW.payload !~ '^([0-9A-Fa-f]{2})+$' THEN
			RAISE EXCEPTION 'outbox.payload: encoding binary needs a non-empty even-length hex string (got %)',
				coalesce('"' || left(NEW.payload, 40) || '"', 'NULL') USING ERRCODE = 'check_violation', COLUMN = 'payload';
		END IF;
		IF NEW.udh IS NOT NULL AND NEW.udh !~ '^([0-9A-Fa-f]{2})+$' THEN
			RAISE EXCEPTION 'outbox.udh: must be a non-empty even-length hex string (got "%")', left(NEW.udh, 40)
				USING ERRCODE = 'check_violation', COLUMN = 'udh';
		END IF;
		v_parts := CASE WHEN octet_length(NEW.payload) + coalesce(octet_length(NEW.udh), 0) <= 280 THEN 1
			ELSE smspool.sms_parts(NULL, 'binary', NEW.payload, NEW.udh) END;
	ELSE
		-- a text row: non-empty body, no payload or udh, and the gsm7 test
		-- only for encoding gsm7 (one test when all is well)
		IF (NEW.body <> '' AND NEW.payload IS NULL AND NEW.udh IS NULL AND NEW.encoding <> 'gsm7') IS NOT TRUE THEN
			IF NEW.body IS NULL OR NEW.body = '' THEN
				RAISE EXCEPTION 'outbox.body: must not be empty for encoding % (binary data goes in payload with encoding binary)', NEW.encoding
					USING ERRCODE = 'check_violation', COLUMN = 'body';
			END IF;
			IF NEW.payload IS NOT NULL THEN
				RAISE EXCEPTION 'outbox.payload: only allowed with encoding binary (got encoding %)', NEW.encoding
					USING ERRCODE = 'check_violation', COLUMN = 'payload';
			END IF;
			IF NEW.udh IS NOT NULL THEN
				RAISE EXCEPTION 'outbox.udh: only allowed with encoding binary (got encoding %)', NEW.encoding
					USING ERRCODE = 'check_violation', COLUMN = 'udh';
			END IF;
			IF NEW.encoding = 'gsm7' AND smspool.sms_encoding(NEW.body) <> 'gsm7' THEN
				RAISE EXCEPTION 'outbox.body: encoding gsm7 but character "%" is not in GSM 03.38 (use encoding auto or ucs2)',
					(regexp_match(NEW.body, '[^@\u00A3$\u00A5\u00E8\u00E9\u00F9\u00EC\u00F2\u00C7\n\u00D8\u00F8\r\u00C5\u00E5\u0394_\u03A6\u0393\u039B\u03A9\u03A0\u03A8\u03A3\u0398\u039E\u00C6\u00E6\u00DF\u00C9 !"#\u00A4%&''()*+,./0-9:;<=>?\u00A1A-Z\u00C4\u00D6\u00D1\u00DC\u00A7\u00BFa-z\u00E4\u00F6\u00F1\u00FC\u00E0\f^{}\\\[~\]|\u20AC-]'))[1]
					USING ERRCODE = 'check_violation', COLUMN = 'body';
			END IF;
		END IF;
		v_parts := CASE WHEN char_length(NEW.body) <= 35 THEN 1
			ELSE smspool.sms_parts(NEW.body, NEW.encoding) END;
	END IF;
	IF TG_OP = 'INSERT' THEN
		-- max_parts: checked once per statement by outbox_enqueue (040)
		NEW.parts := v_parts;
	ELSIF v_parts > 1 THEN
		v_max := smspool.config_int('max_parts');
		IF v_parts > v_max THEN
			RAISE EXCEPTION 'outbox.%: the message needs % parts, more than config max_parts (%)',
				CASE WHEN NEW.encoding = 'binary' THEN 'payload' ELSE 'body' END, v_parts, v_max
				USING ERRCODE = 'check_violation', COLUMN = CASE WHEN NEW.encoding = 'binary' THEN 'payload' ELSE 'body' END;
		END IF;
	END IF;
	IF NEW.connection IS NOT NULL
	   AND (TG_OP = 'INSERT' OR NEW.connection IS DISTINCT FROM OLD.connection)
	   AND NOT EXISTS (SELECT 1 FROM smspool.connections c WHERE c.name = NEW.connection) THEN
		RAISE EXCEPTION 'outbox.connection: unknown connection "%" (see smspool.connections)', left(NEW.connection, 70)
			USING ERRCODE = 'foreign_key_violation', COLUMN = 'connection';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION smspool.outbox_validate() IS 'BEFORE INSERT (and UPDATE of application columns) row trigger of outbox: overwrites daemon columns at INSERT, sets parts (sms_parts estimate), and refuses bad rows with "outbox.<column>: <rule> (got ...)". The max_parts rule of an INSERT is checked once per statement by outbox_enqueue; of an UPDATE, here. Within submit_claim() (048) a row claim() would take now is inserted claimed (status sending, attempts 1), up to the call''s budget.';

CREATE OR REPLACE FUNCTION smspool.outbox_enqueue() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_rows bigint;
	v_conns bigint;
	v_keys bigint;
	v_parts int;
	v_waiting boolean;
	v_max int;
	v_got bigint;
	v_id bigint;
	r record;
	v_to text;          -- 048: the instance rows are claimed for (submit_claim)
	v_lease interval;
	v_claimed text;     -- the ids inserted claimed, comma-separated
BEGIN
	v_to := nullif(current_setting('smspool.claim_at_insert', true), '');
	IF v_to IS NOT NULL THEN
		v_lease := make_interval(secs => coalesce(smspool.config_int('lease_s'), 60));
	END IF;
	-- one statement: the queue rows, and what the rest needs to know
	WITH q AS (
		INSERT INTO smspool.queue (message_id, connection, priority, due_at, valid_until, claimed_by)
		SELECT n.id, n.connection, n.priority,
			CASE WHEN n.status = 'sending' AND v_to IS NOT NULL THEN now() + v_lease ELSE coalesce(n.send_after, now()) END,
			n.valid_until, CASE WHEN n.status = 'sending' THEN v_to END
		FROM new_rows n
	)
	SELECT count(*), count(n.connection), count(n.idempotency_key), max(n.parts),
		EXISTS (SELECT 1 FROM smspool.claimer_waiting),
		string_agg(n.id::text, ',') FILTER (WHERE n.status = 'sending' AND v_to IS NOT NULL)
	INTO v_rows, v_conns, v_keys, v_parts, v_waiting, v_claimed
	FROM new_rows n;
	IF v_rows = 0 THEN
		RETURN NULL;
	END IF;
	-- the connections named must be able to send (008): each distinct one
	-- once (outbox_sending_connection checks the UPDATEs)
	IF v_conns > 0 THEN
		SELECT c.name, c.type INTO r
		FROM (SELECT DISTINCT n.connection FROM new_rows n WHERE n.connection IS NOT NULL) d
		JOIN smspool.connections c ON c.name = d.connection
		JOIN smspool.connection_types t ON t.type = c.type
		WHERE NOT ('send' = ANY (t.caps))
		ORDER BY c.name LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'outbox.connection: connection "%" (type %) takes messages in and cannot send them; name a connection of a sending type',
				left(r.name, 70), r.type USING ERRCODE = 'check_violation', COLUMN = 'connection';
		END IF;
	END IF;
	IF v_parts > 1 THEN
		v_max := smspool.config_int('max_parts');
		IF v_parts > v_max THEN
			SELECT n.parts, n.encoding INTO r FROM new_rows n WHERE n.parts > v_max ORDER BY n.id LIMIT 1;
			RAISE EXCEPTION 'outbox.%: the message needs % parts, more than config max_parts (%)',
				CASE WHEN r.encoding = 'binary' THEN 'payload' ELSE 'body' END, r.parts, v_max
				USING ERRCODE = 'check_violation', COLUMN = CASE WHEN r.encoding = 'binary' THEN 'payload' ELSE 'body' END;
		END IF;
	END IF;
	IF v_keys > 0 THEN
		-- a key twice in the statement: the first row (by id) takes it
		INSERT INTO smspool.outbox_keys (scope, key, message_id)
		SELECT coalesce(n.account, n.tenant, ''), n.idempotency_key, n.id
		FROM new_rows n WHERE n.idempotency_key IS NOT NULL
		ORDER BY n.id
		ON CONFLICT (scope, key) DO NOTHING;
		GET DIAGNOSTICS v_got = ROW_COUNT;
		IF v_got < v_keys THEN
			SELECT n.idempotency_key AS key, coalesce(n.account, n.tenant, '') AS scope INTO r
			FROM new_rows n
			WHERE n.idempotency_key IS NOT NULL
			  AND NOT EXISTS (SELECT 1 FROM smspool.outbox_keys k
			                  WHERE k.scope = coalesce(n.account, n.tenant, '') AND k.key = n.idempotency_key
			                    AND k.message_id = n.id)
			ORDER BY n.id LIMIT 1;
			SELECT k.message_id INTO v_id FROM smspool.outbox_keys k WHERE k.scope = r.scope AND k.key = r.key;
			RAISE EXCEPTION 'duplicate key value violates unique constraint "outbox.idempotency_key: already used"'
				USING ERRCODE = 'unique_violation', CONSTRAINT = 'outbox.idempotency_key: already used', COLUMN = 'idempotency_key',
				      DETAIL = format('Key %s already used by message %s.', r.key, v_id),
				      TABLE = 'outbox', SCHEMA = 'smspool';
		END IF;
	END IF;
	IF v_claimed IS NOT NULL THEN
		-- read by submit_claim(); a failed statement's subtransaction
		-- takes its ids back with it
		PERFORM set_config('smspool.claimed_ids', current_setting('smspool.claimed_ids', true) || ',' || v_claimed, true);
	END IF;
	-- rows inserted claimed need no claimer
	IF v_waiting AND (v_claimed IS NULL OR v_rows > cardinality(string_to_array(v_claimed, ','))) THEN
		PERFORM pg_notify('smspool_outbox', '');
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.outbox_enqueue() IS 'AFTER INSERT statement trigger of outbox (transition table new_rows): one queue row per message (leased to the instance of submit_claim() for the rows inserted claimed, 048); the connections named must have the send capability (else "outbox.connection: connection ... takes messages in and cannot send them; ...", 23514); config max_parts checked once for the statement (a row with more parts raises "outbox.<body|payload>: the message needs N parts, more than config max_parts (M)", 23514); the idempotency keys taken in outbox_keys (a key already used raises unique_violation 23505 on "outbox.idempotency_key: already used", detail "Key K already used by message N."); NOTIFY smspool_outbox only while a claimer waits (claimer_waiting) and some row is left queued.';

CREATE FUNCTION smspool.submit_claim(p_instance text, p_connections text[], p_budget int,
	p_account text, p_recipients text[], p_senders text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_client_refs text[], p_priorities int[],
	p_want_reports boolean[], p_flash boolean[], p_msg_classes int[], p_send_after timestamptz[],
	p_valid_until timestamptz[], p_keys text[], p_report_on int[], p_client_parts int[])
RETURNS TABLE (idx int, id bigint, error_class text, error text, error_column text, error_state text, taken_id bigint,
	recipient text, sender text, body text, payload text, udh text, encoding text, priority smallint,
	want_report boolean, flash boolean, msg_class smallint, valid_until timestamptz, client_ref text,
	attempts integer, connection text, route_connections text[], route_positions integer[], route_weights integer[],
	remote_ids text, connection_used text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	v_ids bigint[];
BEGIN
	IF coalesce(p_budget, 0) > 0 AND coalesce(p_instance, '') <> '' THEN
		PERFORM set_config('smspool.claim_at_insert', p_instance, true),
			set_config('smspool.claim_left', p_budget::text, true),
			set_config('smspool.claim_conns', coalesce(p_connections::text, ''), true),
			set_config('smspool.claimed_ids', '', true);
	END IF;
	-- submit()'s answers: idx set, the claim columns NULL
	RETURN QUERY SELECT s.idx, s.id, s.error_class, s.error, s.error_column, s.error_state, s.taken_id,
		NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::smallint,
		NULL::boolean, NULL::boolean, NULL::smallint, NULL::timestamptz, NULL::text,
		NULL::int, NULL::text, NULL::text[], NULL::int[], NULL::int[], NULL::text, NULL::text
	FROM smspool.submit(p_account, p_recipients, p_senders, p_bodies, p_payloads, p_udhs, p_encodings, p_client_refs,
		p_priorities, p_want_reports, p_flash, p_msg_classes, p_send_after, p_valid_until, p_keys, p_report_on,
		p_client_parts) s;
	IF coalesce(p_budget, 0) <= 0 OR coalesce(p_instance, '') = '' THEN
		RETURN;
	END IF;
	v_ids := string_to_array(trim(BOTH ',' FROM current_setting('smspool.claimed_ids', true)), ',')::bigint[];
	-- later INSERTs of the caller's transaction are inserted queued
	PERFORM set_config('smspool.claim_at_insert', '', true), set_config('smspool.claimed_ids', '', true);
	IF cardinality(v_ids) IS NOT DISTINCT FROM 0 OR v_ids IS NULL THEN
		RETURN;
	END IF;
	-- the rows inserted claimed, as claim() returns them (idx NULL)
	RETURN QUERY
	SELECT NULL::int, o.id, NULL::text, NULL::text, NULL::text, NULL::text, NULL::bigint,
		o.recipient, o.sender, o.body, o.payload, o.udh, o.encoding, o.priority,
		o.want_report, o.flash, o.msg_class, o.valid_until, o.client_ref, o.attempts, o.connection,
		CASE WHEN o.connection IS NOT NULL THEN ARRAY[o.connection] ELSE coalesce(r.conns, '{}') END,
		CASE WHEN o.connection IS NOT NULL THEN ARRAY[0] ELSE coalesce(r.positions, '{}') END,
		CASE WHEN o.connection IS NOT NULL THEN ARRAY[1] ELSE coalesce(r.weights, '{}') END,
		NULL::text, NULL::text
	FROM smspool.outbox o
	LEFT JOIN LATERAL (
		SELECT array_agg(c.connection ORDER BY c."position", c.connection) AS conns,
		       array_agg(c."position" ORDER BY c."position", c.connection) AS positions,
		       array_agg(c.weight ORDER BY c."position", c.connection) AS weights
		FROM smspool.route_candidates(o.recipient, o.sender) c
		WHERE o.connection IS NULL
	) r ON true
	WHERE o.id = ANY (v_ids) AND o.id BETWEEN (SELECT min(x) FROM unnest(v_ids) x) AND (SELECT max(x) FROM unnest(v_ids) x)
	  AND o.status = 'sending'
	ORDER BY o.priority DESC, o.id;
END
$$;
COMMENT ON FUNCTION smspool.submit_claim(text, text[], int, text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[], int[]) IS 'Daemon (link-server batches): submit() of p_account''s elements (same arguments, same answers: one row per element with idx set), where up to p_budget of the rows it inserts that claim(p_instance, p_connections, ...) would take now (due, still valid, routed or forced to one of p_connections) are inserted already claimed by p_instance (outbox sending, attempts 1, queue leased for config lease_s) and returned after the answers, one row each with idx NULL in claim()''s columns (route candidates included), to be sent at once. A key already used is answered with its id and never claimed. The others are inserted queued, as by submit().';
REVOKE EXECUTE ON FUNCTION smspool.submit_claim(text, text[], int, text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[], int[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.submit_claim(text, text[], int, text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[], int[]) TO smspool_daemon;
