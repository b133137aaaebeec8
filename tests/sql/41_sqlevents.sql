-- 041_sqlevents: the statement trigger outbox_account_events and the
-- pending rows of account_events_pending make the same account events as the
-- three row triggers they replace (023/034 final report, 024 sent, 034
-- parts).  The old trigger functions are kept below in the schema old41; the
-- same lifecycle (every kind of account, report_on, multipart, intermediate
-- part states, sent and final in one transaction, a temporary result then an
-- expiry, a cancel, a deleted account, a plain message) runs under the old
-- triggers, the database is rolled back, and it runs again under the new
-- ones: the account events (content, and order per message) and the outbox
-- rows must be equal.  The commits of the daemon's transactions are played
-- by SET CONSTRAINTS ALL IMMEDIATE (the deferred events fire there).
-- Then: the retirement check's mark (retire_scan).
BEGIN;
SELECT plan(12);
DELETE FROM smspool.queue;
CREATE SCHEMA old41;

CREATE FUNCTION old41.outbox_account_report() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO smspool.account_events (account, kind, message_id, client_ref, client_parts, state, error_code, sender,
		recipient, submitted_at, done_at, part_status)
	SELECT NEW.account, 'report', NEW.id, NEW.client_ref, NEW.client_parts, NEW.status, NEW.error_code, NEW.sender, NEW.recipient,
		NEW.created_at, coalesce(NEW.done_at, now()),
		coalesce(NEW.part_status, array_fill('pending'::text, ARRAY[greatest(coalesce(NEW.parts, 1), 1)]))
	WHERE EXISTS (SELECT 1 FROM smspool.accounts a WHERE a.system_id = NEW.account);
	RETURN NULL;
END
$$;
CREATE FUNCTION old41.outbox_account_sent() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO smspool.account_events (account, kind, message_id, client_ref, state, sender, recipient,
		submitted_at, done_at)
	SELECT NEW.account, 'report', NEW.id, NEW.client_ref, 'sent', NEW.sender, NEW.recipient,
		NEW.created_at, coalesce(NEW.sent_at, now())
	WHERE EXISTS (SELECT 1 FROM smspool.accounts a WHERE a.system_id = NEW.account AND a.report_sent)
	  AND EXISTS (SELECT 1 FROM smspool.outbox o WHERE o.id = NEW.id AND o.status = 'sent');
	RETURN NULL;
END
$$;
CREATE FUNCTION old41.outbox_account_parts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO smspool.account_events (account, kind, message_id, client_ref, client_parts, state, sender, recipient,
		submitted_at, done_at, part_status)
	SELECT o.account, 'report', o.id, o.client_ref, o.client_parts, 'sent', o.sender, o.recipient, o.created_at,
		coalesce(o.sent_at, now()),
		coalesce(o.part_status, array_fill('pending'::text, ARRAY[greatest(coalesce(o.parts, 1), 1)]))
	FROM smspool.outbox o
	WHERE o.id = NEW.id AND o.status = 'sent'
	  AND EXISTS (SELECT 1 FROM smspool.accounts a WHERE a.system_id = NEW.account AND a.report_parts);
	RETURN NULL;
END
$$;
-- the row triggers as 023, 024 and 034 made them
CREATE FUNCTION pg_temp.old_triggers() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	DROP TRIGGER outbox_account_events ON smspool.outbox;
	CREATE TRIGGER outbox_account_report AFTER UPDATE OF status ON smspool.outbox
		FOR EACH ROW WHEN (NEW.account IS NOT NULL AND NEW.want_report AND OLD.status IS DISTINCT FROM NEW.status
			AND NEW.status IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed')
			AND (NEW.report_on IS NULL OR (NEW.report_on = 1 AND NEW.status <> 'delivered')
				OR (NEW.report_on = 2 AND NEW.status = 'delivered')))
		EXECUTE FUNCTION old41.outbox_account_report();
	CREATE CONSTRAINT TRIGGER outbox_account_sent AFTER UPDATE OF status ON smspool.outbox
		DEFERRABLE INITIALLY DEFERRED
		FOR EACH ROW WHEN (NEW.account IS NOT NULL AND NEW.client_ref IS NOT NULL AND NEW.status = 'sent'
			AND OLD.status IS DISTINCT FROM 'sent')
		EXECUTE FUNCTION old41.outbox_account_sent();
	CREATE CONSTRAINT TRIGGER outbox_account_parts AFTER UPDATE OF status, part_status ON smspool.outbox
		DEFERRABLE INITIALLY DEFERRED
		FOR EACH ROW WHEN (NEW.account IS NOT NULL AND NEW.idempotency_key IS NOT NULL AND NEW.want_report
			AND NEW.report_on IS NULL AND NEW.status = 'sent'
			AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.part_status IS DISTINCT FROM NEW.part_status))
		EXECUTE FUNCTION old41.outbox_account_parts();
