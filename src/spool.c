/* spool: see spool.h.  The loop thread: libevent runs every connection's
 * sockets and timers; the store thread is reached only through chans.  This
 * file is the loop itself: what the store sends (chan_cb), the batches that
 * go back to it (flush_cb), signals, the stop in order, and spool_run.  The
 * other jobs live beside it (spool_internal.h lists them). */
#include "spool.h"

#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "auth.h"
#include "chan.h"
#include "claimer.h"
#include "codec/utf8.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "ops_http.h"
#include "spool_internal.h"
#include "store.h"
#include "util.h"

enum {
	STOP_GRACE_MS = 15000,
	STATS_MS = 10000,
};

struct chan *spool_main_chan(struct core *k)
{
	return store_chan(k->lanes[0]);
}

void spool_wake(struct core *k)
{
	event_active(k->flush_ev, 0, 0);
}

/* Replaces *p by a copy that is valid UTF-8 without control characters
 * (see utf8_sanitize): what a peer sends reaches the database only so. */
void spool_clean(char **p, unsigned flags)
{
	if (!*p)
		return;
	char *s = utf8_sanitize(*p, flags);
	free(*p);
	*p = s;
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *k = arg;
	spool_conn_reap(k);
	for (struct conn *c = k->conns; c; c = c->next) {
		if (c->pending.len)
			spool_dispatch_conn(c);
		metrics_conn_window(c->m, c->inflight + c->unsettled, c->window);
	}
	/* Reports before results: the store may take them in two rounds and
	 * commit them in two statements.  A report committed first waits,
	 * unmatched, for its result (record_results matches it); a result
	 * committed first would leave its message sent for good if the daemon
	 * died before the report's commit (the emulator's report, made with
	 * the result, dies with the process). */
	if (k->rep_head)
		spool_dispatch_post_reports(k);
	if (k->results.len)
		spool_dispatch_post_results(k);
	if (k->inb_head) {
		chan_put(spool_main_chan(k), TO_STORE_INBOUND, k->inb_head);
		k->inb_head = NULL;
		k->inb_tail = &k->inb_head;
	}
	if (k->auth_head) {
		chan_put(store_chan(k->auth_lane), TO_STORE_AUTH, k->auth_head);
		k->auth_head = NULL;
	}
	if (k->sub_head) {
		int claim_now = 0;
		for (struct submission *sub = k->sub_head; sub; sub = sub->next)
			claim_now += sub->claim_now;
		if (claim_now && !k->stop_sent)
			spool_dispatch_post_claim_room(k, claim_now);
		chan_put(spool_main_chan(k), TO_STORE_SUBMIT, k->sub_head);
		k->sub_head = NULL;
		k->sub_tail = &k->sub_head;
	}
	if (k->done_head) {
		chan_put(spool_main_chan(k), TO_STORE_EVENTS_DONE, k->done_head);
		k->done_head = NULL;
	}
	if (k->query_head) {
		chan_put(spool_main_chan(k), TO_STORE_QUERY, k->query_head);
		k->query_head = NULL;
	}
	if (!k->stop_sent) {
		spool_dispatch_post_demand(k);
		spool_server_post_accounts(k);
	}
	/* The store stops last: after the claimer, so that no claim commits
	 * after the store has given back every claim of this instance. */
	if (k->stopping && !k->conns && k->claimer_stopped && !k->stop_sent) {
		k->stop_sent = true;
		for (int i = 1; i < k->nlanes; i++)
			chan_put(store_chan(k->lanes[i]), TO_STORE_STOP, NULL);
		chan_put(store_chan(k->auth_lane), TO_STORE_STOP, NULL);
	}
	/* Lane 0 last: its stop gives back the claims still held, which must
	 * not happen before the other lanes have written their results. */
	if (k->stop_sent && !k->main_stop_sent && k->lanes_stopped == k->nlanes - 1) {
		k->main_stop_sent = true;
		chan_put(spool_main_chan(k), TO_STORE_STOP, NULL);
	}
}

/* ---- what the store sends ---- */

static void acks(struct core *k, struct store_ack *a)
{
	while (a) {
		struct store_ack *next = a->next;
		for (struct conn *c = k->conns; c; c = c->next)
			if (c->id == a->conn_id) {
				if (!c->stopped && c->ops && c->ops->acked)
					c->ops->acked(c, a->token, a->committed);
				break;
			}
		free(a);
		a = next;
	}
}

