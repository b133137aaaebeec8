-- 046_perf: no speculative insertion per awaited part in record_results()
-- (issues 10 and 15).  Nothing it does changes (tests/sql/46_perf_results.sql
-- runs the same batches through the old and the new body and compares every
-- row).
--
-- record_results(): the parts whose reports are awaited went into
-- report_wait by INSERT ... ON CONFLICT DO UPDATE, in the statement that
-- updates the outbox.  Each row of such an INSERT is a speculative
-- insertion: a probe of the primary key before the row, the row, its index
-- entry (a second probe), and a confirmation of the row (a buffer lock and a
-- WAL record of its own).  A key is awaited already only when an SMSC reuses
-- ids, so the rows are now computed by that statement and inserted by a
-- plain INSERT after it; if one of them meets an awaited key, the
-- exception undoes that INSERT and the old ON CONFLICT form inserts the
-- same rows (one subtransaction per call that has parts to await).  Nothing
-- between the two reads report_wait (no trigger of the outbox does).
--
-- record_reports() is unchanged: reading report_wait's rows once per report
-- (a LEFT JOIN LATERAL, the fallback to the other forms of the number only
-- when there are none) instead of probing the key again in the fallback's
-- NOT EXISTS was tried and measured: no gain beyond the noise in batches of
-- 1,000, a loss in batches of 5 (README, Performance).

-- (record_results() still reads each outbox row before its UPDATE, for the
-- remote ids held before: PostgreSQL 15 has no RETURNING OLD, and the read
-- is what keeps the UPDATE's plan a probe per row; see 039.)

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
	v_mids bigint[];
	v_parts int[];
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
	w AS (
		-- An SMSC that reuses ids may give two messages of one batch the
		-- same id: the newer message waits for it (as across batches).
		SELECT DISTINCT ON (x.rid, u.connection_used, x.n) x.rid, u.connection_used AS conn, u.id, x.n::int AS n
		FROM u, unnest(u.remote_ids) WITH ORDINALITY AS x(rid, n)
		WHERE (u.status = 'sent' OR (u.held AND u.status = 'queued')) AND u.want_report AND x.rid IS NOT NULL AND x.rid <> ''
		  AND u.connection_used IS NOT NULL
		  -- a part held before waits already (or got its final report)
		  AND x.rid IS DISTINCT FROM u.old_rids[x.n]
		ORDER BY x.rid, u.connection_used, x.n, u.id DESC
	)
	SELECT (SELECT count(*) FROM u), array_agg(w.rid), array_agg(w.conn), array_agg(w.id), array_agg(w.n)
	INTO v_n, v_rids, v_conns, v_mids, v_parts
	FROM w;

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
