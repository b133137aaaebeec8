/*
 * migrate: brings a database to the schema version this binary carries
 * (sql/NNN_*.sql, compiled in), forward only, under an advisory lock so
 * that two daemons starting together do not race; then publishes every
 * driver's settings schema into smspool.connection_types.
 *
 * Each migration runs in a transaction of its own with a lock_timeout, and
 * is tried again with backoff when a lock is not granted in time: changing
 * a large live table must not stall the daemons' statements queued behind
 * it.  Every applied migration's SHA-256 is recorded; a file that changed
 * after it was applied is refused (by migrate and at the daemon's start).
 */
#ifndef SMSPOOL_DB_MIGRATE_H
#define SMSPOOL_DB_MIGRATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>

#include "errbuf.h"
#include "util.h"

/* Applies what is missing; prints one line per applied migration to out
 * (may be NULL).  Returns the number applied, or -1 with err set. */
MUST_CHECK int migrate_apply(PGconn *c, FILE *out, struct errbuf *err);
/* Checks the applied migrations this binary carries against their
 * checksums (fill: record the missing ones, of migrations applied before
 * checksums were kept).  Returns how many of this binary's migrations are
 * not applied yet, or -1 with err set (a changed migration, a database
 * error). */
MUST_CHECK int migrate_check(PGconn *c, bool fill, struct errbuf *err);
/* The version recorded in the database (0 when none), or -1 on error. */
MUST_CHECK int migrate_current(PGconn *c, struct errbuf *err);
/* The newest version this binary carries. */
int migrate_latest(void);

#endif
