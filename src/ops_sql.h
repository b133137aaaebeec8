/*
 * ops_sql: what the operations endpoint asks the database, on a connection
 * of its own used only by the HTTP server's thread (never the loop's or the
 * store's).  Answers are cached: the metrics figures for OPS_SQL_METRICS_MS,
 * the status page's for OPS_SQL_PAGE_MS, so that any number of scrapers and
 * open browser tabs cost the database a few small queries every few seconds.
 * Every query reads the small hot tables (queue, connection_state, daemons)
 * or the outbox through its created_at BRIN index over a bounded period.
 */
#ifndef SMSPOOL_OPS_SQL_H
#define SMSPOOL_OPS_SQL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"

enum { OPS_SQL_METRICS_MS = 2000, OPS_SQL_PAGE_MS = 5000, OPS_RATE_BUCKETS = 20, OPS_RATE_BUCKET_S = 30 };

/* The status page's figures; each result may be NULL when its query failed. */
struct ops_page_data {
	PGresult *conns;    /* name, type, enabled, window, instance, state, detail, since_s */
	PGresult *rates;    /* connection, bucket (0 = the last OPS_RATE_BUCKET_S), count */
	PGresult *errors;   /* connection, count: failed in the last hour */
	PGresult *failures; /* id, connection, status, error_class, error_code, error_text, done_at */
	PGresult *daemons;  /* instance, host, pid, heartbeat_age_s, started_at */
	char error[256];    /* why the database could not be asked ("" = fine) */
};

struct ops_sql;

/* conninfo is copied; nothing connects before the first question. */
struct ops_sql *ops_sql_new(const char *conninfo);
void ops_sql_free(struct ops_sql *q);
/* The metrics figures, at most OPS_SQL_METRICS_MS old (borrowed until the
 * next call). */
const struct metrics_db *ops_sql_metrics(struct ops_sql *q);
/* The status page's figures, at most OPS_SQL_PAGE_MS old (borrowed). */
const struct ops_page_data *ops_sql_page(struct ops_sql *q);
/* True when smspool.admin_auth() accepts the login (peer may be NULL);
 * false also when the database cannot be asked. */
bool ops_sql_admin_auth(struct ops_sql *q, const char *user, const char *pass, const char *peer);

#endif
