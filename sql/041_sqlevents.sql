-- 041_sqlevents: the account events of outbox updates, one statement per
-- batch instead of one PL/pgSQL call per row (issues 10, 14, 15).
--
-- Until now three row triggers wrote the 'report' account events of an
-- outbox UPDATE: outbox_account_report (006/023/034: a final state),
-- outbox_account_sent (024: sent, for accounts with report_sent, deferred to
-- the commit) and outbox_account_parts (034: sent or a part's state changed,
-- for accounts with report_parts, deferred too).  For a batch of 1,000
-- results of an account each fired 1,000 times: a PL/pgSQL call, an INSERT
-- of one row and, behind it, the account_events_notify statement trigger
-- (another call and a NOTIFY) per message.
--
-- Now one statement trigger with transition tables on the parent,
-- outbox_account_events, sees every row of the statement:
--  * a statement without an account row (a plain connection's batch) stops
--    after one scan of the new rows;
--  * the final events go in with one INSERT (one NOTIFY);
--  * the sent/parts candidates of the statement go in as (at most) two rows
--    of account_events_pending, one per kind, carrying the ids.  Each such
--    row has a deferred constraint trigger -- named outbox_account_parts and
--    outbox_account_sent as the row triggers were, so that SET CONSTRAINTS
--    by those names still works -- which at the commit makes the events of
--    the ids whose message is still sent, in one INSERT, and deletes the
--    pending row.  A message sent and made final in one transaction thus
--    still gets only its final event, and a message whose parts changed
--    twice while sent still gets two parts events, as before.
-- Same rows of account_events as the row triggers made (content, and order
-- per message: parts before sent, statement after statement), checked by
-- tests/sql/41_sqlevents.sql against the old triggers.  Differences: the
-- order between messages within one statement is by id (it was the order in
-- which the UPDATE reached the rows); a statement's events come with one
-- NOTIFY smspool_account_events (payload: the account if all are of one
-- account, else empty) instead of one per event; the report_sent /
-- report_parts flag of the account is read when the statement runs (to skip
-- the others early) and again at the commit (as before).  UPDATEs made on a
-- partition directly (never by smspool) fire no statement trigger of the
-- parent.
--
-- The transition tables cost every UPDATE of outbox a copy of the old and the
-- new row (also the claim's, which has no event to make); measured in the
-- commit message.

---------------------------------------------------------------------------
-- pending sent/parts events of a transaction
---------------------------------------------------------------------------
-- Rows live from an UPDATE statement to the commit of its transaction (or
-- less: SET CONSTRAINTS ... IMMEDIATE).  UNLOGGED: nothing of them must
-- survive a crash (the transaction that made them is rolled back by it).
CREATE UNLOGGED TABLE smspool.account_events_pending (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind text NOT NULL,
	ids bigint[] NOT NULL,
	CONSTRAINT account_events_pending_kind CHECK (kind IN ('sent', 'parts'))
) WITH (
	-- inserted and deleted in one transaction: vacuum by dead rows
	autovacuum_vacuum_scale_factor = 0,
	autovacuum_vacuum_threshold = 1000,
	autovacuum_vacuum_cost_delay = 0,
	vacuum_truncate = off
);
COMMENT ON TABLE smspool.account_events_pending IS 'Internal: the messages of one outbox UPDATE statement that may get a ''report'' account event with state sent at the commit (kind sent: report_sent accounts, 024; kind parts: report_parts accounts, 034). Its deferred constraint triggers outbox_account_sent / outbox_account_parts make the events of those still sent at the commit and delete the row. Empty outside transactions.';
COMMENT ON COLUMN smspool.account_events_pending.kind IS 'sent | parts.';
COMMENT ON COLUMN smspool.account_events_pending.ids IS 'outbox ids, ascending.';

---------------------------------------------------------------------------
-- the statement trigger
---------------------------------------------------------------------------
-- SECURITY DEFINER: smspool_admin and the applications (cancel) may update
-- outbox but not write account_events.
CREATE FUNCTION smspool.outbox_account_events() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- a gateway without accounts, and every claim: one scan, no join
	IF NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.account IS NOT NULL
	               AND n.status IN ('sent', 'delivered', 'undelivered', 'expired', 'rejected', 'failed')) THEN
		RETURN NULL;
	END IF;
	WITH c AS MATERIALIZED (   -- the account rows that may make an event
		SELECT n.id, n.account, n.status, n.want_report, n.report_on, n.client_ref, n.idempotency_key, n.client_parts,
		       n.error_code, n.sender, n.recipient, n.created_at, n.done_at, n.part_status, n.parts,
		       o.status AS old_status, o.part_status AS old_part_status
		FROM new_rows n JOIN old_rows o ON o.id = n.id
		WHERE n.account IS NOT NULL AND n.status IN ('sent', 'delivered', 'undelivered', 'expired', 'rejected', 'failed')
	),
	fin AS (   -- was the row trigger outbox_account_report (023/034)
		INSERT INTO smspool.account_events (account, kind, message_id, client_ref, client_parts, state, error_code, sender,
			recipient, submitted_at, done_at, part_status)
		SELECT c.account, 'report', c.id, c.client_ref, c.client_parts, c.status, c.error_code, c.sender, c.recipient,
			c.created_at, coalesce(c.done_at, now()),
			coalesce(c.part_status, array_fill('pending'::text, ARRAY[greatest(coalesce(c.parts, 1), 1)]))
		FROM c
		WHERE c.want_report AND c.status <> 'sent' AND c.old_status IS DISTINCT FROM c.status
		  AND (c.report_on IS NULL OR (c.report_on = 1 AND c.status <> 'delivered') OR (c.report_on = 2 AND c.status = 'delivered'))
		  AND c.account IN (SELECT a.system_id FROM smspool.accounts a)   -- not for a deleted account
		ORDER BY c.id
	)
	INSERT INTO smspool.account_events_pending (kind, ids)
	SELECT k.kind, array_agg(c.id ORDER BY c.id)
	FROM c
	JOIN smspool.accounts a ON a.system_id = c.account
	CROSS JOIN LATERAL (VALUES   -- parts first, as the row triggers fired by name
		-- was outbox_account_parts (034)
		(1, 'parts', a.report_parts AND c.idempotency_key IS NOT NULL AND c.want_report AND c.report_on IS NULL
			AND (c.old_status IS DISTINCT FROM c.status OR c.old_part_status IS DISTINCT FROM c.part_status)),
		-- was outbox_account_sent (024)
		(2, 'sent', a.report_sent AND c.client_ref IS NOT NULL AND c.old_status IS DISTINCT FROM 'sent')) AS k(ord, kind, due)
	WHERE c.status = 'sent' AND k.due
	GROUP BY k.ord, k.kind
	ORDER BY k.ord;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.outbox_account_events() IS 'AFTER UPDATE statement trigger of outbox (transition tables): queues the ''report'' account events of the statement''s account messages with want_report that entered a final state report_on asks for (one INSERT), and records in account_events_pending the messages that entered sent or changed part_status while sent and may get a sent event at the commit (report_sent accounts with a client_ref; report_parts accounts, messages with an idempotency_key, want_report and no report_on).';

-- At the commit (deferred): the sent events of the messages still sent.
CREATE FUNCTION smspool.account_events_pending_fire() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NEW.kind = 'parts' THEN
		INSERT INTO smspool.account_events (account, kind, message_id, client_ref, client_parts, state, sender, recipient,
			submitted_at, done_at, part_status)
		SELECT o.account, 'report', o.id, o.client_ref, o.client_parts, 'sent', o.sender, o.recipient, o.created_at,
			coalesce(o.sent_at, now()),
			coalesce(o.part_status, array_fill('pending'::text, ARRAY[greatest(coalesce(o.parts, 1), 1)]))
		FROM unnest(NEW.ids) WITH ORDINALITY AS u(id, ord)
		CROSS JOIN LATERAL (   -- one primary-key probe per id
			SELECT o.id, o.account, o.client_ref, o.client_parts, o.sender, o.recipient, o.created_at, o.sent_at,
			       o.part_status, o.parts
			FROM smspool.outbox o WHERE o.id = u.id AND o.status = 'sent' OFFSET 0) o
		WHERE o.account IN (SELECT a.system_id FROM smspool.accounts a WHERE a.report_parts)
		ORDER BY u.ord;
	ELSE
		INSERT INTO smspool.account_events (account, kind, message_id, client_ref, state, sender, recipient,
			submitted_at, done_at)
		SELECT o.account, 'report', o.id, o.client_ref, 'sent', o.sender, o.recipient, o.created_at,
			coalesce(o.sent_at, now())
		FROM unnest(NEW.ids) WITH ORDINALITY AS u(id, ord)
		CROSS JOIN LATERAL (
			SELECT o.id, o.account, o.client_ref, o.sender, o.recipient, o.created_at, o.sent_at
			FROM smspool.outbox o WHERE o.id = u.id AND o.status = 'sent' OFFSET 0) o
		WHERE o.account IN (SELECT a.system_id FROM smspool.accounts a WHERE a.report_sent)
		ORDER BY u.ord;
	END IF;
	DELETE FROM smspool.account_events_pending p WHERE p.id = NEW.id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.account_events_pending_fire() IS 'Deferred (at commit) AFTER INSERT row trigger of account_events_pending (triggers outbox_account_parts and outbox_account_sent, one per kind): queues a ''report'' account event with state sent for each message of the row that is still sent (one INSERT; parts: with client_parts and part_status, for report_parts accounts; sent: for report_sent accounts), then deletes the row.';

DROP TRIGGER outbox_account_report ON smspool.outbox;
DROP TRIGGER outbox_account_sent ON smspool.outbox;
DROP TRIGGER outbox_account_parts ON smspool.outbox;
DROP FUNCTION smspool.outbox_account_report();
DROP FUNCTION smspool.outbox_account_sent();
DROP FUNCTION smspool.outbox_account_parts();

CREATE TRIGGER outbox_account_events AFTER UPDATE ON smspool.outbox
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION smspool.outbox_account_events();
CREATE CONSTRAINT TRIGGER outbox_account_parts AFTER INSERT ON smspool.account_events_pending
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NEW.kind = 'parts') EXECUTE FUNCTION smspool.account_events_pending_fire();
CREATE CONSTRAINT TRIGGER outbox_account_sent AFTER INSERT ON smspool.account_events_pending
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NEW.kind = 'sent') EXECUTE FUNCTION smspool.account_events_pending_fire();

