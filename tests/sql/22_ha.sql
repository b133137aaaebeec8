-- 022_ha: exclusive connections are leased to one instance at a time;
-- connections.daemons limits where a connection runs.
BEGIN;
SELECT plan(23);

SELECT is(smspool.connection_exclusive('at', NULL), true, 'a modem (at) is exclusive by default');
SELECT is(smspool.connection_exclusive('fbus', NULL), true, 'a modem (fbus) is exclusive by default');
SELECT is(smspool.connection_exclusive('smpp', NULL), false, 'smpp is not exclusive by default');
SELECT is(smspool.connection_exclusive('smpp', true), true, 'exclusive = true makes any connection exclusive');
SELECT throws_ok($$INSERT INTO smspool.connections (name, type, daemons) VALUES ('hx0', 'loopback', '{}')$$,
	'23514', NULL, 'an empty daemons list is refused');

INSERT INTO smspool.connections (name, type, exclusive) VALUES ('hx1', 'loopback', true);
INSERT INTO smspool.connections (name, type, exclusive, daemons) VALUES ('hx2', 'loopback', true, '{h2}');
INSERT INTO smspool.connections (name, type) VALUES ('hx3', 'loopback');

SELECT is((SELECT array_agg(name ORDER BY name) FROM smspool.hold_connections('h1', interval '10 s')),
	ARRAY['hx1'], 'h1 takes the free exclusive connection it is allowed on, not the shared one');
SELECT is((SELECT array_agg(name ORDER BY name) FROM smspool.hold_connections('h2', interval '10 s')),
	ARRAY['hx2'], 'h2 gets only hx2: hx1 is held by h1');
SELECT is((SELECT state || ' ' || detail FROM smspool.connection_state WHERE name = 'hx1' AND instance = 'h2'),
	'standby held by h1', 'connection_state shows hx1 on h2 as standby, held by h1');
SELECT is((SELECT array_agg(name ORDER BY name) FROM smspool.hold_connections('h1', interval '10 s')),
	ARRAY['hx1'], 'h1 renews hx1');
UPDATE smspool.connections SET enabled = false WHERE name = 'hx1';
SELECT count(*) FROM smspool.hold_connections('h1', interval '10 s') \gset
SELECT count(*) FROM smspool.hold_connections('h2', interval '10 s') \gset
SELECT is((SELECT state FROM smspool.connection_state WHERE name = 'hx1' AND instance = 'h2'), 'down',
	'once hx1 is disabled, h2 no longer shows it standby');
UPDATE smspool.connections SET enabled = true WHERE name = 'hx1';
SELECT is((SELECT array_agg(name ORDER BY name) FROM smspool.hold_connections('h1', interval '10 s')),
	ARRAY['hx1'], 'h1 takes hx1 again once enabled');

-- h1 stops renewing: once its lease is over, h2 takes hx1.
UPDATE smspool.connection_owners SET lease_until = now() - interval '1 ms' WHERE name = 'hx1';
SELECT is((SELECT array_agg(name ORDER BY name) FROM smspool.hold_connections('h2', interval '10 s')),
	ARRAY['hx1', 'hx2'], 'h2 takes hx1 once the lease of h1 ended');
SELECT is((SELECT count(*)::int FROM smspool.hold_connections('h1', interval '10 s')), 0,
	'h1 coming back gets nothing: h2 holds both');
SELECT is((SELECT count(*)::int FROM smspool.connection_owners WHERE name = 'hx1'), 1, 'one owner row per connection');

-- Disabling a connection gives it up; leaving daemons moves it.
UPDATE smspool.connections SET daemons = '{h1}' WHERE name = 'hx1';
SELECT is((SELECT array_agg(name ORDER BY name) FROM smspool.hold_connections('h2', interval '10 s')),
	ARRAY['hx2'], 'h2 gives up hx1 once daemons no longer names it');
SELECT is((SELECT array_agg(name ORDER BY name) FROM smspool.hold_connections('h1', interval '10 s')),
	ARRAY['hx1'], 'h1 then takes hx1 at once');
UPDATE smspool.connections SET enabled = false WHERE name = 'hx2';
SELECT is((SELECT count(*)::int FROM smspool.hold_connections('h2', interval '10 s')), 0,
	'a disabled connection is given up');

SELECT is(smspool.release_connections('h1'), 1, 'release_connections gives up what h1 holds');
SELECT throws_ok($$SELECT smspool.hold_connections('h1', interval '0 s')$$, 'P0001', NULL,
	'a lease must be positive');

-- Maintenance redirect.
INSERT INTO smspool.connections (name, type, settings) VALUES ('hsrv', 'smpp-server', '{"listen": "127.0.0.1:0"}');
SELECT throws_ok($$UPDATE smspool.connections SET redirect_to = 'hsrv' WHERE name = 'hx3'$$, NULL, NULL,
	'redirect_to must name a connection that can send');
SELECT throws_ok($$UPDATE smspool.connections SET redirect_to = 'hx3' WHERE name = 'hx3'$$, '23514', NULL,
	'a connection cannot redirect to itself');
UPDATE smspool.connections SET redirect_to = 'hx1' WHERE name = 'hx3';
DELETE FROM smspool.connections WHERE name = 'hx1';
SELECT is((SELECT redirect_to FROM smspool.connections WHERE name = 'hx3'), NULL, 'deleting the target ends the redirect');
SELECT throws_ok($$UPDATE smspool.connections SET redirect_to = 'nosuch' WHERE name = 'hx3'$$, '23503', NULL,
	'redirect_to must name an existing connection');

SELECT * FROM finish();
ROLLBACK;
