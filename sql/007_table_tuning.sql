-- Storage settings for the tables the daemon churns (measured in the
-- benchmark's sustained run, 2,000,000 messages on 2 cores).

-- queue and report_wait gain and lose thousands of rows a second.  A VACUUM
-- that finds their tail pages empty tries to give them back to the operating
-- system, which needs an ACCESS EXCLUSIVE lock: while it holds it, claims and
-- writes wait; while it waits for it, it retries for up to 5 s.  The pages are
-- reused at once anyway.
ALTER TABLE smspool.queue SET (vacuum_truncate = off);
ALTER TABLE smspool.report_wait SET (vacuum_truncate = off);

-- The outbox's rows change three times within milliseconds of their INSERT
-- (sending, sent, delivered).  A VACUUM triggered by inserts alone (every 20 %
-- of new rows, by default) scanned the whole growing table again and again
-- during the run, marking pages all-visible that the next update unmarks; the
-- vacuums driven by dead tuples still run as usual, and so does the
-- anti-wraparound freeze.
ALTER TABLE smspool.outbox SET (autovacuum_vacuum_insert_scale_factor = 2.0);
