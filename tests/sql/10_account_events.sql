-- account_events: report events, inbound routing, claim/lease/skip locked, done/backoff, release
BEGIN;
SELECT plan(39);

DELETE FROM smspool.queue;   -- start from an empty queue (rolled back)
UPDATE smspool.inbox SET consumed_at = now() WHERE consumed_at IS NULL;   -- ignore earlier rows (rolled back)
INSERT INTO smspool.connections (name, type) VALUES ('ev', 'loopback'), ('in1', 'loopback'), ('in2', 'loopback');
INSERT INTO smspool.accounts (system_id, password, default_sender) VALUES ('ea', 'pw', 'Shop'), ('eb', 'pw', NULL), ('ec', 'pw', NULL);

---------------------------------------------------------------------------
-- report events, through the daemon's own functions
---------------------------------------------------------------------------
CREATE TEMP TABLE s AS SELECT * FROM smspool.submit('ea', ARRAY['+4911', '+4912', '+4913', '+4914'], NULL,
	ARRAY['m1', 'm2', 'm3', 'm4'], NULL, NULL, NULL, ARRAY['r1', 'r2', 'r3', 'r4'], NULL,
	ARRAY[true, true, false, true], NULL, NULL, NULL, NULL);
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES ('+4915', 'no account', 'r5');
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['ev'], 10)), 5, 'setup: 5 messages claimed');
SELECT is((SELECT count(*)::int FROM smspool.account_events WHERE account = 'ea'), 0, 'no event for non-final states (sending)');
SELECT smspool.record_results('d1', ARRAY(SELECT id FROM smspool.outbox WHERE client_ref IN ('r1', 'r2', 'r3', 'r4', 'r5') ORDER BY client_ref),
	ARRAY['sent', 'sent', 'sent', 'rejected', 'sent'], ARRAY['ev', 'ev', 'ev', 'ev', 'ev'], ARRAY['R1', 'R2', 'R3', NULL, 'R5'],
	NULL, ARRAY[NULL, NULL, NULL, '0x45', NULL], NULL, NULL);
SELECT results_eq($$SELECT client_ref, state, error_code FROM smspool.account_events WHERE account = 'ea'$$,
	$$VALUES ('r4', 'rejected', '0x45')$$, 'rejected account message: report event; sent (not final) and want_report false: none');
SELECT * FROM smspool.record_reports(ARRAY['ev', 'ev', 'ev'], ARRAY['R1', 'R2', 'R5'], ARRAY['delivered', 'enroute', 'delivered'], NULL, NULL);
SELECT results_eq($$SELECT client_ref, state FROM smspool.account_events WHERE account = 'ea' ORDER BY id$$,
	$$VALUES ('r4', 'rejected'), ('r1', 'delivered')$$,
	'delivered account message: report event; intermediate report and account-less message: none');
SELECT * FROM smspool.record_reports(ARRAY['ev'], ARRAY['R2'], ARRAY['undelivered'], ARRAY['0x0b'], NULL);
SELECT results_eq($$SELECT e.account, e.kind, e.message_id, e.state, e.error_code, e.sender, e.recipient, e.submitted_at, e.done_at
	FROM smspool.account_events e WHERE e.client_ref = 'r2'$$,
	$$SELECT 'ea', 'report', o.id, 'undelivered', '0x0b', 'Shop', '+4912', o.created_at, o.done_at FROM smspool.outbox o WHERE o.client_ref = 'r2'$$,
	'report event carries the message''s id, state, error code, sender, recipient, submit and done times');
SELECT ok((SELECT bool_and(done_at IS NOT NULL AND due_at = now() AND attempts = 0 AND claimed_by IS NULL) FROM smspool.account_events WHERE account = 'ea'),
	'report events are due at once, unclaimed');
