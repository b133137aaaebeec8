/* migrate: see migrate.h. */
#include "migrate.h"

#include <stdlib.h>
#include <string.h>

#include "db/migrations.h"
#include "db/pg.h"
#include "driver.h"

int migrate_latest(void)
{
	int v = 0;
	for (const struct sql_migration *m = sql_migrations; m->name; m++)
		if (m->version > v)
			v = m->version;
	return v;
}

int migrate_current(PGconn *c, struct errbuf *err)
{
	PGresult *r = pg_query(c, "SELECT to_regclass('smspool.schema_migrations') IS NOT NULL", 0, NULL, err);
	if (!r)
		return -1;
	int exists = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!exists)
		return 0;
	r = pg_query(c, "SELECT coalesce(max(version), 0) FROM smspool.schema_migrations", 0, NULL, err);
	if (!r)
		return -1;
	int v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static int register_types(PGconn *c, struct errbuf *err)
{
	for (const struct driver_ops *const *d = driver_registry; *d; d++) {
		char caps[128] = "{";
		static const char *const names[] = {"send", "receive", "reports", "listen"};
		for (unsigned i = 0; i < 4; i++)
			if ((*d)->caps & (1u << i)) {
				if (caps[1])
					strcat(caps, ",");
				strcat(caps, names[i]);
			}
		strcat(caps, "}");
		char *schema = settings_schema_json((*d)->settings);
		const char *params[] = {(*d)->name, caps, schema};
		PGresult *r = pg_query(c,
		                       "INSERT INTO smspool.connection_types (type, caps, settings_schema) "
		                       "VALUES ($1, $2::text[], $3::jsonb) ON CONFLICT (type) DO UPDATE "
		                       "SET caps = EXCLUDED.caps, settings_schema = EXCLUDED.settings_schema "
		                       "WHERE connection_types.caps IS DISTINCT FROM EXCLUDED.caps "
		                       "OR connection_types.settings_schema IS DISTINCT FROM EXCLUDED.settings_schema",
		                       3, params, err);
		free(schema);
		if (!r)
			return -1;
		PQclear(r);
	}
	return 0;
}

int migrate_apply(PGconn *c, FILE *out, struct errbuf *err)
{
	struct errbuf ignored;
	if (pg_exec(c,
	            "BEGIN; SELECT pg_advisory_xact_lock(hashtext('smspool.migrate'));"
	            "SET LOCAL client_min_messages = warning;"
	            "CREATE SCHEMA IF NOT EXISTS smspool;"
	            "CREATE TABLE IF NOT EXISTS smspool.schema_migrations ("
	            " version int PRIMARY KEY, name text NOT NULL,"
	            " applied_at timestamptz NOT NULL DEFAULT now())",
	            err))
		goto fail;
	int current = migrate_current(c, err);
	if (current < 0)
		goto fail;
	int applied = 0;
	for (const struct sql_migration *m = sql_migrations; m->name; m++) {
		if (m->version <= current)
			continue;
		struct errbuf merr;
		if (pg_exec(c, m->sql, &merr)) {
			errbuf_set(err, "migration %s failed: %s", m->name, merr.msg);
			goto fail;
		}
		char version[16];
		snprintf(version, sizeof version, "%d", m->version);
		const char *params[] = {version, m->name};
		PGresult *r = pg_query(c, "INSERT INTO smspool.schema_migrations (version, name) VALUES ($1, $2)", 2,
		                       params, err);
		if (!r)
			goto fail;
		PQclear(r);
		if (out)
			fprintf(out, "applied=%s\n", m->name);
		applied++;
	}
	if (register_types(c, err) || pg_exec(c, "COMMIT", err))
		goto fail;
	return applied;
fail:
	if (pg_exec(c, "ROLLBACK", &ignored)) {
	}
	return -1;
}
