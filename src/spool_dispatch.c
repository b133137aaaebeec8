/* spool_dispatch: the sending path.  Claimed messages are routed to a
 * usable connection (after maintenance redirects) and handed to its driver
 * within its window and throughput; completions, inbound texts and reports
 * from drivers are cleaned and queued, then posted to the store lanes in
 * batches, together with the demand for the next claims. */
#include <event2/event.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan.h"
#include "claimer.h"
#include "codec/utf8.h"
#include "driver.h"
#include "log.h"
#include "metrics.h"
#include "msg_parts.h"
#include "router.h"
#include "spool_internal.h"
#include "store.h"
#include "util.h"

enum {
	DEMAND_MAX = 4000, /* messages the loop asks for at most */
};

static uint32_t rnd32(struct core *k)
{
	/* xorshift64*: routing needs spread, not secrecy. */
	k->rng ^= k->rng >> 12;
	k->rng ^= k->rng << 25;
	k->rng ^= k->rng >> 27;
	return (uint32_t)((k->rng * 2685821657736338717ULL) >> 32);
}

static void finish(struct core *k, struct msg *m)
{
	if (m->outcome == MSG_SENT)
		k->stat_sent++;
	else if (m->outcome != MSG_RELEASE)
		k->stat_failed++;
	msg_list_push(&k->results, m);
	spool_wake(k);
}

static void release(struct core *k, struct msg *m, int after_s)
{
	msg_set_failed(m, MSG_RELEASE, NULL, NULL);
	m->retry_after_s = after_s;
	finish(k, m);
}

void spool_dispatch_release_pending(struct conn *c)
{
	struct msg *m;
	while ((m = msg_list_pop(&c->pending)))
		release(c->core, m, 0);
}

void core_complete(struct conn *c, struct msg *m)
{
	spool_clean(&m->remote_ids, UTF8_KEEP_US);
	spool_clean(&m->error_code, 0);
	spool_clean(&m->error_text, 0);
	c->inflight -= m->slots > 0 ? m->slots : 1;
	if (c->inflight < 0) {
		log_error("driver_contract", "conn=%s problem=\"completion without submit\"", c->name);
		c->inflight = 0;
	}
	if (m->slot_conn == c->id)
		c->unsettled += m->slots > 0 ? m->slots : 1;
	metrics_conn_complete(c->m, m);
	finish(c->core, m);
}

void core_received(struct conn *c, struct inbound *in, uint64_t token)
{
	struct core *k = c->core;
	spool_clean(&in->sender, 0);
	spool_clean(&in->recipient, 0);
	spool_clean(&in->body, UTF8_KEEP_NEWLINES);
	spool_clean(&in->payload, 0);
	spool_clean(&in->udh, 0);
	spool_clean(&in->encoding, 0);
	free(in->conn);
	in->conn = xstrdup(c->name);
	in->conn_id = c->id;
	in->token = token;
	in->next = NULL;
	*k->inb_tail = in;
	k->inb_tail = &in->next;
	k->stat_in++;
	metrics_conn_inbound(c->m);
	spool_wake(k);
}

void core_report(struct conn *c, struct report *r, uint64_t token)
{
	struct core *k = c->core;
	spool_clean(&r->remote_id, 0);
	spool_clean(&r->state, 0);
	spool_clean(&r->error_code, 0);
	spool_clean(&r->text, 0);
	free(r->conn);
	r->conn = xstrdup(c->name);
	r->conn_id = c->id;
	r->token = token;
	r->next = NULL;
	*k->rep_tail = r;
	k->rep_tail = &r->next;
	k->stat_reports++;
	metrics_conn_report(c->m);
	spool_wake(k);
}

static bool conn_usable(const char *name, void *ctx)
{
	struct conn *c = spool_conn_find(ctx, name);
	return c && c->state == CONN_UP && !c->stopping && spool_conn_sends(c);
}

void spool_dispatch_throttle_cb(evutil_socket_t fd, short what, void *arg)
{
	spool_dispatch_conn(arg);
}

/* The window slots m takes: one per PDU, as SMSCs count them (a 4-part
 * message takes 4), counted once. */
static int slots_of(struct msg *m)
{
	if (m->slots <= 0) {
		struct errbuf perr;
		int parts = msg_parts(m, NULL, &perr);
		m->slots = parts > 1 ? parts : 1;
	}
	return m->slots;
}

