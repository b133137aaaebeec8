-- 001_core: schema, configuration, connection types, connections, routes,
-- daemon bookkeeping.  Applied by `smspool db migrate` inside one transaction.
-- Every object lives in schema smspool.  Error messages raised by the
-- validation triggers follow one pattern:  "<table>.<column>: <rule> (got ...)"
-- with SQLSTATE 23514 (check_violation) or 23503 (foreign_key_violation).

DO $$
BEGIN
	IF current_setting('server_encoding') <> 'UTF8' THEN
		RAISE EXCEPTION 'smspool needs a UTF8 database (this one is %): SMS texts are Unicode', current_setting('server_encoding');
	END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS smspool;
COMMENT ON SCHEMA smspool IS 'smspool SMS gateway: outbox/inbox/reports for applications, connections/routes/config for DBAs, queue and report_wait for the daemon. Documented in COMMENTs; numbered forward-only migrations.';

---------------------------------------------------------------------------
-- config
---------------------------------------------------------------------------
CREATE TABLE smspool.config (
	key text PRIMARY KEY,
	value text NOT NULL,
	description text
);
COMMENT ON TABLE smspool.config IS 'Global tunables (key/value). Read by the SQL functions at each call and by the daemon at start and on NOTIFY smspool_config. Integer keys are validated.';
COMMENT ON COLUMN smspool.config.key IS 'Setting name.';
COMMENT ON COLUMN smspool.config.value IS 'Setting value as text (integers for the built-in keys).';
COMMENT ON COLUMN smspool.config.description IS 'What the setting does.';

INSERT INTO smspool.config (key, value, description) VALUES
	('max_parts', '10', 'Most parts (concatenated SMS) one outbox message may take; longer texts are refused at INSERT.'),
	('max_attempts', '6', 'Attempts before a temporarily failing message becomes failed.'),
	('retry_base_s', '10', 'Retry backoff base in seconds: base * 2^(attempts-1), capped by retry_max_s, unless the connection gave a retry-after.'),
	('retry_max_s', '3600', 'Upper bound of the retry backoff in seconds.'),
	('lease_s', '60', 'Seconds a claimed message stays leased to a daemon; after that a crashed daemon''s messages are claimable again.'),
	('no_route_hold_s', '10', 'Seconds the daemon holds back a message whose route has no connection up before it tries again.'),
	('report_timeout_h', '72', 'Hours a sent message waits for its delivery report; after that it stays sent, with done_at set and error_class no_report.');

CREATE FUNCTION smspool.config_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.key IN ('max_parts', 'max_attempts', 'retry_base_s', 'retry_max_s', 'lease_s', 'no_route_hold_s', 'report_timeout_h') THEN
		IF NEW.value !~ '^[0-9]{1,9}$' OR (NEW.value::int < 1 AND NEW.key <> 'no_route_hold_s') THEN
			RAISE EXCEPTION 'config.value: % must be a positive integer (got "%")', NEW.key, NEW.value
				USING ERRCODE = 'check_violation';
		END IF;
		IF NEW.key = 'max_parts' AND NEW.value::int > 255 THEN
			RAISE EXCEPTION 'config.value: max_parts must be 1 to 255 (got "%")', NEW.value
				USING ERRCODE = 'check_violation';
		END IF;
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER config_check BEFORE INSERT OR UPDATE ON smspool.config
	FOR EACH ROW EXECUTE FUNCTION smspool.config_check();

-- Integer setting, for the SQL functions (one index lookup).
CREATE FUNCTION smspool.config_int(p_key text) RETURNS int
LANGUAGE sql STABLE AS $$
	SELECT value::int FROM smspool.config WHERE key = p_key
$$;
COMMENT ON FUNCTION smspool.config_int(text) IS 'Integer value of a config key (NULL if absent).';

