-- 042_submit_refusal: a refused element of submit() says which field and
-- why in columns (error_column, error_state, taken_id), which the daemon
-- maps to a protocol code without reading the text (issue 17); the outbox
-- rules name their column in the error itself (PG_DIAG_COLUMN_NAME).
-- Throughput is not a database rule (the daemon's token bucket,
-- core_account_take) and the schedule (send_after) has none of its own: a
-- validity before it is the valid_until rule.
BEGIN;
SELECT plan(15);

INSERT INTO smspool.accounts (system_id, password) VALUES ('rf1', 'pw');
INSERT INTO smspool.accounts (system_id, password, enabled) VALUES ('rf-off', 'pw', false);
INSERT INTO smspool.accounts (system_id, password, unique_client_ref) VALUES ('rf-uniq', 'pw', true);

-- one batch, one refusal per element (and one good element)
CREATE TEMP TABLE b AS SELECT * FROM smspool.submit('rf1',
	ARRAY['+4911', 'abc', '+4913', '+4914', '+4915', '+4916', '+4917'],
	ARRAY[NULL, NULL, 'not a valid sender!', NULL, NULL, NULL, NULL],
	ARRAY['ok', 'x', 'x', repeat('a', 153 * 10 + 1), 'x', repeat('b', 40001), 'x'],
	NULL, NULL, ARRAY['auto', 'auto', 'auto', 'auto', 'auto', 'auto', 'morse'], NULL, NULL, NULL, NULL, NULL,
	ARRAY[NULL, NULL, NULL, NULL, now() + interval '2 days', NULL, NULL]::timestamptz[],
	ARRAY[NULL, NULL, NULL, NULL, now() + interval '1 day', NULL, NULL]::timestamptz[]);
SELECT results_eq($$SELECT idx, id IS NOT NULL, error_class, error_column, error_state, taken_id FROM b ORDER BY idx$$,
	$$VALUES (1, true, NULL::text, NULL::text, NULL::text, NULL::bigint),
	         (2, false, 'invalid', 'recipient', '23514', NULL),
	         (3, false, 'invalid', 'sender', '23514', NULL),
	         (4, false, 'invalid', 'body', '23514', NULL),
	         (5, false, 'invalid', 'valid_until', '23514', NULL),
	         (6, false, 'invalid', 'body', '23514', NULL),
	         (7, false, 'invalid', 'encoding', '23514', NULL)$$,
	'each refused element names its column and SQLSTATE; the good one is inserted');
SELECT alike((SELECT error FROM b WHERE idx = 4), 'outbox.body: the message needs 11 parts%',
	'body too long for max_parts: the rule of the statement trigger (COLUMN body)');
SELECT is((SELECT error FROM b WHERE idx = 6), 'new row for relation "outbox_p0" violates check constraint "outbox.body: at most 40000 characters"',
	'body over 40000 characters: a CHECK constraint, its column found in the catalogue');

-- account
SELECT results_eq($$SELECT DISTINCT error_class, error_column, error_state, taken_id FROM smspool.submit('rf-none',
	ARRAY['+1', '+2'], NULL, ARRAY['a', 'b'], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)$$,
	$$VALUES ('forbidden'::text, 'account'::text, '28000'::text, NULL::bigint)$$, 'an unknown account: forbidden, column account');
SELECT results_eq($$SELECT DISTINCT error_class, error_column, error_state FROM smspool.submit('rf-off',
	ARRAY['+1'], NULL, ARRAY['a'], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)$$,
	$$VALUES ('forbidden'::text, 'account'::text, '28000'::text)$$, 'a disabled account: the same (17 arguments)');

