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
/* Limits for every statement of a daemon session: an application that
 * holds locks, or a statement that hangs, costs a bounded wait and an error
 * that the caller handles (retry, or narrow down the rows), never a stall. */
MUST_CHECK int pg_daemon_session(PGconn *c, struct errbuf *err);
/* Runs sql (may hold several statements, no parameters); 0 or -1 with err. */
MUST_CHECK int pg_exec(PGconn *c, const char *sql, struct errbuf *err);
/* Runs one parameterized statement; returns the result when it succeeded
 * (caller PQclear()s it), NULL with err set otherwise. */
PGresult *pg_query(PGconn *c, const char *sql, int nparams, const char *const *params, struct errbuf *err);
/* Copies the server's message (primary text, detail and hint) into err. */
int pg_result_error(const PGresult *r, PGconn *c, struct errbuf *err);

/* What a failed statement means for the one who retries it. */
enum pg_error_kind {
	PG_ERR_RECONNECT, /* the connection is gone or useless: a standby, a shutdown */
	PG_ERR_TRANSIENT, /* try the same again later: deadlock, timeout, disk full, … */
	PG_ERR_DATA,      /* the statement's data was refused: it will fail again */
	PG_ERR_LOCKED,    /* lock_timeout: some of its rows are held by someone else */
};
/* Classifies by SQLSTATE (r may be NULL).  Unknown classes are transient:
 * a retry costs a delay, a wrong "data" verdict would cost the data. */
enum pg_error_kind pg_error_kind(const PGresult *r, PGconn *c);
enum pg_error_kind pg_sqlstate_kind(const char *sqlstate);

#endif
