-- Messages and routes may only name connections of a sending type.
BEGIN;
SELECT plan(6);

INSERT INTO smspool.connections (name, type, settings) VALUES ('tap_srv', 'smpp-server', '{"listen": "127.0.0.1:0"}');
INSERT INTO smspool.connections (name, type, settings) VALUES ('tap_cli', 'emulator', '{}');

SELECT throws_like($$INSERT INTO smspool.outbox (recipient, body, connection) VALUES ('+15550001', 'x', 'tap_srv')$$,
	'outbox.connection: connection "tap_srv" (type smpp-server) takes messages in and cannot send them%',
	'a message forced onto an smpp-server connection is refused, naming the column and the type');
SELECT lives_ok($$INSERT INTO smspool.outbox (recipient, body, connection, client_ref) VALUES ('+15550001', 'x', 'tap_cli', 'tap-sc')$$,
	'a message forced onto an emulator connection is taken');
SELECT throws_like($$UPDATE smspool.outbox SET connection = 'tap_srv' WHERE client_ref = 'tap-sc'$$,
	'outbox.connection: connection "tap_srv"%',
	'moving a message onto it is refused too');
SELECT throws_like($$INSERT INTO smspool.routes (position, connection) VALUES (90, 'tap_srv')$$,
	'routes.connection: connection "tap_srv" (type smpp-server)%',
	'a route to it is refused');
SELECT lives_ok($$INSERT INTO smspool.routes (position, connection) VALUES (91, 'tap_cli')$$,
	'a route to a sending connection is taken');

CREATE FUNCTION pg_temp.as_app(p_sql text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
	SET LOCAL ROLE smspool_app;
	EXECUTE p_sql;
	RESET ROLE;
END
$f$;
SELECT throws_like($x$SELECT pg_temp.as_app($$INSERT INTO smspool.outbox (recipient, body, connection) VALUES ('+15550001', 'x', 'tap_srv')$$)$x$,
	'outbox.connection: connection "tap_srv" (type smpp-server)%',
	'an application (smspool_app, no right on connection_types) gets the same error');

SELECT * FROM finish();
ROLLBACK;
