-- Settings that take one of a list of values (issue 17): the C settings
-- tables publish the list as the schema's "enum", and the connections
-- trigger refuses any other value, naming the key, the list and the value.
BEGIN;
SELECT plan(10);

SELECT is(settings_schema -> 'bind_mode' -> 'enum', '["transceiver", "transmitter+receiver"]'::jsonb,
	'smpp bind_mode publishes its values')
FROM smspool.connection_types WHERE type = 'smpp';
SELECT is(settings_schema -> 'long_mode' -> 'enum', '["udh", "sar", "payload"]'::jsonb,
	'smpp long_mode publishes its values')
FROM smspool.connection_types WHERE type = 'smpp';
SELECT is(settings_schema -> 'default_data_coding' -> 'enum', '[0, 1, 3]'::jsonb,
	'an integer setting publishes its values as numbers')
FROM smspool.connection_types WHERE type = 'smpp';

SELECT throws_ok($$INSERT INTO smspool.connections (name, type, settings)
	VALUES ('tap_e1', 'smpp', '{"host": "h", "system_id": "s", "bind_mode": "transmiter"}')$$, '23514',
	'connections.settings: key "bind_mode" must be one of ["transceiver", "transmitter+receiver"] (got "transmiter")',
	'a misspelt bind_mode is refused at INSERT with the list');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, settings)
	VALUES ('tap_e1', 'smpp', '{"host": "h", "system_id": "s", "long_mode": "UDH"}')$$,
	'%key "long_mode" must be one of%', 'long_mode is matched exactly');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, settings)
	VALUES ('tap_e1', 'smpp', '{"host": "h", "system_id": "s", "default_data_coding": 2}')$$,
	'%key "default_data_coding" must be one of [0, 1, 3]%', 'data_coding 2 is refused');
SELECT lives_ok($$INSERT INTO smspool.connections (name, type, settings)
	VALUES ('tap_e1', 'smpp', '{"host": "h", "system_id": "s", "bind_mode": "transmitter+receiver", "long_mode": "sar"}')$$,
	'listed values are taken');
SELECT throws_like($$UPDATE smspool.connections SET settings = settings || '{"receipt_ids": "hex"}' WHERE name = 'tap_e1'$$,
	'%key "receipt_ids" must be one of%', 'an UPDATE to a wrong value is refused too');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, settings)
	VALUES ('tap_e2', 'smpp-server', '{"interface_version": "3.5"}')$$,
	'%key "interface_version" must be one of ["3.3", "3.4", "5.0"]%', 'the server side too');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, settings)
	VALUES ('tap_e3', 'ucp', '{"host": "h", "version": "5.0"}')$$,
	'%key "version" must be one of%', 'and other drivers');

SELECT * FROM finish();
ROLLBACK;
