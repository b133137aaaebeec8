/*
 * pending: the core calls a server-side driver waits for (core_authenticate,
 * core_submit, core_query), by the token handed to the core: a table from
 * token to the driver's data, so that the answer (authenticated, submitted,
 * queried) finds what it answers exactly once.  Tokens are never 0 and
 * never reused within a table.  Chained buckets, doubling with the load:
 * the table holds what sessions wait for, bounded by their windows.
 *
 * Used by drivers/link/server.c; the SMPP and UCP servers keep copies of
 * their own that can move here.
 */
#ifndef SMSPOOL_PENDING_H
#define SMSPOOL_PENDING_H

#include <stddef.h>
#include <stdint.h>

struct pending;

struct pending *pending_new(void);
/* Frees the table, calling fn (when given) on the data of each entry left. */
void pending_free(struct pending *t, void (*fn)(void *data));
/* A new token for data (not NULL). */
uint64_t pending_add(struct pending *t, void *data);
/* The data of token, removed from the table; NULL when it is not there
 * (answered already, or never handed out). */
void *pending_take(struct pending *t, uint64_t token);
size_t pending_count(const struct pending *t);

#endif
