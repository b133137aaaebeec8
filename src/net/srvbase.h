/*
 * srvbase: what every server connection over the link layer (ucp-server,
 * link-server, smpp-server) does around its sessions, once: the TLS server
 * context, the listeners (a plain or TLS one, and an optional second one
 * always TLS; retried every 5 s while an address cannot be had), a tick,
 * the table of core calls waiting for answers (net/tokens.h), and the
 * stop: no new sessions, the driver's goodbye phase (ops->stop_busy: SMPP
 * unbinds), a bounded wait for the core's answers (so that clients get
 * theirs), then every session closed and the core told.
 *
 * The sessions' state machine is here too (srvbase_sess_set: OPEN -> AUTH
 * (the core asked) -> BOUND -> CLOSED, one switch, every transition logged
 * at debug), with the account's bind and unbind (net/accounts.h) and the
 * link's teardown; the end of every session of an account whose access
 * changed (srvbase_revoke: one loop for every server type); the driver adds what its protocol does on entering a
 * state (ops->enter).  The list of sessions is here (struct srvbase_sess
 * heads the driver's session), with what every session needs the same
 * way: its allocation (owner and link set), its core calls waiting for
 * answers (a closed session is freed only after the last), the link's
 * on_down, its reap and free.  The listen and link
 * options come from the settings every server has (struct srvbase_conf)
 * and the protocol's constants in ops.  Through ops the driver closes its
 * sessions and frees what it holds in them.  Log events are named after
 * ops->log_prefix ("ucp_server" -> ucp_server_listening, ...).
 */
#ifndef SMSPOOL_NET_SRVBASE_H
#define SMSPOOL_NET_SRVBASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "driver.h"
#include "net/accounts.h"
#include "net/link.h"
#include "net/tokens.h"

/* A session's state (srvbase_sess_set). */
enum srvbase_state { SRVBASE_OPEN, SRVBASE_AUTH, SRVBASE_BOUND, SRVBASE_CLOSED };

/* The head of a driver's session struct (its first member): the session
 * list, the id, the peer's address, the state, the link and the account
 * are kept here. */
struct srvbase_sess {
	uint64_t id;
	char peer[80], ip[64];
	enum srvbase_state state;
	struct link *link;          /* NULL once closed */
	char login[130];            /* the account the client names, "" before */
	struct accounts_acct *acct; /* set by the driver once authenticated */
	int npend;                  /* core calls waiting for answers (srvbase_pend_add) */
	bool revoked;               /* ending: its account changed (srvbase_revoke) */
	struct srvbase *base;
	struct srvbase_sess *prev, *next;
};

/* The settings every server connection has, under these names in its conf
 * struct (listen_conf.h's rows, the session limits and timeouts);
 * unbound_timeout_s is the driver's login_timeout_s, hello_timeout_s. */
struct srvbase_conf {
	const char *listen;
	bool tls;
	const char *tls_listen; /* a second listener, always TLS (optional) */
	const char *tls_cert_file, *tls_key_file;
	long long max_sessions, max_per_address;
	long long response_timeout_s, inactivity_timeout_s, unbound_timeout_s, window;
};

/* The struct srvbase_conf of a driver conf pointer p (its unbound timeout
 * in field unbound). */
#define SRVBASE_CONF_OF(p, unbound)                                                                                    \
	((struct srvbase_conf){.listen = (p)->listen,                                                                  \
	                       .tls = (p)->tls,                                                                        \
	                       .tls_cert_file = (p)->tls_cert_file,                                                    \
	                       .tls_key_file = (p)->tls_key_file,                                                      \
	                       .max_sessions = (p)->max_sessions,                                                      \
	                       .max_per_address = (p)->max_per_address,                                                \
	                       .response_timeout_s = (p)->response_timeout_s,                                          \
	                       .inactivity_timeout_s = (p)->inactivity_timeout_s,                                      \
	                       .unbound_timeout_s = (p)->unbound,                                                      \
	                       .window = (p)->window})

