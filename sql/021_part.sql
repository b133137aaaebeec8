-- 021_part: producers stop paying for the daemon's wake-up (issue 10).
--
-- Until now every INSERT into outbox sent NOTIFY smspool_outbox.  A
-- notifying commit takes a database-wide lock that it holds through its WAL
-- flush, so concurrent producers committed one after the other (the paced
-- producer reached 516-805 of its 1,000 rows/s).  Now a producer notifies
-- only while a daemon's claimer says it is waiting for rows:
--
-- * claimer_waiting holds one row per claimer that went to sleep (set by
--   claimer_wait(instance, true) after a few empty claims in a row, removed
--   by claimer_wait(instance, false) when it claims rows again).  While no
--   row is there, the claimers are busy and claim again within a
--   millisecond on their own: an INSERT only reads the tiny table.
-- * The race: a producer that read "nobody waits" just before a claimer set
--   its flag, and commits after the claimer's last claim, would wait for the
--   fallback poll.  So after setting its flag the claimer takes the
--   transactions then in progress (claimer_in_flight(NULL)), claims once
--   more, and claims again once they have all ended (claimer_in_flight(xids)
--   returns those still running; it asks every few ms, for at most about a
--   second — the fallback poll covers the rest).  A producer's transaction
--   has its xid before its trigger reads the flag, so it is either visible
--   to that claim or in that list.
-- * Unlogged: after a server crash the table is empty (nobody is flagged as
--   waiting); a claimer reconnects and claims at once, and sets its flag
--   again when it next runs dry.  A stale row (a daemon killed while
--   waiting) costs only the old per-INSERT NOTIFY until that instance
--   starts again (it clears its row when it connects) or another claimer
--   goes to sleep (it removes the rows of daemons without a heartbeat for a
--   minute; a live daemon whose row went that way sets it again after its
--   next fallback poll finds rows).

