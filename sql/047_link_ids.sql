-- 047_link_ids: a link client's reports by its own outbox id, without
-- report_wait (issue 15: the link >= 1.5 x the SMPP path).
--
-- A message that goes over the link carries the idempotency key
-- "<client instance>:<client outbox id>" (drivers/link/convert.c), which the
-- server keeps as the row's idempotency_key.  A client and server that both
-- say client_ids in hello/hello_ack (drivers/link/FORMAT.md) use it: the
-- server puts the client's id into every State (State.client_id), and the
-- client applies the State to that row directly.  What the client's database
-- no longer does per message: the report_wait INSERT at the result (a row
-- and two index entries per part), the report_wait probes of each report
-- (by remote id, then by receipt_id_keys when none) and the report_wait
-- DELETE of each final part (with its dead row and index entries for vacuum).
--
-- 1. Server side: account_events.idempotency_key, filled by the triggers
--    that make 'report' events (outbox_account_events, the deferred
--    account_events_pending_fire), returned by account_events_claim (one
--    more column, its body unchanged); the link server reads the client id
--    from it (drivers/link/events.c).
-- 2. Client side: record_results(..., p_report_by_id): a 'sent' result
--    marked by id makes no report_wait rows; one report_wait_by_id row per
--    call holds the batch's ids (one array) until report_timeout_h, when expire_report_waits() ends the wait of
--    those still sent exactly as it does for report_wait's parts.
--    record_reports(..., p_message_ids): a report with a message id is
--    matched to that outbox row alone -- sent over the report's connection,
--    the report's remote id one of its remote_ids (its position is the
--    part), still awaiting reports (sent, done_at NULL) and that part without
--    a final report yet -- else stored unmatched, as any report that matches
--    nothing.  Matched, it does what a report matched through report_wait
--    does (apply_part_states: part_status, the final state from sent once
--    every part has one, done_at; the reports row with message_id and part).
--    A report that came before its result (stored unmatched: the row was
--    still sending) is matched by record_results as before: that part gets a
--    report_wait row after all and match_unmatched_reports applies it.
--
-- The daemon calls the new forms; the old ones stay (record_results' new
-- argument has a default; record_reports' five-argument form calls the new
-- one), so an older daemon on this schema works as before.

---------------------------------------------------------------------------
-- 1. the idempotency key in report events (server side)
---------------------------------------------------------------------------
ALTER TABLE smspool.account_events ADD COLUMN idempotency_key text;
COMMENT ON COLUMN smspool.account_events.idempotency_key IS 'report events: the message''s idempotency_key (a link message''s "<client instance>:<client outbox id>"), NULL if it has none (047).';

CREATE OR REPLACE FUNCTION smspool.outbox_account_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- a gateway without accounts, and every claim: one scan, no join
	IF NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.account IS NOT NULL
	               AND n.status IN ('sent', 'delivered', 'undelivered', 'expired', 'rejected', 'failed')) THEN
		RETURN NULL;
	END IF;
	WITH c AS MATERIALIZED (   -- the account rows that may make an event
		SELECT n.id, n.account, n.status, n.want_report, n.report_on, n.client_ref, n.idempotency_key, n.client_parts,
		       n.error_code, n.sender, n.recipient, n.created_at, n.done_at, n.part_status, n.parts,
		       o.status AS old_status, o.part_status AS old_part_status
		FROM new_rows n JOIN old_rows o ON o.id = n.id
		WHERE n.account IS NOT NULL AND n.status IN ('sent', 'delivered', 'undelivered', 'expired', 'rejected', 'failed')
	),
	fin AS (   -- was the row trigger outbox_account_report (023/034)
		INSERT INTO smspool.account_events (account, kind, message_id, client_ref, client_parts, state, error_code, sender,
			recipient, submitted_at, done_at, part_status, idempotency_key)
		SELECT c.account, 'report', c.id, c.client_ref, c.client_parts, c.status, c.error_code, c.sender, c.recipient,
			c.created_at, coalesce(c.done_at, now()),
			coalesce(c.part_status, array_fill('pending'::text, ARRAY[greatest(coalesce(c.parts, 1), 1)])), c.idempotency_key
		FROM c
		WHERE c.want_report AND c.status <> 'sent' AND c.old_status IS DISTINCT FROM c.status
		  AND (c.report_on IS NULL OR (c.report_on = 1 AND c.status <> 'delivered') OR (c.report_on = 2 AND c.status = 'delivered'))
		  AND c.account IN (SELECT a.system_id FROM smspool.accounts a)   -- not for a deleted account
		ORDER BY c.id
	)
	INSERT INTO smspool.account_events_pending (kind, ids)
	SELECT k.kind, array_agg(c.id ORDER BY c.id)
	FROM c
	JOIN smspool.accounts a ON a.system_id = c.account
	CROSS JOIN LATERAL (VALUES   -- parts first, as the row triggers fired by name
		-- was outbox_account_parts (034)
		(1, 'parts', a.report_parts AND c.idempotency_key IS NOT NULL AND c.want_report AND c.report_on IS NULL
			AND (c.old_status IS DISTINCT FROM c.status OR c.old_part_status IS DISTINCT FROM c.part_status)),
		-- was outbox_account_sent (024)
		(2, 'sent', a.report_sent AND c.client_ref IS NOT NULL AND c.old_status IS DISTINCT FROM 'sent')) AS k(ord, kind, due)
	WHERE c.status = 'sent' AND k.due
	GROUP BY k.ord, k.kind
	ORDER BY k.ord;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.outbox_account_events() IS 'AFTER UPDATE statement trigger of outbox (transition tables): queues the ''report'' account events of the statement''s account messages with want_report that entered a final state report_on asks for (one INSERT, with the message''s idempotency_key, 047), and records in account_events_pending the messages that entered sent or changed part_status while sent and may get a sent event at the commit (report_sent accounts with a client_ref; report_parts accounts, messages with an idempotency_key, want_report and no report_on).';

