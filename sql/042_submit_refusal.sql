-- 042_submit_refusal: a refused submission says which field and why, in
-- columns, not only in its text (issue 17).
--
-- The drivers of server-side connections (SMPP submit_sm, UCP op 51, the
-- link, the HTTP send API, odbc) answered a refusal by reading the error
-- text ("outbox.recipient: ...", "already taken as message N").  Now:
--
-- 1. The outbox rules name their column in the error itself (RAISE ...
--    USING COLUMN, PG_DIAG_COLUMN_NAME for a client): outbox_validate,
--    outbox_enqueue (connection, max_parts, the idempotency key).  Same
--    messages, same SQLSTATEs.
-- 2. smspool.submit() returns three more columns per element:
--      error_column  the outbox column refused: the error's COLUMN, else the
--                    one column of the CHECK constraint it broke
--                    (pg_constraint), 'account' for an unknown or disabled
--                    account, 'client_ref' for a client_ref already taken;
--      error_state   the SQLSTATE (23514 check, 23505 taken, 28000 account);
--      taken_id      the message that already has the element's client_ref
--                    (an account with unique_client_ref).
--    The return type changes, so the three forms are dropped and made again
--    (the 15- and 16-argument forms are thin wrappers of the 17-argument
--    one), with their grants.  error_class and error are unchanged.
--
-- The daemon maps these once (src/submit_refusal.c) to struct submit_result
-- (drivers/driver.h); each driver maps (error, field) to its protocol code.

---------------------------------------------------------------------------
-- 1. The rules name their column
---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION smspool.outbox_validate() RETURNS trigger
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
COMMENT ON FUNCTION smspool.outbox_validate() IS 'BEFORE INSERT (and UPDATE of application columns) row trigger of outbox: overwrites daemon columns at INSERT, sets parts (sms_parts estimate), and refuses bad rows with "outbox.<column>: <rule> (got ...)". The max_parts rule of an INSERT is checked once per statement by outbox_enqueue; of an UPDATE, here.';
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
BEGIN
	-- one statement: the queue rows, and what the rest needs to know
	WITH q AS (
		INSERT INTO smspool.queue (message_id, connection, priority, due_at, valid_until)
		SELECT n.id, n.connection, n.priority, coalesce(n.send_after, now()), n.valid_until
		FROM new_rows n
	)
	SELECT count(*), count(n.connection), count(n.idempotency_key), max(n.parts),
		EXISTS (SELECT 1 FROM smspool.claimer_waiting)
	INTO v_rows, v_conns, v_keys, v_parts, v_waiting
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
	IF v_waiting THEN
		PERFORM pg_notify('smspool_outbox', '');
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.outbox_enqueue() IS 'AFTER INSERT statement trigger of outbox (transition table new_rows): one queue row per message; the connections named must have the send capability (else "outbox.connection: connection ... takes messages in and cannot send them; ...", 23514); config max_parts checked once for the statement (a row with more parts raises "outbox.<body|payload>: the message needs N parts, more than config max_parts (M)", 23514); the idempotency keys taken in outbox_keys (a key already used raises unique_violation 23505 on "outbox.idempotency_key: already used", detail "Key K already used by message N."); NOTIFY smspool_outbox only while a claimer waits (claimer_waiting).';

---------------------------------------------------------------------------
-- 2. submit(): the field refused, the SQLSTATE, the id that has the key
---------------------------------------------------------------------------
DROP FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[]);
DROP FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[]);
DROP FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[], int[]);

CREATE FUNCTION smspool.submit(p_account text, p_recipients text[], p_senders text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_client_refs text[], p_priorities int[],
	p_want_reports boolean[], p_flash boolean[], p_msg_classes int[], p_send_after timestamptz[],
	p_valid_until timestamptz[], p_keys text[], p_report_on int[], p_client_parts int[])
