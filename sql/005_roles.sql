-- 005_roles: group roles (NOLOGIN; grant them to login roles) and privileges.
--   smspool_app     applications: insert/read outbox, cancel, read inbox/reports/views, take inbox rows
--   smspool_admin   DBAs: manage connections/routes/config, read everything, purge history
--   smspool_daemon  the daemon: every table, every function
-- Roles are cluster-wide, hence created only when missing.

DO $$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['smspool_app', 'smspool_admin', 'smspool_daemon'] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
			EXECUTE format('CREATE ROLE %I NOLOGIN', r);
		END IF;
	END LOOP;
END
$$;
COMMENT ON ROLE smspool_app IS 'smspool applications: INSERT application columns of outbox, SELECT outbox/inbox/reports/views, UPDATE outbox.status to cancelled only, inbox_take(), sms_parts(), sms_encoding().';
COMMENT ON ROLE smspool_admin IS 'smspool DBAs: all on connections, routes, config, connection_types; SELECT on everything; DELETE (purge) on outbox, inbox, reports; UPDATE of status and scheduling columns of outbox.';
COMMENT ON ROLE smspool_daemon IS 'smspool daemon: DML on every table and EXECUTE on every function of schema smspool.';

-- Our functions are not executable by PUBLIC (extension members, e.g. pgtap
-- installed in this schema, are left alone); trigger functions need no grant.
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

GRANT USAGE ON SCHEMA smspool TO smspool_app, smspool_admin, smspool_daemon;

-- application
GRANT SELECT ON smspool.outbox, smspool.inbox, smspool.reports,
	smspool.report_hourly, smspool.queue_depth, smspool.status_counts TO smspool_app;
GRANT INSERT (recipient, body, sender, connection, priority, send_after, valid_until, want_report,
	client_ref, encoding, payload, udh, flash, msg_class) ON smspool.outbox TO smspool_app;
GRANT UPDATE (status) ON smspool.outbox TO smspool_app;
-- read by the outbox INSERT trigger, which runs with the inserter's rights:
-- config (max_parts) and the connection names (settings stay hidden)
GRANT SELECT ON smspool.config TO smspool_app;
GRANT SELECT (name) ON smspool.connections TO smspool_app;
GRANT EXECUTE ON FUNCTION smspool.inbox_take(int, text), smspool.sms_parts(text, text, text, text),
	smspool.sms_encoding(text), smspool.config_int(text) TO smspool_app;

-- admin
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON smspool.connections, smspool.routes, smspool.config,
	smspool.connection_types TO smspool_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA smspool TO smspool_admin;
GRANT DELETE ON smspool.outbox, smspool.inbox, smspool.reports TO smspool_admin;
GRANT UPDATE (status, priority, send_after, valid_until, connection) ON smspool.outbox TO smspool_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA smspool TO smspool_admin;
GRANT EXECUTE ON FUNCTION smspool.inbox_take(int, text), smspool.sms_parts(text, text, text, text),
	smspool.sms_encoding(text), smspool.config_int(text), smspool.route_candidates(text, text),
	smspool.report_state_is_final(text), smspool.part_status_final(text[]) TO smspool_admin;

-- daemon
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA smspool TO smspool_daemon;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA smspool TO smspool_daemon;

-- triggers that act on tables the inserting/updating role cannot touch
ALTER FUNCTION smspool.outbox_deleted() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION smspool.outbox_requeue() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
