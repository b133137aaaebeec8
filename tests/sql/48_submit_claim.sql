-- 048_submit_claim: rows a link batch inserts are inserted already claimed
-- by the daemon that inserts them (status sending, attempts 1, the queue row
-- leased to it) up to its budget, when claim() would take them now; a key
-- already used is answered with its id and not claimed again; rows not due
-- yet or forced elsewhere stay queued; an expired lease lets claim() take
-- them over like any claimed row; submit() and plain INSERTs are unchanged.
BEGIN;
SELECT plan(16);
DELETE FROM smspool.queue;
UPDATE smspool.config SET value = '60' WHERE key = 'lease_s';
INSERT INTO smspool.connections (name, type) VALUES ('sc48', 'loopback'), ('sc48x', 'loopback');
INSERT INTO smspool.routes (position, connection) VALUES (1, 'sc48');
INSERT INTO smspool.accounts (system_id, password) VALUES ('ac48', 'pw');

-- four elements, budget 3: the first, second and fourth are due now; the
-- third waits for its send_after
CREATE TEMP TABLE r1 AS SELECT * FROM smspool.submit_claim('b48', ARRAY['sc48'], 3, 'ac48',
	ARRAY['+4901', '+4902', '+4903', '+4904'], NULL, ARRAY['a', 'b', 'c', 'd'], NULL, NULL, NULL, NULL, NULL, NULL,
	NULL, NULL, ARRAY[NULL, NULL, now() + interval '1 hour', NULL]::timestamptz[], NULL,
	ARRAY['b48:1', 'b48:2', 'b48:3', 'b48:4'], NULL, NULL);
SELECT results_eq($$SELECT idx, error_class FROM r1 WHERE idx IS NOT NULL ORDER BY idx$$,
	$$VALUES (1, NULL::text), (2, NULL), (3, NULL), (4, NULL)$$, 'every element is answered, as by submit()');
SELECT results_eq($$SELECT o.recipient, o.status, o.attempts FROM r1 JOIN smspool.outbox o ON o.id = r1.id WHERE r1.idx IS NOT NULL ORDER BY r1.idx$$,
	$$VALUES ('+4901'::text, 'sending'::text, 1), ('+4902', 'sending', 1), ('+4903', 'queued', 0), ('+4904', 'sending', 1)$$,
	'the rows due now are inserted sending with attempts 1; the one with send_after in the future queued');
SELECT results_eq($$SELECT o.recipient, q.claimed_by, q.due_at = now() + interval '60 seconds' FROM r1 JOIN smspool.outbox o ON o.id = r1.id
		JOIN smspool.queue q ON q.message_id = o.id WHERE r1.idx IS NOT NULL ORDER BY r1.idx$$,
	$$VALUES ('+4901'::text, 'b48'::text, true), ('+4902', 'b48', true), ('+4903', NULL, false), ('+4904', 'b48', true)$$,
	'their queue rows are leased to the instance for lease_s; the other is not');
SELECT results_eq($$SELECT c.id, c.recipient, c.body, c.attempts, c.route_connections, c.route_positions, c.route_weights
		FROM r1 c WHERE c.idx IS NULL ORDER BY c.id$$,
	$$SELECT r1.id, o.recipient, o.body, 1, ARRAY['sc48'], ARRAY[1], ARRAY[1] FROM r1 JOIN smspool.outbox o ON o.id = r1.id
		WHERE r1.idx IS NOT NULL AND o.status = 'sending' ORDER BY r1.id$$,
	'the claimed rows come back after the answers in claim()''s columns, with their route candidates');
SELECT is(current_setting('smspool.claim_at_insert', true), '', 'the setting is cleared: later INSERTs of the transaction are queued');

-- the same batch again (a resend): answered with the ids it has, nothing claimed
CREATE TEMP TABLE r2 AS SELECT * FROM smspool.submit_claim('b48', ARRAY['sc48'], 10, 'ac48',
	ARRAY['+4901', '+4902', '+4903', '+4904'], NULL, ARRAY['a', 'b', 'c', 'd'], NULL, NULL, NULL, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL, ARRAY['b48:1', 'b48:2', 'b48:3', 'b48:4'], NULL, NULL);
SELECT results_eq($$SELECT idx, id FROM r2 WHERE idx IS NOT NULL ORDER BY idx$$,
	$$SELECT idx, id FROM r1 WHERE idx IS NOT NULL ORDER BY idx$$, 'a resent batch is answered with the ids it already has');
SELECT is((SELECT count(*) FROM r2 WHERE idx IS NULL), 0::bigint, 'a resent batch claims nothing (not even its queued row)');
SELECT results_eq($$SELECT o.status, o.attempts FROM r1 JOIN smspool.outbox o ON o.id = r1.id WHERE r1.idx IS NOT NULL ORDER BY r1.idx$$,
	$$VALUES ('sending'::text, 1), ('sending', 1), ('queued', 0), ('sending', 1)$$, 'and leaves its rows as they were');

