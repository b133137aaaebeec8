/* store: see store.h.  One thread per lane, one libpq connection each,
 * linear code.  This file is the thread: it takes what the loop sends
 * (take_items) into lists kept across reconnects, runs one round of work
 * while connected (work: configuration, writes, the main writer's or the
 * auth lane's duties, NOTIFYs), waits on its channel and the connection's
 * socket between rounds (lingering a moment for small batches), reconnects
 * with backoff, and at the stop writes what is left, gives back (lane 0)
 * its claims and exclusive connections, and tells the loop.  The jobs
 * themselves live in store_session.c, store_write.c, store_server.c and
 * store_maint.c (store_internal.h). */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "db/access_versions.h"
#include "db/pg.h"
#include "log.h"
#include "metrics.h"
#include "sbuf.h"
#include "store_internal.h"
#include "util.h"

struct chan *store_chan(struct store *s)
{
	return &s->in;
}

void store_arrays_reset(struct store *s, int n)
{
	for (int i = 0; i < n; i++) {
		sbuf_reset(&s->a[i]);
		sbuf_arr_begin(&s->a[i]);
	}
}

void store_arrays_end(struct store *s, int n)
{
	for (int i = 0; i < n; i++)
		sbuf_arr_end(&s->a[i]);
}

static void take_items(struct store *s)
{
	for (struct chan_item *it = chan_take_all(&s->in), *next; it; it = next) {
		next = it->next;
		switch (it->kind) {
		case TO_STORE_RESULTS: {
			struct msg_list *l = it->ptr;
			if (!s->results.len && !s->rep_len)
				s->writes_since_ms = now_mono_ms();
			msg_list_concat(&s->results, l);
			free(l);
			break;
		}
		case TO_STORE_INBOUND:
			for (struct inbound *in = it->ptr, *nx; in; in = nx) {
				nx = in->next;
				in->next = NULL;
				*s->inb_tail = in;
				s->inb_tail = &in->next;
				s->inb_len++;
			}
			break;
		case TO_STORE_REPORTS:
			if (!s->results.len && !s->rep_len)
				s->writes_since_ms = now_mono_ms();
			for (struct report *r = it->ptr, *nx; r; r = nx) {
				nx = r->next;
				r->next = NULL;
				*s->rep_tail = r;
				s->rep_tail = &r->next;
				s->rep_len++;
			}
			break;
		case TO_STORE_CONN_STATE:
			s->states = xrealloc(s->states, (size_t)(s->nstates + 1) * sizeof *s->states);
			s->states[s->nstates++] = it->ptr;
			break;
		case TO_STORE_RELOAD:
			s->reload = true;
			break;
		case TO_STORE_STOP:
			s->stopping = true;
			break;
		case TO_STORE_AUTH:
			for (struct store_auth *a = it->ptr, *nx; a; a = nx) {
				nx = a->next;
				a->next = s->auth_head;
				s->auth_head = a;
			}
			break;
		case TO_STORE_SUBMIT:
			for (struct submission *sub = it->ptr, *nx; sub; sub = nx) {
				nx = sub->next;
				sub->next = NULL;
				*s->sub_tail = sub;
				s->sub_tail = &sub->next;
				s->sub_len++;
			}
			break;
		case TO_STORE_CLAIM_ROOM: {
			struct claim_demand *d = it->ptr;
			s->claim_room += d->want;
			claim_demand_free(s->claim_conns);
			s->claim_conns = d;
			break;
		}
		case TO_STORE_ACCOUNTS:
			store_accounts_free(s->accounts);
			s->accounts = it->ptr;
			break;
		case TO_STORE_QUERY:
			for (struct store_query *q = it->ptr, *nx; q; q = nx) {
				nx = q->next;
				q->next = s->query_head;
				s->query_head = q;
			}
			break;
		case TO_STORE_EVENTS_DONE:
			for (struct store_event_done *d = it->ptr, *nx; d; d = nx) {
				nx = d->next;
				d->next = s->done_head;
				s->done_head = d;
			}
			break;
		}
		free(it);
	}
}

