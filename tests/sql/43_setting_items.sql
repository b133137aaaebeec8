-- 043_setting_items: an array setting whose items take one of a list of
-- values (odbc status_updates) publishes the list as JSON schema's
-- "items"."enum", and the connections trigger refuses any other item at
-- INSERT and UPDATE, naming the key, the list and the item, as the daemon's
-- settings_parse words it (tests/unit/test_settings.c).
BEGIN;
SELECT plan(11);

SELECT is(settings_schema -> 'status_updates' -> 'items',
	'{"type": "string", "enum": ["sent", "delivered", "undelivered", "expired", "rejected", "failed"]}'::jsonb,
	'odbc status_updates publishes the values of its items')
FROM smspool.connection_types WHERE type = 'odbc';
SELECT ok(NOT (settings_schema -> 'status_updates' ? 'enum'), 'the list is the items'', not the array''s')
FROM smspool.connection_types WHERE type = 'odbc';

SELECT throws_ok($$INSERT INTO smspool.connections (name, type, settings)
	VALUES ('tap_i1', 'odbc', '{"account": "a", "dsn": "d", "status_updates": ["sent", "delivred"]}')$$, '23514',
	'connections.settings: key "status_updates" items must be one of ["sent", "delivered", "undelivered", "expired", "rejected", "failed"] (got "delivred")',
	'a misspelt item is refused at INSERT with the list and the item');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, settings)
	VALUES ('tap_i1', 'odbc', '{"account": "a", "dsn": "d", "status_updates": ["Sent"]}')$$,
	'%key "status_updates" items must be one of % (got "Sent")', 'items are matched exactly');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, settings)
	VALUES ('tap_i1', 'odbc', '{"account": "a", "dsn": "d", "status_updates": ["sent", 1]}')$$,
	'%key "status_updates" items must be one of % (got 1)', 'an item of another type is refused');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, settings)
	VALUES ('tap_i1', 'odbc', '{"account": "a", "dsn": "d", "status_updates": [["sent"]]}')$$,
	'%key "status_updates" items must be one of % (got ["sent"])', 'a nested array is no item of the list');
SELECT throws_like($$INSERT INTO smspool.connections (name, type, settings)
	VALUES ('tap_i1', 'odbc', '{"account": "a", "dsn": "d", "status_updates": ["expired", "nope", "gone"]}')$$,
	'%(got "nope")', 'the first wrong item is named');
SELECT lives_ok($$INSERT INTO smspool.connections (name, type, settings)
	VALUES ('tap_i1', 'odbc', '{"account": "a", "dsn": "d", "status_updates": ["failed", "sent", "rejected"]}')$$,
	'listed items are taken, in any order');
SELECT lives_ok($$INSERT INTO smspool.connections (name, type, settings)
	VALUES ('tap_i2', 'odbc', '{"account": "a", "dsn": "d", "status_updates": []}')$$,
	'an empty list is taken');
SELECT throws_like($$UPDATE smspool.connections SET settings = settings || '{"status_updates": ["sent", "queued"]}'
	WHERE name = 'tap_i1'$$,
	'%key "status_updates" items must be one of % (got "queued")', 'an UPDATE to a wrong item is refused too');

-- The rule is the schema's, not odbc's: any type with "items"."enum".
INSERT INTO smspool.connection_types (type, settings_schema)
	VALUES ('t_items', '{"codes": {"type": "array", "items": {"enum": [1, 2]}}}');
SELECT throws_ok($$INSERT INTO smspool.connections (name, type, settings) VALUES ('tap_i3', 't_items', '{"codes": [1, 3]}')$$,
	'23514', 'connections.settings: key "codes" items must be one of [1, 2] (got 3)', 'numbers too');

SELECT * FROM finish();
ROLLBACK;