REVOKE ALL ON smspool.account_events_pending FROM PUBLIC;
GRANT SELECT ON smspool.account_events_pending TO smspool_admin;

---------------------------------------------------------------------------
-- The retirement check of an outbox range without a full scan each round
---------------------------------------------------------------------------
-- retire_blocker() (021) looked for a message that is not final with one
-- EXISTS over the range: a scan of the whole partition, every round
-- (partition_check_s), for as long as one message near its end was still
-- waiting.  The partial index on done_at IS NULL per partition that
-- partitions.md planned would make that one probe, but it makes done_at an
-- indexed column: the update that makes a message final (done_at from NULL
-- to a time) could no longer be HOT and would add an entry to every index of
-- the outbox, for every message, on the hot path (002 keeps the outbox free
-- of indexes on the columns the daemon updates for that reason; measured in
-- the commit message).  Instead the check remembers how far the range is
-- known to be final: nothing leaves a final state (outbox_transition), so
-- the ids below the first message found not final stay final, and the next
-- round starts its scan (by id, in order, stopping at the first such
-- message) there.  A range thus costs one scan in all, spread over the
-- rounds, plus one probe per round while it waits.  (inbox has its partial
-- index inbox_unconsumed on consumed_at IS NULL since 002: a probe.)
CREATE TABLE smspool.retire_scan (
	tbl text NOT NULL,
	lo bigint NOT NULL,
	final_below bigint NOT NULL,
	PRIMARY KEY (tbl, lo)
);
COMMENT ON TABLE smspool.retire_scan IS 'Internal (retire_blocker): every row of tbl with an id in [lo, final_below) was final when last checked (and stays so: nothing leaves a final state). Removed when the range may go.';