---------------------------------------------------------------------------
-- connection types (filled by the daemon from its driver tables)
---------------------------------------------------------------------------
CREATE TABLE smspool.connection_types (
	type text PRIMARY KEY,
	caps text[] NOT NULL DEFAULT '{}',
	settings_schema jsonb NOT NULL DEFAULT '{}',
	CONSTRAINT connection_types_schema_object CHECK (jsonb_typeof(settings_schema) = 'object')
);
COMMENT ON TABLE smspool.connection_types IS 'Driver types compiled into the daemon. The daemon upserts one row per driver at migrate time (INSERT ... ON CONFLICT (type) DO UPDATE); the seed rows here only let tests run before the daemon does.';
COMMENT ON COLUMN smspool.connection_types.type IS 'Driver name = value of connections.type.';
COMMENT ON COLUMN smspool.connection_types.caps IS 'Capabilities of the driver, e.g. {send,receive,reports,listen,blocking}.';
COMMENT ON COLUMN smspool.connection_types.settings_schema IS 'Typed keys accepted in connections.settings: {"key": {"type": "string|integer|number|boolean|object|array", "required": bool, "min": n, "max": n, "enum": [...], "description": "..."}}. Unknown keys are refused.';

INSERT INTO smspool.connection_types (type, caps, settings_schema) VALUES
	('loopback', '{send,reports}', '{}'),
	('emulator', '{send,receive,reports}', '{
		"seed":            {"type": "integer", "required": false, "description": "PRNG seed (same seed, same outcomes)"},
		"accept_rate":     {"type": "number",  "required": false, "min": 0, "max": 1, "description": "share of submits accepted"},
		"reject_code":     {"type": "string",  "required": false, "description": "error code given to rejected submits"},
		"outcomes":        {"type": "object",  "required": false, "description": "weights of final report states: {\"delivered\": w, \"undelivered\": w, \"expired\": w}"},
		"report_delay_ms": {"type": "integer", "required": false, "min": 0, "description": "delay before the delivery report"},
		"latency_ms":      {"type": "integer", "required": false, "min": 0, "description": "delay before the submit response"},
		"auto_reply":      {"type": "string",  "required": false, "description": "text sent back as an inbound message for every submit"},
		"mo_interval_ms":  {"type": "integer", "required": false, "min": 0, "description": "interval of generated inbound messages (0 = none)"},
		"mo_sender":       {"type": "string",  "required": false, "description": "sender of generated inbound messages"},
		"mo_recipient":    {"type": "string",  "required": false, "description": "recipient of generated inbound messages"},
		"mo_text":         {"type": "string",  "required": false, "description": "text of generated inbound messages"}
	}');

---------------------------------------------------------------------------
-- connections (DBA-managed)
---------------------------------------------------------------------------
CREATE TABLE smspool.connections (
	name text PRIMARY KEY,
	type text NOT NULL REFERENCES smspool.connection_types (type) ON UPDATE CASCADE,
	enabled boolean NOT NULL DEFAULT true,
	settings jsonb NOT NULL DEFAULT '{}',
	throughput numeric,
	"window" int NOT NULL DEFAULT 10,
	description text,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT connections_name_format CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
	CONSTRAINT connections_throughput_positive CHECK (throughput IS NULL OR throughput > 0),
	CONSTRAINT connections_window_range CHECK ("window" BETWEEN 1 AND 10000)
);
COMMENT ON TABLE smspool.connections IS 'Connections to SMSCs, modems, HTTP providers... managed by the DBA. settings are validated against connection_types.settings_schema; every change sends NOTIFY smspool_config and the daemon applies it without restart.';
COMMENT ON COLUMN smspool.connections.name IS 'Connection name: ^[a-z0-9][a-z0-9_.-]{0,62}$.';
COMMENT ON COLUMN smspool.connections.type IS 'Driver type, must exist in connection_types.';
COMMENT ON COLUMN smspool.connections.enabled IS 'false = the daemon does not open it and routes skip it.';
COMMENT ON COLUMN smspool.connections.settings IS 'Driver settings (JSON object) validated against the type''s settings_schema: unknown key, wrong type, out of range, not in enum or missing required key is refused.';
COMMENT ON COLUMN smspool.connections.throughput IS 'Messages per second sent on this connection; NULL = unlimited; > 0.';
COMMENT ON COLUMN smspool.connections."window" IS 'Submits outstanding at once (1..10000).';
COMMENT ON COLUMN smspool.connections.description IS 'Free text.';
COMMENT ON COLUMN smspool.connections.created_at IS 'Row creation time.';
COMMENT ON COLUMN smspool.connections.updated_at IS 'Last change (set by trigger).';

