/*
 * dialer: how an SMSC client (SMPP, UCP) reaches its peer: the peers in
 * turn (host:port, then the backups), a resolver only when a name is not
 * numeric, one TLS context, and a reconnect timer with backoff after each
 * loss.  The driver keeps its session logic; this keeps the connection's.
 */
#ifndef SMSPOOL_NET_DIALER_H
#define SMSPOOL_NET_DIALER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "errbuf.h"
#include "net/dialer_conf.h"
#include "net/link.h"

struct evdns_base;
struct conn;

struct dialer_opts {
	bool tls;
	const char *tls_ca_file;
	bool tls_verify;
	long long reconnect_min_ms, reconnect_max_ms;
};

/* The dialer_opts of a driver conf pointer p (fields as in dialer_conf.h). */
#define DIALER_OPTS_OF(p)                                                                                              \
	((struct dialer_opts){.tls = (p)->tls,                                                                         \
	                      .tls_ca_file = (p)->tls_ca_file,                                                         \
	                      .tls_verify = (p)->tls_verify,                                                           \
	                      .reconnect_min_ms = (p)->reconnect_min_ms,                                               \
	                      .reconnect_max_ms = (p)->reconnect_max_ms})

struct dialer {
	struct event_base *base;
	struct evdns_base *dns; /* made at the first name to resolve */
	SSL_CTX *ssl_ctx;       /* with tls */
	struct link_backoff backoff;
	struct event *reconnect_ev;
	char host[256]; /* the peer being tried, set by the driver */
	int port;
	char peer[270]; /* host and port for logs and state details (net_addr_format) */
	size_t idx;     /* its index among the driver's peers */
};

/* Sets d up; reconnect(arg) runs when a retry is due.  Returns 0, or -1
 * with err set (a TLS context that cannot be made). */
int dialer_init(struct dialer *d, struct event_base *base, const struct dialer_opts *o, event_callback_fn reconnect,
                void *arg, struct errbuf *err);
/* A link to host:port of d.  Returns it, or NULL with why set. */
struct link *dialer_connect(struct dialer *d, const struct link_opts *o, const struct link_ops *ops, void *arg,
                            char *why, size_t cap);
/* After a loss: the next of npeers peers, and a retry after the backoff's
 * next delay, which it returns. */
uint64_t dialer_retry(struct dialer *d, size_t npeers);
/* The peer to try now (of dc's, at d->idx) into d->host and d->port,
 * logged as <log_prefix>_connecting.  Returns 0, or -1 (a bad entry). */
int dialer_pick(struct dialer *d, const struct dialer_conf *dc, struct conn *c, const char *log_prefix);
/* The session is lost: a retry at the next peer after the backoff, logged
 * as <log_prefix>_session_lost, and the core told (CONN_CONNECTING). */
void dialer_lost(struct dialer *d, const struct dialer_conf *dc, struct conn *c, const char *log_prefix,
                 const char *reason);
/* Connected: the backoff starts again from its minimum. */
void dialer_up(struct dialer *d);
/* No more retries (stopping). */
void dialer_cancel(struct dialer *d);
void dialer_free(struct dialer *d);

#endif
