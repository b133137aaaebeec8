/*
 * driver: the one interface between the core and every connection type.
 *
 * A driver is a directory under drivers/ exporting one constant
 * `struct driver_ops`, listed in drivers/registry.c.  The core owns the
 * database, scheduling, routing, windows and throughput limits; a driver only
 * speaks its protocol.  Everything below runs on the loop thread.
 *
 * Rules (a contract test holds every driver to them):
 * - check() MUST NOT do I/O; it validates the parsed settings.
 * - open() MUST NOT block.  It reports progress with core_conn_state(); the
 *   core submits only while the connection is CONN_UP.
 * - submit() lends the message to the driver until it is completed: every
 *   submit MUST get exactly one core_complete(), with msg_set_sent() or
 *   msg_set_failed() called first.  The driver MUST NOT touch the message
 *   after completing it.  submit() MAY complete synchronously.
 * - The core never submits more than the connection's window at once and
 *   keeps to its throughput limit; a driver MAY report MSG_THROTTLED.
 * - Inbound texts go through core_received(), reports through core_report().
 *   When the peer needs an acknowledgement, the driver sets a token and MUST
 *   acknowledge only from acked(…, committed=true); with committed=false it
 *   MUST make the peer send again (negative answer or no answer).
 * - stop() MUST complete every lent message: sent if the peer accepted it,
 *   MSG_RELEASE if it never left, MSG_TEMPORARY if its fate is unknown (it
 *   will be sent again: delivery is at-least-once).  Then it calls
 *   core_stopped(), possibly from within stop().  After
 *   core_stopped() nothing but close() is called, and the driver MUST NOT
 *   call the core again.
 * - close() frees the driver's state; conf is freed by the core.
 */
#ifndef SMSPOOL_DRIVER_H
#define SMSPOOL_DRIVER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "errbuf.h"
#include "msg.h"
#include "settings.h"

enum driver_caps {
	CAP_SEND = 1 << 0,    /* sends messages */
	CAP_RECEIVE = 1 << 1, /* receives texts */
	CAP_REPORTS = 1 << 2, /* receives delivery reports */
	CAP_LISTEN = 1 << 3,  /* accepts peers (server side) */
};

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_UP, CONN_STOPPING };

struct conn;

struct driver_ops {
	const char *name; /* value of connections.type */
	unsigned caps;
	const struct setting *settings;
	size_t conf_size; /* size of the struct the settings fill */
	int (*check)(const void *conf, struct errbuf *err);
	int (*open)(struct conn *c);
	void (*submit)(struct conn *c, struct msg *m);
	void (*stop)(struct conn *c);
	void (*close)(struct conn *c);
	void (*acked)(struct conn *c, uint64_t token, bool committed); /* may be NULL */
};

/* The registry: every driver, ending with NULL. */
extern const struct driver_ops *const driver_registry[];
const struct driver_ops *driver_find(const char *name);

/* What the core offers a driver. */
const char *conn_name(const struct conn *c);
const void *conn_conf(const struct conn *c);
void *conn_driver_data(const struct conn *c);
void conn_set_driver_data(struct conn *c, void *data);
struct event_base *conn_event_base(const struct conn *c);
const char *conn_instance(const struct conn *c);

void core_conn_state(struct conn *c, enum conn_state state, const char *detail);
void core_complete(struct conn *c, struct msg *m);
/* Takes ownership of in / r.  token 0 = no acknowledgement wanted. */
void core_received(struct conn *c, struct inbound *in, uint64_t token);
void core_report(struct conn *c, struct report *r, uint64_t token);
void core_stopped(struct conn *c);

#endif
