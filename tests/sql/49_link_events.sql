-- 049_link_events: the rewritten account_events_claim() (candidates locked
-- one by one by primary key, no second read of the due range with a linear
-- "id = ANY" filter) claims exactly what the body of 034_link did.  The old
-- function is made below in the schema old49 (the current definition with
-- 034's candidate step put back, so that it has whatever result columns the
-- function has now); the same claims (several accounts, an account named
-- twice, events due at the same time, an event whose lease under this
-- instance ran out, one leased to another instance, one not due yet, limits
-- below and above what is due, no account, a limit of 0) run through the old
-- one, the database is rolled back, and the same claims run through the new
-- one: every returned row and every resulting row of account_events must be
-- equal.  now() is constant in the transaction, so timestamps compare too.
-- Then the same with rows another session holds (SKIP LOCKED through
-- dblink): both skip the same rows and fill the limit from the next
-- candidates.
BEGIN;
SELECT plan(12);
CREATE SCHEMA old49;

-- The function as it was: its current definition (whatever result type it
-- has by now) with the candidate step 049 replaced put back as 034 had it.
DO $$
DECLARE
	v_def text := pg_get_functiondef('smspool.account_events_claim(text, text[], int)'::regprocedure);
	v_from int := strpos(v_def, '-- 049: each candidate locked');
	v_len int := strpos(substr(v_def, v_from), 'LIMIT p_limit);') + length('LIMIT p_limit);') - 1;
BEGIN
	IF v_from = 0 OR v_len < 100 THEN
		RAISE EXCEPTION 'the candidate step of 049 was not found';
	END IF;
	EXECUTE replace(substr(v_def, 1, v_from - 1) || $old$v_ids := ARRAY(
		SELECT e.id FROM smspool.account_events e
		WHERE e.id = ANY (ARRAY(
			SELECT c.id
			FROM (SELECT DISTINCT a FROM unnest(p_accounts) a) acc
			CROSS JOIN LATERAL (
				SELECT x.id, x.due_at FROM smspool.account_events x
				WHERE x.account = acc.a AND x.due_at <= now()
				  AND x.claimed_by IS DISTINCT FROM p_instance
				ORDER BY x.due_at LIMIT 2 * p_limit) c
			ORDER BY c.due_at, c.id
			LIMIT 2 * p_limit))
		  AND e.due_at <= now()
		ORDER BY e.due_at, e.id
		LIMIT p_limit
		FOR UPDATE SKIP LOCKED);$old$ || substr(v_def, v_from + v_len),
		'FUNCTION smspool.account_events_claim(', 'FUNCTION old49.account_events_claim(');
END
$$;
SELECT isnt(pg_get_functiondef('old49.account_events_claim(text, text[], int)'::regprocedure),
	replace(pg_get_functiondef('smspool.account_events_claim(text, text[], int)'::regprocedure), 'smspool.account_events_claim(', 'old49.account_events_claim('),
	'setup: the old body differs from the new one');

INSERT INTO smspool.accounts (system_id, password) VALUES ('la49', 'pw'), ('lb49', 'pw'), ('lc49', 'pw');
-- message_id tells the events apart; due_at: seconds ago (ties on purpose)
INSERT INTO smspool.account_events (account, kind, message_id, client_ref, state, due_at, claimed_by, attempts, part_status)
SELECT t.acc, 'report', t.m, 'r' || t.m, 'delivered', now() - t.ago * interval '1 second', t.held, t.att, '{delivered}'
FROM (VALUES ('la49', 1, 10, NULL, 0), ('la49', 2, 9, NULL, 0), ('la49', 3, 9, NULL, 0), ('la49', 4, 7, 'i49', 1),
	('la49', 5, 6, 'other49', 1), ('la49', 6, 5, NULL, 2), ('la49', 7, -30, NULL, 1), ('la49', 8, 1, NULL, 0),
	('lb49', 11, 9, NULL, 0), ('lb49', 12, 8, NULL, 0), ('lb49', 13, 6, NULL, 0), ('lb49', 14, 2, NULL, 0),
	('lc49', 21, 20, NULL, 0), ('lc49', 22, 3, NULL, 0)) AS t(acc, m, ago, held, att);
INSERT INTO smspool.account_events (account, kind, message_id, sender, recipient, body, encoding, due_at)
VALUES ('lb49', 'inbound', 15, '+4930', '+4940', 'hello', 'gsm7', now() - interval '4 seconds');
SELECT is((SELECT count(*)::int FROM smspool.account_events WHERE account LIKE '%49'), 15, 'setup: 15 events');