static void settled(struct core *k, struct store_settled *list)
{
	for (struct store_settled *e = list; e; e = e->next)
		for (struct conn *c = k->conns; c; c = c->next)
			if (c->id == e->conn_id) {
				c->unsettled = c->unsettled > e->n ? c->unsettled - e->n : 0;
				break;
			}
	store_settled_free(list);
	spool_wake(k);
}

static void chan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *k = arg;
	for (struct chan_item *it = chan_take_all(&k->from_store), *next; it; it = next) {
		next = it->next;
		switch (it->kind) {
		case TO_LOOP_CLAIMED: {
			struct msg_list *l = it->ptr;
			struct msg *m;
			while ((m = msg_list_pop(l))) {
				k->claims_seen++;
				spool_dispatch_route(k, m);
			}
			free(l);
			spool_wake(k);
			break;
		}
		case TO_LOOP_DIRECT: {
			/* claimed at submit: sent like claimed messages, but not
			 * the claimer's (claims_seen counts only its claims) */
			struct store_direct *d = it->ptr;
			k->direct_granted = k->direct_granted > d->room_back ? k->direct_granted - d->room_back : 0;
			struct msg *m;
			while ((m = msg_list_pop(&d->msgs))) {
				k->claimed_at_submit++;
				spool_dispatch_route(k, m);
			}
			free(d);
			spool_wake(k);
			break;
		}
		case TO_LOOP_ACKS:
			acks(k, it->ptr);
			break;
		case TO_LOOP_SETTLED:
			settled(k, it->ptr);
			break;
		case TO_LOOP_LEASES:
			spool_conn_apply_leases(k, it->ptr);
			break;
		case TO_LOOP_REVOKED:
			spool_server_revoke_account(k, it->ptr);
			free(it->ptr);
			break;
		case TO_LOOP_CONFIG:
			spool_conn_apply_config(k, it->ptr);
			notify_ready(); /* the first time: database reached, connections started */
			break;
		case TO_LOOP_STOPPED:
			if (it->ptr == k->lanes[0])
				event_base_loopbreak(k->base);
			if (it->ptr != k->auth_lane)
				k->lanes_stopped++;
			spool_wake(k);
			break;
		case TO_LOOP_CLAIMER_STOPPED:
			k->claimer_stopped = true;
			spool_wake(k);
			break;
		case TO_LOOP_AUTH:
			for (struct store_auth_result *r = it->ptr, *nx; r; r = nx) {
				nx = r->next;
				struct conn *c = spool_conn_by_id(k, r->conn_id);
				if (auth_end(k->auth, r->conn_id, r->token, r->info, r->reason) && c &&
				    c->ops->authenticated)
					c->ops->authenticated(c, r->token, r->info, r->reason);
				account_info_free(r->info);
				free(r->reason);
				free(r);
			}
			break;
		case TO_LOOP_SUBMITTED:
			for (struct store_submit_result *r = it->ptr, *nx; r; r = nx) {
				nx = r->next;
				struct conn *c = spool_conn_by_id(k, r->conn_id);
				struct submit_result res = {.message_id = r->message_id,
				                            .error = (enum submit_error)r->error,
				                            .field = (enum submit_field)r->field,
				                            .text = r->text,
				                            .taken_id = r->taken_id};
				if (c && c->ops->submitted)
					c->ops->submitted(c, r->token, &res);
				free(r->text);
				free(r);
			}
			break;
		case TO_LOOP_QUERIED:
			for (struct store_query *q = it->ptr, *nx; q; q = nx) {
				nx = q->next;
				struct conn *c = spool_conn_by_id(k, q->conn_id);
				if (c && c->ops->queried)
					c->ops->queried(c, q->token, q->answer);
				store_query_free(q);
			}
			break;
		case TO_LOOP_EVENTS:
			for (struct account_event *e = it->ptr, *nx; e; e = nx) {
				nx = e->next;
				e->next = NULL;
				k->events_seen++;
				spool_server_route_event(k, e);
			}
			spool_wake(k);
			break;
		case TO_LOOP_FATAL:
			log_error("fatal", "reason=\"%s\"", (char *)it->ptr);
			free(it->ptr);
			break;
		}
		free(it);
	}
}

/* ---- signals and timers ---- */

