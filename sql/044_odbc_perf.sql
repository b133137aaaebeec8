-- 044_odbc_perf: the client_ref check of submit() for accounts with
-- unique_client_ref (the odbc connection's account, issue 14) is one probe
-- per element of smspool.outbox_keys' primary key, no more a probe of the
-- partitioned outbox.
--
-- 040 found the client_refs an account already has with
--   unnest(p_client_refs) CROSS JOIN LATERAL (SELECT id FROM outbox
--     WHERE client_ref = ref AND account = p_account ORDER BY id LIMIT 1)
-- which goes through every partition of outbox for every element: about
-- 430 ms per batch of 1,000 at 10 partitions, 8.7 of the 11.5 s that
-- submit() took per 10,000 odbc messages (bench phase odbc).  Since 024
-- every row such an account inserts carries idempotency_key = client_ref
-- (submit() and the 015 row trigger set it), and since 032 every key is a
-- row of outbox_keys (scope = account, key): the check now looks there.
-- What stays: the answers ('invalid', "outbox.client_ref: already taken as
-- message <id>", and 042's error_column 'client_ref', error_state 23505,
-- taken_id <id>), their order, a client_ref too long to be a key (over 200
-- characters) still looked up in outbox (those elements only).
--
-- The rows that counted by client_ref alone, without a key, are given
-- their key here, so that they still count:
--   * rows of before 024 of accounts with unique_client_ref (this
--     migration gives them idempotency_key = client_ref and their
--     outbox_keys row: the oldest row of each client_ref);
--   * rows of an account that gets unique_client_ref later (the accounts
--     trigger accounts_unique_client_ref does the same for that account).
--   * rows inserted with an explicit key (p_keys) other than their
--     client_ref: submit() registers their client_ref in outbox_keys too
--     (scope = account, key = client_ref, the same function), so that a
--     later element with that client_ref is refused as before.  Such a
--     client_ref is then also a key used before for an explicit key equal
--     to it; no connection type sends both (the odbc account has no keys,
--     the link's account no unique_client_ref).
-- outbox_deleted drops every outbox_keys row of a deleted message (by
-- message_id), those of its client_ref included.
-- A client_ref equal to another row's explicit key of the same account
-- counts as taken (it did before too, one statement later: the INSERT
-- failed on that key and was answered the same way).

CREATE FUNCTION smspool.unique_client_ref_keys(p_account text, p_ids bigint[] DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_n bigint;
BEGIN
	WITH c AS (
		SELECT o.id, o.client_ref, o.idempotency_key FROM smspool.outbox o
		WHERE o.account = p_account AND o.client_ref IS NOT NULL AND char_length(o.client_ref) <= 200
		  AND o.idempotency_key IS DISTINCT FROM o.client_ref AND (p_ids IS NULL OR o.id = ANY (p_ids))
	), k AS (
		INSERT INTO smspool.outbox_keys (scope, key, message_id)
		SELECT p_account, c.client_ref, min(c.id) FROM c GROUP BY c.client_ref
		ON CONFLICT (scope, key) DO NOTHING
		RETURNING message_id, key
	)
	SELECT count(*) INTO v_n FROM k;
	-- a keyless row takes its client_ref as its key (outbox_keys now has it)
	UPDATE smspool.outbox o SET idempotency_key = o.client_ref
	FROM smspool.outbox_keys k
	WHERE o.account = p_account AND o.idempotency_key IS NULL AND o.client_ref IS NOT NULL
	  AND (p_ids IS NULL OR o.id = ANY (p_ids))
	  AND k.scope = p_account AND k.key = o.client_ref AND k.message_id = o.id;
	RETURN v_n;
END
$$;
COMMENT ON FUNCTION smspool.unique_client_ref_keys(text, bigint[]) IS 'The client_refs (up to 200 characters) of the messages of account p_account (those of p_ids, or all) become rows of outbox_keys (scope = account, key = client_ref; the oldest message of each client_ref; a key the account already has stays as it is), so that submit() finds the client_refs of a unique_client_ref account in outbox_keys alone; a message without idempotency_key takes its client_ref as key. Returns the keys added. Run by 044 (all messages of the accounts with unique_client_ref), by the accounts trigger accounts_unique_client_ref, and by submit() for the rows it inserted with an explicit key other than their client_ref.';
REVOKE ALL ON FUNCTION smspool.unique_client_ref_keys(text, bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.unique_client_ref_keys(text, bigint[]) TO smspool_daemon;

CREATE OR REPLACE FUNCTION smspool.outbox_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM smspool.queue q USING old_rows o
	WHERE q.message_id = o.id AND o.status IN ('queued', 'sending');
	DELETE FROM smspool.report_wait w USING old_rows o
	WHERE w.message_id = o.id AND o.status = 'sent' AND o.want_report;
	-- by message: the key and, for an account with unique_client_ref, its client_ref (044)
	DELETE FROM smspool.outbox_keys k USING old_rows o
	WHERE (o.idempotency_key IS NOT NULL OR o.account IS NOT NULL AND o.client_ref IS NOT NULL)
	  AND k.message_id = o.id;
	RETURN NULL;
END
$$;

CREATE FUNCTION smspool.accounts_unique_client_ref() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM smspool.unique_client_ref_keys(NEW.system_id, NULL);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.accounts_unique_client_ref() IS 'AFTER UPDATE row trigger of accounts (unique_client_ref turned on): the client_refs the account''s messages already have become its keys (unique_client_ref_keys), so that they count as taken.';
CREATE TRIGGER accounts_unique_client_ref AFTER UPDATE OF unique_client_ref ON smspool.accounts
	FOR EACH ROW WHEN (NEW.unique_client_ref AND NOT OLD.unique_client_ref)
	EXECUTE FUNCTION smspool.accounts_unique_client_ref();

-- the rows of before 024 (and of accounts given the flag by hand)
DO $$
BEGIN
	PERFORM smspool.unique_client_ref_keys(a.system_id, NULL) FROM smspool.accounts a WHERE a.unique_client_ref;
END
$$;

-- submit(): the 042 text (issue 17: error_column, error_state, taken_id;
-- same signature and RETURNS, so CREATE OR REPLACE keeps its grants and
-- comment, and the 15- and 16-argument wrappers of 042 call this one) but
-- for the client_ref check: outbox_keys, the >200-character fallback to
-- outbox, and the keys of the client_refs of rows inserted with another
-- explicit key.  A taken client_ref still answers taken_id (the message
-- found in outbox_keys).
CREATE OR REPLACE FUNCTION smspool.submit(p_account text, p_recipients text[], p_senders text[], p_bodies text[],
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
	v_all_ids bigint[] := '{}';  -- the ids this call inserted
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
	-- elements without an explicit key): the keys already taken, one probe of
	-- outbox_keys' primary key per element (044; the LIMIT keeps it a probe)
	IF v_unique AND p_client_refs IS NOT NULL THEN
		SELECT coalesce(array_agg(t.ord::int ORDER BY t.ord), '{}'), array_agg(f.id ORDER BY t.ord)
		INTO v_keyed, v_taken_ids
		FROM unnest(p_client_refs) WITH ORDINALITY AS t(ref, ord)
		CROSS JOIN LATERAL (SELECT x.message_id AS id FROM smspool.outbox_keys x
			WHERE x.scope = p_account AND x.key = t.ref LIMIT 1) f
		WHERE t.ref IS NOT NULL AND t.ord <= v_n AND (p_keys IS NULL OR p_keys[t.ord] IS NULL);
		-- a client_ref over 200 characters is no key: looked up in outbox
		IF EXISTS (SELECT 1 FROM unnest(p_client_refs) WITH ORDINALITY AS t(ref, ord)
		           WHERE char_length(t.ref) > 200 AND t.ord <= v_n) THEN
			SELECT coalesce(array_agg(u.o ORDER BY u.o), '{}'), array_agg(u.i ORDER BY u.o)
			INTO v_keyed, v_taken_ids
			FROM (SELECT x.o, x.i FROM unnest(v_keyed, v_taken_ids) AS x(o, i)
			      UNION ALL
			      SELECT t.ord::int, f.id
			      FROM unnest(p_client_refs) WITH ORDINALITY AS t(ref, ord)
			      CROSS JOIN LATERAL (SELECT o.id FROM smspool.outbox o
				      WHERE o.client_ref = t.ref AND o.account = p_account ORDER BY o.id LIMIT 1) f
			      WHERE char_length(t.ref) > 200 AND t.ord <= v_n AND (p_keys IS NULL OR p_keys[t.ord] IS NULL)) u;
		END IF;
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
			v_all_ids := v_all_ids || v_ids;
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

	-- the client_refs of rows inserted with an explicit key other than their
	-- client_ref are keys of the account too (044): later taken as before
	IF v_unique AND cardinality(v_all_ids) > 0 AND EXISTS (SELECT 1 FROM unnest(p_keys, p_client_refs) AS u(k, r)
	                                                      WHERE u.k IS NOT NULL AND u.r IS NOT NULL AND u.k <> u.r) THEN
		PERFORM smspool.unique_client_ref_keys(p_account, v_all_ids);
	END IF;

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
