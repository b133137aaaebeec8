/*
 * clibase: dialer, the connection's state machine over one session or a
 * pair, tick, session loss with reconnect, and the bounded stop (with its
 * goodbye phase) of a client connection over the link layer (see
 * clibase.h).
 */
#include "net/clibase.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "util.h"

enum {
	TICK_MS = 200,
	STOP_WAIT_MAX_MS = 5000, /* for the peer's answers and the database's commits at a stop */
};

static void ev_name(const struct clibase *b, const char *what, char *out, size_t cap)
{
	snprintf(out, cap, "%s_%s", b->ops->log_prefix, what);
}

static const char *state_name(const struct clibase *b, enum clibase_state s)
{
	static const char *const names[] = {"disconnected", "connecting", "handshake", "up", "goodbye"};
	if (s == CLIBASE_HANDSHAKE)
		return b->ops->handshake_name;
	if (s == CLIBASE_UP && b->ops->up_name)
		return b->ops->up_name;
	if (s == CLIBASE_GOODBYE && b->ops->goodbye_name)
		return b->ops->goodbye_name;
	return names[s];
}

/* The index of l's session, or -1. */
static int sess_of(const struct clibase *b, const struct link *l)
{
	for (int i = 0; l && i < b->nsess; i++)
		if (*b->sess[i].linkp == l)
			return i;
	return -1;
}

/* Ends session i's link: what it still has outstanding goes to fn. */
static void drop_link(struct clibase *b, int i, clibase_drain_fn fn, void *arg)
{
	struct link *l = *b->sess[i].linkp;
	b->sess[i].connected = b->sess[i].ready = false;
	if (!l)
		return;
	link_request_drain(l, fn, arg);
	*b->sess[i].linkp = NULL;
	link_free(l);
}

static int links_left(const struct clibase *b)
{
	int n = 0;
	for (int i = 0; i < b->nsess; i++)
		n += *b->sess[i].linkp != NULL;
	return n;
}

static int dial(struct clibase *b, int i)
{
	char why[300], q[350], name[64];
	struct link_opts o = {.name = conn_name(b->c)};
	b->ops->start(b->sess[i].arg, &o);
	*b->sess[i].linkp = dialer_connect(&b->dial, &o, b->ops->link_ops, b->sess[i].arg, why, sizeof why);
	if (*b->sess[i].linkp)
		return 0;
	ev_name(b, "connect_failed", name, sizeof name);
	log_warn(name, "conn=%s error=%s", conn_name(b->c), log_quote(why, q, sizeof q));
	return -1;
}

int clibase_set(struct clibase *b, enum clibase_state to, const char *why)
{
	char q[300], name[64];
	ev_name(b, "state", name, sizeof name);
	log_debug(name, "conn=%s gen=%" PRIu64 " from=%s to=%s why=%s", conn_name(b->c), b->gen,
	          state_name(b, b->state), state_name(b, to), log_quote(why ? why : "", q, sizeof q));
	b->state = to;
	switch (to) {
	case CLIBASE_DISCONNECTED:
		for (int i = 0; i < b->nsess; i++)
			drop_link(b, i, b->ops->drained, b->sess[i].arg);
		return 0;
	case CLIBASE_CONNECTING:
		b->gen++;
		for (int i = 0; i < b->nsess; i++)
			if (dial(b, i))
				return -1;
		return 0;
	case CLIBASE_HANDSHAKE:
		for (int i = 0; i < b->nsess; i++)
			if (b->ops->handshake(b->sess[i].arg))
				return -1;
		return 0;
	case CLIBASE_UP: {
		char detail[300];
		for (int i = 0; i < b->nsess; i++) {
			b->sess[i].ready = true;
			link_set_bound(*b->sess[i].linkp); /* keepalives from now on */
		}
		dialer_up(&b->dial);
		b->ops->up(b->arg, detail, sizeof detail);
		core_conn_state(b->c, CONN_UP, detail);
		return 0;
	}
	case CLIBASE_GOODBYE:
		for (int i = 0; i < b->nsess; i++) {
			b->sess[i].ready = false; /* takes no new requests of the peer */
			if (*b->sess[i].linkp && b->ops->goodbye(b->sess[i].arg))
				drop_link(b, i, b->ops->drained, b->sess[i].arg);
		}
		return 0;
	}
	abort();
}

bool clibase_is_up(const struct clibase *b)
{
	return b->state == CLIBASE_UP;
}

