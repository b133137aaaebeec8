/* run: `smspool run` — the daemon in the foreground. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "db/migrate.h"
#include "db/pg.h"
#include "log.h"
#include "spool.h"

int cli_run(int argc, char **argv)
{
	if (cli_wants_help(argc, argv) || argc > 1) {
		printf("usage: smspool run\n\n"
		       "Runs the daemon in the foreground: claims messages from smspool.outbox, sends them\n"
		       "through the enabled rows of smspool.connections, and stores what comes back.\n"
		       "Configuration: conf/smspool.conf, or SMSPOOL_DB, SMSPOOL_INSTANCE, SMSPOOL_LOG_LEVEL.\n"
		       "SIGTERM/SIGINT: stop cleanly; SIGHUP: reload the connections.\n");
		return argc > 1 && !cli_wants_help(argc, argv) ? 2 : 0;
	}
	spool_hold_signals();
	struct config cfg;
	if (cli_config(&cfg))
		return 1;
	/* Refuse to run against a schema older than this binary. */
	PGconn *c = cli_connect(&cfg);
	if (!c) {
		config_free(&cfg);
		return 1;
	}
	struct errbuf err;
	int v = migrate_current(c, &err);
	int pending = v < 0 ? -1 : migrate_check(c, false, &err);
	PQfinish(c);
	if (v < 0 || pending != 0) {
		if (v < 0 || pending < 0)
			log_error("daemon_start_failed", "error=\"%s\"", err.msg);
		else
			log_error("daemon_start_failed",
			          "error=\"database schema is at version %d and lacks %d of this binary's "
			          "migrations (up to %d): run smspool db migrate\"",
			          v, pending, migrate_latest());
		config_free(&cfg);
		return 1;
	}
	int rc = spool_run(&cfg);
	config_free(&cfg);
	return rc;
}
