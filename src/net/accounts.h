/*
 * accounts: the accounts of an SMSC server (SMPP, UCP) and their sessions
 * that take deliveries (reports, inbound texts).  An account event the core
 * hands to deliver() goes to one of the account's sessions that has room,
 * round robin, or waits here (bounded) until one has; it gets exactly one
 * core_event_done(): true when every frame of it was acknowledged.  With no
 * session left every waiting event goes back to the database.
 *
 * A session is the driver's (void *); the driver says through ops whether
 * one can take more and sends an event's frames.
 */
#ifndef SMSPOOL_NET_ACCOUNTS_H
#define SMSPOOL_NET_ACCOUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include "driver.h"

struct accounts_acct {
	char *name;
	int max_binds;
	double throughput;
	void **rx; /* sessions that take deliveries */
	int nrx, caprx;
	unsigned rr;
	/* Events waiting for room in a session's window: held here, not given
	 * back, so that a busy client gets its receipts as soon as it answers
	 * rather than after the database's retry backoff. */
	struct account_event *wait_head, *wait_tail;
	int nwait;
	struct accounts_acct *next;
};

struct accounts;

struct accounts_ops {
	/* Whether sess can take one more event now. */
	bool (*can_take)(void *sess, void *arg);
	/* Sends ev on sess (which can take it); the driver answers it through
	 * accounts_part_answer or accounts_refuse. */
	void (*deliver)(struct accounts *as, void *sess, struct accounts_acct *a, struct account_event *ev, void *arg);
};

struct accounts {
	struct conn *c;
	const struct accounts_ops *ops;
	void *arg;
	int wait_per_session; /* events held per session before they go back */
	bool stopping;
	int nparts; /* frames of events in flight */
	struct accounts_acct *head;
};

/* An event being delivered in nparts frames. */
struct accounts_dlv {
	struct account_event *ev;
	int nparts, answered;
	bool failed;
};

/* One frame of a delivery waiting for its answer. */
struct accounts_part {
	struct accounts_dlv *d;
	void *sess;
	uint32_t seq;
};

struct accounts_acct *accounts_find(struct accounts *as, const char *name);
/* The account of info (created at its first session), limits updated. */
struct accounts_acct *accounts_get(struct accounts *as, const struct account_info *info);
/* sess takes a's deliveries from now on (attaches a at the first). */
void accounts_add_rx(struct accounts *as, struct accounts_acct *a, void *sess);
/* sess is gone (detaches a at the last, refusing what waits). */
void accounts_remove_rx(struct accounts *as, struct accounts_acct *a, void *sess);
/* Delivers waiting events while a session has room, oldest first. */
void accounts_drain(struct accounts *as, struct accounts_acct *a);
/* The driver's deliver(): sends, holds or refuses ev. */
void accounts_deliver(struct accounts *as, struct account_event *ev);
/* ev is not delivered: core_event_done(false) and freed. */
void accounts_refuse(struct accounts *as, struct account_event *ev);
/* Stopping: refuses every waiting event, holds nothing from now on. */
void accounts_stop(struct accounts *as);
/* Frees everything (at close; waiting events are freed unanswered). */
void accounts_free(struct accounts *as);

/* The frames of ev: n parts, each registered by the driver. */
struct accounts_part **accounts_dlv_new(struct accounts *as, struct account_event *ev, void *sess, int n);
/* One frame answered (ok) or given up; frees p; the event is done after
 * its last frame. */
void accounts_part_answer(struct accounts *as, struct accounts_part *p, bool ok);
/* Frees p without answering (at close, after a forced stop). */
void accounts_part_forget(struct accounts *as, struct accounts_part *p);

#endif
