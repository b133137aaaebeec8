/*
 * link server, events out (events.c): account events (reports, inbound texts) that
 * the core hands to deliver() go to a bound session of their account
 * through the shared account bookkeeping (src/net/accounts.c: round robin
 * over the sessions that have room, a bounded wait, everything back to the
 * database when no session is left).  A session queues them by kind and
 * sends up to `batch` of one kind per states/inbounds frame while its
 * window has room; each event gets exactly one core_event_done(): true when
 * the client acked its frame (after its commit), false when the session
 * ended first or the ack did not come in time (the core offers it again
 * later).  States of messages that are not final yet (034_link: "sent",
 * part reports) and part_status go only to clients whose hello asked for
 * part_states; for the others such an event is done at once.  A session
 * that agreed client_ids gets in each State the client's own outbox id,
 * read from the message's idempotency key "<its instance>:<its id>"
 * (047_link_ids), so that the client applies it by id.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/convert.h"
#include "link/frame.h"
#include "link/server.h"
#include "link/wire.h"
#include "log.h"
#include "util.h"

enum {
	FRAME_MIN = 32, /* events per frame at least, when that many wait */
};

/* A states or inbounds frame waiting for its ack: one part per event. */
struct oframe {
	int n;
	struct accounts_part **p;
};

static void partq_push(struct partq *q, struct accounts_part *p)
{
	if (q->head + q->n == q->cap) {
		if (q->head > 0) {
			memmove(q->v, q->v + q->head, (size_t)q->n * sizeof *q->v);
			q->head = 0;
		} else {
			q->cap = q->cap ? 2 * q->cap : 16;
			q->v = xrealloc(q->v, (size_t)q->cap * sizeof *q->v);
		}
	}
	q->v[q->head + q->n++] = p;
}

static struct accounts_part *partq_pop(struct partq *q)
{
	if (q->n == 0)
		return NULL;
	struct accounts_part *p = q->v[q->head++];
	if (--q->n == 0)
		q->head = 0;
	return p;
}

static void partq_free(struct partq *q)
{
	free(q->v);
	*q = (struct partq){0};
}

void link_events_refuse(struct sess *s)
{
	struct accounts_part *p;
	while ((p = partq_pop(&s->reports)) || (p = partq_pop(&s->inbounds)))
		accounts_part_answer(&s->sv->accts, p, false);
	partq_free(&s->reports);
	partq_free(&s->inbounds);
}

void link_events_forget(struct sess *s)
{
	struct accounts_part *p;
	while ((p = partq_pop(&s->reports)) || (p = partq_pop(&s->inbounds)))
		accounts_part_forget(&s->sv->accts, p);
	partq_free(&s->reports);
	partq_free(&s->inbounds);
}

void link_events_done(struct server *sv, void *frame, bool delivered)
{
	struct oframe *o = frame;
	struct sess *s = o->n ? o->p[0]->sess : NULL;
	for (int i = 0; i < o->n; i++)
		accounts_part_answer(&sv->accts, o->p[i], delivered);
	free(o->p);
	free(o);
	if (s && s->hd.acct && s->hd.state == SRVBASE_BOUND)
		accounts_drain(&sv->accts, s->hd.acct); /* the session has room again */
}

void link_events_drained(void *arg, uint32_t seq, void *data)
{
	(void)seq;
	if (data && data != LINK_KEEPALIVE)
		link_events_done(arg, data, false);
}

int link_events_frame_size(int queued, int room, int batch)
{
	int n = room > 1 ? (queued + room - 1) / room : queued;
	if (n < FRAME_MIN)
		n = queued < FRAME_MIN ? queued : FRAME_MIN;
	return n > batch ? batch : n;
}

/* One states or inbounds frame from q.  Returns 0, or -1 when nothing more
 * can go now. */
