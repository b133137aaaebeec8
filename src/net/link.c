/*
 * link: one TCP/TLS session of a windowed request/response protocol (see
 * link.h for the contract); link_open.c connects and listens.
 *
 * Design: a link wraps one bufferevent.  Reading runs only while nothing
 * holds it (owner pause, congested output, a closing flush, the end); the
 * read loop hands whole frames to the owner one at a time and re-checks
 * after each, because the owner may pause, close or free the link from
 * within.  Callbacks into the owner run with `busy` raised, so link_free()
 * inside one only marks the link, and the outermost callback frees it.  The
 * end of a session is decided in one place, link_end(), which calls
 * on_down once; the bufferevent is released at the next safe point.
 *
 * Requests sit in a hash by sequence number and in a list sorted by
 * deadline (appended at the tail in the usual case of one timeout), so the
 * timer pops expired ones from the head.  One timer per link, re-armed at
 * TICK_FAST_MS while something is timed closely and TICK_SLOW_MS otherwise.
 */
#include "net/link_int.h"

#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "net/addr.h"

const char link_keepalive_marker = 0;

enum {
	TICK_FAST_MS = 100,
	TICK_SLOW_MS = 1000,
	MIN_BUCKETS = 64,
};

static void link_end(struct link *l, const char *reason);

/* ---- the request table ---- */

static void req_unlink(struct link *l, struct req *r)
{
	struct req **pp = &l->buckets[r->seq % l->nbuckets];
	while (*pp != r)
		pp = &(*pp)->hnext;
	*pp = r->hnext;
	if (r->prev)
		r->prev->next = r->next;
	else
		l->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		l->tail = r->prev;
	l->nreq--;
	if (r->counts)
		l->ncount--;
	if (r->data == LINK_KEEPALIVE)
		l->keepalive_out = false;
}

static struct req *req_find(const struct link *l, uint32_t seq)
{
	for (struct req *r = l->buckets[seq % l->nbuckets]; r; r = r->hnext)
		if (r->seq == seq)
			return r;
	return NULL;
}

int link_next_seq(struct link *l, uint32_t *seq)
{
	uint64_t span = (uint64_t)l->opts.seq_max - l->opts.seq_min + 1;
	if ((uint64_t)l->nreq >= span)
		return -1;
	for (uint64_t i = 0; i < span; i++) {
		uint32_t s = l->next_seq;
		l->next_seq = s >= l->opts.seq_max ? l->opts.seq_min : s + 1;
		if (!req_find(l, s)) {
			*seq = s;
			return 0;
		}
	}
	return -1;
}

int link_request_add(struct link *l, uint32_t seq, void *data, uint64_t timeout_ms, bool counts)
{
	if (!data || req_find(l, seq))
		return -1;
	struct req *r = xcalloc(1, sizeof *r);
	r->seq = seq;
	r->data = data;
	r->counts = counts;
	r->deadline = now_mono_ms() + (timeout_ms ? timeout_ms : l->opts.response_timeout_ms);
	unsigned b = seq % l->nbuckets;
	r->hnext = l->buckets[b];
	l->buckets[b] = r;
	struct req *after = l->tail;
	while (after && after->deadline > r->deadline)
		after = after->prev;
	r->prev = after;
	r->next = after ? after->next : l->head;
	if (r->next)
		r->next->prev = r;
	else
		l->tail = r;
	if (after)
		after->next = r;
	else
		l->head = r;
	l->nreq++;
	if (counts)
		l->ncount++;
	if (data == LINK_KEEPALIVE)
		l->keepalive_out = true;
	link_arm(l);
	return 0;
}

void *link_request_take(struct link *l, uint32_t seq)
{
	struct req *r = l ? req_find(l, seq) : NULL;
	if (!r)
		return NULL;
	void *data = r->data;
	req_unlink(l, r);
	free(r);
	return data;
}

void *link_request_find(const struct link *l, uint32_t seq)
{
	struct req *r = l ? req_find(l, seq) : NULL;
	return r ? r->data : NULL;
}

void link_request_drain(struct link *l, void (*fn)(void *owner_arg, uint32_t seq, void *data), void *owner_arg)
{
	struct req *r;
	while ((r = l->head)) {
		uint32_t seq = r->seq;
		void *data = r->data;
		req_unlink(l, r);
		free(r);
		if (data != LINK_KEEPALIVE && fn)
			fn(owner_arg, seq, data);
	}
}

int link_outstanding(const struct link *l)
{
	return l->ncount;
}

