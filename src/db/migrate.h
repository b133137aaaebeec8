/*
 * migrate: brings a database to the schema version this binary carries
 * (sql/NNN_*.sql, compiled in), forward only, all in one transaction under
 * an advisory lock so that two daemons starting together do not race; then
 * publishes every driver's settings schema into smspool.connection_types.
 */
#ifndef SMSPOOL_DB_MIGRATE_H
#define SMSPOOL_DB_MIGRATE_H

#include <libpq-fe.h>
#include <stdio.h>

#include "errbuf.h"
#include "util.h"

/* Applies what is missing; prints one line per applied migration to out
 * (may be NULL).  Returns the number applied, or -1 with err set. */
MUST_CHECK int migrate_apply(PGconn *c, FILE *out, struct errbuf *err);
/* The version recorded in the database (0 when none), or -1 on error. */
MUST_CHECK int migrate_current(PGconn *c, struct errbuf *err);
/* The newest version this binary carries. */
int migrate_latest(void);

#endif
