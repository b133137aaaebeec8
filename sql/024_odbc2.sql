-- 024_odbc2: the ODBC connection type at batch speed, and state sent written back.
--
-- 1. Idempotency set-based.  015 checked each row of an account with
-- unique_client_ref in a row trigger (a plpgsql call, an advisory lock and an
-- index probe per row).  submit() now does it for the whole batch: one query
-- finds the keys the account already has (answered as before: 'invalid',
-- "outbox.client_ref: already taken as message N"), the other rows go in
-- with idempotency_key = client_ref, so that the unique index of 018
-- ("outbox.idempotency_key: already used", unique per account) is what
-- serialises two daemons inserting the same key at once: the second waits
-- for the first's commit, and its unique_violation is answered with the
-- first's id as well.  The 015 trigger now fires only for rows that come
-- without an idempotency_key (inserted by other means, or a key longer than
-- the 200 characters idempotency_key holds) and gives them the key too.
-- Rows of before this migration carry no idempotency_key: the check looks
-- the key up by client_ref (indexed), so they still count.
--
-- 2. Report event on sent.  An account with report_sent gets a 'report'
-- account event with state 'sent' when one of its messages with a client_ref
-- is sent (the odbc connection writes it into the foreign row, so that a
-- message without a delivery report does not stay 'queued' there), unless
-- the message is final by the commit.

ALTER TABLE smspool.accounts ADD COLUMN report_sent boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN smspool.accounts.report_sent IS 'true = a message of this account with a client_ref that reaches status sent also queues a ''report'' account event with state ''sent'' (before the final one). For the account of an odbc connection, whose foreign rows then show sent; other connection types expect final states only.';

-- Deferred to the commit: a message whose report is written in the same
-- transaction as its sent (a fast SMSC, or the results and reports of one
-- store batch) is final by then and gets only its final event: one event
-- and one foreign write instead of two.
CREATE FUNCTION smspool.outbox_account_sent() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO smspool.account_events (account, kind, message_id, client_ref, state, sender, recipient,
		submitted_at, done_at)
	SELECT NEW.account, 'report', NEW.id, NEW.client_ref, 'sent', NEW.sender, NEW.recipient,
		NEW.created_at, coalesce(NEW.sent_at, now())
	WHERE EXISTS (SELECT 1 FROM smspool.accounts a WHERE a.system_id = NEW.account AND a.report_sent)
	  AND EXISTS (SELECT 1 FROM smspool.outbox o WHERE o.id = NEW.id AND o.status = 'sent');
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.outbox_account_sent() IS 'Deferred (at commit) AFTER UPDATE OF status row trigger of outbox (only account messages with a client_ref entering sent): queues a ''report'' account event with state ''sent'' when the account has report_sent and the message is still sent at commit (one that became final in the same transaction gets only its final event).';
CREATE CONSTRAINT TRIGGER outbox_account_sent AFTER UPDATE OF status ON smspool.outbox
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NEW.account IS NOT NULL AND NEW.client_ref IS NOT NULL AND NEW.status = 'sent'
		AND OLD.status IS DISTINCT FROM 'sent')
	EXECUTE FUNCTION smspool.outbox_account_sent();

-- The 015 check, for rows that come without a key: as before, and the row
-- takes client_ref as its key (when it fits) so the unique index guards it.
CREATE OR REPLACE FUNCTION smspool.outbox_unique_client_ref() RETURNS trigger
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
	IF char_length(NEW.client_ref) <= 200 THEN
		NEW.idempotency_key := NEW.client_ref;
	END IF;
	RETURN NEW;
END
$$;
DROP TRIGGER outbox_unique_client_ref ON smspool.outbox;
CREATE TRIGGER outbox_unique_client_ref BEFORE INSERT ON smspool.outbox
	FOR EACH ROW WHEN (NEW.account IS NOT NULL AND NEW.client_ref IS NOT NULL AND NEW.idempotency_key IS NULL)
	EXECUTE FUNCTION smspool.outbox_unique_client_ref();
COMMENT ON FUNCTION smspool.outbox_unique_client_ref() IS 'BEFORE INSERT row trigger of outbox (only rows with an account and a client_ref but no idempotency_key; submit() checks its batches itself): for an account with unique_client_ref, refuses a client_ref the account already has ("outbox.client_ref: already taken as message <id>", 23505), else sets idempotency_key = client_ref (up to 200 characters) so that the unique index guards concurrent inserts.';

CREATE OR REPLACE FUNCTION smspool.submit(p_account text, p_recipients text[], p_senders text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_client_refs text[], p_priorities int[],
	p_want_reports boolean[], p_flash boolean[], p_msg_classes int[], p_send_after timestamptz[],
	p_valid_until timestamptz[])
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

	-- client_ref as idempotency key: the keys already taken, in one query
	-- (by client_ref, so rows of before 024 without idempotency_key count)
	IF v_unique AND p_client_refs IS NOT NULL THEN
		SELECT coalesce(array_agg(t.ord::int ORDER BY t.ord), '{}'), array_agg(f.id ORDER BY t.ord)
		INTO v_taken, v_taken_ids
		FROM unnest(p_client_refs) WITH ORDINALITY AS t(ref, ord)
		CROSS JOIN LATERAL (SELECT o.id FROM smspool.outbox o
			WHERE o.client_ref = t.ref AND o.account = p_account ORDER BY o.id LIMIT 1) f
		WHERE t.ref IS NOT NULL AND t.ord <= v_n;
		RETURN QUERY SELECT x.o, NULL::bigint, 'invalid'::text, format('outbox.client_ref: already taken as message %s', x.i)
			FROM unnest(v_taken, v_taken_ids) AS x(o, i);
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
					CASE WHEN v_unique AND char_length(t.ref) <= 200 THEN t.ref END
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
			IF v_lo = v_hi AND v_con = 'outbox.idempotency_key: already used' THEN
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
COMMENT ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[]) IS 'Daemon: inserts messages on behalf of account p_account, one array element per message (as many as the longest array; a missing element is NULL), in one transaction. NULL elements take the outbox defaults (encoding auto, priority 0, want_report true, flash false); a NULL sender takes accounts.default_sender; outbox.connection is set from accounts.connections (see account_connection). Returns one row per element: idx (1-based), id (outbox id, NULL if not inserted), error_class/error NULL when inserted; the rows of keys already taken (below) first, the others in order. error_class ''invalid'': the outbox validation refused the row, error is its message ("outbox.<column>: <rule> (got ...)"), the other rows are inserted. For an account with unique_client_ref, client_ref is an idempotency key: an element whose client_ref the account already has is not inserted and gets ''invalid'', "outbox.client_ref: already taken as message <id>" (checked for the whole batch in one query; inserted rows get idempotency_key = client_ref, whose unique index answers a concurrent insert of the same key the same way). error_class ''forbidden'' on every row: account unknown (error "outbox.account: unknown account ...") or disabled ("outbox.account: account ... is disabled"). Other errors (privileges, deadlock...) abort the call. Fast path: one INSERT for the whole batch; only a batch with refused rows is inserted again in chunks of 64 and a failing chunk row by row (subtransactions).';