static void read_notifies(struct store *s)
{
	if (!PQconsumeInput(s->pg))
		return;
	PGnotify *n;
	while ((n = PQnotifies(s->pg))) {
		if (strcmp(n->relname, "smspool_config") == 0)
			s->reload = true;
		else if (strcmp(n->relname, "smspool_account_events") == 0)
			s->wake_events = true;
		else if (strcmp(n->relname, "smspool_account_revoked") == 0) {
			chan_put(s->out, TO_LOOP_REVOKED, xstrdup(n->extra ? n->extra : ""));
			if (!n->extra || !*n->extra)
				s->heard_all = true;
			s->heard = xrealloc(s->heard, sizeof *s->heard * (size_t)(s->nheard + 1));
			s->heard[s->nheard++] = xstrdup(n->extra ? n->extra : "");
		}
		PQfreemem(n);
	}
}

/* How long a small batch of results and reports should still wait: a
 * result and the receipt that answers it come a moment apart, and one commit
 * for both instead of two leaves the WAL to the applications' INSERTs.  Only
 * while idle: a busy store batches by itself, since writes take longer than
 * the linger. */
static int linger_ms(struct store *s, uint64_t now)
{
	if (s->stopping || s->results.len + s->rep_len >= LINGER_MAX)
		return 0;
	uint64_t until = s->writes_since_ms + LINGER_MS;
	return until > now ? (int)(until - now) : 0;
}

/* One round of work while connected: returns -1 if the connection broke. */
static int work(struct store *s)
{
	uint64_t now = now_mono_ms();
	if (s->reload) {
		struct errbuf err;
		if (store_maint_load_config(s, &err)) {
			if (store_session_lost(s))
				return -1;
			log_error("store_config_failed", "error=\"%s\"", err.msg);
		}
		s->reload = false;
	}
	if ((s->results.len || s->rep_len) && !linger_ms(s, now) && now >= s->write_retry_at_ms &&
	    store_write_results(s))
		return -1;
	if (s->inb_len && store_write_inbound(s))
		return -1;
	if (s->nstates && store_write_states(s))
		return -1;
	if (s->lane == 0 && store_maint_work(s, now))
		return -1;
	if (s->lane == STORE_LANE_AUTH && s->auth_head && store_server_auth(s))
		return -1;
	read_notifies(s);
	return 0;
}

/* Work other than results and reports: it never lingers. */
static bool other_writes(struct store *s)
{
	return s->inb_len || s->nstates || s->auth_head || s->sub_head || s->done_head || s->query_head;
}

static bool pending_writes(struct store *s)
{
	return s->results.len || s->rep_len || other_writes(s);
}

static void give_up_pending(struct store *s)
{
	if (s->results.len)
		log_warn("store_unwritten_results", "messages=%d (they return to the queue when their lease ends)",
		         s->results.len);
	while (s->results.len)
		msg_free(msg_list_pop(&s->results));
	store_write_ack_inbound(s, s->inb_head, false);
	store_write_ack_reports(s, s->rep_head, false);
	s->inb_head = NULL;
	s->rep_head = NULL;
	store_server_fail_requests(s);
	while (s->done_head) {
		struct store_event_done *d = s->done_head;
		s->done_head = d->next;
		free(d);
	}
}

