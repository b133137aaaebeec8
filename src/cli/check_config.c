/* check_config: `smspool check-config` — everything the daemon would refuse,
 * checked without starting it: the configuration file and environment, the
 * database's reachability, its schema version against this binary's, and the
 * settings of every row of smspool.connections with the very parser and
 * check() the daemon uses (no connection is opened: check() does no I/O).
 * One line per finding; the exit status says the worst (documented in
 * --help, the man page smspool(8) and the README). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "db/migrate.h"
#include "db/pg.h"
#include "driver.h"
#include "secrets.h"
#include "settings.h"

enum {
	CHECK_OK = 0,
	CHECK_USAGE = 1,
	CHECK_CONF = 2,        /* the configuration file or environment is broken */
	CHECK_DB = 3,          /* the database cannot be reached */
	CHECK_SCHEMA = 4,      /* the schema is missing or older than this binary (smspool db migrate) */
	CHECK_CONNECTIONS = 5, /* a connection's type or settings would be refused */
};

static const char *usage_text =
    "usage: smspool check-config [--quiet] [--no-schema]\n\n"
    "Checks, without starting the daemon: the configuration (conf/smspool.conf or SMSPOOL_CONF,\n"
    "and the SMSPOOL_* environment), that the database answers, that its schema is at the\n"
    "version this binary needs, and the type and settings of every row of smspool.connections\n"
    "(enabled or not) exactly as the daemon would parse them.  --quiet prints only problems;\n"
    "--no-schema stops after the database check (before `smspool db migrate`, as the unit does).\n\n"
    "Exit status: 0 all good; 1 usage; 2 configuration file or environment broken;\n"
    "3 database not reachable; 4 schema missing or older than this binary (run smspool db\n"
    "migrate) or newer; 5 at least one connection would be refused.\n";

/* One connection row: 0 when the daemon would open it. */
static int check_connection(const char *name, const char *type, const char *settings, bool enabled, bool quiet)
{
	const struct driver_ops *ops = driver_find(type);
	if (!ops) {
		printf("error: connection %s: no driver for type \"%s\" in this build\n", name, type);
		return -1;
	}
	struct errbuf err = {""};
	void *conf = calloc(1, ops->conf_size ? ops->conf_size : 1);
	if (!conf)
		abort();
	int rc = secrets_settings_parse(ops->settings, settings, conf, &err);
	if (rc == 0 && ops->check)
		rc = ops->check(conf, &err);
	settings_free(ops->settings, conf);
	free(conf);
	if (rc) {
		printf("error: connection %s (%s%s): %s\n", name, type, enabled ? "" : ", disabled", err.msg);
		return -1;
	}
	if (!quiet)
		printf("ok: connection %s (%s%s)\n", name, type, enabled ? "" : ", disabled");
	return 0;
}

int cli_check_config(int argc, char **argv)
{
	bool quiet = false, no_schema = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return CHECK_OK;
		}
		if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
			quiet = true;
			continue;
		}
		if (strcmp(argv[i], "--no-schema") == 0) {
			no_schema = true;
			continue;
		}
		fputs(usage_text, stderr);
		return CHECK_USAGE;
	}
	struct config cfg;
	struct errbuf err;
	if (config_load(&cfg, &err)) {
		printf("error: configuration: %s\n", err.msg);
		config_free(&cfg);
		return CHECK_CONF;
	}
	if (!quiet)
		printf("ok: configuration (instance %s, write_connections %d, metrics_listen %s)\n", cfg.instance,
		       cfg.write_connections, cfg.metrics_listen ? cfg.metrics_listen : "off");
	PGconn *c = pg_connect(cfg.database, "smspool-check", &err);
	config_free(&cfg);
	if (!c) {
		printf("error: database: %s\n", err.msg);
		return CHECK_DB;
	}
	if (!quiet)
		printf("ok: database reachable (server %d, user %s, database %s)\n", PQserverVersion(c), PQuser(c),
		       PQdb(c));
	if (no_schema) {
		PQfinish(c);
		return CHECK_OK;
	}
	int v = migrate_current(c, &err);
	if (v < 0) {
		printf("error: schema: %s\n", err.msg);
		PQfinish(c);
		return CHECK_SCHEMA;
	}
	if (v != migrate_latest()) {
		printf("error: schema: the database is at version %d, this binary carries %d%s\n", v, migrate_latest(),
		       v < migrate_latest() ? ": run smspool db migrate" : ": this binary is older than the schema");
		PQfinish(c);
		return CHECK_SCHEMA;
	}
	if (!quiet)
		printf("ok: schema at version %d\n", v);
	PGresult *r = pg_query(c, "SELECT name, type, settings::text, enabled FROM smspool.connections ORDER BY name",
	                       0, NULL, &err);
	if (!r) {
		printf("error: connections: %s\n", err.msg);
		PQfinish(c);
		return CHECK_SCHEMA;
	}
	int bad = 0, n = PQntuples(r);
	for (int i = 0; i < n; i++)
		if (check_connection(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
		                     PQgetvalue(r, i, 3)[0] == 't', quiet))
			bad++;
	PQclear(r);
	PQfinish(c);
	if (bad) {
		printf("error: %d of %d connections would be refused\n", bad, n);
		return CHECK_CONNECTIONS;
	}
	if (!quiet)
		printf("ok: %d connections\n", n);
	return CHECK_OK;
}
