-- Demo configuration for `make run`: applied after `smspool db migrate` by
-- packaging/run.sh.  Idempotent: running it again changes nothing, and it
-- never overwrites rows that an operator has edited.
--
--   loopback  every message is accepted, reported delivered and returned into
--             smspool.inbox with sender and recipient swapped.
--   emulator  a simulated SMSC: deterministic outcomes per (seed, message id),
--             delivery reports within a second.
--   route     everything without a forced connection goes to the emulator.

INSERT INTO smspool.connections (name, type, settings, description)
VALUES
	('loopback', 'loopback', '{}'::jsonb,
	 'Demo: echoes every message back into the inbox, reported delivered'),
	('emulator', 'emulator',
	 '{"seed": 1, "accept_rate": 1.0,
	   "outcomes": {"delivered": 90, "undelivered": 7, "expired": 3},
	   "report_delay_ms": 500, "latency_ms": 5}'::jsonb,
	 'Demo: simulated SMSC, 90% delivered, reports after 0.5 s')
ON CONFLICT (name) DO NOTHING;

-- routes has no natural key: (position, connection) stands for one here.
INSERT INTO smspool.routes (position, connection, description)
SELECT 100, 'emulator', 'Demo: default route, every recipient'
WHERE NOT EXISTS (
	SELECT 1 FROM smspool.routes WHERE position = 100 AND connection = 'emulator'
);
