/*
 * clibase: the session layer every client connection over the link layer
 * (ucp, link) has, once: the dialer (peers in turn with backup_hosts,
 * resolver, TLS context, reconnect with jittered backoff), the session
 * state machine of a connecting client, a tick, the loss of a session
 * (requests drained, messages given back, a retry after the backoff at the
 * next peer), and the stop of the driver contract (drivers/driver.h):
 * nothing new is sent, a bounded wait for the answers and commits still
 * awaited, then the session ends and the core is told, exactly once.
 *
 * The session's state is one enum, changed only through clibase_set(),
 * whose switch does each state's entry work and logs every transition at
 * debug (<prefix>_state):
 *   DISCONNECTED -> CONNECTING (the link dials) -> HANDSHAKE (the driver's
 *   login/hello sent; skipped with no_handshake) -> UP.
 * The driver keeps its protocol: through ops it gives the link's options
 * and callbacks, sends its handshake, says what lent requests become when a
 * session ends, gives back what it holds and says what it still waits for.
 * It moves the session to UP (the handshake's answer) and reports losses
 * with clibase_lost().  Log events are named after ops->log_prefix ("ucp"
 * -> ucp_state, ucp_connecting, ucp_session_lost, ucp_connect_failed,
 * ucp_tls).
 *
 * Contract (everything on the loop thread):
 * - struct clibase is the FIRST member of the driver's client struct, which
 *   is the arg of ops and of the link's callbacks: clibase_link_up and
 *   clibase_link_down are the link_ops on_up and on_down.
 * - The session's link is the driver's *linkp (set at CONNECTING, cleared
 *   when the session ends); the driver only reads it.
 * - ops->drained gets every request still outstanding when a session ends
 *   (link_request_drain), ops->forget those left at close after a forced
 *   stop.  Neither is called for LINK_KEEPALIVE.
 * - After clibase_stop(), core_stopped() is called exactly once: at once
 *   when the session is not UP, else when ops->busy says nothing is awaited
 *   any more, or after min(response timeout, 5 s), or when the session is
 *   lost.  No session starts once stopping.
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

enum clibase_state { CLIBASE_DISCONNECTED, CLIBASE_CONNECTING, CLIBASE_HANDSHAKE, CLIBASE_UP };

typedef void (*clibase_drain_fn)(void *arg, uint32_t seq, void *data);

struct clibase_ops {
	const char *log_prefix;
	const char *handshake_name; /* the HANDSHAKE state in logs: "login", "hello" */
	const struct link_ops *link_ops;
	/* A session starts: the driver resets its per-session state and
	 * fills o (zeroed; name is set). */
	void (*start)(void *arg, struct link_opts *o);
	/* Send the handshake (login, hello).  Returns 0, or -1 (lost). */
	int (*handshake)(void *arg);
	/* UP: the driver logs it and writes the connection's detail. */
	void (*up)(void *arg, char *detail, size_t cap);
	clibase_drain_fn drained, forget;
	/* Give back messages held for sending (MSG_RELEASE).  MAY be NULL. */
	void (*release)(void *arg);
	/* Stopping: answers or commits are still awaited.  MAY be NULL. */
	bool (*busy)(void *arg);
	/* Every 200 ms, before a stop moves on.  MAY be NULL. */
	void (*tick)(void *arg);
	/* The stop is over, just before the core hears it (log what stays
	 * unanswered, stop the driver's timers).  MAY be NULL. */
	void (*stopped)(void *arg);
	/* The TLS context is made, before the first session (e.g. a client
	 * certificate).  Returns 0, or -1 with err set.  MAY be NULL. */
	int (*tls_setup)(void *arg, SSL_CTX *ctx, struct errbuf *err);
};

struct clibase {
	struct conn *c;
	const struct clibase_ops *ops;
	void *arg;
	struct link **linkp;
	enum clibase_state state;
	uint64_t gen;          /* sessions so far */
	bool no_handshake;     /* connected is UP */
	struct dialer_conf dc; /* the peers, reconnect and TLS settings */
	struct dialer dial;    /* the peer being tried, resolver, TLS, backoff */
	uint64_t stop_wait_ms; /* the bound of a stop's wait */
	struct event *tick_ev;
	bool stopping, stopped;
	uint64_t stop_ms;
};

/* Sets b up (the dialer with o's TLS and backoff, the tick), tells the core
 * CONN_CONNECTING and starts the first session.  arg: the driver's client
 * (b its first member); linkp: its link field.  dc: the driver's peers and
 * settings (copied; its strings are borrowed from the driver's conf).
 * response_timeout_ms bounds a stop's wait (at most 5 s).  Returns 0, or -1
 * (logged as <log_prefix>_tls) when the TLS context cannot be made; b needs
 * no freeing then. */
int clibase_open(struct clibase *b, struct conn *c, const struct clibase_ops *ops, void *arg, struct link **linkp,
                 const struct dialer_conf *dc, const struct dialer_opts *o, uint64_t response_timeout_ms);
/* clibase_open() for a driver conf pointer p with the settings of
 * dialer_conf.h and response_timeout_s. */
#define CLIBASE_OPEN(b, c, ops, arg, linkp, p)                                                                         \
	clibase_open(b, c, ops, arg, linkp, &DIALER_CONF_OF(p), &DIALER_OPTS_OF(p),                                    \
	             (uint64_t)(p)->response_timeout_s * 1000)
/* The one place where the session changes state.  Returns 0, or -1 when
 * the entry work failed (the caller treats the session as lost). */
int clibase_set(struct clibase *b, enum clibase_state to, const char *why);
/* The session is UP (and, when not stopping, the backoff starts again). */
bool clibase_is_up(const struct clibase *b);
/* The session is lost (reason for logs and the connection's state): ended,
 * messages given back, and a retry after the backoff at the next peer; or,
 * when stopping, the stop is over. */
void clibase_lost(struct clibase *b, const char *reason);
/* link_ops on_up and on_down (arg: the driver's client, b first). */
void clibase_link_up(struct link *l, void *arg);
void clibase_link_down(struct link *l, void *arg, const char *reason);
/* The driver's stop(): no retries, held messages given back, then a wait
 * (bounded) while ops->busy; state_detail for the core meanwhile. */
void clibase_stop(struct clibase *b, const char *state_detail);
/* Finishes the stop when it is due (call when an awaited answer came). */
void clibase_stop_progress(struct clibase *b);
/* Frees the link left after a forced stop (its requests to ops->forget),
 * the tick and the dialer. */
void clibase_close(struct clibase *b);

#endif
