/* migrate: see migrate.h. */
#include "migrate.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* SHA-256 of a migration's text, as 64 hex digits. */
static void migration_checksum(const char *sql, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!EVP_Digest(sql, strlen(sql), md, &n, EVP_sha256(), NULL))
		abort();
	for (unsigned int i = 0; i < n && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = 0;
}

static const struct sql_migration *carried(int version)
{
	for (const struct sql_migration *m = sql_migrations; m->name; m++)
		if (m->version == version)
			return m;
	return NULL;
}

int migrate_check(PGconn *c, bool fill, struct errbuf *err)
{
	PGresult *r = pg_query(c, "SELECT to_regclass('smspool.schema_migrations') IS NOT NULL", 0, NULL, err);
	if (!r)
		return -1;
	bool exists = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	int total = 0;
	for (const struct sql_migration *m = sql_migrations; m->name; m++)
		total++;
	if (!exists)
		return total;
	r = pg_query(c,
	             "SELECT version, name, CASE WHEN to_jsonb(m) ? 'checksum' THEN to_jsonb(m)->>'checksum' END "
	             "FROM smspool.schema_migrations m ORDER BY version",
	             0, NULL, err);
	if (!r)
		return -1;
	int applied = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		int version = atoi(PQgetvalue(r, i, 0));
		const struct sql_migration *m = carried(version);
		if (!m)
			continue; /* applied by a newer binary: not ours to judge */
		applied++;
		char sum[65];
		migration_checksum(m->sql, sum);
		if (PQgetisnull(r, i, 2)) {
			/* Applied before checksums were kept: this binary's text is
			 * taken as what was applied. */
			if (fill) {
				char v[16];
				snprintf(v, sizeof v, "%d", version);
				const char *p2[] = {sum, v};
				PGresult *u = pg_query(
				    c, "UPDATE smspool.schema_migrations SET checksum = $1 WHERE version = $2::int", 2,
				    p2, err);
				if (!u) {
					PQclear(r);
					return -1;
				}
				PQclear(u);
			}
			continue;
		}
		if (strcmp(PQgetvalue(r, i, 2), sum) != 0) {
			errbuf_set(err,
			           "migration %s was changed after it was applied (checksum %.12s… in the database, "
			           "%.12s… in this binary): a migration is never edited, add a new one",
			           m->name, PQgetvalue(r, i, 2), sum);
			PQclear(r);
			return -1;
		}
	}
	PQclear(r);
	return total - applied;
}

/* Applies one migration in a transaction of its own, with a lock_timeout
 * so that it never queues behind a long transaction while the daemons'
 * statements queue behind it; a lock timeout is retried with backoff. */
static int apply_one(PGconn *c, const struct sql_migration *m, struct errbuf *err)
{
	char version[16], sum[65];
	snprintf(version, sizeof version, "%d", m->version);
	migration_checksum(m->sql, sum);
	for (int attempt = 1;; attempt++) {
		struct errbuf merr, ignored;
		if (pg_exec(c, "BEGIN; SET LOCAL lock_timeout = '5s'; SET LOCAL client_min_messages = warning", &merr))
			return errbuf_set(err, "migration %s: %s", m->name, merr.msg);
		PGresult *r = PQexec(c, m->sql);
		ExecStatusType st = PQresultStatus(r);
		bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
		if (!ok)
			pg_result_error(r, c, &merr);
		bool locked = !ok && pg_error_kind(r, c) == PG_ERR_LOCKED;
		PQclear(r);
		if (ok) {
			const char *params[] = {version, m->name, sum};
			r = pg_query(
			    c, "INSERT INTO smspool.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", 3,
			    params, &merr);
			ok = r != NULL;
			PQclear(r);
		}
		if (ok && pg_exec(c, "COMMIT", &merr) == 0)
			return 0;
		if (pg_exec(c, "ROLLBACK", &ignored)) {
		}
		if (!locked || attempt >= 8)
			return errbuf_set(err, "migration %s failed%s: %s", m->name,
			                  locked ? " (locks still held by others after 8 tries)" : "", merr.msg);
		fprintf(stderr, "smspool: migration %s waits for a lock (try %d): %s\n", m->name, attempt, merr.msg);
		sleep(attempt < 5 ? 1u << attempt : 30u);
	}
}

int migrate_apply(PGconn *c, FILE *out, struct errbuf *err)
{
	struct errbuf ignored;
	/* A session lock: two daemons or admins migrating at once take turns. */
	if (pg_exec(c,
	            "SELECT pg_advisory_lock(hashtext('smspool.migrate'));"
	            "SET client_min_messages = warning;"
	            "CREATE SCHEMA IF NOT EXISTS smspool;"
	            "CREATE TABLE IF NOT EXISTS smspool.schema_migrations ("
	            " version int PRIMARY KEY, name text NOT NULL,"
	            " applied_at timestamptz NOT NULL DEFAULT now(), checksum text);"
	            "ALTER TABLE smspool.schema_migrations ADD COLUMN IF NOT EXISTS checksum text;"
	            "RESET client_min_messages",
	            err))
		goto fail;
	if (migrate_check(c, true, err) < 0)
		goto fail;
	PGresult *r =
	    pg_query(c, "SELECT coalesce(array_agg(version), '{}')::text FROM smspool.schema_migrations", 0, NULL, err);
	if (!r)
		goto fail;
	char *done = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	int applied = 0;
	for (const struct sql_migration *m = sql_migrations; m->name; m++) {
		/* every migration not recorded, not only those above the
		 * newest: branches merged later may carry lower numbers */
		char v[24];
		snprintf(v, sizeof v, "%d", m->version);
		bool recorded = false;
		for (char *tok = done + 1; *tok && *tok != '}';) {
			size_t len = strcspn(tok, ",}");
			if (len == strlen(v) && strncmp(tok, v, len) == 0)
				recorded = true;
			tok += len + (tok[len] == ',');
		}
		if (recorded)
			continue;
		if (apply_one(c, m, err)) {
			free(done);
			goto fail;
		}
		if (out)
			fprintf(out, "applied=%s\n", m->name);
		applied++;
	}
	free(done);
	if (pg_exec(c, "BEGIN", err) || register_types(c, err) || pg_exec(c, "COMMIT", err)) {
		if (pg_exec(c, "ROLLBACK", &ignored)) {
		}
		goto fail;
	}
	if (pg_exec(c, "SELECT pg_advisory_unlock(hashtext('smspool.migrate'))", &ignored)) {
	}
	return applied;
fail:
	if (pg_exec(c, "SELECT pg_advisory_unlock_all()", &ignored)) {
	}
	return -1;
}
