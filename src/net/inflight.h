/*
 * inflight: the messages a sending driver holds from the core, one request
 * each until it completes them (http's provider calls, email's SMTP mails),
 * and the stop that waits for them: stop lets them finish for up to a grace
 * period, then completes what is left MSG_TEMPORARY (its fate is unknown:
 * at-least-once), reports the connection down and calls core_stopped.
 *
 * The driver puts struct inflight_req first in its own request struct; the
 * list never frees a message, only (through ops->free_req) the request.
 * States: INFLIGHT_OPEN -> INFLIGHT_STOPPING -> INFLIGHT_STOPPED.
 */
#ifndef SMSPOOL_NET_INFLIGHT_H
#define SMSPOOL_NET_INFLIGHT_H

#include <event2/event.h>

#include "driver.h"
#include "msg.h"

enum inflight_state { INFLIGHT_OPEN, INFLIGHT_STOPPING, INFLIGHT_STOPPED };

struct inflight_req {
	struct msg *m; /* lent by the core until completed */
	struct inflight_req *next, *prev;
};

struct inflight_ops {
	const char *name;      /* log events <name>_failed and <name>_stopping */
	const char *lost_text; /* error text of a message the stop cuts off */
	/* Frees the driver's request around r (not its message). */
	void (*free_req)(struct inflight_req *r);
	/* What else the stop waits for (http's callbacks); NULL: nothing. */
	int (*waiting)(void *arg);
	/* The stop is over, before the connection is reported down; may be NULL. */
	void (*stopped)(void *arg);
};

struct inflight {
	struct conn *c;
	const struct inflight_ops *ops;
	void *arg;
	enum inflight_state state;
	struct inflight_req *head; /* doubly linked */
	int n;
	struct event *grace_ev;
};

/* Sets f up, OPEN, for connection c (ops, arg borrowed). */
void inflight_init(struct inflight *f, struct conn *c, const struct inflight_ops *ops, void *arg);
/* At close: frees the requests left (a close without stop) with their
 * messages, and the timer. */
void inflight_free(struct inflight *f);

/* r starts, holding m. */
void inflight_add(struct inflight *f, struct inflight_req *r, struct msg *m);
/* Completes r's message with what msg_set_* recorded (a failure is logged),
 * frees r. */
void inflight_complete(struct inflight *f, struct inflight_req *r);
/* Completes m (never added) as failed, logged. */
void inflight_fail_now(struct inflight *f, struct msg *m, enum msg_outcome o, const char *code, const char *text);

/* stop(): OPEN -> STOPPING; finishes at once when nothing waits, else
 * after grace_ms at most (sooner through inflight_check). */
void inflight_stop(struct inflight *f, long long grace_ms);
/* Something finished: while stopping, the stop ends once nothing waits. */
void inflight_check(struct inflight *f);

#endif