CREATE OR REPLACE FUNCTION smspool.account_events_pending_fire() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NEW.kind = 'parts' THEN
		INSERT INTO smspool.account_events (account, kind, message_id, client_ref, client_parts, state, sender, recipient,
			submitted_at, done_at, part_status, idempotency_key)
		SELECT o.account, 'report', o.id, o.client_ref, o.client_parts, 'sent', o.sender, o.recipient, o.created_at,
			coalesce(o.sent_at, now()),
			coalesce(o.part_status, array_fill('pending'::text, ARRAY[greatest(coalesce(o.parts, 1), 1)])), o.idempotency_key
		FROM unnest(NEW.ids) WITH ORDINALITY AS u(id, ord)
		CROSS JOIN LATERAL (   -- one primary-key probe per id
			SELECT o.id, o.account, o.client_ref, o.client_parts, o.sender, o.recipient, o.created_at, o.sent_at,
			       o.part_status, o.parts, o.idempotency_key
			FROM smspool.outbox o WHERE o.id = u.id AND o.status = 'sent' OFFSET 0) o
		WHERE o.account IN (SELECT a.system_id FROM smspool.accounts a WHERE a.report_parts)
		ORDER BY u.ord;
	ELSE
		INSERT INTO smspool.account_events (account, kind, message_id, client_ref, state, sender, recipient,
			submitted_at, done_at, idempotency_key)
		SELECT o.account, 'report', o.id, o.client_ref, 'sent', o.sender, o.recipient, o.created_at,
			coalesce(o.sent_at, now()), o.idempotency_key
		FROM unnest(NEW.ids) WITH ORDINALITY AS u(id, ord)
		CROSS JOIN LATERAL (
			SELECT o.id, o.account, o.client_ref, o.sender, o.recipient, o.created_at, o.sent_at, o.idempotency_key
			FROM smspool.outbox o WHERE o.id = u.id AND o.status = 'sent' OFFSET 0) o
		WHERE o.account IN (SELECT a.system_id FROM smspool.accounts a WHERE a.report_sent)
		ORDER BY u.ord;
	END IF;
	DELETE FROM smspool.account_events_pending p WHERE p.id = NEW.id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.account_events_pending_fire() IS 'Deferred (at commit) AFTER INSERT row trigger of account_events_pending (triggers outbox_account_parts and outbox_account_sent, one per kind): queues a ''report'' account event with state sent for each message of the row that is still sent (one INSERT; parts: with client_parts and part_status, for report_parts accounts; sent: for report_sent accounts; both with the idempotency_key, 047), then deletes the row.';

-- The claim returns idempotency_key too (a changed result type: DROP and
-- CREATE; the daemon reads columns by name).  The body is 034's.
DROP FUNCTION smspool.account_events_claim(text, text[], int);
CREATE FUNCTION smspool.account_events_claim(p_instance text, p_accounts text[], p_limit int)
RETURNS TABLE (id bigint, account text, kind text, message_id bigint, client_ref text, state text, error_code text,
	submitted_at timestamptz, done_at timestamptz, sender text, recipient text, body text, payload text, udh text,
	encoding text, client_parts smallint, part_status text[], idempotency_key text)
LANGUAGE plpgsql
-- Touches a batch of rows by key: never a sequential scan (see 003).
SET enable_seqscan = off AS $$
#variable_conflict use_column
DECLARE
	v_ids bigint[];
	v_lease interval;