int link_window_room(const struct link *l)
{
	return l->ncount >= l->opts.window ? 0 : l->opts.window - l->ncount;
}

bool link_inbound_begin(struct link *l)
{
	if (l->opts.max_inbound > 0 && l->inbound >= l->opts.max_inbound)
		return false;
	l->inbound++;
	return true;
}

void link_inbound_end(struct link *l)
{
	if (l->inbound > 0)
		l->inbound--;
}

int link_inbound(const struct link *l)
{
	return l->inbound;
}

/* ---- life ---- */

static void link_release_bev(struct link *l)
{
	if (l->bev && l->busy == 0) {
		bufferevent_free(l->bev);
		l->bev = NULL;
	}
}

void link_destroy(struct link *l)
{
	link_listener_forget(l);
	if (l->bev)
		bufferevent_free(l->bev);
	event_free(l->timer);
	struct req *r;
	while ((r = l->head)) {
		req_unlink(l, r);
		free(r);
	}
	free(l->buckets);
	free(l->end_reason);
	free(l->name);
	free(l);
}

/* Leaves a callback section: frees what link_free() or link_end() left. */
void link_leave(struct link *l)
{
	if (--l->busy > 0)
		return;
	if (l->freed) {
		link_destroy(l);
		return;
	}
	if (l->ended)
		link_release_bev(l);
}

void link_free(struct link *l)
{
	if (!l || l->freed)
		return;
	l->freed = true;
	if (l->bev)
		bufferevent_disable(l->bev, EV_READ | EV_WRITE);
	if (l->busy == 0)
		link_destroy(l);
}

/* The one place where a session ends; on_down follows at once (or, when
 * the owner is inside a link call, from the timer). */
static void link_end(struct link *l, const char *reason)
{
	if (l->ended || l->freed)
		return;
	l->ended = true;
	l->up = false;
	char *why = xstrdup(reason ? reason : "closed");
	free(l->end_reason);
	l->end_reason = why;
	if (l->bev) {
		bufferevent_disable(l->bev, EV_READ | EV_WRITE);
		bufferevent_setcb(l->bev, NULL, NULL, NULL, NULL);
	}
	link_listener_forget(l);
	log_debug("link_down", "conn=%s peer=%s reason=\"%s\"", l->name, l->peer, l->end_reason);
	l->busy++;
	l->ops->on_down(l, l->arg, l->end_reason);
	link_leave(l);
}

void link_close_flush(struct link *l, const char *reason)
{
	if (!l || l->ended || l->freed || l->flushing)
		return;
	l->flushing = true;
	l->flush_ms = now_mono_ms();
	free(l->end_reason);
	l->end_reason = xstrdup(reason ? reason : "closed");
	link_update_read(l);
	/* Ended from the timer even when nothing is left to write, so that
	 * on_down never runs inside the owner's own call. */
	struct timeval tv = {0, 0};
	event_add(l->timer, &tv);
}

/* ---- reading ---- */

static bool link_read_held(const struct link *l)
{
	return l->paused || l->congested || l->flushing || l->ended || l->freed || !l->up;
}

static void link_bad_stream(struct link *l, const char *reason)
{
	char why[300];
	snprintf(why, sizeof why, "%s", reason);
	log_warn("link_bad_stream", "conn=%s peer=%s reason=\"%s\"", l->name, l->peer, why);
	if (l->ops->on_bad_stream)
		l->ops->on_bad_stream(l, l->arg, why);
	link_close_flush(l, why);
}

/* Hands whole frames to the owner while reading is not held. */
static void link_read_frames(struct link *l)
{
	if (!l->bev || l->reading)
		return; /* the outer loop goes on once the owner returns */
	struct evbuffer *in = bufferevent_get_input(l->bev);
	l->busy++;
	l->reading = true;
	while (!link_read_held(l)) {
		size_t have = evbuffer_get_length(in);
		size_t n = l->ops->frame_min;
		if (have < n)
			break;
		struct errbuf err = {""};
		long fl = l->ops->frame(evbuffer_pullup(in, (ev_ssize_t)n), n, &err);
		if (fl == 0 && have > n) {
			n = have < l->opts.max_frame + 1 ? have : l->opts.max_frame + 1;
			fl = l->ops->frame(evbuffer_pullup(in, (ev_ssize_t)n), n, &err);
		}
		char why[300];
		if (fl < 0) {
			link_bad_stream(l, err.msg[0] ? err.msg : "the stream cannot be framed");
			break;
		}
		if (fl == 0) {
			if (have > l->opts.max_frame) {
				snprintf(why, sizeof why, "no frame within %zu bytes", l->opts.max_frame);
				link_bad_stream(l, why);
			}
			break;
		}
		if ((size_t)fl > l->opts.max_frame) {
			snprintf(why, sizeof why, "a frame of %ld bytes, above the limit of %zu", fl,
			         l->opts.max_frame);
			link_bad_stream(l, why);
			break;
		}
		if ((size_t)fl > have)
			break;
		l->last_rx_ms = now_mono_ms();
		uint8_t *frame = evbuffer_pullup(in, (ev_ssize_t)fl);
		l->ops->on_frame(l, l->arg, frame, (size_t)fl);
		if (l->freed || !l->bev)
			break;
		evbuffer_drain(in, (size_t)fl);
	}
	l->reading = false;
	link_leave(l);
}