RETURNS TABLE (idx int, id bigint, error_class text, error text, error_column text, error_state text, taken_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	v_n int;
	v_enabled boolean;
	v_unique boolean;
	v_sender text;
	v_conns text[];
	v_conn1 text;           -- the connection of a one-entry connections list
	v_ids bigint[];
	v_taken int[] := '{}';  -- elements whose key the account already has
	v_taken_ids bigint[];   -- and the ids of their messages
	v_keyed int[] := '{}';  -- elements whose p_keys key the account already used
	v_old_ord int[] := '{}';    -- elements answered with the id of an existing row
	v_old_id bigint[] := '{}';  -- and that id
	v_id bigint;
	v_lo int;
	v_hi int;
	v_size int;          -- rows per INSERT: v_n, then 64, then 1
	v_single_hi int;     -- end of the chunk being done row by row
	v_pri int;
	v_cls int;
	v_ro int;
	v_cp int;
	v_con text;
	v_col text;
	v_state text;
BEGIN
	-- as many elements as the longest array (like unnest)
	v_n := greatest(cardinality(p_recipients), cardinality(p_senders), cardinality(p_bodies), cardinality(p_payloads),
		cardinality(p_udhs), cardinality(p_encodings), cardinality(p_client_refs), cardinality(p_priorities),
		cardinality(p_want_reports), cardinality(p_flash), cardinality(p_msg_classes), cardinality(p_send_after),
		cardinality(p_valid_until));
	IF coalesce(v_n, 0) = 0 THEN
		RETURN;
	END IF;

	SELECT a.enabled, a.default_sender, a.connections, a.unique_client_ref INTO v_enabled, v_sender, v_conns, v_unique
	FROM smspool.accounts a WHERE a.system_id = p_account;
	IF v_enabled IS NOT TRUE THEN
		RETURN QUERY SELECT g, NULL::bigint, 'forbidden'::text,
			CASE WHEN v_enabled IS NULL
				THEN format('outbox.account: unknown account "%s"', left(p_account, 40))
				ELSE format('outbox.account: account "%s" is disabled', p_account) END,
			'account'::text, '28000'::text, NULL::bigint
		FROM generate_series(1, v_n) g;
		RETURN;
	END IF;
	-- account_connection() of a one-entry list is that entry, whatever the routes
	IF cardinality(v_conns) = 1 THEN
		v_conn1 := v_conns[1];
	END IF;

	-- explicit idempotency keys (p_keys, e.g. the link's "<instance>:<id>"):
	-- an element whose key this account already used is answered with the
	-- id it got then, and not inserted again (the daemon passes an array of
	-- NULLs when no submission has a key: no lookup then)
	IF cardinality(array_remove(p_keys, NULL)) > 0 THEN
		SELECT coalesce(array_agg(k.ord::int ORDER BY k.ord), '{}'), array_agg(x.message_id ORDER BY k.ord)
		INTO v_keyed, v_taken_ids
		FROM unnest(p_keys) WITH ORDINALITY AS k(key, ord)
		JOIN smspool.outbox_keys x ON x.scope = p_account AND x.key = k.key
		WHERE k.key IS NOT NULL AND k.ord <= v_n;
		RETURN QUERY SELECT x.o, x.i, NULL::text, NULL::text, NULL::text, NULL::text, NULL::bigint
			FROM unnest(v_keyed, v_taken_ids) AS x(o, i);
		v_taken := v_keyed;
		v_old_ord := v_keyed;
		v_old_id := coalesce(v_taken_ids, '{}');
	END IF;
	-- client_ref as idempotency key (accounts with unique_client_ref, for the
	-- elements without an explicit key): the keys already taken, in one query
	-- (by client_ref, so rows of before 024 without idempotency_key count)
	IF v_unique AND p_client_refs IS NOT NULL THEN
		SELECT coalesce(array_agg(t.ord::int ORDER BY t.ord), '{}'), array_agg(f.id ORDER BY t.ord)
		INTO v_keyed, v_taken_ids
		FROM unnest(p_client_refs) WITH ORDINALITY AS t(ref, ord)
		CROSS JOIN LATERAL (SELECT o.id FROM smspool.outbox o
			WHERE o.client_ref = t.ref AND o.account = p_account ORDER BY o.id LIMIT 1) f
		WHERE t.ref IS NOT NULL AND t.ord <= v_n AND (p_keys IS NULL OR p_keys[t.ord] IS NULL);
		RETURN QUERY SELECT x.o, NULL::bigint, 'invalid'::text, format('outbox.client_ref: already taken as message %s', x.i),
			'client_ref'::text, '23505'::text, x.i
			FROM unnest(v_keyed, v_taken_ids) AS x(o, i);
		v_taken := v_taken || v_keyed;
	END IF;

	v_lo := 1;
	v_size := v_n;
	WHILE v_lo <= v_n LOOP
		v_hi := least(v_lo + v_size - 1, v_n);
		IF v_size = 1 AND v_lo > v_single_hi THEN   -- the failing chunk is done: back to chunks
			v_size := 64;
			CONTINUE;
		END IF;
		BEGIN
			IF v_lo = v_hi THEN
				-- beyond smallint the cast fails with a message naming no
				-- column; report_on and client_parts get their own message
				-- rather than the CHECK constraint's, which names the partition
				v_pri := p_priorities[v_lo];
				v_cls := p_msg_classes[v_lo];
				v_ro := p_report_on[v_lo];
				v_cp := p_client_parts[v_lo];
				IF v_pri NOT BETWEEN -32768 AND 32767 THEN
					RAISE EXCEPTION 'outbox.priority: must be 0 to 9 (got %)', v_pri USING ERRCODE = 'check_violation', COLUMN = 'priority';
				END IF;
				IF v_cls NOT BETWEEN -32768 AND 32767 THEN
					RAISE EXCEPTION 'outbox.msg_class: must be 0 to 3 or NULL (got %)', v_cls USING ERRCODE = 'check_violation', COLUMN = 'msg_class';
				END IF;
				IF v_ro NOT IN (1, 2) THEN
					RAISE EXCEPTION 'outbox.report_on: must be 1, 2 or NULL (got %)', v_ro USING ERRCODE = 'check_violation', COLUMN = 'report_on';
				END IF;
				IF v_cp NOT BETWEEN 1 AND 255 THEN
					RAISE EXCEPTION 'outbox.client_parts: must be 1 to 255 or NULL (got %)', v_cp USING ERRCODE = 'check_violation', COLUMN = 'client_parts';
				END IF;
			END IF;
			-- identity values are drawn in row order: the i-th smallest id is
			-- the i-th element of [v_lo, v_hi] not already taken
			WITH ins AS (
				INSERT INTO smspool.outbox (recipient, sender, body, payload, udh, encoding, client_ref, priority,
					want_report, flash, msg_class, send_after, valid_until, connection, account, idempotency_key,
					report_on, client_parts)
				SELECT t.rcp, coalesce(t.snd, v_sender), t.body, t.payload, t.udh, coalesce(t.enc, 'auto'), t.ref,
					coalesce(t.pri, 0)::smallint, coalesce(t.wr, true), coalesce(t.fl, false), t.cls::smallint, t.sa, t.vu,
					CASE WHEN v_conn1 IS NOT NULL THEN v_conn1
						WHEN v_conns IS NOT NULL THEN smspool.account_connection(v_conns, t.rcp, coalesce(t.snd, v_sender)) END,
					p_account,
					coalesce(p_keys[t.ord], CASE WHEN v_unique AND char_length(t.ref) <= 200 THEN t.ref END),
					p_report_on[t.ord]::smallint, p_client_parts[t.ord]::smallint
				FROM unnest(p_recipients, p_senders, p_bodies, p_payloads, p_udhs, p_encodings, p_client_refs, p_priorities,
					p_want_reports, p_flash, p_msg_classes, p_send_after, p_valid_until)
					WITH ORDINALITY AS t(rcp, snd, body, payload, udh, enc, ref, pri, wr, fl, cls, sa, vu, ord)
				WHERE t.ord BETWEEN v_lo AND v_hi AND NOT (t.ord = ANY (v_taken))
				ORDER BY t.ord
				RETURNING outbox.id
			)
			SELECT array_agg(ins.id ORDER BY ins.id) INTO v_ids FROM ins;
			IF cardinality(v_taken) = 0 THEN
				RETURN QUERY SELECT (v_lo - 1 + u.n)::int, u.id, NULL::text, NULL::text, NULL::text, NULL::text, NULL::bigint
					FROM unnest(v_ids) WITH ORDINALITY AS u(id, n);
			ELSE
				RETURN QUERY SELECT e.g, u.id, NULL::text, NULL::text, NULL::text, NULL::text, NULL::bigint
					FROM unnest(v_ids) WITH ORDINALITY AS u(id, n)
					JOIN (SELECT g::int, row_number() OVER (ORDER BY g) AS n FROM generate_series(v_lo, v_hi) g
						WHERE NOT (g = ANY (v_taken))) e ON e.n = u.n;
			END IF;
			v_lo := v_hi + 1;
		EXCEPTION WHEN integrity_constraint_violation OR data_exception THEN
			GET STACKED DIAGNOSTICS v_con = CONSTRAINT_NAME, v_col = COLUMN_NAME, v_state = RETURNED_SQLSTATE;
			IF v_lo = v_hi AND v_con = 'outbox.idempotency_key: already used' AND p_keys[v_lo] IS NOT NULL THEN
				-- the key was used meanwhile (by another session, or twice in
				-- this call): answered with the id it has
				SELECT x.message_id INTO v_id FROM smspool.outbox_keys x WHERE x.scope = p_account AND x.key = p_keys[v_lo];
				RETURN QUERY SELECT v_lo, v_id, CASE WHEN v_id IS NULL THEN 'invalid' END, CASE WHEN v_id IS NULL THEN SQLERRM END,
					CASE WHEN v_id IS NULL THEN 'idempotency_key' END, CASE WHEN v_id IS NULL THEN v_state END, NULL::bigint;
				IF v_id IS NOT NULL THEN
					v_old_ord := v_old_ord || v_lo;
					v_old_id := v_old_id || v_id;
				END IF;
				v_lo := v_hi + 1;
			ELSIF v_lo = v_hi AND v_con = 'outbox.idempotency_key: already used' THEN
				-- another session inserted the key since the check: answered
				-- like a key taken before
				SELECT x.message_id INTO v_id FROM smspool.outbox_keys x WHERE x.scope = p_account AND x.key = p_client_refs[v_lo];
				RETURN QUERY SELECT v_lo, NULL::bigint, 'invalid'::text,
					format('outbox.client_ref: already taken as message %s', v_id), 'client_ref'::text, '23505'::text, v_id;
				v_lo := v_hi + 1;
			ELSIF v_lo = v_hi THEN
				-- the column refused: the error's COLUMN (the outbox rules
				-- name it), else the one column of its CHECK constraint
				IF coalesce(v_col, '') = '' THEN
					SELECT a.attname::text INTO v_col
					FROM pg_catalog.pg_constraint k
					JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
					WHERE k.conrelid = 'smspool.outbox'::regclass AND k.conname = v_con AND cardinality(k.conkey) = 1;
				END IF;
				RETURN QUERY SELECT v_lo, NULL::bigint, 'invalid'::text, SQLERRM, nullif(v_col, ''), v_state, NULL::bigint;
				v_lo := v_hi + 1;
			ELSIF v_hi - v_lo + 1 > 64 THEN
				v_size := 64;              -- retry the range in chunks
			ELSE
				v_size := 1;               -- retry this chunk row by row
				v_single_hi := v_hi;
			END IF;
		END;
	END LOOP;

	-- an element answered with the id of an existing row gives that row its
	-- report_on and client_parts when it has them (the last such element of
	-- a row wins); rows inserted by this call got theirs in the INSERT
	IF cardinality(v_old_id) > 0 AND (p_report_on IS NOT NULL OR p_client_parts IS NOT NULL) THEN
		UPDATE smspool.outbox o
		SET report_on = coalesce(x.ro, o.report_on), client_parts = coalesce(x.cp, o.client_parts)
		FROM (SELECT u.id, (array_agg(p_report_on[u.ord] ORDER BY u.ord DESC) FILTER (WHERE p_report_on[u.ord] IS NOT NULL))[1] AS ro,
		             (array_agg(p_client_parts[u.ord] ORDER BY u.ord DESC) FILTER (WHERE p_client_parts[u.ord] IS NOT NULL))[1] AS cp
		      FROM unnest(v_old_ord, v_old_id) AS u(ord, id)
		      GROUP BY u.id) x
		WHERE o.id = x.id
		  AND (x.ro IS DISTINCT FROM o.report_on AND x.ro IS NOT NULL OR x.cp IS DISTINCT FROM o.client_parts AND x.cp IS NOT NULL);
	END IF;
END
$$;
COMMENT ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[], int[]) IS 'Daemon: inserts messages on behalf of account p_account, one array element per message (as many as the longest of the arrays p_recipients .. p_valid_until; a missing element is NULL), in one transaction. NULL elements take the outbox defaults (encoding auto, priority 0, want_report true, flash false); a NULL sender takes accounts.default_sender; outbox.connection is set from accounts.connections (see account_connection). p_keys (optional) are idempotency keys (outbox.idempotency_key): an element whose key the account already used is not inserted again and gets the id of the row that has it. p_report_on (NULL elements: a report for every final state; else 1 or 2) and p_client_parts (NULL: submitted whole; else 1..255) are written by the same INSERT; an element answered with the id of an existing row gives that row its non-NULL report_on and client_parts. Returns one row per element: idx (1-based), id (outbox id, NULL if not inserted), error_class/error/error_column/error_state/taken_id NULL when inserted; first the elements whose key was used before, then those whose client_ref was taken, then the others in order. error_class ''invalid'': the outbox validation refused the row, error is its message ("outbox.<column>: <rule> (got ...)"), error_column the column (the error''s COLUMN, else the column of the CHECK constraint broken), error_state its SQLSTATE; the other rows are inserted. error_class ''forbidden'' on every row: account unknown (error "outbox.account: unknown account ...") or disabled ("outbox.account: account ... is disabled"), error_column ''account'', error_state 28000. Other errors (privileges, deadlock...) abort the call. Fast path: one INSERT for the whole batch, each row written once; only a batch with refused rows is inserted again in chunks of 64 and a failing chunk row by row (subtransactions). For an account with unique_client_ref, an element without a key uses its client_ref as the key: one the account already has is not inserted and gets ''invalid'', "outbox.client_ref: already taken as message <id>", error_column ''client_ref'', error_state 23505, taken_id <id>.';
REVOKE EXECUTE ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[], int[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[], int[]) TO smspool_daemon;

