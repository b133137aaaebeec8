-- 045_perf: the rewritten claim() and config_int() do exactly what the
-- functions they replace did.  The old bodies (031 and 003) are kept below in
-- the schema old45; the same claims (priorities and a limit, a forced
-- connection outside the list, rows to expire, rows whose lease ran out under
-- a daemon that is gone and under one that lives, messages at max_attempts, a
-- queue row whose message is no longer queued, ids on both sides of a
-- partition boundary, a claim that finds nothing) run through the old ones,
-- the database is rolled back, and the same claims run through the new ones:
-- every returned row and every resulting row of outbox and queue must be
-- equal.  now() is constant in the transaction, so timestamps compare too.
BEGIN;
SELECT plan(8);
DELETE FROM smspool.queue;
CREATE SCHEMA old45;

CREATE FUNCTION old45.config_int(p_key text) RETURNS int
LANGUAGE sql STABLE AS $$
	SELECT value::int FROM smspool.config WHERE key = p_key
$$;

CREATE FUNCTION old45.claim(p_instance text, p_connections text[], p_limit int)
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

-- The claims, through the old (p_new false) or the new functions; returns
-- every row each claim returned, as text.
CREATE FUNCTION pg_temp.claims(p_new boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v text[] := '{}';
	c record;
BEGIN
	FOR c IN SELECT * FROM (VALUES (1, 'i45', ARRAY['pc'], 3), (2, 'i45', ARRAY['pc'], 100), (3, 'i45b', NULL, 100),
		(4, 'i45', ARRAY['pc', 'pd'], 100)) AS t(n, inst, conns, lim) ORDER BY n LOOP
		IF p_new THEN
			v := v || coalesce((SELECT string_agg(to_jsonb(x)::text, E'\n') FROM smspool.claim(c.inst, c.conns, c.lim) x), '(none)');
		ELSE
			v := v || coalesce((SELECT string_agg(to_jsonb(x)::text, E'\n') FROM old45.claim(c.inst, c.conns, c.lim) x), '(none)');
		END IF;
	END LOOP;
	RETURN array_to_string(v, E'\n| ');
END
$$;

-- Every row of one table, as text in a fixed order.
CREATE FUNCTION pg_temp.snap(p_table text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v text;
BEGIN
	EXECUTE format('SELECT string_agg(j, E''\n'' ORDER BY j) FROM (SELECT to_jsonb(t)::text AS j FROM smspool.%I t) s',
		p_table) INTO v;
	RETURN coalesce(v, '(none)');
END
$$;

SELECT smspool.partitions_ahead() AS ahead \gset
INSERT INTO smspool.connections (name, type) VALUES ('pc', 'loopback'), ('pd', 'loopback');
-- k: the row's part; ids 99997..100004 straddle the first partition boundary
INSERT INTO smspool.outbox (id, recipient, body, connection, priority, valid_until, send_after, client_ref)
OVERRIDING SYSTEM VALUE
SELECT 99996 + g, '4545' || lpad(g::text, 4, '0'), 'message ' || k,
	CASE WHEN k LIKE 'd%' THEN 'pd' WHEN k LIKE 'n%' THEN NULL ELSE 'pc' END,
	CASE WHEN k LIKE 'p%' THEN 5 ELSE 0 END,
	CASE WHEN k LIKE 'e%' THEN now() - interval '1 hour' END,
	CASE WHEN k = 'later' THEN now() + interval '1 hour' END,
	't45' || k
FROM unnest(ARRAY['p1', 'p2', 'p3', 'p4', 'q1', 'q2', 'e1', 'e2', 'a1', 'a2', 'g1', 'g2', 'l1', 'l2', 'f1', 'd1', 'n1',
	'later', 'q3', 'q4']) WITH ORDINALITY AS k(k, g);
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE client_ref LIKE 't45%' AND id < 100000
	AND EXISTS (SELECT 1 FROM smspool.outbox o WHERE o.client_ref LIKE 't45%' AND o.id >= 100000)), 3,
	'setup: messages on both sides of a partition boundary');
-- at max_attempts (a1 queued, a2 sending under a lease that ran out)
UPDATE smspool.outbox SET attempts = 6 WHERE client_ref IN ('t45a1', 't45a2');
-- sending under leases that ran out: g* of a daemon that is gone, l* of one
-- that lives (its instance lock is held), a2 of the gone one
UPDATE smspool.outbox SET status = 'sending', attempts = attempts + 1 WHERE client_ref IN ('t45g1', 't45g2', 't45l1', 't45l2', 't45a2');
UPDATE smspool.queue q SET claimed_by = CASE WHEN o.client_ref LIKE 't45l%' THEN 'live45' ELSE 'gone45' END,
	due_at = now() - interval '5 seconds'
FROM smspool.outbox o WHERE o.id = q.message_id AND o.client_ref IN ('t45g1', 't45g2', 't45l1', 't45l2', 't45a2');
SELECT pg_advisory_lock(hashtext('smspool.instance'), hashtext('live45')) AS locked \gset
-- failed by hand: its queue row stays until a claim finds it
UPDATE smspool.outbox SET status = 'failed' WHERE client_ref = 't45f1';
SELECT is((SELECT count(*)::int FROM smspool.queue), 20, 'setup: 20 queue rows');

SAVEPOINT before;
SELECT pg_temp.claims(false) AS old_ret \gset
SELECT pg_temp.snap('outbox') AS old_outbox, pg_temp.snap('queue') AS old_queue \gset
ROLLBACK TO SAVEPOINT before;

SELECT is(pg_temp.claims(true), :'old_ret', 'the same rows returned, claim by claim');
SELECT is(pg_temp.snap('outbox'), :'old_outbox', 'the same outbox rows (status, attempts, errors, times)');
SELECT is(pg_temp.snap('queue'), :'old_queue', 'the same queue rows (leases, holders)');
-- the comparison is not empty: each kind of row took its path
SELECT is((SELECT string_agg(substr(client_ref, 4) || ':' || status, ',' ORDER BY client_ref) FROM smspool.outbox
	WHERE client_ref LIKE 't45%'),
	'a1:failed,a2:failed,d1:sending,e1:expired,e2:expired,f1:failed,g1:sending,g2:sending,l1:sending,l2:sending,later:queued,n1:sending,p1:sending,p2:sending,p3:sending,p4:sending,q1:sending,q2:sending,q3:sending,q4:sending',
	'the claims expired, failed, took over and left the rows they should');
SELECT is((SELECT string_agg(coalesce(q.claimed_by, '-'), ',' ORDER BY o.client_ref) FROM smspool.queue q
	JOIN smspool.outbox o ON o.id = q.message_id WHERE o.client_ref IN ('t45g1', 't45l1', 't45d1', 't45later')),
	'i45b,i45,live45,-', 'a gone daemon''s rows taken over, a live one''s left, a later row left');

-- config_int: the same answers
SELECT is(ARRAY[smspool.config_int('max_attempts'), smspool.config_int('lease_s'), smspool.config_int('no such key')],
	ARRAY[old45.config_int('max_attempts'), old45.config_int('lease_s'), old45.config_int('no such key')],
	'config_int: the same values, NULL for a missing key');

SELECT pg_advisory_unlock(hashtext('smspool.instance'), hashtext('live45')) AS unlocked \gset
SELECT * FROM finish();
ROLLBACK;