BEGIN
	IF p_accounts IS NULL OR cardinality(p_accounts) = 0 OR coalesce(p_limit, 0) <= 0 THEN
		RETURN;
	END IF;
	-- as in 020_event_claims
	v_ids := ARRAY(
		SELECT e.id FROM smspool.account_events e
		WHERE e.id = ANY (ARRAY(
			SELECT c.id
			FROM (SELECT DISTINCT a FROM unnest(p_accounts) a) acc
			CROSS JOIN LATERAL (
				SELECT x.id, x.due_at FROM smspool.account_events x
				WHERE x.account = acc.a AND x.due_at <= now()
				  AND x.claimed_by IS DISTINCT FROM p_instance
				ORDER BY x.due_at LIMIT 2 * p_limit) c
			ORDER BY c.due_at, c.id
			LIMIT 2 * p_limit))
		  AND e.due_at <= now()
		ORDER BY e.due_at, e.id
		LIMIT p_limit
		FOR UPDATE SKIP LOCKED);
	IF cardinality(v_ids) = 0 THEN
		RETURN;
	END IF;
	v_lease := make_interval(secs => coalesce(smspool.config_int('lease_s'), 60));
	RETURN QUERY
	WITH u AS (
		UPDATE smspool.account_events e SET due_at = now() + v_lease, claimed_by = p_instance, attempts = e.attempts + 1
		WHERE e.id = ANY (v_ids)
		RETURNING e.id, e.account, e.kind, e.message_id, e.client_ref, e.state, e.error_code, e.submitted_at, e.done_at,
			e.sender, e.recipient, e.body, e.payload, e.udh, e.encoding, e.client_parts, e.part_status, e.idempotency_key
	)
	SELECT u.id, u.account, u.kind, u.message_id, u.client_ref, u.state, u.error_code, u.submitted_at, u.done_at,
		u.sender, u.recipient, u.body, u.payload, u.udh, u.encoding, u.client_parts, u.part_status, u.idempotency_key
	FROM u JOIN unnest(v_ids) WITH ORDINALITY AS o(id, n) ON o.id = u.id
	ORDER BY o.n;
END
$$;
COMMENT ON FUNCTION smspool.account_events_claim(text, text[], int) IS 'Daemon: claims up to p_limit due events (due_at <= now) of the accounts p_accounts, oldest due first, FOR UPDATE SKIP LOCKED (concurrent instances never get the same event, never wait); leases them to p_instance for config lease_s, never one it holds already (due_at = now() + lease_s, claimed_by, attempts + 1) and returns them in that order, with client_parts (033), part_status (034_link) and idempotency_key (047). An event whose lease ends without account_events_done is claimable again.';
REVOKE EXECUTE ON FUNCTION smspool.account_events_claim(text, text[], int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.account_events_claim(text, text[], int) TO smspool_daemon;

---------------------------------------------------------------------------
-- 2. results and reports by id (client side)
---------------------------------------------------------------------------
CREATE TABLE smspool.report_wait_by_id (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	created_at timestamptz NOT NULL DEFAULT now(),
	message_ids bigint[] NOT NULL
) WITH (
	-- one row per result batch, deleted after report_timeout_h
	autovacuum_vacuum_scale_factor = 0.01,
	autovacuum_vacuum_threshold = 1000
);
CREATE INDEX report_wait_by_id_created ON smspool.report_wait_by_id (created_at);
COMMENT ON TABLE smspool.report_wait_by_id IS 'One row per record_results call that recorded messages sent whose reports come by id (a link session with client_ids, 047): they have no report_wait rows, and this row makes expire_report_waits end their wait after report_timeout_h as it does for report_wait. Daemon-internal.';
-- kept as written: compressing a batch's ids costs more than it saves
ALTER TABLE smspool.report_wait_by_id ALTER COLUMN message_ids SET STORAGE EXTERNAL;
COMMENT ON COLUMN smspool.report_wait_by_id.message_ids IS 'The outbox ids of the batch that await reports by id (once per part).';
REVOKE ALL ON smspool.report_wait_by_id FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON smspool.report_wait_by_id TO smspool_daemon;
GRANT SELECT ON smspool.report_wait_by_id TO smspool_admin;

-- record_results: 046's body, and p_report_by_id (a changed argument list:
-- DROP and CREATE; the new argument has a default, so the old calls work).
DROP FUNCTION smspool.record_results(text, bigint[], text[], text[], text[], int[], text[], text[], int[]);
CREATE FUNCTION smspool.record_results(p_instance text, p_ids bigint[], p_outcomes text[], p_connections text[],
	p_remote_ids text[], p_parts int[], p_error_codes text[], p_error_texts text[], p_retry_after_s int[],
	p_report_by_id boolean[] DEFAULT NULL)
