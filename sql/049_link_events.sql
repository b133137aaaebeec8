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
-- Measured (the bench's link phase, one path at a time, 30,000
-- messages, base 046 and 049 alternated 8 times each on a loaded 2-core
-- machine; pg_stat_statements of daemon B, ms per run, mean):
--   link:      candidate step 606 -> 146 (base 117..1,701: the bad plan in
--              about half of the runs; new 104..229), account_events_claim
--              1,342 -> 801;
--   SMPP path: candidate step 769 -> 138, account_events_claim 1,464 -> 916.
-- What is left of the claim is its UPDATE (the lease: non-HOT, due_at is
-- indexed), 400 to 800 ms per 30,000 events on both paths.  CPU seconds of
-- B's backends and msg/s moved less than the machine's noise.
--
-- Only that statement of the function changes, whatever else the function
-- has become by now (047_link_ids, made in parallel, adds a result column):
-- the migration takes the function's current definition, replaces its
-- candidate step (found by its text, else the migration fails) and runs the
-- definition again.  Result type, rights and comment stay as they are.
DO $mig$
DECLARE
	v_def text := pg_get_functiondef('smspool.account_events_claim(text, text[], int)'::regprocedure);
	v_from int := strpos(v_def, 'v_ids := ARRAY(');
	v_len int;
BEGIN
	v_len := strpos(substr(v_def, v_from), 'FOR UPDATE SKIP LOCKED);') + length('FOR UPDATE SKIP LOCKED);') - 1;
	IF v_from = 0 OR v_len < 100 OR strpos(substr(v_def, v_from, v_len), 'WHERE e.id = ANY (ARRAY(') = 0 THEN
		RAISE EXCEPTION '049: the candidate step of account_events_claim() (034) was not found';
	END IF;
	EXECUTE substr(v_def, 1, v_from - 1) || $new$-- 049: each candidate locked by its primary key, in order, up to p_limit
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
		LIMIT p_limit);$new$ || substr(v_def, v_from + v_len);
END
$mig$;
