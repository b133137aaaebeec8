-- 006_accounts: accounts of the server-side connections (SMPP server, HTTP
-- send API), submission on their behalf, and the feed of events (delivery
-- reports, inbound messages) back to them.
--
--   accounts          who may bind/log in; passwords stored as bcrypt hashes only
--   account_auth()    the bind check (SECURITY DEFINER: the only reader of the hashes)
--   outbox.account    the account a message was submitted by (NULL = application)
--   submit()          one call = one batch of messages of one account
--   inbound_routes    which inbound messages go to an account instead of the inbox readers
--   account_events    queue of reports/inbound messages to deliver to the accounts
--   account_events_claim/_done/_release()   the daemon's side of that queue
--   account_status    reporting view
--
-- Error messages follow 001: "<table>.<column>: <rule> (got ...)", SQLSTATE
-- 23514 (check_violation) or 23503 (foreign_key_violation).

-- bcrypt (crypt/gen_salt).  Put in schema public when there is one, so that
-- its functions do not mix with smspool's API; the functions below that call
-- it get the extension's schema in their fixed search_path (end of file).
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgcrypto') THEN
		IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN
			CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA public;
		ELSE
			CREATE EXTENSION IF NOT EXISTS pgcrypto;
		END IF;
	END IF;
END
$$;

---------------------------------------------------------------------------
-- accounts
---------------------------------------------------------------------------
CREATE TABLE smspool.accounts (
	system_id text PRIMARY KEY,
	password text,
	password_hash text,
	enabled boolean NOT NULL DEFAULT true,
	allowed_addresses cidr[],
	max_binds int NOT NULL DEFAULT 10,
	throughput numeric,
	connections text[],
	default_sender text,
	description text,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT accounts_system_id_format CHECK (system_id ~ '^[A-Za-z0-9_.-]{1,15}$'),
	CONSTRAINT accounts_password_write_only CHECK (password IS NULL),
	CONSTRAINT accounts_password_hash_set CHECK (password_hash IS NOT NULL),
	CONSTRAINT accounts_max_binds_range CHECK (max_binds >= 0),
	CONSTRAINT accounts_throughput_positive CHECK (throughput IS NULL OR throughput > 0)
);
COMMENT ON TABLE smspool.accounts IS 'Accounts that may bind to the server-side connections (SMPP server: system_id/password of bind_*; HTTP send API: user/password). Add one with INSERT INTO smspool.accounts (system_id, password) VALUES (''esme1'', ''secret''); change a password with UPDATE ... SET password = ''...''. The password is write-only: a trigger stores a bcrypt hash in password_hash and the password column always reads NULL. password_hash is readable only by the owner and account_auth() (column privileges: never GRANT SELECT on the whole table). Every change sends NOTIFY smspool_config. Renaming system_id moves the account''s pending events and inbound_routes; outbox.account of old messages keeps the old name. Deleting an account deletes its pending events and inbound routes.';
COMMENT ON COLUMN smspool.accounts.system_id IS 'Account name = SMPP system_id (1 to 15 characters of A-Z a-z 0-9 _ . -; SMPP allows 15).';
COMMENT ON COLUMN smspool.accounts.password IS 'Write-only: 1 to 64 characters (at most 72 bytes in UTF-8, the bcrypt limit; no control characters). SMPP itself carries at most 8 characters: an account used over SMPP needs a password of 1 to 8 characters, longer ones are for the HTTP API. Hashed into password_hash by trigger and stored as NULL.';
COMMENT ON COLUMN smspool.accounts.password_hash IS 'bcrypt hash (pgcrypto crypt(password, gen_salt(''bf'', 8))). Not readable by smspool_admin/app/daemon; checked by account_auth().';
COMMENT ON COLUMN smspool.accounts.enabled IS 'false = binds are refused (account_auth reason ''account disabled'') and submit() refuses its messages (''forbidden''); its events stay queued.';
COMMENT ON COLUMN smspool.accounts.allowed_addresses IS 'Peer addresses allowed to bind (cidr[], e.g. ''{10.0.0.0/8,192.0.2.7/32}''); NULL = any. IPv4-mapped IPv6 peers (::ffff:a.b.c.d) are compared as IPv4. An empty array is refused (use enabled = false).';
COMMENT ON COLUMN smspool.accounts.max_binds IS 'Simultaneous binds/sessions allowed (counted by the daemon); 0 = unlimited.';
COMMENT ON COLUMN smspool.accounts.throughput IS 'Messages per second accepted from this account (enforced by the daemon); NULL = unlimited; > 0.';
COMMENT ON COLUMN smspool.accounts.connections IS 'NULL = the account''s messages are routed by smspool.routes. Otherwise the connections its messages are forced to: submit() sets outbox.connection to the first route candidate (route_candidates order: position, weight, name) that is in this list, else to the list''s first element. Each must exist in connections when written.';
COMMENT ON COLUMN smspool.accounts.default_sender IS 'Sender used by submit() when a message has none (same rule as outbox.sender); NULL = the connection''s default.';
COMMENT ON COLUMN smspool.accounts.description IS 'Free text.';
COMMENT ON COLUMN smspool.accounts.created_at IS 'Row creation time.';
COMMENT ON COLUMN smspool.accounts.updated_at IS 'Last change (set by trigger).';

