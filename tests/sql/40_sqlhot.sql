-- 040_sqlhot: submit() writes report_on and client_parts in its one INSERT
-- (no UPDATE of the rows it inserts) and answers in the same order in its
-- three forms; a bad report_on or client_parts refuses its element only;
-- the idempotency keys and max_parts are checked once per INSERT statement
-- with the errors of before; submit_once() answers a retried key with the
-- id the key already has.
BEGIN;
SELECT plan(26);

-- Counts the UPDATE statements on outbox that changed a row.
CREATE TEMP TABLE upd (n int NOT NULL);
INSERT INTO upd VALUES (0);
CREATE FUNCTION pg_temp.count_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM new_rows) THEN
		UPDATE upd SET n = n + 1;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER zz_count_updates AFTER UPDATE ON smspool.outbox REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.count_updates();

INSERT INTO smspool.accounts (system_id, password, unique_client_ref) VALUES ('hot1', 'pw', false), ('hot15', 'pw', true),
	('hot16', 'pw', true), ('hot17', 'pw', true);

---------------------------------------------------------------------------
-- report_on and client_parts in the INSERT
---------------------------------------------------------------------------
CREATE TEMP TABLE a1 AS SELECT * FROM smspool.submit('hot1', ARRAY['+4911', '+4912', '+4913'], NULL, ARRAY['a', 'b', 'c'],
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ARRAY[1, NULL, 2], ARRAY[2, 3, NULL]);
SELECT results_eq($$SELECT a1.idx, o.report_on::int, o.client_parts::int FROM a1 JOIN smspool.outbox o ON o.id = a1.id ORDER BY a1.idx$$,
	$$VALUES (1, 1, 2), (2, NULL, 3), (3, 2, NULL)$$, 'the 17-argument submit() inserts each row with its report_on and client_parts');
SELECT is((SELECT n FROM upd), 0, '... without any UPDATE of the rows it inserted');
CREATE TEMP TABLE a1b AS SELECT * FROM smspool.submit('hot1', ARRAY['+4914'], NULL, ARRAY['d'],
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ARRAY[2]);
SELECT results_eq($$SELECT o.report_on::int, o.client_parts::int FROM a1b JOIN smspool.outbox o ON o.id = a1b.id$$,
	$$VALUES (2, NULL::int)$$, 'the 16-argument form: report_on in the INSERT');
SELECT is((SELECT n FROM upd), 0, '... without any UPDATE');

-- a report_on or client_parts out of range refuses its element only
CREATE TEMP TABLE a2 AS SELECT * FROM smspool.submit('hot1', ARRAY['+4921', '+4922', '+4923', '+4924'], NULL,
	ARRAY['a', 'b', 'c', 'd'], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	ARRAY[1, 3, NULL, NULL], ARRAY[NULL, NULL, 0, 70000]);
SELECT results_eq($$SELECT idx, id IS NOT NULL, error_class, error FROM a2 ORDER BY idx$$,
	$$VALUES (1, true, NULL::text, NULL::text),
	         (2, false, 'invalid', 'outbox.report_on: must be 1, 2 or NULL (got 3)'),
	         (3, false, 'invalid', 'outbox.client_parts: must be 1 to 255 or NULL (got 0)'),
	         (4, false, 'invalid', 'outbox.client_parts: must be 1 to 255 or NULL (got 70000)')$$,
	'a report_on or client_parts out of range is refused for its element, the others are inserted');

---------------------------------------------------------------------------
-- the same answers in the same order from the three forms
---------------------------------------------------------------------------
-- each account first gets a message with key k-old and client_ref ref-old;
-- then a batch of 5: a new key, a bad recipient, the key k-old again, the
-- client_ref ref-old again (no key), a new key
CREATE FUNCTION pg_temp.batch(p_account text, p_form int) RETURNS TABLE (ord bigint, idx int, id bigint, error_class text, error text)
LANGUAGE plpgsql AS $$
DECLARE
	v_args text := format($a$%L, ARRAY['+4931', 'abc', '+4933', '+4934', '+4935'], NULL, ARRAY['a', 'b', 'c', 'd', 'e'],
		NULL, NULL, NULL, ARRAY['r1', 'r2', 'r3', 'ref-old', 'r5'], NULL, NULL, NULL, NULL, NULL, NULL,
		ARRAY['k1', 'k2', 'k-old', NULL, 'k5']$a$, p_account);