END
$$;

-- every message of the test by its label 41<account><k>
CREATE TEMP TABLE m (label text PRIMARY KEY, id bigint NOT NULL);
CREATE FUNCTION pg_temp.mid(text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM m WHERE label = $1 $$;
CREATE FUNCTION pg_temp.sent(p_refs text[], p_rids text[], p_parts int[]) RETURNS int
LANGUAGE sql AS $$
	SELECT smspool.record_results('i41', ARRAY(SELECT pg_temp.mid(r) FROM unnest(p_refs) WITH ORDINALITY AS t(r, n) ORDER BY n),
		array_fill('sent'::text, ARRAY[cardinality(p_refs)]), array_fill('ev41'::text, ARRAY[cardinality(p_refs)]),
		p_rids, p_parts, NULL, NULL, NULL)
$$;
CREATE FUNCTION pg_temp.rep(p_rids text[], p_states text[]) RETURNS bigint
LANGUAGE sql AS $$
	SELECT count(*) FROM smspool.record_reports(array_fill('ev41'::text, ARRAY[cardinality(p_rids)]), p_rids, p_states,
		array_fill('E1'::text, ARRAY[cardinality(p_rids)]), NULL)
$$;
-- a commit of the daemon's transaction: the deferred events fire
CREATE FUNCTION pg_temp.commit_point() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	SET CONSTRAINTS ALL IMMEDIATE;
	SET CONSTRAINTS ALL DEFERRED;
END
$$;

-- The lifecycle, for every account kind (a = account, then k1..k9 below).
CREATE FUNCTION pg_temp.lifecycle() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v text[] := '{}';
	acct text;
	refs text[] := '{}';
	rids text[] := '{}';
	parts int[] := '{}';
BEGIN
	v := v || (SELECT count(*)::text FROM smspool.claim('i41', ARRAY['ev41'], 1000));
	FOREACH acct IN ARRAY ARRAY['f', 's', 'p', 'b', 'n', 'x'] LOOP
		refs := refs || ARRAY['41' || acct || 'k1', '41' || acct || 'k2', '41' || acct || 'k3', '41' || acct || 'k4',
			'41' || acct || 'k5', '41' || acct || 'k7', '41' || acct || 'k9'];
		rids := rids || ARRAY['R' || acct || '1', 'R' || acct || '2a' || chr(31) || 'R' || acct || '2b' || chr(31) || 'R' || acct || '2c',
			'R' || acct || '3', 'R' || acct || '4', 'R' || acct || '5', 'R' || acct || '7', 'R' || acct || '9'];
		parts := parts || ARRAY[1, 3, 1, 1, 1, 1, 1];
	END LOOP;
	-- 1. sent; k6 rejected, k8 temporary
	v := v || pg_temp.sent(refs, rids, parts)::text;
	v := v || smspool.record_results('i41', ARRAY(SELECT pg_temp.mid('41' || a || k) FROM unnest(ARRAY['f', 's', 'p', 'b', 'n', 'x']) a,
			unnest(ARRAY['k6', 'k8']) k ORDER BY 1),
		ARRAY(SELECT CASE k WHEN 'k6' THEN 'rejected' ELSE 'temporary' END FROM unnest(ARRAY['f', 's', 'p', 'b', 'n', 'x']) a,
			unnest(ARRAY['k6', 'k8']) k ORDER BY pg_temp.mid('41' || a || k)),
		NULL, NULL, NULL, array_fill('0x0B'::text, ARRAY[12]), NULL, NULL)::text;
	-- 2. in the same transaction: k7 delivered, part b of k2 enroute
	v := v || pg_temp.rep(ARRAY(SELECT 'R' || a || x FROM unnest(ARRAY['f', 's', 'p', 'b', 'n', 'x']) a, unnest(ARRAY['7', '2b']) x),
		ARRAY(SELECT CASE x WHEN '7' THEN 'delivered' ELSE 'enroute' END FROM unnest(ARRAY['f', 's', 'p', 'b', 'n', 'x']) a,
			unnest(ARRAY['7', '2b']) x))::text;
	PERFORM pg_temp.commit_point();
	-- 3. k1, k3, k9 delivered, k4 undelivered, part a of k2 delivered, part b buffered
	v := v || pg_temp.rep(ARRAY(SELECT 'R' || a || x FROM unnest(ARRAY['f', 's', 'p', 'b', 'n', 'x']) a,
			unnest(ARRAY['1', '3', '9', '4', '2a', '2b']) x),
		ARRAY(SELECT CASE x WHEN '4' THEN 'undelivered' WHEN '2b' THEN 'buffered' ELSE 'delivered' END
			FROM unnest(ARRAY['f', 's', 'p', 'b', 'n', 'x']) a, unnest(ARRAY['1', '3', '9', '4', '2a', '2b']) x))::text;
	PERFORM pg_temp.commit_point();
	-- 4. k8 expires in the claim; k10 is cancelled; the rest of k2 delivered (one part twice)
	UPDATE smspool.outbox SET valid_until = now() - interval '1 minute' WHERE id IN (SELECT id FROM m WHERE label LIKE '41_k8');
	v := v || (SELECT count(*)::text FROM smspool.claim('i41', ARRAY['ev41'], 1000));
	UPDATE smspool.outbox SET status = 'cancelled' WHERE id IN (SELECT id FROM m WHERE label LIKE '41_k10');
	v := v || pg_temp.rep(ARRAY(SELECT 'R' || a || x FROM unnest(ARRAY['f', 's', 'p', 'b', 'n', 'x']) a,
			unnest(ARRAY['2c', '2b', '2b']) x),
		ARRAY(SELECT CASE x WHEN '2c' THEN 'delivered' ELSE 'undelivered' END
			FROM unnest(ARRAY['f', 's', 'p', 'b', 'n', 'x']) a, unnest(ARRAY['2c', '2b', '2b']) x))::text;
	PERFORM pg_temp.commit_point();
	RETURN array_to_string(v, ' | ', '-');
END
$$;

-- The account events as text: per message (by client_ref) in their order.
CREATE FUNCTION pg_temp.events() RETURNS text
LANGUAGE sql AS $$
	SELECT coalesce(string_agg(j, E'\n' ORDER BY j), '(none)') FROM (
		SELECT m.label || ' #' || row_number() OVER (PARTITION BY e.message_id ORDER BY e.id) || ' '
			|| (to_jsonb(e) - 'id' - 'idempotency_key')::text AS j  -- (047's column: the old triggers had none)
		FROM smspool.account_events e JOIN m ON m.id = e.message_id) s
$$;
CREATE FUNCTION pg_temp.outbox() RETURNS text
LANGUAGE sql AS $$
	SELECT string_agg(m.label || ' ' || (to_jsonb(o) - 'id')::text, E'\n' ORDER BY m.label) FROM smspool.outbox o JOIN m ON m.id = o.id
$$;

INSERT INTO smspool.connections (name, type) VALUES ('ev41', 'loopback');
INSERT INTO smspool.accounts (system_id, password, report_sent, report_parts) VALUES
	('a41f', 'pw', false, false), ('a41s', 'pw', true, false), ('a41p', 'pw', false, true), ('a41b', 'pw', true, true),
	('a41n', 'pw', true, true);
-- f plain account, s report_sent, p report_parts, b both, n deleted before
-- the lifecycle, x no account (an application's row)
INSERT INTO smspool.outbox (recipient, body, account, connection, client_ref, idempotency_key, want_report, report_on,
	send_after)
SELECT '+4941' || ai || lpad(ki::text, 2, '0'),
	CASE WHEN k = 'k2' THEN repeat('Part of a long text number 041. ', 13) ELSE 'text ' || k END,
	CASE WHEN a = 'x' THEN NULL ELSE 'a41' || a END, 'ev41',
	CASE WHEN k = 'k9' THEN NULL ELSE '41' || a || k END, CASE WHEN k = 'k9' THEN NULL ELSE '41' || a || k END,
	k <> 'k5', CASE k WHEN 'k3' THEN 1 WHEN 'k4' THEN 2 END,
	CASE WHEN k = 'k10' THEN now() + interval '1 day' END
FROM unnest(ARRAY['f', 's', 'p', 'b', 'n', 'x']) WITH ORDINALITY AS a(a, ai),
	unnest(ARRAY['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'k10']) WITH ORDINALITY AS k(k, ki);
INSERT INTO m (label, id)
SELECT '41' || a || k, o.id
FROM unnest(ARRAY['f', 's', 'p', 'b', 'n', 'x']) WITH ORDINALITY AS a(a, ai)
CROSS JOIN unnest(ARRAY['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'k10']) WITH ORDINALITY AS k(k, ki)
JOIN smspool.outbox o ON o.recipient = '+4941' || ai || lpad(ki::text, 2, '0');
DELETE FROM smspool.accounts WHERE system_id = 'a41n';
SET CONSTRAINTS ALL DEFERRED;

SAVEPOINT before;
SELECT pg_temp.old_triggers();
SELECT pg_temp.lifecycle() AS old_ret \gset
SELECT pg_temp.events() AS old_events, pg_temp.outbox() AS old_outbox \gset
ROLLBACK TO SAVEPOINT before;

SELECT is(pg_temp.lifecycle(), :'old_ret', 'the same return values, call by call');
SELECT is(pg_temp.events(), :'old_events', 'the same account events, in the same order per message');
SELECT is(pg_temp.outbox(), :'old_outbox', 'the same outbox rows');
-- the comparison is not empty
SELECT is((SELECT string_agg(m.label || ':' || e.state, ',' ORDER BY m.label, e.id)
	FROM smspool.account_events e JOIN m ON m.id = e.message_id WHERE e.account = 'a41b'),
	'41bk1:sent,41bk1:sent,41bk1:delivered,41bk2:sent,41bk2:sent,41bk2:sent,41bk2:sent,41bk2:undelivered,41bk3:sent,41bk4:sent,41bk5:sent,'
	|| '41bk6:rejected,41bk7:delivered,41bk8:expired,41bk9:delivered',
	'report_sent + report_parts: sent, every part change while sent, the final states report_on asks for; sent and final in one transaction: final only');
SELECT is((SELECT string_agg(m.label || ':' || e.state, ',' ORDER BY m.label, e.id)
	FROM smspool.account_events e JOIN m ON m.id = e.message_id WHERE e.account = 'a41f'),
	'41fk1:delivered,41fk2:undelivered,41fk6:rejected,41fk7:delivered,41fk8:expired,41fk9:delivered',
	'a plain account: the final states only');
SELECT is((SELECT count(*)::int FROM smspool.account_events e JOIN m ON m.id = e.message_id
	WHERE m.label LIKE '41n%' OR m.label LIKE '41x%'), 0, 'no event for a deleted account nor for a message without one');
SELECT is((SELECT count(*)::int FROM smspool.account_events_pending), 0, 'no pending row is left after the commit');

-- a statement without any account row makes nothing pending, and a plain
-- connection's update costs no event
INSERT INTO smspool.outbox (recipient, body, connection, client_ref) VALUES ('+494199', 'plain', 'ev41', '41plain');
INSERT INTO m SELECT '41plain', id FROM smspool.outbox WHERE client_ref = '41plain';
SELECT is((SELECT count(*)::int FROM smspool.claim('i41', ARRAY['ev41'], 10)), 1, 'setup: the plain message claimed');
SELECT is(pg_temp.sent(ARRAY['41plain'], ARRAY['Rplain'], ARRAY[1]), 1, 'setup: sent');
SELECT is((SELECT count(*)::int FROM smspool.account_events_pending), 0, 'nothing pending for a message without account');

-- retire_blocker remembers how far an outbox range is final
UPDATE smspool.config SET value = '7' WHERE key = 'retention_days';
CREATE TEMP TABLE r AS SELECT min(id) AS lo, max(id) + 1 AS hi FROM m;
INSERT INTO smspool.outbox (recipient, body) VALUES ('+494198', 'later');   -- the sequence passes the range
SELECT is(smspool.retire_blocker('outbox', (SELECT lo FROM r), (SELECT hi FROM r)), 'a message is not final', 'setup: a message not final');
SELECT is((SELECT final_below FROM smspool.retire_scan s, r WHERE s.tbl = 'outbox' AND s.lo = r.lo),
	(SELECT min(o.id) FROM smspool.outbox o, r WHERE o.id >= r.lo AND o.id < r.hi AND o.done_at IS NULL),
	'the mark is the first message that is not final');

SELECT * FROM finish();
ROLLBACK;
