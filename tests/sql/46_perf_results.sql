-- 046_perf: the record_results() of 046 does exactly what the body it
-- replaces did.  The old body (039) is kept below in the schema old46; the
-- same batches (every outcome, single and multipart messages, parts held by
-- 021/027/031's rules, receipts that came before their result, an id reused
-- in one batch and across batches -- 046's ON CONFLICT path --, receipts
-- written in another form of the number, duplicate and unmatched receipts, a
-- receipt on another connection) run through the old one, the database is
-- rolled back, and the same batches run through the new one: every
-- resulting row of outbox, queue, report_wait, reports and account_events,
-- and every return value, must be equal.  now() is constant in the
-- transaction, so timestamps compare too.
BEGIN;
SELECT plan(9);
DELETE FROM smspool.queue;
CREATE SCHEMA old46;

CREATE FUNCTION old46.record_results(p_instance text, p_ids bigint[], p_outcomes text[], p_connections text[],
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

-- one call of record_results, through the old or the new function
CREATE FUNCTION pg_temp.rr(p_new boolean, p_ids bigint[], p_outcomes text[], p_conns text[], p_rids text[],
	p_parts int[], p_ecodes text[], p_etexts text[], p_retry int[]) RETURNS int
LANGUAGE sql AS $$
	SELECT CASE WHEN p_new THEN smspool.record_results('i46', p_ids, p_outcomes, p_conns, p_rids, p_parts, p_ecodes, p_etexts, p_retry)
		ELSE old46.record_results('i46', p_ids, p_outcomes, p_conns, p_rids, p_parts, p_ecodes, p_etexts, p_retry) END
$$;
CREATE FUNCTION pg_temp.mid(text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM smspool.outbox WHERE client_ref = 't46' || $1 $$;
-- record_reports() (unchanged by 046; p_new kept so the batches read alike)
CREATE FUNCTION pg_temp.reports(p_new boolean, p_conns text[], p_rids text[], p_states text[]) RETURNS text
LANGUAGE sql AS $$
	SELECT string_agg(coalesce(message_id::text, '-'), ',' ORDER BY report_id)
	FROM smspool.record_reports(p_conns, p_rids, p_states, array_fill(NULL::text, ARRAY[cardinality(p_rids)]),
		array_fill(NULL::text, ARRAY[cardinality(p_rids)]))
$$;

-- The batches: returns what every call returned.
CREATE FUNCTION pg_temp.batches(p_new boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v text[] := '{}';
BEGIN
	-- 1. every outcome at once; some receipts came before (stored unmatched below)
	v := v || pg_temp.rr(p_new,
		ARRAY[pg_temp.mid('s1'), pg_temp.mid('s2'), pg_temp.mid('s3'), pg_temp.mid('s4'), pg_temp.mid('s5'), pg_temp.mid('s6'),
		      pg_temp.mid('s7'), pg_temp.mid('m1'), pg_temp.mid('h1'), pg_temp.mid('h2'), pg_temp.mid('t1'), pg_temp.mid('t2'),
		      pg_temp.mid('t3'), pg_temp.mid('t4'), pg_temp.mid('t5'), pg_temp.mid('t6'), pg_temp.mid('t7'), pg_temp.mid('t8'),
		      pg_temp.mid('d1'), pg_temp.mid('d2'), pg_temp.mid('x1'), NULL, -1],
		ARRAY['sent', 'sent', 'sent', 'sent', 'sent', 'sent',
		      'sent', 'sent', 'release', 'temporary', 'temporary', 'throttled',
		      'rejected', 'failed', 'no_route', 'expired', 'release', 'temporary',
		      'sent', 'sent', 'sent', 'sent', 'sent'],
		ARRAY['pc', 'pc', 'pc', 'pc', 'pc', 'pc', 'pc', 'pc', 'pc', 'pc', 'pc', 'pc', 'pc', 'pc', NULL, NULL, NULL, 'pc',
		      'pc', 'pc', 'pc', 'pc', 'pc'],
		ARRAY['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r6b', E'mp1\x1fmp2\x1fmp3', E'ha\x1f\x1fhc', E'ka\x1f\x1f', NULL, NULL,
		      NULL, NULL, NULL, NULL, NULL, NULL, 'dup', 'dup', 'xr', 'nobody', 'nobody2'],
		ARRAY[1, 1, 1, 1, NULL, 1, 1, 3, 3, 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 1, 1, 1],
		ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '58', 'timeout', 'busy', '0x58', '0x0B', NULL, NULL, NULL, NULL, 'x',
		      NULL, NULL, NULL, NULL, NULL],
		ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'throttled', 'no answer', 'busy', 'throttled', 'bad number',
		      'cannot encode', 'no route', 'too late', NULL, 'again', NULL, NULL, NULL, NULL, NULL],
		ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, 30, NULL, NULL, NULL, NULL, 0, NULL,
		      NULL, NULL, NULL, NULL, NULL]::int[])::text;
	-- 2. more receipts, for parts now awaited and not
	v := v || pg_temp.reports(p_new, ARRAY['pc', 'pc', 'pc', 'pc', 'pc', 'pc'], ARRAY['mp2', 'mp3', 'hc', 'ka', 'r7', 'kc'],
		ARRAY['delivered', 'delivered', 'enroute', 'undelivered', 'delivered', 'delivered']);
	-- 3. the held and released messages again
	v := v || (SELECT string_agg(c.id || ':' || coalesce(c.remote_ids, '-'), ',' ORDER BY c.id)
		FROM smspool.claim('i46', ARRAY['pc'], 100) c);
	v := v || pg_temp.rr(p_new,
		ARRAY[pg_temp.mid('h1'), pg_temp.mid('h2'), pg_temp.mid('t7')],
		ARRAY['sent', 'sent', 'sent'], ARRAY['pc', 'pc', 'pc'],
		ARRAY[E'ha\x1fhb\x1fhc', E'ka\x1fkb\x1fkc', 'r7'], ARRAY[3, 3, 1],
		NULL, NULL, NULL)::text;
	-- 4. the rematch path alone: duplicate pairs, NULLs, another connection
	INSERT INTO smspool.reports (connection, remote_id, state) VALUES ('pc', 'kb', 'delivered'), ('pc', 'kb', 'enroute'),
		('pd', 'r6', 'delivered'), ('pc', 'r6', 'accepted');
	PERFORM smspool.match_unmatched_reports(ARRAY['kb', 'kb', NULL, 'r6', 'r6', 'zz'], ARRAY['pc', 'pc', 'pc', 'pd', 'pc', NULL]);
	-- 5. ids reused across batches: y1 and y2 wait for 'reuse' and '0x1A'
	-- (another form of 26); y3 is given 'reuse' again, y4 a new id, in one
	-- batch (the ON CONFLICT path of 046), y5 a fresh id alone
	v := v || pg_temp.rr(p_new, ARRAY[pg_temp.mid('y1'), pg_temp.mid('y2')], ARRAY['sent', 'sent'], ARRAY['pc', 'pc'],
		ARRAY['reuse', '001A'], ARRAY[1, 1], NULL, NULL, NULL)::text;
	v := v || pg_temp.rr(p_new, ARRAY[pg_temp.mid('y3'), pg_temp.mid('y4')], ARRAY['sent', 'sent'], ARRAY['pc', 'pc'],
		ARRAY['reuse', 'y4id'], ARRAY[1, 1], NULL, NULL, NULL)::text;
	v := v || pg_temp.rr(p_new, ARRAY[pg_temp.mid('y5')], ARRAY['sent'], ARRAY['pc'], ARRAY['y5id'], ARRAY[1], NULL, NULL, NULL)::text;
	-- 6. receipts: another form of an id (decimal 26 for 001A), duplicates
	-- (final and not), unmatched ones, another connection
	v := v || pg_temp.reports(p_new, ARRAY['pc', 'pc', 'pc', 'pc', 'pc', 'pd', 'pc', 'pc'],
		ARRAY['26', 'reuse', 'reuse', 'y4id', 'nobody3', 'y5id', 'y5id', 'y5id'],
		ARRAY['delivered', 'enroute', 'delivered', 'accepted', 'delivered', 'delivered', 'undelivered', 'delivered']);
	v := v || pg_temp.reports(p_new, ARRAY['pc', 'pc', 'pc'], ARRAY['y4id', 'y4id', '26'],
		ARRAY['delivered', 'delivered', 'delivered']);
	RETURN array_to_string(v, ' | ', '-');
