-- 027_hostile: a live daemon keeps what it holds even when it cannot renew
-- (issue 9, "leases hold while the daemon holds the message").
--
-- renew_leases() keeps the leases of what a daemon holds, but it cannot run
-- while the database cannot commit for it (an application's lock on the
-- outbox, a stalled disk): then the leases run out, and another daemon's
-- claim took the rows and sent them a second time (e2e 98_fault_lease_stalls,
-- phase c: 51 messages twice after a 5-s lock with lease_s 2).  Whether the
-- holder still lives is known without the outbox: its main session holds the
-- advisory lock (smspool.instance, hashtext(instance)) for as long as it is
-- connected, and pg_locks shows it.  claim() now takes over an expired row
-- only from a holder whose lock is free (killed, cut off: the server ended
-- its session), or that has not renewed for ten leases (a wedged daemon).
-- pg_locks is read only when a candidate row has an expired holder, so the
-- hot path (fresh rows, claimed_by NULL) does not pay for it.

CREATE OR REPLACE FUNCTION smspool.claim(p_instance text, p_connections text[], p_limit int)
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
COMMENT ON FUNCTION smspool.claim(text, text[], int) IS 'Daemon: first expires (bounded, 1000 per call) queued messages whose valid_until passed (status expired, error_class expired), then claims up to p_limit due queue rows whose forced connection is NULL or in p_connections (NULL = any) and that p_instance does not hold already, nor another daemon that still lives (a row whose lease ran out while held by an instance whose lock smspool.instance is still held, i.e. whose main session is connected, is left to it until ten leases have passed without renewal), highest priority first then oldest due, skipping queue and outbox rows locked by others; a message whose attempts already reached config max_attempts becomes failed (error_class local) instead; leases the rest for config lease_s to p_instance; sets status sending, attempts+1; returns the messages with their route (forced: {connection},{0},{1}; else route_candidates aggregated in order; empty arrays when nothing matches).';
