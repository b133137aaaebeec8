-- 038_core: the report_on form of submit() sets every inserted row's
-- report_on with one UPDATE per call (023 ran one per row) and gives the
-- same answers and the same rows as the per-row loop it replaces, which is
-- kept here as pg_temp.submit_loop to compare against.
BEGIN;
SELECT plan(9);

CREATE FUNCTION pg_temp.submit_loop(p_account text, p_recipients text[], p_senders text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_client_refs text[], p_priorities int[],
	p_want_reports boolean[], p_flash boolean[], p_msg_classes int[], p_send_after timestamptz[],
	p_valid_until timestamptz[], p_keys text[], p_report_on int[])
RETURNS TABLE (idx int, id bigint, error_class text, error text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	r record;
BEGIN
	FOR r IN SELECT * FROM smspool.submit(p_account, p_recipients, p_senders, p_bodies, p_payloads, p_udhs, p_encodings,
		p_client_refs, p_priorities, p_want_reports, p_flash, p_msg_classes, p_send_after, p_valid_until, p_keys) s LOOP
		IF r.id IS NOT NULL AND p_report_on[r.idx] IS NOT NULL THEN
			UPDATE smspool.outbox o SET report_on = p_report_on[r.idx] WHERE o.id = r.id;
		END IF;
		idx := r.idx;
		id := r.id;
		error_class := r.error_class;
		error := r.error;
		RETURN NEXT;
	END LOOP;
END
$$;

-- Counts the UPDATE statements on outbox that changed a report_on.
CREATE TEMP TABLE upd (n int NOT NULL);
INSERT INTO upd VALUES (0);
CREATE FUNCTION pg_temp.count_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.report_on IS DISTINCT FROM o.report_on) THEN
		UPDATE upd SET n = n + 1;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER zz_count_report_on AFTER UPDATE ON smspool.outbox REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.count_updates();

INSERT INTO smspool.accounts (system_id, password) VALUES ('ro_loop', 'pw1'), ('ro_set', 'pw2');

-- One batch, run once through each form (each on its own account, whose
-- idempotency key k-old is already taken): valid rows with report_on 1, 2
-- and NULL, a refused row, a row whose key is taken (it gets the existing
-- row's id, and both forms set that row's report_on), and a large tail.
CREATE FUNCTION pg_temp.run(p_fn text, p_account text) RETURNS TABLE (idx int, id bigint, error_class text, error text)
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM * FROM smspool.submit(p_account, ARRAY['+4901'], NULL, ARRAY['earlier'], NULL, NULL, NULL, NULL, NULL, NULL,
		NULL, NULL, NULL, NULL, ARRAY['k-old'], NULL::int[]);
	RETURN QUERY EXECUTE format($q$
		SELECT s.idx, s.id, s.error_class, s.error FROM %s(%L,
			ARRAY(SELECT CASE WHEN g = 2 THEN 'abc' ELSE '+4910' || g END FROM generate_series(1, 130) g), NULL,
			ARRAY(SELECT 'text ' || g FROM generate_series(1, 130) g), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
			NULL, NULL,
			ARRAY(SELECT CASE WHEN g = 4 THEN 'k-old' ELSE 'k' || g END FROM generate_series(1, 130) g),
			ARRAY(SELECT CASE g %% 3 WHEN 0 THEN NULL ELSE g %% 3 END FROM generate_series(1, 130) g)) s$q$, p_fn, p_account);
END
$$;
-- the answers with the rows they name (read after the call: a statement
-- does not see what a function it calls inserts)
CREATE FUNCTION pg_temp.rows(p_raw text) RETURNS TABLE (ord bigint, idx int, has_id boolean, error_class text, error text,
	report_on smallint, key text)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format('SELECT r.ord, r.idx, r.id IS NOT NULL, r.error_class, r.error, o.report_on, o.idempotency_key
		FROM %I r LEFT JOIN smspool.outbox o ON o.id = r.id', p_raw);
END
$$;

CREATE TEMP TABLE raw_loop AS SELECT *, row_number() OVER () AS ord FROM pg_temp.run('pg_temp.submit_loop', 'ro_loop');
SELECT is((SELECT n FROM upd), 86, 'setup: the per-row loop runs one UPDATE per inserted row with a report_on (86)');
UPDATE upd SET n = 0;
CREATE TEMP TABLE raw_set AS SELECT *, row_number() OVER () AS ord FROM pg_temp.run('smspool.submit', 'ro_set');
CREATE TEMP TABLE a_loop AS SELECT * FROM pg_temp.rows('raw_loop');
CREATE TEMP TABLE a_set AS SELECT * FROM pg_temp.rows('raw_set');
SELECT is((SELECT n FROM upd), 1, 'the 038 form runs one UPDATE for the whole call');

SELECT is((SELECT count(*)::int FROM a_set), 130, 'one answer per element');
SELECT set_eq('SELECT idx, has_id, error_class, error, report_on, key FROM a_set', 'SELECT idx, has_id, error_class, error, report_on, key FROM a_loop',
	'the same answers, the same report_on on every row (idx, refusals, taken keys) as the loop');
SELECT is((SELECT array_agg(idx ORDER BY ord) FROM a_set), (SELECT array_agg(idx ORDER BY ord) FROM a_loop),
	'... in the same order');
SELECT results_eq($$SELECT idx, has_id, error_class, report_on::int, key FROM a_set WHERE idx <= 6 ORDER BY idx$$,
	$$VALUES (1, true, NULL::text, 1, 'k1'::text), (2, false, 'invalid', NULL, NULL), (3, true, NULL, NULL, 'k3'),
	         (4, true, NULL, 1, 'k-old'), (5, true, NULL, 2, 'k5'), (6, true, NULL, NULL, 'k6')$$,
	'report_on 1, 2 and NULL where asked; a refused row has none; a taken key''s row takes the new report_on');

-- without any report_on: nothing is updated
UPDATE upd SET n = 0;
SELECT is((SELECT count(*)::int FROM smspool.submit('ro_set', ARRAY['+4931', '+4932'], NULL, ARRAY['a', 'b'], NULL, NULL,
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ARRAY[NULL, NULL]::int[]) WHERE id IS NOT NULL), 2,
	'a batch without report_on is inserted');
SELECT is((SELECT n FROM upd), 0, '... with no UPDATE');

-- an unknown account: every row forbidden, as before
SELECT results_eq($$SELECT DISTINCT error_class FROM smspool.submit('nobody', ARRAY['+1', '+2'], NULL, ARRAY['a', 'b'],
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ARRAY[1, 2])$$,
	$$VALUES ('forbidden'::text)$$, 'an unknown account: every row forbidden');

SELECT * FROM finish();
ROLLBACK;