UPDATE smspool.outbox SET status = 'failed' WHERE client_ref = 'r3';   -- want_report false: still none
SELECT is((SELECT count(*)::int FROM smspool.account_events WHERE client_ref = 'r3'), 0, 'want_report false: no event even in a final state');
INSERT INTO smspool.outbox (recipient, body, client_ref, send_after, valid_until)
	VALUES ('+4916', 'too late', 'r6', now() - interval '2 hours', now() - interval '1 hour');
CREATE TEMP TABLE s7 AS SELECT * FROM smspool.submit('ea', ARRAY['+4917'], NULL, ARRAY['late'], NULL, NULL, NULL, ARRAY['r7'], NULL,
	NULL, NULL, NULL, ARRAY[now() - interval '2 hours'], ARRAY[now() - interval '1 hour']);
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['ev'], 10)), 0, 'setup: claim expires r6 and r7');
SELECT is((SELECT count(*)::int FROM smspool.account_events WHERE client_ref = 'r6'), 0, 'account-less message expiring: no event');
SELECT results_eq($$SELECT state FROM smspool.account_events WHERE client_ref = 'r7'$$, $$VALUES ('expired')$$, 'account message expiring: report event expired');

---------------------------------------------------------------------------
-- inbound routing
---------------------------------------------------------------------------
INSERT INTO smspool.inbound_routes (position, recipient_prefix, connection, sender_pattern, account, enabled) VALUES
	(5, '+4930', NULL, NULL, 'ea', true),
	(10, NULL, 'in2', NULL, 'eb', true),
	(3, NULL, NULL, '^VIP', 'eb', true),
	(1, NULL, NULL, '^SPAM', 'ec', false);
SELECT throws_ok($$INSERT INTO smspool.inbound_routes (position, account) VALUES (1, 'nobody')$$, '23503',
	'inbound_routes.account: unknown account "nobody"', 'inbound route to an unknown account refused');
SELECT throws_like($$INSERT INTO smspool.inbound_routes (position, account, sender_pattern) VALUES (1, 'ea', '(')$$,
	'inbound_routes.sender_pattern: invalid regular expression%', 'invalid sender_pattern refused');
CREATE TEMP TABLE ib AS SELECT row_number() OVER (ORDER BY id)::int AS n, id FROM smspool.record_inbound(
	ARRAY['in1', 'in2', 'in2', 'in1', 'in1', 'in1'],
	ARRAY['+4911', '+4912', '+4913', '+4914', 'SPAM1', 'VIP1'],
	ARRAY['+49301', '49305', '+4940', '+4940', '+4940', '+49301'],
	ARRAY['to ea by prefix', 'to ea by prefix (position 5 before 10)', 'to eb by connection', 'nobody', 'disabled rule', 'to eb by sender (position 3)'],
	NULL, NULL, ARRAY['gsm7', 'gsm7', 'gsm7', 'gsm7', 'gsm7', 'gsm7'], NULL, NULL) AS id;
SELECT results_eq($$SELECT ib.n, e.account FROM smspool.account_events e JOIN ib ON ib.id = e.message_id WHERE e.kind = 'inbound' ORDER BY ib.n$$,
	$$VALUES (1, 'ea'), (2, 'ea'), (3, 'eb'), (6, 'eb')$$, 'inbound: first enabled matching rule by position (prefix, connection, sender)');
SELECT results_eq($$SELECT ib.n, i.consumed_by FROM smspool.inbox i JOIN ib ON ib.id = i.id ORDER BY ib.n$$,
	$$VALUES (1, 'account:ea'), (2, 'account:ea'), (3, 'account:eb'), (4, NULL), (5, NULL), (6, 'account:eb')$$,
	'routed inbox rows are consumed by the account, the others are left');
SELECT results_eq($$SELECT e.sender, e.recipient, e.body, e.encoding, e.state FROM smspool.account_events e
	WHERE e.message_id = (SELECT id FROM ib WHERE n = 1) AND e.kind = 'inbound'$$,
	$$VALUES ('+4911', '+49301', 'to ea by prefix', 'gsm7', NULL::text)$$, 'inbound event carries the message');
