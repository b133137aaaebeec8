-- 039_perf: the report/result path without quadratic joins (issue 10).
--
-- Measured on a fresh database (statistics not yet taken, as in every bench
-- phase and after every deploy): record_results of 2,000 'sent' results
-- whose 1,000 receipts had come first took 1.7-8 s, of which 1.4 s was the
-- join of match_unmatched_reports(): with no statistics the planner joined
-- the unmatched reports to the (remote_id, connection) pairs in a nested
-- loop with a join filter (1,000 x 2,000 comparisons) and then probed
-- report_wait by connection alone (2,000 rows filtered per report).  It now
-- takes the same shape as record_reports(): one index probe per pair into
-- reports (reports_unmatched) and one into report_wait (its primary key), in
-- LATERAL ... OFFSET 0 subqueries that the planner cannot turn into another
-- join, whatever the statistics say.  The rows it finds, and everything it
-- does with them, are unchanged (tests/sql/39_perf.sql compares the old and
-- the new functions on the same batches, row by row).
--
-- record_results(): the per-part report state of a single-part message (the
-- common case) is computed without a subquery per row (multipart messages
-- keep it); the queue is reached by key (= ANY of the batch's ids) instead
-- of a join with the updated rows that a fresh database's statistics turned
-- into a quadratic nested loop (1.9 s of a 2.4 s call for 2,000 results).
-- (An "o.id = ANY (p_ids)" on the outbox UPDATE was tried and is not here:
-- the planner then started from the outbox and rescanned the input for each
-- row, as 010 describes.)  Nothing else changes in it.

CREATE OR REPLACE FUNCTION smspool.match_unmatched_reports(p_remote_ids text[], p_connections text[])
RETURNS void
LANGUAGE plpgsql
-- Touches a batch of rows by key: never a sequential scan, whatever the
-- statistics say (a planner estimate of one 'sending' row on a big outbox
-- once turned a 1,000-row batch into a 1,000 x 1,000 nested loop).
SET enable_seqscan = off AS $$
DECLARE
	v_m bigint[]; v_p int[]; v_r text[]; v_c text[]; v_s text[]; v_e text[];
BEGIN
	WITH rep AS (
		-- each distinct pair once (the IN of the old form), then one probe
		-- into the unmatched reports and one into the awaited parts per pair
		SELECT r.id, r.remote_id, r.connection, r.state, r.error_code, w.message_id, w.part,
		       smspool.report_state_is_final(r.state) AS fin
		FROM (SELECT DISTINCT t.rid, t.conn FROM unnest(p_remote_ids, p_connections) AS t(rid, conn)
		      WHERE t.rid IS NOT NULL AND t.conn IS NOT NULL) t
		CROSS JOIN LATERAL (
			SELECT r.id, r.remote_id, r.connection, r.state, r.error_code FROM smspool.reports r
			WHERE r.message_id IS NULL AND r.remote_id = t.rid AND r.connection = t.conn
			OFFSET 0) r
		CROSS JOIN LATERAL (
			SELECT w.message_id, w.part FROM smspool.report_wait w
			WHERE w.remote_id = t.rid AND w.connection = t.conn
			OFFSET 0) w
	),
	mark AS (
		UPDATE smspool.reports x SET message_id = m.message_id, part = m.part, matched_at = now()
		FROM (SELECT DISTINCT ON (id) id, message_id, part FROM rep ORDER BY id, part) m
		WHERE x.id = m.id
	),
	pp AS (
		SELECT DISTINCT ON (message_id, part) *
		FROM rep
		ORDER BY message_id, part, fin DESC, CASE WHEN fin THEN id ELSE -id END
	)
	SELECT array_agg(message_id), array_agg(part), array_agg(remote_id), array_agg(connection), array_agg(state), array_agg(error_code)
	INTO v_m, v_p, v_r, v_c, v_s, v_e
	FROM pp;
	IF v_m IS NOT NULL THEN
		PERFORM smspool.apply_part_states(v_m, v_p, v_r, v_c, v_s, v_e);
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION smspool.record_results(p_instance text, p_ids bigint[], p_outcomes text[], p_connections text[],
	p_remote_ids text[], p_parts int[], p_error_codes text[], p_error_texts text[], p_retry_after_s int[])
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
		SELECT * FROM unnest(p_ids, p_outcomes, p_connections, p_remote_ids, p_parts, p_error_codes, p_error_texts, p_retry_after_s)
			AS t(id, outcome, conn, rids, parts, ecode, etext, retry)
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
		RETURNING o.id, o.status, o.want_report, o.remote_ids, o.connection_used, o.next_attempt_at, r.held, r.old_rids
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
	rw AS (
		-- An SMSC that reuses ids may give two messages of one batch the
		-- same id: the newer message waits for it (as across batches), and
		-- ON CONFLICT never meets one key twice in one statement.
		INSERT INTO smspool.report_wait (remote_id, connection, message_id, part)
		SELECT DISTINCT ON (x.rid, u.connection_used, x.n) x.rid, u.connection_used, u.id, x.n::int
		FROM u, unnest(u.remote_ids) WITH ORDINALITY AS x(rid, n)
		WHERE (u.status = 'sent' OR (u.held AND u.status = 'queued')) AND u.want_report AND x.rid IS NOT NULL AND x.rid <> ''
		  AND u.connection_used IS NOT NULL
		  -- a part held before waits already (or got its final report)
		  AND x.rid IS DISTINCT FROM u.old_rids[x.n]
		ORDER BY x.rid, u.connection_used, x.n, u.id DESC
		ON CONFLICT (remote_id, connection, part) DO UPDATE
			SET message_id = EXCLUDED.message_id, created_at = EXCLUDED.created_at
		RETURNING remote_id, connection
	)
	SELECT (SELECT count(*) FROM u), (SELECT array_agg(remote_id) FROM rw), (SELECT array_agg(connection) FROM rw)
	INTO v_n, v_rids, v_conns;

	-- reports that arrived before this submit response was committed
	IF v_rids IS NOT NULL
	   AND EXISTS (SELECT 1 FROM smspool.reports WHERE message_id IS NULL AND remote_id = ANY (v_rids)) THEN
		PERFORM smspool.match_unmatched_reports(v_rids, v_conns);
	END IF;
	RETURN v_n;
END
$$;

-- report_wait_id_key (023) could also serve a probe on connection alone (its
-- second column).  Planned while report_wait was (nearly) empty -- a fresh
-- database; a daemon session keeps its plans -- the probes by (remote_id,
-- connection[, part]) of apply_part_states() and match_unmatched_reports()
-- took it, reading every awaited part of the connection for each report
-- (1,000 reports: 2,000,000 rows filtered, 0.4-0.7 s of a call).  The same
-- index made partial on a predicate that holds for every row (remote_id is
-- NOT NULL, receipt_id_key is strict) serves only a query that tests
-- receipt_id_key(remote_id) -- record_reports' lookup of another form of an
-- id -- and the probes take the primary key.  report_wait holds only the
-- parts awaited now: rebuilding it is quick.
DROP INDEX smspool.report_wait_id_key;
CREATE INDEX report_wait_id_key ON smspool.report_wait (smspool.receipt_id_key(remote_id), connection)
	WHERE smspool.receipt_id_key(remote_id) IS NOT NULL;

-- apply_part_states() groups a batch's report states by message with
-- array_agg; each group's array state takes its own 8 kB memory context, so
-- hashing 1,000 groups overflowed work_mem and spilled to temporary files
-- (HashAggregate "Batches: 5, Disk Usage"). Sorted grouping keeps one group in
-- memory at a time (measured 3-9 ms -> 2-3.5 ms per 1,000 reports).  Each
-- (message, part) comes once in its arrays (its callers take DISTINCT ON
-- (message_id, part)), so the order within a group changes nothing.
ALTER FUNCTION smspool.apply_part_states(bigint[], int[], text[], text[], text[], text[]) SET enable_hashagg = off;
