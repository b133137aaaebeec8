/*
 * clibase: what every client connection over the link layer (ucp, link;
 * the SMPP client's lifecycle has the same shape) does around its session,
 * once: the dialer (peers in turn with backup_hosts, resolver, TLS context,
 * reconnect with jittered backoff), a tick, the loss of a session (messages
 * given back, a retry after the backoff), and the stop of the driver
 * contract (drivers/driver.h): nothing new is sent, a bounded wait for the
 * answers and commits still awaited, then the session ends and the core is
 * told, exactly once.
 *
 * The driver keeps its session state machine (one enum, one switch) and its
 * link; through ops it starts and ends the session, gives back what it
 * holds and says what it still waits for.  The driver's UP entry work calls
 * clibase_up().  Log events are named after ops->log_prefix ("ucp" ->
 * ucp_connecting, ucp_session_lost, ucp_connect_failed, ucp_tls).
 *
 * Contract (everything on the loop thread):
 * - ops->connect runs when a session is due (at open, after a backoff),
 *   never while stopping; ops->disconnect whenever the session must end
 *   (lost, stopped), possibly when it has already ended: it MUST then do
 *   nothing.  Neither is called after the stop is over.
 * - After clibase_stop(), core_stopped() is called exactly once: at once
 *   when no session is up, else when ops->busy says nothing is awaited any
 *   more, or after min(response timeout, 5 s), or when the session is lost.
 */
#ifndef SMSPOOL_NET_CLIBASE_H
#define SMSPOOL_NET_CLIBASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "driver.h"
#include "net/dialer.h"
#include "net/link.h"

struct clibase_ops {
	const char *log_prefix;
	/* Start a session to b->dial.host:port (the driver's CONNECTING
	 * entry, usually through clibase_dial()).  Returns 0, or -1 (the
	 * session counts as lost). */
	int (*connect)(void *arg);
	/* End the session, if any (the driver's DISCONNECTED entry). */
	void (*disconnect)(void *arg, const char *reason);
	/* Give back messages held for sending (MSG_RELEASE).  MAY be NULL. */
	void (*release)(void *arg);
	/* Stopping: answers or commits are still awaited.  MAY be NULL. */
	bool (*busy)(void *arg);
	/* Every 200 ms, before a stop moves on.  MAY be NULL. */
	void (*tick)(void *arg);
	/* The stop is over, just before the core hears it (log what stays
	 * unanswered, stop the driver's timers).  MAY be NULL. */
	void (*stopped)(void *arg);
};

struct clibase {
	struct conn *c;
	const struct clibase_ops *ops;
	void *arg;
	struct dialer_conf dc; /* the peers, reconnect and TLS settings */
	struct dialer dial;    /* the peer being tried, resolver, TLS, backoff */
	uint64_t stop_wait_ms; /* the bound of a stop's wait */
	struct event *tick_ev;
	bool up; /* between clibase_up() and the session's end */
	bool stopping, stopped;
	uint64_t stop_ms;
};

/* Sets b up (the dialer with o's TLS and backoff, the tick), tells the core
 * CONN_CONNECTING and starts the first session.  dc: the driver's peers and
 * settings (copied; its strings are borrowed from the driver's conf).
 * response_timeout_ms bounds a stop's wait (at most 5 s).  Returns 0, or -1
 * (logged as <log_prefix>_tls) when the TLS context cannot be made; b needs
 * no freeing then. */
int clibase_open(struct clibase *b, struct conn *c, const struct clibase_ops *ops, void *arg,
                 const struct dialer_conf *dc, const struct dialer_opts *o, uint64_t response_timeout_ms);
/* A link to the peer being tried (for ops->connect): NULL, logged as
 * <log_prefix>_connect_failed, when nothing could be started. */
struct link *clibase_dial(struct clibase *b, const struct link_opts *o, const struct link_ops *ops, void *arg);
/* The session is up: the backoff starts again from its minimum, and the
 * core is told CONN_UP with detail. */
void clibase_up(struct clibase *b, const char *detail);
/* The session is lost (reason for logs and the connection's state): ended,
 * messages given back, and a retry after the backoff at the next peer; or,
 * when stopping, the stop is over. */
void clibase_lost(struct clibase *b, const char *reason);
/* The link ended (its on_down): lost, with the session's state named. */
void clibase_down(struct clibase *b, const char *reason, const char *state_name);
/* The driver's stop(): no retries, held messages given back, then a wait
 * (bounded) while ops->busy; state_detail for the core meanwhile. */
void clibase_stop(struct clibase *b, const char *state_detail);
/* Finishes the stop when it is due (call when an awaited answer came). */
void clibase_stop_progress(struct clibase *b);
/* Ends a link the driver holds in *lp (NULL is fine): its outstanding
 * requests go to drained (MAY be NULL), then it is freed and *lp cleared. */
void clibase_link_end(struct link **lp, void (*drained)(void *arg, uint32_t seq, void *data), void *arg);
/* Frees the tick and the dialer (the driver frees its link first). */
void clibase_close(struct clibase *b);

#endif