RETURNS int
LANGUAGE plpgsql
-- Touches a batch of rows by key: never a sequential scan, whatever the
-- statistics say (a planner estimate of one 'sending' row on a big outbox
-- once turned a 1,000-row batch into a 1,000 x 1,000 nested loop).
SET enable_seqscan = off AS $$
DECLARE
	v_max int;
	v_base int;
	v_cap int;
	v_n int;
	v_bad text;
	v_rids text[];
	v_conns text[];
	v_mids bigint[];
	v_parts int[];
	v_brids text[];
	v_bconns text[];
	v_bmids bigint[];
	v_bparts int[];
BEGIN
	IF p_ids IS NULL OR cardinality(p_ids) = 0 THEN
		RETURN 0;
	END IF;
	IF cardinality(p_outcomes) IS DISTINCT FROM cardinality(p_ids) THEN
		RAISE EXCEPTION 'record_results: p_outcomes has % elements, p_ids %', cardinality(p_outcomes), cardinality(p_ids)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT o INTO v_bad FROM unnest(p_outcomes) o
	WHERE o IS NULL OR o NOT IN ('sent', 'temporary', 'throttled', 'rejected', 'failed', 'no_route', 'release', 'expired')
	LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'record_results: unknown outcome "%" (sent|temporary|throttled|rejected|failed|no_route|release|expired)', v_bad
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	v_max := coalesce(smspool.config_int('max_attempts'), 6);
	v_base := coalesce(smspool.config_int('retry_base_s'), 10);
	v_cap := coalesce(smspool.config_int('retry_max_s'), 3600);

	WITH inp AS (
		SELECT * FROM unnest(p_ids, p_outcomes, p_connections, p_remote_ids, p_parts, p_error_codes, p_error_texts, p_retry_after_s,
			p_report_by_id) AS t(id, outcome, conn, rids, parts, ecode, etext, retry, byid)
		WHERE t.id IS NOT NULL
	),
	r AS (   -- the inputs whose message is still sending, one primary-key probe each
		-- (LATERAL ... OFFSET 0 cannot be flattened).  With the status test in
		-- the UPDATE itself, statistics taken while every row was queued made
		-- the planner start from the outbox index, estimated at one 'sending'
		-- row, and rescan the input for each of its rows: 1,000 results took
		-- 1.4 s.  Here the update only joins rows known to exist, by key.
		-- held: a temporary/throttled/release outcome that carries the ids
		-- of the parts the SMSC accepted (an empty string for the others):
		-- they are kept, and the next attempt sends only the others.
		-- old_rids: the ids held before, whose report_wait rows exist.
		SELECT i.*, x.old_rids,
			(i.outcome IN ('temporary', 'throttled', 'release') AND i.rids IS NOT NULL
			 AND replace(i.rids, E'\x1f', '') <> '') AS held
		FROM inp i
		CROSS JOIN LATERAL (
			SELECT o.remote_ids AS old_rids FROM smspool.outbox o WHERE o.id = i.id AND o.status = 'sending' OFFSET 0) x
	),
	u AS (
		UPDATE smspool.outbox o SET
			status = CASE r.outcome
				WHEN 'sent' THEN 'sent'
				WHEN 'temporary' THEN CASE WHEN o.attempts >= v_max THEN 'failed' ELSE 'queued' END
				WHEN 'throttled' THEN CASE WHEN o.attempts >= v_max THEN 'failed' ELSE 'queued' END
				WHEN 'release' THEN 'queued'
				WHEN 'rejected' THEN 'rejected'
				WHEN 'expired' THEN 'expired'
				ELSE 'failed' END,                       -- failed, no_route
			attempts = CASE WHEN r.outcome = 'release' THEN greatest(o.attempts - 1, 0) ELSE o.attempts END,
			connection_used = CASE WHEN r.outcome = 'release' AND NOT r.held THEN o.connection_used ELSE coalesce(r.conn, o.connection_used) END,
			parts = CASE WHEN r.outcome = 'sent' OR r.held
				THEN coalesce(r.parts, cardinality(string_to_array(r.rids, E'\x1f')), o.parts) ELSE o.parts END,
			remote_ids = CASE WHEN r.outcome = 'sent' OR r.held THEN string_to_array(r.rids, E'\x1f') ELSE o.remote_ids END,
			-- a part held from an earlier attempt keeps the state its reports gave it
			part_status = CASE WHEN (r.outcome = 'sent' OR r.held) AND o.want_report AND r.rids IS NOT NULL AND r.rids <> ''
				THEN CASE WHEN strpos(r.rids, E'\x1f') = 0
					-- one part (the common case): the same value without a subquery per row
					THEN ARRAY[CASE WHEN r.rids = o.remote_ids[1] AND o.part_status[1] IS NOT NULL
						THEN o.part_status[1] ELSE 'pending' END]
					ELSE ARRAY(SELECT CASE WHEN x.rid <> '' AND x.rid = o.remote_ids[x.n] AND o.part_status[x.n] IS NOT NULL
							THEN o.part_status[x.n] ELSE 'pending' END
						FROM unnest(string_to_array(r.rids, E'\x1f')) WITH ORDINALITY AS x(rid, n) ORDER BY x.n) END
				ELSE o.part_status END,
			sent_at = CASE WHEN r.outcome = 'sent' THEN now() ELSE o.sent_at END,
			done_at = CASE
				WHEN r.outcome = 'sent' THEN CASE WHEN o.want_report THEN NULL ELSE now() END
				WHEN r.outcome IN ('release') THEN NULL
				WHEN r.outcome IN ('temporary', 'throttled') AND o.attempts < v_max THEN NULL
				ELSE now() END,
			next_attempt_at = CASE
				WHEN r.outcome = 'release' THEN now() + make_interval(secs => coalesce(r.retry, 0))
				WHEN r.outcome IN ('temporary', 'throttled') AND o.attempts < v_max THEN
					now() + make_interval(secs => coalesce(r.retry::double precision,
						least(v_cap::double precision, v_base * power(2::double precision, greatest(o.attempts - 1, 0)))))
				ELSE NULL END,
			error_class = CASE r.outcome
				WHEN 'sent' THEN NULL
				WHEN 'release' THEN o.error_class
				WHEN 'rejected' THEN 'permanent'
				WHEN 'failed' THEN 'local'
				ELSE r.outcome END,                      -- temporary, throttled, no_route, expired
			error_code = CASE r.outcome WHEN 'sent' THEN NULL WHEN 'release' THEN o.error_code ELSE r.ecode END,
			error_text = CASE r.outcome WHEN 'sent' THEN NULL WHEN 'release' THEN o.error_text ELSE r.etext END
		FROM r
		-- rechecked on the locked row; written so that the planner does not
		-- estimate it from statistics (it would start from the outbox again)
		WHERE o.id = r.id AND coalesce(o.status, '') = 'sending'
		RETURNING o.id, o.status, o.want_report, o.remote_ids, o.connection_used, o.next_attempt_at, r.held, r.old_rids,
			coalesce(r.byid, false) AND o.status = 'sent' AS byid
	),
	-- The queue rows by key (= ANY of an array): a join of the queue with u,
	-- planned on a queue whose statistics say empty, became a nested loop
	-- that read u again for every queue row (2,000 results: 4,000,000
	-- comparisons, 1.9 s).
	qd AS (
		DELETE FROM smspool.queue q
		WHERE q.message_id = ANY (ARRAY(SELECT u.id FROM u WHERE u.status <> 'queued'))
	),
	qu AS (
		UPDATE smspool.queue q SET due_at = x.dues[array_position(x.ids, q.message_id)], claimed_by = NULL
		FROM (SELECT array_agg(u.id) AS ids, array_agg(u.next_attempt_at) AS dues FROM u WHERE u.status = 'queued') x
		WHERE q.message_id = ANY (x.ids)
	),
	w AS (
		-- An SMSC that reuses ids may give two messages of one batch the
		-- same id: the newer message waits for it (as across batches).
		SELECT DISTINCT ON (x.rid, u.connection_used, x.n) x.rid, u.connection_used AS conn, u.id, x.n::int AS n, u.byid
		FROM u, unnest(u.remote_ids) WITH ORDINALITY AS x(rid, n)
		WHERE (u.status = 'sent' OR (u.held AND u.status = 'queued')) AND u.want_report AND x.rid IS NOT NULL AND x.rid <> ''
		  AND u.connection_used IS NOT NULL
		  -- a part held before waits already (or got its final report)
		  AND x.rid IS DISTINCT FROM u.old_rids[x.n]
		ORDER BY x.rid, u.connection_used, x.n, u.id DESC
	)
	SELECT (SELECT count(*) FROM u),
	       array_agg(w.rid) FILTER (WHERE NOT w.byid), array_agg(w.conn) FILTER (WHERE NOT w.byid),
	       array_agg(w.id) FILTER (WHERE NOT w.byid), array_agg(w.n) FILTER (WHERE NOT w.byid),
	       array_agg(w.rid) FILTER (WHERE w.byid), array_agg(w.conn) FILTER (WHERE w.byid),
	       array_agg(w.id) FILTER (WHERE w.byid), array_agg(w.n) FILTER (WHERE w.byid)
	INTO v_n, v_rids, v_conns, v_mids, v_parts, v_brids, v_bconns, v_bmids, v_bparts
	FROM w;

	-- 047: the parts whose reports come by id wait without report_wait rows:
	-- one row of report_wait_by_id for the batch keeps them for the timeout.
	-- A report of one that came first (stored unmatched: the message was
	-- not sent yet) gives that part a report_wait row after all, below, for
	-- match_unmatched_reports (a final report removes it again).
	IF v_bmids IS NOT NULL THEN
		INSERT INTO smspool.report_wait_by_id (message_ids) VALUES (v_bmids);
		-- (first one range scan of the unmatched reports between the batch's
		-- least and greatest remote id, nearly always empty: a probe per id
		-- only when something is there)
		IF EXISTS (SELECT 1 FROM smspool.reports WHERE message_id IS NULL
		           AND remote_id BETWEEN (SELECT min(x) FROM unnest(v_brids) x) AND (SELECT max(x) FROM unnest(v_brids) x))
		   AND EXISTS (SELECT 1 FROM smspool.reports WHERE message_id IS NULL AND remote_id = ANY (v_brids)) THEN
			SELECT v_rids || array_agg(t.rid), v_conns || array_agg(t.conn), v_mids || array_agg(t.id), v_parts || array_agg(t.n)
			INTO v_rids, v_conns, v_mids, v_parts
			FROM unnest(v_brids, v_bconns, v_bmids, v_bparts) AS t(rid, conn, id, n)
			WHERE EXISTS (SELECT 1 FROM smspool.reports r
			              WHERE r.message_id IS NULL AND r.remote_id = t.rid AND r.connection = t.conn);
		END IF;
	END IF;

	-- The awaited parts: a plain INSERT (one index entry per part, its
	-- uniqueness checked as it is made).  Only when a part's key is awaited
	-- already (an SMSC that reuses ids) is the batch inserted again with
	-- ON CONFLICT, whose speculative insertion (a probe before each row and
	-- a confirmation record after it) the common case no longer pays; the
	-- exception undoes the plain INSERT's rows first.
	IF v_rids IS NOT NULL THEN
		BEGIN
			INSERT INTO smspool.report_wait (remote_id, connection, message_id, part)
			SELECT * FROM unnest(v_rids, v_conns, v_mids, v_parts);
		EXCEPTION WHEN unique_violation THEN
			INSERT INTO smspool.report_wait (remote_id, connection, message_id, part)
			SELECT * FROM unnest(v_rids, v_conns, v_mids, v_parts)
			ON CONFLICT (remote_id, connection, part) DO UPDATE
				SET message_id = EXCLUDED.message_id, created_at = EXCLUDED.created_at;
		END;
	END IF;

	-- reports that arrived before this submit response was committed
	IF v_rids IS NOT NULL
	   AND EXISTS (SELECT 1 FROM smspool.reports WHERE message_id IS NULL AND remote_id = ANY (v_rids)) THEN
		PERFORM smspool.match_unmatched_reports(v_rids, v_conns);
	END IF;
	RETURN v_n;
