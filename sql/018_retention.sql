-- 018_retention: history that does not grow for ever (issue 10, first part).
--
-- * config retention_days (0 = keep for ever): finished messages, their
--   reports and consumed inbox rows older than that are deleted by the
--   daemons' maintenance, in bounded batches (partitions that are detached
--   whole are the next step; these batches keep the tables at a steady size
--   meanwhile, autovacuum reusing the space).
-- * purge(): selective deletion (one account, one recipient: an erasure
--   request), in batches that commit as they go.
-- * account events that no session of their account took within
--   account_event_ttl_h are dropped; daemons gone for daemon_gone_days leave
--   daemons and connection_state.
-- * maintain(): the periodic work of the daemons (ending report waits and the
--   above), done by one daemon at a time (an advisory lock), so that N
--   daemons do not race over the same rows.

INSERT INTO smspool.config (key, value, description) VALUES
	('retention_days', '0', 'Days finished messages (and their reports) and consumed inbox rows are kept; 0 = for ever. Older ones are deleted by the daemons'' maintenance, a bounded batch each minute.'),
	('account_event_ttl_h', '168', 'Hours an account event (a report or an inbound text for an account) waits for a session of its account; then it is dropped.'),
	('daemon_gone_days', '7', 'Days after its last heartbeat that a daemon''s rows in daemons and connection_state are removed.')
ON CONFLICT (key) DO NOTHING;

CREATE OR REPLACE FUNCTION smspool.config_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.key IN ('max_parts', 'max_attempts', 'retry_base_s', 'retry_max_s', 'lease_s', 'no_route_hold_s', 'report_timeout_h',
	               'retention_days', 'account_event_ttl_h', 'daemon_gone_days') THEN
		IF NEW.value !~ '^[0-9]{1,9}$' OR (NEW.value::int < 1 AND NEW.key NOT IN ('no_route_hold_s', 'retention_days')) THEN
			RAISE EXCEPTION 'config.value: % must be a positive integer (got "%")', NEW.key, NEW.value
				USING ERRCODE = 'check_violation';
		END IF;
		IF NEW.key = 'max_parts' AND NEW.value::int > 255 THEN
			RAISE EXCEPTION 'config.value: max_parts must be 1 to 255 (got "%")', NEW.value
				USING ERRCODE = 'check_violation';
		END IF;
	END IF;
	RETURN NEW;
END
$$;