static int send_events(struct sess *s, struct partq *q, bool reports)
{
	struct server *sv = s->sv;
	uint32_t seq;
	if (link_next_seq(s->hd.link, &seq))
		return -1;
	int n = link_events_frame_size(q->n, link_window_room(s->hd.link), (int)sv->conf->batch);
	struct oframe *o = xcalloc(1, sizeof *o);
	o->p = xcalloc((size_t)n, sizeof *o->p);
	Smspool__Link__State *st = reports ? xcalloc((size_t)n, sizeof *st) : NULL;
	Smspool__Link__Inbound *in = reports ? NULL : xcalloc((size_t)n, sizeof *in);
	void **ptrs = xcalloc((size_t)n, sizeof *ptrs);
	char(*keys)[160] = xcalloc((size_t)n, sizeof *keys);
	struct link_convert_buf bytes = {0};
	const char *inst = conn_instance(sv->c);
	for (int i = 0; i < n; i++) {
		struct accounts_part *p = partq_pop(q);
		o->p[o->n++] = p;
		if (reports) {
			link_convert_state(p->d->ev, inst, &st[i], keys[i], sizeof keys[i]);
			if (s->part_states)
				link_convert_state_parts(p->d->ev, &st[i], &bytes);
			if (s->client_ids)
				st[i].client_id = link_convert_client_id(p->d->ev->idempotency_key, s->instance);
			ptrs[i] = &st[i];
		} else {
			link_convert_inbound(p->d->ev, inst, &in[i], &bytes, keys[i], sizeof keys[i]);
			ptrs[i] = &in[i];
		}
	}
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	Smspool__Link__States sf = SMSPOOL__LINK__STATES__INIT;
	Smspool__Link__Inbounds inf = SMSPOOL__LINK__INBOUNDS__INIT;
	if (reports) {
		sf.seq = seq;
		sf.n_states = (size_t)n;
		sf.states = (Smspool__Link__State **)ptrs;
		f.body_case = SMSPOOL__LINK__FRAME__BODY_STATES;
		f.states = &sf;
	} else {
		inf.seq = seq;
		inf.n_messages = (size_t)n;
		inf.messages = (Smspool__Link__Inbound **)ptrs;
		f.body_case = SMSPOOL__LINK__FRAME__BODY_INBOUNDS;
		f.inbounds = &inf;
	}
	int rc = 0;
	if (link_wire_send(s->hd.link, &f) || link_request_add(s->hd.link, seq, o, 0, true)) {
		link_events_done(sv, o, false);
		rc = -1;
	} else {
		log_debug("link_server_events_sent", "conn=%s sess=%" PRIu64 " seq=%" PRIu32 " type=%s n=%d",
		          conn_name(sv->c), s->hd.id, seq, reports ? "states" : "inbounds", n);
	}
	link_convert_buf_free(&bytes);
	free(st);
	free(in);
	free(ptrs);
	free(keys);
	return rc;
}

void link_events_flush(struct sess *s)
{
	while (s->hd.state == SRVBASE_BOUND && s->hd.link && (s->reports.n || s->inbounds.n) &&
	       link_window_room(s->hd.link) > 0 && !link_congested(s->hd.link)) {
		bool reports = s->reports.n > 0;
		if (send_events(s, reports ? &s->reports : &s->inbounds, reports))
			break;
	}
}

void link_events_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *sv = arg;
	(void)fd;
	(void)what;
	sv->flush_armed = false;
	for (struct srvbase_sess *h = sv->base.sessions; h; h = h->next)
		link_events_flush((struct sess *)h);
}

void link_events_arm(struct server *sv)
{
	if (!sv->flush_armed) {
		sv->flush_armed = true;
		event_active(sv->flush_ev, EV_TIMEOUT, 0);
	}
}

/* Room for one more event: a bound session holds at most a window of full
 * frames unsent; beyond that events wait in the account (bounded), then go
 * back to the database. */
static bool can_take(void *sess, void *arg)
{
	struct sess *s = sess;
	(void)arg;
	return s->hd.state == SRVBASE_BOUND && s->hd.link &&
	       s->reports.n + s->inbounds.n < s->sv->conf->window * s->sv->conf->batch;
}

static void deliver_to(struct accounts *as, void *sess, struct accounts_acct *a, struct account_event *ev, void *arg)
{
	struct sess *s = sess;
	(void)a;
	struct accounts_part **ps = accounts_dlv_new(as, ev, s, 1);
	if (ev->kind == ACCOUNT_EVENT_REPORT && !s->part_states && !link_convert_state_is_final(ev->state)) {
		/* A state of a message not final yet, for a client that did not
		 * ask for them (an older one): done, nothing to send. */
		accounts_part_answer(as, ps[0], true);
		free(ps);
		return;
	}
	partq_push(ev->kind == ACCOUNT_EVENT_REPORT ? &s->reports : &s->inbounds, ps[0]);
	free(ps);
	link_events_arm(arg);
}

const struct accounts_ops link_events_ops = {
    .can_take = can_take,
    .deliver = deliver_to,
};