CREATE FUNCTION smspool.accounts_check() RETURNS trigger
LANGUAGE plpgsql
-- search_path completed with pgcrypto's schema at the end of this file
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_conn text;
BEGIN
	IF NEW.system_id IS NULL OR NEW.system_id !~ '^[A-Za-z0-9_.-]{1,15}$' THEN
		RAISE EXCEPTION 'accounts.system_id: must be 1 to 15 characters of A-Z a-z 0-9 _ . - (got %)',
			coalesce('"' || left(NEW.system_id, 40) || '"', 'NULL') USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.password IS NOT NULL THEN
		IF char_length(NEW.password) NOT BETWEEN 1 AND 64 THEN
			RAISE EXCEPTION 'accounts.password: must be 1 to 64 characters (got %)', char_length(NEW.password)
				USING ERRCODE = 'check_violation';
		END IF;
		IF octet_length(NEW.password) > 72 THEN
			RAISE EXCEPTION 'accounts.password: must be at most 72 bytes in UTF-8, the bcrypt limit (got %)', octet_length(NEW.password)
				USING ERRCODE = 'check_violation';
		END IF;
		IF NEW.password ~ '[\x01-\x1f\x7f]' THEN
			RAISE EXCEPTION 'accounts.password: must not contain control characters'
				USING ERRCODE = 'check_violation';
		END IF;
		NEW.password_hash := crypt(NEW.password, gen_salt('bf', 8));
		NEW.password := NULL;
	ELSIF NEW.password_hash IS NULL THEN
		RAISE EXCEPTION 'accounts.password: required (1 to 64 characters)'
			USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.max_binds IS NULL OR NEW.max_binds < 0 THEN
		RAISE EXCEPTION 'accounts.max_binds: must be >= 0 (0 = unlimited) (got %)', coalesce(NEW.max_binds::text, 'NULL')
			USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.throughput IS NOT NULL AND NEW.throughput <= 0 THEN
		RAISE EXCEPTION 'accounts.throughput: must be > 0 messages per second or NULL for unlimited (got %)', NEW.throughput
			USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.allowed_addresses IS NOT NULL
	   AND (cardinality(NEW.allowed_addresses) = 0 OR array_position(NEW.allowed_addresses, NULL) IS NOT NULL) THEN
		RAISE EXCEPTION 'accounts.allowed_addresses: must be NULL (any address) or a non-empty list without NULLs (got %)', NEW.allowed_addresses
			USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.connections IS NOT NULL THEN
		IF cardinality(NEW.connections) = 0 OR array_position(NEW.connections, NULL) IS NOT NULL THEN
			RAISE EXCEPTION 'accounts.connections: must be NULL (routes) or a non-empty list of connection names (got %)', NEW.connections
				USING ERRCODE = 'check_violation';
		END IF;
		SELECT c INTO v_conn FROM unnest(NEW.connections) c
		WHERE NOT EXISTS (SELECT 1 FROM smspool.connections x WHERE x.name = c) LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'accounts.connections: unknown connection "%" (see smspool.connections)', left(v_conn, 70)
				USING ERRCODE = 'foreign_key_violation';
		END IF;
	END IF;
	-- the outbox.sender rule: digits, or 1 to 11 basic GSM characters
	-- (sms_encoding gsm7 without the extension table, LF and CR)
	IF NEW.default_sender IS NOT NULL AND NEW.default_sender !~ '^\+?[0-9]{1,20}$'
	   AND NOT (char_length(NEW.default_sender) BETWEEN 1 AND 11
	            AND smspool.sms_encoding(NEW.default_sender) = 'gsm7'
	            AND NEW.default_sender !~ '[\n\r\f^{}\\\[~\]|\u20AC]') THEN
		RAISE EXCEPTION 'accounts.default_sender: must be 1 to 20 digits with an optional leading + or 1 to 11 GSM characters (got "%")',
			left(NEW.default_sender, 40) USING ERRCODE = 'check_violation';
	END IF;
	IF TG_OP = 'UPDATE' THEN
		NEW.updated_at := now();
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION smspool.accounts_check() IS 'BEFORE INSERT/UPDATE row trigger of accounts: validates ("accounts.<column>: <rule>"), hashes a given password into password_hash (bcrypt, cost 8) and clears password, sets updated_at.';
CREATE TRIGGER accounts_check BEFORE INSERT OR UPDATE ON smspool.accounts
	FOR EACH ROW EXECUTE FUNCTION smspool.accounts_check();
CREATE TRIGGER accounts_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON smspool.accounts
	FOR EACH STATEMENT EXECUTE FUNCTION smspool.notify_config();

-- The bind check.  Exactly one row.  Order: unknown account, wrong password,
-- account disabled, address not allowed -- the state of an account is told
-- only to a caller who knows its password.  An unknown account costs the same
-- bcrypt computation as a known one (a dummy hash of the same cost).
CREATE FUNCTION smspool.account_auth(p_system_id text, p_password text, p_peer text)
RETURNS TABLE (ok boolean, reason text, max_binds int, throughput numeric)
LANGUAGE plpgsql SECURITY DEFINER
-- search_path completed with pgcrypto's schema at the end of this file
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	v_hash text;
	v_enabled boolean;
	v_allowed cidr[];
	v_max_binds int;
	v_throughput numeric;
	v_peer inet;
	v_match boolean;
