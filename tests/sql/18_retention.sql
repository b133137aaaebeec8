-- 018_retention: purge_batch by recipient / account / age, maintain()'s
-- election and its clean-ups (account events TTL, gone daemons, retention).
BEGIN;
SELECT plan(19);

DELETE FROM smspool.queue;
INSERT INTO smspool.connections (name, type) VALUES ('rt', 'loopback');
INSERT INTO smspool.accounts (system_id, password) VALUES ('rt_acct', 'pw');
-- finished old messages, one still awaiting its report, one queued
INSERT INTO smspool.outbox (recipient, body, client_ref) VALUES
	('+4900001', 'old a', 'rt-a'), ('+4900001', 'old b', 'rt-b'), ('+4900002', 'old c', 'rt-c'),
	('+4900001', 'old wait', 'rt-wait'), ('+4900001', 'old queued', 'rt-queued');
SELECT is((SELECT count(*)::int FROM smspool.claim('d1', ARRAY['rt'], 4)), 4, 'setup: 4 claimed');
SELECT is(smspool.record_results('d1', ARRAY(SELECT id FROM smspool.outbox WHERE client_ref IN ('rt-a', 'rt-b', 'rt-c', 'rt-wait') ORDER BY id),
	ARRAY['sent', 'rejected', 'rejected', 'sent'], ARRAY['rt', 'rt', 'rt', 'rt'], ARRAY['ra', NULL, NULL, 'rw'], NULL, NULL, NULL, NULL), 4, 'setup: results');
SELECT is((SELECT count(*)::int FROM smspool.record_reports(ARRAY['rt'], ARRAY['ra'], ARRAY['delivered'], NULL, NULL)), 1, 'setup: a report');
UPDATE smspool.outbox SET account = 'rt_acct' WHERE client_ref = 'rt-c';
-- make them old (triggers off: created_at is the database's)
SET LOCAL session_replication_role = replica;
UPDATE smspool.outbox SET created_at = now() - interval '40 days' WHERE client_ref LIKE 'rt-%';
SET LOCAL session_replication_role = origin;
SELECT smspool.record_inbound(ARRAY['rt', 'rt'], ARRAY['+4900001', '+4900003'], ARRAY['1', '1'], ARRAY['in 1', 'in 2'],
	NULL, NULL, ARRAY['gsm7', 'gsm7'], ARRAY[1, 1], NULL);
UPDATE smspool.inbox SET received_at = now() - interval '40 days', consumed_at = now() - interval '39 days' WHERE body IN ('in 1', 'in 2');

SELECT is((SELECT ARRAY[messages, inbox] FROM smspool.purge_batch(now() - interval '30 days', p_recipient => '+4900001')), ARRAY[2, 1],
	'purge by recipient: its finished messages and the inbox rows from that number');
SELECT is((SELECT array_agg(client_ref ORDER BY client_ref) FROM smspool.outbox WHERE client_ref LIKE 'rt-%'),
	ARRAY['rt-c', 'rt-queued', 'rt-wait'], 'a message awaiting its report and a queued one are never purged');
SELECT is((SELECT count(*)::int FROM smspool.reports WHERE remote_id = 'ra'), 0, 'the reports of purged messages go with them');
SELECT is((SELECT ARRAY[messages, inbox] FROM smspool.purge_batch(now() - interval '30 days', p_account => 'rt_acct')), ARRAY[1, 0],
	'purge by account: its messages, no inbox rows');
SELECT is((SELECT ARRAY[messages, inbox] FROM smspool.purge_batch(now() - interval '50 days')), ARRAY[0, 0], 'nothing newer than the limit');

-- one daemon at a time: while another session holds the lock, maintain() skips
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('maint', format('host=%s port=%s user=%s dbname=%s',
	split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'), current_user, current_database()));
SELECT dblink_exec('maint', 'BEGIN');
SELECT is((SELECT x FROM dblink('maint', $$SELECT pg_try_advisory_xact_lock(hashtext('smspool.maintain'))$$) AS t(x boolean)), true,
	'setup: another session holds the maintenance lock');
SELECT is(smspool.maintain('rt-live'), NULL, 'maintain() skips its round while another daemon maintains');
SELECT dblink_exec('maint', 'ROLLBACK');
SELECT dblink_disconnect('maint');
-- maintain(): clean-ups
INSERT INTO smspool.account_events (account, kind, message_id, created_at) VALUES
	('rt_acct', 'report', 1, now() - interval '8 days'), ('rt_acct', 'report', 2, now());
INSERT INTO smspool.daemons (instance, heartbeat_at) VALUES ('rt-gone', now() - interval '8 days'), ('rt-live', now());
INSERT INTO smspool.connection_state (name, instance, state) VALUES ('rt', 'rt-gone', 'up'), ('rt', 'rt-live', 'up');
UPDATE smspool.config SET value = '30' WHERE key = 'retention_days';
-- (since 032, retention_days goes by whole partitions, not by maintain()'s batches)
SELECT is(smspool.maintain('rt-live'), 'report_waits=0 account_events=1 daemons=1 messages=0 inbox=0',
	'maintain: drops the stale account event and the gone daemon (old rows go by partitions)');
SELECT is((SELECT count(*)::int FROM smspool.account_events WHERE account = 'rt_acct'), 1, 'the fresh account event stays');
SELECT is((SELECT array_agg(instance) FROM smspool.connection_state WHERE name = 'rt'), ARRAY['rt-live'], 'the gone daemon''s connection states go with it');

SELECT throws_ok($$UPDATE smspool.config SET value = '-1' WHERE key = 'retention_days'$$, '23514', NULL, 'retention_days must be 0 or more');

-- idempotency keys
INSERT INTO smspool.outbox (recipient, body, idempotency_key) VALUES ('+4900009', 'once', 'order-1');
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, body, idempotency_key) VALUES ('+4900009', 'once', 'order-1')$$, '23505',
	NULL, 'a second INSERT with the same idempotency key fails');
SELECT throws_like($$INSERT INTO smspool.outbox (recipient, body, idempotency_key) VALUES ('+4900009', 'once', 'order-1')$$,
	'%outbox.idempotency_key: already used%', 'and the error names the key');
-- since 032 (partitioned outbox, keys in outbox_keys) ON CONFLICT has no arbiter: the retry fails too
SELECT throws_ok($$INSERT INTO smspool.outbox (recipient, body, idempotency_key) VALUES ('+4900009', 'once', 'order-1') ON CONFLICT DO NOTHING$$,
	'23505', NULL, 'a retried INSERT ... ON CONFLICT DO NOTHING gets unique_violation');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE idempotency_key = 'order-1'), 1, 'and is not inserted');
INSERT INTO smspool.outbox (recipient, body, idempotency_key, account) VALUES ('+4900009', 'once', 'order-1', 'rt_acct');
SELECT is((SELECT count(*)::int FROM smspool.outbox WHERE idempotency_key = 'order-1'), 2, 'the same key of another account is another message');

SELECT * FROM finish();
ROLLBACK;