CREATE FUNCTION smspool.connections_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_schema jsonb;
	v_key text;
	v_val jsonb;
	v_rule jsonb;
	v_type text;
	v_jt text;
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
CREATE TRIGGER connections_check BEFORE INSERT OR UPDATE ON smspool.connections
	FOR EACH ROW EXECUTE FUNCTION smspool.connections_check();

---------------------------------------------------------------------------
-- routes
---------------------------------------------------------------------------
CREATE TABLE smspool.routes (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	position int NOT NULL,
	recipient_prefix text,
	recipient_pattern text,
	sender_pattern text,
	connection text NOT NULL REFERENCES smspool.connections (name) ON UPDATE CASCADE,
	weight int NOT NULL DEFAULT 1,
	enabled boolean NOT NULL DEFAULT true,
	description text,
	CONSTRAINT routes_prefix_format CHECK (recipient_prefix IS NULL OR recipient_prefix ~ '^\+?[0-9]*$'),
	CONSTRAINT routes_weight_positive CHECK (weight > 0)
);
CREATE INDEX routes_position ON smspool.routes (position) WHERE enabled;
COMMENT ON TABLE smspool.routes IS 'Outbound routing rules for messages without a forced connection. Rules are tried in ascending position; all enabled rows with the same position that match a message form ONE rule whose connections share load by weight; the next position is the failover while every connection of a rule is down. See route_candidates().';
COMMENT ON COLUMN smspool.routes.id IS 'Surrogate key.';
COMMENT ON COLUMN smspool.routes.position IS 'Rule order (ascending). Rows with equal position form one load-shared rule.';
COMMENT ON COLUMN smspool.routes.recipient_prefix IS 'Digits with an optional leading +; NULL or empty = any recipient. Compared ignoring a leading + on both sides.';
COMMENT ON COLUMN smspool.routes.recipient_pattern IS 'POSIX regular expression (PostgreSQL ~) the recipient, as stored in outbox, must match; NULL = any. Checked for validity at INSERT/UPDATE.';
COMMENT ON COLUMN smspool.routes.sender_pattern IS 'Regular expression the sender must match (a NULL sender is matched as the empty string); NULL = any.';
COMMENT ON COLUMN smspool.routes.connection IS 'Connection used by this rule (references connections.name, follows renames).';
COMMENT ON COLUMN smspool.routes.weight IS 'Share of load among the connections of one rule (> 0).';
COMMENT ON COLUMN smspool.routes.enabled IS 'false = ignored.';
COMMENT ON COLUMN smspool.routes.description IS 'Free text.';

CREATE FUNCTION smspool.routes_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_pat text;
	v_col text;
BEGIN
	IF NEW.recipient_prefix IS NOT NULL AND NEW.recipient_prefix !~ '^\+?[0-9]*$' THEN
		RAISE EXCEPTION 'routes.recipient_prefix: must be digits with an optional leading + (got "%")', NEW.recipient_prefix
			USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.weight IS NULL OR NEW.weight <= 0 THEN
		RAISE EXCEPTION 'routes.weight: must be > 0 (got %)', NEW.weight USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.connection IS NOT NULL AND NOT EXISTS (SELECT 1 FROM smspool.connections WHERE name = NEW.connection) THEN
		RAISE EXCEPTION 'routes.connection: unknown connection "%"', NEW.connection USING ERRCODE = 'foreign_key_violation';
	END IF;
	FOREACH v_col IN ARRAY ARRAY['recipient_pattern', 'sender_pattern'] LOOP
		v_pat := CASE v_col WHEN 'recipient_pattern' THEN NEW.recipient_pattern ELSE NEW.sender_pattern END;
		CONTINUE WHEN v_pat IS NULL;
		BEGIN
			PERFORM '' ~ v_pat;
		EXCEPTION WHEN invalid_regular_expression THEN
			RAISE EXCEPTION 'routes.%: invalid regular expression "%" (%)', v_col, v_pat, SQLERRM
				USING ERRCODE = 'check_violation';
		END;
	END LOOP;
	RETURN NEW;
