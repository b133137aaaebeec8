-- 003_daemon: the batch functions the daemon calls (one call = one round trip).
-- All set-based: unnest() of the argument arrays, = ANY() lookups on keys.
-- They run with the caller's rights (smspool_daemon has DML on every table).
--
-- Lock order: claim() locks queue rows (SKIP LOCKED, never waits) and then
-- outbox rows; record_results() locks outbox rows then queue rows.  The two can
-- only meet on one message when a lease expired while its first daemon still
-- works on it; PostgreSQL's deadlock detector then aborts one of the two calls
-- (SQLSTATE 40P01) and the daemon retries it.

---------------------------------------------------------------------------
-- helpers for delivery reports
---------------------------------------------------------------------------
-- part_status merged with new states for some parts (1-based part numbers).
CREATE FUNCTION smspool.part_status_merge(p_old text[], p_parts int[], p_states text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
	v text[] := coalesce(p_old, '{}');
	i int;
BEGIN
	FOR i IN 1 .. coalesce(cardinality(p_parts), 0) LOOP
		IF p_parts[i] >= 1 THEN
			v[p_parts[i]] := p_states[i];
		END IF;
	END LOOP;
	IF array_position(v, NULL) IS NOT NULL THEN
		v := array_replace(v, NULL, 'pending');
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION smspool.part_status_merge(text[], int[], text[]) IS 'Internal: per-part report states with the given parts replaced.';

-- Final message state from per-part report states; NULL while a part is not final.
-- delivered if every part is delivered, else the worst part:
-- rejected > undelivered (deleted counts as undelivered) > expired.
CREATE FUNCTION smspool.part_status_final(p_ps text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE
		WHEN p_ps IS NULL OR cardinality(p_ps) = 0 THEN NULL
		WHEN NOT (p_ps <@ ARRAY['delivered', 'undelivered', 'expired', 'rejected', 'deleted']) THEN NULL
		WHEN 'rejected' = ANY (p_ps) THEN 'rejected'
		WHEN 'undelivered' = ANY (p_ps) OR 'deleted' = ANY (p_ps) THEN 'undelivered'
		WHEN 'expired' = ANY (p_ps) THEN 'expired'
		ELSE 'delivered'
	END
$$;
COMMENT ON FUNCTION smspool.part_status_final(text[]) IS 'Final outbox state of a multipart message from its part_status: NULL while any part lacks a final report; delivered if all delivered; else the worst part: rejected > undelivered (incl. deleted) > expired.';

-- Applies matched report states: part_status, report_wait (final parts
-- removed) and the message's final state.  Arrays are parallel, one element
-- per (message, part) with the state that wins for that part in this batch.
-- PL/pgSQL (not SQL) so that its two statements are planned once per session,
-- not at every call.  The common case -- a single-part message, its only
-- part reported -- is computed inline; part_status_merge()/part_status_final()
-- run only for multipart messages.  done_at is set here when the message
-- becomes final (what the outbox_transition trigger would do), so that the
-- trigger's WHEN clause can skip these rows.
CREATE FUNCTION smspool.apply_part_states(p_message_ids bigint[], p_parts int[], p_remote_ids text[],
	p_connections text[], p_states text[], p_errors text[])
RETURNS void
LANGUAGE plpgsql
-- Touches a batch of rows by key: never a sequential scan, whatever the
-- statistics say (a planner estimate of one 'sending' row on a big outbox
-- once turned a 1,000-row batch into a 1,000 x 1,000 nested loop).
SET enable_seqscan = off AS $$
BEGIN
	-- final parts leave report_wait: one primary-key probe per part, then a
	-- TID scan (no join whose shape depends on statistics)
	DELETE FROM smspool.report_wait w
	WHERE w.ctid = ANY (ARRAY(
		SELECT x.ctid
		FROM unnest(p_remote_ids, p_connections, p_parts, p_states) AS t(rid, conn, part, state)
		CROSS JOIN LATERAL (
			SELECT w2.ctid FROM smspool.report_wait w2
			WHERE w2.remote_id = t.rid AND w2.connection = t.conn AND w2.part = t.part
			OFFSET 0) x
		WHERE t.state IN ('delivered', 'undelivered', 'expired', 'rejected', 'deleted')));

	UPDATE smspool.outbox o SET
		part_status = CASE WHEN a.one AND cardinality(o.part_status) = 1 THEN a.states
			ELSE smspool.part_status_merge(o.part_status, a.parts, a.states) END,
		status = CASE WHEN o.status = 'sent'
			THEN coalesce(CASE WHEN a.one AND cardinality(o.part_status) = 1 THEN a.final1
				ELSE smspool.part_status_final(smspool.part_status_merge(o.part_status, a.parts, a.states)) END, o.status)
			ELSE o.status END,
		error_class = CASE WHEN o.status = 'sent'
			AND (CASE WHEN a.one AND cardinality(o.part_status) = 1 THEN a.final1
				ELSE smspool.part_status_final(smspool.part_status_merge(o.part_status, a.parts, a.states)) END) <> 'delivered'
			THEN CASE WHEN a.one AND cardinality(o.part_status) = 1 THEN a.final1
				ELSE smspool.part_status_final(smspool.part_status_merge(o.part_status, a.parts, a.states)) END
			ELSE o.error_class END,
		error_code = coalesce(a.error_code, o.error_code),
		done_at = CASE WHEN o.status = 'sent' AND o.done_at IS NULL
			AND (CASE WHEN a.one AND cardinality(o.part_status) = 1 THEN a.final1
				ELSE smspool.part_status_final(smspool.part_status_merge(o.part_status, a.parts, a.states)) END) IS NOT NULL
			THEN now() ELSE o.done_at END
	FROM (
		SELECT t.message_id, array_agg(t.part) AS parts, array_agg(t.state) AS states,
		       max(t.error_code) FILTER (WHERE t.state <> 'delivered') AS error_code,
		       count(*) = 1 AND min(t.part) = 1 AS one,      -- parts = '{1}'
		       CASE min(t.state)                             -- = part_status_final(states) when one
		            WHEN 'deleted' THEN 'undelivered'
		            WHEN 'delivered' THEN 'delivered' WHEN 'undelivered' THEN 'undelivered'
		            WHEN 'expired' THEN 'expired' WHEN 'rejected' THEN 'rejected' END AS final1
		FROM unnest(p_message_ids, p_parts, p_states, p_errors) AS t(message_id, part, state, error_code)
		GROUP BY t.message_id
	) a
	WHERE o.id = a.message_id;
END
$$;
COMMENT ON FUNCTION smspool.apply_part_states(bigint[], int[], text[], text[], text[], text[]) IS 'Internal: applies matched delivery-report states to part_status/report_wait/status.';

---------------------------------------------------------------------------
-- 1. claim
---------------------------------------------------------------------------
CREATE FUNCTION smspool.claim(p_instance text, p_connections text[], p_limit int)
RETURNS TABLE (id bigint, recipient text, sender text, body text, payload text, udh text, encoding text,
	priority smallint, want_report boolean, flash boolean, msg_class smallint, valid_until timestamptz,
	client_ref text, attempts int, connection text,
	route_connections text[], route_positions int[], route_weights int[])
LANGUAGE plpgsql
-- Touches a batch of rows by key: never a sequential scan, whatever the
-- statistics say (a planner estimate of one 'sending' row on a big outbox
-- once turned a 1,000-row batch into a 1,000 x 1,000 nested loop).
SET enable_seqscan = off AS $$
#variable_conflict use_column
DECLARE
	v_ids bigint[];
	v_lease interval;
	v_n int;
BEGIN
	-- A claim commits without waiting for its WAL flush: losing one in a
	-- server crash only puts its rows back in the queue (sent again later:
	-- at-least-once, as after a daemon crash), and the wait would sit
	-- between an application's INSERT and the message on the wire.  Results
	-- and reports stay fully durable.
	PERFORM set_config('synchronous_commit', 'off', true);
	-- 1. expire: queue rows past valid_until that are not under a live lease
	--    (bounded per call; the claim below skips the rest).
	WITH d AS (
		DELETE FROM smspool.queue q
		WHERE q.message_id = ANY (ARRAY(
			SELECT e.message_id FROM smspool.queue e
			WHERE e.valid_until IS NOT NULL AND e.valid_until <= now()
			  AND (e.due_at <= now() OR e.claimed_by IS NULL)
			LIMIT 1000 FOR UPDATE SKIP LOCKED))
		RETURNING q.message_id
	)
	UPDATE smspool.outbox o SET status = 'expired', error_class = 'expired',
		error_text = 'valid_until passed before the message was sent', done_at = now()
	FROM d
	WHERE o.id = d.message_id AND o.status IN ('queued', 'sending');

	-- 2. claim due rows (forced connection NULL or among p_connections)
	v_ids := ARRAY(
		SELECT q.message_id FROM smspool.queue q
		WHERE q.due_at <= now()
		  AND (q.connection IS NULL OR p_connections IS NULL OR q.connection = ANY (p_connections))
		  AND (q.valid_until IS NULL OR q.valid_until > now())
		ORDER BY q.priority DESC, q.due_at
		LIMIT p_limit
		FOR UPDATE SKIP LOCKED);
	IF cardinality(v_ids) = 0 THEN
		RETURN;
	END IF;
	v_lease := make_interval(secs => coalesce(smspool.config_int('lease_s'), 60));
	UPDATE smspool.queue q SET due_at = now() + v_lease, claimed_by = p_instance
	WHERE q.message_id = ANY (v_ids);

	RETURN QUERY
	WITH u AS (
		UPDATE smspool.outbox o SET status = 'sending', attempts = o.attempts + 1
		WHERE o.id = ANY (v_ids) AND o.status IN ('queued', 'sending')
		RETURNING o.id, o.recipient, o.sender, o.body, o.payload, o.udh, o.encoding, o.priority,
			o.want_report, o.flash, o.msg_class, o.valid_until, o.client_ref, o.attempts, o.connection
	)
	SELECT u.id, u.recipient, u.sender, u.body, u.payload, u.udh, u.encoding, u.priority,
		u.want_report, u.flash, u.msg_class, u.valid_until, u.client_ref, u.attempts, u.connection,
		CASE WHEN u.connection IS NOT NULL THEN ARRAY[u.connection] ELSE coalesce(r.conns, '{}') END,
		CASE WHEN u.connection IS NOT NULL THEN ARRAY[0] ELSE coalesce(r.positions, '{}') END,
		CASE WHEN u.connection IS NOT NULL THEN ARRAY[1] ELSE coalesce(r.weights, '{}') END
	FROM u
	LEFT JOIN LATERAL (
		SELECT array_agg(c.connection ORDER BY c."position", c.connection) AS conns,
		       array_agg(c."position" ORDER BY c."position", c.connection) AS positions,
		       array_agg(c.weight ORDER BY c."position", c.connection) AS weights
		FROM smspool.route_candidates(u.recipient, u.sender) c
		WHERE u.connection IS NULL
	) r ON true
	ORDER BY u.priority DESC, u.id;

	-- queue rows whose message is no longer queued/sending (cancelled while we
	-- claimed, finished by hand, outbox row deleted): drop them
	GET DIAGNOSTICS v_n = ROW_COUNT;
	IF v_n < cardinality(v_ids) THEN
		DELETE FROM smspool.queue q
		WHERE q.message_id = ANY (v_ids)
		  AND NOT EXISTS (SELECT 1 FROM smspool.outbox o WHERE o.id = q.message_id AND o.status = 'sending');
	END IF;
END
$$;
COMMENT ON FUNCTION smspool.claim(text, text[], int) IS 'Daemon: first expires (bounded, 1000 per call) queued messages whose valid_until passed (status expired, error_class expired), then claims up to p_limit due queue rows whose forced connection is NULL or in p_connections (NULL = any), highest priority first then oldest due; leases them for config lease_s to p_instance; sets status sending, attempts+1; returns the messages with their route (forced: {connection},{0},{1}; else route_candidates aggregated in order; empty arrays when nothing matches).';

---------------------------------------------------------------------------
-- 2. record_results
---------------------------------------------------------------------------
CREATE FUNCTION smspool.record_results(p_instance text, p_ids bigint[], p_outcomes text[], p_connections text[],
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
		SELECT i.* FROM inp i
		CROSS JOIN LATERAL (
			SELECT 1 FROM smspool.outbox o WHERE o.id = i.id AND o.status = 'sending' OFFSET 0) x
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
			connection_used = CASE WHEN r.outcome = 'release' THEN o.connection_used ELSE coalesce(r.conn, o.connection_used) END,
			parts = CASE WHEN r.outcome = 'sent'
				THEN coalesce(r.parts, cardinality(string_to_array(r.rids, E'\x1f')), o.parts) ELSE o.parts END,
			remote_ids = CASE WHEN r.outcome = 'sent' THEN string_to_array(r.rids, E'\x1f') ELSE o.remote_ids END,
			part_status = CASE WHEN r.outcome = 'sent' AND o.want_report AND r.rids IS NOT NULL AND r.rids <> ''
				THEN array_fill('pending'::text, ARRAY[cardinality(string_to_array(r.rids, E'\x1f'))])
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
		RETURNING o.id, o.status, o.want_report, o.remote_ids, o.connection_used, o.next_attempt_at
	),
	qd AS (
		DELETE FROM smspool.queue q USING u
		WHERE q.message_id = u.id AND u.status <> 'queued'
	),
	qu AS (
		UPDATE smspool.queue q SET due_at = u.next_attempt_at, claimed_by = NULL
		FROM u
		WHERE q.message_id = u.id AND u.status = 'queued'
	),
	rw AS (
		INSERT INTO smspool.report_wait (remote_id, connection, message_id, part)
		SELECT x.rid, u.connection_used, u.id, x.n::int
		FROM u, unnest(u.remote_ids) WITH ORDINALITY AS x(rid, n)
		WHERE u.status = 'sent' AND u.want_report AND x.rid IS NOT NULL AND x.rid <> ''
		  AND u.connection_used IS NOT NULL
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
COMMENT ON FUNCTION smspool.record_results(text, bigint[], text[], text[], text[], int[], text[], text[], int[]) IS 'Daemon: records submit outcomes, one array element per message. Outcomes: sent (status sent, remote_ids = split of p_remote_ids[i] on U+001F, one per part; report_wait rows when want_report; earlier unmatched reports applied), temporary|throttled (queued again after p_retry_after_s[i] or backoff retry_base_s*2^(attempts-1) capped at retry_max_s; failed once attempts >= max_attempts), rejected (status rejected, error_class permanent), failed (failed, error_class local), no_route (failed, error_class no_route), release (queued again without counting the attempt, due after p_retry_after_s[i] or now), expired (expired). Only messages in status sending are touched; returns how many were.';

-- Applies stored unmatched reports to parts now awaited (used by record_results).
CREATE FUNCTION smspool.match_unmatched_reports(p_remote_ids text[], p_connections text[])
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
		SELECT r.id, r.remote_id, r.connection, r.state, r.error_code, w.message_id, w.part,
		       smspool.report_state_is_final(r.state) AS fin
		FROM smspool.reports r
		JOIN smspool.report_wait w ON w.remote_id = r.remote_id AND w.connection = r.connection
		WHERE r.message_id IS NULL AND r.remote_id = ANY (p_remote_ids) AND w.remote_id = ANY (p_remote_ids)
		  AND (r.remote_id, r.connection) IN (SELECT * FROM unnest(p_remote_ids, p_connections))
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
COMMENT ON FUNCTION smspool.match_unmatched_reports(text[], text[]) IS 'Internal: matches stored unmatched reports for these (remote_id, connection) pairs to awaited parts and applies them.';

-- Two daemons can commit a message's 'sent' result and its receipt at the
-- same moment: neither transaction sees the other's row, and the receipt
-- stays unmatched.  The daemon calls this every few seconds to match the
-- recent unmatched reports whose part is awaited by now.
CREATE FUNCTION smspool.rematch_reports(p_window interval DEFAULT '1 hour', p_limit int DEFAULT 1000)
RETURNS int
LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
	v_r text[]; v_c text[]; v_n int;
BEGIN
	SELECT array_agg(x.remote_id), array_agg(x.connection), count(*)
	INTO v_r, v_c, v_n
	FROM (
		SELECT DISTINCT r.remote_id, r.connection
		FROM smspool.reports r
		WHERE r.message_id IS NULL AND r.received_at > now() - p_window
		  AND EXISTS (SELECT 1 FROM smspool.report_wait w
		              WHERE w.remote_id = r.remote_id AND w.connection = r.connection)
		LIMIT p_limit) x;
	IF v_n > 0 THEN
		PERFORM smspool.match_unmatched_reports(v_r, v_c);
	END IF;
	RETURN coalesce(v_n, 0);
END
$$;
COMMENT ON FUNCTION smspool.rematch_reports(interval, int) IS 'Daemon: matches unmatched reports received within p_window whose (remote_id, connection) is now awaited (a receipt committed at the same moment as its sent result by another daemon); returns how many pairs it looked at.';

-- A report that never comes must not keep its message waiting for ever: after
-- config report_timeout_h the wait ends (the message stays sent: the peer
-- accepted it, nobody knows more) and the report_wait rows go.
CREATE FUNCTION smspool.expire_report_waits(p_limit int DEFAULT 10000)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	v_n int;
BEGIN
	WITH old AS (
		DELETE FROM smspool.report_wait w
		WHERE w.ctid = ANY (ARRAY(
			SELECT x.ctid FROM smspool.report_wait x
			WHERE x.created_at < now() - make_interval(hours => coalesce(smspool.config_int('report_timeout_h'), 72))
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
	RETURN v_n;
END
$$;
COMMENT ON FUNCTION smspool.expire_report_waits(int) IS 'Daemon (every minute): ends the wait of sent messages whose report has not come within config report_timeout_h; they stay sent, with done_at and error_class no_report.  Returns how many messages.';

---------------------------------------------------------------------------
-- 3. record_reports
---------------------------------------------------------------------------
CREATE FUNCTION smspool.record_reports(p_connections text[], p_remote_ids text[], p_states text[], p_error_codes text[], p_texts text[])
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
		SELECT t.ord, t.conn, t.rid, coalesce(t.state, 'unknown') AS state, t.ecode, t.txt,
		       smspool.report_state_is_final(coalesce(t.state, 'unknown')) AS fin
		FROM unnest(p_connections, p_remote_ids, p_states, p_error_codes, p_texts) WITH ORDINALITY
			AS t(conn, rid, state, ecode, txt, ord)
	),
	m AS (   -- every awaited part a report refers to (the newest message if an id was reused)
		-- One primary-key probe per report (LATERAL ... OFFSET 0 cannot be
		-- flattened): never a hash join on stale statistics, and never the
		-- nested loop with a join filter that a join on the rows found by
		-- remote_id = ANY (...) became (1,000 x 1,000 comparisons per batch).
		SELECT i.ord, i.conn, i.rid, i.state, i.ecode, i.fin, w.message_id, w.part,
		       max(w.message_id) OVER (PARTITION BY i.ord) AS best
		FROM inp i
		CROSS JOIN LATERAL (
			SELECT w.message_id, w.part FROM smspool.report_wait w
			WHERE w.remote_id = i.rid AND w.connection = i.conn
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
		PERFORM smspool.apply_part_states(v_m, v_p, v_r, v_c, v_s, v_e);
	END IF;
	RETURN QUERY SELECT t.rid, t.mid FROM unnest(v_ids, v_msg) AS t(rid, mid);
END
$$;
COMMENT ON FUNCTION smspool.record_reports(text[], text[], text[], text[], text[]) IS 'Daemon: stores every delivery report (one array element each) in reports and returns (report_id, message_id) in input order, message_id NULL when unmatched. A report matches the awaited part(s) with the same (remote_id, connection) in report_wait: part_status is updated; a final state (delivered|undelivered|expired|rejected|deleted) removes the report_wait row and, once every part has a final report, sets the message''s final state (part_status_final) and done_at. Intermediate states (accepted, enroute, unknown...) only update part_status. Unmatched reports are matched later by record_results.';

---------------------------------------------------------------------------
-- 4. record_inbound
---------------------------------------------------------------------------
CREATE FUNCTION smspool.record_inbound(p_connections text[], p_senders text[], p_recipients text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_parts int[], p_smsc_timestamps timestamptz[])
RETURNS SETOF bigint
LANGUAGE sql AS $$
	WITH ins AS (
		INSERT INTO smspool.inbox (connection, sender, recipient, body, payload, udh, encoding, parts, smsc_timestamp)
		SELECT t.conn, t.snd, t.rcp, t.body, t.payload, t.udh, t.enc, coalesce(t.parts, 1), t.ts
		FROM unnest(p_connections, p_senders, p_recipients, p_bodies, p_payloads, p_udhs, p_encodings, p_parts, p_smsc_timestamps)
			WITH ORDINALITY AS t(conn, snd, rcp, body, payload, udh, enc, parts, ts, ord)
		ORDER BY t.ord
		RETURNING id
	)
	SELECT id FROM ins ORDER BY id
$$;
COMMENT ON FUNCTION smspool.record_inbound(text[], text[], text[], text[], text[], text[], text[], int[], timestamptz[]) IS 'Daemon: stores received messages (one array element each) in inbox and returns their ids in input order; one NOTIFY smspool_inbox per call.';

---------------------------------------------------------------------------
-- purging history: deleting outbox rows also removes their queue and
-- report_wait rows (set-based, once per DELETE statement)
---------------------------------------------------------------------------
CREATE FUNCTION smspool.outbox_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM smspool.queue q USING old_rows o
	WHERE q.message_id = o.id AND o.status IN ('queued', 'sending');
	DELETE FROM smspool.report_wait w USING old_rows o
	WHERE w.message_id = o.id AND o.status = 'sent' AND o.want_report;
	RETURN NULL;
END
$$;
CREATE TRIGGER outbox_deleted AFTER DELETE ON smspool.outbox
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION smspool.outbox_deleted();
