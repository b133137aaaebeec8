-- 045_perf: claim() with fewer statements and fewer index probes per call,
-- and config_int() planned once per session (issues 10, 15).
--
-- Measured with tests/bench/pgcpu.sh (PostgreSQL backend CPU per 1,000
-- messages) and perf on the backend; figures in the commit message and in
-- README "Performance".  In batches of a few rows (the claims made every
-- millisecond while single-row INSERTs arrive) the cost of a call is mostly
-- fixed: executor start-up of each statement on the partitioned outbox, and
-- config_int(), an SQL function that PostgreSQL parses and plans again at
-- every call from PL/pgSQL (about 9 % of the backend's CPU in that run).  In
-- batches of 1,000 it is the index probes per row.
--
-- 1. config_int() is PL/pgSQL: its statement is planned once per session.
--    Same query, same answer (NULL for a missing key, an error for a value
--    that is not an integer).
--
-- 2. claim() does what it did (tests/sql/45_perf.sql runs the same claims
--    through the old body and this one and compares every row), with:
--    * the expiry step (a DELETE of queue joined to an UPDATE of outbox) run
--      only when an index probe finds a queue row it would take; a claim
--      that finds nothing to expire -- nearly every claim -- starts one
--      statement on the queue instead of two on queue and outbox;
--    * whether a claimed row was held by a daemon before (its lease ran
--      out) read by the claiming statement itself, not by a second scan of
--      the claimed rows (one primary-key probe per row);
--    * whether a claimed message reached max_attempts read by the statement
--      that locks the outbox rows, and the UPDATE that fails such messages
--      run only then (it probed every claimed id in every partition);
--    * the outbox statements bounded by the smallest and largest claimed id
--      as well as "= ANY": the generic plan prunes the partitions outside
--      that range when it starts (a plan cannot prune by "= ANY" of a
--      parameter), where every partition's index was probed for every id.

CREATE OR REPLACE FUNCTION smspool.config_int(p_key text) RETURNS int
LANGUAGE plpgsql STABLE AS $$
BEGIN
	-- plpgsql, not sql: an SQL function called from PL/pgSQL is parsed and
	-- planned at every call; this plan is kept for the session
	RETURN (SELECT value::int FROM smspool.config WHERE key = p_key);
END
$$;

CREATE OR REPLACE FUNCTION smspool.claim(p_instance text, p_connections text[], p_limit integer)
RETURNS TABLE(id bigint, recipient text, sender text, body text, payload text, udh text, encoding text, priority smallint,
	want_report boolean, flash boolean, msg_class smallint, valid_until timestamp with time zone, client_ref text,
	attempts integer, connection text, route_connections text[], route_positions integer[], route_weights integer[],
	remote_ids text, connection_used text)
LANGUAGE plpgsql
SET enable_seqscan = off AS $$
#variable_conflict use_column
DECLARE
	v_ids bigint[];
	v_lease interval;
	v_n int;
	v_max int;
	v_failed bigint[];
	v_live text[];
	v_held boolean;    -- a claimed row was claimed before (its lease ran out)
	v_spent boolean;   -- a claimed message reached max_attempts
	v_lo bigint;       -- the smallest and largest claimed id: the outbox
	v_hi bigint;       -- partitions outside them are pruned
BEGIN
	-- A claim commits without waiting for its WAL flush: losing one in a
	-- server crash only puts its rows back in the queue (sent again later:
	-- at-least-once, as after a daemon crash), and the wait would sit
	-- between an application's INSERT and the message on the wire.  Results
	-- and reports stay fully durable.
	PERFORM set_config('synchronous_commit', 'off', true);
	-- 1. expire: queue rows past valid_until that are not under a live lease
	--    (bounded per call; the claim below skips the rest).  The probe
	--    first: nearly every claim has nothing to expire.
	IF EXISTS (SELECT 1 FROM smspool.queue e
	           WHERE e.valid_until IS NOT NULL AND e.valid_until <= now()
	             AND (e.due_at <= now() OR e.claimed_by IS NULL)) THEN
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
	END IF;

	-- 2. claim due rows (forced connection NULL or among p_connections)
	SELECT array_agg(s.message_id), bool_or(s.held), min(s.message_id), max(s.message_id)
	INTO v_ids, v_held, v_lo, v_hi
	FROM (
		SELECT q.message_id, q.claimed_by IS NOT NULL AS held FROM smspool.queue q
		WHERE q.due_at <= now()
		  AND (q.connection IS NULL OR p_connections IS NULL OR q.connection = ANY (p_connections))
		  AND (q.valid_until IS NULL OR q.valid_until > now())
		  -- a row this instance holds is never taken again (its lease is
		  -- renewed while it holds it; see renew_leases)
		  AND q.claimed_by IS DISTINCT FROM p_instance
		ORDER BY q.priority DESC, q.due_at
		LIMIT p_limit
		FOR UPDATE SKIP LOCKED) s;
	IF v_ids IS NULL THEN
		RETURN;
	END IF;
	v_lease := make_interval(secs => coalesce(smspool.config_int('lease_s'), 60));
	-- A row whose lease ran out while another daemon held it: taken over
	-- only if that daemon is gone (its instance lock, held by its main
	-- database session, is free) or has not renewed for ten leases.  A live
	-- daemon renews its leases, but not while the database cannot commit
	-- (a lock, a stall): taking its rows then would send them twice.
	IF v_held THEN
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
	-- max_attempts also here: a message whose claims keep ending without a
	-- result (its daemon died or lost the database each time) must not
	-- loop for ever.
	v_max := coalesce(smspool.config_int('max_attempts'), 6);
	-- Outbox rows an application holds locked (a long transaction) are left
	-- for a later claim instead of stalling this one.
	SELECT array_agg(o.id), bool_or(o.attempts >= v_max AND o.status IN ('queued', 'sending'))
	INTO v_ids, v_spent
	FROM (SELECT o.id, o.attempts, o.status FROM smspool.outbox o
	      WHERE o.id = ANY (v_ids) AND o.id BETWEEN v_lo AND v_hi
	      FOR UPDATE SKIP LOCKED) o;
	IF v_ids IS NULL THEN
		RETURN;
	END IF;
	IF v_spent THEN
		WITH f AS (
			UPDATE smspool.outbox o SET status = 'failed', error_class = 'local', error_code = NULL,
				error_text = format('gave up after %s attempts that ended without a result (config max_attempts %s)', o.attempts, v_max),
				done_at = now()
			WHERE o.id = ANY (v_ids) AND o.id BETWEEN v_lo AND v_hi AND o.attempts >= v_max AND o.status IN ('queued', 'sending')
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
	END IF;
	UPDATE smspool.queue q SET due_at = now() + v_lease, claimed_by = p_instance
	WHERE q.message_id = ANY (v_ids);

	RETURN QUERY
	WITH u AS (
		UPDATE smspool.outbox o SET status = 'sending', attempts = o.attempts + 1
		WHERE o.id = ANY (v_ids) AND o.id BETWEEN v_lo AND v_hi AND o.status IN ('queued', 'sending')
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
