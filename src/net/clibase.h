/*
 * clibase: the session layer every client connection over the link layer
 * (smpp, ucp, link) has, once: the dialer (peers in turn with backup_hosts,
 * resolver, TLS context, reconnect with jittered backoff), the session
 * state machine of a connecting client, a tick, the loss of a session
 * (requests drained, messages given back, a retry after the backoff at the
 * next peer), and the stop of the driver contract (drivers/driver.h):
 * nothing new is sent, a bounded wait for the answers and commits still
 * awaited, an optional goodbye (SMPP's unbind), then the session ends and
 * the core is told, exactly once.
 *
 * A connection is one session, or a pair of sessions to the same peer
 * (SMPP's transmitter+receiver, clibase_add_session): dialed together,
 * each with its handshake, up when every handshake is answered, lost
 * together, each saying its goodbye at a stop.
 *
 * The connection's state is one enum, changed only through clibase_set(),
 * whose switch does each state's entry work and logs every transition at
 * debug (<prefix>_state):
 *   DISCONNECTED -> CONNECTING (the links dial) -> HANDSHAKE (every link
 *   connected, the driver's login/hello/bind sent on each; skipped with
 *   no_handshake) -> UP -> GOODBYE (stopping, with ops->goodbye: sent on
 *   each session, whose link ends when answered).
 * The driver keeps its protocol: through ops it gives the link's options
 * and callbacks, sends its handshake and goodbye, says what lent requests
 * become when a session ends, gives back what it holds and says what it
 * still waits for.  It reports each handshake's answer (clibase_ready, or
 * clibase_set(UP) for one session), each goodbye's end (clibase_sess_end)
 * and losses (clibase_lost).  Log events are named after ops->log_prefix
 * ("ucp" -> ucp_state, ucp_connecting, ucp_session_lost,
 * ucp_connect_failed, ucp_tls).
 *
 * Contract (everything on the loop thread):
 * - struct clibase is the FIRST member of the driver's client struct, which
 *   is the arg of ops.  With one session it is also the arg of the link's
 *   callbacks: clibase_link_up and clibase_link_down are the link_ops
 *   on_up and on_down.  Sessions added with clibase_add_session have their
 *   own arg (for the link's callbacks and the per-session ops: start,
 *   handshake, goodbye, drained), and their on_up/on_down call
 *   clibase_sess_up/clibase_sess_down.
 * - A session's link is the driver's *linkp (set at CONNECTING, cleared
 *   when the session ends); the driver only reads it.
 * - ops->drained gets every request still outstanding when a session ends
 *   (link_request_drain), ops->forget those left at close after a forced
 *   stop.  Neither is called for LINK_KEEPALIVE.
 * - After clibase_stop(), core_stopped() is called exactly once: at once
 *   when the connection is not UP, else when ops->busy says nothing is
 *   awaited any more (or after min(response timeout, 5 s)) and, with
 *   ops->goodbye, every session's goodbye is over (or after that bound
 *   again), or when the connection is lost.  No session starts once
 *   stopping.
 */
#ifndef SMSPOOL_NET_CLIBASE_H
#define SMSPOOL_NET_CLIBASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "driver.h"
#include "net/dialer.h"
#include "net/inacks.h"
#include "net/link.h"
#include "net/submits.h"

enum clibase_state { CLIBASE_DISCONNECTED, CLIBASE_CONNECTING, CLIBASE_HANDSHAKE, CLIBASE_UP, CLIBASE_GOODBYE };

enum { CLIBASE_SESS_MAX = 2 };

typedef void (*clibase_drain_fn)(void *arg, uint32_t seq, void *data);

