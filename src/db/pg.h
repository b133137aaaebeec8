/*
 * pg: thin helpers over libpq for the few places that talk to the database
 * outside the store thread (CLI, migrations) and for the store itself.
 * Every query is parameterized; no SQL is ever built from data.
 */
#ifndef SMSPOOL_DB_PG_H
#define SMSPOOL_DB_PG_H

#include <libpq-fe.h>

#include "errbuf.h"
#include "util.h"

/* Connects (blocking); NULL with err set on failure. */
PGconn *pg_connect(const char *conninfo, const char *app_name, struct errbuf *err);
/* Runs sql (may hold several statements, no parameters); 0 or -1 with err. */
MUST_CHECK int pg_exec(PGconn *c, const char *sql, struct errbuf *err);
/* Runs one parameterized statement; returns the result when it succeeded
 * (caller PQclear()s it), NULL with err set otherwise. */
PGresult *pg_query(PGconn *c, const char *sql, int nparams, const char *const *params, struct errbuf *err);
/* Copies the server's message (primary text, detail and hint) into err. */
int pg_result_error(const PGresult *r, PGconn *c, struct errbuf *err);

#endif
