-- 031_parts: retry only the parts that failed (issue 17).
--
-- A multipart message whose parts were partly accepted (one part throttled,
-- timed out, or lost with its session) went back to the queue whole, and
-- every part was sent again: duplicates on the handset.  Now the result of
-- such an attempt carries the accepted parts' ids (an empty string for the
-- others); record_results keeps them (and their reports wait) instead of
-- dropping them, and claim() returns them with the connection that gave
-- them, so that the driver sends only the parts without an id.  claim()
-- gains two output columns (a changed result type: DROP and CREATE, then
-- the grants of 005_roles again); the daemon reads columns by name.

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
				THEN ARRAY(SELECT CASE WHEN x.rid <> '' AND x.rid = o.remote_ids[x.n] AND o.part_status[x.n] IS NOT NULL
						THEN o.part_status[x.n] ELSE 'pending' END
					FROM unnest(string_to_array(r.rids, E'\x1f')) WITH ORDINALITY AS x(rid, n) ORDER BY x.n)
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
COMMENT ON FUNCTION smspool.record_results(text, bigint[], text[], text[], text[], int[], text[], text[], int[]) IS 'Daemon: records submit outcomes, one array element per message. Outcomes: sent (status sent, remote_ids = split of p_remote_ids[i] on U+001F, one per part; report_wait rows when want_report, the newest message of the batch winning when two carry the same remote id on one connection; earlier unmatched reports applied), temporary|throttled (queued again after p_retry_after_s[i] or backoff retry_base_s*2^(attempts-1) capped at retry_max_s; failed once attempts >= max_attempts), rejected (status rejected, error_class permanent), failed (failed, error_class local), no_route (failed, error_class no_route), release (queued again without counting the attempt, due after p_retry_after_s[i] or now), expired (expired). Only messages in status sending are touched; returns how many were. A temporary|throttled|release outcome whose p_remote_ids[i] names some parts (an empty string for a part not accepted) keeps them: remote_ids, parts and connection_used are set, their reports wait (report_wait, part_status), and claim() hands them to the next attempt, which sends only the other parts; a later result keeps the report state of a part whose id it repeats.';

DROP FUNCTION smspool.claim(text, text[], int);

