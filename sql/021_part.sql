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
--   starts again (it clears its row when it connects).

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
