-- 049_link_events: account_events_claim() without the quadratic re-read
-- (issue 15, the link's speed target).
--
-- The claim picked its candidates (the oldest due events of each account, by
-- the index (account, due_at), twice the limit) and then read them again to
-- lock them: "e.id = ANY (ARRAY(candidates)) AND e.due_at <= now() ORDER BY
-- e.due_at, e.id LIMIT p_limit FOR UPDATE SKIP LOCKED".  For that outer read
-- the planner (account_events is a queue: its statistics are those of an
-- empty or tiny table most of the time) chose a bitmap scan of the whole
-- index range "due_at <= now()" -- every due row of every account, and the
-- dead entries of the rows claimed and deleted since the last vacuum -- with
-- "id = ANY" as a filter: a linear search of the 2 x p_limit candidate ids
-- (the array is a parameter, never hashed) for every row of that range.
-- With pg_stat_statements on the bench's daemon B (30,000 messages, one
-- event each) that statement was 1,020 ms of 1,478 in 36 calls on the link
-- path, whose link-server claims up to 1,000 events at a time, and 182 ms in
-- 62 calls on the SMPP path (smaller claims): rows x candidates, so the
-- larger claims paid far more per event.  EXPLAIN ANALYZE of one call:
-- Bitmap Heap Scan ... Filter: (id = ANY ($1)), 2,940 rows read for 1,791
-- candidates, 10.9 ms of 11.6.
--
-- Now the candidates are locked one by one in their order, each by one probe
-- of the primary key: unnest(candidates) WITH ORDINALITY, in that order (a
-- function scan with ordinality is known to be ordered by it: no sort), a
-- LATERAL subquery locking that one row FOR UPDATE SKIP LOCKED if still due,
-- and LIMIT p_limit, which stops the nested loop at the p_limit-th locked
-- row.  The same rows are locked as before (the candidates in order of
-- due_at, id, skipping those locked by others and those no longer due, up to
-- p_limit; tests/sql/49_link_events.sql compares the old and new bodies row
-- by row); the cost is one index probe per candidate tried whatever the
-- plan of the rest.
--
-- Result type, rights, comment: as in 034_link (CREATE OR REPLACE keeps them).

CREATE OR REPLACE FUNCTION smspool.account_events_claim(p_instance text, p_accounts text[], p_limit int)
RETURNS TABLE (id bigint, account text, kind text, message_id bigint, client_ref text, state text, error_code text,
	submitted_at timestamptz, done_at timestamptz, sender text, recipient text, body text, payload text, udh text,
	encoding text, client_parts smallint, part_status text[])
LANGUAGE plpgsql
-- Touches a batch of rows by key: never a sequential scan (see 003).
SET enable_seqscan = off AS $$
#variable_conflict use_column
DECLARE
	v_ids bigint[];
	v_lease interval;
BEGIN
	IF p_accounts IS NULL OR cardinality(p_accounts) = 0 OR coalesce(p_limit, 0) <= 0 THEN
		RETURN;
	END IF;
	-- candidates: the oldest due events of each account (one index range scan
	-- per account, bounded), twice the limit so that rows another instance
	-- holds can be skipped; then, in that order, each locked by its primary
	-- key if it is still due and nobody holds it, until p_limit are locked.
	v_ids := ARRAY(
		SELECT l.id
		FROM unnest(ARRAY(
			SELECT c.id
			FROM (SELECT DISTINCT a FROM unnest(p_accounts) a) acc
			CROSS JOIN LATERAL (
				SELECT x.id, x.due_at FROM smspool.account_events x
				WHERE x.account = acc.a AND x.due_at <= now()
				  AND x.claimed_by IS DISTINCT FROM p_instance
				ORDER BY x.due_at LIMIT 2 * p_limit) c
			ORDER BY c.due_at, c.id
			LIMIT 2 * p_limit)) WITH ORDINALITY AS k(id, n)
		CROSS JOIN LATERAL (
			SELECT e.id FROM smspool.account_events e
			WHERE e.id = k.id AND e.due_at <= now()
			FOR UPDATE SKIP LOCKED) l
		ORDER BY k.n
		LIMIT p_limit);
	IF cardinality(v_ids) = 0 THEN
		RETURN;
	END IF;
	v_lease := make_interval(secs => coalesce(smspool.config_int('lease_s'), 60));
	RETURN QUERY
	WITH u AS (
		UPDATE smspool.account_events e SET due_at = now() + v_lease, claimed_by = p_instance, attempts = e.attempts + 1
		WHERE e.id = ANY (v_ids)
		RETURNING e.id, e.account, e.kind, e.message_id, e.client_ref, e.state, e.error_code, e.submitted_at, e.done_at,
			e.sender, e.recipient, e.body, e.payload, e.udh, e.encoding, e.client_parts, e.part_status
	)
	SELECT u.id, u.account, u.kind, u.message_id, u.client_ref, u.state, u.error_code, u.submitted_at, u.done_at,
		u.sender, u.recipient, u.body, u.payload, u.udh, u.encoding, u.client_parts, u.part_status
	FROM u JOIN unnest(v_ids) WITH ORDINALITY AS o(id, n) ON o.id = u.id
	ORDER BY o.n;
END
$$;
