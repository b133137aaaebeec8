-- Fast paths must not change behaviour:
--  * the outbox_transition trigger's WHEN clause skips the PL/pgSQL function
--    only where it would have been a no-op: every (old, new) status pair, with
--    and without done_at, as the daemon and as an application, gives exactly
--    what the documented transition rules say;
--  * apply_part_states() computes single-part reports inline: each final
--    report state maps to the message state part_status_final() gives.
BEGIN;
SELECT plan(15);

DELETE FROM smspool.queue;

-- Puts a fresh message into p_old (triggers off), then sets p_new as the
-- daemon (the test user) or as smspool_app; returns 'ok <done_at>' or
-- 'error <SQLSTATE>'.  done_at: null, kept (the one given), now.
CREATE FUNCTION pg_temp.try_transition(p_old text, p_new text, p_done timestamptz, p_as_app boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v_id bigint;
	v_done timestamptz;
BEGIN
	INSERT INTO smspool.outbox (recipient, body) VALUES ('555', 'x') RETURNING id INTO v_id;
	SET LOCAL session_replication_role = replica;
	UPDATE smspool.outbox SET status = p_old, done_at = p_done WHERE id = v_id;
	SET LOCAL session_replication_role = origin;
	BEGIN
		IF p_as_app THEN
			SET LOCAL ROLE smspool_app;
		END IF;
		UPDATE smspool.outbox SET status = p_new WHERE id = v_id;
		RESET ROLE;
	EXCEPTION WHEN OTHERS THEN
		RETURN 'error ' || SQLSTATE;
	END;
	SELECT done_at INTO v_done FROM smspool.outbox WHERE id = v_id;
	RETURN 'ok ' || CASE WHEN v_done IS NULL THEN 'null' WHEN v_done = p_done THEN 'kept'
		WHEN v_done = now() THEN 'now' ELSE 'other' END;
END
$$;

-- What the documented rules (COMMENT ON FUNCTION outbox_transition) say.
CREATE FUNCTION pg_temp.expected(p_old text, p_new text, p_done timestamptz, p_as_app boolean) RETURNS text
LANGUAGE sql AS $$
	SELECT CASE
		WHEN p_old IS NOT DISTINCT FROM p_new THEN 'ok ' || CASE WHEN p_done IS NULL THEN 'null' ELSE 'kept' END
		-- a cancel of a message no longer queued leaves the row unchanged (010)
		WHEN p_new = 'cancelled' THEN CASE WHEN p_old = 'queued' THEN 'ok now'
			ELSE 'ok ' || CASE WHEN p_done IS NULL THEN 'null' ELSE 'kept' END END
		WHEN p_as_app THEN 'error 42501'
		WHEN NOT coalesce(CASE p_old
			WHEN 'queued' THEN p_new IN ('sending', 'expired', 'failed')
			WHEN 'sending' THEN p_new IN ('queued', 'sent', 'failed', 'rejected', 'expired', 'delivered', 'undelivered')
			WHEN 'sent' THEN p_new IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed')
			ELSE false END, false) THEN 'error 23514'
		WHEN p_done IS NOT NULL THEN 'ok kept'
		WHEN p_new IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed') THEN 'ok now'
		ELSE 'ok null'
	END
$$;

CREATE FUNCTION pg_temp.mismatches(p_done timestamptz, p_as_app boolean) RETURNS text[]
LANGUAGE sql AS $$
	SELECT array_agg(format('%s -> %s: got %s, expected %s', o, coalesce(n, 'NULL'), got, exp) ORDER BY o, n)
	FROM (SELECT o, n, pg_temp.try_transition(o, n, p_done, p_as_app) AS got, pg_temp.expected(o, n, p_done, p_as_app) AS exp
	      FROM unnest(ARRAY['queued', 'sending', 'sent', 'delivered', 'undelivered', 'expired', 'rejected', 'failed', 'cancelled']) o,
	           unnest(ARRAY['queued', 'sending', 'sent', 'delivered', 'undelivered', 'expired', 'rejected', 'failed', 'cancelled', 'bogus', NULL]) n) x
	WHERE got IS DISTINCT FROM exp
$$;

SELECT is(pg_temp.mismatches(NULL, false), NULL, 'daemon, done_at NULL: every status pair follows the transition rules (done_at set on final states)');
SELECT is(pg_temp.mismatches('2030-01-01 00:00+00', false), NULL, 'daemon, done_at given: every status pair follows the rules, a given done_at is kept (cancel sets now)');
SELECT is(pg_temp.mismatches(NULL, true), NULL, 'application: only queued -> cancelled changes the row, other cancels leave it, any other change is refused');

-- single-part reports: each final state as part_status_final() maps it
DELETE FROM smspool.queue;
INSERT INTO smspool.connections (name, type) VALUES ('fp', 'loopback');
INSERT INTO smspool.outbox (recipient, body, client_ref) SELECT '400' || g, 'f' || g, 'f' || g FROM generate_series(1, 7) g;
CREATE FUNCTION pg_temp.mid(text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM smspool.outbox WHERE client_ref = $1 $$;
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['fp'], 10)), 7, 'setup: 7 claimed');
SELECT is(smspool.record_results('d1', ARRAY(SELECT pg_temp.mid('f' || g) FROM generate_series(1, 7) g), array_fill('sent'::text, ARRAY[7]),
	array_fill('fp'::text, ARRAY[7]), ARRAY['F1', 'F2', 'F3', 'F4', 'F5', 'F6a' || chr(31) || 'F6b', 'F7'], NULL, NULL, NULL, NULL), 7, 'setup: 7 sent');
