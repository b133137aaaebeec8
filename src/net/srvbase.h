/*
 * srvbase: what every server connection over the link layer (ucp-server,
 * link-server) does around its sessions, once: the TLS server context, the
 * listener (retried every 5 s while the address cannot be had), a tick, the
 * table of core calls waiting for answers (net/tokens.h), and the stop:
 * no new sessions, a bounded wait for the core's answers (so that clients
 * get theirs), then every session closed and the core told.
 *
 * The driver keeps its sessions' state machine; the list of sessions is
 * here (struct srvbase_sess heads the driver's session).  Through ops the
 * driver gives its listen options, makes and closes its sessions.  Log events are named
 * after ops->log_prefix ("ucp_server" -> ucp_server_listening, ...).
 */
#ifndef SMSPOOL_NET_SRVBASE_H
#define SMSPOOL_NET_SRVBASE_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "driver.h"
#include "net/link.h"
#include "net/tokens.h"

/* The head of a driver's session struct (its first member): the session
 * list, the id and the peer's address are kept here. */
struct srvbase_sess {
	uint64_t id;
	char peer[80], ip[64];
	struct srvbase_sess *prev, *next;
};

struct srvbase_ops {
	const char *log_prefix;
	const struct link_ops *sess_ops;
	/* A new session on l: the driver's struct (srvbase_sess first), its own
	 * fields set; srvbase sets the head, lists it and logs it. */
	struct srvbase_sess *(*accept)(void *arg, struct link *l);
	/* The listen options (addr, limits, link options) into lo. */
	void (*listen_opts)(void *arg, struct link_listen_opts *lo);
	/* Stopping, after the listener is gone: refuse what waits (optional). */
	void (*stopping)(void *arg);
	/* The stop is over: sess (still listed) closes now. */
	void (*end_sess)(struct srvbase_sess *sess);
	/* At close: frees sess and what it holds (its link too: only after a
	 * forced stop, its requests are forgotten). */
	void (*free_sess)(struct srvbase_sess *sess);
	/* Then the driver stops its own timers (optional). */
	void (*finish)(void *arg);
	/* Every tick (optional): the driver's own deadlines. */
	void (*tick)(void *arg);
};

struct srvbase {
	struct conn *c;
	const struct srvbase_ops *ops;
	void *arg;
	const char *listen; /* for the messages */
	bool tls;
	struct link_listener *ls;
	SSL_CTX *ssl_ctx;
	struct tokens pends; /* core calls waiting for answers */
	struct srvbase_sess *sessions;
	uint64_t next_sess; /* session ids */
	bool stopping, stopped;
	uint64_t stop_ms, listen_retry_ms;
	struct event *tick_ev;
};

/* Sets b up (TLS context when tls, the tick) and listens.  Returns 0, or
 * -1 (logged) when the TLS context cannot be made; b needs no freeing then. */
int srvbase_open(struct srvbase *b, struct conn *c, const struct srvbase_ops *ops, void *arg, const char *listen,
                 bool tls, const char *cert_file, const char *key_file);
/* The driver's stop(): no new sessions, then waits (bounded) for the
 * pending core calls before ops->finish. */
void srvbase_stop(struct srvbase *b, const char *state_detail);
/* Finishes the stop when it is due (call after a pending call is answered). */
void srvbase_stop_progress(struct srvbase *b);
/* Takes sess off the list (the driver frees it). */
void srvbase_unlink(struct srvbase *b, struct srvbase_sess *sess);
/* Frees the listener, the sessions left (ops->free_sess), the pending
 * calls (their values with free), the tick and the TLS context. */
void srvbase_close(struct srvbase *b);

#endif
