-- 022_ha: connections across several daemons (issue 16, high availability).
--
-- A connection that must be held by one daemon at a time (a modem, an SMSC
-- account allowed one bind, anything marked exclusive) is owned through a
-- lease in smspool.connection_owners; the other connections run on every
-- daemon, or on those that connections.daemons names.
--
-- Why a lease and not an advisory lock: a session-level advisory lock is
-- released only when the server notices that the holder's session is gone.
-- A daemon that is alive but cut from the database (a partition, a firewall
-- dropping packets) keeps its backend alive on the server until TCP
-- keepalives give up — minutes to hours — and meanwhile it cannot tell
-- whether it still holds the lock.  A lease bounds both sides by the same
-- clock: the holder renews it every lease_s/6 and stops its exclusive
-- connections by itself once it could not renew for lease_s/2 (measured
-- from when it SENT the last successful renewal, so the database's lease
-- always outlives the holder's own deadline); the database's lease lasts
-- 2*lease_s/3 from the renewal, so a successor takes it only after the
-- holder stopped, with lease_s/6 to spare for the driver's stop, and within
-- lease_s of the holder's death.  See smspool.hold_connections.

ALTER TABLE smspool.connections
	ADD COLUMN exclusive boolean,
	ADD COLUMN daemons text[];
COMMENT ON COLUMN smspool.connections.exclusive IS 'true = held by one daemon at a time (lease in connection_owners, failover to another daemon within config lease_s); false = run by every daemon it is allowed on; NULL = by type: true for modems (at, fbus), false otherwise. Set it for an SMSC account allowed one bind.';
COMMENT ON COLUMN smspool.connections.daemons IS 'Daemon instances allowed to run this connection (smspool.conf instance); NULL = every daemon. For an exclusive connection: the candidates for its lease (e.g. the machines a modem is plugged into).';

ALTER TABLE smspool.connections
	ADD CONSTRAINT connections_daemons_not_empty CHECK (daemons IS NULL OR cardinality(daemons) > 0);

CREATE FUNCTION smspool.connection_exclusive(p_type text, p_exclusive boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(p_exclusive, p_type IN ('at', 'fbus'))
$$;
COMMENT ON FUNCTION smspool.connection_exclusive(text, boolean) IS 'Whether a connection of this type with this connections.exclusive value is held by one daemon at a time (NULL = true for at and fbus).';

CREATE TABLE smspool.connection_owners (
	name text PRIMARY KEY REFERENCES smspool.connections (name) ON UPDATE CASCADE ON DELETE CASCADE,
	instance text NOT NULL,
	acquired_at timestamptz NOT NULL DEFAULT now(),
	renewed_at timestamptz NOT NULL DEFAULT now(),
	lease_until timestamptz NOT NULL
);
ALTER TABLE smspool.connection_owners SET (fillfactor = 50);
COMMENT ON TABLE smspool.connection_owners IS 'Which daemon holds each exclusive connection, until when (see smspool.hold_connections). A row past lease_until is free for any allowed daemon.';
COMMENT ON COLUMN smspool.connection_owners.name IS 'Connection name.';
COMMENT ON COLUMN smspool.connection_owners.instance IS 'Daemon instance that holds it.';
COMMENT ON COLUMN smspool.connection_owners.acquired_at IS 'When this instance took it.';
COMMENT ON COLUMN smspool.connection_owners.renewed_at IS 'Last renewal.';
COMMENT ON COLUMN smspool.connection_owners.lease_until IS 'End of the lease (database clock); the holder stops the connection before it.';

-- Renews what p_instance holds, takes what is free, gives up what it may no
-- longer hold (disabled, no longer exclusive, not among its daemons), and
-- returns the names it holds now.  Concurrent callers are serialized per
-- connection by the row lock of INSERT ... ON CONFLICT DO UPDATE, whose
-- WHERE is evaluated again on the locked row: two daemons never both get one.
CREATE FUNCTION smspool.hold_connections(p_instance text, p_lease interval)
RETURNS TABLE (name text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
	IF p_instance IS NULL OR p_lease IS NULL OR p_lease <= interval '0' THEN
		RAISE EXCEPTION 'hold_connections: instance and a positive lease are required';
	END IF;
	DELETE FROM smspool.connection_owners o
	WHERE o.instance = p_instance
	  AND NOT EXISTS (SELECT 1 FROM smspool.connections c
	                  WHERE c.name = o.name AND c.enabled AND smspool.connection_exclusive(c.type, c.exclusive)
	                    AND (c.daemons IS NULL OR p_instance = ANY (c.daemons)));
	RETURN QUERY
	WITH got AS (
	INSERT INTO smspool.connection_owners AS o (name, instance, acquired_at, renewed_at, lease_until)
	SELECT c.name, p_instance, now(), now(), now() + p_lease
	FROM smspool.connections c
	WHERE c.enabled AND smspool.connection_exclusive(c.type, c.exclusive)
	  AND (c.daemons IS NULL OR p_instance = ANY (c.daemons))
	ORDER BY c.name
	ON CONFLICT ON CONSTRAINT connection_owners_pkey DO UPDATE
		SET instance = EXCLUDED.instance,
		    acquired_at = CASE WHEN o.instance = EXCLUDED.instance THEN o.acquired_at ELSE now() END,
		    renewed_at = now(),
		    lease_until = EXCLUDED.lease_until
		WHERE o.instance = EXCLUDED.instance OR o.lease_until < now()
	RETURNING o.name
	), standby AS (
	-- what another daemon holds shows as standby here (connection_state
	-- of a connection this daemon is not running: down or standby)
	INSERT INTO smspool.connection_state AS s (name, instance, state, detail, since, updated_at)
	SELECT c.name, p_instance, 'standby', 'held by ' || w.instance, now(), now()
	FROM smspool.connections c JOIN smspool.connection_owners w ON w.name = c.name
	WHERE c.enabled AND smspool.connection_exclusive(c.type, c.exclusive)
	  AND (c.daemons IS NULL OR p_instance = ANY (c.daemons))
	  AND w.instance <> p_instance AND c.name NOT IN (SELECT g.name FROM got g)
	ON CONFLICT (name, instance) DO UPDATE
		SET state = 'standby', detail = EXCLUDED.detail, updated_at = now(),
		    since = CASE WHEN s.state = 'standby' THEN s.since ELSE now() END
		WHERE s.state IN ('down', 'standby', 'error') AND (s.state <> 'standby' OR s.detail IS DISTINCT FROM EXCLUDED.detail)
	), unstand AS (
	-- standby no more: taken by us, or no longer held by another instance
	-- for us (disabled, not exclusive, not among our daemons, released)
	UPDATE smspool.connection_state s SET state = 'down', detail = NULL, since = now(), updated_at = now()
	WHERE s.instance = p_instance AND s.state = 'standby'
	  AND (s.name IN (SELECT g.name FROM got g)
	       OR NOT EXISTS (SELECT 1 FROM smspool.connections c JOIN smspool.connection_owners w ON w.name = c.name
	                      WHERE c.name = s.name AND c.enabled AND smspool.connection_exclusive(c.type, c.exclusive)
	                        AND (c.daemons IS NULL OR p_instance = ANY (c.daemons)) AND w.instance <> p_instance))
	)
	SELECT g.name FROM got g ORDER BY g.name;
END
$$;
COMMENT ON FUNCTION smspool.hold_connections(text, interval) IS 'Daemon: renews the leases p_instance holds on exclusive connections to now() + p_lease, takes the enabled exclusive connections it is allowed on (connections.daemons) whose lease is free or ended, drops those it may no longer hold, and returns the names it holds; connection_state shows the ones another instance holds as standby (detail: held by INSTANCE), and down again once that is no longer so. Never gives one connection to two instances.';

CREATE FUNCTION smspool.release_connections(p_instance text) RETURNS int
LANGUAGE sql AS $$
	WITH d AS (DELETE FROM smspool.connection_owners WHERE instance = p_instance RETURNING 1)
	SELECT count(*)::int FROM d
$$;
COMMENT ON FUNCTION smspool.release_connections(text) IS 'Daemon: gives up every connection lease of p_instance (on a clean stop, once its connections are stopped), so that another daemon takes them at its next renewal instead of after the lease.';

-- 'standby': an exclusive connection this daemon may run but another holds.
ALTER TABLE smspool.connection_state DROP CONSTRAINT connection_state_state;
ALTER TABLE smspool.connection_state ADD CONSTRAINT connection_state_state
	CHECK (state IN ('down', 'connecting', 'up', 'stopping', 'disabled', 'error', 'standby'));
COMMENT ON COLUMN smspool.connection_state.state IS 'down|connecting|up|stopping|disabled|error|standby (standby: an exclusive connection held by another daemon, see connection_owners).';

REVOKE EXECUTE ON FUNCTION smspool.hold_connections(text, interval), smspool.release_connections(text),
	smspool.connection_exclusive(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.hold_connections(text, interval), smspool.release_connections(text),
	smspool.connection_exclusive(text, boolean) TO smspool_daemon;
GRANT EXECUTE ON FUNCTION smspool.connection_exclusive(text, boolean) TO smspool_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON smspool.connection_owners TO smspool_daemon;
GRANT SELECT ON smspool.connection_owners TO smspool_admin;

-- Maintenance redirect: while connections.redirect_to names B, everything
-- routed or forced to A is sent through B (one hop: B's own redirect_to is
-- not followed).  The daemon maps A to B when it routes a claimed message
-- and records each redirected submit in smspool.redirected_outbound, so
-- that every such message can be traced to the connection it was meant for.
ALTER TABLE smspool.connections
	ADD COLUMN redirect_to text REFERENCES smspool.connections (name) ON UPDATE CASCADE ON DELETE SET NULL,
	ADD CONSTRAINT connections_redirect_not_self CHECK (redirect_to IS NULL OR redirect_to <> name);
COMMENT ON COLUMN smspool.connections.redirect_to IS 'Maintenance: while set, messages routed or forced to this connection are sent through the named one (which must be able to send; not followed further); each such submit is recorded in redirected_outbound. NULL = no redirect.';

CREATE FUNCTION smspool.connections_redirect_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.redirect_to IS NOT NULL THEN
		PERFORM smspool.check_sending_connection('connections.redirect_to', NEW.redirect_to);
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER connections_redirect_check BEFORE INSERT OR UPDATE OF redirect_to ON smspool.connections
	FOR EACH ROW EXECUTE FUNCTION smspool.connections_redirect_check();

CREATE TABLE smspool.redirected_outbound (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	message_id bigint NOT NULL,
	from_connection text NOT NULL,
	to_connection text NOT NULL,
	outcome text,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX redirected_outbound_message ON smspool.redirected_outbound (message_id);
COMMENT ON TABLE smspool.redirected_outbound IS 'One row per submit of a message through another connection than the one it was routed or forced to, because that one had connections.redirect_to set (maintenance). outbox.connection_used names to_connection.';
COMMENT ON COLUMN smspool.redirected_outbound.message_id IS 'The message (outbox.id).';
COMMENT ON COLUMN smspool.redirected_outbound.from_connection IS 'The connection the route or outbox.connection chose.';
COMMENT ON COLUMN smspool.redirected_outbound.to_connection IS 'The connection it was sent through (from_connection''s redirect_to).';
COMMENT ON COLUMN smspool.redirected_outbound.outcome IS 'Outcome of that submit (sent, temporary, rejected...).';
COMMENT ON COLUMN smspool.redirected_outbound.created_at IS 'When the outcome was written.';
GRANT SELECT, INSERT ON smspool.redirected_outbound TO smspool_daemon;
GRANT SELECT ON smspool.redirected_outbound TO smspool_admin, smspool_app;