CREATE OR REPLACE FUNCTION smspool.retire_blocker(p_table text, p_lo bigint, p_hi bigint) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
-- the scan goes by id from the mark and stops at the first message not final
SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET enable_bitmapscan = off AS $$
DECLARE
	v_days int := coalesce(smspool.config_int('retention_days'), 0);
	v_last bigint;
	v_newest timestamptz;
	v_from bigint;
	v_open bigint;
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
		v_from := greatest(p_lo, coalesce((SELECT s.final_below FROM smspool.retire_scan s WHERE s.tbl = p_table AND s.lo = p_lo), p_lo));
		IF v_from < p_hi THEN
			SELECT o.id INTO v_open FROM smspool.outbox o
			WHERE o.id >= v_from AND o.id < p_hi
			  AND NOT (o.status IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed', 'cancelled')
			           OR (o.status = 'sent' AND o.done_at IS NOT NULL))
			ORDER BY o.id LIMIT 1;
		END IF;
		IF v_open IS NOT NULL THEN
			INSERT INTO smspool.retire_scan AS s (tbl, lo, final_below) VALUES (p_table, p_lo, v_open)
			ON CONFLICT (tbl, lo) DO UPDATE SET final_below = EXCLUDED.final_below
			WHERE s.final_below IS DISTINCT FROM EXCLUDED.final_below;
			RETURN 'a message is not final';
		END IF;
		IF EXISTS (SELECT 1 FROM smspool.report_wait w WHERE w.message_id >= p_lo AND w.message_id < p_hi) THEN
			INSERT INTO smspool.retire_scan AS s (tbl, lo, final_below) VALUES (p_table, p_lo, greatest(v_from, p_hi))
			ON CONFLICT (tbl, lo) DO UPDATE SET final_below = EXCLUDED.final_below
			WHERE s.final_below IS DISTINCT FROM EXCLUDED.final_below;
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
		IF p_table = 'outbox' THEN
			INSERT INTO smspool.retire_scan AS s (tbl, lo, final_below) VALUES (p_table, p_lo, greatest(v_from, p_hi))
			ON CONFLICT (tbl, lo) DO UPDATE SET final_below = EXCLUDED.final_below
			WHERE s.final_below IS DISTINCT FROM EXCLUDED.final_below;
		END IF;
		RETURN 'the newest row is younger than retention_days';
	END IF;
	DELETE FROM smspool.retire_scan s WHERE s.tbl = p_table AND s.lo = p_lo;   -- the range goes
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.retire_blocker(text, bigint, bigint) IS 'Why the ids [p_lo, p_hi) of outbox, reports or inbox must be kept (NULL: they may be retired): retention_days 0; the range is current (the id sequence has not passed p_hi); outbox: a message not final, a report awaited; inbox: a row not consumed; the newest row younger than retention_days. outbox: remembers in retire_scan up to which id the range is final, and checks only from there the next time.';
-- it writes retire_scan now: partition_next_step() that calls it is no
-- longer STABLE
ALTER FUNCTION smspool.partition_next_step() VOLATILE;
REVOKE ALL ON smspool.retire_scan FROM PUBLIC;
GRANT SELECT ON smspool.retire_scan TO smspool_admin;
