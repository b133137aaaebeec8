-- outbox: insert rules, daemon columns, queue feed, cancel, transitions
BEGIN;
SELECT plan(44);

INSERT INTO smspool.connections (name, type) VALUES ('t-out', 'loopback');

-- refused rows: message names the column and the rule
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, body) VALUES ('abc', 'x')$$, '23514',
	'outbox.recipient: must be 1 to 20 digits with an optional leading + (got "abc")', 'recipient with letters refused');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, body) VALUES ('123456789012345678901', 'x')$$, '23514',
	'outbox.recipient: must be 1 to 20 digits with an optional leading + (got "123456789012345678901")', 'recipient of 21 digits refused');
SELECT throws_like($$INSERT INTO smspool.outbox (body) VALUES ('x')$$, 'outbox.recipient: must be 1 to 20 digits%got NULL%', 'missing recipient refused');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, sender, body) VALUES ('123', 'TwelveChars1', 'x')$$, '23514',
	'outbox.sender: must be 1 to 20 digits with an optional leading + or 1 to 11 GSM characters (got "TwelveChars1")', 'alphanumeric sender of 12 characters refused');
SELECT throws_like($$INSERT INTO smspool.outbox (recipient, sender, body) VALUES ('123', 'Shop{1}', 'x')$$, 'outbox.sender: %', 'sender with a non-basic GSM character refused');
SELECT throws_like($$INSERT INTO smspool.outbox (recipient, sender, body) VALUES ('123', '+123456789012345678901', 'x')$$, 'outbox.sender: %', 'numeric sender of 21 digits refused');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient) VALUES ('123')$$, '23514',
	'outbox.body: must not be empty for encoding auto (binary data goes in payload with encoding binary)', 'missing body refused');
SELECT throws_like($$INSERT INTO smspool.outbox (recipient, body, encoding) VALUES ('123', '', 'ucs2')$$, 'outbox.body: must not be empty for encoding ucs2%', 'empty body refused');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, encoding) VALUES ('123', 'binary')$$, '23514',
	'outbox.payload: encoding binary needs a non-empty even-length hex string (got NULL)', 'binary without payload refused');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, encoding, payload) VALUES ('123', 'binary', 'ABC')$$, '23514',
	'outbox.payload: encoding binary needs a non-empty even-length hex string (got "ABC")', 'odd-length payload refused');
SELECT throws_like($$INSERT INTO smspool.outbox (recipient, encoding, payload) VALUES ('123', 'binary', 'ZZ')$$, 'outbox.payload: encoding binary needs%', 'non-hex payload refused');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, encoding, payload, udh) VALUES ('123', 'binary', 'AB', '05000')$$, '23514',
	'outbox.udh: must be a non-empty even-length hex string (got "05000")', 'invalid udh refused');
SELECT throws_like($$INSERT INTO smspool.outbox (recipient, body, udh) VALUES ('123', 'x', '050003')$$, 'outbox.udh: only allowed with encoding binary%', 'udh with a text encoding refused');
SELECT throws_like($$INSERT INTO smspool.outbox (recipient, body, payload) VALUES ('123', 'x', 'AB')$$, 'outbox.payload: only allowed with encoding binary%', 'payload with a text encoding refused');
SELECT throws_ok(format($$INSERT INTO smspool.outbox (recipient, body) VALUES ('123', %L)$$, repeat('a', 153 * 10 + 1)), '23514',
	'outbox.body: the message needs 11 parts, more than config max_parts (10)', 'text longer than max_parts refused');
SELECT lives_ok(format($$INSERT INTO smspool.outbox (recipient, body) VALUES ('123', %L)$$, repeat('a', 153 * 10)), 'text of exactly max_parts accepted');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, body, connection) VALUES ('123', 'x', 'nope')$$, '23503',
	'outbox.connection: unknown connection "nope" (see smspool.connections)', 'unknown connection refused');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, body, priority) VALUES ('123', 'x', 10)$$, '23514',
	'outbox.priority: must be 0 to 9 (got 10)', 'priority 10 refused');
SELECT throws_like($$INSERT INTO smspool.outbox (recipient, body, priority) VALUES ('123', 'x', -1)$$, 'outbox.priority: must be 0 to 9%', 'priority -1 refused');
SELECT throws_like($$INSERT INTO smspool.outbox (recipient, body, send_after, valid_until) VALUES ('123', 'x', now() + interval '1 hour', now())$$,
	'outbox.valid_until: must not be before send_after%', 'valid_until before send_after refused');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, body, msg_class) VALUES ('123', 'x', 4)$$, '23514',
	'outbox.msg_class: must be 0 to 3 or NULL (got 4)', 'msg_class 4 refused');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, body, encoding) VALUES ('123', 'x', 'latin1')$$, '23514',
	'outbox.encoding: must be auto, gsm7, ucs2 or binary (got "latin1")', 'unknown encoding refused');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, body, encoding) VALUES ('123', 'Привет', 'gsm7')$$, '23514',
	'outbox.body: encoding gsm7 but character "П" is not in GSM 03.38 (use encoding auto or ucs2)', 'gsm7 with a non-GSM character refused');
