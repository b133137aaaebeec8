/*
 * link_int: what link.c (a session: framing, requests, timers, I/O) and
 * link_open.c (connecting, listening, TLS contexts, backoff) share.  Not
 * for drivers: they use net/link.h.
 */
#ifndef SMSPOOL_NET_LINK_INT_H
#define SMSPOOL_NET_LINK_INT_H

#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "net/link.h"

enum { LINK_REFUSE_LOG_INTERVAL_MS = 5000 };

struct req {
	uint32_t seq;
	bool counts;
	void *data;
	uint64_t deadline;
	struct req *hnext, *prev, *next;
};

struct link {
	struct event_base *base;
	const struct link_ops *ops;
	void *arg;
	struct link_opts opts;
	char *name;
	struct link_listener *ls; /* accepted by; NULL when connecting or after the listener is freed */
	struct link *ls_prev, *ls_next;
	struct bufferevent *bev;
	struct event *timer;
	char peer[300], ip[64], host[256];
	bool tls, up, bound, reading, ended, freed, paused, congested, flushing, read_on;
	int busy;
	char *end_reason;
	uint64_t created_ms, last_rx_ms, congested_ms, flush_ms;
	/* requests */
	struct req **buckets;
	size_t nbuckets;
	struct req *head, *tail;
	int nreq, ncount;
	uint32_t next_seq;
	bool keepalive_out;
	int inbound;
};

struct addr_count {
	char ip[64];
	int n;
	struct addr_count *next;
};

struct link_listener {
	struct event_base *base;
	struct evconnlistener *lis;
	struct link_listen_opts opts;
	char *name;
	const struct link_ops *ops;
	link_accept_fn accept;
	void *arg;
	char addr[300];
	struct link *links; /* open links it accepted */
	int nlinks;
	struct addr_count *counts;
	uint64_t refused_log_ms;
	int refused;
};

/* link.c */
struct link *link_new(struct event_base *base, const struct link_opts *opts, const struct link_ops *ops, void *arg);
void link_destroy(struct link *l);
void link_leave(struct link *l);
void link_update_read(struct link *l);
void link_arm(struct link *l);
void link_readcb(struct bufferevent *bev, void *arg);
void link_writecb(struct bufferevent *bev, void *arg);
void link_eventcb(struct bufferevent *bev, short what, void *arg);
/* link_open.c: the link no longer counts for its listener. */
void link_listener_forget(struct link *l);

#endif