static void *store_main(void *arg)
{
	struct store *s = arg;
	uint64_t backoff = 100, stop_deadline = 0, reconnect_at = 0;
	for (;;) {
		take_items(s);
		if (s->stopping && !stop_deadline)
			stop_deadline = now_mono_ms() + 10000;
		if (!s->pg) {
			struct errbuf err;
			uint64_t t = now_mono_ms();
			if (t < reconnect_at && !(s->stopping && t > stop_deadline)) {
				/* the last connection could not write (a read-only
				 * server): the next one waits, doubling up to 5 s */
				struct pollfd p = {.fd = chan_fd(&s->in), .events = POLLIN};
				poll(&p, 1, (int)(reconnect_at - t));
				take_items(s);
				continue;
			}
			if (store_session_connect(s, false, &err) == 0) {
				log_info("store_reconnected", "instance=%s", s->cfg->instance);
				metrics_db_reconnect();
			} else {
				log_warn("store_reconnect_failed", "retry_ms=%" PRIu64 " error=\"%s\"", backoff,
				         err.msg);
				store_server_fail_requests(s);
				if (s->stopping && now_mono_ms() > stop_deadline)
					break;
				struct pollfd p = {.fd = chan_fd(&s->in), .events = POLLIN};
				poll(&p, 1, (int)backoff);
				backoff = backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff * 2;
				continue;
			}
		}
		if (work(s)) {
			log_warn("store_connection_lost", "error=\"%s\"", PQerrorMessage(s->pg));
			store_session_disconnect(s);
			reconnect_at = now_mono_ms() + backoff;
			backoff = backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff * 2;
			continue;
		}
		backoff = 100;
		if (s->stopping && !pending_writes(s))
			break;
		if (s->stopping && now_mono_ms() > stop_deadline)
			break;
		int timeout = POLL_MS;
		uint64_t now = now_mono_ms();
		bool backing_off = (s->results.len || s->rep_len) && now < s->write_retry_at_ms;
		if (backing_off && s->write_retry_at_ms - now < (uint64_t)timeout)
			timeout = (int)(s->write_retry_at_ms - now);
		/* A due claim of events with no room left waits (wake_events stays set) for the loop's
		 * next accounts (room back, through s->in) or the tick, as the claimer does: no spin. */
		bool events_due = s->wake_events && store_server_events_room(s) > 0;
		if ((pending_writes(s) && !backing_off) || other_writes(s) || events_due)
			timeout = 0;
		int linger = linger_ms(s, now_mono_ms());
		if (linger && !other_writes(s) && !events_due)
			timeout = linger;
		struct pollfd p[2] = {{.fd = chan_fd(&s->in), .events = POLLIN},
		                      {.fd = PQsocket(s->pg), .events = POLLIN}};
		if (timeout > 0 && poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
	}
	if (pending_writes(s))
		give_up_pending(s);
	if (s->pg && s->lane == 0) {
		struct errbuf err;
		if (store_session_release_claims(s->pg, s->cfg->instance, true, "store_release", &err))
			log_warn("store_release_failed", "error=\"%s\"", err.msg);
		/* Every connection has stopped (the loop stops this lane last):
		 * the exclusive ones go to another daemon at its next renewal. */
		const char *p1[] = {s->cfg->instance};
		PGresult *r = pg_query(s->pg, "SELECT smspool.release_connections($1)", 1, p1, &err);
		if (!r)
			log_warn("store_release_failed", "error=\"%s\"", err.msg);
		else if (atoi(PQgetvalue(r, 0, 0)) > 0)
			log_info("store_released_connections", "instance=%s connections=%s", s->cfg->instance,
			         PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	store_session_disconnect(s);
	chan_put(s->out, TO_LOOP_STOPPED, s);
	return NULL;
}

struct store *store_start(const struct config *cfg, struct chan *to_loop, int lane, struct errbuf *err)
{
	struct store *s = xcalloc(1, sizeof *s);
	s->cfg = cfg;
	s->lane = lane;
	s->out = to_loop;
	s->inb_tail = &s->inb_head;
	s->rep_tail = &s->rep_head;
	s->sub_tail = &s->sub_head;
	for (size_t i = 0; i < ARRAY_LEN(s->a); i++)
		sbuf_init(&s->a[i]);
	chan_init(&s->in);
	if (store_session_connect(s, true, err)) {
		chan_destroy(&s->in);
		for (size_t i = 0; i < ARRAY_LEN(s->a); i++)
			sbuf_free(&s->a[i]);
		free(s);
		return NULL;
	}
	if (pthread_create(&s->thread, NULL, store_main, s) != 0)
		abort();
	return s;
}

void store_join(struct store *s)
{
	pthread_join(s->thread, NULL);
	take_items(s);
	while (s->results.len)
		msg_free(msg_list_pop(&s->results));
	for (struct inbound *in = s->inb_head, *n; in; in = n)
		n = in->next, inbound_free(in);
	for (struct report *r = s->rep_head, *n; r; r = n)
		n = r->next, report_free(r);
	for (int i = 0; i < s->nstates; i++) {
		free(s->states[i]->name);
		free(s->states[i]->state);
		free(s->states[i]->detail);
		free(s->states[i]);
	}
	free(s->states);
	store_accounts_free(s->accounts);
	claim_demand_free(s->claim_conns);
	free(s->claim_unsure);
	access_versions_free(s->versions);
	store_session_forget_heard(s);
	while (s->auth_head) {
		struct store_auth *a = s->auth_head;
		s->auth_head = a->next;
		store_auth_free(a);
	}
	while (s->sub_head) {
		struct submission *sub = s->sub_head;
		s->sub_head = sub->next;
		submission_free(sub);
	}
	while (s->done_head) {
		struct store_event_done *d = s->done_head;
		s->done_head = d->next;
		free(d);
	}
	while (s->query_head) {
		struct store_query *q = s->query_head;
		s->query_head = q->next;
		store_query_free(q);
	}
	for (size_t i = 0; i < ARRAY_LEN(s->a); i++)
		sbuf_free(&s->a[i]);
	chan_destroy(&s->in);
	free(s);
}