-- The claims, through the old (p_new false) or the new function; returns
-- every row each claim returned, as text.
CREATE FUNCTION pg_temp.claims(p_new boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v text[] := '{}';
	c record;
BEGIN
	FOR c IN SELECT * FROM (VALUES (1, 'i49', ARRAY['la49', 'lb49'], 3), (2, 'i49', ARRAY['la49', 'lb49', 'la49'], 4),
		(3, 'i49', ARRAY['lb49', 'lc49'], 1), (4, 'i49b', ARRAY['la49'], 100), (5, 'i49', '{}'::text[], 5),
		(6, 'i49', NULL, 5), (7, 'i49', ARRAY['lc49'], 0), (8, 'i49', ARRAY['lb49', 'lc49', 'nobody'], 100),
		(9, 'i49', ARRAY['la49', 'lb49', 'lc49'], 100)) AS t(n, inst, accs, lim) ORDER BY n LOOP
		IF p_new THEN
			v := v || coalesce((SELECT string_agg(to_jsonb(x)::text, E'\n') FROM smspool.account_events_claim(c.inst, c.accs, c.lim) x), '(none)');
		ELSE
			v := v || coalesce((SELECT string_agg(to_jsonb(x)::text, E'\n') FROM old49.account_events_claim(c.inst, c.accs, c.lim) x), '(none)');
		END IF;
	END LOOP;
	RETURN array_to_string(v, E'\n| ');
END
$$;

-- Every row of account_events of these accounts, as text in a fixed order.
CREATE FUNCTION pg_temp.snap() RETURNS text
LANGUAGE sql AS $$
	SELECT string_agg(to_jsonb(e)::text, E'\n' ORDER BY e.id) FROM smspool.account_events e WHERE e.account LIKE '%49'
$$;

SAVEPOINT before;
SELECT pg_temp.claims(false) AS old_ret, pg_temp.snap() AS old_events \gset
ROLLBACK TO SAVEPOINT before;
SELECT pg_temp.snap() AS start_events \gset
SELECT isnt(:'old_events'::text, :'start_events'::text, 'the old claims changed account_events (the comparison below means something)');
SELECT is(pg_temp.claims(true), :'old_ret'::text, 'the same rows returned, claim by claim, in the same order');
SELECT is(pg_temp.snap(), :'old_events'::text, 'the same account_events rows (leases, holders, attempts)');
-- what the claims did, spelled out (message_id:claimed_by per event)
SELECT is((SELECT string_agg(e.message_id || ':' || coalesce(e.claimed_by, '-'), ',' ORDER BY e.message_id)
	FROM smspool.account_events e WHERE e.account LIKE '%49'),
	'1:i49,2:i49,3:i49,4:i49b,5:i49,6:i49b,7:-,8:i49b,11:i49,12:i49,13:i49,14:i49,15:i49,21:i49,22:i49',
	'every due event claimed once, the one whose lease under i49 ran out by another instance, the one not due not at all');
ROLLBACK TO SAVEPOINT before;

---------------------------------------------------------------------------
-- SKIP LOCKED: another session holds two of the oldest events
---------------------------------------------------------------------------
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('other49', format('host=%s port=%s user=%s dbname=%s',
	split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'), current_user, current_database()));
-- committed rows (the other session cannot see ours); removed again below
SELECT dblink_exec('other49', $$DELETE FROM smspool.accounts WHERE system_id = 'tap_skip49'$$);
SELECT dblink_exec('other49', $$INSERT INTO smspool.accounts (system_id, password) VALUES ('tap_skip49', 'pw')$$);
SELECT dblink_exec('other49', $$INSERT INTO smspool.account_events (account, kind, message_id, due_at)
	SELECT 'tap_skip49', 'inbound', g, now() - (10 - g) * interval '1 second' FROM generate_series(1, 6) g$$);
SELECT dblink_exec('other49', 'BEGIN');
SELECT is((SELECT array_agg(m ORDER BY m) FROM dblink('other49', $$SELECT message_id FROM smspool.account_events
	WHERE account = 'tap_skip49' AND message_id IN (2, 3) FOR UPDATE$$) AS t(m bigint)),
	ARRAY[2, 3]::bigint[], 'skip locked: another session holds events 2 and 3 (not committed yet)');
SAVEPOINT mine;
SELECT array_agg(message_id) AS old_skip FROM old49.account_events_claim('me49', ARRAY['tap_skip49'], 3) \gset
ROLLBACK TO SAVEPOINT mine;
SELECT array_agg(message_id) AS new_skip FROM smspool.account_events_claim('me49', ARRAY['tap_skip49'], 3) \gset
ROLLBACK TO SAVEPOINT mine;   -- release our row locks before the other session cleans up
SELECT is(:'new_skip'::text, :'old_skip'::text, 'skip locked: the same events as the old body, in the same order');
SELECT is(:'new_skip'::text, '{1,4,5}', 'skip locked: the held events skipped, the limit filled from the next ones, without waiting');
SELECT dblink_exec('other49', 'ROLLBACK');
-- only the claimed rows are locked, not the other candidates (2 x p_limit):
-- the other session gets every event but the two this one claims
SAVEPOINT mine2;
SELECT is((SELECT count(*)::int FROM smspool.account_events_claim('me49', ARRAY['tap_skip49'], 2)), 2, 'setup: this session claims 2');
SELECT dblink_exec('other49', 'BEGIN');
SELECT is((SELECT n FROM dblink('other49', $$SELECT count(*) FROM smspool.account_events_claim('other49', ARRAY['tap_skip49'], 10)$$) AS t(n bigint)),
	4::bigint, 'skip locked: a claim locks only the rows it claims (the other session gets the other 4)');
SELECT dblink_exec('other49', 'ROLLBACK');
ROLLBACK TO SAVEPOINT mine2;
SELECT dblink_exec('other49', $$DELETE FROM smspool.accounts WHERE system_id = 'tap_skip49'$$);
SELECT is((SELECT n FROM dblink('other49', $$SELECT count(*) FROM smspool.account_events WHERE account = 'tap_skip49'$$) AS t(n bigint)), 0::bigint,
	'skip locked: committed test rows removed');
SELECT dblink_disconnect('other49');

SELECT * FROM finish();
ROLLBACK;