BEGIN
	PERFORM * FROM smspool.submit(p_account, ARRAY['+4930'], NULL, ARRAY['old'], NULL, NULL, NULL, ARRAY['ref-old'],
		NULL, NULL, NULL, NULL, NULL, NULL, ARRAY['k-old']);
	RETURN QUERY EXECUTE 'SELECT row_number() OVER (), s.idx, s.id, s.error_class, s.error FROM smspool.submit(' || v_args
		|| CASE p_form WHEN 16 THEN ', ARRAY[1, 1, 1, 1, 1]' WHEN 17 THEN ', ARRAY[1, 1, 1, 1, 1], ARRAY[2, 2, 2, 2, 2]' ELSE '' END
		|| ') s';
END
$$;
CREATE TEMP TABLE f15 AS SELECT * FROM pg_temp.batch('hot15', 15);
CREATE TEMP TABLE f16 AS SELECT * FROM pg_temp.batch('hot16', 16);
UPDATE upd SET n = 0;
CREATE TEMP TABLE f17 AS SELECT * FROM pg_temp.batch('hot17', 17);
SELECT results_eq($$SELECT idx, id IS NOT NULL, error_class FROM f15 ORDER BY ord$$,
	$$VALUES (3, true, NULL::text), (4, false, 'invalid'), (1, true, NULL), (2, false, 'invalid'), (5, true, NULL)$$,
	'15 arguments: the key used before, the client_ref taken, then the others in order');
SELECT results_eq($$SELECT idx, id IS NOT NULL, error_class, error FROM f16 ORDER BY ord$$,
	$$SELECT idx, id IS NOT NULL, error_class, replace(error, (SELECT id FROM smspool.outbox WHERE account = 'hot15' AND body = 'old')::text,
	    (SELECT id FROM smspool.outbox WHERE account = 'hot16' AND body = 'old')::text) FROM f15 ORDER BY ord$$,
	'16 arguments: the same answers in the same order');
SELECT results_eq($$SELECT idx, id IS NOT NULL, error_class, error FROM f17 ORDER BY ord$$,
	$$SELECT idx, id IS NOT NULL, error_class, replace(error, (SELECT id FROM smspool.outbox WHERE account = 'hot15' AND body = 'old')::text,
	    (SELECT id FROM smspool.outbox WHERE account = 'hot17' AND body = 'old')::text) FROM f15 ORDER BY ord$$,
	'17 arguments: the same answers in the same order');
SELECT is((SELECT id FROM f17 WHERE idx = 3), (SELECT id FROM smspool.outbox WHERE account = 'hot17' AND body = 'old'),
	'the key used before is answered with the id of its message');
SELECT results_eq($$SELECT o.body, o.report_on::int, o.client_parts::int FROM smspool.outbox o WHERE o.account = 'hot17' ORDER BY o.id$$,
	$$VALUES ('old', 1, 2), ('a', 1, 2), ('e', 1, 2)$$,
	'new rows get report_on and client_parts in the INSERT; the row of a key used before gets them too');
SELECT is((SELECT n FROM upd), 1, '... by one UPDATE, of that row only');

---------------------------------------------------------------------------
-- keys and max_parts per statement
---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.error_of(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	v_state text; v_msg text; v_detail text; v_con text;
BEGIN
	EXECUTE p_sql;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL,
		v_con = CONSTRAINT_NAME;
	RETURN concat_ws(' | ', v_state, v_msg, nullif(v_detail, ''), nullif(v_con, ''));
END
$$;
INSERT INTO smspool.outbox (recipient, body, idempotency_key)
SELECT '+494' || g, 'keyed ' || g, 'st-' || g FROM generate_series(1, 5) g;
SELECT is((SELECT count(*)::int FROM smspool.outbox_keys k JOIN smspool.outbox o ON o.id = k.message_id
           AND o.idempotency_key = k.key AND k.scope = o.tenant WHERE k.key LIKE 'st-%'), 5,
	'a multi-row INSERT takes each row''s key in outbox_keys');
SELECT is(pg_temp.error_of($$INSERT INTO smspool.outbox (recipient, body, idempotency_key) VALUES ('+4951', 'x', 'new-1'), ('+4952', 'y', 'st-3')$$),
	format('23505 | duplicate key value violates unique constraint "outbox.idempotency_key: already used" | Key st-3 already used by message %s. | outbox.idempotency_key: already used',
		(SELECT id FROM smspool.outbox WHERE idempotency_key = 'st-3')),
	'a key used before: 23505 on the constraint name, the detail names the message');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE idempotency_key = 'new-1') + (SELECT count(*)::int FROM smspool.outbox_keys WHERE key = 'new-1'),
	0, '... and nothing of the statement stays');