static void begin_stop(struct core *k)
{
	if (k->stopping)
		return;
	log_info("daemon_stopping", "instance=%s", k->cfg->instance);
	k->stopping = true;
	notify_stopping();
	chan_put(claimer_chan(k->claimer), TO_CLAIMER_STOP, NULL);
	struct timeval grace = {STOP_GRACE_MS / 1000, 0};
	evtimer_add(k->grace_ev, &grace);
	for (struct conn *c = k->conns; c; c = c->next)
		spool_conn_stop(c, NULL);
	spool_wake(k);
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *k = arg;
	log_warn("daemon_stop_forced", "reason=\"connections did not stop in time\"");
	for (struct conn *c = k->conns; c; c = c->next)
		c->stopped = true;
	spool_wake(k);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct core *k = arg;
	if (sig == SIGHUP) {
		log_info("daemon_reload", "instance=%s", k->cfg->instance);
		chan_put(spool_main_chan(k), TO_STORE_RELOAD, NULL);
		notify_reloading();
		return;
	}
	if (k->stopping) {
		log_warn("daemon_exit_now", "reason=\"second signal\"");
		exit(1);
	}
	begin_stop(k);
}

static void stats_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *k = arg;
	if (k->stat_sent || k->stat_failed || k->stat_in || k->stat_reports)
		log_info("stats",
		         "interval_s=%d sent=%" PRIu64 " failed=%" PRIu64 " inbound=%" PRIu64 " reports=%" PRIu64,
		         STATS_MS / 1000, k->stat_sent, k->stat_failed, k->stat_in, k->stat_reports);
	k->stat_sent = k->stat_failed = k->stat_in = k->stat_reports = 0;
}

static void signals_held(int how)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(how, &set, NULL);
}

void spool_hold_signals(void)
{
	signals_held(SIG_BLOCK);
}