BEGIN
	SELECT a.password_hash, a.enabled, a.allowed_addresses, a.max_binds, a.throughput
	INTO v_hash, v_enabled, v_allowed, v_max_binds, v_throughput
	FROM smspool.accounts a WHERE a.system_id = p_system_id;
	IF NOT FOUND THEN
		-- bcrypt cost 8 of 'smspool-dummy-password', never matched
		v_match := crypt(coalesce(p_password, ''), '$2a$08$tcr3oQqvHwG7.q5kYnjW5O4fL02KN4TH9wsuhBBeJKr3rEPGMms6a'::text)
			= '$2a$08$tcr3oQqvHwG7.q5kYnjW5O4fL02KN4TH9wsuhBBeJKr3rEPGMms6a';
		RETURN QUERY SELECT false, 'unknown account'::text, NULL::int, NULL::numeric;
		RETURN;
	END IF;
	v_match := crypt(coalesce(p_password, ''), v_hash) = v_hash;
	IF p_password IS NULL OR v_match IS NOT TRUE THEN
		RETURN QUERY SELECT false, 'wrong password'::text, NULL::int, NULL::numeric;
		RETURN;
	END IF;
	IF NOT v_enabled THEN
		RETURN QUERY SELECT false, 'account disabled'::text, NULL::int, NULL::numeric;
		RETURN;
	END IF;
	IF v_allowed IS NOT NULL AND p_peer IS NOT NULL THEN
		BEGIN
			v_peer := p_peer::inet;
		EXCEPTION WHEN invalid_text_representation THEN
			v_peer := NULL;          -- not an address: matches nothing
		END;
		IF family(v_peer) = 6 AND v_peer <<= '::ffff:0.0.0.0/96'::inet THEN   -- IPv4-mapped
			v_peer := '0.0.0.0'::inet + (v_peer - '::ffff:0.0.0.0'::inet);
		END IF;
		IF v_peer IS NULL OR NOT v_peer <<= ANY (v_allowed) THEN
			RETURN QUERY SELECT false, 'address not allowed'::text, NULL::int, NULL::numeric;
			RETURN;
		END IF;
	END IF;
	RETURN QUERY SELECT true, NULL::text, v_max_binds, v_throughput;
END
$$;
COMMENT ON FUNCTION smspool.account_auth(text, text, text) IS 'Daemon: checks a bind/login. Always exactly one row (ok, reason, max_binds, throughput). ok = true: reason NULL, max_binds (0 = unlimited) and throughput (msg/s, NULL = unlimited) of the account. ok = false: reason is, checked in this order, ''unknown account'', ''wrong password'' (also for a NULL password), ''account disabled'', ''address not allowed'' (p_peer, an IP address as text, not in allowed_addresses; a p_peer that is not an address matches nothing; p_peer NULL skips the check), and max_binds/throughput are NULL. An unknown account costs one bcrypt computation like a known one. SECURITY DEFINER: the only reader of password_hash.';

---------------------------------------------------------------------------
-- outbox.account
---------------------------------------------------------------------------
-- No index and no foreign key (an RI check would cost every outbox insert,
-- and history keeps the name of a deleted/renamed account).  Not in the
-- application's INSERT grant: only submit() (the daemon) sets it.
ALTER TABLE smspool.outbox ADD COLUMN account text;
COMMENT ON COLUMN smspool.outbox.account IS 'Account (accounts.system_id) that submitted the message through submit(); NULL for rows inserted by applications. Not indexed; not a foreign key (keeps the name after the account is deleted or renamed). Account messages with want_report get a ''report'' account_events row when they reach a final state.';