SELECT is((SELECT count(*)::int FROM smspool.record_reports(array_fill('fp'::text, ARRAY[7]),
	ARRAY['F1', 'F2', 'F3', 'F4', 'F5', 'F6a', 'F7'], ARRAY['delivered', 'undelivered', 'deleted', 'expired', 'rejected', 'delivered', 'enroute'],
	ARRAY['000', '011', '012', '013', '014', '000', NULL], NULL) WHERE message_id IS NOT NULL), 7, 'one batch of reports, all matched');
SELECT results_eq($$SELECT client_ref, status, error_class, error_code, part_status::text, done_at = now() FROM smspool.outbox
	WHERE client_ref ~ '^f[0-9]$' ORDER BY client_ref$$,
	$$VALUES ('f1', 'delivered', NULL, NULL, '{delivered}', true),
	         ('f2', 'undelivered', 'undelivered', '011', '{undelivered}', true),
	         ('f3', 'undelivered', 'undelivered', '012', '{deleted}', true),
	         ('f4', 'expired', 'expired', '013', '{expired}', true),
	         ('f5', 'rejected', 'rejected', '014', '{rejected}', true),
	         ('f6', 'sent', NULL, NULL, '{delivered,pending}', NULL::boolean),
	         ('f7', 'sent', NULL, NULL, '{enroute}', NULL::boolean)$$,
	'single-part final states: status, error_class = worst state, error_code, part_status, done_at; multipart and intermediate stay sent');
SELECT is((SELECT array_agg(remote_id ORDER BY remote_id) FROM smspool.report_wait WHERE connection = 'fp'), ARRAY['F6b', 'F7'],
	'final reports leave report_wait, intermediate and missing parts stay');
SELECT is(smspool.part_status_final(ARRAY['deleted']), 'undelivered', 'part_status_final agrees: deleted counts as undelivered');
-- a report for a message already final changes part_status only
SELECT lives_ok($$SELECT * FROM smspool.record_reports(ARRAY['fp'], ARRAY['F7'], ARRAY['delivered'], NULL, NULL)$$, 'final report after an intermediate one');
SELECT is((SELECT ARRAY[status, part_status::text] FROM smspool.outbox WHERE client_ref = 'f7'), ARRAY['delivered', '{delivered}'],
	'intermediate then final: delivered');
SELECT lives_ok($$SELECT * FROM smspool.record_reports(ARRAY['fp', 'fp'], ARRAY['F6b', 'F6b'], ARRAY['enroute', 'undelivered'], ARRAY[NULL, '020'], NULL)$$,
	'two reports for one part in one batch');
SELECT is((SELECT ARRAY[status, error_class, error_code, part_status::text] FROM smspool.outbox WHERE client_ref = 'f6'),
	ARRAY['undelivered', 'undelivered', '020', '{delivered,undelivered}'], 'multipart: the final report of the batch wins, worst part state');
SELECT ok((SELECT done_at = now() FROM smspool.outbox WHERE client_ref = 'f6'), 'multipart: done_at set when the last part is final');
SELECT ok(NOT EXISTS (SELECT 1 FROM smspool.report_wait WHERE connection = 'fp'), 'every part final: nothing awaited');

SELECT * FROM finish();
ROLLBACK;
