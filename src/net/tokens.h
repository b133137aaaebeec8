/*
 * tokens: the table of calls a driver made to the core and waits for
 * (core_submit, core_authenticate, core_received, core_report): a token
 * (never 0) names the call, its value is what the driver answers once the
 * core does.  One table for the SMPP and UCP clients and servers.
 *
 * Chained buckets keyed by the token; tokens grow by one, so the buckets
 * fill evenly.  Ownership: values are the caller's.
 */
#ifndef SMSPOOL_NET_TOKENS_H
#define SMSPOOL_NET_TOKENS_H

#include <stdint.h>

enum { TOKENS_BUCKETS = 1024 };

struct tokens_node;

struct tokens {
	struct tokens_node *b[TOKENS_BUCKETS];
	uint64_t next;
	int n; /* entries */
};

/* Adds value (not NULL); returns its token. */
uint64_t tokens_add(struct tokens *t, void *value);
/* Removes token and returns its value, or NULL when unknown. */
void *tokens_take(struct tokens *t, uint64_t token);
/* Removes every entry, calling free_value on each value when given. */
void tokens_clear(struct tokens *t, void (*free_value)(void *value));

#endif
