-- 020_event_claims: an instance never claims an account event it holds,
-- even past the lease; another instance takes it once the lease is over.
BEGIN;
SELECT plan(3);

INSERT INTO smspool.accounts (system_id, password) VALUES ('evg', 'pw');
INSERT INTO smspool.account_events (account, kind, message_id) VALUES ('evg', 'report', 1);
SELECT is((SELECT count(*)::int FROM smspool.account_events_claim('g1', ARRAY['evg'], 10)), 1, 'setup: g1 claims the event');
UPDATE smspool.account_events SET due_at = now() - interval '1 second' WHERE account = 'evg';
SELECT is((SELECT count(*)::int FROM smspool.account_events_claim('g1', ARRAY['evg'], 10)), 0,
	'g1 does not claim again what it holds, even past the lease');
SELECT is((SELECT count(*)::int FROM smspool.account_events_claim('g2', ARRAY['evg'], 10)), 1,
	'another instance takes it once the lease is over');

SELECT * FROM finish();
ROLLBACK;
