/*
 * clibase: dialer, tick, session loss with reconnect, and the bounded stop
 * of a client connection over the link layer (see clibase.h).
 */
#include "net/clibase.h"

#include <stdio.h>

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

static void finish_stop(struct clibase *b)
{
	if (b->stopped)
		return;
	b->up = false;
	b->ops->disconnect(b->arg, "stopped");
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
	b->up = false;
	b->ops->disconnect(b->arg, reason);
	if (b->stopping) {
		finish_stop(b);
		return;
	}
	if (b->ops->release)
		b->ops->release(b->arg);
	dialer_lost(&b->dial, &b->dc, b->c, b->ops->log_prefix, reason);
}

void clibase_down(struct clibase *b, const char *reason, const char *state_name)
{
	char why[400];
	snprintf(why, sizeof why, "%s (%s)", reason, state_name);
	clibase_lost(b, why);
}

/* The next session: the peer due, then the driver's connect. */
static void clibase_connect(struct clibase *b)
{
	if (dialer_pick(&b->dial, &b->dc, b->c, b->ops->log_prefix)) {
		clibase_lost(b, "bad peer address");
		return;
	}
	if (b->ops->connect(b->arg))
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

struct link *clibase_dial(struct clibase *b, const struct link_opts *o, const struct link_ops *ops, void *arg)
{
	char why[300], q[350], name[64];
	struct link *l = dialer_connect(&b->dial, o, ops, arg, why, sizeof why);
	if (!l) {
		ev_name(b, "connect_failed", name, sizeof name);
		log_warn(name, "conn=%s error=%s", conn_name(b->c), log_quote(why, q, sizeof q));
	}
	return l;
}

void clibase_up(struct clibase *b, const char *detail)
{
	b->up = true;
	dialer_up(&b->dial);
	core_conn_state(b->c, CONN_UP, detail);
}

void clibase_stop_progress(struct clibase *b)
{
	if (!b->stopping || b->stopped)
		return;
	if (b->up && b->ops->busy && b->ops->busy(b->arg) && now_mono_ms() - b->stop_ms < b->stop_wait_ms)
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
	if (!b->up) {
		finish_stop(b);
		return;
	}
	core_conn_state(b->c, CONN_STOPPING, state_detail);
	clibase_stop_progress(b);
}

int clibase_open(struct clibase *b, struct conn *c, const struct clibase_ops *ops, void *arg,
                 const struct dialer_conf *dc, const struct dialer_opts *o, uint64_t response_timeout_ms)
{
	struct event_base *base = conn_event_base(c);
	struct errbuf err = {""};
	b->c = c;
	b->ops = ops;
	b->arg = arg;
	b->dc = *dc;
	b->stop_wait_ms = response_timeout_ms < STOP_WAIT_MAX_MS ? response_timeout_ms : STOP_WAIT_MAX_MS;
	if (dialer_init(&b->dial, base, o, reconnect_cb, b, &err)) {
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

void clibase_link_end(struct link **lp, void (*drained)(void *arg, uint32_t seq, void *data), void *arg)
{
	struct link *l = *lp;
	if (!l)
		return;
	if (drained)
		link_request_drain(l, drained, arg);
	*lp = NULL;
	link_free(l);
}

void clibase_close(struct clibase *b)
{
	if (b->tick_ev)
		event_free(b->tick_ev);
	b->tick_ev = NULL;
	dialer_free(&b->dial);
}