END
$$;

-- Every row of one table that the batches may touch, as text in a fixed order.
CREATE FUNCTION pg_temp.snap(p_table text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v text;
BEGIN
	EXECUTE format('SELECT string_agg(j, E''\n'' ORDER BY j) FROM (SELECT (to_jsonb(t) - ''id'')::text AS j FROM smspool.%I t) s',
		p_table) INTO v;
	RETURN coalesce(v, '(none)');
END
$$;

INSERT INTO smspool.connections (name, type) VALUES ('pc', 'loopback'), ('pd', 'loopback');
INSERT INTO smspool.outbox (recipient, body, want_report, client_ref)
SELECT '46' || lpad(g::text, 4, '0'), CASE WHEN k IN ('m1', 'h1', 'h2') THEN repeat('Part of a long text number 046. ', 13)
	ELSE 'message ' || k END, k <> 's7', 't46' || k
FROM unnest(ARRAY['s1', 's2', 's3', 's4', 's5', 's6', 's7', 'm1', 'h1', 'h2', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 't8',
	'd1', 'd2', 'x1', 'y1', 'y2', 'y3', 'y4', 'y5']) WITH ORDINALITY AS k(k, g);
SELECT is((SELECT count(*)::int FROM smspool.claim('i46', ARRAY['pc'], 100)), 26, 'setup: 26 messages claimed');
UPDATE smspool.outbox SET attempts = 6 WHERE client_ref = 't46t8';
-- receipts that came before their message's result
SELECT is(pg_temp.reports(true, ARRAY['pc', 'pc', 'pc', 'pc', 'pc', 'pc', 'pc', 'pc', 'pc', 'pd', 'pc', 'pc', 'pc'],
	ARRAY['r1', 'r2', 'r2', 'r3', 'r4', 'mp1', 'mp3', 'ha', 'dup', 'xr', 'r5', 'r5', 'r6b'],
	ARRAY['delivered', 'enroute', 'delivered', 'undelivered', 'accepted', 'delivered', 'enroute', 'delivered', 'delivered',
	      'delivered', 'expired', 'deleted', 'delivered']),
	'-,-,-,-,-,-,-,-,-,-,-,-,-', 'setup: 13 receipts stored unmatched');

SAVEPOINT before;
SELECT pg_temp.batches(false) AS old_ret \gset
SELECT pg_temp.snap('outbox') AS old_outbox, pg_temp.snap('queue') AS old_queue, pg_temp.snap('report_wait') AS old_wait,
	pg_temp.snap('reports') AS old_reports, pg_temp.snap('account_events') AS old_events \gset
ROLLBACK TO SAVEPOINT before;

SELECT is(pg_temp.batches(true), :'old_ret', 'the same return values, batch by batch');
SELECT is(pg_temp.snap('outbox'), :'old_outbox', 'the same outbox rows (states, part states, remote ids, attempts, times)');
SELECT is(pg_temp.snap('queue'), :'old_queue', 'the same queue rows');
SELECT is(pg_temp.snap('report_wait'), :'old_wait', 'the same report_wait rows');
SELECT is(pg_temp.snap('reports'), :'old_reports', 'the same reports (matches)');
SELECT is(pg_temp.snap('account_events'), :'old_events', 'the same account events');
-- the comparison is not empty: the batches did match receipts and end messages
SELECT ok((SELECT count(*) FROM smspool.reports WHERE message_id IS NOT NULL) >= 10
	AND (SELECT count(*) FROM smspool.outbox WHERE client_ref LIKE 't46%' AND status = 'delivered') >= 3
	AND (SELECT part_status::text FROM smspool.outbox WHERE client_ref = 't46h1') = '{delivered,pending,enroute}'
	AND (SELECT string_agg(status, ',' ORDER BY client_ref) FROM smspool.outbox WHERE client_ref LIKE 't46y%')
		= 'sent,delivered,delivered,delivered,undelivered'
	AND NOT EXISTS (SELECT 1 FROM smspool.report_wait WHERE remote_id IN ('reuse', '001A')),
	'the batches matched receipts, delivered messages and kept a held part''s state');

SELECT * FROM finish();
ROLLBACK;
