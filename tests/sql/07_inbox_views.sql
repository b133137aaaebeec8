-- inbox (record_inbound, inbox_take exactly once) and reporting views
BEGIN;
SELECT plan(12);

UPDATE smspool.inbox SET consumed_at = now() WHERE consumed_at IS NULL;   -- ignore earlier rows (rolled back)
CREATE TEMP TABLE ib AS SELECT * FROM smspool.record_inbound(ARRAY['ra', 'ra', 'rb'], ARRAY['+4911', '+4912', '+4913'], ARRAY['100', '100', '200'],
	ARRAY['one', 'two', NULL], ARRAY[NULL, NULL, 'CAFE'], ARRAY[NULL, NULL, '050003010201'], ARRAY['gsm7', 'gsm7', 'binary'], ARRAY[1, 1, 2],
	ARRAY[now(), NULL, NULL]::timestamptz[]) AS id;
SELECT is((SELECT count(*)::int FROM ib), 3, 'record_inbound returns one id per message');
SELECT results_eq($$SELECT i.body FROM ib JOIN smspool.inbox i USING (id) ORDER BY ib.id$$, $$VALUES ('one'), ('two'), (NULL)$$, 'ids in input order');
SELECT is((SELECT ARRAY[payload, udh, parts::text] FROM smspool.inbox WHERE id = (SELECT max(id) FROM ib)), ARRAY['CAFE', '050003010201', '2'], 'binary inbound stored');
SELECT results_eq($$SELECT body FROM smspool.inbox_take(2, 'app1')$$, $$VALUES ('one'), ('two')$$, 'inbox_take returns the oldest unconsumed rows');
SELECT results_eq($$SELECT payload FROM smspool.inbox_take(10, 'app2')$$, $$VALUES ('CAFE')$$, 'a second take gets only the rest');
SELECT is((SELECT count(*)::int FROM smspool.inbox_take(10, 'app3')), 0, 'nothing is taken twice');
SELECT is((SELECT array_agg(consumed_by ORDER BY id) FROM smspool.inbox WHERE id IN (SELECT id FROM ib)), ARRAY['app1', 'app1', 'app2'], 'consumed_by recorded');

-- views
DELETE FROM smspool.queue;
INSERT INTO smspool.connections (name, type) VALUES ('va', 'loopback');
INSERT INTO smspool.outbox (recipient, body, client_ref) SELECT '300' || g, 'v' || g, 'v' || g FROM generate_series(1, 5) g;
INSERT INTO smspool.outbox (recipient, body, client_ref, connection, send_after) VALUES ('3006', 'later', 'v6', 'va', now() + interval '1 day');
UPDATE smspool.outbox SET created_at = '2031-01-01 10:17' WHERE client_ref ~ '^v[0-9]$';
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['va'], 4)), 4, 'setup: 4 claimed');
SELECT smspool.record_results('d1', ARRAY(SELECT id FROM smspool.outbox WHERE client_ref IN ('v1', 'v2', 'v3', 'v4') ORDER BY id),
	ARRAY['sent', 'sent', 'sent', 'rejected'], ARRAY['va', 'va', 'va', 'va'], ARRAY['V1', 'V2', 'V3', NULL], NULL, NULL, NULL, NULL);
SELECT * FROM smspool.record_reports(ARRAY['va', 'va'], ARRAY['V1', 'V2'], ARRAY['delivered', 'undelivered'], NULL, NULL);
UPDATE smspool.outbox SET sent_at = created_at + (substr(client_ref, 2)::int * interval '10 seconds') WHERE client_ref IN ('v1', 'v2', 'v3');
UPDATE smspool.outbox SET done_at = sent_at + interval '5 seconds' WHERE client_ref = 'v1';
SELECT results_eq($$SELECT total, sent, delivered, undelivered, rejected, delivery_ratio FROM smspool.report_hourly
	WHERE connection = 'va' AND hour = '2031-01-01 10:00'$$,
	$$VALUES (4::bigint, 1::bigint, 1::bigint, 1::bigint, 1::bigint, 0.5000)$$, 'report_hourly counts per state and delivery ratio');
SELECT results_eq($$SELECT queued_to_sent_p50_s, sent_to_delivered_p50_s FROM smspool.report_hourly WHERE connection = 'va' AND hour = '2031-01-01 10:00'$$,
	$$VALUES (20::float8, 5::float8)$$, 'report_hourly latency percentiles (p50 of 10/20/30 s to sent; 5 s to delivered)');
SELECT results_eq($$SELECT connection, queued, due_now, scheduled_later, sending FROM smspool.queue_depth ORDER BY connection$$,
	$$VALUES ('(routed)', 1::bigint, 1::bigint, 0::bigint, 0::bigint), ('va', 1::bigint, 0::bigint, 1::bigint, 0::bigint)$$, 'queue_depth per forced connection');
SELECT ok((SELECT messages FROM smspool.status_counts WHERE status = 'delivered') >= 1
	AND (SELECT sum(messages) FROM smspool.status_counts) = (SELECT count(*) FROM smspool.outbox), 'status_counts covers every message');

SELECT * FROM finish();
ROLLBACK;
