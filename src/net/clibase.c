/*
 * clibase: dialer, session state machine, tick, session loss with
 * reconnect, and the bounded stop of a client connection over the link
 * layer (see clibase.h).
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
	static const char *const names[] = {"disconnected", "connecting", "handshake", "up"};
	return s == CLIBASE_HANDSHAKE ? b->ops->handshake_name : names[s];
}

/* Ends the session's link: what it still has outstanding goes to fn. */
static void drop_link(struct clibase *b, clibase_drain_fn fn, void *arg)
{
	struct link *l = *b->linkp;
	if (!l)
		return;
	link_request_drain(l, fn, arg);
	*b->linkp = NULL;
	link_free(l);
}

static int dial(struct clibase *b)
{
	char why[300], q[350], name[64];
	struct link_opts o = {.name = conn_name(b->c)};
	b->ops->start(b->arg, &o);
	*b->linkp = dialer_connect(&b->dial, &o, b->ops->link_ops, b->arg, why, sizeof why);
	if (*b->linkp)
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
		drop_link(b, b->ops->drained, b->arg);
		return 0;
	case CLIBASE_CONNECTING:
		b->gen++;
		return dial(b);
	case CLIBASE_HANDSHAKE:
		return b->ops->handshake(b->arg);
	case CLIBASE_UP: {
		char detail[300];
		link_set_bound(*b->linkp); /* keepalives from now on */
		dialer_up(&b->dial);
		b->ops->up(b->arg, detail, sizeof detail);
		core_conn_state(b->c, CONN_UP, detail);
		return 0;
	}
	}
	abort();
}

bool clibase_is_up(const struct clibase *b)
{
	return b->state == CLIBASE_UP;
}

static void finish_stop(struct clibase *b)
{
	if (b->stopped)
		return;
	if (b->state != CLIBASE_DISCONNECTED)
		clibase_set(b, CLIBASE_DISCONNECTED, "stopped");
	if (b->ops->release)
		b->ops->release(b->arg);
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

void clibase_link_up(struct link *l, void *arg)
{
	struct clibase *b = arg;
	char why[80];
	(void)l;
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

void clibase_link_down(struct link *l, void *arg, const char *reason)
{
	struct clibase *b = arg;
	char why[400];
	(void)l;
	snprintf(why, sizeof why, "%s (%s)", reason, state_name(b, b->state));
	clibase_lost(b, why);
}

/* The next session: the peer due, then the link dials. */
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

void clibase_stop_progress(struct clibase *b)
{
	if (!b->stopping || b->stopped)
		return;
	if (b->state == CLIBASE_UP && b->ops->busy && b->ops->busy(b->arg) &&
	    now_mono_ms() - b->stop_ms < b->stop_wait_ms)
		return;
	finish_stop(b);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct clibase *b = arg;
	(void)fd;
	(void)what;
	if (b->ops->tick)
		b->ops->tick(b->arg);
	if (b->stopping)
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

int clibase_open(struct clibase *b, struct conn *c, const struct clibase_ops *ops, void *arg, struct link **linkp,
                 const struct dialer_conf *dc, const struct dialer_opts *o, uint64_t response_timeout_ms)
{
	struct event_base *base = conn_event_base(c);
	struct errbuf err = {""};
	b->c = c;
	b->ops = ops;
	b->arg = arg;
	b->linkp = linkp;
	b->dc = *dc;
	b->stop_wait_ms = response_timeout_ms < STOP_WAIT_MAX_MS ? response_timeout_ms : STOP_WAIT_MAX_MS;
	if (dialer_init(&b->dial, base, o, reconnect_cb, b, &err) ||
	    (ops->tls_setup && b->dial.ssl_ctx && ops->tls_setup(arg, b->dial.ssl_ctx, &err))) {
		char q[300], name[64];
		ev_name(b, "tls", name, sizeof name);
		log_error(name, "conn=%s error=%s", conn_name(c), log_quote(err.msg, q, sizeof q));
		dialer_free(&b->dial);
		return -1;
	}
	b->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, b);
	struct timeval tv = {0, TICK_MS * 1000};
	event_add(b->tick_ev, &tv);
	core_conn_state(c, CONN_CONNECTING, "connecting");
	clibase_connect(b);
	return 0;
}

void clibase_close(struct clibase *b)
{
	if (b->linkp)
		drop_link(b, b->ops->forget, NULL);
	if (b->tick_ev)
		event_free(b->tick_ev);
	b->tick_ev = NULL;
	dialer_free(&b->dial);
}
