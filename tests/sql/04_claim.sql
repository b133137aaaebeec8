-- claim(): priority order, due time, lease, forced connection filter, expiry, routes
BEGIN;
SELECT plan(17);

DELETE FROM smspool.queue;   -- start from an empty queue (rolled back)
INSERT INTO smspool.connections (name, type) VALUES ('ca', 'loopback'), ('cb', 'loopback');
INSERT INTO smspool.routes (position, connection, weight) VALUES (1, 'ca', 2), (2, 'cb', 1);

INSERT INTO smspool.outbox (recipient, body, priority, client_ref) VALUES
	('101', 'p0 first', 0, 'c-p0a'),
	('102', 'p5', 5, 'c-p5'),
	('103', 'p0 second', 0, 'c-p0b'),
	('104', 'p9', 9, 'c-p9');
INSERT INTO smspool.outbox (recipient, body, send_after, client_ref) VALUES ('105', 'later', now() + interval '10 minutes', 'c-later');
INSERT INTO smspool.outbox (recipient, body, connection, client_ref) VALUES ('106', 'forced cb', 'cb', 'c-forced');
INSERT INTO smspool.outbox (recipient, body, send_after, valid_until, client_ref)
	VALUES ('107', 'too late', now() - interval '2 hours', now() - interval '1 hour', 'c-expired');

CREATE TEMP TABLE c1 AS SELECT * FROM smspool.claim('d1', ARRAY['ca'], 3);
SELECT results_eq($$SELECT client_ref FROM c1 ORDER BY priority DESC, id$$,
	$$VALUES ('c-p9'), ('c-p5'), ('c-p0a')$$, 'claims the highest priority first, then the oldest');
SELECT is((SELECT status FROM smspool.outbox WHERE client_ref = 'c-expired'), 'expired', 'a queued message past valid_until becomes expired');
SELECT is((SELECT error_class FROM smspool.outbox WHERE client_ref = 'c-expired'), 'expired', 'expired message has error_class expired');
SELECT ok(NOT EXISTS (SELECT 1 FROM smspool.queue q JOIN smspool.outbox o ON o.id = q.message_id WHERE o.client_ref = 'c-expired'), 'expired message leaves the queue');
SELECT is((SELECT array_agg(DISTINCT status) FROM smspool.outbox WHERE client_ref IN ('c-p9', 'c-p5', 'c-p0a')), ARRAY['sending'], 'claimed messages are sending');
SELECT is((SELECT array_agg(DISTINCT attempts) FROM smspool.outbox WHERE client_ref IN ('c-p9', 'c-p5', 'c-p0a')), ARRAY[1], 'claim counts an attempt');
SELECT ok((SELECT bool_and(q.claimed_by = 'd1' AND q.due_at = now() + interval '60 seconds') FROM smspool.queue q JOIN c1 ON c1.id = q.message_id),
	'claimed queue rows are leased to the instance for lease_s');
SELECT is((SELECT ARRAY[route_connections::text, route_positions::text, route_weights::text] FROM c1 WHERE client_ref = 'c-p9'),
	ARRAY['{ca,cb}', '{1,2}', '{2,1}'], 'routed message carries its route candidates');

CREATE TEMP TABLE c2 AS SELECT * FROM smspool.claim('d2', ARRAY['ca'], 10);
SELECT results_eq($$SELECT client_ref FROM c2$$, $$VALUES ('c-p0b')$$,
	'claimed rows are not claimed again; not-yet-due and forced-elsewhere rows are skipped');

CREATE TEMP TABLE c3 AS SELECT * FROM smspool.claim('d2', ARRAY['ca', 'cb'], 10);
SELECT results_eq($$SELECT client_ref FROM c3$$, $$VALUES ('c-forced')$$, 'forced connection claimed by a daemon that has it up');
SELECT is((SELECT ARRAY[connection, route_connections::text, route_positions::text, route_weights::text] FROM c3),
	ARRAY['cb', '{cb}', '{0}', '{1}'], 'forced connection: route arrays {connection},{0},{1}');

-- lease expiry: a crashed daemon's rows become claimable again
UPDATE smspool.queue SET due_at = now() - interval '1 second'
	WHERE message_id = (SELECT id FROM smspool.outbox WHERE client_ref = 'c-p9');
CREATE TEMP TABLE c4 AS SELECT * FROM smspool.claim('d3', ARRAY['ca'], 10);
SELECT results_eq($$SELECT client_ref, attempts FROM c4$$, $$VALUES ('c-p9', 2)$$, 'a row whose lease ended is claimed again (attempt 2)');
SELECT is((SELECT claimed_by FROM smspool.queue WHERE message_id = (SELECT id FROM c4)), 'd3', 'the new claimer holds the lease');

-- send_after reached
UPDATE smspool.queue SET due_at = now() WHERE message_id = (SELECT id FROM smspool.outbox WHERE client_ref = 'c-later');
SELECT results_eq($$SELECT client_ref FROM smspool.claim('d1', ARRAY['ca'], 10)$$, $$VALUES ('c-later')$$, 'a scheduled message is claimed once due');

-- no route: empty arrays
DELETE FROM smspool.routes;
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('108', 'no route', 'c-noroute');
SELECT is((SELECT ARRAY[route_connections::text, route_positions::text, route_weights::text] FROM smspool.claim('d1', ARRAY['ca'], 10)),
	ARRAY['{}', '{}', '{}'], 'no matching route: empty arrays');

-- a queue row of a message cancelled meanwhile is dropped, not claimed
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('109', 'gone', 'c-gone');
UPDATE smspool.outbox SET status = 'failed' WHERE client_ref = 'c-gone';   -- by hand, queue row left behind
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', NULL, 10)), 0, 'a queue row whose message is final is not returned');
SELECT ok(NOT EXISTS (SELECT 1 FROM smspool.queue q JOIN smspool.outbox o ON o.id = q.message_id WHERE o.client_ref = 'c-gone'), 'and its queue row is removed');

SELECT * FROM finish();
ROLLBACK;