CREATE FUNCTION smspool.claim(p_instance text, p_connections text[], p_limit int)
RETURNS TABLE (id bigint, recipient text, sender text, body text, payload text, udh text, encoding text,
	priority smallint, want_report boolean, flash boolean, msg_class smallint, valid_until timestamptz,
	client_ref text, attempts int, connection text,
	route_connections text[], route_positions int[], route_weights int[],
	remote_ids text, connection_used text)
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
	v_max int;
	v_failed bigint[];
	v_live text[];
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
		  -- a row this instance holds is never taken again (its lease is
		  -- renewed while it holds it; see renew_leases)
		  AND q.claimed_by IS DISTINCT FROM p_instance
		ORDER BY q.priority DESC, q.due_at
		LIMIT p_limit
		FOR UPDATE SKIP LOCKED);
	IF cardinality(v_ids) = 0 THEN
		RETURN;
	END IF;
	v_lease := make_interval(secs => coalesce(smspool.config_int('lease_s'), 60));
	-- A row whose lease ran out while another daemon held it: taken over
	-- only if that daemon is gone (its instance lock, held by its main
	-- database session, is free) or has not renewed for ten leases.  A live
	-- daemon renews its leases, but not while the database cannot commit
	-- (a lock, a stall): taking its rows then would send them twice.
	IF EXISTS (SELECT 1 FROM smspool.queue q WHERE q.message_id = ANY (v_ids) AND q.claimed_by IS NOT NULL) THEN
		v_live := ARRAY(
			SELECT DISTINCT q.claimed_by FROM smspool.queue q
			WHERE q.message_id = ANY (v_ids) AND q.claimed_by IS NOT NULL
			  AND q.due_at > now() - 9 * v_lease
			  AND EXISTS (
				SELECT 1 FROM pg_catalog.pg_locks l
				WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
				  AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = current_database())
				  AND l.classid = hashtext('smspool.instance')::oid
				  AND l.objid = hashtext(q.claimed_by)::oid));
		IF cardinality(v_live) > 0 THEN
			v_ids := ARRAY(
				SELECT q.message_id FROM smspool.queue q
				WHERE q.message_id = ANY (v_ids)
				  AND (q.claimed_by IS NULL OR q.claimed_by <> ALL (v_live) OR q.due_at <= now() - 9 * v_lease));
			IF cardinality(v_ids) = 0 THEN
				RETURN;
			END IF;
		END IF;
	END IF;
	-- Outbox rows an application holds locked (a long transaction) are left
	-- for a later claim instead of stalling this one.
	v_ids := ARRAY(SELECT o.id FROM smspool.outbox o WHERE o.id = ANY (v_ids) FOR UPDATE SKIP LOCKED);
	-- max_attempts also here: a message whose claims keep ending without a
	-- result (its daemon died or lost the database each time) must not
	-- loop for ever.
	v_max := coalesce(smspool.config_int('max_attempts'), 6);
	WITH f AS (
		UPDATE smspool.outbox o SET status = 'failed', error_class = 'local', error_code = NULL,
			error_text = format('gave up after %s attempts that ended without a result (config max_attempts %s)', o.attempts, v_max),
			done_at = now()
		WHERE o.id = ANY (v_ids) AND o.attempts >= v_max AND o.status IN ('queued', 'sending')
		RETURNING o.id
	), d AS (
		DELETE FROM smspool.queue q USING f WHERE q.message_id = f.id RETURNING q.message_id
	)
	SELECT array_agg(d.message_id) INTO v_failed FROM d;
	IF v_failed IS NOT NULL THEN
		v_ids := ARRAY(SELECT x FROM unnest(v_ids) x WHERE x <> ALL (v_failed));
	END IF;
	IF cardinality(v_ids) = 0 THEN
		RETURN;
	END IF;
	UPDATE smspool.queue q SET due_at = now() + v_lease, claimed_by = p_instance
	WHERE q.message_id = ANY (v_ids);

	RETURN QUERY
	WITH u AS (
		UPDATE smspool.outbox o SET status = 'sending', attempts = o.attempts + 1
		WHERE o.id = ANY (v_ids) AND o.status IN ('queued', 'sending')
		RETURNING o.id, o.recipient, o.sender, o.body, o.payload, o.udh, o.encoding, o.priority,
			o.want_report, o.flash, o.msg_class, o.valid_until, o.client_ref, o.attempts, o.connection,
			o.remote_ids, o.connection_used
	)
	SELECT u.id, u.recipient, u.sender, u.body, u.payload, u.udh, u.encoding, u.priority,
		u.want_report, u.flash, u.msg_class, u.valid_until, u.client_ref, u.attempts, u.connection,
		CASE WHEN u.connection IS NOT NULL THEN ARRAY[u.connection] ELSE coalesce(r.conns, '{}') END,
		CASE WHEN u.connection IS NOT NULL THEN ARRAY[0] ELSE coalesce(r.positions, '{}') END,
		CASE WHEN u.connection IS NOT NULL THEN ARRAY[1] ELSE coalesce(r.weights, '{}') END,
		-- the parts an earlier attempt got accepted, when some were not
		-- (a partial hold, see record_results): the driver sends only the others
		CASE WHEN u.remote_ids IS NOT NULL AND (array_position(u.remote_ids, '') IS NOT NULL
			OR array_position(u.remote_ids, NULL) IS NOT NULL)
			AND array_to_string(u.remote_ids, '') <> ''
			THEN array_to_string(u.remote_ids, E'\x1f', '') END,
		CASE WHEN u.remote_ids IS NOT NULL AND (array_position(u.remote_ids, '') IS NOT NULL
			OR array_position(u.remote_ids, NULL) IS NOT NULL)
			AND array_to_string(u.remote_ids, '') <> ''
			THEN u.connection_used END
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
COMMENT ON FUNCTION smspool.claim(text, text[], int) IS 'Daemon: first expires (bounded, 1000 per call) queued messages whose valid_until passed (status expired, error_class expired), then claims up to p_limit due queue rows whose forced connection is NULL or in p_connections (NULL = any) and that p_instance does not hold already, nor another daemon that still lives (a row whose lease ran out while held by an instance whose lock smspool.instance is still held, i.e. whose main session is connected, is left to it until ten leases have passed without renewal), highest priority first then oldest due, skipping queue and outbox rows locked by others; a message whose attempts already reached config max_attempts becomes failed (error_class local) instead; leases the rest for config lease_s to p_instance; sets status sending, attempts+1; returns the messages with their route (forced: {connection},{0},{1}; else route_candidates aggregated in order; empty arrays when nothing matches); remote_ids and connection_used: the parts an earlier attempt got accepted (joined by U+001F, an empty string for each part not accepted) and where, only when some parts are accepted and some not (else NULL), so that a driver sends only the others.';
REVOKE EXECUTE ON FUNCTION smspool.claim(text, text[], int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.claim(text, text[], int) TO smspool_daemon;