-- One batch of purge(): deletes up to p_batch finished messages created
-- before p_before (of one account, of one recipient, or all) with their
-- reports, and, unless an account is named, up to p_batch consumed inbox rows
-- received before p_before (from that recipient's number, or all).
-- Returns (messages, inbox) deleted.  Messages still queued, sending, or sent
-- and awaiting their report are never touched.
CREATE FUNCTION smspool.purge_batch(p_before timestamptz, p_account text DEFAULT NULL, p_recipient text DEFAULT NULL,
	p_batch int DEFAULT 10000, OUT messages int, OUT inbox int)
LANGUAGE plpgsql AS $$
BEGIN
	WITH d AS (
		DELETE FROM smspool.outbox o
		WHERE o.id = ANY (ARRAY(
			SELECT x.id FROM smspool.outbox x
			WHERE x.created_at < p_before
			  AND (p_account IS NULL OR x.account = p_account)
			  AND (p_recipient IS NULL OR x.recipient = p_recipient)
			  AND (x.status IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed', 'cancelled')
			       OR (x.status = 'sent' AND x.done_at IS NOT NULL))
			ORDER BY x.id
			LIMIT p_batch))
		RETURNING o.id
	), r AS (
		DELETE FROM smspool.reports rp USING d WHERE rp.message_id = d.id
	)
	SELECT count(*) INTO messages FROM d;
	inbox := 0;
	IF p_account IS NULL THEN
		DELETE FROM smspool.inbox i
		WHERE i.id = ANY (ARRAY(
			SELECT x.id FROM smspool.inbox x
			WHERE x.received_at < p_before AND x.consumed_at IS NOT NULL
			  AND (p_recipient IS NULL OR x.sender = p_recipient)
			ORDER BY x.id
			LIMIT p_batch));
		GET DIAGNOSTICS inbox = ROW_COUNT;
	END IF;
END
$$;
COMMENT ON FUNCTION smspool.purge_batch(timestamptz, text, text, int) IS 'One batch of purge() (no commit of its own): up to p_batch finished messages created before p_before (of account p_account / to recipient p_recipient when given) with their reports, and, when no account is given, up to p_batch consumed inbox rows received before p_before (from sender p_recipient when given). Returns how many of each were deleted.';

CREATE PROCEDURE smspool.purge(p_before timestamptz, p_account text DEFAULT NULL, p_recipient text DEFAULT NULL,
	p_batch int DEFAULT 10000, INOUT messages bigint DEFAULT 0, INOUT inbox bigint DEFAULT 0)
LANGUAGE plpgsql AS $$
DECLARE
	b record;
BEGIN
	LOOP
		b := smspool.purge_batch(p_before, p_account, p_recipient, p_batch);
		messages := messages + b.messages;
		inbox := inbox + b.inbox;
		COMMIT;  -- each batch on its own: short locks, WAL and vacuum keep up
		EXIT WHEN b.messages < p_batch AND b.inbox < p_batch;
	END LOOP;
END
$$;
COMMENT ON PROCEDURE smspool.purge(timestamptz, text, text, int, bigint, bigint) IS 'Deletes finished messages (with their reports) and consumed inbox rows older than p_before, of one account or one recipient number (an erasure request) or all, in batches of p_batch that commit as they go: CALL smspool.purge(now() - interval ''30 days'', p_recipient => ''+15551234567''); returns the totals. Run it outside a transaction block.';

CREATE FUNCTION smspool.maintain(p_instance text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v_waits int;
	v_events int;
	v_daemons int;
	v_days int := coalesce(smspool.config_int('retention_days'), 0);
	v_purged record;
BEGIN
	-- one daemon at a time; the others skip this round
	IF NOT pg_try_advisory_xact_lock(hashtext('smspool.maintain')) THEN
		RETURN NULL;
	END IF;
	v_waits := smspool.expire_report_waits();
	DELETE FROM smspool.account_events e
	WHERE e.id = ANY (ARRAY(
		SELECT x.id FROM smspool.account_events x
		WHERE x.created_at < now() - make_interval(hours => coalesce(smspool.config_int('account_event_ttl_h'), 168))
		  AND x.claimed_by IS NULL
		LIMIT 10000));
	GET DIAGNOSTICS v_events = ROW_COUNT;
	WITH gone AS (
		DELETE FROM smspool.daemons d
		WHERE d.heartbeat_at < now() - make_interval(days => coalesce(smspool.config_int('daemon_gone_days'), 7))
		  AND d.instance <> p_instance
		RETURNING d.instance
	), cs AS (
		DELETE FROM smspool.connection_state s USING gone WHERE s.instance = gone.instance
	)
	SELECT count(*) INTO v_daemons FROM gone;
	IF v_days > 0 THEN
		v_purged := smspool.purge_batch(now() - make_interval(days => v_days), NULL, NULL, 10000);
	ELSE
		v_purged := ROW(0, 0);
	END IF;
	RETURN format('report_waits=%s account_events=%s daemons=%s messages=%s inbox=%s',
		v_waits, v_events, v_daemons, v_purged.messages, v_purged.inbox);
END
$$;
COMMENT ON FUNCTION smspool.maintain(text) IS 'Daemon (every minute): the periodic work, by one daemon at a time (pg_try_advisory_xact_lock; NULL when another holds it): ends report waits past report_timeout_h, drops account events older than account_event_ttl_h that no session took, removes daemons (and their connection_state) gone for daemon_gone_days, and deletes one batch (10,000) of what retention_days no longer keeps (purge_batch). Returns what it did as key=value text.';

REVOKE EXECUTE ON FUNCTION smspool.purge_batch(timestamptz, text, text, int), smspool.maintain(text) FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE smspool.purge(timestamptz, text, text, int, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.purge_batch(timestamptz, text, text, int), smspool.maintain(text) TO smspool_daemon, smspool_admin;
GRANT EXECUTE ON PROCEDURE smspool.purge(timestamptz, text, text, int, bigint, bigint) TO smspool_daemon, smspool_admin;

-- Idempotency key: an application that retries an INSERT whose commit it
-- did not see (a dropped connection) cannot send the message twice.  Unique
-- per account (server-side submissions) or inserting role; only rows that
-- carry a key are indexed, so the hot path pays nothing for the others.
ALTER TABLE smspool.outbox ADD COLUMN idempotency_key text;
ALTER TABLE smspool.outbox ADD CONSTRAINT "outbox.idempotency_key: at most 200 characters"
	CHECK (char_length(idempotency_key) <= 200);
COMMENT ON COLUMN smspool.outbox.idempotency_key IS 'Optional key of the application: a second INSERT with the same key by the same account (or, without account, the same role) fails with unique_violation (23505) on "outbox.idempotency_key: already used", or is skipped by INSERT ... ON CONFLICT DO NOTHING.';
CREATE UNIQUE INDEX "outbox.idempotency_key: already used" ON smspool.outbox (coalesce(account, tenant, ''), idempotency_key)
	WHERE idempotency_key IS NOT NULL;
GRANT INSERT (idempotency_key) ON smspool.outbox TO smspool_app, smspool_tenant;