-- Which connection an account's message is forced to (accounts.connections).
CREATE FUNCTION smspool.account_connection(p_connections text[], p_recipient text, p_sender text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN p_connections IS NULL THEN NULL ELSE coalesce(
		(SELECT c.connection FROM smspool.route_candidates(p_recipient, p_sender) c
		 WHERE c.connection = ANY (p_connections)
		 ORDER BY c.position, c.weight DESC, c.connection LIMIT 1),
		p_connections[1]) END
$$;
COMMENT ON FUNCTION smspool.account_connection(text[], text, text) IS 'Internal (submit): NULL when the account has no connections list (routed); else the first route candidate in the list (position, larger weight, name), else the list''s first connection.';

---------------------------------------------------------------------------
-- submit
---------------------------------------------------------------------------
-- Fast path: the whole batch as ONE INSERT (one queue insert and one NOTIFY by
-- the outbox triggers).  Only if that fails on a data error is the batch
-- inserted again in chunks of 64 rows, and a failing chunk row by row, each
-- attempt in its own subtransaction (BEGIN ... EXCEPTION), so that the refused
-- rows get their message and the others are still inserted.  The chunks keep
-- the error path cheap: 1000 rows with one bad row take 16 + 64 subtransactions
-- (and INSERT statements), not 1000.
CREATE FUNCTION smspool.submit(p_account text, p_recipients text[], p_senders text[], p_bodies text[],
	p_payloads text[], p_udhs text[], p_encodings text[], p_client_refs text[], p_priorities int[],
	p_want_reports boolean[], p_flash boolean[], p_msg_classes int[], p_send_after timestamptz[],
	p_valid_until timestamptz[])
RETURNS TABLE (idx int, id bigint, error_class text, error text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	v_n int;
	v_enabled boolean;
	v_sender text;
	v_conns text[];
	v_ids bigint[];
	v_lo int;
	v_hi int;
	v_size int;          -- rows per INSERT: v_n, then 64, then 1
	v_single_hi int;     -- end of the chunk being done row by row
	v_pri int;
	v_cls int;
BEGIN
	-- as many elements as the longest array (like unnest)
	v_n := greatest(cardinality(p_recipients), cardinality(p_senders), cardinality(p_bodies), cardinality(p_payloads),
		cardinality(p_udhs), cardinality(p_encodings), cardinality(p_client_refs), cardinality(p_priorities),
		cardinality(p_want_reports), cardinality(p_flash), cardinality(p_msg_classes), cardinality(p_send_after),
		cardinality(p_valid_until));
	IF coalesce(v_n, 0) = 0 THEN
		RETURN;
	END IF;

	SELECT a.enabled, a.default_sender, a.connections INTO v_enabled, v_sender, v_conns
	FROM smspool.accounts a WHERE a.system_id = p_account;
	IF v_enabled IS NOT TRUE THEN
		RETURN QUERY SELECT g, NULL::bigint, 'forbidden'::text,
			CASE WHEN v_enabled IS NULL
				THEN format('outbox.account: unknown account "%s"', left(p_account, 40))
				ELSE format('outbox.account: account "%s" is disabled', p_account) END
		FROM generate_series(1, v_n) g;
		RETURN;
	END IF;

	v_lo := 1;
	v_size := v_n;
	WHILE v_lo <= v_n LOOP
		v_hi := least(v_lo + v_size - 1, v_n);
		IF v_size = 1 AND v_lo > v_single_hi THEN   -- the failing chunk is done: back to chunks
			v_size := 64;
			CONTINUE;
		END IF;
		BEGIN
			IF v_lo = v_hi THEN
				-- beyond smallint the cast fails with a message naming no column
				v_pri := p_priorities[v_lo];
				v_cls := p_msg_classes[v_lo];
				IF v_pri NOT BETWEEN -32768 AND 32767 THEN
					RAISE EXCEPTION 'outbox.priority: must be 0 to 9 (got %)', v_pri USING ERRCODE = 'check_violation';
				END IF;
				IF v_cls NOT BETWEEN -32768 AND 32767 THEN
					RAISE EXCEPTION 'outbox.msg_class: must be 0 to 3 or NULL (got %)', v_cls USING ERRCODE = 'check_violation';
				END IF;
			END IF;
			-- identity values are drawn in row order: the i-th smallest id is element v_lo - 1 + i
			WITH ins AS (
				INSERT INTO smspool.outbox (recipient, sender, body, payload, udh, encoding, client_ref, priority,
					want_report, flash, msg_class, send_after, valid_until, connection, account)
				SELECT t.rcp, coalesce(t.snd, v_sender), t.body, t.payload, t.udh, coalesce(t.enc, 'auto'), t.ref,
					coalesce(t.pri, 0)::smallint, coalesce(t.wr, true), coalesce(t.fl, false), t.cls::smallint, t.sa, t.vu,
					CASE WHEN v_conns IS NOT NULL THEN smspool.account_connection(v_conns, t.rcp, coalesce(t.snd, v_sender)) END,
					p_account
				FROM unnest(p_recipients, p_senders, p_bodies, p_payloads, p_udhs, p_encodings, p_client_refs, p_priorities,
					p_want_reports, p_flash, p_msg_classes, p_send_after, p_valid_until)
					WITH ORDINALITY AS t(rcp, snd, body, payload, udh, enc, ref, pri, wr, fl, cls, sa, vu, ord)
				WHERE t.ord BETWEEN v_lo AND v_hi
				ORDER BY t.ord
				RETURNING outbox.id
			)
			SELECT array_agg(ins.id ORDER BY ins.id) INTO v_ids FROM ins;
			RETURN QUERY SELECT (v_lo - 1 + u.n)::int, u.id, NULL::text, NULL::text
				FROM unnest(v_ids) WITH ORDINALITY AS u(id, n);
			v_lo := v_hi + 1;
		EXCEPTION WHEN integrity_constraint_violation OR data_exception THEN
			IF v_lo = v_hi THEN
				RETURN QUERY SELECT v_lo, NULL::bigint, 'invalid'::text, SQLERRM;
				v_lo := v_hi + 1;
			ELSIF v_hi - v_lo + 1 > 64 THEN
				v_size := 64;              -- retry the range in chunks
			ELSE
				v_size := 1;               -- retry this chunk row by row
				v_single_hi := v_hi;
			END IF;
		END;
	END LOOP;
END
$$;
COMMENT ON FUNCTION smspool.submit(text, text[], text[], text[], text[], text[], text[], text[], int[], boolean[], boolean[], int[], timestamptz[], timestamptz[]) IS 'Daemon: inserts messages on behalf of account p_account, one array element per message (as many as the longest array; a missing element is NULL), in one transaction. NULL elements take the outbox defaults (encoding auto, priority 0, want_report true, flash false); a NULL sender takes accounts.default_sender; outbox.connection is set from accounts.connections (see account_connection). Returns one row per element, in order: idx (1-based), id (outbox id, NULL if not inserted), error_class/error NULL when inserted. error_class ''invalid'': the outbox validation refused the row, error is its message ("outbox.<column>: <rule> (got ...)"), the other rows are inserted. error_class ''forbidden'' on every row: account unknown (error "outbox.account: unknown account ...") or disabled ("outbox.account: account ... is disabled"). Other errors (privileges, deadlock...) abort the call. Fast path: one INSERT for the whole batch; only a batch with refused rows is inserted again in chunks of 64 and a failing chunk row by row (subtransactions).';

---------------------------------------------------------------------------
-- account_events: the queue of reports and inbound messages for accounts
---------------------------------------------------------------------------
CREATE TABLE smspool.account_events (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account text NOT NULL,
	kind text NOT NULL,
	message_id bigint,
	client_ref text,
	state text,
	error_code text,
	sender text,
	recipient text,
	body text,
	payload text,
	udh text,
	encoding text,
	submitted_at timestamptz,
	done_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	due_at timestamptz NOT NULL DEFAULT now(),
	attempts int NOT NULL DEFAULT 0,
	claimed_by text,
	CONSTRAINT account_events_kind CHECK (kind IN ('report', 'inbound'))
) WITH (
	-- a queue: every row is inserted, leased (non-HOT: due_at is indexed)
	-- and deleted; vacuum after a fixed number of dead rows (see queue in 002)
	autovacuum_vacuum_scale_factor = 0,
	autovacuum_vacuum_threshold = 1000,
	autovacuum_vacuum_insert_scale_factor = 0,
	autovacuum_vacuum_insert_threshold = 10000,
	autovacuum_vacuum_cost_delay = 0,
	autovacuum_analyze_scale_factor = 0,
	autovacuum_analyze_threshold = 5000
);
CREATE INDEX account_events_due ON smspool.account_events (account, due_at);
COMMENT ON TABLE smspool.account_events IS 'Events to deliver to accounts over their binds/callbacks: ''report'' (an account message with want_report reached a final state) and ''inbound'' (an inbox message routed to the account by inbound_routes). The daemon claims them (account_events_claim, lease of config lease_s), delivers them and calls account_events_done (delivered: deleted; else retried with backoff). NOTIFY smspool_account_events once per inserting statement (payload: the account if the statement''s events are all for one account, else empty). Kept until delivered or the account is deleted.';
COMMENT ON COLUMN smspool.account_events.id IS 'Event id.';
COMMENT ON COLUMN smspool.account_events.account IS 'accounts.system_id the event is for.';
COMMENT ON COLUMN smspool.account_events.kind IS 'report | inbound.';
COMMENT ON COLUMN smspool.account_events.message_id IS 'report: outbox.id; inbound: inbox.id.';
COMMENT ON COLUMN smspool.account_events.client_ref IS 'report: outbox.client_ref of the message.';
COMMENT ON COLUMN smspool.account_events.state IS 'report: the final outbox status (delivered|undelivered|expired|rejected|failed); inbound: NULL.';
COMMENT ON COLUMN smspool.account_events.error_code IS 'report: outbox.error_code.';
COMMENT ON COLUMN smspool.account_events.sender IS 'Originator (of the message, or of the inbound message).';
COMMENT ON COLUMN smspool.account_events.recipient IS 'Destination (of the message, or our number for inbound).';
COMMENT ON COLUMN smspool.account_events.body IS 'inbound: text.';
COMMENT ON COLUMN smspool.account_events.payload IS 'inbound: binary user data as hex.';
COMMENT ON COLUMN smspool.account_events.udh IS 'inbound: user data header as hex.';
COMMENT ON COLUMN smspool.account_events.encoding IS 'inbound: gsm7|ucs2|binary as received.';
COMMENT ON COLUMN smspool.account_events.submitted_at IS 'report: outbox.created_at (submit time); inbound: inbox.smsc_timestamp.';
COMMENT ON COLUMN smspool.account_events.done_at IS 'report: outbox.done_at; inbound: inbox.received_at.';
COMMENT ON COLUMN smspool.account_events.created_at IS 'When the event was queued.';
COMMENT ON COLUMN smspool.account_events.due_at IS 'When it may be claimed: now at insert, the lease end while claimed, the retry time after a failed delivery.';
COMMENT ON COLUMN smspool.account_events.attempts IS 'Claims so far.';
COMMENT ON COLUMN smspool.account_events.claimed_by IS 'Daemon instance holding the lease, NULL when not claimed.';

CREATE FUNCTION smspool.account_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	v_first text;
	v_many boolean;
BEGIN
	SELECT min(n.account), min(n.account) IS DISTINCT FROM max(n.account) INTO v_first, v_many FROM new_rows n;
	IF v_first IS NOT NULL THEN
		PERFORM pg_notify('smspool_account_events', CASE WHEN v_many THEN '' ELSE v_first END);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER account_events_notify AFTER INSERT ON smspool.account_events
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION smspool.account_events_notify();

-- Renaming an account moves its events; deleting it deletes them.
-- (inbound_routes follow through their foreign key.)
CREATE FUNCTION smspool.accounts_follow() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		DELETE FROM smspool.account_events WHERE account = OLD.system_id;
	ELSE
		UPDATE smspool.account_events SET account = NEW.system_id WHERE account = OLD.system_id;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER accounts_follow_delete AFTER DELETE ON smspool.accounts
	FOR EACH ROW EXECUTE FUNCTION smspool.accounts_follow();
CREATE TRIGGER accounts_follow_rename AFTER UPDATE OF system_id ON smspool.accounts
	FOR EACH ROW WHEN (OLD.system_id IS DISTINCT FROM NEW.system_id)
	EXECUTE FUNCTION smspool.accounts_follow();

---------------------------------------------------------------------------
-- report events
---------------------------------------------------------------------------
-- A row trigger whose WHEN clause is false for every message without an
-- account: on the daemon's status updates it costs one expression per row
-- and never calls the function.  SECURITY DEFINER: smspool_admin may update
-- outbox.status but not write account_events.
CREATE FUNCTION smspool.outbox_account_report() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	INSERT INTO smspool.account_events (account, kind, message_id, client_ref, state, error_code, sender, recipient,
		submitted_at, done_at)
	SELECT NEW.account, 'report', NEW.id, NEW.client_ref, NEW.status, NEW.error_code, NEW.sender, NEW.recipient,
		NEW.created_at, coalesce(NEW.done_at, now())
	WHERE EXISTS (SELECT 1 FROM smspool.accounts a WHERE a.system_id = NEW.account);   -- not for a deleted account
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.outbox_account_report() IS 'AFTER UPDATE OF status row trigger of outbox (only for account messages with want_report entering a final state): queues a ''report'' account event.';
CREATE TRIGGER outbox_account_report AFTER UPDATE OF status ON smspool.outbox
	FOR EACH ROW WHEN (NEW.account IS NOT NULL AND NEW.want_report AND OLD.status IS DISTINCT FROM NEW.status
		AND NEW.status IN ('delivered', 'undelivered', 'expired', 'rejected', 'failed'))
	EXECUTE FUNCTION smspool.outbox_account_report();

---------------------------------------------------------------------------
-- inbound routes
---------------------------------------------------------------------------
CREATE TABLE smspool.inbound_routes (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	position int NOT NULL,
	connection text REFERENCES smspool.connections (name) ON UPDATE CASCADE,
	recipient_prefix text,
	sender_pattern text,
	account text NOT NULL REFERENCES smspool.accounts (system_id) ON UPDATE CASCADE ON DELETE CASCADE,
	enabled boolean NOT NULL DEFAULT true,
	description text,
	CONSTRAINT inbound_routes_prefix_format CHECK (recipient_prefix IS NULL OR recipient_prefix ~ '^\+?[0-9]*$')
);
COMMENT ON TABLE smspool.inbound_routes IS 'Which received messages go to an account (as ''inbound'' account_events) instead of the applications reading the inbox. For each inbox row the first enabled matching rule (ascending position, then id) decides; the inbox row is then marked consumed (consumed_by = ''account:<system_id>'') so inbox_take() does not return it. No matching rule: the row stays for the applications. A disabled account still gets its events (they wait); disable the rule to stop routing. Changes send NOTIFY smspool_config.';
COMMENT ON COLUMN smspool.inbound_routes.id IS 'Surrogate key (tie-break of equal positions).';
COMMENT ON COLUMN smspool.inbound_routes.position IS 'Rule order (ascending).';
COMMENT ON COLUMN smspool.inbound_routes.connection IS 'Connection the message came in on (references connections.name, follows renames); NULL = any.';
COMMENT ON COLUMN smspool.inbound_routes.recipient_prefix IS 'Digits with an optional leading +; NULL or empty = any recipient. Compared ignoring a leading + on both sides.';
COMMENT ON COLUMN smspool.inbound_routes.sender_pattern IS 'Regular expression the sender must match (a NULL sender is matched as the empty string); NULL = any.';
COMMENT ON COLUMN smspool.inbound_routes.account IS 'Account that gets the matching messages (deleted with the account).';
COMMENT ON COLUMN smspool.inbound_routes.enabled IS 'false = ignored.';
COMMENT ON COLUMN smspool.inbound_routes.description IS 'Free text.';

CREATE FUNCTION smspool.inbound_routes_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.position IS NULL THEN
		RAISE EXCEPTION 'inbound_routes.position: must not be NULL' USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.recipient_prefix IS NOT NULL AND NEW.recipient_prefix !~ '^\+?[0-9]*$' THEN
		RAISE EXCEPTION 'inbound_routes.recipient_prefix: must be digits with an optional leading + (got "%")', left(NEW.recipient_prefix, 40)
			USING ERRCODE = 'check_violation';
	END IF;
	IF NEW.sender_pattern IS NOT NULL THEN
		BEGIN
			PERFORM '' ~ NEW.sender_pattern;
		EXCEPTION WHEN invalid_regular_expression THEN
			RAISE EXCEPTION 'inbound_routes.sender_pattern: invalid regular expression "%" (%)', NEW.sender_pattern, SQLERRM
				USING ERRCODE = 'check_violation';
		END;
	END IF;
	IF NEW.connection IS NOT NULL AND NOT EXISTS (SELECT 1 FROM smspool.connections WHERE name = NEW.connection) THEN
		RAISE EXCEPTION 'inbound_routes.connection: unknown connection "%"', left(NEW.connection, 70) USING ERRCODE = 'foreign_key_violation';
	END IF;
	IF NEW.account IS NULL OR NOT EXISTS (SELECT 1 FROM smspool.accounts WHERE system_id = NEW.account) THEN
		RAISE EXCEPTION 'inbound_routes.account: unknown account %', coalesce('"' || left(NEW.account, 40) || '"', 'NULL')
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER inbound_routes_check BEFORE INSERT OR UPDATE ON smspool.inbound_routes
	FOR EACH ROW EXECUTE FUNCTION smspool.inbound_routes_check();
CREATE TRIGGER inbound_routes_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON smspool.inbound_routes
	FOR EACH STATEMENT EXECUTE FUNCTION smspool.notify_config();

-- Routes a batch of new inbox rows (statement level, transition table shared
-- with inbox_notify).  Without enabled rules it costs one tiny EXISTS.
CREATE FUNCTION smspool.inbox_account_route() RETURNS trigger
LANGUAGE plpgsql
-- updates the new inbox rows by key: never a sequential scan of the inbox
SET enable_seqscan = off AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM smspool.inbound_routes WHERE enabled) THEN
		RETURN NULL;
	END IF;
	WITH m AS (
		SELECT n.id, n.sender, n.recipient, n.body, n.payload, n.udh, n.encoding, n.smsc_timestamp, n.received_at, r.account
		FROM new_rows n
		CROSS JOIN LATERAL (
			SELECT ir.account FROM smspool.inbound_routes ir
			WHERE ir.enabled
			  AND (ir.connection IS NULL OR ir.connection = n.connection)
			  AND (ir.recipient_prefix IS NULL OR ir.recipient_prefix = ''
			       OR starts_with(ltrim(coalesce(n.recipient, ''), '+'), ltrim(ir.recipient_prefix, '+')))
			  AND (ir.sender_pattern IS NULL OR coalesce(n.sender, '') ~ ir.sender_pattern)
			ORDER BY ir.position, ir.id
			LIMIT 1
		) r
		WHERE n.consumed_at IS NULL
	),
	ev AS (
		INSERT INTO smspool.account_events (account, kind, message_id, sender, recipient, body, payload, udh, encoding,
			submitted_at, done_at)
		SELECT m.account, 'inbound', m.id, m.sender, m.recipient, m.body, m.payload, m.udh, m.encoding,
			m.smsc_timestamp, m.received_at
		FROM m ORDER BY m.id
	)
	UPDATE smspool.inbox i SET consumed_at = now(), consumed_by = 'account:' || m.account
	FROM m
	WHERE i.id = ANY (ARRAY(SELECT m2.id FROM m m2)) AND i.id = m.id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.inbox_account_route() IS 'AFTER INSERT statement trigger of inbox: routes new rows by inbound_routes to accounts (''inbound'' account_events) and marks them consumed by ''account:<system_id>''.';
CREATE TRIGGER inbox_account_route AFTER INSERT ON smspool.inbox
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION smspool.inbox_account_route();

---------------------------------------------------------------------------
-- the daemon's side of account_events
---------------------------------------------------------------------------
CREATE FUNCTION smspool.account_events_claim(p_instance text, p_accounts text[], p_limit int)
RETURNS TABLE (id bigint, account text, kind text, message_id bigint, client_ref text, state text, error_code text,
	submitted_at timestamptz, done_at timestamptz, sender text, recipient text, body text, payload text, udh text,
	encoding text)
LANGUAGE plpgsql
-- Touches a batch of rows by key: never a sequential scan (see 003).
SET enable_seqscan = off AS $$
#variable_conflict use_column
DECLARE
	v_ids bigint[];
	v_lease interval;
BEGIN
	IF p_accounts IS NULL OR cardinality(p_accounts) = 0 OR coalesce(p_limit, 0) <= 0 THEN
		RETURN;
	END IF;
	-- candidates: the oldest due events of each account (one index range scan
	-- per account, bounded), twice the limit so that rows another instance
	-- holds can be skipped; then lock up to p_limit of them, oldest first.
	v_ids := ARRAY(
		SELECT e.id FROM smspool.account_events e
		WHERE e.id = ANY (ARRAY(
			SELECT c.id
			FROM (SELECT DISTINCT a FROM unnest(p_accounts) a) acc
			CROSS JOIN LATERAL (
				SELECT x.id, x.due_at FROM smspool.account_events x
				WHERE x.account = acc.a AND x.due_at <= now()
				ORDER BY x.due_at LIMIT 2 * p_limit) c
			ORDER BY c.due_at, c.id
			LIMIT 2 * p_limit))
		  AND e.due_at <= now()
		ORDER BY e.due_at, e.id
		LIMIT p_limit
		FOR UPDATE SKIP LOCKED);
	IF cardinality(v_ids) = 0 THEN
		RETURN;
	END IF;
	v_lease := make_interval(secs => coalesce(smspool.config_int('lease_s'), 60));
	RETURN QUERY
	WITH u AS (
		UPDATE smspool.account_events e SET due_at = now() + v_lease, claimed_by = p_instance, attempts = e.attempts + 1
		WHERE e.id = ANY (v_ids)
		RETURNING e.id, e.account, e.kind, e.message_id, e.client_ref, e.state, e.error_code, e.submitted_at, e.done_at,
			e.sender, e.recipient, e.body, e.payload, e.udh, e.encoding
	)
	SELECT u.id, u.account, u.kind, u.message_id, u.client_ref, u.state, u.error_code, u.submitted_at, u.done_at,
		u.sender, u.recipient, u.body, u.payload, u.udh, u.encoding
	FROM u JOIN unnest(v_ids) WITH ORDINALITY AS o(id, n) ON o.id = u.id
	ORDER BY o.n;
END
$$;
COMMENT ON FUNCTION smspool.account_events_claim(text, text[], int) IS 'Daemon: claims up to p_limit due events (due_at <= now) of the accounts p_accounts, oldest due first, FOR UPDATE SKIP LOCKED (concurrent instances never get the same event, never wait); leases them to p_instance for config lease_s (due_at = now() + lease_s, claimed_by, attempts + 1) and returns them in that order. An event whose lease ends without account_events_done is claimable again.';

CREATE FUNCTION smspool.account_events_done(p_ids bigint[], p_delivered boolean[]) RETURNS int
LANGUAGE plpgsql
-- Touches a batch of rows by key: never a sequential scan (see 003).
SET enable_seqscan = off AS $$
DECLARE
	v_deleted int;
	v_retried int;
BEGIN
	IF p_ids IS NULL OR cardinality(p_ids) = 0 THEN
		RETURN 0;
	END IF;
	DELETE FROM smspool.account_events e
	WHERE e.id = ANY (ARRAY(SELECT t.id FROM unnest(p_ids, p_delivered) AS t(id, ok) WHERE t.ok));
	GET DIAGNOSTICS v_deleted = ROW_COUNT;
	UPDATE smspool.account_events e
	SET due_at = now() + make_interval(secs => least(300, 5 * power(2::double precision, least(greatest(e.attempts - 1, 0), 16)))),
		claimed_by = NULL
	WHERE e.id = ANY (ARRAY(SELECT t.id FROM unnest(p_ids, p_delivered) AS t(id, ok) WHERE t.ok IS NOT TRUE AND t.id IS NOT NULL));
	GET DIAGNOSTICS v_retried = ROW_COUNT;
	RETURN v_deleted + v_retried;
END
$$;
COMMENT ON FUNCTION smspool.account_events_done(bigint[], boolean[]) IS 'Daemon: results of delivering claimed events, one element per event: p_delivered true = the account acknowledged it, the event is deleted; false or NULL = retried after least(300, 5 * 2^(attempts-1)) seconds (5, 10, 20 ... 300 s), lease cleared. Returns how many events were found.';

CREATE FUNCTION smspool.account_events_release(p_instance text) RETURNS int
LANGUAGE sql AS $$
	WITH u AS (
		UPDATE smspool.account_events SET due_at = now(), claimed_by = NULL
		WHERE claimed_by = p_instance
		RETURNING 1
	)
	SELECT count(*)::int FROM u
$$;
COMMENT ON FUNCTION smspool.account_events_release(text) IS 'Daemon: gives back every event leased to p_instance (at start after a crash, at stop): due now, not claimed. Returns how many. Scans account_events (no index on claimed_by: called at start/stop only).';

---------------------------------------------------------------------------
-- reporting
---------------------------------------------------------------------------
CREATE VIEW smspool.account_status AS
SELECT
	a.system_id AS account,
	a.enabled,
	coalesce(e.pending, 0) AS pending_events,
	e.oldest AS oldest_event_at,
	coalesce(o.submitted, 0) AS submitted_today,
	coalesce(o.delivered, 0) AS delivered_today
FROM smspool.accounts a
LEFT JOIN (
	SELECT ev.account, count(*) AS pending, min(ev.created_at) AS oldest
	FROM smspool.account_events ev
	GROUP BY ev.account
) e ON e.account = a.system_id
LEFT JOIN (
	SELECT ob.account,
		count(*) FILTER (WHERE ob.created_at >= date_trunc('day', now())) AS submitted,
		count(*) FILTER (WHERE ob.status = 'delivered' AND ob.done_at >= date_trunc('day', now())) AS delivered
	FROM smspool.outbox ob
	WHERE ob.account IS NOT NULL AND ob.created_at >= date_trunc('day', now()) - interval '1 day'
	GROUP BY ob.account
) o ON o.account = a.system_id;
COMMENT ON VIEW smspool.account_status IS 'Per account: enabled, pending_events (queued reports/inbound messages not yet delivered to it, claimed or not), oldest_event_at (created_at of the oldest), submitted_today (outbox messages created since midnight in the session time zone), delivered_today (its messages that became delivered since midnight, among those submitted since the previous midnight). Reads the outbox rows of the last two days (BRIN on created_at).';

---------------------------------------------------------------------------
-- pgcrypto's schema in the search_path of the functions that call it
---------------------------------------------------------------------------
DO $$
DECLARE
	v_schema text := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
	                  WHERE e.extname = 'pgcrypto');