void spool_dispatch_conn(struct conn *c)
{
	int64_t now_s = now_wall_ms() / 1000;
	while (c->state == CONN_UP && !c->stopping && c->pending.len) {
		/* A message goes when its PDUs fit the window, or alone when
		 * it has more parts than the whole window. */
		int used = c->inflight + c->unsettled;
		if (used >= c->window || (used > 0 && used + slots_of(c->pending.head) > c->window))
			return;
		/* Per PDU; the bucket may go into debt, the next waits for it. */
		uint64_t wait_ms = bucket_take_ms(&c->bucket, c->throughput, c->throughput / 10,
		                                  slots_of(c->pending.head), now_mono_ms());
		if (wait_ms) {
			struct timeval tv = {(time_t)(wait_ms / 1000), (suseconds_t)(wait_ms % 1000) * 1000};
			if (!evtimer_pending(c->throttle_ev, NULL)) {
				evtimer_add(c->throttle_ev, &tv);
				metrics_conn_rate_limited(c->m);
			}
			return;
		}
		struct msg *m = msg_list_pop(&c->pending);
		if (m->valid_until_s && m->valid_until_s < now_s) {
			msg_set_failed(m, MSG_EXPIRED, NULL, "validity period ended before the message could be sent");
			finish(c->core, m);
			continue;
		}
		free(m->conn_used);
		m->conn_used = xstrdup(c->name);
		c->inflight += slots_of(m);
		m->slot_conn = c->id;
		metrics_conn_submit(c->m, m);
		c->ops->submit(c, m);
	}
}

/* Maps each route candidate under a maintenance redirect to its target
 * (one hop).  Returns the origins (NULL where not redirected), or NULL when
 * nothing was redirected. */
static char **redirect(struct core *k, struct msg *m)
{
	char **from = NULL;
	for (int i = 0; i < m->nroute; i++) {
		const char *to = spool_conn_redirect_of(k, m->route[i].conn);
		if (!to)
			continue;
		if (!from)
			from = xcalloc((size_t)m->nroute, sizeof *from);
		from[i] = m->route[i].conn;
		m->route[i].conn = xstrdup(to);
	}
	return from;
}

void spool_dispatch_route(struct core *k, struct msg *m)
{
	if (k->stopping) {
		release(k, m, 0);
		return;
	}
	if (m->nroute == 0) {
		msg_set_failed(m, MSG_NO_ROUTE, NULL, "no route matches the recipient");
		finish(k, m);
		return;
	}
	char **from = redirect(k, m);
	int idx = router_pick(m, conn_usable, k, rnd32(k));
	if (from) {
		if (idx >= 0 && from[idx])
			m->redirected_from = xstrdup(from[idx]);
		for (int i = 0; i < m->nroute; i++)
			free(from[i]);
		free(from);
	}
	if (idx < 0) {
		log_debug("route_unavailable", "id=%" PRId64 " first=%s", m->id, m->route[0].conn);
		release(k, m, k->no_route_hold_s);
		return;
	}
	struct conn *c = spool_conn_find(k, m->route[idx].conn);
	log_debug("route", "id=%" PRId64 " conn=%s", m->id, c->name);
	msg_list_push(&c->pending, m);
}

/* ---- batches to the store ---- */

/* The messages the loop can take now (room on the connections that can
 * send), less what is lent for claims at submit; their names in d->conns,
 * with the names redirected to one of them; *sig_len: the length of the
 * names joined. */
static int room_of(struct core *k, struct claim_demand *d, size_t *sig_len_out)
{
	int want = 0;
	int n = 0;
	for (struct conn *c = k->conns; c; c = c->next)
		n++;
	d->conns = xcalloc((size_t)n + 1, sizeof *d->conns);
	size_t sig_len = 1;
	for (struct conn *c = k->conns; c; c = c->next) {
		if (k->stopping || c->stopping || c->state != CONN_UP || !spool_conn_sends(c))
			continue;
		int room = 2 * c->window - c->inflight - c->unsettled - c->pending.len;
		if (room > 0)
			want += room;
		d->conns[d->nconns++] = xstrdup(c->name);
		sig_len += strlen(c->name) + 1;
	}
	/* Messages forced to a connection in maintenance go through its
	 * redirect_to: claim them where that one is up. */
	int nrows = k->config && !k->stopping ? k->config->n : 0;
	if (nrows) {
		d->conns = xrealloc(d->conns, ((size_t)d->nconns + (size_t)nrows + 1) * sizeof *d->conns);
		for (int i = 0; i < nrows; i++) {
			const struct store_conn_row *row = &k->config->rows[i];
			struct conn *t = row->redirect_to ? spool_conn_find(k, row->redirect_to) : NULL;
			if (!t || t->state != CONN_UP || !spool_conn_sends(t))
				continue;
			bool listed = false;
			for (int j = 0; j < d->nconns; j++)
				listed = listed || strcmp(d->conns[j], row->name) == 0;
			if (listed)
				continue;
			d->conns[d->nconns++] = xstrdup(row->name);
			sig_len += strlen(row->name) + 1;
		}
	}
	*sig_len_out = sig_len;
	return want - k->direct_granted;
}