/* The sess_* fields of srvbase_ops for session struct T, whose owner
 * field is named owner. */
#define SRVBASE_SESS(T, owner) .sess_size = sizeof(T), .sess_owner = offsetof(T, owner)

struct srvbase_ops {
	const char *log_prefix;
	const struct link_ops *sess_ops;
	/* The protocol's link options (max_frame, the sequence range,
	 * max_inbound, out_high/out_low); srvbase sets the rest from its
	 * srvbase_conf (name, timeouts, window, stuck_ms = inactivity). */
	struct link_opts link;
	/* The driver's session struct (srvbase_sess first): its size, and
	 * where it keeps its owner (arg) (SRVBASE_SESS). */
	size_t sess_size, sess_owner;
	/* The names of the states in logs (OPEN, AUTH, BOUND, CLOSED), and the
	 * name of the login in the closed log line ("login", "account"). */
	const char *state_names[4];
	const char *login_key;
	/* sess enters state to (from from), after the account's bind or
	 * unbind and before the link's teardown at CLOSED: what the protocol
	 * does then (optional). */
	void (*enter)(struct srvbase_sess *sess, enum srvbase_state from, enum srvbase_state to);
	/* link_request_drain callback of a closing session (arg: the driver's
	 * arg): its requests' data fail. */
	void (*drained)(void *arg, uint32_t seq, void *data);
	/* Whether a new session may be accepted now (optional: yes). */
	bool (*admit)(void *arg);
	/* A new session h on l, zeroed but for the head, owner and link: the
	 * driver sets its own fields (optional). */
	void (*accept)(void *arg, struct srvbase_sess *h, struct link *l);
	/* Accepted sessions are logged at debug (a flood of hostile clients
	 * must not flood the log). */
	bool quiet;
	/* Changes to the listen options srvbase made (optional). */
	void (*listen_opts)(void *arg, struct link_listen_opts *lo);
	/* Stopping, after the listeners are gone: refuse what waits (optional). */
	void (*stopping)(void *arg);
	/* The stop's goodbye phase, called as the stop goes on: true while
	 * sessions are still saying goodbye (optional). */
	bool (*stop_busy)(void *arg);
	/* Frees the data of a core call never answered, at close (optional:
	 * free()); its session is still there. */
	void (*pend_free)(void *data);
	/* sess (still listed) closes now (its link ended, or the stop is
	 * over: reason "stopped"); MAY find it closed already (optional: by
	 * default srvbase_sess_set(sess, SRVBASE_CLOSED, reason)). */
	void (*end_sess)(struct srvbase_sess *sess, const char *reason);
	/* A closed session without pending calls, or at close: frees what
	 * sess holds (optional), its link too if it wants; srvbase then frees
	 * the link left (only after a forced stop: its requests are forgotten)
	 * and sess. */
	void (*free_sess)(struct srvbase_sess *sess);
	/* sess, logged in as an account whose access changed in the database,
	 * says the protocol's goodbye and ends (SMPP: an unbind, then the
	 * close; link: an error frame, then the close).  Returns false when
	 * sess is ending already for another reason (nothing done).  MUST NOT
	 * free sess (the link's on_down never runs inside a link call).
	 * Optional: the link is closed once what was written is flushed (EMI
	 * has no goodbye from the SMSC). */
	bool (*revoke)(struct srvbase_sess *sess);
	/* Then the driver stops its own timers (optional). */
	void (*finish)(void *arg);
	/* Every tick (optional): the driver's own deadlines. */
	void (*tick)(void *arg);
};

struct srvbase {
	struct conn *c;
	const struct srvbase_ops *ops;
	void *arg;
	struct accounts *accts; /* the driver's: bound sessions take its deliveries */
	struct srvbase_conf conf;
	struct link_listener *ls[2]; /* listen, tls_listen */
	bool up;                     /* every listener open */
	SSL_CTX *ssl_ctx;
	struct tokens pends; /* core calls waiting for answers */
	struct srvbase_sess *sessions;
	uint64_t next_sess; /* session ids */
	bool stopping, stopped;
	uint64_t stop_ms, listen_retry_ms;
	struct event *tick_ev;
};

