-- 043_setting_items: array settings whose items take one of a list of values
-- (issue 17).  A driver's settings table may give an array setting a list
-- (odbc status_updates: the states written back), published in
-- connection_types.settings_schema as JSON schema's
-- "items": {"type": "string", "enum": [...]}; the connections trigger now
-- refuses an item outside it, worded as the daemon words it:
--   connections.settings: key "status_updates" items must be one of [...] (got "x")
-- The function is 001's with that one rule added after the "enum" rule.

CREATE OR REPLACE FUNCTION smspool.connections_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_schema jsonb;
	v_key text;
	v_val jsonb;
	v_rule jsonb;
	v_type text;
	v_jt text;
	v_item jsonb;
BEGIN
	IF NEW.name IS NULL OR NEW.name !~ '^[a-z0-9][a-z0-9_.-]{0,62}$' THEN
		RAISE EXCEPTION 'connections.name: must match ^[a-z0-9][a-z0-9_.-]{0,62}$ (got "%")', NEW.name
			USING ERRCODE = 'check_violation';
	END IF;
	SELECT settings_schema INTO v_schema FROM smspool.connection_types WHERE type = NEW.type;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'connections.type: unknown connection type "%" (known: %)', NEW.type,
			(SELECT string_agg(type, ', ' ORDER BY type) FROM smspool.connection_types)
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	IF NEW.throughput IS NOT NULL AND NEW.throughput <= 0 THEN
		RAISE EXCEPTION 'connections.throughput: must be > 0 messages per second or NULL for unlimited (got %)', NEW.throughput
			USING ERRCODE = 'check_violation';
	END IF;
	IF NEW."window" IS NULL OR NEW."window" NOT BETWEEN 1 AND 10000 THEN
		RAISE EXCEPTION 'connections.window: must be 1 to 10000 (got %)', NEW."window"
			USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.settings IS NULL OR jsonb_typeof(NEW.settings) <> 'object' THEN
		RAISE EXCEPTION 'connections.settings: must be a JSON object (got %)', coalesce(jsonb_typeof(NEW.settings), 'NULL')
			USING ERRCODE = 'check_violation';
	END IF;
	FOR v_key, v_val IN SELECT key, value FROM jsonb_each(NEW.settings) LOOP
		v_rule := v_schema -> v_key;
		IF v_rule IS NULL THEN
			RAISE EXCEPTION 'connections.settings: unknown key "%" for connection type "%" (known: %)', v_key, NEW.type,
				coalesce((SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(v_schema) k), 'none')
				USING ERRCODE = 'check_violation';
		END IF;
		v_type := v_rule ->> 'type';
		v_jt := jsonb_typeof(v_val);
		IF v_type IS NOT NULL AND NOT (
			v_jt = v_type
			OR (v_type = 'integer' AND v_jt = 'number' AND (v_val #>> '{}')::numeric = trunc((v_val #>> '{}')::numeric))
		) THEN
			RAISE EXCEPTION 'connections.settings: key "%" must be of type % (got % %)', v_key, v_type, v_jt, v_val::text
				USING ERRCODE = 'check_violation';
		END IF;
		IF v_jt = 'number' AND v_rule ? 'min' AND (v_val #>> '{}')::numeric < (v_rule ->> 'min')::numeric THEN
			RAISE EXCEPTION 'connections.settings: key "%" must be >= % (got %)', v_key, v_rule ->> 'min', v_val::text
				USING ERRCODE = 'check_violation';
		END IF;
		IF v_jt = 'number' AND v_rule ? 'max' AND (v_val #>> '{}')::numeric > (v_rule ->> 'max')::numeric THEN
			RAISE EXCEPTION 'connections.settings: key "%" must be <= % (got %)', v_key, v_rule ->> 'max', v_val::text
				USING ERRCODE = 'check_violation';
		END IF;
		IF v_rule ? 'enum' AND NOT (v_rule -> 'enum') @> jsonb_build_array(v_val) THEN
			RAISE EXCEPTION 'connections.settings: key "%" must be one of % (got %)', v_key, v_rule -> 'enum', v_val::text
				USING ERRCODE = 'check_violation';
		END IF;
		IF v_jt = 'array' AND v_rule -> 'items' ? 'enum' THEN
			SELECT e INTO v_item FROM jsonb_array_elements(v_val) WITH ORDINALITY AS a(e, n)
				WHERE NOT (v_rule -> 'items' -> 'enum') @> jsonb_build_array(e) ORDER BY n LIMIT 1;
			IF FOUND THEN
				RAISE EXCEPTION 'connections.settings: key "%" items must be one of % (got %)', v_key,
					v_rule -> 'items' -> 'enum', v_item::text
					USING ERRCODE = 'check_violation';
			END IF;
		END IF;
	END LOOP;
	SELECT k INTO v_key FROM jsonb_each(v_schema) AS s(k, r)
		WHERE (r ->> 'required')::boolean IS TRUE AND NOT NEW.settings ? k
		ORDER BY k LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'connections.settings: key "%" is required for connection type "%"', v_key, NEW.type
			USING ERRCODE = 'check_violation';
	END IF;
	IF TG_OP = 'UPDATE' THEN
		NEW.updated_at := now();
	END IF;
	RETURN NEW;
END
$$;

COMMENT ON COLUMN smspool.connection_types.settings_schema IS 'Typed keys accepted in connections.settings: {"key": {"type": "string|integer|number|boolean|object|array", "required": bool, "min": n, "max": n, "enum": [...], "items": {"type": "string", "enum": [...]}, "description": "..."}}. Unknown keys are refused; "enum" lists the values a key may take, "items"."enum" those each item of an array may take.';
