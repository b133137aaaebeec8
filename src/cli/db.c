/* db: `smspool db init|migrate|status|url`. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "db/migrate.h"
#include "db/migrations.h"
#include "db/pg.h"

static int usage(int rc)
{
	FILE *out = rc ? stderr : stdout;
	fprintf(out, "usage: smspool db init|migrate|status|url\n\n"
	             "  init     start the private cluster under var/ when no database is configured, then migrate\n"
	             "  migrate  bring the schema up to date (idempotent)\n"
	             "  status   schema version and pending migrations\n"
	             "  url      the connection string in use, for psql \"$(smspool db url)\"\n");
	return rc;
}

static int migrate(const struct config *cfg)
{
	PGconn *c = cli_connect(cfg);
	if (!c)
		return 1;
	struct errbuf err;
	int n = migrate_apply(c, stdout, &err);
	PQfinish(c);
	if (n < 0) {
		fprintf(stderr, "smspool: %s\n", err.msg);
		return 1;
	}
	printf("version=%d applied=%d\n", migrate_latest(), n);
	return 0;
}

static int status(const struct config *cfg)
{
	PGconn *c = cli_connect(cfg);
	if (!c)
		return 1;
	struct errbuf err;
	int v = migrate_current(c, &err);
	int pending = v < 0 ? -1 : migrate_check(c, false, &err);
	if (v < 0 || pending < 0) {
		PQfinish(c);
		fprintf(stderr, "smspool: %s\n", err.msg);
		return 1;
	}
	printf("version=%d\nlatest=%d\n", v, migrate_latest());
	for (const struct sql_migration *m = sql_migrations; m->name; m++) {
		char version[16];
		snprintf(version, sizeof version, "%d", m->version);
		const char *p1[] = {version};
		PGresult *r =
		    pg_query(c, "SELECT 1 FROM smspool.schema_migrations WHERE version = $1::int", 1, p1, &err);
		if (!r || PQntuples(r) == 0) /* no table yet: everything is pending */
			printf("pending=%s\n", m->name);
		PQclear(r);
	}
	PQfinish(c);
	return pending == 0 ? 0 : 3;
}

static int init(const struct config *cfg)
{
	if (cfg->database_private) {
		char script[4096];
		snprintf(script, sizeof script, "%s/packaging/pgcluster.sh", cfg->root);
		pid_t pid = fork();
		if (pid == 0) {
			execl("/bin/sh", "sh", script, "start", (char *)NULL);
			_exit(127);
		}
		int st = 0;
		if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "smspool: could not start the private cluster (%s start)\n", script);
			return 1;
		}
	}
	return migrate(cfg);
}

int cli_db(int argc, char **argv)
{
	if (argc < 2 || cli_wants_help(argc, argv))
		return usage(argc < 2 ? 2 : 0);
	struct config cfg;
	if (cli_config(&cfg))
		return 1;
	int rc;
	if (strcmp(argv[1], "url") == 0) {
		printf("%s\n", cfg.database);
		rc = 0;
	} else if (strcmp(argv[1], "migrate") == 0) {
		rc = migrate(&cfg);
	} else if (strcmp(argv[1], "status") == 0) {
		rc = status(&cfg);
	} else if (strcmp(argv[1], "init") == 0) {
		rc = init(&cfg);
	} else {
		rc = usage(2);
	}
	config_free(&cfg);
	return rc;
}