void link_update_read(struct link *l)
{
	if (!l->bev || l->freed)
		return;
	bool want = !link_read_held(l);
	if (want && !l->read_on) {
		l->read_on = true;
		bufferevent_enable(l->bev, EV_READ);
		link_read_frames(l); /* what arrived meanwhile */
	} else if (!want && l->read_on) {
		l->read_on = false;
		bufferevent_disable(l->bev, EV_READ);
	}
}

void link_pause(struct link *l, bool paused)
{
	if (!l || l->paused == paused)
		return;
	l->paused = paused;
	link_update_read(l);
}

void link_readcb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	link_read_frames(arg);
}

/* ---- writing ---- */

size_t link_output_len(const struct link *l)
{
	return l->bev && !l->ended ? evbuffer_get_length(bufferevent_get_output(l->bev)) : 0;
}

bool link_congested(const struct link *l)
{
	return l->congested;
}

int link_send(struct link *l, const void *buf, size_t n)
{
	if (!l || !l->bev || l->ended || l->freed)
		return -1;
	size_t have = link_output_len(l);
	if (l->opts.out_max && have + n > l->opts.out_max) {
		log_warn("link_output_full", "conn=%s peer=%s bytes=%zu", l->name, l->peer, have);
		return -1;
	}
	if (bufferevent_write(l->bev, buf, n))
		return -1;
	if (!l->congested && l->opts.out_high && have + n > l->opts.out_high) {
		l->congested = true;
		l->congested_ms = now_mono_ms();
		bufferevent_setwatermark(l->bev, EV_WRITE, l->opts.out_low, 0);
		log_info("link_congested", "conn=%s peer=%s bytes=%zu", l->name, l->peer, have + n);
		link_update_read(l);
	}
	return 0;
}

void link_writecb(struct bufferevent *bev, void *arg)
{
	struct link *l = arg;
	size_t out = evbuffer_get_length(bufferevent_get_output(bev));
	l->busy++;
	if (l->congested && out <= l->opts.out_low) {
		l->congested = false;
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		log_info("link_uncongested", "conn=%s peer=%s", l->name, l->peer);
		if (l->ops->on_writable)
			l->ops->on_writable(l, l->arg);
		link_update_read(l);
	}
	if (!l->freed && l->flushing && !l->ended && link_output_len(l) == 0) {
		char why[300];
		snprintf(why, sizeof why, "%s", l->end_reason);
		link_end(l, why);
	}
	link_leave(l);
}

/* ---- events ---- */

void link_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct link *l = arg;
	l->busy++;
	if (what & BEV_EVENT_CONNECTED) {
		int fd = (int)bufferevent_getfd(bev);
		int one = 1;
		if (fd >= 0)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		l->up = true;
		l->last_rx_ms = now_mono_ms();
		log_debug("link_up", "conn=%s peer=%s tls=%s", l->name, l->peer, l->tls ? "yes" : "no");
		link_update_read(l);
		if (!l->freed && !l->ended && l->ops->on_up)
			l->ops->on_up(l, l->arg);
	} else if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		char why[400];
		int dns = bufferevent_socket_get_dns_error(bev);
		unsigned long ssl_err = l->tls ? bufferevent_get_openssl_error(bev) : 0;
		if (dns)
			snprintf(why, sizeof why, "cannot resolve %s: %s", l->host, evutil_gai_strerror(dns));
		else if (ssl_err)
			snprintf(why, sizeof why, "TLS with %s failed: %s", l->peer,
			         ERR_reason_error_string(ssl_err) ? ERR_reason_error_string(ssl_err) : "unknown");
		else if (what & BEV_EVENT_EOF)
			snprintf(why, sizeof why, "%s closed the connection", l->peer);
		else
			snprintf(why, sizeof why, "%s: %s", l->peer,
			         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		ERR_clear_error();
		link_end(l, why);
	}
	link_leave(l);
}

