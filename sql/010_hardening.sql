-- 010_hardening: nothing sent twice without a crash, and nothing an
-- application does can stall the daemon (issue 9).
--
-- * claim(): skips outbox rows an application holds locked; never takes a
--   row its own instance holds; fails a message whose attempts reached
--   max_attempts (claims that kept ending without a result).
-- * renew_leases(): the daemon renews the leases of what it holds, so that
--   a message waiting for window, throughput or a slow answer is never
--   claimed by another daemon while this one is alive.
-- * record_results(): two results of one batch with the same remote id on
--   one connection no longer fail the batch.
-- * cancelling: a bulk UPDATE ... SET status = 'cancelled' cancels the rows
--   still queued and leaves the others (the row count says how many).
-- * clearing send_after makes a queued message due at once.
-- * length limits on the free-text columns an application writes.
-- * report_hourly reads only the hours it is asked for.

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
COMMENT ON FUNCTION smspool.claim(text, text[], int) IS 'Daemon: first expires (bounded, 1000 per call) queued messages whose valid_until passed (status expired, error_class expired), then claims up to p_limit due queue rows whose forced connection is NULL or in p_connections (NULL = any) and that p_instance does not hold already, highest priority first then oldest due, skipping queue and outbox rows locked by others; a message whose attempts already reached config max_attempts becomes failed (error_class local) instead; leases the rest for config lease_s to p_instance; sets status sending, attempts+1; returns the messages with their route (forced: {connection},{0},{1}; else route_candidates aggregated in order; empty arrays when nothing matches).';

