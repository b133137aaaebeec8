-- 026_link: the native link between smspool instances (issue 15).
--
-- The receiving side (type link-server) inserts each batch of the sending
-- side with submit(), one message per element as for SMPP and UCP clients,
-- and gives each its idempotency key ("<sender instance>:<sender outbox
-- id>", outbox.idempotency_key of 018, unique per account): a batch sent
-- again after a reconnect, whose first answer was lost, is answered with
-- the ids its messages already have, and nothing is inserted twice.
--
-- submit() gets a last argument p_keys (DEFAULT NULL: every caller of the
-- 14-argument form is unchanged).  Its body is 024_odbc2's (an account's
-- unique client_ref checked for the whole batch and kept as its
-- idempotency_key) with the explicit keys added: an element with a key is
-- answered with the id it got before (the link resends batches), an
-- element without one keeps 024's rule ('invalid', "already taken").

DROP FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[],
	int[], timestamptz[], timestamptz[]);

CREATE FUNCTION smspool.submit(p_account text, p_recipients text[], p_senders text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_client_refs text[], p_priorities int[],
	p_want_reports boolean[], p_flash boolean[], p_msg_classes int[], p_send_after timestamptz[],
	p_valid_until timestamptz[], p_keys text[] DEFAULT NULL)
RETURNS TABLE (idx int, id bigint, error_class text, error text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	v_n int;
	v_enabled boolean;
	v_unique boolean;
	v_sender text;
	v_conns text[];
	v_ids bigint[];
	v_taken int[] := '{}';  -- elements whose key the account already has
	v_taken_ids bigint[];   -- and the ids of their messages
	v_keyed int[] := '{}';  -- elements whose p_keys key the account already used
	v_id bigint;
	v_lo int;
	v_hi int;
	v_size int;          -- rows per INSERT: v_n, then 64, then 1
	v_single_hi int;     -- end of the chunk being done row by row
	v_pri int;
	v_cls int;
	v_con text;
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
				ELSE format('outbox.account: account "%s" is disabled', p_account) END
		FROM generate_series(1, v_n) g;
		RETURN;
	END IF;

	-- explicit idempotency keys (p_keys, e.g. the link's "<instance>:<id>"):
	-- an element whose key this account already used is answered with the
	-- id it got then, and not inserted again
	IF p_keys IS NOT NULL THEN
		SELECT coalesce(array_agg(k.ord::int ORDER BY k.ord), '{}'), array_agg(o.id ORDER BY k.ord)
		INTO v_keyed, v_taken_ids
		FROM unnest(p_keys) WITH ORDINALITY AS k(key, ord)
		JOIN smspool.outbox o ON coalesce(o.account, o.tenant, '') = p_account AND o.idempotency_key = k.key
		WHERE k.key IS NOT NULL AND k.ord <= v_n;
		RETURN QUERY SELECT x.o, x.i, NULL::text, NULL::text FROM unnest(v_keyed, v_taken_ids) AS x(o, i);
		v_taken := v_keyed;
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
		RETURN QUERY SELECT x.o, NULL::bigint, 'invalid'::text, format('outbox.client_ref: already taken as message %s', x.i)
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
				-- beyond smallint the cast fails with a message naming no column
				v_pri := p_priorities[v_lo];
				v_cls := p_msg_classes[v_lo];
				IF v_pri NOT BETWEEN -32768 AND 32767 THEN
					RAISE EXCEPTION 'outbox.priority: must be 0 to 9 (got %)', v_pri USING ERRCODE = 'check_violation';
				END IF;
				IF v_cls NOT BETWEEN -32768 AND 32767 THEN
					RAISE EXCEPTION 'outbox.msg_class: must be 0 to 3 or NULL (got %)', v_cls USING ERRCODE = 'check_violation';
				END IF;
			END IF;
			-- identity values are drawn in row order: the i-th smallest id is
			-- the i-th element of [v_lo, v_hi] not already taken
			WITH ins AS (
				INSERT INTO smspool.outbox (recipient, sender, body, payload, udh, encoding, client_ref, priority,
					want_report, flash, msg_class, send_after, valid_until, connection, account, idempotency_key)
				SELECT t.rcp, coalesce(t.snd, v_sender), t.body, t.payload, t.udh, coalesce(t.enc, 'auto'), t.ref,
					coalesce(t.pri, 0)::smallint, coalesce(t.wr, true), coalesce(t.fl, false), t.cls::smallint, t.sa, t.vu,
					CASE WHEN v_conns IS NOT NULL THEN smspool.account_connection(v_conns, t.rcp, coalesce(t.snd, v_sender)) END,
					p_account,
					coalesce(p_keys[t.ord], CASE WHEN v_unique AND char_length(t.ref) <= 200 THEN t.ref END)
				FROM unnest(p_recipients, p_senders, p_bodies, p_payloads, p_udhs, p_encodings, p_client_refs, p_priorities,
					p_want_reports, p_flash, p_msg_classes, p_send_after, p_valid_until)
					WITH ORDINALITY AS t(rcp, snd, body, payload, udh, enc, ref, pri, wr, fl, cls, sa, vu, ord)
				WHERE t.ord BETWEEN v_lo AND v_hi AND NOT (t.ord = ANY (v_taken))
				ORDER BY t.ord
				RETURNING outbox.id
			)
			SELECT array_agg(ins.id ORDER BY ins.id) INTO v_ids FROM ins;
			IF cardinality(v_taken) = 0 THEN
				RETURN QUERY SELECT (v_lo - 1 + u.n)::int, u.id, NULL::text, NULL::text
					FROM unnest(v_ids) WITH ORDINALITY AS u(id, n);
			ELSE
				RETURN QUERY SELECT e.g, u.id, NULL::text, NULL::text
					FROM unnest(v_ids) WITH ORDINALITY AS u(id, n)
					JOIN (SELECT g::int, row_number() OVER (ORDER BY g) AS n FROM generate_series(v_lo, v_hi) g
						WHERE NOT (g = ANY (v_taken))) e ON e.n = u.n;
			END IF;
			v_lo := v_hi + 1;
		EXCEPTION WHEN integrity_constraint_violation OR data_exception THEN
			GET STACKED DIAGNOSTICS v_con = CONSTRAINT_NAME;
			IF v_lo = v_hi AND v_con = 'outbox.idempotency_key: already used' AND p_keys[v_lo] IS NOT NULL THEN
				-- the key was used meanwhile (by another session, or twice in
				-- this call): answered with the id it has
				SELECT min(o.id) INTO v_id FROM smspool.outbox o
				WHERE coalesce(o.account, o.tenant, '') = p_account AND o.idempotency_key = p_keys[v_lo];
				RETURN QUERY SELECT v_lo, v_id, CASE WHEN v_id IS NULL THEN 'invalid' END, CASE WHEN v_id IS NULL THEN SQLERRM END;
				v_lo := v_hi + 1;
			ELSIF v_lo = v_hi AND v_con = 'outbox.idempotency_key: already used' THEN
				-- another session inserted the key since the check: answered
				-- like a key taken before
				RETURN QUERY SELECT v_lo, NULL::bigint, 'invalid'::text,
					format('outbox.client_ref: already taken as message %s', (SELECT min(o.id) FROM smspool.outbox o
						WHERE coalesce(o.account, o.tenant, '') = p_account AND o.idempotency_key = p_client_refs[v_lo]));
				v_lo := v_hi + 1;
			ELSIF v_lo = v_hi THEN
				RETURN QUERY SELECT v_lo, NULL::bigint, 'invalid'::text, SQLERRM;
				v_lo := v_hi + 1;
			ELSIF v_hi - v_lo + 1 > 64 THEN
				v_size := 64;              -- retry the range in chunks
			ELSE
				v_size := 1;               -- retry this chunk row by row
				v_single_hi := v_hi;
			END IF;
		END;
	END LOOP;
END
$$;
COMMENT ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[]) IS 'Daemon: inserts messages on behalf of account p_account, one array element per message (as many as the longest array; a missing element is NULL), in one transaction. NULL elements take the outbox defaults (encoding auto, priority 0, want_report true, flash false); a NULL sender takes accounts.default_sender; outbox.connection is set from accounts.connections (see account_connection). p_keys (optional) are idempotency keys (outbox.idempotency_key): an element whose key the account already used is not inserted again and gets the id of the row that has it. Returns one row per element (in no particular order): idx (1-based), id (outbox id, NULL if not inserted), error_class/error NULL when inserted. error_class ''invalid'': the outbox validation refused the row, error is its message ("outbox.<column>: <rule> (got ...)"), the other rows are inserted. error_class ''forbidden'' on every row: account unknown (error "outbox.account: unknown account ...") or disabled ("outbox.account: account ... is disabled"). Other errors (privileges, deadlock...) abort the call. Fast path: one INSERT for the whole batch; only a batch with refused rows is inserted again in chunks of 64 and a failing chunk row by row (subtransactions). For an account with unique_client_ref, an element without a key uses its client_ref as the key: one the account already has is not inserted and gets ''invalid'', "outbox.client_ref: already taken as message <id>".';
REVOKE EXECUTE ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[]) TO smspool_daemon;
