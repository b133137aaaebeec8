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
#include "net/link.h"

struct evdns_base;

struct dialer_opts {
	bool tls;
	const char *tls_ca_file;
	bool tls_verify;
	long long reconnect_min_ms, reconnect_max_ms;
};

struct dialer {
	struct event_base *base;
	struct evdns_base *dns; /* made at the first name to resolve */
	SSL_CTX *ssl_ctx;       /* with tls */
	struct link_backoff backoff;
	struct event *reconnect_ev;
	char host[256]; /* the peer being tried, set by the driver */
	int port;
	size_t idx; /* its index among the driver's peers */
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
/* Connected: the backoff starts again from its minimum. */
void dialer_up(struct dialer *d);
/* No more retries (stopping). */
void dialer_cancel(struct dialer *d);
void dialer_free(struct dialer *d);

#endif