CREATE FUNCTION smspool.renew_leases(p_instance text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	v_lease interval := make_interval(secs => coalesce(smspool.config_int('lease_s'), 60));
	v_n int;
BEGIN
	UPDATE smspool.queue q SET due_at = now() + v_lease
	WHERE q.claimed_by = p_instance AND q.due_at < now() + v_lease / 2;
	GET DIAGNOSTICS v_n = ROW_COUNT;
	UPDATE smspool.account_events e SET due_at = now() + v_lease
	WHERE e.claimed_by = p_instance AND e.due_at < now() + v_lease / 2;
	RETURN v_n;
END
$$;
COMMENT ON FUNCTION smspool.renew_leases(text) IS 'Daemon (at every heartbeat, every few seconds): extends to config lease_s the leases of the queue rows and account events p_instance holds that are past half their lease. A live daemon thus keeps what it holds however long it waits (window, throughput, a slow peer, a store that cannot commit); a dead or cut-off one loses it lease_s after its last heartbeat. Returns how many queue rows were renewed.';
CREATE INDEX queue_claimed_by ON smspool.queue (claimed_by) WHERE claimed_by IS NOT NULL;
REVOKE EXECUTE ON FUNCTION smspool.renew_leases(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.renew_leases(text) TO smspool_daemon;

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
		-- An SMSC that reuses ids may give two messages of one batch the
		-- same id: the newer message waits for it (as across batches), and
		-- ON CONFLICT never meets one key twice in one statement.
		INSERT INTO smspool.report_wait (remote_id, connection, message_id, part)
		SELECT DISTINCT ON (x.rid, u.connection_used, x.n) x.rid, u.connection_used, u.id, x.n::int
		FROM u, unnest(u.remote_ids) WITH ORDINALITY AS x(rid, n)
		WHERE u.status = 'sent' AND u.want_report AND x.rid IS NOT NULL AND x.rid <> ''
		  AND u.connection_used IS NOT NULL
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
COMMENT ON FUNCTION smspool.record_results(text, bigint[], text[], text[], text[], int[], text[], text[], int[]) IS 'Daemon: records submit outcomes, one array element per message. Outcomes: sent (status sent, remote_ids = split of p_remote_ids[i] on U+001F, one per part; report_wait rows when want_report, the newest message of the batch winning when two carry the same remote id on one connection; earlier unmatched reports applied), temporary|throttled (queued again after p_retry_after_s[i] or backoff retry_base_s*2^(attempts-1) capped at retry_max_s; failed once attempts >= max_attempts), rejected (status rejected, error_class permanent), failed (failed, error_class local), no_route (failed, error_class no_route), release (queued again without counting the attempt, due after p_retry_after_s[i] or now), expired (expired). Only messages in status sending are touched; returns how many were.';

-- Cancelling skips the rows that are no longer queued instead of failing
-- the whole statement for one claimed row.
CREATE OR REPLACE FUNCTION smspool.outbox_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_legal boolean;
BEGIN
	IF NEW.status = 'cancelled' THEN
		IF OLD.status <> 'queued' THEN
			RETURN NULL;  -- left as it is: the UPDATE's row count says how many were cancelled
		END IF;
		NEW.done_at := now();
		RETURN NEW;
	END IF;
	-- applications may only cancel (the daemon role is never an app member)
	IF pg_has_role('smspool_app', 'MEMBER') AND NOT pg_has_role('smspool_daemon', 'MEMBER') THEN
		RAISE EXCEPTION 'outbox.status: applications may only set status cancelled (message % from % to %)', OLD.id, OLD.status, NEW.status
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	v_legal := CASE OLD.status
		WHEN 'queued' THEN NEW.status IN ('sending', 'expired', 'failed')
		WHEN 'sending' THEN NEW.status IN ('queued', 'sent', 'failed', 'rejected', 'expired', 'delivered', 'undelivered')
		WHEN 'sent' THEN NEW.status IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed')
		ELSE false END;
	IF v_legal IS NOT TRUE THEN
		RAISE EXCEPTION 'outbox.status: illegal transition from % to % (message %)', OLD.status, coalesce(NEW.status, 'NULL'), OLD.id
			USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.done_at IS NULL AND NEW.status IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed') THEN
		NEW.done_at := now();
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION smspool.outbox_transition() IS 'Legal transitions: queued->sending|cancelled|expired|failed; sending->queued|sent|failed|rejected|expired|delivered|undelivered; sent->delivered|undelivered|expired|rejected|failed; nothing leaves a final state. Applications (smspool_app members that are not smspool_daemon members) may only cancel. Setting cancelled on a row that is no longer queued leaves that row unchanged (not counted in the UPDATE''s row count), so that a bulk cancel cancels what is still queued.';

-- Clearing send_after makes the message due now (it kept the old time).
CREATE OR REPLACE FUNCTION smspool.outbox_requeue() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE smspool.queue SET connection = NEW.connection, priority = NEW.priority,
		due_at = coalesce(greatest(NEW.next_attempt_at, NEW.send_after), now()), valid_until = NEW.valid_until
	WHERE message_id = NEW.id AND claimed_by IS NULL;
	RETURN NULL;
END
$$;

-- Length limits: one INSERT must not be able to exhaust the daemon's memory.
-- NOT VALID then VALIDATE: the check of existing rows takes no lock that
-- stops writers.  body and payload are bounded by max_parts (at most 255
-- parts) already; these limits hold whatever max_parts says.
ALTER TABLE smspool.outbox
	ADD CONSTRAINT "outbox.client_ref: at most 256 characters" CHECK (char_length(client_ref) <= 256) NOT VALID,
	ADD CONSTRAINT "outbox.body: at most 40000 characters" CHECK (char_length(body) <= 40000) NOT VALID,
	ADD CONSTRAINT "outbox.payload: at most 71400 hex digits" CHECK (char_length(payload) <= 71400) NOT VALID,
	ADD CONSTRAINT "outbox.udh: at most 280 hex digits" CHECK (char_length(udh) <= 280) NOT VALID;
ALTER TABLE smspool.outbox VALIDATE CONSTRAINT "outbox.client_ref: at most 256 characters";
ALTER TABLE smspool.outbox VALIDATE CONSTRAINT "outbox.body: at most 40000 characters";
ALTER TABLE smspool.outbox VALIDATE CONSTRAINT "outbox.payload: at most 71400 hex digits";
ALTER TABLE smspool.outbox VALIDATE CONSTRAINT "outbox.udh: at most 280 hex digits";

-- Tenants: an application role that sees only its own messages, next to the
-- all-seeing smspool_app.  Row-level security on outbox and reports; the
-- policies call no function.  outbox.tenant is the inserting role
-- (current_user, the login role a tenant connects as); a tenant cannot set
-- it (no INSERT privilege on the column, and the policy checks it).
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'smspool_tenant') THEN
		CREATE ROLE smspool_tenant NOLOGIN;
	END IF;
END
$$;
COMMENT ON ROLE smspool_tenant IS 'smspool application tenants: like smspool_app, but only their own messages: INSERT into outbox (tenant = the login role), SELECT their outbox rows and the reports of those, cancel their queued messages; no inbox, no views. Grant it to one login role per tenant.';

ALTER TABLE smspool.outbox ADD COLUMN tenant text DEFAULT current_user;
COMMENT ON COLUMN smspool.outbox.tenant IS 'The database role that inserted the message (current_user); a smspool_tenant member sees only its own rows.';

ALTER TABLE smspool.outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE smspool.reports ENABLE ROW LEVEL SECURITY;
-- Everyone who could see everything before still does (the table owner and
-- superusers bypass row security anyway).
CREATE POLICY outbox_all ON smspool.outbox TO smspool_app, smspool_admin, smspool_daemon USING (true) WITH CHECK (true);
CREATE POLICY reports_all ON smspool.reports TO smspool_app, smspool_admin, smspool_daemon USING (true) WITH CHECK (true);
CREATE POLICY outbox_tenant_read ON smspool.outbox FOR SELECT TO smspool_tenant USING (tenant = current_user);
CREATE POLICY outbox_tenant_insert ON smspool.outbox FOR INSERT TO smspool_tenant WITH CHECK (tenant = current_user);
-- a tenant may only cancel, and only its queued messages
CREATE POLICY outbox_tenant_cancel ON smspool.outbox FOR UPDATE TO smspool_tenant
	USING (tenant = current_user AND status = 'queued') WITH CHECK (tenant = current_user AND status = 'cancelled');
CREATE POLICY reports_tenant_read ON smspool.reports FOR SELECT TO smspool_tenant
	USING (message_id IN (SELECT o.id FROM smspool.outbox o WHERE o.tenant = current_user));

GRANT USAGE ON SCHEMA smspool TO smspool_tenant;
GRANT SELECT ON smspool.outbox, smspool.reports TO smspool_tenant;
GRANT INSERT (recipient, body, sender, connection, priority, send_after, valid_until, want_report,
	client_ref, encoding, payload, udh, flash, msg_class) ON smspool.outbox TO smspool_tenant;
GRANT UPDATE (status) ON smspool.outbox TO smspool_tenant;
GRANT SELECT ON smspool.config TO smspool_tenant;
GRANT SELECT (name) ON smspool.connections TO smspool_tenant;
GRANT EXECUTE ON FUNCTION smspool.sms_parts(text, text, text, text), smspool.sms_encoding(text),
	smspool.config_int(text) TO smspool_tenant;

-- report_hourly filtered by hour reads only those hours: its hour is now the
-- UTC hour of created_at (an immutable expression, the same as before in
-- every time zone whose offset is whole hours), with a BRIN index on it
-- (a few pages for millions of rows, like outbox_created_brin).
CREATE INDEX outbox_hour_brin ON smspool.outbox
	USING brin ((date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'));
CREATE OR REPLACE VIEW smspool.report_hourly AS
SELECT
	o.connection_used AS connection,
	date_trunc('hour', o.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
	count(*) AS total,
	count(*) FILTER (WHERE o.status = 'queued') AS queued,
	count(*) FILTER (WHERE o.status = 'sending') AS sending,
	count(*) FILTER (WHERE o.status = 'sent') AS sent,
	count(*) FILTER (WHERE o.status = 'delivered') AS delivered,
	count(*) FILTER (WHERE o.status = 'undelivered') AS undelivered,
	count(*) FILTER (WHERE o.status = 'expired') AS expired,
	count(*) FILTER (WHERE o.status = 'rejected') AS rejected,
	count(*) FILTER (WHERE o.status = 'failed') AS failed,
	count(*) FILTER (WHERE o.status = 'cancelled') AS cancelled,
	round(count(*) FILTER (WHERE o.status = 'delivered')::numeric
		/ nullif(count(*) FILTER (WHERE o.sent_at IS NOT NULL
			AND o.status IN ('delivered', 'undelivered', 'expired', 'rejected')), 0), 4) AS delivery_ratio,
	percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.sent_at - o.created_at)::float8)
		FILTER (WHERE o.sent_at IS NOT NULL) AS queued_to_sent_p50_s,
	percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM o.sent_at - o.created_at)::float8)
		FILTER (WHERE o.sent_at IS NOT NULL) AS queued_to_sent_p95_s,
	percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.done_at - o.sent_at)::float8)
		FILTER (WHERE o.status = 'delivered' AND o.sent_at IS NOT NULL) AS sent_to_delivered_p50_s,
	percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM o.done_at - o.sent_at)::float8)
		FILTER (WHERE o.status = 'delivered' AND o.sent_at IS NOT NULL) AS sent_to_delivered_p95_s
FROM smspool.outbox o
GROUP BY o.connection_used, date_trunc('hour', o.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
COMMENT ON VIEW smspool.report_hourly IS 'Per connection_used (NULL: never submitted) and UTC hour of created_at: total, count per status, delivery_ratio = delivered / sent messages with a final report state (delivered, undelivered, expired, rejected), p50/p95 seconds from insert to sent and from sent to delivered. Example: SELECT * FROM smspool.report_hourly WHERE hour >= now() - interval ''1 day'' ORDER BY hour, connection. A filter on hour reads only those hours (BRIN index outbox_hour_brin).';