int spool_run(struct config *cfg)
{
	struct core k = {0};
	k.cfg = cfg;
	k.no_route_hold_s = 10;
	k.inb_tail = &k.inb_head;
	k.rep_tail = &k.rep_head;
	k.sub_tail = &k.sub_head;
	k.last_events_want = -1;
	k.rng = (uint64_t)now_wall_ms() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
	k.last_want = -1;
	signal(SIGPIPE, SIG_IGN);
	k.base = event_base_new();
	if (!k.base)
		abort();
	k.auth = auth_new(k.base, spool_server_auth_ask, spool_server_auth_answer, &k);
	chan_init(&k.from_store);
	struct errbuf err;
	k.nlanes = cfg->write_connections > 0 ? cfg->write_connections : 1;
	for (int i = 0; i <= k.nlanes; i++) {
		struct store *lane = store_start(cfg, &k.from_store, i < k.nlanes ? i : STORE_LANE_AUTH, &err);
		if (i < k.nlanes)
			k.lanes[i] = lane;
		else
			k.auth_lane = lane;
		if (!lane) {
			log_error("daemon_start_failed", "error=\"%s\"", err.msg);
			for (int j = i - 1; j >= 0; j--) {
				chan_put(store_chan(k.lanes[j]), TO_STORE_STOP, NULL);
				store_join(k.lanes[j]);
			}
			for (struct chan_item *it = chan_take_all(&k.from_store), *next; it; it = next)
				next = it->next, free(it);
			chan_destroy(&k.from_store);
			event_base_free(k.base);
			return 1;
		}
	}
	k.claimer = claimer_start(cfg, &k.from_store);
	if (cfg->metrics_listen && !(k.ops = ops_http_start(cfg, &err)))
		log_error("ops_http_listen_failed", "error=\"%s\"", err.msg);
	notify_start(k.base);
	log_info("daemon_started", "instance=%s pid=%d", cfg->instance, (int)getpid());
	k.chan_ev = event_new(k.base, chan_fd(&k.from_store), EV_READ | EV_PERSIST, chan_cb, &k);
	k.flush_ev = event_new(k.base, -1, 0, flush_cb, &k);
	k.grace_ev = evtimer_new(k.base, grace_cb, &k);
	k.lease_ev = evtimer_new(k.base, spool_conn_lease_cb, &k);
	k.lease_force_ev = evtimer_new(k.base, spool_conn_lease_force_cb, &k);
	k.stats_ev = event_new(k.base, -1, EV_PERSIST, stats_cb, &k);
	const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++) {
		k.sig_ev[i] = evsignal_new(k.base, sigs[i], signal_cb, &k);
		event_add(k.sig_ev[i], NULL);
	}
	signals_held(SIG_UNBLOCK); /* one asked for during start-up is delivered now, to signal_cb */
	event_add(k.chan_ev, NULL);
	struct timeval stats = {STATS_MS / 1000, 0};
	event_add(k.stats_ev, &stats);

	event_base_dispatch(k.base);

	/* The store has stopped; free what is left. */
	while (k.conns) {
		struct conn *c = k.conns;
		k.conns = c->next;
		spool_dispatch_release_pending(c);
		spool_conn_free(c);
	}
	store_join(k.auth_lane);
	for (int i = k.nlanes - 1; i >= 0; i--)
		store_join(k.lanes[i]);
	claimer_join(k.claimer);
	ops_http_stop(k.ops);
	notify_stop();

	for (struct chan_item *it = chan_take_all(&k.from_store), *next; it; it = next) {
		next = it->next;
		if (it->kind == TO_LOOP_CLAIMED) {
			struct msg_list *l = it->ptr;
			while (l->len)
				msg_free(msg_list_pop(l));
			free(l);
		} else if (it->kind == TO_LOOP_DIRECT) {
			struct store_direct *d = it->ptr;
			while (d->msgs.len)
				msg_free(msg_list_pop(&d->msgs));
			free(d);
		} else if (it->kind == TO_LOOP_ACKS) {
			for (struct store_ack *a = it->ptr, *n; a; a = n)
				n = a->next, free(a);
		} else if (it->kind == TO_LOOP_CONFIG) {
			store_config_free(it->ptr);
		} else if (it->kind == TO_LOOP_LEASES) {
			store_leases_free(it->ptr);
		} else if (it->kind == TO_LOOP_SETTLED) {
			store_settled_free(it->ptr);
		} else if (it->kind == TO_LOOP_FATAL || it->kind == TO_LOOP_REVOKED) {
			free(it->ptr);
		} else if (it->kind == TO_LOOP_AUTH) {
			for (struct store_auth_result *r = it->ptr, *n; r; r = n)
				n = r->next, account_info_free(r->info), free(r->reason), free(r);
		} else if (it->kind == TO_LOOP_SUBMITTED) {
			for (struct store_submit_result *r = it->ptr, *n; r; r = n)
				n = r->next, free(r->text), free(r);
		} else if (it->kind == TO_LOOP_QUERIED) {
			for (struct store_query *q = it->ptr, *n; q; q = n)
				n = q->next, store_query_free(q);
		} else if (it->kind == TO_LOOP_EVENTS) {
			for (struct account_event *e = it->ptr, *n; e; e = n)
				n = e->next, account_event_free(e);
		}
		free(it);
	}
	for (struct store_auth *a = k.auth_head, *n; a; a = n)
		n = a->next, store_auth_free(a);
	for (struct submission *sub = k.sub_head, *n; sub; sub = n)
		n = sub->next, submission_free(sub);
	for (struct store_event_done *d = k.done_head, *n; d; d = n)
		n = d->next, free(d);
	for (struct store_query *q = k.query_head, *n; q; q = n)
		n = q->next, store_query_free(q);
	for (int i = 0; i < k.nattached; i++)
		free(k.attached[i].account);
	free(k.attached);
	while (k.results.len)
		msg_free(msg_list_pop(&k.results));
	for (struct inbound *in = k.inb_head, *n; in; in = n)
		n = in->next, inbound_free(in);
	for (struct report *r = k.rep_head, *n; r; r = n)
		n = r->next, report_free(r);
	free(k.last_conns);
	for (int i = 0; i < 3; i++)
		event_free(k.sig_ev[i]);
	event_free(k.chan_ev);
	event_free(k.flush_ev);
	event_free(k.grace_ev);
	event_free(k.lease_ev);
	event_free(k.lease_force_ev);
	store_config_free(k.config);
	store_leases_free(k.leases);
	event_free(k.stats_ev);
	auth_free(k.auth);
	chan_destroy(&k.from_store);
	event_base_free(k.base);
	log_info("daemon_claims", "instance=%s claimed=%" PRIu64 " claimed_at_submit=%" PRIu64, cfg->instance,
	         k.claims_seen, k.claimed_at_submit);
	log_info("daemon_stopped", "instance=%s", cfg->instance);
	return 0;
}