SELECT alike(pg_temp.error_of($$INSERT INTO smspool.outbox (recipient, body, idempotency_key) VALUES ('+4951', 'x', 'twice'), ('+4952', 'y', 'twice')$$),
	'23505 | duplicate key value violates unique constraint "outbox.idempotency_key: already used" | Key twice already used by message %',
	'a key twice in one INSERT: 23505');
SELECT is(pg_temp.error_of(format($$INSERT INTO smspool.outbox (recipient, body) VALUES ('+4961', 'short'), ('+4962', %L)$$, repeat('a', 153 * 10 + 1))),
	'23514 | outbox.body: the message needs 11 parts, more than config max_parts (10)',
	'max_parts, checked once for the statement: the same error');
SELECT is(pg_temp.error_of($$INSERT INTO smspool.outbox (recipient, encoding, payload) VALUES ('+4961', 'binary', repeat('AB', 134 * 10 + 1))$$),
	'23514 | outbox.payload: the message needs 11 parts, more than config max_parts (10)',
	'... and for a binary payload');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE recipient IN ('+4961', '+4962')), 0, '... nothing of the statement stays');

-- a one-entry connections list forces that connection, whatever the routes
INSERT INTO smspool.connections (name, type) VALUES ('hot-a', 'loopback'), ('hot-b', 'loopback');
INSERT INTO smspool.routes (position, recipient_prefix, connection) VALUES (1, '+4970', 'hot-b');
INSERT INTO smspool.accounts (system_id, password, connections) VALUES ('hot-one', 'pw', '{hot-a}');
CREATE TEMP TABLE c1 AS SELECT * FROM smspool.submit('hot-one', ARRAY['+49701', '+4980'], NULL, ARRAY['x', 'y'],
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT results_eq($$SELECT o.connection FROM c1 JOIN smspool.outbox o ON o.id = c1.id ORDER BY c1.idx$$,
	$$VALUES ('hot-a'), ('hot-a')$$, 'an account with one connection: every message forced to it');

---------------------------------------------------------------------------
-- submit_once
---------------------------------------------------------------------------
CREATE TEMP TABLE so AS SELECT smspool.submit_once('order-7', '+4941', 'hello') AS id;
SELECT is(smspool.submit_once('order-7', '+4941', 'hello'), (SELECT id FROM so), 'submit_once: a retried key returns the first id');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE idempotency_key = 'order-7'), 1, '... and inserts nothing');
SELECT ok(smspool.submit_once('order-8', '+4941', 'other', p_client_ref => 'so-8', p_priority => 3) > (SELECT id FROM so),
	'a new key: a new message');
SELECT results_eq($$SELECT client_ref, priority::int, status FROM smspool.outbox WHERE idempotency_key = 'order-8'$$,
	$$VALUES ('so-8', 3, 'queued')$$, '... with the columns given');
SELECT throws_ok($$SELECT smspool.submit_once('order-9', 'abc', 'x')$$, '23514',
	'outbox.recipient: must be 1 to 20 digits with an optional leading + (got "abc")', 'a refused row raises as the INSERT would');
-- as an application: its own keys (tenant = its role)
CREATE FUNCTION pg_temp.as_app(p_sql text) RETURNS bigint LANGUAGE plpgsql AS $f$
DECLARE
	v bigint;
BEGIN
	SET LOCAL ROLE smspool_app;
	EXECUTE p_sql INTO v;
	RESET ROLE;
	RETURN v;
END
$f$;
CREATE TEMP TABLE so_app AS SELECT pg_temp.as_app($$SELECT smspool.submit_once('order-7', '+4942', 'app')$$) AS id;
SELECT ok((SELECT id FROM so_app) <> (SELECT id FROM so), 'the same key by another role is another message');
SELECT is(pg_temp.as_app($$SELECT smspool.submit_once('order-7', '+4942', 'app')$$), (SELECT id FROM so_app),
	'an application''s retry gets its first id');

SELECT * FROM finish();
ROLLBACK;