void link_arm(struct link *l)
{
	if (l->freed || l->ended || event_pending(l->timer, EV_TIMEOUT, NULL))
		return;
	bool close = l->nreq > 0 || l->flushing || l->congested || !l->up;
	struct timeval tv = {0, (close ? TICK_FAST_MS : TICK_SLOW_MS) * 1000};
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec = tv.tv_usec / 1000000;
		tv.tv_usec %= 1000000;
	}
	event_add(l->timer, &tv);
}

static void link_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct link *l = arg;
	const struct link_opts *o = &l->opts;
	uint64_t now = now_mono_ms();
	l->busy++;
	if (l->ended)
		goto out;
	if (l->flushing) {
		if (link_output_len(l) == 0 || now - l->flush_ms > o->response_timeout_ms) {
			char why[300];
			snprintf(why, sizeof why, "%s", l->end_reason);
			link_end(l, why);
		}
		goto out;
	}
	if (!l->up) {
		if (now - l->created_ms > o->response_timeout_ms)
			link_end(l, "connect timeout");
		goto out;
	}
	while (l->head && l->head->deadline <= now && !l->freed && !l->ended) {
		struct req *r = l->head;
		uint32_t seq = r->seq;
		void *data = r->data;
		req_unlink(l, r);
		free(r);
		if (data == LINK_KEEPALIVE)
			link_end(l, "keepalive timeout");
		else if (l->ops->on_timeout)
			l->ops->on_timeout(l, l->arg, seq, data);
		else
			link_end(l, "response timeout");
	}
	if (l->freed || l->ended || l->flushing)
		goto out;
	if (l->congested && o->stuck_ms && now - l->congested_ms > o->stuck_ms) {
		link_end(l, "the peer does not read");
		goto out;
	}
	if (o->idle_timeout_ms && now - l->last_rx_ms > o->idle_timeout_ms) {
		link_end(l, "inactivity timeout");
		goto out;
	}
	if (l->ls && !l->bound && o->unbound_timeout_ms && now - l->created_ms > o->unbound_timeout_ms) {
		link_end(l, "unbound timeout");
		goto out;
	}
	if (l->bound && l->ops->on_keepalive && o->keepalive_ms && !l->keepalive_out &&
	    now - l->last_rx_ms >= o->keepalive_ms) {
		uint32_t seq;
		if (link_next_seq(l, &seq) == 0 && link_request_add(l, seq, LINK_KEEPALIVE, 0, false) == 0 &&
		    l->ops->on_keepalive(l, l->arg, seq) != 0 && !l->freed)
			(void)link_request_take(l, seq);
	}
out:
	if (!l->freed)
		link_arm(l);
	link_leave(l);
}

struct link *link_new(struct event_base *base, const struct link_opts *opts, const struct link_ops *ops, void *arg)
{
	struct link *l = xcalloc(1, sizeof *l);
	l->base = base;
	l->opts = *opts;
	l->opts.name = NULL;
	l->name = xstrdup(opts->name ? opts->name : "-");
	l->ops = ops;
	l->arg = arg;
	if (!l->opts.seq_max)
		l->opts.seq_max = 0x7FFFFFFF;
	if (l->opts.seq_min > l->opts.seq_max)
		l->opts.seq_min = l->opts.seq_max;
	if (!l->opts.max_frame)
		l->opts.max_frame = 65536;
	if (!l->opts.response_timeout_ms)
		l->opts.response_timeout_ms = 30000;
	if (l->opts.out_low > l->opts.out_high)
		l->opts.out_low = l->opts.out_high / 4;
	l->next_seq = l->opts.seq_min;
	size_t nb = MIN_BUCKETS;
	while (nb < (size_t)(l->opts.window > 0 ? l->opts.window : 1) * 2 && nb < 65536)
		nb *= 2;
	l->nbuckets = nb;
	l->buckets = xcalloc(nb, sizeof *l->buckets);
	l->created_ms = l->last_rx_ms = now_mono_ms();
	l->timer = evtimer_new(base, link_tick, l);
	return l;
}

/* ---- accessors ---- */

void link_set_bound(struct link *l)
{
	if (l)
		l->bound = true;
}

const char *link_peer(const struct link *l)
{
	return l->peer;
}

const char *link_peer_ip(const struct link *l)
{
	return l->ip;
}

bool link_is_tls(const struct link *l)
{
	return l->tls;
}

uint64_t link_last_rx_ms(const struct link *l)
{
	return l->last_rx_ms;
}