END
$$;
COMMENT ON FUNCTION smspool.record_results(text, bigint[], text[], text[], text[], int[], text[], text[], int[], boolean[]) IS 'Daemon: records submit outcomes, one array element per message. Outcomes: sent (status sent, remote_ids = split of p_remote_ids[i] on U+001F, one per part; report_wait rows when want_report, the newest message of the batch winning when two carry the same remote id on one connection; earlier unmatched reports applied), temporary|throttled (queued again after p_retry_after_s[i] or backoff retry_base_s*2^(attempts-1) capped at retry_max_s; failed once attempts >= max_attempts), rejected (status rejected, error_class permanent), failed (failed, error_class local), no_route (failed, error_class no_route), release (queued again without counting the attempt, due after p_retry_after_s[i] or now), expired (expired). Only messages in status sending are touched; returns how many were. A temporary|throttled|release outcome whose p_remote_ids[i] names some parts (an empty string for a part not accepted) keeps them: remote_ids, parts and connection_used are set, their reports wait (report_wait, part_status), and claim() hands them to the next attempt, which sends only the other parts; a later result keeps the report state of a part whose id it repeats. p_report_by_id[i] true (047): a sent message whose reports will name its id (record_reports p_message_ids) gets no report_wait rows; its wait ends by report_wait_by_id after report_timeout_h.';
REVOKE EXECUTE ON FUNCTION smspool.record_results(text, bigint[], text[], text[], text[], int[], text[], text[], int[], boolean[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.record_results(text, bigint[], text[], text[], text[], int[], text[], text[], int[], boolean[]) TO smspool_daemon;

CREATE FUNCTION smspool.record_reports(p_connections text[], p_remote_ids text[], p_states text[], p_error_codes text[],
	p_texts text[], p_message_ids bigint[])
RETURNS TABLE (report_id bigint, message_id bigint)
LANGUAGE plpgsql
-- Touches a batch of rows by key: never a sequential scan, whatever the
-- statistics say (a planner estimate of one 'sending' row on a big outbox
-- once turned a 1,000-row batch into a 1,000 x 1,000 nested loop).
SET enable_seqscan = off AS $$
#variable_conflict use_column
DECLARE
	v_ids bigint[]; v_msg bigint[];
	v_m bigint[]; v_p int[]; v_r text[]; v_c text[]; v_s text[]; v_e text[];
BEGIN
	IF p_remote_ids IS NULL OR cardinality(p_remote_ids) = 0 THEN
		RETURN;
	END IF;
	WITH inp AS (
		SELECT t.ord, t.conn, t.rid, coalesce(t.state, 'unknown') AS state, t.ecode, t.txt, t.mid,
		       smspool.report_state_is_final(coalesce(t.state, 'unknown')) AS fin
		FROM unnest(p_connections, p_remote_ids, p_states, p_error_codes, p_texts, p_message_ids) WITH ORDINALITY
			AS t(conn, rid, state, ecode, txt, mid, ord)
	),
	m AS (   -- every awaited part a report refers to (the newest message if an id was reused)
		-- As in 023: one primary-key probe per report (LATERAL ... OFFSET 0
		-- cannot be flattened), into report_wait by the remote id (or
		-- another form of the number: receipt_id_keys) -- or, for a report
		-- by id (047), into outbox by the id.  The branch a report does not
		-- take is cut by its one-time filter on i.mid, before any probe.
		SELECT i.ord, i.conn, w.rid, i.state, i.ecode, i.fin, w.message_id, w.part,
		       max(w.message_id) OVER (PARTITION BY i.ord) AS best
		FROM inp i
		CROSS JOIN LATERAL (
			SELECT w.message_id, w.part, w.remote_id AS rid FROM smspool.report_wait w
			WHERE i.mid IS NULL AND w.remote_id = i.rid AND w.connection = i.conn
			UNION ALL
			SELECT w.message_id, w.part, w.remote_id FROM smspool.report_wait w
			WHERE i.mid IS NULL
			  AND smspool.receipt_id_key(w.remote_id) = ANY (smspool.receipt_id_keys(i.rid)) AND w.connection = i.conn
			  AND w.remote_id <> i.rid
			  AND NOT EXISTS (SELECT 1 FROM smspool.report_wait x WHERE x.remote_id = i.rid AND x.connection = i.conn)
			UNION ALL
			-- by id: that row only, if it was sent over this connection with
			-- this remote id (the part), awaits reports, and the part has no
			-- final report yet (a final state only from sent, and once)
			SELECT o.id, array_position(o.remote_ids, i.rid), i.rid FROM smspool.outbox o
			WHERE i.mid IS NOT NULL AND o.id = i.mid AND o.connection_used = i.conn
			  AND o.status = 'sent' AND o.done_at IS NULL
			  AND array_position(o.remote_ids, i.rid) IS NOT NULL
			  AND coalesce(o.part_status[array_position(o.remote_ids, i.rid)], 'pending')
			      NOT IN ('delivered', 'undelivered', 'expired', 'rejected', 'deleted')
			OFFSET 0) w
	),
	mm AS (
		SELECT * FROM m WHERE message_id = best
	),
	pick AS (
		SELECT ord, min(message_id) AS message_id, min(part) AS part FROM mm GROUP BY ord
	),
	ins AS (
		INSERT INTO smspool.reports (connection, remote_id, state, error_code, text, message_id, part, matched_at)
		SELECT i.conn, i.rid, i.state, i.ecode, i.txt, p.message_id, p.part,
		       CASE WHEN p.message_id IS NOT NULL THEN now() END
		FROM inp i LEFT JOIN pick p ON p.ord = i.ord
		ORDER BY i.ord
		RETURNING id, message_id
	),
	pp AS (  -- per part: the first final report of the batch, else the last one
		SELECT DISTINCT ON (message_id, part) message_id, part, rid, conn, state, ecode
		FROM mm
		ORDER BY message_id, part, fin DESC, CASE WHEN fin THEN ord ELSE -ord END
	)
	SELECT (SELECT array_agg(id ORDER BY id) FROM ins), (SELECT array_agg(message_id ORDER BY id) FROM ins),
	       array_agg(pp.message_id), array_agg(pp.part), array_agg(pp.rid), array_agg(pp.conn), array_agg(pp.state), array_agg(pp.ecode)
	INTO v_ids, v_msg, v_m, v_p, v_r, v_c, v_s, v_e
	FROM pp;
	IF v_m IS NOT NULL THEN
		-- (a part by id has no report_wait row, unless it was sent before
		-- the session said client_ids or its report came first: the DELETE
		-- of a final part finds it, or probes the primary key in vain)
		PERFORM smspool.apply_part_states(v_m, v_p, v_r, v_c, v_s, v_e);
	END IF;
	RETURN QUERY SELECT t.rid, t.mid FROM unnest(v_ids, v_msg) AS t(rid, mid);
END
$$;
COMMENT ON FUNCTION smspool.record_reports(text[], text[], text[], text[], text[], bigint[]) IS 'Daemon: stores every delivery report (one array element each) in reports and returns (report_id, message_id) in input order, message_id NULL when unmatched. A report without p_message_ids[i] matches the awaited part(s) with the same (remote_id, connection) in report_wait, or when there is none, those whose remote_id is another form of the same number (receipt_id_keys: decimal in the receipt and hexadecimal in the submit response or the reverse, leading zeros, case). A report with p_message_ids[i] (047: a link server''s State.client_id) matches that outbox row only, if it was sent over the report''s connection, its remote_ids hold the report''s remote_id (the part) and it awaits reports (sent, done_at NULL) with no final report for that part yet. Matched: part_status is updated; a final state (delivered|undelivered|expired|rejected|deleted) removes the report_wait row and, once every part has a final report, sets the message''s final state (part_status_final) and done_at. Intermediate states (accepted, enroute, unknown...) only update part_status. Unmatched reports are matched later by record_results.';
REVOKE EXECUTE ON FUNCTION smspool.record_reports(text[], text[], text[], text[], text[], bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.record_reports(text[], text[], text[], text[], text[], bigint[]) TO smspool_daemon;

-- The five-argument form: the same, every report by remote id.
CREATE OR REPLACE FUNCTION smspool.record_reports(p_connections text[], p_remote_ids text[], p_states text[], p_error_codes text[], p_texts text[])
RETURNS TABLE (report_id bigint, message_id bigint)
LANGUAGE sql AS $$
	SELECT * FROM smspool.record_reports(p_connections, p_remote_ids, p_states, p_error_codes, p_texts, NULL::bigint[])
$$;

-- The wait of messages sent by id ends as report_wait's does: their
-- report_wait_by_id rows older than report_timeout_h, oldest first, about
-- p_limit ids per call; a message still sent without done_at gets done_at
-- and error_class no_report (a primary-key probe per id).
CREATE OR REPLACE FUNCTION smspool.expire_report_waits(p_limit int DEFAULT 10000)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	v_n int;
	v_b int;
	v_cut timestamptz := now() - make_interval(hours => coalesce(smspool.config_int('report_timeout_h'), 72));
BEGIN
	WITH old AS (
		DELETE FROM smspool.report_wait w
		WHERE w.ctid = ANY (ARRAY(
			SELECT x.ctid FROM smspool.report_wait x
			WHERE x.created_at < v_cut
			LIMIT p_limit))
		RETURNING w.message_id
	),
	msgs AS (SELECT DISTINCT message_id FROM old),
	upd AS (
		UPDATE smspool.outbox o SET done_at = now(), error_class = 'no_report',
			error_text = 'no delivery report within config report_timeout_h'
		FROM msgs WHERE o.id = msgs.message_id AND o.status = 'sent' AND o.done_at IS NULL
		RETURNING o.id
	)
	SELECT count(*) INTO v_n FROM upd;

	WITH b AS (
		DELETE FROM smspool.report_wait_by_id w
		WHERE w.id = ANY (ARRAY(
			SELECT x.id FROM (
				SELECT x.id, sum(cardinality(x.message_ids)) OVER (ORDER BY x.created_at, x.id)
				       - cardinality(x.message_ids) AS before
				FROM smspool.report_wait_by_id x
				WHERE x.created_at < v_cut
				ORDER BY x.created_at, x.id
				LIMIT p_limit) x
			WHERE x.before < p_limit))
		RETURNING w.message_ids
	),
	upd AS (
		UPDATE smspool.outbox o SET done_at = now(), error_class = 'no_report',
			error_text = 'no delivery report within config report_timeout_h'
		WHERE o.id = ANY (ARRAY(SELECT DISTINCT x.id FROM b, unnest(b.message_ids) AS x(id)))
		  AND o.status = 'sent' AND o.done_at IS NULL
		RETURNING o.id
	)
	SELECT count(*) INTO v_b FROM upd;
	RETURN v_n + v_b;
END
$$;
COMMENT ON FUNCTION smspool.expire_report_waits(int) IS 'Daemon (every minute): ends the wait of sent messages whose report has not come within config report_timeout_h (report_wait rows, and report_wait_by_id rows of messages whose reports come by id, 047); they stay sent, with done_at and error_class no_report.  Returns how many messages.';
