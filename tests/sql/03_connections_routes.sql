-- connections (settings validation), routes, route_candidates
BEGIN;
SELECT plan(22);

SELECT throws_like($$INSERT INTO smspool.connections (name, type) VALUES ('x1', 'nosuchtype')$$,
	'connections.type: unknown connection type "nosuchtype"%', 'unknown type refused with a clear message');
SELECT throws_like($$INSERT INTO smspool.connections (name, type) VALUES ('Bad Name', 'loopback')$$,
	'connections.name: must match%', 'bad connection name refused');
-- The known keys come from the daemon's driver table (it republishes them at
-- migrate time), so only the part of the message that names key and type is fixed.
SELECT throws_like($$INSERT INTO smspool.connections (name, type, settings) VALUES ('e1', 'emulator', '{"colour": 1}')$$,
	'connections.settings: unknown key "colour" for connection type "emulator" (known: %accept_rate%seed%)',
	'unknown settings key refused, naming key and type');
SELECT throws_ok($$INSERT INTO smspool.connections (name, type, settings) VALUES ('e1', 'emulator', '{"latency_ms": "fast"}')$$, '23514',
	'connections.settings: key "latency_ms" must be of type integer (got string "fast")', 'string for an integer refused');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, settings) VALUES ('e1', 'emulator', '{"seed": 1.5}')$$,
	'connections.settings: key "seed" must be of type integer%', 'fraction for an integer refused');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, settings) VALUES ('e1', 'emulator', '{"outcomes": [1]}')$$,
	'connections.settings: key "outcomes" must be of type object%', 'array for an object refused');
SELECT throws_ok($$INSERT INTO smspool.connections (name, type, settings) VALUES ('e1', 'emulator', '{"accept_rate": 1.5}')$$, '23514',
	'connections.settings: key "accept_rate" must be <= 1 (got 1.5)', 'accept_rate above 1 refused');
SELECT throws_ok($$INSERT INTO smspool.connections (name, type, settings) VALUES ('e1', 'emulator', '{"report_delay_ms": -1}')$$, '23514',
	'connections.settings: key "report_delay_ms" must be >= 0 (got -1)', 'negative delay refused');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, settings) VALUES ('e1', 'loopback', '{"seed": 1}')$$,
	'connections.settings: unknown key "seed" for connection type "loopback"%', 'loopback takes no settings');
SELECT lives_ok($$INSERT INTO smspool.connections (name, type, settings) VALUES ('e1', 'emulator',
	'{"seed": 7, "accept_rate": 0.9, "outcomes": {"delivered": 8, "undelivered": 1}, "report_delay_ms": 10, "mo_text": "hi"}')$$,
	'valid emulator settings accepted');
-- enum and required rules (a test type)
INSERT INTO smspool.connection_types (type, settings_schema) VALUES ('t_enum', '{"mode": {"type": "string", "required": true, "enum": ["a", "b"]}}');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, settings) VALUES ('t1', 't_enum', '{"mode": "c"}')$$,
	'connections.settings: key "mode" must be one of%', 'value outside enum refused');
SELECT throws_ok($$INSERT INTO smspool.connections (name, type) VALUES ('t1', 't_enum')$$, '23514',
	'connections.settings: key "mode" is required for connection type "t_enum"', 'missing required key refused');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, "window") VALUES ('w1', 'loopback', 0)$$, 'connections.window: must be 1 to 10000%', 'window 0 refused');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, throughput) VALUES ('w1', 'loopback', 0)$$, 'connections.throughput: must be > 0%', 'throughput 0 refused');

-- routes
INSERT INTO smspool.connections (name, type) VALUES ('ra', 'loopback'), ('rb', 'loopback'), ('rc', 'loopback'), ('rd', 'loopback');
SELECT throws_like($$INSERT INTO smspool.routes (position, connection, recipient_pattern) VALUES (1, 'ra', '(')$$,
	'routes.recipient_pattern: invalid regular expression "("%', 'invalid recipient regex refused');
SELECT throws_like($$INSERT INTO smspool.routes (position, connection, sender_pattern) VALUES (1, 'ra', '[a')$$,
	'routes.sender_pattern: invalid regular expression%', 'invalid sender regex refused');
SELECT throws_like($$INSERT INTO smspool.routes (position, connection, recipient_prefix) VALUES (1, 'ra', '49x')$$,
	'routes.recipient_prefix: must be digits%', 'bad prefix refused');
SELECT throws_like($$INSERT INTO smspool.routes (position, connection) VALUES (1, 'nope')$$,
	'routes.connection: unknown connection "nope"', 'route to an unknown connection refused');

INSERT INTO smspool.routes (position, recipient_prefix, connection, weight) VALUES
	(10, '+49', 'ra', 3), (10, '49', 'rb', 1),     -- one rule, two connections
	(20, NULL, 'rc', 1);                            -- fallback for everything
INSERT INTO smspool.routes (position, recipient_pattern, connection) VALUES (5, '^\+?44', 'rd');
INSERT INTO smspool.routes (position, sender_pattern, connection) VALUES (1, '^VIP', 'rd');
INSERT INTO smspool.routes (position, connection, enabled) VALUES (0, 'ra', false);

SELECT results_eq($$SELECT "position", connection, weight FROM smspool.route_candidates('4917012', NULL)$$,
	$$VALUES (10, 'ra', 3), (10, 'rb', 1), (20, 'rc', 1)$$,
	'prefix matches with and without +, position order, weights, disabled route skipped');
SELECT results_eq($$SELECT "position", connection FROM smspool.route_candidates('+447700', 'Shop')$$,
	$$VALUES (5, 'rd'), (20, 'rc')$$, 'regex route matches, other prefix does not');
SELECT results_eq($$SELECT "position", connection FROM smspool.route_candidates('+3312', 'VIPshop')$$,
	$$VALUES (1, 'rd'), (20, 'rc')$$, 'sender pattern matches');
UPDATE smspool.connections SET enabled = false WHERE name = 'ra';
SELECT results_eq($$SELECT "position", connection FROM smspool.route_candidates('+4917012', NULL)$$,
	$$VALUES (10, 'rb'), (20, 'rc')$$, 'routes of a disabled connection skipped');

SELECT * FROM finish();
ROLLBACK;
