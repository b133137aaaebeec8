/* inflight: see inflight.h. */
#include "net/inflight.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

static void inflight_finish(struct inflight *f);

static void inflight_on_grace(evutil_socket_t fd, short what, void *arg)
{
	inflight_finish(arg);
}

void inflight_init(struct inflight *f, struct conn *c, const struct inflight_ops *ops, void *arg)
{
	memset(f, 0, sizeof *f);
	f->c = c;
	f->ops = ops;
	f->arg = arg;
	f->state = INFLIGHT_OPEN;
	f->grace_ev = evtimer_new(conn_event_base(c), inflight_on_grace, f);
}

static void inflight_unlink(struct inflight *f, struct inflight_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		f->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
	f->n--;
}

void inflight_free(struct inflight *f)
{
	while (f->head) {
		struct inflight_req *r = f->head;
		inflight_unlink(f, r);
		msg_free(r->m);
		r->m = NULL;
		f->ops->free_req(r);
	}
	if (f->grace_ev)
		event_free(f->grace_ev);
	f->grace_ev = NULL;
}

void inflight_add(struct inflight *f, struct inflight_req *r, struct msg *m)
{
	r->m = m;
	r->prev = NULL;
	r->next = f->head;
	if (f->head)
		f->head->prev = r;
	f->head = r;
	f->n++;
}

static void inflight_log_failed(struct inflight *f, const struct msg *m)
{
	char ev[48], q[300];
	snprintf(ev, sizeof ev, "%s_failed", f->ops->name);
	log_info(ev, "conn=%s id=%" PRId64 " outcome=%s code=%s text=%s", conn_name(f->c), m->id,
	         msg_outcome_name(m->outcome), m->error_code ? m->error_code : "",
	         log_quote(m->error_text ? m->error_text : "", q, sizeof q));
}

void inflight_complete(struct inflight *f, struct inflight_req *r)
{
	struct msg *m = r->m;
	inflight_unlink(f, r);
	if (m->outcome != MSG_SENT)
		inflight_log_failed(f, m);
	r->m = NULL;
	f->ops->free_req(r);
	core_complete(f->c, m);
}

void inflight_fail_now(struct inflight *f, struct msg *m, enum msg_outcome o, const char *code, const char *text)
{
	msg_set_failed(m, o, code, text);
	inflight_log_failed(f, m);
	core_complete(f->c, m);
}

static int inflight_waiting(const struct inflight *f)
{
	return f->n + (f->ops->waiting ? f->ops->waiting(f->arg) : 0);
}

static void inflight_finish(struct inflight *f)
{
	if (f->state == INFLIGHT_STOPPED)
		return;
	while (f->head) {
		msg_set_failed(f->head->m, MSG_TEMPORARY, "stopped", f->ops->lost_text);
		inflight_complete(f, f->head);
	}
	if (f->ops->stopped)
		f->ops->stopped(f->arg);
	f->state = INFLIGHT_STOPPED;
	core_conn_state(f->c, CONN_DOWN, "stopped");
	core_stopped(f->c);
}

void inflight_stop(struct inflight *f, long long grace_ms)
{
	if (f->state != INFLIGHT_OPEN)
		return;
	f->state = INFLIGHT_STOPPING;
	if (inflight_waiting(f) == 0) {
		inflight_finish(f);
		return;
	}
	char ev[48];
	snprintf(ev, sizeof ev, "%s_stopping", f->ops->name);
	log_info(ev, "conn=%s in_flight=%d waiting=%d grace_ms=%lld", conn_name(f->c), f->n, inflight_waiting(f) - f->n,
	         grace_ms);
	struct timeval tv = {(time_t)(grace_ms / 1000), (suseconds_t)(grace_ms % 1000) * 1000};
	evtimer_add(f->grace_ev, &tv);
}

void inflight_check(struct inflight *f)
{
	if (f->state == INFLIGHT_STOPPING && inflight_waiting(f) == 0)
		event_active(f->grace_ev, 0, 0);
}