BEGIN
	EXECUTE format('ALTER FUNCTION smspool.accounts_check() SET search_path = pg_catalog, %I, pg_temp', v_schema);
	EXECUTE format('ALTER FUNCTION smspool.account_auth(text, text, text) SET search_path = pg_catalog, %I, pg_temp', v_schema);
END
$$;

---------------------------------------------------------------------------
-- privileges (see 005)
---------------------------------------------------------------------------
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::regprocedure FROM pg_proc p
		WHERE p.pronamespace = 'smspool'::regnamespace
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
	LOOP
		EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO smspool_daemon', f);
	END LOOP;
END
$$;

-- accounts: password_hash is in no grant (column privileges).  Never
-- GRANT SELECT ON smspool.accounts (the whole table) to anyone.
REVOKE ALL ON smspool.accounts FROM PUBLIC;
GRANT SELECT (system_id, password, enabled, allowed_addresses, max_binds, throughput, connections, default_sender,
	description, created_at, updated_at) ON smspool.accounts TO smspool_admin, smspool_daemon;
GRANT INSERT (system_id, password, enabled, allowed_addresses, max_binds, throughput, connections, default_sender,
	description), UPDATE (system_id, password, enabled, allowed_addresses, max_binds, throughput, connections,
	default_sender, description), DELETE ON smspool.accounts TO smspool_admin;

-- admin: manages accounts (above) and inbound_routes; reads and purges events
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON smspool.inbound_routes TO smspool_admin;
GRANT SELECT, DELETE ON smspool.account_events TO smspool_admin;
GRANT SELECT ON smspool.account_status TO smspool_admin;

-- daemon: the functions (above), the queue, the rules
GRANT SELECT, INSERT, UPDATE, DELETE ON smspool.account_events TO smspool_daemon;
GRANT SELECT ON smspool.inbound_routes, smspool.account_status TO smspool_daemon;

-- application: the view only
GRANT SELECT ON smspool.account_status TO smspool_app;