-- the budget: 5 elements, budget 2
CREATE TEMP TABLE r3 AS SELECT * FROM smspool.submit_claim('b48', ARRAY['sc48'], 2, 'ac48',
	ARRAY['+4911', '+4912', '+4913', '+4914', '+4915'], NULL, ARRAY['a', 'b', 'c', 'd', 'e'], NULL, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT results_eq($$SELECT count(*) FILTER (WHERE r3.idx IS NULL), count(*) FILTER (WHERE o.status = 'sending' AND r3.idx IS NOT NULL),
		count(*) FILTER (WHERE o.status = 'queued' AND r3.idx IS NOT NULL) FROM r3 JOIN smspool.outbox o ON o.id = r3.id$$,
	$$VALUES (2::bigint, 2::bigint, 3::bigint)$$, 'budget 2: two rows claimed and returned, three queued');

-- a row forced to a connection outside the list, an expired one, budget 0
CREATE TEMP TABLE r4 AS SELECT * FROM smspool.submit_claim('b48', ARRAY['sc48'], 5, 'ac48',
	ARRAY['+4921', '+4922'], NULL, ARRAY['a', 'b'], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	NULL, ARRAY[NULL, now()]::timestamptz[], NULL, NULL, NULL);
UPDATE smspool.accounts SET connections = ARRAY['sc48x'] WHERE system_id = 'ac48';
INSERT INTO r4 SELECT * FROM smspool.submit_claim('b48', ARRAY['sc48'], 5, 'ac48',
	ARRAY['+4923'], NULL, ARRAY['c'], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
UPDATE smspool.accounts SET connections = NULL WHERE system_id = 'ac48';
INSERT INTO r4 SELECT * FROM smspool.submit_claim('b48', ARRAY['sc48'], 0, 'ac48',
	ARRAY['+4924'], NULL, ARRAY['d'], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT results_eq($$SELECT o.recipient, o.status FROM r4 JOIN smspool.outbox o ON o.id = r4.id WHERE r4.idx IS NOT NULL ORDER BY o.id$$,
	$$VALUES ('+4921'::text, 'sending'::text), ('+4922', 'queued'), ('+4923', 'queued'), ('+4924', 'queued')$$,
	'not claimed: a row past valid_until, a row forced to a connection not in the list, any row with budget 0');

-- a refused element (chunk retried row by row) gives back no budget and no claim
CREATE TEMP TABLE r5 AS SELECT * FROM smspool.submit_claim('b48', ARRAY['sc48'], 2, 'ac48',
	ARRAY['+4931', 'bad', '+4933', '+4934'], NULL, ARRAY['a', 'b', 'c', 'd'], NULL, NULL, NULL, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT results_eq($$SELECT r5.idx, r5.error_class, o.status FROM r5 LEFT JOIN smspool.outbox o ON o.id = r5.id WHERE r5.idx IS NOT NULL ORDER BY r5.idx$$,
	$$VALUES (1, NULL::text, 'sending'::text), (2, 'invalid', NULL), (3, NULL, 'sending'), (4, NULL, 'queued')$$,
	'a refused element: the others are claimed up to the budget, rolled-back rows do not count');
SELECT is((SELECT count(*) FROM r5 WHERE idx IS NULL), 2::bigint, 'and exactly those two come back');

-- plain submit() and an application INSERT with the settings set by hand: queued
DO $$ BEGIN PERFORM set_config('smspool.claim_at_insert', 'b48', true), set_config('smspool.claim_left', '10', true),
	set_config('smspool.claim_conns', '', true), set_config('smspool.claimed_ids', '', true); END $$;
SET LOCAL ROLE smspool_app;
INSERT INTO smspool.outbox (recipient, body) VALUES ('+4941', 'app');
RESET ROLE;
DO $$ BEGIN PERFORM set_config('smspool.claim_at_insert', '', true); END $$;
SELECT results_eq($$SELECT o.status, q.claimed_by FROM smspool.outbox o JOIN smspool.queue q ON q.message_id = o.id WHERE o.recipient = '+4941'$$,
	$$VALUES ('queued'::text, NULL::text)$$, 'an application that sets the settings itself still inserts queued');
CREATE TEMP TABLE r6 AS SELECT * FROM smspool.submit('ac48', ARRAY['+4951'], NULL, ARRAY['x'], NULL, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT is((SELECT o.status FROM r6 JOIN smspool.outbox o ON o.id = r6.id), 'queued', 'submit() inserts queued');

-- the lease runs out (the daemon b48 died after its commit): claim() takes
-- the rows over like any claimed row, attempts 2; the queued ones too
UPDATE smspool.queue q SET due_at = now() - interval '1 second' WHERE q.claimed_by = 'b48';
CREATE TEMP TABLE c1 AS SELECT * FROM smspool.claim('b48b', ARRAY['sc48'], 1000);
SELECT results_eq($$SELECT c1.attempts, count(*) FROM c1 JOIN r1 ON r1.id = c1.id AND r1.idx IS NOT NULL GROUP BY 1 ORDER BY 1$$,
	$$VALUES (2, 3::bigint)$$,
	'after the lease expiry claim() takes the rows inserted claimed over (attempts 2); the one not due stays');
SELECT is((SELECT count(*) FROM smspool.queue q WHERE q.claimed_by = 'b48'), 0::bigint, 'no row is left to the dead instance');

SELECT * FROM finish();
ROLLBACK;
