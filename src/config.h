/*
 * config: the daemon's own few settings (everything else is in database
 * tables).  Read from conf/smspool.conf (`key = value`, # comments) or the
 * file named by SMSPOOL_CONF (an installed binary without conf/ beside it
 * reads /etc/smspool/smspool.conf); environment variables override the file:
 * SMSPOOL_DB, SMSPOOL_INSTANCE, SMSPOOL_LOG_LEVEL, SMSPOOL_WRITE_CONNECTIONS,
 * SMSPOOL_METRICS_LISTEN, SMSPOOL_METRICS_AUTH.
 */
#ifndef SMSPOOL_CONFIG_H
#define SMSPOOL_CONFIG_H

#include <stdbool.h>

#include "errbuf.h"
#include "log.h"
#include "util.h"

struct config {
	char *database; /* libpq conninfo or URL; the private cluster's when none is set */
	int database_private;
	char *instance; /* unique per daemon sharing a database */
	char *root;     /* the installation's top directory (bin/..) */
	enum log_level log_level;
	int write_connections; /* database connections writing results and reports */
	char *metrics_listen;  /* "host:port" of /metrics, /health and the status page; NULL = off */
	bool metrics_auth;     /* status page and /metrics need an admin account (basic auth) */
};

enum { WRITE_CONNECTIONS_MAX = 8 };

/* Loads the configuration; returns -1 with err set on a broken file. */
MUST_CHECK int config_load(struct config *cfg, struct errbuf *err);
void config_free(struct config *cfg);

#endif
