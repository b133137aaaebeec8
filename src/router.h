/*
 * router: picks the connection for a message from its route candidates
 * (ordered by rule position; rows of one position share load by weight).
 * The first position with a usable connection wins — failover to the next
 * position happens while every connection of a rule is down.
 */
#ifndef SMSPOOL_ROUTER_H
#define SMSPOOL_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"

/* usable(name, ctx) says whether a connection can take messages now.
 * rnd is a uniform random 32-bit number (passed in to keep this pure).
 * Returns the index into m->route, or -1 when no candidate is usable. */
int router_pick(const struct msg *m, bool (*usable)(const char *name, void *ctx), void *ctx, uint32_t rnd);

#endif
