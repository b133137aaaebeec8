-- Every setting of every connection type that takes one of a list of values
-- (its settings_schema has "enum", or "items"."enum" for an array) refuses a
-- misspelt value at INSERT, naming the key, the list and the value, and
-- takes every listed value (issue 17).  The lists come from the drivers'
-- settings tables (published at migrate time), so a new list is tested here
-- by itself; the known lists below must stay (tests/unit/test_setting_enums.c
-- checks the same keys against the drivers' parsers).
BEGIN;

CREATE TEMP TABLE enum_keys ON COMMIT DROP AS
SELECT t.type, s.key, s.rule ? 'enum' AS whole,
	coalesce(s.rule -> 'enum', s.rule -> 'items' -> 'enum') AS list, s.rule
FROM smspool.connection_types t, jsonb_each(t.settings_schema) AS s(key, rule)
WHERE s.rule ? 'enum' OR s.rule -> 'items' ? 'enum';

-- A value outside the list: a string misspelt (upper case, a letter more or
-- less), a number in the setting's range that is not listed.
CREATE FUNCTION pg_temp.misspelt(p_list jsonb, p_rule jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	v_first jsonb := p_list -> 0;
	v_cand jsonb;
	v_n bigint;
BEGIN
	IF jsonb_typeof(v_first) = 'string' THEN
		FOREACH v_cand IN ARRAY ARRAY[to_jsonb(upper(v_first #>> '{}')), to_jsonb((v_first #>> '{}') || 'x'),
			to_jsonb(left(v_first #>> '{}', -1))] LOOP
			IF NOT p_list @> jsonb_build_array(v_cand) THEN
				RETURN v_cand;
			END IF;
		END LOOP;
	ELSE
		FOR v_n IN coalesce((p_rule ->> 'min')::bigint, 0) .. coalesce((p_rule ->> 'max')::bigint, 1000) LOOP
			IF NOT p_list @> jsonb_build_array(v_n) THEN
				RETURN to_jsonb(v_n);
			END IF;
		END LOOP;
	END IF;
	RAISE EXCEPTION 'no misspelling of % found', p_list;
END
$$;

-- The settings object with value (as the key's value, or as an array's only item).
CREATE FUNCTION pg_temp.with_value(p_key text, p_whole boolean, p_value jsonb) RETURNS jsonb
LANGUAGE sql AS $$
	SELECT jsonb_build_object(p_key, CASE WHEN p_whole THEN p_value ELSE jsonb_build_array(p_value) END)
$$;

-- The error an INSERT of settings raises, or NULL.
CREATE FUNCTION pg_temp.insert_error(p_type text, p_settings jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO smspool.connections (name, type, settings) VALUES ('tap_enum_all', p_type, p_settings);
	DELETE FROM smspool.connections WHERE name = 'tap_enum_all';
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLERRM;
END
$$;

SELECT plan((SELECT count(*)::int FROM enum_keys) + 3);

SELECT throws_ok(format('INSERT INTO smspool.connections (name, type, settings) VALUES (%L, %L, %L)',
		'tap_enum_all', type, pg_temp.with_value(key, whole, bad)), '23514',
	format('connections.settings: key "%s"%s must be one of %s (got %s)', key,
		CASE WHEN whole THEN '' ELSE ' items' END, list::text, bad::text),
	format('%s %s refuses %s', type, key, bad::text))
FROM (SELECT *, pg_temp.misspelt(list, rule) AS bad FROM enum_keys ORDER BY type, key) k;

SELECT is(ARRAY(
	SELECT format('%s %s %s: %s', k.type, k.key, v.value, e.err)
	FROM enum_keys k, jsonb_array_elements(k.list) AS v(value),
		LATERAL (SELECT pg_temp.insert_error(k.type, pg_temp.with_value(k.key, k.whole, v.value)) AS err) e
	WHERE e.err LIKE '%must be one of%' OR e.err LIKE '%must be of type%'), '{}'::text[],
	'every listed value of every type passes the trigger''s list');

SELECT is(ARRAY(
	SELECT format('%s %s', type, key) FROM enum_keys
	WHERE jsonb_array_length(list) < 2
		OR jsonb_array_length(list) <> (SELECT count(DISTINCT x) FROM jsonb_array_elements(list) AS x)), '{}'::text[],
	'every list has two values or more, each once');

-- The settings that take a list today (the audit of issue 17); new ones
-- are tested above by themselves.
SELECT is(ARRAY(
	SELECT w FROM unnest(ARRAY[
		'at flow_control', 'at mode', 'at parity',
		'email delete_after', 'email recipient_from', 'email sender_from', 'email starttls',
		'fbus family', 'fbus flow_control', 'fbus parity',
		'http auth', 'http callback_auth', 'http callback_sig_method', 'http method', 'http multipart',
		'http oauth_client_auth',
		'odbc status_updates',
		'smpp bind_mode', 'smpp data_coding_0', 'smpp default_data_coding', 'smpp interface_version',
		'smpp long_mode', 'smpp receipt_ids',
		'smpp-server data_coding_0', 'smpp-server interface_version',
		'ucp amsg_charset', 'ucp sender_ton', 'ucp version']) AS w
	WHERE w NOT IN (SELECT type || ' ' || key FROM enum_keys)), '{}'::text[],
	'the known settings with a list publish it');

SELECT * FROM finish();
ROLLBACK;