SELECT lives_ok($$INSERT INTO smspool.outbox (recipient, body, encoding) VALUES ('123', 'Price: 10€ {ok}', 'gsm7')$$, 'gsm7 with extension characters accepted');
SELECT lives_ok($$INSERT INTO smspool.outbox (recipient, sender, body, encoding, payload, udh, connection)
	VALUES ('+123', 'Shop Ltd', NULL, 'binary', '0A0B', '050003010201', 't-out')$$, 'binary with payload, udh, alphanumeric sender and forced connection accepted');

-- minimal insert
CREATE TEMP TABLE m AS WITH i AS (INSERT INTO smspool.outbox (recipient, body) VALUES ('+4912345', 'hi') RETURNING *) SELECT * FROM i;
SELECT is((SELECT status FROM m), 'queued', 'minimal insert: status queued');
SELECT is((SELECT attempts FROM m), 0, 'minimal insert: attempts 0');
SELECT is((SELECT parts FROM m), 1, 'minimal insert: parts estimated 1');
SELECT ok(EXISTS (SELECT 1 FROM smspool.queue q JOIN m ON q.message_id = m.id WHERE q.claimed_by IS NULL AND q.due_at = now()), 'minimal insert: a due queue row');

-- daemon columns are overwritten at insert
CREATE TEMP TABLE o AS WITH i AS (
	INSERT INTO smspool.outbox (recipient, body, status, attempts, error_class, sent_at, remote_ids)
	VALUES ('123', 'x', 'delivered', 5, 'temporary', now(), '{a}') RETURNING *) SELECT * FROM i;
SELECT is((SELECT ARRAY[status, attempts::text, error_class, sent_at::text, remote_ids::text] FROM o),
	ARRAY['queued', '0', NULL, NULL, NULL], 'daemon columns given at insert are overwritten');

-- send_after sets due_at
INSERT INTO smspool.outbox (recipient, body, send_after, priority, client_ref) VALUES ('124', 'later', now() + interval '1 hour', 7, 'later-1');
SELECT is((SELECT q.due_at FROM smspool.queue q JOIN smspool.outbox x ON x.id = q.message_id WHERE x.client_ref = 'later-1'),
	now() + interval '1 hour', 'send_after becomes the queue due_at');
SELECT is((SELECT q.priority FROM smspool.queue q JOIN smspool.outbox x ON x.id = q.message_id WHERE x.client_ref = 'later-1'),
	7::smallint, 'priority copied to the queue');

-- cancel
UPDATE smspool.outbox SET status = 'cancelled' WHERE id = (SELECT id FROM m);
SELECT is((SELECT status FROM smspool.outbox WHERE id = (SELECT id FROM m)), 'cancelled', 'cancel from queued works');
SELECT ok((SELECT done_at IS NOT NULL FROM smspool.outbox WHERE id = (SELECT id FROM m)), 'cancel sets done_at');
SELECT ok(NOT EXISTS (SELECT 1 FROM smspool.queue WHERE message_id = (SELECT id FROM m)), 'cancel deletes the queue row');

UPDATE smspool.outbox SET status = 'sending' WHERE id = (SELECT id FROM o);
SELECT lives_ok(format($$UPDATE smspool.outbox SET status = 'cancelled' WHERE id = %s$$, (SELECT id FROM o)),
	'cancel of a message no longer queued is no error (a bulk cancel must not fail for one claimed row)');
SELECT is((SELECT status FROM smspool.outbox WHERE id = (SELECT id FROM o)), 'sending', 'cancel from sending leaves the message as it is');

-- transitions
SELECT throws_ok(format($$UPDATE smspool.outbox SET status = 'queued' WHERE id = %s$$, (SELECT id FROM m)), '23514',
	format('outbox.status: illegal transition from cancelled to queued (message %s)', (SELECT id FROM m)), 'nothing leaves a final state (cancelled -> queued)');
SELECT throws_like(format($$UPDATE smspool.outbox SET status = 'delivered' WHERE id = (SELECT min(id) FROM smspool.outbox WHERE client_ref = 'later-1')$$),
	'outbox.status: illegal transition from queued to delivered%', 'queued -> delivered refused');
SELECT throws_like(format($$UPDATE smspool.outbox SET status = 'bogus' WHERE id = %s$$, (SELECT id FROM o)),
	'outbox.status: illegal transition from sending to bogus%', 'unknown status refused');
UPDATE smspool.outbox SET status = 'sent' WHERE id = (SELECT id FROM o);
SELECT throws_like(format($$UPDATE smspool.outbox SET status = 'queued' WHERE id = %s$$, (SELECT id FROM o)),
	'outbox.status: illegal transition from sent to queued%', 'sent -> queued refused');
UPDATE smspool.outbox SET status = 'delivered' WHERE id = (SELECT id FROM o);
SELECT ok((SELECT done_at IS NOT NULL FROM smspool.outbox WHERE id = (SELECT id FROM o)), 'a final state sets done_at');
SELECT throws_like(format($$UPDATE smspool.outbox SET status = 'undelivered' WHERE id = %s$$, (SELECT id FROM o)),
	'outbox.status: illegal transition from delivered to undelivered%', 'delivered -> undelivered refused');
SELECT lives_ok(format($$UPDATE smspool.outbox SET status = 'delivered' WHERE id = %s$$, (SELECT id FROM o)), 'setting the same status again is not a transition');

SELECT * FROM finish();
ROLLBACK;