bool clibase_sess_ready(const struct clibase *b, const struct link *l)
{
	int i = sess_of(b, l);
	return i >= 0 && b->sess[i].ready && (b->state == CLIBASE_HANDSHAKE || b->state == CLIBASE_UP);
}

bool clibase_may_answer(const struct clibase *b, const struct link *l, uint64_t gen)
{
	int i = sess_of(b, l);
	return gen == b->gen && i >= 0 && (b->sess[i].ready || b->state == CLIBASE_GOODBYE);
}

static void finish_stop(struct clibase *b)
{
	if (b->stopped)
		return;
	if (b->state != CLIBASE_DISCONNECTED)
		clibase_set(b, CLIBASE_DISCONNECTED, "stopped");
	if (b->ops->release)
		b->ops->release(b->arg);
	if (b->inacks)
		inacks_stopped(b->inacks);
	if (b->ops->stopped)
		b->ops->stopped(b->arg);
	b->stopped = true;
	event_del(b->tick_ev);
	dialer_cancel(&b->dial);
	core_conn_state(b->c, CONN_DOWN, "stopped");
	core_stopped(b->c);
}

void clibase_lost(struct clibase *b, const char *reason)
{
	if (b->stopped)
		return;
	if (b->state != CLIBASE_DISCONNECTED)
		clibase_set(b, CLIBASE_DISCONNECTED, reason);
	if (b->stopping) {
		finish_stop(b);
		return;
	}
	if (b->ops->release)
		b->ops->release(b->arg);
	dialer_lost(&b->dial, &b->dc, b->c, b->ops->log_prefix, reason);
}

void clibase_sess_up(struct clibase *b, struct link *l)
{
	char why[80];
	int i = sess_of(b, l);
	if (i < 0 || b->state != CLIBASE_CONNECTING)
		return;
	b->sess[i].connected = true;
	for (int j = 0; j < b->nsess; j++)
		if (!b->sess[j].connected)
			return; /* the other session is still connecting */
	if (b->no_handshake) {
		snprintf(why, sizeof why, "connected (no %s)", b->ops->handshake_name);
		clibase_set(b, CLIBASE_UP, why);
		return;
	}
	if (clibase_set(b, CLIBASE_HANDSHAKE, "connected")) {
		snprintf(why, sizeof why, "cannot send the %s", b->ops->handshake_name);
		clibase_lost(b, why);
	}
}

void clibase_link_up(struct link *l, void *arg)
{
	clibase_sess_up(arg, l);
}

void clibase_ready(struct clibase *b, struct link *l, const char *why)
{
	int i = sess_of(b, l);
	if (i < 0 || b->state != CLIBASE_HANDSHAKE)
		return;
	b->sess[i].ready = true;
	for (int j = 0; j < b->nsess; j++)
		if (!b->sess[j].ready)
			return;
	clibase_set(b, CLIBASE_UP, why);
}

void clibase_sess_end(struct clibase *b, struct link *l, const char *why)
{
	int i = sess_of(b, l);
	if (b->state != CLIBASE_GOODBYE) {
		clibase_lost(b, why);
		return;
	}
	if (i < 0)
		return;
	char q[300], name[64];
	ev_name(b, "session_end", name, sizeof name);
	log_debug(name, "conn=%s gen=%" PRIu64 " session=%d why=%s", conn_name(b->c), b->gen, i,
	          log_quote(why, q, sizeof q));
	drop_link(b, i, b->ops->drained, b->sess[i].arg);
	clibase_stop_progress(b);
}

void clibase_sess_down(struct clibase *b, struct link *l, const char *reason)
{
	char why[400];
	snprintf(why, sizeof why, "%s (%s)", reason, state_name(b, b->state));
	clibase_sess_end(b, l, why);
}

void clibase_link_down(struct link *l, void *arg, const char *reason)
{
	clibase_sess_down(arg, l, reason);
}

/* The next connection: the peer due, then the links dial. */
static void clibase_connect(struct clibase *b)
{
	if (dialer_pick(&b->dial, &b->dc, b->c, b->ops->log_prefix)) {
		clibase_lost(b, "bad peer address");
		return;
	}
	if (clibase_set(b, CLIBASE_CONNECTING, "connect"))
		clibase_lost(b, "cannot connect");
}

static void reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct clibase *b = arg;
	(void)fd;
	(void)what;
	if (!b->stopping)
		clibase_connect(b);
}