SELECT results_eq($$SELECT body FROM smspool.inbox_take(10, 'app')$$, $$VALUES ('nobody'), ('disabled rule')$$,
	'applications take only the unrouted rows');

---------------------------------------------------------------------------
-- account_status
---------------------------------------------------------------------------
SELECT results_eq($$SELECT account, enabled, pending_events, submitted_today, delivered_today FROM smspool.account_status WHERE account IN ('ea', 'eb', 'ec') ORDER BY account$$,
	$$VALUES ('ea', true, 6::bigint, 5::bigint, 1::bigint), ('eb', true, 2::bigint, 0::bigint, 0::bigint), ('ec', true, 0::bigint, 0::bigint, 0::bigint)$$,
	'account_status: pending events, submitted and delivered today');

---------------------------------------------------------------------------
-- claim / lease / done / release
---------------------------------------------------------------------------
INSERT INTO smspool.account_events (account, kind, message_id, due_at) VALUES
	('ec', 'inbound', 1, now() - interval '3 seconds'),
	('ec', 'inbound', 2, now() - interval '2 seconds'),
	('ec', 'inbound', 3, now() - interval '1 second'),
	('ec', 'inbound', 4, now() + interval '1 hour');
CREATE TEMP TABLE c1 AS SELECT * FROM smspool.account_events_claim('i1', ARRAY['ec'], 2);
SELECT results_eq($$SELECT message_id FROM c1$$, $$VALUES (1::bigint), (2::bigint)$$, 'claim: oldest due first, up to the limit');
SELECT ok((SELECT bool_and(e.claimed_by = 'i1' AND e.attempts = 1 AND e.due_at = now() + interval '60 seconds')
	FROM smspool.account_events e JOIN c1 USING (id)), 'claim: leased for lease_s to the instance, attempts counted');
SELECT results_eq($$SELECT message_id FROM smspool.account_events_claim('i2', ARRAY['ec', 'nobody'], 10)$$, $$VALUES (3::bigint)$$,
	'claim: leased and not-yet-due events are not returned');
SELECT is((SELECT count(*)::int FROM smspool.account_events_claim('i2', ARRAY['ec'], 10)), 0, 'claim: nothing left');
SELECT is((SELECT count(*)::int FROM smspool.account_events_claim('i2', ARRAY['zz'], 10)), 0, 'claim: only the given accounts');
SELECT results_eq($$SELECT DISTINCT kind FROM smspool.account_events_claim('i3', ARRAY['ea'], 1)$$, $$VALUES ('report')$$,
	'claim: another account''s events');

UPDATE smspool.account_events SET due_at = now() - interval '1 second' WHERE account = 'ec' AND message_id = 1;   -- lease ended
SELECT results_eq($$SELECT message_id, claimed_by FROM smspool.account_events_claim('i2', ARRAY['ec'], 10) c JOIN smspool.account_events e USING (id, message_id)$$,
	$$VALUES (1::bigint, 'i1')$$, 'claim: an event whose lease ended is claimable again');
SELECT is((SELECT attempts FROM smspool.account_events WHERE account = 'ec' AND message_id = 1), 2, 'claim again: attempt 2');

UPDATE smspool.account_events SET attempts = 4 WHERE account = 'ec' AND message_id = 3;
SELECT is(smspool.account_events_done(
	ARRAY(SELECT id FROM smspool.account_events WHERE account = 'ec' AND message_id IN (1, 2, 3) ORDER BY message_id),
	ARRAY[true, false, NULL]), 3, 'done: every event found');
SELECT is((SELECT count(*)::int FROM smspool.account_events WHERE account = 'ec' AND message_id = 1), 0, 'done: a delivered event is deleted');
SELECT results_eq($$SELECT message_id, due_at - now(), claimed_by FROM smspool.account_events WHERE account = 'ec' AND message_id IN (2, 3) ORDER BY message_id$$,
	$$VALUES (2::bigint, interval '5 seconds', NULL::text), (3::bigint, interval '40 seconds', NULL)$$,
	'done: not delivered -> retried after 5 * 2^(attempts-1) s, lease cleared');
