-- 047_link_ids: results recorded sent "by id" make no report_wait rows,
-- and reports that name their message's id (a link server's State.client_id)
-- are applied to that row only: sent over the report's connection, with the
-- report's remote id, still awaiting reports, each part final once.  Their
-- wait ends after report_timeout_h (report_wait_by_id).  Server side: report
-- events carry the message's idempotency key, and the claim returns it.
BEGIN;
SELECT plan(35);
DELETE FROM smspool.queue;

INSERT INTO smspool.connections (name, type) VALUES ('lk1', 'loopback'), ('lk2', 'loopback');
INSERT INTO smspool.outbox (recipient, body, client_ref, connection)
SELECT '4747' || lpad(g::text, 4, '0'), CASE WHEN k = 'c' THEN repeat('Part of a long text number 047. ', 13)
	ELSE 'message ' || k END, 't47' || k, 'lk1'
FROM unnest(ARRAY['a', 'b', 'c', 'd', 'e', 'g', 'h']) WITH ORDINALITY AS k(k, g);
SELECT is((SELECT count(*)::int FROM smspool.claim('i47', ARRAY['lk1'], 100)), 7, 'setup: 7 messages claimed');
CREATE TEMP TABLE ids AS SELECT substr(client_ref, 4) AS k, id FROM smspool.outbox WHERE client_ref LIKE 't47_';
CREATE FUNCTION pg_temp.id(p_k text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM ids WHERE k = p_k $$;
CREATE FUNCTION pg_temp.row_of(p_k text) RETURNS text LANGUAGE sql AS $$
	SELECT concat_ws(' ', o.status, o.part_status::text, o.done_at IS NOT NULL, o.error_class)
	FROM smspool.outbox o WHERE o.id = pg_temp.id(p_k) $$;
-- one report by id; returns the message id it matched, or '-'
CREATE FUNCTION pg_temp.rep(p_conn text, p_rid text, p_state text, p_k text) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(r.message_id::text, '-')
	FROM smspool.record_reports(ARRAY[p_conn], ARRAY[p_rid], ARRAY[p_state], ARRAY[NULL::text], ARRAY[NULL::text],
		ARRAY[pg_temp.id(p_k)]) r $$;

-- e's report comes before its result: the row is still sending, stored unmatched
SELECT is(pg_temp.rep('lk1', '904', 'delivered', 'e'), '-', 'a report by id of a message not sent yet is stored unmatched');
SELECT is(pg_temp.rep('lk1', '903', 'delivered', 'd'), '-', 'a report by id of a sending message is refused');

SELECT is(smspool.record_results('i47', ARRAY[pg_temp.id('a'), pg_temp.id('b'), pg_temp.id('c'), pg_temp.id('e'),
		pg_temp.id('g'), pg_temp.id('h')],
	ARRAY['sent', 'sent', 'sent', 'sent', 'sent', 'sent'], ARRAY['lk1', 'lk1', 'lk1', 'lk1', 'lk1', 'lk1'],
	ARRAY['900', '901', E'902/1\x1f902/2', '904', '906', '907'], ARRAY[1, 1, 2, 1, 1, 1],
	NULL::text[], NULL::text[], NULL::int[], ARRAY[true, true, true, true, true, false]), 6, 'six results recorded');
SELECT is((SELECT array_agg(message_id ORDER BY message_id) FROM smspool.report_wait),
	ARRAY[pg_temp.id('h')], 'report_wait: only the message recorded the old way (by id: none)');
SELECT is((SELECT array_agg(x ORDER BY x) FROM smspool.report_wait_by_id w, unnest(w.message_ids) x),
	ARRAY[pg_temp.id('a'), pg_temp.id('b'), pg_temp.id('c'), pg_temp.id('c'), pg_temp.id('e'), pg_temp.id('g')],
	'one report_wait_by_id row holds the batch''s ids (once per part)');
SELECT is(pg_temp.row_of('e'), 'delivered {delivered} t', 'the report that came first is applied by the result');
SELECT is((SELECT message_id FROM smspool.reports WHERE remote_id = '904'), pg_temp.id('e'), '... and matched to its message');
SELECT is(pg_temp.row_of('a'), 'sent {pending} f', 'a sent by id: sent, pending, waiting');

-- the right row
SELECT is(pg_temp.rep('lk1', '900', 'delivered', 'a'), pg_temp.id('a')::text, 'a report by id matches its row');
SELECT is(pg_temp.row_of('a'), 'delivered {delivered} t', '... which is delivered');
SELECT is((SELECT row(message_id = pg_temp.id('a'), part, matched_at IS NOT NULL)::text FROM smspool.reports
	WHERE remote_id = '900'), '(t,1,t)', '... and the report is stored, matched, with its part');
-- a final state only once
SELECT is(pg_temp.rep('lk1', '900', 'undelivered', 'a'), '-', 'a second final report is not applied');
SELECT is(pg_temp.row_of('a'), 'delivered {delivered} t', '... the row stays delivered');
-- another connection, another remote id, another row
SELECT is(pg_temp.rep('lk2', '901', 'delivered', 'b'), '-', 'a report by id over another connection is refused');
SELECT is(pg_temp.rep('lk1', '999', 'delivered', 'b'), '-', 'a report by id with another remote id is refused');
SELECT is(pg_temp.rep('lk1', '900', 'delivered', 'b'), '-', 'a report by id with the remote id of another row is refused');
SELECT is(pg_temp.row_of('b'), 'sent {pending} f', '... b is untouched');
SELECT is((SELECT status FROM smspool.outbox WHERE id = pg_temp.id('d')), 'sending', 'the sending message is untouched');
-- intermediate states
SELECT is(pg_temp.rep('lk1', '901', 'enroute', 'b'), pg_temp.id('b')::text, 'an intermediate report by id matches');
SELECT is(pg_temp.row_of('b'), 'sent {enroute} f', '... b is sent, enroute');
-- parts
SELECT is(pg_temp.rep('lk1', '902/1', 'delivered', 'c'), pg_temp.id('c')::text, 'part 1 by id');
SELECT is(pg_temp.row_of('c'), 'sent {delivered,pending} f', '... c waits for part 2');
SELECT is(pg_temp.rep('lk1', '902/1', 'undelivered', 'c'), '-', 'part 1 is final once');
SELECT is(pg_temp.rep('lk1', '902/2', 'expired', 'c'), pg_temp.id('c')::text, 'part 2 by id');
SELECT is(pg_temp.row_of('c'), 'expired {delivered,expired} t expired', '... c is final: the worst part');
-- the old way still works beside it
SELECT is((SELECT count(*)::int FROM smspool.record_reports(ARRAY['lk1'], ARRAY['907'], ARRAY['delivered'],
	NULL::text[], NULL::text[], NULL::bigint[]) r WHERE r.message_id = pg_temp.id('h')), 1, 'h: matched by remote id');
SELECT is((SELECT count(*)::int FROM smspool.report_wait), 0, 'report_wait is empty');

-- the timeout: b (enroute) and g (nothing) are still waiting
UPDATE smspool.report_wait_by_id SET created_at = now() - interval '73 hours';
SELECT is(smspool.expire_report_waits(), 2, 'after report_timeout_h the two messages still waiting are ended');
SELECT is(pg_temp.row_of('g') || ' / ' || pg_temp.row_of('b'), 'sent {pending} t no_report / sent {enroute} t no_report',
	'... they stay sent, with done_at and no_report');
SELECT is((SELECT count(*)::int FROM smspool.report_wait_by_id), 0, '... and the batch row is gone');

-- server side: a report event carries the message's idempotency key
INSERT INTO smspool.accounts (system_id, password) VALUES ('acc47', 'pw');
INSERT INTO smspool.outbox (recipient, body, account, idempotency_key, connection)
VALUES ('47470100', 'keyed', 'acc47', 'edge:42', 'lk1');
SELECT is((SELECT count(*)::int FROM smspool.claim('i47', ARRAY['lk1'], 100)), 1, 'setup: the keyed message is claimed');
SELECT is(smspool.record_results('i47', ARRAY[(SELECT id FROM smspool.outbox WHERE idempotency_key = 'edge:42')], ARRAY['sent'],
	ARRAY['lk1'], ARRAY['k47'], ARRAY[1], NULL::text[], NULL::text[], NULL::int[]), 1, 'the nine-argument form still works');
SELECT is((SELECT count(r.message_id)::int FROM smspool.record_reports(ARRAY['lk1'], ARRAY['k47'], ARRAY['delivered'],
	NULL::text[], NULL::text[]) r), 1, 'the five-argument form still matches by remote id');
SELECT is((SELECT string_agg(c.state || ' ' || c.idempotency_key, ',')
	FROM smspool.account_events_claim('i47', ARRAY['acc47'], 10) c), 'delivered edge:42',
	'the report event and its claim carry the idempotency key');

SELECT * FROM finish();
ROLLBACK;
