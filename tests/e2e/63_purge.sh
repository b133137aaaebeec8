#!/usr/bin/env bash
# smspool.purge (issue 10): a CALL that deletes in batches committing as it
# goes (outside a transaction block), here 2,500 finished messages of one
# recipient in batches of 1,000, while the other recipient's messages and a
# message still queued stay; the totals it returns are the rows it deleted.
. "$(dirname "$0")/../lib/e2e.sh"

plan 5
e2e_db smspool_e2e_purge
sql "INSERT INTO smspool.outbox (recipient, body, client_ref)
     SELECT CASE WHEN g <= 2500 THEN '+4911111' ELSE '+4922222' END, 'purge ' || g, 'pg' || g FROM generate_series(1, 3000) g" || bail "insert"
sql "SET session_replication_role = replica;
     UPDATE smspool.outbox SET status = 'delivered', done_at = now() WHERE client_ref <> 'pg1';
     DELETE FROM smspool.queue WHERE message_id IN (SELECT id FROM smspool.outbox WHERE client_ref <> 'pg1')" || bail "finish them"
out=$(sql "CALL smspool.purge(now() + interval '1 minute', p_recipient => '+4911111', p_batch => 1000)")
is "$out" "2499|0" "CALL purge returns the totals: 2,499 finished messages of that recipient (the queued one stays)"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE recipient = '+4911111'")" 1 "only its queued message is left"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE recipient = '+4922222'")" 500 "the other recipient's messages stay"
out=$(sql "BEGIN; CALL smspool.purge(now(), p_batch => 10); COMMIT" 2>&1)
like "$out" "invalid transaction termination" "inside a transaction block it refuses (it commits per batch)"
is "$(sql "SELECT count(*) FROM smspool.outbox")" 501 "and deleted nothing there"
finish
