/*
 * srvbase: what every server connection over the link layer (ucp-server,
 * link-server) does around its sessions, once: the TLS server context, the
 * listener (retried every 5 s while the address cannot be had), a tick, the
 * table of core calls waiting for answers (net/tokens.h), and the stop:
 * no new sessions, a bounded wait for the core's answers (so that clients
 * get theirs), then every session closed and the core told.
 *
 * The driver keeps its sessions' state machine; the list of sessions is
 * here (struct srvbase_sess heads the driver's session), with what every
 * session needs the same way: its core calls waiting for answers (a closed
 * session is freed only after the last), the link's on_down, and its reap.
 * Through ops the driver gives its listen options, sets up and closes its
 * sessions.  Log events are named after ops->log_prefix ("ucp_server" ->
 * ucp_server_listening, ...).
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
	int npend; /* core calls waiting for answers (srvbase_pend_add) */
	struct srvbase *base;
	struct srvbase_sess *prev, *next;
};

struct srvbase_ops {
	const char *log_prefix;
	const struct link_ops *sess_ops;
	/* The size of the driver's session struct (srvbase_sess first). */
	size_t sess_size;
	/* A new session h (zeroed, sess_size bytes) on l: the driver sets its
	 * own fields; srvbase sets the head, lists it and logs it. */
	void (*accept)(void *arg, struct srvbase_sess *h, struct link *l);
	/* The listen options (addr, limits, link options) into lo. */
	void (*listen_opts)(void *arg, struct link_listen_opts *lo);
	/* Stopping, after the listener is gone: refuse what waits (optional). */
	void (*stopping)(void *arg);
	/* sess (still listed) closes now (its link ended, or the stop is
	 * over: reason "stopped"); MAY find it closed already. */
	void (*end_sess)(struct srvbase_sess *sess, const char *reason);
	/* A closed session without pending calls, or at close: frees sess and
	 * what it holds (its link too: only after a forced stop, its requests
	 * are forgotten). */
	void (*free_sess)(struct srvbase_sess *sess);
	/* Then the driver stops its own timers (optional). */
	void (*finish)(void *arg);
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
/* A closed session (closed: the driver's state says so) is unlisted and
 * freed (ops->free_sess) once no core call of it waits. */
void srvbase_reap(struct srvbase *b, struct srvbase_sess *sess, bool closed);
/* A core call of sess waits for its answer: data (the driver's, freed with
 * free() if never answered) under the token returned. */
uint64_t srvbase_pend_add(struct srvbase *b, struct srvbase_sess *sess, void *data);
/* The answer came: the data of token (NULL when unknown), no longer counted
 * against its session (reap it after). */
void *srvbase_pend_take(struct srvbase *b, uint64_t token);
/* The link_ops on_down of every session (arg: the driver's session). */
void srvbase_link_down(struct link *l, void *arg, const char *reason);
/* Frees the listener, the sessions left (ops->free_sess), the pending
 * calls (their values with free), the tick and the TLS context. */
void srvbase_close(struct srvbase *b);

#endif