UPDATE smspool.account_events SET attempts = 12 WHERE account = 'ec' AND message_id = 2;
SELECT smspool.account_events_done(ARRAY(SELECT id FROM smspool.account_events WHERE account = 'ec' AND message_id = 2), ARRAY[false]);
SELECT is((SELECT due_at - now() FROM smspool.account_events WHERE account = 'ec' AND message_id = 2), interval '300 seconds', 'done: backoff capped at 300 s');

UPDATE smspool.account_events SET due_at = now() WHERE account = 'ec' AND message_id = 4;
SELECT is((SELECT count(*)::int FROM smspool.account_events_claim('i4', ARRAY['ec'], 10) c WHERE c.message_id = 4), 1, 'setup: claimed by i4');
SELECT is(smspool.account_events_release('i4'), 1, 'release: gives back the instance''s claims');
SELECT results_eq($$SELECT claimed_by, due_at = now() FROM smspool.account_events WHERE account = 'ec' AND message_id = 4$$,
	$$VALUES (NULL::text, true)$$, 'release: due now, not claimed');
SELECT is(smspool.account_events_release('i4'), 0, 'release: nothing left');

-- deleting an account deletes its events (and its inbound routes)
DELETE FROM smspool.accounts WHERE system_id = 'eb';
SELECT is((SELECT count(*)::int FROM smspool.account_events WHERE account = 'eb'), 0, 'deleting an account deletes its events');
SELECT is((SELECT count(*)::int FROM smspool.inbound_routes WHERE account = 'eb'), 0, 'and its inbound routes');
UPDATE smspool.accounts SET system_id = 'ea2' WHERE system_id = 'ea';
SELECT is((SELECT count(*)::int FROM smspool.account_events WHERE account = 'ea2'), 6, 'renaming an account moves its events');

---------------------------------------------------------------------------
-- SKIP LOCKED across sessions (dblink: a second session holds a claim)
---------------------------------------------------------------------------
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('other', format('host=%s port=%s user=%s dbname=%s',
	split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'), current_user, current_database()));
-- committed rows (the other session cannot see ours); removed again below
SELECT dblink_exec('other', $$DELETE FROM smspool.accounts WHERE system_id = 'tap_skiplock'$$);
SELECT dblink_exec('other', $$INSERT INTO smspool.accounts (system_id, password) VALUES ('tap_skiplock', 'pw')$$);
SELECT dblink_exec('other', $$INSERT INTO smspool.account_events (account, kind, message_id, due_at)
	SELECT 'tap_skiplock', 'inbound', g, now() - (10 - g) * interval '1 second' FROM generate_series(1, 3) g$$);
SELECT dblink_exec('other', 'BEGIN');
SELECT is((SELECT array_agg(m ORDER BY m) FROM dblink('other', $$SELECT message_id FROM smspool.account_events_claim('other', ARRAY['tap_skiplock'], 2)$$) AS t(m bigint)),
	ARRAY[1, 2]::bigint[], 'skip locked: another session claims the two oldest (not committed yet)');
SAVEPOINT mine;
SELECT array_agg(message_id ORDER BY message_id) AS mine FROM smspool.account_events_claim('me', ARRAY['tap_skiplock'], 10) \gset
ROLLBACK TO SAVEPOINT mine;   -- release our row locks before the other session cleans up
SELECT is(:'mine'::text, '{3}', 'skip locked: this session gets only the event the other does not hold, without waiting');
SELECT dblink_exec('other', 'ROLLBACK');
SELECT dblink_exec('other', $$DELETE FROM smspool.accounts WHERE system_id = 'tap_skiplock'$$);
SELECT is((SELECT n FROM dblink('other', $$SELECT count(*) FROM smspool.account_events WHERE account = 'tap_skiplock'$$) AS t(n bigint)), 0::bigint,
	'skip locked: committed test rows removed');
SELECT dblink_disconnect('other');

SELECT * FROM finish();
ROLLBACK;