CREATE UNLOGGED TABLE smspool.claimer_waiting (
	instance text PRIMARY KEY,
	since timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE smspool.claimer_waiting IS 'Daemon-internal: claimers waiting for rows (one row per instance). The outbox INSERT trigger sends NOTIFY smspool_outbox only while this table has a row.';

CREATE FUNCTION smspool.claimer_wait(p_instance text, p_waiting boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	-- the flag is a hint: losing it in a crash is harmless (see above)
	PERFORM set_config('synchronous_commit', 'off', true);
	IF p_waiting THEN
		INSERT INTO smspool.claimer_waiting (instance) VALUES (p_instance) ON CONFLICT (instance) DO NOTHING;
		-- the flags of daemons without a heartbeat for a minute (killed
		-- while waiting) go: they would make every INSERT notify again
		DELETE FROM smspool.claimer_waiting w
		WHERE w.instance <> p_instance
		  AND NOT EXISTS (SELECT 1 FROM smspool.daemons d
		                  WHERE d.instance = w.instance AND d.heartbeat_at > now() - interval '1 minute');
	ELSE
		DELETE FROM smspool.claimer_waiting WHERE instance = p_instance;
	END IF;
END
$$;
COMMENT ON FUNCTION smspool.claimer_wait(text, boolean) IS 'Daemon: p_waiting true: the claimer of p_instance sleeps until NOTIFY smspool_outbox (producers notify while any claimer waits); false: it claims on its own again (producers need not notify).';

CREATE FUNCTION smspool.claimer_in_flight(p_xids xid8[]) RETURNS xid8[]
LANGUAGE sql VOLATILE AS $$
	SELECT CASE WHEN p_xids IS NULL
		THEN ARRAY(SELECT x FROM pg_snapshot_xip(pg_current_snapshot()) x ORDER BY x)
		ELSE ARRAY(SELECT x FROM unnest(p_xids) x WHERE pg_xact_status(x) = 'in progress' ORDER BY x)
	END
$$;
COMMENT ON FUNCTION smspool.claimer_in_flight(xid8[]) IS 'Daemon: NULL: the transactions in progress now; else those of p_xids still in progress.';

CREATE OR REPLACE FUNCTION smspool.outbox_enqueue() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO smspool.queue (message_id, connection, priority, due_at, valid_until)
	SELECT n.id, n.connection, n.priority, coalesce(n.send_after, now()), n.valid_until
	FROM new_rows n;
	IF FOUND AND EXISTS (SELECT 1 FROM smspool.claimer_waiting) THEN
		PERFORM pg_notify('smspool_outbox', '');
	END IF;
	RETURN NULL;
END
$$;

REVOKE ALL ON smspool.claimer_waiting FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON smspool.claimer_waiting TO smspool_daemon;
GRANT SELECT ON smspool.claimer_waiting TO smspool_admin;
REVOKE EXECUTE ON FUNCTION smspool.claimer_wait(text, boolean), smspool.claimer_in_flight(xid8[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.claimer_wait(text, boolean), smspool.claimer_in_flight(xid8[]) TO smspool_daemon;

-- The retirement rules of the partitions to come (sql/partitions.md): why an
-- id range of outbox, reports or inbox must stay, NULL when it may go.  One
-- function for the rules so that the partition maintenance and its tests
-- share them; on today's unpartitioned tables it answers for any id range.
INSERT INTO smspool.config (key, value, description) VALUES
	('partition_hours', '24', 'Hours of messages one partition of outbox, reports and inbox should hold (its id range follows the recent message rate).')
ON CONFLICT (key) DO NOTHING;

CREATE OR REPLACE FUNCTION smspool.config_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.key IN ('max_parts', 'max_attempts', 'retry_base_s', 'retry_max_s', 'lease_s', 'no_route_hold_s', 'report_timeout_h',
	               'retention_days', 'account_event_ttl_h', 'daemon_gone_days', 'partition_hours') THEN
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

CREATE FUNCTION smspool.retire_blocker(p_table text, p_lo bigint, p_hi bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_days int := coalesce(smspool.config_int('retention_days'), 0);
	v_last bigint;
	v_newest timestamptz;
BEGIN
	IF p_table NOT IN ('outbox', 'reports', 'inbox') THEN
		RAISE EXCEPTION 'retire_blocker: no partitioned table %', p_table USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF v_days = 0 THEN
		RETURN 'kept for ever (retention_days 0)';
	END IF;
	-- the range the sequence is in (or has not reached) still gets rows
	SELECT CASE WHEN s.last_value IS NULL THEN 0 ELSE s.last_value END INTO v_last
	FROM pg_sequences s WHERE s.schemaname = 'smspool' AND s.sequencename = p_table || '_id_seq';
	IF p_hi > coalesce(v_last, 0) THEN
		RETURN 'current: new rows may still come';
	END IF;
	IF p_table = 'outbox' THEN
		IF EXISTS (SELECT 1 FROM smspool.outbox o WHERE o.id >= p_lo AND o.id < p_hi
		           AND NOT (o.status IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed', 'cancelled')
		                    OR (o.status = 'sent' AND o.done_at IS NOT NULL))) THEN
			RETURN 'a message is not final';
		END IF;
		IF EXISTS (SELECT 1 FROM smspool.report_wait w WHERE w.message_id >= p_lo AND w.message_id < p_hi) THEN
			RETURN 'a report is awaited';
		END IF;
		SELECT max(o.created_at) INTO v_newest FROM smspool.outbox o WHERE o.id >= p_lo AND o.id < p_hi;
	ELSIF p_table = 'inbox' THEN
		IF EXISTS (SELECT 1 FROM smspool.inbox i WHERE i.id >= p_lo AND i.id < p_hi AND i.consumed_at IS NULL) THEN
			RETURN 'an inbox row is not consumed';
		END IF;
		SELECT max(i.received_at) INTO v_newest FROM smspool.inbox i WHERE i.id >= p_lo AND i.id < p_hi;
	ELSE
		SELECT max(r.received_at) INTO v_newest FROM smspool.reports r WHERE r.id >= p_lo AND r.id < p_hi;
	END IF;
	IF v_newest > now() - make_interval(days => v_days) THEN
		RETURN 'the newest row is younger than retention_days';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.retire_blocker(text, bigint, bigint) IS 'Why the ids [p_lo, p_hi) of outbox, reports or inbox must be kept (NULL: they may be retired): retention_days 0; the range is current (the id sequence has not passed p_hi); outbox: a message not final, a report awaited; inbox: a row not consumed; the newest row younger than retention_days.';
REVOKE EXECUTE ON FUNCTION smspool.retire_blocker(text, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.retire_blocker(text, bigint, bigint) TO smspool_daemon, smspool_admin;
