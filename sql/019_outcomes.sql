-- 019_outcomes: an outcome feed for applications that INSERT rows (issue 10).
--
-- Accounts get their reports pushed; an application on the database could
-- only poll the outbox.  With the feed on, every message that reaches its
-- final state (done_at set: delivered, undelivered, expired, rejected,
-- failed, cancelled, or sent with no report to wait for) and every inbound
-- text becomes one row of smspool.outcomes, and LISTEN smspool_outcome wakes
-- the consumers once per transaction; outcomes_take(n) hands each row to
-- exactly one consumer (SKIP LOCKED) and removes it.
--
-- Off by default and then free: the capture is two statement-level
-- triggers with transition tables, created by outcome_feed(true) and dropped
-- by outcome_feed(false), so that a gateway without consumers pays nothing
-- on its hot path.

CREATE TABLE smspool.outcomes (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind text NOT NULL,
	message_id bigint,
	inbox_id bigint,
	status text,
	client_ref text,
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT outcomes_kind CHECK (kind IN ('final', 'inbound'))
) WITH (
	-- a queue: inserted, taken (deleted) soon after; vacuum by dead rows
	autovacuum_vacuum_scale_factor = 0,
	autovacuum_vacuum_threshold = 1000,
	autovacuum_vacuum_cost_delay = 0
);
COMMENT ON TABLE smspool.outcomes IS 'The outcome feed (while smspool.outcome_feed(true) is in force): one row per message that reached its final state (kind final, status and client_ref as then) and per inbound text (kind inbound, inbox_id). Consumed by outcomes_take(); NOTIFY smspool_outcome once per transaction that adds rows.';

CREATE FUNCTION smspool.outcomes_capture_final() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO smspool.outcomes (kind, message_id, status, client_ref)
	SELECT 'final', n.id, n.status, n.client_ref
	FROM new_rows n JOIN old_rows o ON o.id = n.id
	WHERE n.done_at IS NOT NULL AND o.done_at IS NULL;
	IF FOUND THEN
		PERFORM pg_notify('smspool_outcome', '');
	END IF;
	RETURN NULL;
END
$$;

CREATE FUNCTION smspool.outcomes_capture_inbound() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO smspool.outcomes (kind, inbox_id) SELECT 'inbound', n.id FROM new_rows n;
	IF FOUND THEN
		PERFORM pg_notify('smspool_outcome', '');
	END IF;
	RETURN NULL;
END
$$;

CREATE FUNCTION smspool.outcome_feed(p_on boolean) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET client_min_messages = warning AS $$
BEGIN
	DROP TRIGGER IF EXISTS outcomes_final ON smspool.outbox;
	DROP TRIGGER IF EXISTS outcomes_inbound ON smspool.inbox;
	IF p_on THEN
		CREATE TRIGGER outcomes_final AFTER UPDATE ON smspool.outbox
			REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
			FOR EACH STATEMENT EXECUTE FUNCTION smspool.outcomes_capture_final();
		CREATE TRIGGER outcomes_inbound AFTER INSERT ON smspool.inbox
			REFERENCING NEW TABLE AS new_rows
			FOR EACH STATEMENT EXECUTE FUNCTION smspool.outcomes_capture_inbound();
	END IF;
	INSERT INTO smspool.config (key, value, description)
	VALUES ('outcome_feed', CASE WHEN p_on THEN 'on' ELSE 'off' END, 'Whether the outcome feed (smspool.outcomes) is captured; change it with SELECT smspool.outcome_feed(true|false).')
	ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
	RETURN p_on;
END
$$;
COMMENT ON FUNCTION smspool.outcome_feed(boolean) IS 'Admin: turns the outcome feed on (creates the capture triggers on outbox and inbox) or off (drops them; rows not taken stay). Returns the new setting, also in config outcome_feed.';

CREATE FUNCTION smspool.outcomes_take(p_limit int DEFAULT 100)
RETURNS TABLE (outcome_id bigint, kind text, message_id bigint, inbox_id bigint, status text, client_ref text,
	created_at timestamptz)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	WITH t AS (
		DELETE FROM smspool.outcomes o
		WHERE o.id = ANY (ARRAY(
			SELECT u.id FROM smspool.outcomes u ORDER BY u.id LIMIT p_limit FOR UPDATE SKIP LOCKED))
		RETURNING o.*
	)
	SELECT t.id, t.kind, t.message_id, t.inbox_id, t.status, t.client_ref, t.created_at FROM t ORDER BY t.id
$$;
COMMENT ON FUNCTION smspool.outcomes_take(int) IS 'Takes up to p_limit outcome rows (oldest first) and removes them; each row goes to exactly one caller (FOR UPDATE SKIP LOCKED), concurrent consumers never wait on each other. Roll back to give them back. Join message_id to outbox (or inbox_id to inbox) for the details.';

REVOKE EXECUTE ON FUNCTION smspool.outcome_feed(boolean), smspool.outcomes_take(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.outcomes_take(int) TO smspool_app, smspool_admin, smspool_daemon;
GRANT EXECUTE ON FUNCTION smspool.outcome_feed(boolean) TO smspool_admin, smspool_daemon;
GRANT SELECT ON smspool.outcomes TO smspool_admin;