struct clibase_ops {
	const char *log_prefix;
	const char *handshake_name;         /* the HANDSHAKE state in logs: "login", "hello" */
	const char *up_name, *goodbye_name; /* UP and GOODBYE in logs (optional: "up", "goodbye") */
	const struct link_ops *link_ops;
	/* A session starts (arg: the session's): the driver resets its
	 * per-session state and fills o (zeroed; name is set). */
	void (*start)(void *arg, struct link_opts *o);
	/* Send the session's handshake (login, hello, bind).  Returns 0, or
	 * -1 (lost). */
	int (*handshake)(void *arg);
	/* Stopping, once nothing is awaited: send the session's goodbye
	 * (unbind); its answer (or its timeout) ends the session
	 * (clibase_sess_end).  Returns 0, or -1 (the session ends now).  MAY
	 * be NULL (no goodbye phase). */
	int (*goodbye)(void *arg);
	/* UP: the driver logs it and writes the connection's detail. */
	void (*up)(void *arg, char *detail, size_t cap);
	clibase_drain_fn drained, forget; /* drained: arg is the session's */
	/* Give back messages held for sending (MSG_RELEASE).  MAY be NULL. */
	void (*release)(void *arg);
	/* Stopping: answers or commits are still awaited, beyond those of
	 * struct clibase's subs and inacks.  MAY be NULL. */
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

/* One TCP session of the connection. */
struct clibase_sess {
	struct link **linkp; /* the driver's link field */
	void *arg;           /* of its link's callbacks and the per-session ops */
	bool connected;      /* its link is up */
	bool ready;          /* its handshake answered */
};

struct clibase {
	struct conn *c;
	const struct clibase_ops *ops;
	void *arg;
	struct clibase_sess sess[CLIBASE_SESS_MAX];
	int nsess;
	enum clibase_state state;
	uint64_t gen;          /* connections so far (each session's link has the same) */
	bool no_handshake;     /* connected is UP */
	struct dialer_conf dc; /* the peers, reconnect and TLS settings */
	struct dialer dial;    /* the peer being tried, resolver, TLS, backoff */
	uint64_t stop_wait_ms; /* the bound of a stop's wait */
	/* What the driver holds that clibase looks after (optional, set
	 * before clibase_open): parts lent to the peer (a stop waits for
	 * their answers) and the peer's deliveries (a stop waits for their
	 * commits, long texts are handed over every tick, what stays
	 * unanswered is logged when the stop ends; clibase_acked). */
	struct submits *subs;
	struct inacks *inacks;
	struct event *tick_ev;
	bool stopping, stopped;
	uint64_t stop_ms;
};

/* A session of the connection, before clibase_open (the first added is
 * the first dialed): linkp is its link field, arg the arg of its link's
 * callbacks and of the per-session ops. */
void clibase_add_session(struct clibase *b, struct link **linkp, void *arg);
/* Sets b up (the dialer with o's TLS and backoff, the tick), tells the core
 * CONN_CONNECTING and starts the first session.  arg: the driver's client
 * (b its first member); linkp: its link field (when no session was added:
 * one session, with arg).  dc: the driver's peers and
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
/* clibase_open in two steps: init (returns 0, or -1 as clibase_open does)
 * and start (CONN_CONNECTING and the first session); between them a
 * test's session may come from clibase_up_on instead.  Freed by
 * clibase_close. */
int clibase_init(struct clibase *b, struct conn *c, const struct clibase_ops *ops, void *arg, struct link **linkp,
                 const struct dialer_conf *dc, const struct dialer_opts *o, uint64_t response_timeout_ms);
void clibase_start(struct clibase *b);
/* The first session is up on l (an in-memory link made with its link_ops
 * and arg), its handshake done: for tests and fuzz targets. */
void clibase_up_on(struct clibase *b, struct link *l, const char *why);
/* The one place where the connection changes state.  Returns 0, or -1 when
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
/* The same for a session of its own arg (clibase_add_session). */
void clibase_sess_up(struct clibase *b, struct link *l);
void clibase_sess_down(struct clibase *b, struct link *l, const char *reason);
/* The handshake of l's session is answered: UP once every session's is. */
void clibase_ready(struct clibase *b, struct link *l, const char *why);
/* Whether l is a session's link whose handshake is answered, not saying
 * goodbye (it may take the peer's requests). */
bool clibase_sess_ready(const struct clibase *b, const struct link *l);
/* Whether an answer owed by a session of connection gen may still go out
 * on l (the same connection, l's session bound or saying goodbye, l not
 * ended). */
bool clibase_may_answer(const struct clibase *b, const struct link *l, uint64_t gen);
/* l's goodbye is over (answered, timed out): its link ends, and the stop
 * once every session's is.  Outside GOODBYE: the connection is lost. */
void clibase_sess_end(struct clibase *b, struct link *l, const char *why);
/* The driver's stop(): no retries, held messages given back, then a wait
 * (bounded) while ops->busy; state_detail for the core meanwhile. */
void clibase_stop(struct clibase *b, const char *state_detail);
/* A driver_ops acked() for a driver whose data has its struct clibase
 * first, with inacks: the frames answered, and the stop moved on. */
void clibase_acked(struct conn *c, uint64_t token, bool committed);
/* Finishes the stop when it is due (call when an awaited answer came). */
void clibase_stop_progress(struct clibase *b);
/* Frees the link left after a forced stop (its requests to ops->forget),
 * the tick and the dialer. */
void clibase_close(struct clibase *b);

#endif