void spool_dispatch_post_claim_room(struct core *k, int n)
{
	if (k->stopping || n <= 0)
		return;
	struct claim_demand *d = xcalloc(1, sizeof *d);
	size_t sig_len;
	int room = room_of(k, d, &sig_len);
	if (room > n)
		room = n;
	if (room <= 0 || d->nconns == 0) {
		claim_demand_free(d);
		return;
	}
	d->want = room;
	k->direct_granted += room;
	chan_put(spool_main_chan(k), TO_STORE_CLAIM_ROOM, d);
}

void spool_dispatch_post_demand(struct core *k)
{
	struct claim_demand *d = xcalloc(1, sizeof *d);
	size_t sig_len;
	int want = room_of(k, d, &sig_len);
	if (want < 0)
		want = 0;
	if (want > DEMAND_MAX)
		want = DEMAND_MAX;
	char *sig = xcalloc(1, sig_len);
	for (int i = 0; i < d->nconns; i++) {
		strcat(sig, d->conns[i]);
		strcat(sig, ",");
	}
	if (want == k->last_want && k->last_conns && strcmp(sig, k->last_conns) == 0 && want == 0) {
		free(sig);
		claim_demand_free(d);
		return;
	}
	free(k->last_conns);
	k->last_conns = sig;
	k->last_want = want;
	d->want = want;
	d->claims_seen = k->claims_seen;
	chan_put(claimer_chan(k->claimer), TO_CLAIMER_DEMAND, d);
}

/* Which lane writes a result or a report.  A report goes where the result
 * it answers went, by remote id: in one lane the report is written first
 * (record_results then matches it; flush_cb posts reports first) or in the
 * same statement.  Written side by side on two lanes, neither
 * transaction would see the other and the report would wait for
 * smspool.rematch_reports() (the other parts of a multipart message can
 * still land there: their ids differ). */
static int lane_of_result(const struct core *k, const struct msg *m)
{
	/* Reports by id (047) go by the message id, as their result. */
	if (m->outcome == MSG_SENT && m->report_by_id)
		return (int)((uint64_t)m->id % (uint64_t)k->nlanes);
	if (m->outcome == MSG_SENT && m->remote_ids && *m->remote_ids)
		return (int)(fnv1a(FNV1A_INIT, m->remote_ids, strcspn(m->remote_ids, "\x1f")) % (uint32_t)k->nlanes);
	return (int)((uint64_t)m->id % (uint64_t)k->nlanes);
}

void spool_dispatch_post_results(struct core *k)
{
	struct msg_list *l[WRITE_CONNECTIONS_MAX] = {0};
	struct msg *m;
	while ((m = msg_list_pop(&k->results))) {
		int i = lane_of_result(k, m);
		if (!l[i])
			l[i] = xcalloc(1, sizeof *l[i]);
		msg_list_push(l[i], m);
	}
	for (int i = 0; i < k->nlanes; i++)
		if (l[i])
			chan_put(store_chan(k->lanes[i]), TO_STORE_RESULTS, l[i]);
}

void spool_dispatch_post_reports(struct core *k)
{
	struct report *head[WRITE_CONNECTIONS_MAX] = {0}, **tail[WRITE_CONNECTIONS_MAX];
	for (int i = 0; i < k->nlanes; i++)
		tail[i] = &head[i];
	for (struct report *r = k->rep_head, *next; r; r = next) {
		next = r->next;
		r->next = NULL;
		int i = r->message_id > 0 ? (int)((uint64_t)r->message_id % (uint64_t)k->nlanes)
		        : r->remote_id
		            ? (int)(fnv1a(FNV1A_INIT, r->remote_id, strlen(r->remote_id)) % (uint32_t)k->nlanes)
		            : 0;
		*tail[i] = r;
		tail[i] = &r->next;
	}
	k->rep_head = NULL;
	k->rep_tail = &k->rep_head;
	for (int i = 0; i < k->nlanes; i++)
		if (head[i])
			chan_put(store_chan(k->lanes[i]), TO_STORE_REPORTS, head[i]);
}
