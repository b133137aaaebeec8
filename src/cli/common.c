/* common: see common.h. */
#include "cli/common.h"

#include <stdio.h>
#include <string.h>

#include "db/pg.h"

int cli_config(struct config *cfg)
{
	struct errbuf err;
	if (config_load(cfg, &err)) {
		fprintf(stderr, "smspool: configuration: %s\n", err.msg);
		return -1;
	}
	log_set_level(cfg->log_level);
	return 0;
}

PGconn *cli_connect(const struct config *cfg)
{
	struct errbuf err;
	PGconn *c = pg_connect(cfg->database, "smspool-cli", &err);
	if (!c) {
		fprintf(stderr, "smspool: %s\n", err.msg);
		if (cfg->database_private)
			fprintf(stderr, "smspool: (the private cluster: start it with packaging/pgcluster.sh start, "
			                "or `make run`)\n");
	}
	return c;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}