END
$$;
CREATE TRIGGER routes_check BEFORE INSERT OR UPDATE ON smspool.routes
	FOR EACH ROW EXECUTE FUNCTION smspool.routes_check();

-- Evaluated once per claimed message: a plain SQL function (inlined by the
-- planner into claim()); the routes table is tiny.
CREATE FUNCTION smspool.route_candidates(p_recipient text, p_sender text)
RETURNS TABLE ("position" int, connection text, weight int)
LANGUAGE sql STABLE AS $$
	SELECT r.position, r.connection, max(r.weight)::int
	FROM smspool.routes r
	JOIN smspool.connections c ON c.name = r.connection AND c.enabled
	WHERE r.enabled
	  AND (r.recipient_prefix IS NULL OR r.recipient_prefix = ''
	       OR starts_with(ltrim(p_recipient, '+'), ltrim(r.recipient_prefix, '+')))
	  AND (r.recipient_pattern IS NULL OR p_recipient ~ r.recipient_pattern)
	  AND (r.sender_pattern IS NULL OR coalesce(p_sender, '') ~ r.sender_pattern)
	GROUP BY r.position, r.connection
	ORDER BY r.position, r.connection
$$;
COMMENT ON FUNCTION smspool.route_candidates(text, text) IS 'Routes matching a recipient/sender: enabled routes on enabled connections, ordered by position, connection. The caller picks within the lowest position whose connections are up, by weight; if one connection appears twice in one position the larger weight counts.';

---------------------------------------------------------------------------
-- NOTIFY smspool_config on any change of connections, routes, config
---------------------------------------------------------------------------
CREATE FUNCTION smspool.notify_config() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('smspool_config', TG_TABLE_NAME);
	RETURN NULL;
END
$$;
CREATE TRIGGER connections_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON smspool.connections
	FOR EACH STATEMENT EXECUTE FUNCTION smspool.notify_config();
CREATE TRIGGER routes_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON smspool.routes
	FOR EACH STATEMENT EXECUTE FUNCTION smspool.notify_config();
CREATE TRIGGER config_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON smspool.config
	FOR EACH STATEMENT EXECUTE FUNCTION smspool.notify_config();

---------------------------------------------------------------------------
-- daemon bookkeeping
---------------------------------------------------------------------------
CREATE TABLE smspool.daemons (
	instance text PRIMARY KEY,
	pid int,
	host text,
	started_at timestamptz NOT NULL DEFAULT now(),
	heartbeat_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE smspool.daemons IS 'Running (or recently running) daemon instances; each upserts its heartbeat.';
COMMENT ON COLUMN smspool.daemons.instance IS 'Instance name (claimed_by in queue).';
COMMENT ON COLUMN smspool.daemons.pid IS 'Process id.';
COMMENT ON COLUMN smspool.daemons.host IS 'Host name.';
COMMENT ON COLUMN smspool.daemons.started_at IS 'Start of the instance.';
COMMENT ON COLUMN smspool.daemons.heartbeat_at IS 'Last heartbeat.';

CREATE TABLE smspool.connection_state (
	name text NOT NULL,
	instance text NOT NULL,
	state text NOT NULL,
	detail text,
	since timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (name, instance),
	CONSTRAINT connection_state_state CHECK (state IN ('down', 'connecting', 'up', 'stopping', 'disabled', 'error'))
);
ALTER TABLE smspool.connection_state SET (fillfactor = 50);
COMMENT ON TABLE smspool.connection_state IS 'State of each connection in each daemon instance, upserted by the daemon.';
COMMENT ON COLUMN smspool.connection_state.name IS 'Connection name.';
COMMENT ON COLUMN smspool.connection_state.instance IS 'Daemon instance.';
COMMENT ON COLUMN smspool.connection_state.state IS 'down|connecting|up|stopping|disabled|error.';
COMMENT ON COLUMN smspool.connection_state.detail IS 'Last error or remark.';
COMMENT ON COLUMN smspool.connection_state.since IS 'Since when the connection is in this state.';
COMMENT ON COLUMN smspool.connection_state.updated_at IS 'Last upsert.';