-- a client_ref already taken (unique_client_ref): the id that has it
CREATE TEMP TABLE u1 AS SELECT * FROM smspool.submit('rf-uniq', ARRAY['+4921'], NULL, ARRAY['first'], NULL, NULL, NULL,
	ARRAY['ref-1'], NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TEMP TABLE u2 AS SELECT * FROM smspool.submit('rf-uniq', ARRAY['+4922', '+4923'], NULL, ARRAY['again', 'new'],
	NULL, NULL, NULL, ARRAY['ref-1', 'ref-2'], NULL, NULL, NULL, NULL, NULL, NULL, NULL, ARRAY[1, 1]);
SELECT results_eq($$SELECT idx, id IS NOT NULL, error_class, error_column, error_state, taken_id FROM u2 ORDER BY idx$$,
	format($$VALUES (1, false, 'invalid'::text, 'client_ref'::text, '23505'::text, %s::bigint), (2, true, NULL, NULL, NULL, NULL)$$,
		(SELECT id FROM u1)),
	'a client_ref already taken: column client_ref, 23505, taken_id the message that has it (16 arguments)');
-- a key used before (p_keys) is not a refusal: the id it has
CREATE TEMP TABLE k1 AS SELECT * FROM smspool.submit('rf1', ARRAY['+4931'], NULL, ARRAY['k'], NULL, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL, NULL, NULL, ARRAY['key-1']);
CREATE TEMP TABLE k2 AS SELECT * FROM smspool.submit('rf1', ARRAY['+4931'], NULL, ARRAY['k'], NULL, NULL, NULL, NULL,
	NULL, NULL, NULL, NULL, NULL, NULL, ARRAY['key-1']);
SELECT results_eq($$SELECT id, error_class, error_column, taken_id FROM k2$$, $$SELECT id, NULL::text, NULL::text, NULL::bigint FROM k1$$,
	'a key used before: answered with its id, no refusal');

-- the single-row rules of submit() itself
CREATE TEMP TABLE p1 AS SELECT * FROM smspool.submit('rf1', ARRAY['+4941', '+4942'], NULL, ARRAY['a', 'b'], NULL, NULL,
	NULL, NULL, ARRAY[0, 100000], NULL, NULL, NULL, NULL, NULL, NULL, ARRAY[7, 1]);
SELECT results_eq($$SELECT idx, error_column FROM p1 ORDER BY idx$$, $$VALUES (1, 'report_on'::text), (2, 'priority')$$,
	'submit()''s own checks (priority beyond smallint, report_on) name their column');

-- the rules name their column to any client (PG_DIAG_COLUMN_NAME)
CREATE FUNCTION pg_temp.column_of(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	v_state text; v_col text;
BEGIN
	EXECUTE p_sql;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_col = COLUMN_NAME;
	RETURN v_state || ' ' || v_col;
END
$$;
SELECT is(pg_temp.column_of($$INSERT INTO smspool.outbox (recipient, body) VALUES ('abc', 'x')$$), '23514 recipient', 'recipient');
SELECT is(pg_temp.column_of($$INSERT INTO smspool.outbox (recipient, sender, body) VALUES ('+1', '!!!!!!!!!!!!!!', 'x')$$), '23514 sender', 'sender');
SELECT is(pg_temp.column_of($$INSERT INTO smspool.outbox (recipient, body, send_after, valid_until) VALUES ('+1', 'x', now() + interval '1 day', now())$$),
	'23514 valid_until', 'valid_until before send_after');
SELECT is(pg_temp.column_of(format($$INSERT INTO smspool.outbox (recipient, encoding, payload) VALUES ('+1', 'binary', %L)$$, repeat('AB', 134 * 10 + 1))),
	'23514 payload', 'max_parts of a binary message: payload');
INSERT INTO smspool.outbox (recipient, body, idempotency_key) VALUES ('+1', 'x', 'rf-key');
SELECT is(pg_temp.column_of($$INSERT INTO smspool.outbox (recipient, body, idempotency_key) VALUES ('+1', 'x', 'rf-key')$$),
	'23505 idempotency_key', 'a key already used');

-- the three forms keep their grants
SELECT ok(has_function_privilege('smspool_daemon', 'smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[], int[])', 'EXECUTE')
	AND has_function_privilege('smspool_daemon', 'smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[])', 'EXECUTE'),
	'the daemon may call submit()');
SELECT ok(NOT has_function_privilege('smspool_app', 'smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[], text[], int[], int[])', 'EXECUTE'),
	'an application may not');

SELECT * FROM finish();
ROLLBACK;