CREATE FUNCTION smspool.submit(p_account text, p_recipients text[], p_senders text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_client_refs text[], p_priorities int[],
	p_want_reports boolean[], p_flash boolean[], p_msg_classes int[], p_send_after timestamptz[],
	p_valid_until timestamptz[], p_keys text[], p_report_on int[])
RETURNS TABLE (idx int, id bigint, error_class text, error text, error_column text, error_state text, taken_id bigint)
LANGUAGE plpgsql AS $$
BEGIN
	-- plpgsql, not sql: its plan is kept for the session (PostgreSQL 15
	-- plans the body of an SQL function at every call)
	RETURN QUERY SELECT * FROM smspool.submit(p_account, p_recipients, p_senders, p_bodies, p_payloads, p_udhs,
		p_encodings, p_client_refs, p_priorities, p_want_reports, p_flash, p_msg_classes, p_send_after, p_valid_until,
		p_keys, p_report_on, NULL::int[]);
END
$$;
COMMENT ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[]) IS 'Daemon: the 17-argument submit() without client_parts (same answers, same order).';

CREATE FUNCTION smspool.submit(p_account text, p_recipients text[], p_senders text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_client_refs text[], p_priorities int[],
	p_want_reports boolean[], p_flash boolean[], p_msg_classes int[], p_send_after timestamptz[],
	p_valid_until timestamptz[], p_keys text[] DEFAULT NULL)
RETURNS TABLE (idx int, id bigint, error_class text, error text, error_column text, error_state text, taken_id bigint)
LANGUAGE plpgsql AS $$
BEGIN
	-- plpgsql, not sql: its plan is kept for the session (PostgreSQL 15
	-- plans the body of an SQL function at every call)
	RETURN QUERY SELECT * FROM smspool.submit(p_account, p_recipients, p_senders, p_bodies, p_payloads, p_udhs,
		p_encodings, p_client_refs, p_priorities, p_want_reports, p_flash, p_msg_classes, p_send_after, p_valid_until,
		p_keys, NULL::int[], NULL::int[]);
END
$$;
COMMENT ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[]) IS 'Daemon: the 17-argument submit() without report_on and client_parts (same answers, same order); p_keys optional.';
REVOKE EXECUTE ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[]) TO smspool_daemon;