/* Sets b up (TLS context when sc->tls or sc->tls_listen, the tick) and
 * listens.  sc is copied (its strings are borrowed from the driver's
 * conf), accts is the driver's.  Returns 0, or -1 (logged) when the TLS
 * context cannot be made; b needs no freeing then. */
int srvbase_open(struct srvbase *b, struct conn *c, const struct srvbase_ops *ops, void *arg, struct accounts *accts,
                 const struct srvbase_conf *sc);
/* srvbase_open without TLS and listeners (a test's sessions come from
 * srvbase_sess_add on in-memory links); freed by srvbase_close. */
void srvbase_init(struct srvbase *b, struct conn *c, const struct srvbase_ops *ops, void *arg, struct accounts *accts,
                  const struct srvbase_conf *sc);
/* Lists a new session on l, as an accepted one; mem is its zeroed
 * ops->sess_size bytes (NULL: allocated here). */
struct srvbase_sess *srvbase_sess_add(struct srvbase *b, void *mem, struct link *l);
/* The driver's stop(): no new sessions, then waits (bounded) for the
 * pending core calls before ops->finish. */
void srvbase_stop(struct srvbase *b, const char *state_detail);
/* A driver_ops stop() for a driver whose data has its struct srvbase first. */
void srvbase_conn_stop(struct conn *c);
/* The access of account ("" = every account) changed in the database:
 * every session logged in as it (an account set, not closed, not revoked
 * already) ends through ops->revoke, logged <prefix>_revoked, so that its
 * client logs in again under the new rules.  Sessions still waiting for
 * their login's answer are left to that answer (a yes the database gave
 * under the old rules is asked again by the core: auth_revoke).  Returns
 * how many ended. */
int srvbase_revoke(struct srvbase *b, const char *account);
/* A driver_ops account_revoked() for a driver whose data has its struct
 * srvbase first. */
void srvbase_conn_account_revoked(struct conn *c, const char *account);
/* Finishes the stop when it is due (call after a pending call is answered). */
void srvbase_stop_progress(struct srvbase *b);
/* Takes sess off the list (the driver frees it). */
void srvbase_unlink(struct srvbase *b, struct srvbase_sess *sess);
/* A closed session is unlisted and freed (ops->free_sess) once no core
 * call of it waits. */
void srvbase_reap(struct srvbase_sess *sess);
/* The session's state machine: sess goes to state to (why: logged).
 * BOUND: the link is bound and the session takes its account's
 * deliveries; CLOSED: a bound account is unbound, ops->enter, the link's
 * requests drained (ops->drained) and the link freed, the session logged
 * closed and reaped. */
void srvbase_sess_set(struct srvbase_sess *sess, enum srvbase_state to, const char *why);
/* A core call of sess waits for its answer: data (the driver's, freed with
 * free() if never answered) under the token returned. */
uint64_t srvbase_pend_add(struct srvbase *b, struct srvbase_sess *sess, void *data);
/* The answer came: the data of token (NULL when unknown), no longer counted
 * against its session (reap it after). */
void *srvbase_pend_take(struct srvbase *b, uint64_t token);
/* The link_ops on_down of every session (arg: the driver's session). */
void srvbase_link_down(struct link *l, void *arg, const char *reason);
/* Frees the listeners, the pending calls (their values with
 * ops->pend_free or free), the sessions left (ops->free_sess), the tick
 * and the TLS context. */
void srvbase_close(struct srvbase *b);
/* A driver_ops close() for a driver whose data (malloc'ed) has its struct
 * srvbase first and nothing else to free but its accounts. */
void srvbase_conn_close(struct conn *c);

#endif