/* Stopping: answers of the peer or commits of the database awaited. */
static bool busy(struct clibase *b)
{
	return (b->subs && b->subs->nparts) || (b->inacks && inacks_waiting(b->inacks)) ||
	       (b->ops->busy && b->ops->busy(b->arg));
}

void clibase_stop_progress(struct clibase *b)
{
	if (!b->stopping || b->stopped)
		return;
	uint64_t now = now_mono_ms();
	if (b->state == CLIBASE_UP) {
		if (busy(b) && now - b->stop_ms < b->stop_wait_ms)
			return;
		if (b->ops->goodbye) {
			b->stop_ms = now; /* the goodbye has a bound of its own */
			clibase_set(b, CLIBASE_GOODBYE, "stop");
		}
	}
	if (b->state == CLIBASE_GOODBYE && links_left(b) && now - b->stop_ms < b->stop_wait_ms)
		return;
	finish_stop(b);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct clibase *b = arg;
	(void)fd;
	(void)what;
	if (b->inacks)
		inacks_drain(b->inacks);
	if (b->ops->tick)
		b->ops->tick(b->arg);
	if (b->stopping)
		clibase_stop_progress(b);
}

void clibase_acked(struct conn *c, uint64_t token, bool committed)
{
	struct clibase *b = conn_driver_data(c);
	if (b->inacks)
		inacks_acked(b->inacks, token, committed);
	clibase_stop_progress(b);
}

void clibase_stop(struct clibase *b, const char *state_detail)
{
	b->stopping = true;
	b->stop_ms = now_mono_ms();
	dialer_cancel(&b->dial);
	if (b->ops->release)
		b->ops->release(b->arg);
	if (b->state != CLIBASE_UP) {
		finish_stop(b);
		return;
	}
	core_conn_state(b->c, CONN_STOPPING, state_detail);
	clibase_stop_progress(b);
}

void clibase_add_session(struct clibase *b, struct link **linkp, void *arg)
{
	if (b->nsess < CLIBASE_SESS_MAX)
		b->sess[b->nsess++] = (struct clibase_sess){.linkp = linkp, .arg = arg};
}

int clibase_init(struct clibase *b, struct conn *c, const struct clibase_ops *ops, void *arg, struct link **linkp,
                 const struct dialer_conf *dc, const struct dialer_opts *o, uint64_t response_timeout_ms)
{
	struct event_base *base = conn_event_base(c);
	struct errbuf err = {""};
	b->c = c;
	b->ops = ops;
	b->arg = arg;
	if (!b->nsess)
		clibase_add_session(b, linkp, arg);
	b->dc = *dc;
	b->stop_wait_ms = response_timeout_ms < STOP_WAIT_MAX_MS ? response_timeout_ms : STOP_WAIT_MAX_MS;
	if (dialer_init(&b->dial, base, o, reconnect_cb, b, &err) ||
	    (ops->tls_setup && b->dial.ssl_ctx && ops->tls_setup(arg, b->dial.ssl_ctx, &err))) {
		char q[300], name[64];
		ev_name(b, "tls", name, sizeof name);
		log_error(name, "conn=%s error=%s", conn_name(c), log_quote(err.msg, q, sizeof q));
		dialer_free(&b->dial);
		b->nsess = 0; /* nothing to free at close */
		return -1;
	}
	b->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, b);
	struct timeval tv = {0, TICK_MS * 1000};
	event_add(b->tick_ev, &tv);
	return 0;
}

void clibase_start(struct clibase *b)
{
	core_conn_state(b->c, CONN_CONNECTING, "connecting");
	clibase_connect(b);
}

int clibase_open(struct clibase *b, struct conn *c, const struct clibase_ops *ops, void *arg, struct link **linkp,
                 const struct dialer_conf *dc, const struct dialer_opts *o, uint64_t response_timeout_ms)
{
	if (clibase_init(b, c, ops, arg, linkp, dc, o, response_timeout_ms))
		return -1;
	clibase_start(b);
	return 0;
}

void clibase_up_on(struct clibase *b, struct link *l, const char *why)
{
	b->nsess = 1;
	b->gen++;
	*b->sess[0].linkp = l;
	b->sess[0].connected = true;
	clibase_set(b, CLIBASE_UP, why);
}

void clibase_close(struct clibase *b)
{
	for (int i = 0; i < b->nsess; i++)
		drop_link(b, i, b->ops->forget, NULL);
	if (b->tick_ev)
		event_free(b->tick_ev);
	b->tick_ev = NULL;
	dialer_free(&b->dial);
}
