-- 032_part: outbox, reports and inbox partitioned by id range (issue 10;
-- the design and the PostgreSQL facts it rests on: sql/partitions.md).
--
-- Conversion of a database holding data, in this one transaction (the
-- migrator's lock_timeout and retries): each table is renamed to <t>_p0,
-- loses its identity, triggers and policies, and is attached whole (no copy)
-- as the first partition, FROM (MINVALUE) TO (last id + partition_min_ids),
-- of a new partitioned parent of the old name.  What followed the old table
-- by OID is taken from the catalogue before and recreated on the parent:
-- indexes (the old ones are attached, not rebuilt), triggers, row level
-- security and its policies (also reports_tenant_read, which reads outbox),
-- table, column and sequence grants, comments, the four views.  The identity
-- goes on with the same sequence name and its next value.
--
-- What changes meaning:
-- * outbox.idempotency_key: a unique index needs the partition key, so the
--   keys live in smspool.outbox_keys (scope, key) -> message_id, filled by
--   the BEFORE INSERT trigger outbox_validate_key (its name sorts it after
--   outbox_unique_client_ref, which sets the key from client_ref).  A taken
--   key raises 23505 on the constraint name "outbox.idempotency_key: already
--   used", as the index did, so submit() still returns the existing id.
--   INSERT ... ON CONFLICT DO NOTHING has no arbiter any more: it gets the
--   23505 instead of skipping the row.  The old index stays as a plain
--   (non-unique) index, for submit()'s lookups of the existing id.
-- * redirected.inbox_id is no foreign key any more (a referenced partition
--   cannot be detached concurrently): a statement trigger on inbox deletes
--   the redirected rows of deleted inbox rows, and the retirement those of
--   its id range.
--
-- Upkeep (run by the daemon's store thread, under the maintenance advisory
-- lock of smspool.maintain, see store.c):
-- * partitions_ahead(): records the sequences' positions in
--   partition_stats, and keeps two partitions' worth of ids above each
--   sequence, a partition holding about partition_hours of the recent rate
--   (at least partition_min_ids ids).  New partitions are built apart and
--   ATTACHed (SHARE UPDATE EXCLUSIVE on the parent: INSERTs go on).
-- * partition_next_step(): the next top-level statement of the retirement:
--   FINALIZE of an interrupted detach, DETACH ... CONCURRENTLY of a partition
--   retire_blocker() lets go, or partition_drop() of a detached one, which
--   hands it to the archive hook (config partition_archive) and drops it.

INSERT INTO smspool.config (key, value, description) VALUES
	('partition_min_ids', '100000', 'Fewest ids a new partition of outbox, reports or inbox spans (its size follows partition_hours of the recent rate).'),
	('partition_max_ids', '50000000', 'Most ids a new partition of outbox, reports or inbox spans.'),
	('partition_check_s', '10', 'Seconds between two rounds of the partition upkeep (partitions ahead, retirement) by the daemons.'),
	('partition_archive', '', 'Archive hook of the partition retirement: empty = a retired partition is dropped; else the name of a function f(p_partition regclass, p_table text, p_lo bigint, p_hi bigint) RETURNS void, called with the detached table before it is dropped (e.g. a COPY of it to a file). An error in it keeps the table (detached) and is retried at the next round.')
ON CONFLICT (key) DO NOTHING;

CREATE OR REPLACE FUNCTION smspool.config_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.key IN ('max_parts', 'max_attempts', 'retry_base_s', 'retry_max_s', 'lease_s', 'no_route_hold_s', 'report_timeout_h',
	               'retention_days', 'account_event_ttl_h', 'daemon_gone_days', 'partition_hours', 'partition_min_ids',
	               'partition_max_ids', 'partition_check_s') THEN
		IF NEW.value !~ '^[0-9]{1,9}$' OR (NEW.value::int < 1 AND NEW.key NOT IN ('no_route_hold_s', 'retention_days')) THEN
			RAISE EXCEPTION 'config.value: % must be a positive integer (got "%")', NEW.key, NEW.value
				USING ERRCODE = 'check_violation';
		END IF;
		IF NEW.key = 'max_parts' AND NEW.value::int > 255 THEN
			RAISE EXCEPTION 'config.value: max_parts must be 1 to 255 (got "%")', NEW.value
				USING ERRCODE = 'check_violation';
		END IF;
	END IF;
	IF NEW.key = 'partition_archive' AND NEW.value <> '' AND to_regproc(NEW.value) IS NULL THEN
		RAISE EXCEPTION 'config.value: partition_archive must be empty or the name of a function (got "%")', NEW.value
			USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END
$$;

CREATE TABLE smspool.partition_options (
	tbl text PRIMARY KEY,
	options text[]
);
COMMENT ON TABLE smspool.partition_options IS 'Storage parameters (fillfactor, autovacuum) each new partition of outbox, reports, inbox gets (a partitioned parent holds none); taken from the tables when 032 partitioned them.';

CREATE TABLE smspool.partition_stats (
	tbl text NOT NULL,
	at timestamptz NOT NULL DEFAULT now(),
	last_id bigint NOT NULL,
	PRIMARY KEY (tbl, at)
);
COMMENT ON TABLE smspool.partition_stats IS 'Where the id sequence of outbox, reports, inbox stood at each partitions_ahead() (every minute; 2 days kept): the recent rate that sizes new partitions.';

CREATE TABLE smspool.outbox_keys (
	scope text NOT NULL,
	key text NOT NULL,
	message_id bigint NOT NULL,
	PRIMARY KEY (scope, key)
);
CREATE INDEX outbox_keys_message ON smspool.outbox_keys (message_id);
COMMENT ON TABLE smspool.outbox_keys IS 'The idempotency keys of outbox (scope = coalesce(account, tenant, '''')): unique here, since a partitioned outbox cannot hold a unique index without its id. Filled by the outbox INSERT trigger, emptied with the messages (DELETE trigger, partition retirement).';

---------------------------------------------------------------------------
-- The conversion
---------------------------------------------------------------------------
-- Views and policies read the tables by OID: their text is taken before any
-- table moves, and they are made again at the end.
CREATE TEMP TABLE part_views ON COMMIT DROP AS
	SELECT c.oid, c.relname, pg_get_viewdef(c.oid) AS def, c.reloptions, c.relacl,
	       obj_description(c.oid, 'pg_class') AS comment
	FROM pg_class c
	WHERE c.relkind = 'v' AND c.oid IN (
		SELECT rw.ev_class FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid
		WHERE d.classid = 'pg_rewrite'::regclass
		  AND d.refobjid IN ('smspool.outbox'::regclass, 'smspool.reports'::regclass, 'smspool.inbox'::regclass));
CREATE TEMP TABLE part_policies ON COMMIT DROP AS
	SELECT p.tablename, format('CREATE POLICY %I ON smspool.%I AS %s FOR %s TO %s%s%s', p.policyname, p.tablename,
		p.permissive, p.cmd, array_to_string(ARRAY(SELECT quote_ident(r) FROM unnest(p.roles) r), ', '),
		CASE WHEN p.qual IS NOT NULL THEN ' USING (' || p.qual || ')' ELSE '' END,
		CASE WHEN p.with_check IS NOT NULL THEN ' WITH CHECK (' || p.with_check || ')' ELSE '' END) AS def,
		p.policyname
	FROM pg_policies p WHERE p.schemaname = 'smspool' AND p.tablename IN ('outbox', 'reports', 'inbox');

-- Functions that take or return a table's row type (inbox_take returns
-- SETOF smspool.inbox) would keep the old table's type: made again too.
CREATE TEMP TABLE part_funcs ON COMMIT DROP AS
	SELECT p.oid, p.oid::regprocedure::text AS sig, pg_get_functiondef(p.oid) AS def, p.proacl,
	       obj_description(p.oid, 'pg_proc') AS comment
	FROM pg_proc p
	WHERE p.oid IN (SELECT d.objid FROM pg_depend d JOIN pg_type t ON t.oid = d.refobjid
	                WHERE d.classid = 'pg_proc'::regclass
	                  AND t.typrelid IN ('smspool.outbox'::regclass, 'smspool.reports'::regclass, 'smspool.inbox'::regclass));

-- grants as statements, from an ACL (column list optional)
CREATE FUNCTION pg_temp.part_grants(p_acl aclitem[], p_on text, p_cols text) RETURNS SETOF text
LANGUAGE sql AS $$
	SELECT format('GRANT %s%s ON %s TO %s%s', a.privilege_type, coalesce(' (' || p_cols || ')', ''), p_on,
		CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
		CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
	FROM aclexplode(p_acl) a
	WHERE a.grantee <> a.grantor OR p_cols IS NOT NULL
$$;

CREATE FUNCTION pg_temp.part_convert(p_tbl text, p_size bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	v_rel regclass := format('smspool.%I', p_tbl)::regclass;
	v_p0 text := p_tbl || '_p0';
	v_last bigint;
	v_called boolean;
	v_hi bigint;
	v_triggers text[];
	v_indexes text[];
	v_grants text[];
	v_rls boolean;
	v_force boolean;
	v_comment text;
	v_s text;
	r record;
BEGIN
	EXECUTE format('SELECT last_value, is_called FROM smspool.%I', p_tbl || '_id_seq') INTO v_last, v_called;
	IF NOT v_called THEN
		v_last := v_last - 1;
	END IF;
	v_hi := greatest(v_last, 0) + p_size;
	SELECT array_agg(pg_get_triggerdef(t.oid) ORDER BY t.tgname) INTO v_triggers
	FROM pg_trigger t WHERE t.tgrelid = v_rel AND NOT t.tgisinternal;
	-- indexes but the primary key (made anew) and the unique key of 018
	-- (now outbox_keys; a plain index of the same columns replaces it)
	SELECT array_agg(replace(pg_get_indexdef(i.indexrelid), 'CREATE UNIQUE INDEX', 'CREATE INDEX') ORDER BY i.indexrelid)
	INTO v_indexes
	FROM pg_index i WHERE i.indrelid = v_rel AND NOT i.indisprimary;
	SELECT c.relrowsecurity, c.relforcerowsecurity, obj_description(c.oid, 'pg_class')
	INTO v_rls, v_force, v_comment FROM pg_class c WHERE c.oid = v_rel;
	SELECT array_agg(g) INTO v_grants FROM (
		SELECT pg_temp.part_grants(c.relacl, format('smspool.%I', p_tbl), NULL) AS g FROM pg_class c WHERE c.oid = v_rel
		UNION ALL
		SELECT pg_temp.part_grants(a.attacl, format('smspool.%I', p_tbl), quote_ident(a.attname))
		FROM pg_attribute a WHERE a.attrelid = v_rel AND a.attacl IS NOT NULL AND NOT a.attisdropped
		UNION ALL
		SELECT pg_temp.part_grants(c.relacl, format('SEQUENCE smspool.%I', p_tbl || '_id_seq'), NULL)
		FROM pg_class c WHERE c.oid = format('smspool.%I', p_tbl || '_id_seq')::regclass) x;
	INSERT INTO smspool.partition_options (tbl, options)
	SELECT p_tbl, c.reloptions FROM pg_class c WHERE c.oid = v_rel;

	-- the old table becomes <t>_p0: bare of what moves to the parent
	FOR r IN SELECT t.tgname FROM pg_trigger t WHERE t.tgrelid = v_rel AND NOT t.tgisinternal LOOP
		EXECUTE format('DROP TRIGGER %I ON smspool.%I', r.tgname, p_tbl);
	END LOOP;
	FOR r IN SELECT p.polname FROM pg_policy p WHERE p.polrelid = v_rel LOOP
		EXECUTE format('DROP POLICY %I ON smspool.%I', r.polname, p_tbl);
	END LOOP;
	EXECUTE format('ALTER TABLE smspool.%I DISABLE ROW LEVEL SECURITY', p_tbl);
	IF p_tbl = 'outbox' THEN
		DROP INDEX smspool."outbox.idempotency_key: already used";
	END IF;
	FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	         WHERE i.indrelid = v_rel AND c.relname <> 'outbox.idempotency_key: already used' LOOP
		EXECUTE format('ALTER INDEX smspool.%I RENAME TO %I', r.relname, 'p0_' || r.relname);
	END LOOP;
	EXECUTE format('ALTER TABLE smspool.%I RENAME TO %I', p_tbl, v_p0);
	EXECUTE format('ALTER TABLE smspool.%I ALTER COLUMN id DROP IDENTITY', v_p0);
	EXECUTE format('REVOKE ALL ON smspool.%I FROM PUBLIC, smspool_app, smspool_admin, smspool_daemon, smspool_tenant', v_p0);

	-- the parent, of the old name
	EXECUTE format('CREATE TABLE smspool.%I (LIKE smspool.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (id)',
		p_tbl, v_p0);
	EXECUTE format('ALTER TABLE smspool.%I ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME smspool.%I START WITH %s)',
		p_tbl, p_tbl || '_id_seq', greatest(v_last, 0) + 1);
	EXECUTE format('ALTER TABLE smspool.%I ADD CONSTRAINT %I PRIMARY KEY (id)', p_tbl, p_tbl || '_pkey');
	-- the old rows: one validation scan, then attached as they are
	EXECUTE format('ALTER TABLE smspool.%I ADD CONSTRAINT %I CHECK (id < %s)', v_p0, v_p0 || '_range', v_hi);
	EXECUTE format('ALTER TABLE smspool.%I ATTACH PARTITION smspool.%I FOR VALUES FROM (MINVALUE) TO (%s)', p_tbl, v_p0, v_hi);
	FOREACH v_s IN ARRAY coalesce(v_indexes, '{}') LOOP
		EXECUTE v_s; -- the partition's own index of the same definition is attached
	END LOOP;
	FOREACH v_s IN ARRAY coalesce(v_triggers, '{}') LOOP
		EXECUTE v_s;
	END LOOP;
	IF v_rls THEN
		EXECUTE format('ALTER TABLE smspool.%I ENABLE ROW LEVEL SECURITY', p_tbl);
	END IF;
	IF v_force THEN
		EXECUTE format('ALTER TABLE smspool.%I FORCE ROW LEVEL SECURITY', p_tbl);
	END IF;
	FOREACH v_s IN ARRAY coalesce(v_grants, '{}') LOOP
		EXECUTE v_s;
	END LOOP;
	EXECUTE format('COMMENT ON TABLE smspool.%I IS %L', p_tbl, v_comment);
END
$$;

DO $$
DECLARE
	v_size bigint := coalesce(smspool.config_int('partition_min_ids'), 100000);
	r record;
	g text;
BEGIN
	FOR r IN SELECT relname FROM part_views ORDER BY oid DESC LOOP
		EXECUTE format('DROP VIEW smspool.%I', r.relname);
	END LOOP;
	FOR r IN SELECT tablename, policyname FROM part_policies LOOP
		EXECUTE format('DROP POLICY %I ON smspool.%I', r.policyname, r.tablename);
	END LOOP;
	FOR r IN SELECT sig FROM part_funcs LOOP
		EXECUTE format('DROP FUNCTION %s', r.sig);
	END LOOP;
	ALTER TABLE smspool.redirected DROP CONSTRAINT IF EXISTS redirected_inbox_id_fkey;
	PERFORM pg_temp.part_convert('outbox', v_size);
	PERFORM pg_temp.part_convert('reports', v_size);
	PERFORM pg_temp.part_convert('inbox', v_size);
	FOR r IN SELECT * FROM part_funcs ORDER BY oid LOOP
		EXECUTE r.def;
		EXECUTE format('COMMENT ON FUNCTION %s IS %L', r.sig, r.comment);
		IF r.proacl IS NOT NULL THEN
			EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.sig);
			FOR g IN SELECT * FROM pg_temp.part_grants(r.proacl, 'FUNCTION ' || r.sig, NULL) LOOP
				EXECUTE g;
			END LOOP;
		END IF;
	END LOOP;
	FOR r IN SELECT def FROM part_policies LOOP
		EXECUTE r.def;
	END LOOP;
	FOR r IN SELECT * FROM part_views ORDER BY oid LOOP
		EXECUTE format('CREATE VIEW smspool.%I%s AS %s', r.relname,
			coalesce(' WITH (' || array_to_string(r.reloptions, ', ') || ')', ''), r.def);
		EXECUTE format('COMMENT ON VIEW smspool.%I IS %L', r.relname, r.comment);
		FOR g IN SELECT * FROM pg_temp.part_grants(r.relacl, format('smspool.%I', r.relname), NULL) LOOP
			EXECUTE g;
		END LOOP;
	END LOOP;
END
$$;

-- the keys already used
INSERT INTO smspool.outbox_keys (scope, key, message_id)
SELECT coalesce(o.account, o.tenant, ''), o.idempotency_key, min(o.id)
FROM smspool.outbox o WHERE o.idempotency_key IS NOT NULL
GROUP BY 1, 2;

CREATE FUNCTION smspool.outbox_validate_key() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_id bigint;
BEGIN
	INSERT INTO smspool.outbox_keys (scope, key, message_id)
	VALUES (coalesce(NEW.account, NEW.tenant, ''), NEW.idempotency_key, NEW.id)
	ON CONFLICT (scope, key) DO NOTHING;
	IF NOT FOUND THEN
		SELECT k.message_id INTO v_id FROM smspool.outbox_keys k
		WHERE k.scope = coalesce(NEW.account, NEW.tenant, '') AND k.key = NEW.idempotency_key;
		RAISE EXCEPTION 'duplicate key value violates unique constraint "outbox.idempotency_key: already used"'
			USING ERRCODE = 'unique_violation', CONSTRAINT = 'outbox.idempotency_key: already used',
			      DETAIL = format('Key %s already used by message %s.', NEW.idempotency_key, v_id),
			      TABLE = 'outbox', SCHEMA = 'smspool';
	END IF;
	RETURN NEW;
END
$$;
-- named to sort after outbox_unique_client_ref, which may set the key
CREATE TRIGGER outbox_validate_key BEFORE INSERT ON smspool.outbox
	FOR EACH ROW WHEN (NEW.idempotency_key IS NOT NULL) EXECUTE FUNCTION smspool.outbox_validate_key();
COMMENT ON FUNCTION smspool.outbox_validate_key() IS 'BEFORE INSERT row trigger of outbox (rows with an idempotency_key): takes the key in outbox_keys; a key already taken raises unique_violation (23505) on "outbox.idempotency_key: already used", as the unique index of 018 did.';

CREATE OR REPLACE FUNCTION smspool.outbox_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM smspool.queue q USING old_rows o
	WHERE q.message_id = o.id AND o.status IN ('queued', 'sending');
	DELETE FROM smspool.report_wait w USING old_rows o
	WHERE w.message_id = o.id AND o.status = 'sent' AND o.want_report;
	DELETE FROM smspool.outbox_keys k USING old_rows o
	WHERE o.idempotency_key IS NOT NULL AND k.scope = coalesce(o.account, o.tenant, '') AND k.key = o.idempotency_key
	  AND k.message_id = o.id;
	RETURN NULL;
END
$$;

-- row triggers of the parent run on its partitions: TG_TABLE_NAME is the
-- partition's name, the errors keep naming the table
CREATE OR REPLACE FUNCTION smspool.sending_connection_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM smspool.check_sending_connection(regexp_replace(TG_TABLE_NAME, '^outbox_p[0-9]+$', 'outbox') || '.connection',
		NEW.connection);
	RETURN NEW;
END
$$;

CREATE FUNCTION smspool.inbox_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM smspool.redirected r USING old_rows o WHERE r.inbox_id = o.id;
	RETURN NULL;
END
$$;
CREATE TRIGGER inbox_deleted AFTER DELETE ON smspool.inbox
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION smspool.inbox_deleted();
COMMENT ON FUNCTION smspool.inbox_deleted() IS 'AFTER DELETE statement trigger of inbox: removes the redirected rows of the deleted texts (the ON DELETE CASCADE of the foreign key a partitioned inbox no longer has).';

---------------------------------------------------------------------------
-- Upkeep
---------------------------------------------------------------------------
CREATE FUNCTION smspool.partition_list() RETURNS TABLE (tbl text, part text, lo bigint, hi bigint, detach_pending boolean)
LANGUAGE sql STABLE AS $$
	SELECT p.relname::text, c.relname::text,
	       CASE WHEN b[1] = 'MINVALUE' THEN -9223372036854775808 ELSE b[1]::bigint END,
	       CASE WHEN b[2] = 'MAXVALUE' THEN 9223372036854775807 ELSE b[2]::bigint END,
	       i.inhdetachpending
	FROM pg_inherits i
	JOIN pg_class c ON c.oid = i.inhrelid
	JOIN pg_class p ON p.oid = i.inhparent
	CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''?([^)'']+)''?\) TO \(''?([^)'']+)''?\)') b
	WHERE p.relnamespace = 'smspool'::regnamespace AND p.relname IN ('outbox', 'reports', 'inbox')
	ORDER BY 1, 3
$$;
COMMENT ON FUNCTION smspool.partition_list() IS 'The partitions of outbox, reports and inbox: table, partition name, id range [lo, hi) (the first one from the lowest bigint), and whether a DETACH ... CONCURRENTLY was interrupted (FINALIZE pending).';

-- ids per partition: partition_hours of the rate over the last day (or
-- since the first record), within [partition_min_ids, partition_max_ids]
CREATE FUNCTION smspool.partition_size(p_tbl text) RETURNS bigint
LANGUAGE sql STABLE AS $$
	SELECT greatest(coalesce(smspool.config_int('partition_min_ids'), 100000),
		least(coalesce(smspool.config_int('partition_max_ids'), 50000000), coalesce((
			SELECT ((max(s.last_id) - min(s.last_id))::numeric
			        / nullif(extract(epoch FROM max(s.at) - min(s.at)) / 3600, 0)
			        * coalesce(smspool.config_int('partition_hours'), 24))::bigint
			FROM smspool.partition_stats s
			WHERE s.tbl = p_tbl AND s.at > now() - interval '24 hours'), 0)))
$$;
COMMENT ON FUNCTION smspool.partition_size(text) IS 'Ids a new partition of p_tbl spans: partition_hours of the rate of the last 24 h (partition_stats), at least partition_min_ids, at most partition_max_ids (default 50,000,000).';

CREATE FUNCTION smspool.partitions_ahead(p_daemon boolean DEFAULT false) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_tbl text;
	v_last bigint;
	v_top bigint;
	v_size bigint;
	v_name text;
	v_made int := 0;
BEGIN
	-- a daemon's round: when partition_check_s have passed since the last
	-- one, by one daemon at a time, which keeps the lock for the
	-- retirement's top-level statements (and then releases it)
	IF p_daemon THEN
		IF EXISTS (SELECT 1 FROM smspool.partition_stats s WHERE s.tbl = 'outbox'
		           AND s.at > now() - make_interval(secs => coalesce(smspool.config_int('partition_check_s'), 60))) THEN
			RETURN NULL;
		END IF;
		IF NOT pg_try_advisory_lock(hashtext('smspool.partitions')) THEN
			RETURN NULL;
		END IF;
	END IF;
	-- never queue behind a long lock: the next round tries again
	PERFORM set_config('lock_timeout', '2s', true);
	FOREACH v_tbl IN ARRAY ARRAY['outbox', 'reports', 'inbox'] LOOP
		SELECT coalesce(s.last_value, 0) INTO v_last FROM pg_sequences s
		WHERE s.schemaname = 'smspool' AND s.sequencename = v_tbl || '_id_seq';
		INSERT INTO smspool.partition_stats (tbl, last_id) VALUES (v_tbl, v_last) ON CONFLICT DO NOTHING;
		DELETE FROM smspool.partition_stats WHERE tbl = v_tbl AND at < now() - interval '2 days';
		v_size := smspool.partition_size(v_tbl);
		SELECT max(l.hi) INTO v_top FROM smspool.partition_list() l WHERE l.tbl = v_tbl;
		v_top := coalesce(v_top, 1);
		-- two partitions' worth ahead of the sequence (at most 4 per round)
		FOR i IN 1..4 LOOP
			EXIT WHEN v_top - v_last >= 2 * v_size;
			v_name := format('%s_p%s', v_tbl, v_top);
			EXECUTE format('CREATE TABLE smspool.%I (LIKE smspool.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)%s',
				v_name, v_tbl, coalesce((SELECT ' WITH (' || array_to_string(o.options, ', ') || ')'
				                         FROM smspool.partition_options o WHERE o.tbl = v_tbl AND o.options IS NOT NULL), ''));
			EXECUTE format('ALTER TABLE smspool.%I ADD CONSTRAINT %I CHECK (id >= %s AND id < %s)',
				v_name, v_name || '_range', v_top, v_top + v_size);
			EXECUTE format('ALTER TABLE smspool.%I ATTACH PARTITION smspool.%I FOR VALUES FROM (%s) TO (%s)',
				v_tbl, v_name, v_top, v_top + v_size);
			v_top := v_top + v_size;
			v_made := v_made + 1;
		END LOOP;
	END LOOP;
	RETURN v_made;
END
$$;
COMMENT ON FUNCTION smspool.partitions_ahead(boolean) IS 'Daemon (maintenance, every partition_check_s; p_daemon true: NULL when the last round is more recent, or when another daemon holds the session advisory lock hashtext(''smspool.partitions''); else that lock is taken and kept for the retirement steps, to be released by the caller with pg_advisory_unlock): records where the id sequences stand (partition_stats) and creates partitions of outbox, reports and inbox ahead of need, so that two partitions'' worth of ids (partition_size) lie above each sequence. A partition is built apart and attached (SHARE UPDATE EXCLUSIVE on the parent: INSERTs, claims and updates go on); no default partition, so an id beyond the last partition is refused: the margin is the point. Returns how many it made.';

-- The next statement of the retirement, to be run at top level (DETACH
-- CONCURRENTLY refuses a transaction block); NULL: nothing to do.
CREATE FUNCTION smspool.partition_next_step() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	r record;
	v_young boolean;
BEGIN
	-- a detach that was interrupted (daemon killed): finish it
	FOR r IN SELECT * FROM smspool.partition_list() l WHERE l.detach_pending LOOP
		RETURN format('ALTER TABLE smspool.%I DETACH PARTITION smspool.%I FINALIZE', r.tbl, r.part);
	END LOOP;
	-- a detached partition not yet dropped
	FOR r IN SELECT c.relname FROM pg_class c
	         WHERE c.relnamespace = 'smspool'::regnamespace AND c.relkind = 'r' AND NOT c.relispartition
	           AND c.relname ~ '^(outbox|reports|inbox)_p[0-9]+$' ORDER BY c.relname LIMIT 1 LOOP
		RETURN format('SELECT smspool.partition_drop(%L)', r.relname);
	END LOOP;
	IF coalesce(smspool.config_int('retention_days'), 0) = 0 THEN
		RETURN NULL;
	END IF;
	FOR r IN SELECT * FROM smspool.partition_list() l ORDER BY l.tbl, l.lo LOOP
		-- cheap first: passed by its sequence, and its last row (by id, so
		-- by time) old enough; only then the scans of retire_blocker
		CONTINUE WHEN r.hi > (SELECT coalesce(s.last_value, 0) FROM pg_sequences s
		                      WHERE s.schemaname = 'smspool' AND s.sequencename = r.tbl || '_id_seq');
		EXECUTE format('SELECT %I > now() - make_interval(days => $1) FROM smspool.%I ORDER BY id DESC LIMIT 1',
			CASE r.tbl WHEN 'outbox' THEN 'created_at' ELSE 'received_at' END, r.part)
			INTO v_young USING smspool.config_int('retention_days');
		CONTINUE WHEN v_young;
		IF smspool.retire_blocker(r.tbl, r.lo, r.hi) IS NULL THEN
			RETURN format('ALTER TABLE smspool.%I DETACH PARTITION smspool.%I CONCURRENTLY', r.tbl, r.part);
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION smspool.partition_next_step() IS 'Daemon (maintenance, under the advisory lock taken by partitions_ahead(true)): the next statement of the partition retirement, to be run as a top-level statement, or NULL: FINALIZE of an interrupted detach, SELECT smspool.partition_drop(...) of a detached partition, or DETACH ... CONCURRENTLY of a partition that retire_blocker() lets go.';

CREATE FUNCTION smspool.partition_drop(p_part text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_m text[];
	v_tbl text;
	v_lo bigint;
	v_hi bigint;
	v_hook text := coalesce((SELECT value FROM smspool.config WHERE key = 'partition_archive'), '');
	v_rel regclass;
BEGIN
	v_m := regexp_match(p_part, '^(outbox|reports|inbox)_p[0-9]+$');
	v_rel := to_regclass(format('smspool.%I', p_part));
	IF v_m IS NULL OR v_rel IS NULL OR (SELECT c.relispartition OR c.relkind <> 'r' FROM pg_class c WHERE c.oid = v_rel) THEN
		RAISE EXCEPTION 'partition_drop: % is no detached partition of outbox, reports or inbox', p_part
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	v_tbl := split_part(p_part, '_p', 1);
	EXECUTE format('SELECT min(id), max(id) + 1 FROM smspool.%I', p_part) INTO v_lo, v_hi;
	IF v_hook <> '' THEN
		EXECUTE format('SELECT %s($1, $2, $3, $4)', v_hook::regproc) USING v_rel, v_tbl, v_lo, v_hi;
	END IF;
	IF v_lo IS NOT NULL THEN
		IF v_tbl = 'outbox' THEN
			DELETE FROM smspool.outbox_keys k WHERE k.message_id >= v_lo AND k.message_id < v_hi;
			DELETE FROM smspool.outcomes o WHERE o.message_id >= v_lo AND o.message_id < v_hi;
		ELSIF v_tbl = 'inbox' THEN
			DELETE FROM smspool.redirected r WHERE r.inbox_id >= v_lo AND r.inbox_id < v_hi;
			DELETE FROM smspool.outcomes o WHERE o.inbox_id >= v_lo AND o.inbox_id < v_hi;
		END IF;
	END IF;
	EXECUTE format('DROP TABLE smspool.%I', p_part);
	RETURN format('%s ids %s to %s', p_part, v_lo, v_hi);
END
$$;
COMMENT ON FUNCTION smspool.partition_drop(text) IS 'Daemon (retirement): a detached partition of outbox, reports or inbox is handed to the archive hook (config partition_archive, if set), the keys, redirected and outcomes rows of its ids are deleted, and it is dropped. Returns what went.';

-- maintain() no longer deletes old rows one by one (the dead tuples and
-- vacuum debt partitions are there to avoid): retention_days is applied by
-- the retirement of whole partitions.  purge() stays for selective erasure.
CREATE OR REPLACE FUNCTION smspool.maintain(p_instance text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v_waits int;
	v_events int;
	v_daemons int;
BEGIN
	-- one daemon at a time; the others skip this round
	IF NOT pg_try_advisory_xact_lock(hashtext('smspool.maintain')) THEN
		RETURN NULL;
	END IF;
	v_waits := smspool.expire_report_waits();
	DELETE FROM smspool.account_events e
	WHERE e.id = ANY (ARRAY(
		SELECT x.id FROM smspool.account_events x
		WHERE x.created_at < now() - make_interval(hours => coalesce(smspool.config_int('account_event_ttl_h'), 168))
		  AND x.claimed_by IS NULL
		LIMIT 10000));
	GET DIAGNOSTICS v_events = ROW_COUNT;
	WITH gone AS (
		DELETE FROM smspool.daemons d
		WHERE d.heartbeat_at < now() - make_interval(days => coalesce(smspool.config_int('daemon_gone_days'), 7))
		  AND d.instance <> p_instance
		RETURNING d.instance
	), cs AS (
		DELETE FROM smspool.connection_state s USING gone WHERE s.instance = gone.instance
	)
	SELECT count(*) INTO v_daemons FROM gone;
	RETURN format('report_waits=%s account_events=%s daemons=%s messages=0 inbox=0', v_waits, v_events, v_daemons);
END
$$;
COMMENT ON FUNCTION smspool.maintain(text) IS 'Daemon (every minute): the periodic work, by one daemon at a time (pg_try_advisory_xact_lock; NULL when another holds it): ends report waits past report_timeout_h, drops account events older than account_event_ttl_h that no session took, removes daemons (and their connection_state) gone for daemon_gone_days. What retention_days no longer keeps goes by whole partitions (partitions_ahead, partition_next_step: 032), no more by batches (messages=0 inbox=0 stay in the text for its readers). Returns what it did as key=value text.';

REVOKE ALL ON smspool.partition_options, smspool.partition_stats, smspool.outbox_keys FROM PUBLIC;
GRANT SELECT ON smspool.partition_options, smspool.partition_stats, smspool.outbox_keys TO smspool_daemon, smspool_admin;
REVOKE EXECUTE ON FUNCTION smspool.partition_list(), smspool.partition_size(text), smspool.partitions_ahead(boolean),
	smspool.partition_next_step(), smspool.partition_drop(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION smspool.partition_list(), smspool.partition_size(text), smspool.partitions_ahead(boolean),
	smspool.partition_next_step(), smspool.partition_drop(text) TO smspool_daemon, smspool_admin;

-- the partitions after the converted ones, at once
SELECT smspool.partitions_ahead();
ANALYZE smspool.outbox, smspool.reports, smspool.inbox;
