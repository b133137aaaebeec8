/* common: what the database-facing subcommands share. */
#ifndef SMSPOOL_CLI_COMMON_H
#define SMSPOOL_CLI_COMMON_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "config.h"

/* Loads the configuration, printing the error; 0 or -1. */
int cli_config(struct config *cfg);
/* Connects to the configured database, printing the error; NULL on failure. */
PGconn *cli_connect(const struct config *cfg);
/* True when argv holds --help or -h. */
bool cli_wants_help(int argc, char **argv);

#endif
