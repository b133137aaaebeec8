/* spool: see spool.h.  The loop thread: libevent runs every connection's
 * sockets and timers; the store thread is reached only through chans. */
#include "spool.h"

#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "chan.h"
#include "claimer.h"
#include "codec/utf8.h"
#include "driver.h"
#include "log.h"
#include "metrics.h"
#include "msg_parts.h"
#include "notify.h"
#include "ops_http.h"
#include "policy.h"
#include "router.h"
#include "secrets.h"
#include "store.h"
#include "util.h"

enum {
	DEMAND_MAX = 4000, /* messages the loop asks for at most */
	STOP_GRACE_MS = 15000,
	STATS_MS = 10000,
};

struct conn {
	struct core *core;
	uint64_t id;
	char *name, *type, *settings;
	const struct driver_ops *ops;
	void *conf, *drv;
	enum conn_state state;
	bool opened, stopping, stopped, broken;
	bool exclusive; /* held through a lease: stopped when it ends (store_leases) */
	int window;
	double throughput, tokens;
	uint64_t tokens_at_ms;
	struct event *throttle_ev;
	int inflight;  /* handed to the driver, not completed */
	int unsettled; /* completed, result not committed yet: still in the window */
	struct msg_list pending;
	struct store_conn_row *replacement; /* opened once this one has stopped */
	struct metrics_conn *m;
	struct conn *next;
};

struct core {
	struct config *cfg;
	int no_route_hold_s; /* smspool.config: a message whose connections are all down waits this long */
	struct event_base *base;
	struct chan from_store;
	/* The writers (store.h): lanes[0] writes everything else too. */
	struct store *lanes[WRITE_CONNECTIONS_MAX];
	int nlanes, lanes_stopped;
	/* Logins only (STORE_LANE_AUTH): a flood of them never delays lane 0. */
	struct store *auth_lane;
	bool main_stop_sent;
	struct claimer *claimer;
	bool claimer_stopped;
	struct ops_http *ops;
	struct event *chan_ev, *flush_ev, *stats_ev, *grace_ev, *sig_ev[4];
	struct conn *conns;
	uint64_t next_conn_id, rng;
	struct msg_list results;
	struct inbound *inb_head, **inb_tail;
	struct report *rep_head, **rep_tail;
	uint64_t claims_seen;
	int last_want;
	char *last_conns;
	bool stopping, stop_sent;
	uint64_t stat_sent, stat_failed, stat_in, stat_reports;

	/* High availability: the last configuration, and the exclusive
	 * connections this daemon holds until lease_deadline_ms. */
	struct store_config *config;
	struct store_leases *leases;
	struct event *lease_ev, *lease_force_ev;

	/* Server side. */
	struct auth *auth; /* the login front and account policy (auth.h, policy.h) */
	struct store_auth *auth_head;
	struct submission *sub_head, **sub_tail;
	struct store_event_done *done_head;
	struct store_query *query_head;
	struct attach *attached; /* accounts with a session able to take events */
	int nattached;
	bool accounts_changed;
	int events_out; /* handed to drivers, not yet done */
	uint64_t events_seen;
	int last_events_want;
};

struct attach {
	char *account;
	struct conn *conn;
	int refs;
};

enum { EVENTS_MAX = 1000 /* account events held by drivers at once */ };

/* ---- what drivers see ---- */

const char *conn_name(const struct conn *c)
{
	return c->name;
}
const void *conn_conf(const struct conn *c)
{
	return c->conf;
}
void *conn_driver_data(const struct conn *c)
{
	return c->drv;
}
void conn_set_driver_data(struct conn *c, void *data)
{
	c->drv = data;
}
struct event_base *conn_event_base(const struct conn *c)
{
	return c->core->base;
}
const char *conn_instance(const struct conn *c)
{
	return c->core->cfg->instance;
}

static struct chan *main_chan(struct core *k)
{
	return store_chan(k->lanes[0]);
}

static void wake(struct core *k)
{
	event_active(k->flush_ev, 0, 0);
}

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
	wake(k);
}

static void release(struct core *k, struct msg *m, int after_s)
{
	msg_set_failed(m, MSG_RELEASE, NULL, NULL);
	m->retry_after_s = after_s;
	finish(k, m);
}

static const char *const state_names[] = {"down", "connecting", "up", "stopping"};

static void post_state(struct conn *c, const char *state, const char *detail)
{
	struct store_conn_state *st = xcalloc(1, sizeof *st);
	st->name = xstrdup(c->name);
	st->state = xstrdup(state);
	st->detail = detail ? xstrdup(detail) : NULL;
	chan_put(main_chan(c->core), TO_STORE_CONN_STATE, st);
}

static void release_pending(struct conn *c)
{
	struct msg *m;
	while ((m = msg_list_pop(&c->pending)))
		release(c->core, m, 0);
}

void core_conn_state(struct conn *c, enum conn_state state, const char *detail)
{
	if (c->stopped)
		return;
	char q[256];
	log_info("conn_state", "conn=%s state=%s detail=%s", c->name, state_names[state],
	         log_quote(detail ? detail : "", q, sizeof q));
	bool was_up = c->state == CONN_UP;
	c->state = state;
	post_state(c, state_names[state], detail);
	metrics_conn_state(c->m, state, detail);
	if (was_up && state != CONN_UP)
		release_pending(c); /* they come back and fail over */
	wake(c->core);
}

/* Replaces *p by a copy that is valid UTF-8 without control characters
 * (see utf8_sanitize): what a peer sends reaches the database only so. */
static void clean(char **p, unsigned flags)
{
	if (!*p)
		return;
	char *s = utf8_sanitize(*p, flags);
	free(*p);
	*p = s;
}

void core_complete(struct conn *c, struct msg *m)
{
	clean(&m->remote_ids, UTF8_KEEP_US);
	clean(&m->error_code, 0);
	clean(&m->error_text, 0);
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
	clean(&in->sender, 0);
	clean(&in->recipient, 0);
	clean(&in->body, UTF8_KEEP_NEWLINES);
	clean(&in->payload, 0);
	clean(&in->udh, 0);
	clean(&in->encoding, 0);
	free(in->conn);
	in->conn = xstrdup(c->name);
	in->conn_id = c->id;
	in->token = token;
	in->next = NULL;
	*k->inb_tail = in;
	k->inb_tail = &in->next;
	k->stat_in++;
	metrics_conn_inbound(c->m);
	wake(k);
}

void core_report(struct conn *c, struct report *r, uint64_t token)
{
	struct core *k = c->core;
	clean(&r->remote_id, 0);
	clean(&r->state, 0);
	clean(&r->error_code, 0);
	clean(&r->text, 0);
	free(r->conn);
	r->conn = xstrdup(c->name);
	r->conn_id = c->id;
	r->token = token;
	r->next = NULL;
	*k->rep_tail = r;
	k->rep_tail = &r->next;
	k->stat_reports++;
	metrics_conn_report(c->m);
	wake(k);
}

void core_stopped(struct conn *c)
{
	c->stopped = true;
	wake(c->core);
}

/* ---- server side ---- */

void core_authenticate(struct conn *c, const char *account, const char *password, const char *peer_addr, uint64_t token)
{
	struct core *k = c->core;
	/* Through the account policy, which asks the database (auth_ask) or
	 * answers a refusal itself, later (auth_answer). */
	auth_begin(k->auth, c->name, c->id, token, account, password, peer_addr);
}

static void auth_ask(void *arg, uint64_t conn_id, uint64_t token, const char *account, const char *password,
                     const char *peer_addr)
{
	struct core *k = arg;
	struct store_auth *a = xcalloc(1, sizeof *a);
	a->conn_id = conn_id;
	a->token = token;
	a->account = utf8_sanitize(account ? account : "", 0);
	a->password = password ? utf8_sanitize(password, 0) : NULL; /* NULL: a login by address */
	a->peer = peer_addr ? xstrdup(peer_addr) : NULL;
	a->next = k->auth_head;
	k->auth_head = a;
	wake(k);
}

bool core_account_bind(struct conn *c, const struct account_info *a)
{
	return policy_bind(auth_policy(c->core->auth), a);
}

void core_account_unbind(struct conn *c, const char *account)
{
	policy_unbind(auth_policy(c->core->auth), account);
}

int core_account_take(struct conn *c, const char *account, double rate, int n)
{
	return policy_take(auth_policy(c->core->auth), account, rate, n, now_mono_ms());
}

void core_submit(struct conn *c, struct submission *sub, uint64_t token)
{
	struct core *k = c->core;
	clean(&sub->recipient, 0);
	clean(&sub->sender, 0);
	clean(&sub->body, UTF8_KEEP_NEWLINES);
	clean(&sub->payload, 0);
	clean(&sub->udh, 0);
	clean(&sub->encoding, 0);
	clean(&sub->client_ref, 0);
	sub->conn_id = c->id;
	sub->token = token;
	sub->next = NULL;
	*k->sub_tail = sub;
	k->sub_tail = &sub->next;
	wake(k);
}

void core_account_attach(struct conn *c, const char *account)
{
	struct core *k = c->core;
	for (int i = 0; i < k->nattached; i++)
		if (k->attached[i].conn == c && strcmp(k->attached[i].account, account) == 0) {
			k->attached[i].refs++;
			return;
		}
	k->attached = xrealloc(k->attached, (size_t)(k->nattached + 1) * sizeof *k->attached);
	k->attached[k->nattached++] = (struct attach){xstrdup(account), c, 1};
	k->accounts_changed = true;
	log_debug("account_attach", "conn=%s account=%s", c->name, account);
	wake(k);
}

void core_account_detach(struct conn *c, const char *account)
{
	struct core *k = c->core;
	for (int i = 0; i < k->nattached; i++)
		if (k->attached[i].conn == c && strcmp(k->attached[i].account, account) == 0) {
			if (--k->attached[i].refs > 0)
				return;
			free(k->attached[i].account);
			k->attached[i] = k->attached[--k->nattached];
			k->accounts_changed = true;
			log_debug("account_detach", "conn=%s account=%s", c->name, account);
			wake(k);
			return;
		}
}

void core_event_done(struct conn *c, const struct account_event *ev, bool delivered)
{
	struct core *k = c->core;
	struct store_event_done *d = xcalloc(1, sizeof *d);
	d->id = ev->id;
	d->delivered = delivered;
	d->next = k->done_head;
	k->done_head = d;
	if (k->events_out > 0)
		k->events_out--;
	wake(k);
}

void core_query(struct conn *c, const char *account, int64_t message_id, uint64_t token)
{
	struct core *k = c->core;
	struct store_query *q = xcalloc(1, sizeof *q);
	q->conn_id = c->id;
	q->token = token;
	q->account = xstrdup(account ? account : "");
	q->message_id = message_id;
	q->next = k->query_head;
	k->query_head = q;
	wake(k);
}

static void detach_all(struct core *k, struct conn *c)
{
	for (int i = 0; i < k->nattached;) {
		if (k->attached[i].conn == c) {
			log_warn("driver_contract", "conn=%s problem=\"account %s still attached at stop\"", c->name,
			         k->attached[i].account);
			free(k->attached[i].account);
			k->attached[i] = k->attached[--k->nattached];
			k->accounts_changed = true;
		} else {
			i++;
		}
	}
}

/* Hands an event to a connection where its account is attached (the one
 * that has waited longest, so that several share the load), or gives it back. */
static void route_event(struct core *k, struct account_event *ev)
{
	struct conn *c = NULL;
	int pick = -1;
	for (int i = 0; i < k->nattached; i++)
		if (strcmp(k->attached[i].account, ev->account) == 0 && !k->attached[i].conn->stopping) {
			pick = i;
			break;
		}
	if (pick >= 0) {
		c = k->attached[pick].conn;
		/* Move it to the end: round robin across connections. */
		struct attach a = k->attached[pick];
		memmove(&k->attached[pick], &k->attached[pick + 1],
		        (size_t)(k->nattached - pick - 1) * sizeof *k->attached);
		k->attached[k->nattached - 1] = a;
	}
	if (!c || !c->ops->deliver || k->stopping) {
		struct store_event_done *d = xcalloc(1, sizeof *d);
		d->id = ev->id;
		d->delivered = false;
		d->next = k->done_head;
		k->done_head = d;
		account_event_free(ev);
		return;
	}
	ev->conn_id = c->id;
	k->events_out++;
	c->ops->deliver(c, ev);
}

static struct conn *conn_by_id(struct core *k, uint64_t id)
{
	for (struct conn *c = k->conns; c; c = c->next)
		if (c->id == id)
			return c->stopped ? NULL : c;
	return NULL;
}

static void post_accounts(struct core *k)
{
	int want = k->stopping ? 0 : EVENTS_MAX - k->events_out;
	if (want < 0)
		want = 0;
	if (!k->accounts_changed && want == k->last_events_want)
		return;
	/* Small changes of room are not worth a message; 0 and full are. */
	if (!k->accounts_changed && want != 0 && want != EVENTS_MAX && abs(want - k->last_events_want) < 100)
		return;
	struct store_accounts *a = xcalloc(1, sizeof *a);
	a->names = xcalloc((size_t)k->nattached + 1, sizeof *a->names);
	for (int i = 0; i < k->nattached; i++) {
		bool dup = false;
		for (int j = 0; j < a->n; j++)
			dup |= strcmp(a->names[j], k->attached[i].account) == 0;
		if (!dup)
			a->names[a->n++] = xstrdup(k->attached[i].account);
	}
	a->want = want;
	a->claims_seen = k->events_seen;
	k->accounts_changed = false;
	k->last_events_want = want;
	chan_put(main_chan(k), TO_STORE_ACCOUNTS, a);
}

/* ---- connections ---- */

static struct conn *find_conn(struct core *k, const char *name)
{
	for (struct conn *c = k->conns; c; c = c->next)
		if (!c->stopping && strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Server-side types (smpp-server, http-api) take messages in; they send none. */
static bool conn_sends(const struct conn *c)
{
	return c->ops && c->ops->submit;
}

static bool conn_usable(const char *name, void *ctx)
{
	struct conn *c = find_conn(ctx, name);
	return c && c->state == CONN_UP && !c->stopping && conn_sends(c);
}

static void dispatch(struct conn *c);

static void throttle_cb(evutil_socket_t fd, short what, void *arg)
{
	dispatch(arg);
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

static void dispatch(struct conn *c)
{
	int64_t now_s = now_wall_ms() / 1000;
	while (c->state == CONN_UP && !c->stopping && c->pending.len) {
		/* A message goes when its PDUs fit the window, or alone when
		 * it has more parts than the whole window. */
		int used = c->inflight + c->unsettled;
		if (used >= c->window || (used > 0 && used + slots_of(c->pending.head) > c->window))
			return;
		if (c->throughput > 0) {
			uint64_t now = now_mono_ms();
			double burst = c->throughput / 10 > 1 ? c->throughput / 10 : 1;
			c->tokens += (double)(now - c->tokens_at_ms) * c->throughput / 1000.0;
			c->tokens_at_ms = now;
			if (c->tokens > burst)
				c->tokens = burst;
			if (c->tokens < 1) {
				double wait_ms = (1 - c->tokens) * 1000.0 / c->throughput + 1;
				struct timeval tv = {(time_t)(wait_ms / 1000),
				                     (suseconds_t)((long)wait_ms % 1000) * 1000};
				if (!evtimer_pending(c->throttle_ev, NULL)) {
					evtimer_add(c->throttle_ev, &tv);
					metrics_conn_rate_limited(c->m);
				}
				return;
			}
		}
		struct msg *m = msg_list_pop(&c->pending);
		if (c->throughput > 0) /* per PDU too; the bucket may go into debt, the next waits for it */
			c->tokens -= slots_of(m);
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

/* connections.redirect_to of a connection (maintenance), or NULL. */
static const char *redirect_of(struct core *k, const char *name)
{
	for (int i = 0; k->config && i < k->config->n; i++)
		if (k->config->rows[i].redirect_to && strcmp(k->config->rows[i].name, name) == 0)
			return k->config->rows[i].redirect_to;
	return NULL;
}

/* Maps each route candidate under a maintenance redirect to its target
 * (one hop).  Returns the origins (NULL where not redirected), or NULL when
 * nothing was redirected. */
static char **redirect(struct core *k, struct msg *m)
{
	char **from = NULL;
	for (int i = 0; i < m->nroute; i++) {
		const char *to = redirect_of(k, m->route[i].conn);
		if (!to)
			continue;
		if (!from)
			from = xcalloc((size_t)m->nroute, sizeof *from);
		from[i] = m->route[i].conn;
		m->route[i].conn = xstrdup(to);
	}
	return from;
}

static void route(struct core *k, struct msg *m)
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
	struct conn *c = find_conn(k, m->route[idx].conn);
	log_debug("route", "id=%" PRId64 " conn=%s", m->id, c->name);
	msg_list_push(&c->pending, m);
}

static struct store_conn_row *row_dup(const struct store_conn_row *r)
{
	struct store_conn_row *d = xmalloc(sizeof *d);
	*d = *r;
	d->name = xstrdup(r->name);
	d->type = xstrdup(r->type);
	d->settings = xstrdup(r->settings);
	d->redirect_to = r->redirect_to ? xstrdup(r->redirect_to) : NULL;
	return d;
}

static void row_free(struct store_conn_row *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->type);
	free(r->settings);
	free(r->redirect_to);
	free(r);
}

static void conn_apply_limits(struct conn *c, const struct store_conn_row *row)
{
	c->window = row->window > 0 ? row->window : 1;
	if (c->throughput != row->throughput) {
		c->throughput = row->throughput;
		c->tokens = 1;
		c->tokens_at_ms = now_mono_ms();
	}
}

static void conn_create(struct core *k, const struct store_conn_row *row)
{
	struct conn *c = xcalloc(1, sizeof *c);
	c->core = k;
	c->id = ++k->next_conn_id;
	c->name = xstrdup(row->name);
	c->type = xstrdup(row->type);
	c->settings = xstrdup(row->settings);
	c->exclusive = row->exclusive;
	c->throttle_ev = evtimer_new(k->base, throttle_cb, c);
	c->m = metrics_conn_get(row->name, row->type);
	conn_apply_limits(c, row);
	c->next = k->conns;
	k->conns = c;

	struct errbuf err = {""};
	c->ops = driver_find(row->type);
	if (!c->ops) {
		errbuf_set(&err, "connections.type: no driver for \"%s\" in this build", row->type);
		goto broken;
	}
	c->conf = xcalloc(1, c->ops->conf_size ? c->ops->conf_size : 1);
	if (secrets_settings_parse(c->ops->settings, row->settings, c->conf, &err))
		goto broken;
	if (c->ops->check && c->ops->check(c->conf, &err))
		goto broken;
	log_info("conn_open", "conn=%s type=%s window=%d throughput=%g", c->name, c->type, c->window, c->throughput);
	c->state = CONN_CONNECTING;
	post_state(c, "connecting", NULL);
	if (c->ops->open(c)) {
		errbuf_set(&err, "the driver could not start");
		goto broken;
	}
	c->opened = true;
	return;
broken : {
	char q[300];
	log_error("conn_broken", "conn=%s error=%s", c->name, log_quote(err.msg, q, sizeof q));
	c->broken = true;
	c->state = CONN_DOWN;
	post_state(c, "error", err.msg);
}
}

static void conn_stop(struct conn *c, struct store_conn_row *replacement)
{
	if (c->stopping) {
		row_free(c->replacement);
		c->replacement = replacement;
		return;
	}
	log_info("conn_stop", "conn=%s", c->name);
	c->stopping = true;
	c->replacement = replacement;
	release_pending(c);
	evtimer_del(c->throttle_ev);
	if (!c->opened || c->stopped) {
		c->stopped = true;
		wake(c->core);
		return;
	}
	c->state = CONN_STOPPING;
	c->ops->stop(c);
}

static void conn_free(struct conn *c)
{
	if (c->opened && c->ops->close)
		c->ops->close(c);
	if (c->conf) {
		if (c->ops)
			settings_free(c->ops->settings, c->conf);
		free(c->conf);
	}
	if (c->inflight)
		log_error("driver_contract", "conn=%s problem=\"stopped with %d messages not completed\"", c->name,
		          c->inflight);
	event_free(c->throttle_ev);
	metrics_conn_gone(c->m);
	row_free(c->replacement);
	free(c->name);
	free(c->type);
	free(c->settings);
	free(c);
}

static bool lease_held(struct core *k, const char *name);

/* Frees stopped connections, opening their replacements. */
static void reap(struct core *k)
{
	for (struct conn **pp = &k->conns; *pp;) {
		struct conn *c = *pp;
		if (!c->stopped || !c->stopping) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		detach_all(k, c);
		struct store_conn_row *rep = c->replacement;
		c->replacement = NULL;
		/* an exclusive one only while its lease holds (it may have
		 * ended while the old instance was stopping) */
		bool reopen = rep && !k->stopping && (!rep->exclusive || lease_held(k, rep->name));
		if (!reopen && !k->stopping)
			post_state(c, "down", "stopped");
		conn_free(c);
		if (reopen)
			conn_create(k, rep);
		row_free(rep);
	}
}

/* A login refused by the account policy (auth.c), after its delay. */
static void auth_answer(void *arg, uint64_t conn_id, uint64_t token, const char *reason)
{
	struct core *k = arg;
	struct conn *c = conn_by_id(k, conn_id);
	if (c && c->ops->authenticated)
		c->ops->authenticated(c, token, NULL, reason);
}

/* An account's password, state, addresses or connections changed (a
 * NOTIFY from smspool.accounts_revoke): no cached login of it survives,
 * and every server-side connection ends its live sessions, which then bind
 * again under the new rules. */
static void revoke_account(struct core *k, const char *account)
{
	char q[80];
	policy_forget_logins(auth_policy(k->auth));
	int n = 0;
	for (struct conn *c = k->conns; c; c = c->next)
		if (!c->stopping && c->ops->account_revoked) {
			c->ops->account_revoked(c, account);
			n++;
		}
	log_info("account_revoked", "account=%s connections=%d", *account ? log_quote(account, q, sizeof q) : "*", n);
}

static bool lease_held(struct core *k, const char *name)
{
	if (!k->leases || now_mono_ms() >= k->leases->deadline_ms)
		return false;
	for (int i = 0; i < k->leases->n; i++)
		if (strcmp(k->leases->names[i], name) == 0)
			return true;
	return false;
}

/* Whether this daemon runs the connection now: enabled, allowed here by
 * connections.daemons, and, if exclusive, under a lease of ours. */
static bool runnable(struct core *k, const struct store_conn_row *row)
{
	return row->enabled && row->here && (!row->exclusive || lease_held(k, row->name));
}

/* Starts and stops connections to match the configuration and the leases. */
static void apply_conns(struct core *k)
{
	struct store_config *cfg = k->config;
	if (k->stopping || !cfg)
		return;
	for (struct conn *c = k->conns; c; c = c->next) {
		if (c->stopping)
			continue;
		const struct store_conn_row *row = NULL;
		for (int i = 0; i < cfg->n; i++)
			if (strcmp(cfg->rows[i].name, c->name) == 0)
				row = &cfg->rows[i];
		if (!row || !runnable(k, row)) {
			if (row && row->enabled && row->here && row->exclusive)
				log_warn("conn_lease_lost", "conn=%s instance=%s", c->name, k->cfg->instance);
			conn_stop(c, NULL);
			if (c->exclusive && k->leases) {
				/* Another daemon may take it once the database's lease
				 * ends: it is closed by then even if its driver is slow. */
				uint64_t ms = k->leases->margin_ms / 2;
				struct timeval t = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
				evtimer_add(k->lease_force_ev, &t);
			}
		} else if (strcmp(row->type, c->type) || strcmp(row->settings, c->settings) ||
		           row->exclusive != c->exclusive)
			conn_stop(c, row_dup(row));
		else
			conn_apply_limits(c, row);
	}
	for (int i = 0; i < cfg->n; i++) {
		struct store_conn_row *row = &cfg->rows[i];
		if (!runnable(k, row) || find_conn(k, row->name))
			continue;
		if (row->exclusive)
			log_info("conn_lease_taken", "conn=%s instance=%s", row->name, k->cfg->instance);
		bool replacing = false;
		for (struct conn *c = k->conns; c; c = c->next)
			if (c->stopping && strcmp(c->name, row->name) == 0 && c->replacement)
				replacing = true;
		if (!replacing)
			conn_create(k, row);
	}
	wake(k);
}

static void apply_config(struct core *k, struct store_config *cfg)
{
	/* Accounts may have changed (every change notifies): no refused
	 * login or blocked address outlives a corrected password or list. */
	policy_forget_logins(auth_policy(k->auth));
	for (int i = 0; i < cfg->n; i++) { /* maintenance redirects that begin or end */
		const char *was = k->config ? redirect_of(k, cfg->rows[i].name) : NULL, *now = cfg->rows[i].redirect_to;
		if (now && (!was || strcmp(was, now)))
			log_info("conn_redirect", "conn=%s to=%s", cfg->rows[i].name, now);
		else if (!now && was)
			log_info("conn_redirect_end", "conn=%s", cfg->rows[i].name);
	}
	store_config_free(k->config);
	k->config = cfg;
	if (k->stopping)
		return;
	k->no_route_hold_s = cfg->no_route_hold_s;
	apply_conns(k);
}

/* A renewal from the store: the leases hold until its deadline. */
static void apply_leases(struct core *k, struct store_leases *l)
{
	store_leases_free(k->leases);
	k->leases = l;
	uint64_t now = now_mono_ms(), in = l->deadline_ms > now ? l->deadline_ms - now : 0;
	struct timeval t = {(time_t)(in / 1000), (suseconds_t)(in % 1000 * 1000)};
	evtimer_add(k->lease_ev, &t);
	apply_conns(k);
}

/* No renewal came in time (the database is out of reach): stop what we
 * hold before the lease can go to another daemon. */
static void lease_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *k = arg;
	/* libevent's clock (CLOCK_MONOTONIC_COARSE) may fire a few ms before
	 * now_mono_ms() reaches the deadline: then lease_held() still says
	 * yes and nothing would stop.  Wait for the rest. */
	uint64_t now = now_mono_ms();
	if (k->leases && now < k->leases->deadline_ms) {
		uint64_t in = k->leases->deadline_ms - now + 1;
		struct timeval t = {(time_t)(in / 1000), (suseconds_t)(in % 1000 * 1000)};
		evtimer_add(k->lease_ev, &t);
		return;
	}
	if (k->leases && k->leases->n)
		log_warn("daemon_lease_expired", "instance=%s connections=%d (not renewed in time)", k->cfg->instance,
		         k->leases->n);
	apply_conns(k);
}

/* An exclusive connection that lost its lease and has not stopped yet is
 * closed now, as grace_cb does at the end of a daemon. */
static void lease_force_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *k = arg;
	for (struct conn *c = k->conns; c; c = c->next)
		if (c->exclusive && c->stopping && !c->stopped) {
			log_warn("conn_stop_forced", "conn=%s reason=\"lease ends\"", c->name);
			c->stopped = true;
		}
	wake(k);
}

/* ---- batches to the store ---- */

static void post_demand(struct core *k)
{
	int want = 0;
	struct claim_demand *d = xcalloc(1, sizeof *d);
	int n = 0;
	for (struct conn *c = k->conns; c; c = c->next)
		n++;
	d->conns = xcalloc((size_t)n + 1, sizeof *d->conns);
	size_t sig_len = 1;
	for (struct conn *c = k->conns; c; c = c->next) {
		if (k->stopping || c->stopping || c->state != CONN_UP || !conn_sends(c))
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
			struct conn *t = row->redirect_to ? find_conn(k, row->redirect_to) : NULL;
			if (!t || t->state != CONN_UP || !conn_sends(t))
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
 * it answers went, by remote id: in one lane the result is written first, or
 * in the same statement.  Written side by side on two lanes, neither
 * transaction would see the other and the report would wait for
 * smspool.rematch_reports() (the other parts of a multipart message can
 * still land there: their ids differ). */
static int lane_of_result(const struct core *k, const struct msg *m)
{
	if (m->outcome == MSG_SENT && m->remote_ids && *m->remote_ids)
		return (int)(fnv1a(FNV1A_INIT, m->remote_ids, strcspn(m->remote_ids, "\x1f")) % (uint32_t)k->nlanes);
	return (int)((uint64_t)m->id % (uint64_t)k->nlanes);
}

static void post_results(struct core *k)
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

static void post_reports(struct core *k)
{
	struct report *head[WRITE_CONNECTIONS_MAX] = {0}, **tail[WRITE_CONNECTIONS_MAX];
	for (int i = 0; i < k->nlanes; i++)
		tail[i] = &head[i];
	for (struct report *r = k->rep_head, *next; r; r = next) {
		next = r->next;
		r->next = NULL;
		int i = r->remote_id
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

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *k = arg;
	reap(k);
	for (struct conn *c = k->conns; c; c = c->next) {
		if (c->pending.len)
			dispatch(c);
		metrics_conn_window(c->m, c->inflight + c->unsettled, c->window);
	}
	if (k->results.len)
		post_results(k);
	if (k->rep_head)
		post_reports(k);
	if (k->inb_head) {
		chan_put(main_chan(k), TO_STORE_INBOUND, k->inb_head);
		k->inb_head = NULL;
		k->inb_tail = &k->inb_head;
	}
	if (k->auth_head) {
		chan_put(store_chan(k->auth_lane), TO_STORE_AUTH, k->auth_head);
		k->auth_head = NULL;
	}
	if (k->sub_head) {
		chan_put(main_chan(k), TO_STORE_SUBMIT, k->sub_head);
		k->sub_head = NULL;
		k->sub_tail = &k->sub_head;
	}
	if (k->done_head) {
		chan_put(main_chan(k), TO_STORE_EVENTS_DONE, k->done_head);
		k->done_head = NULL;
	}
	if (k->query_head) {
		chan_put(main_chan(k), TO_STORE_QUERY, k->query_head);
		k->query_head = NULL;
	}
	if (!k->stop_sent) {
		post_demand(k);
		post_accounts(k);
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
		chan_put(main_chan(k), TO_STORE_STOP, NULL);
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
	wake(k);
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
				route(k, m);
			}
			free(l);
			wake(k);
			break;
		}
		case TO_LOOP_ACKS:
			acks(k, it->ptr);
			break;
		case TO_LOOP_SETTLED:
			settled(k, it->ptr);
			break;
		case TO_LOOP_LEASES:
			apply_leases(k, it->ptr);
			break;
		case TO_LOOP_REVOKED:
			revoke_account(k, it->ptr);
			free(it->ptr);
			break;
		case TO_LOOP_CONFIG:
			apply_config(k, it->ptr);
			notify_ready(); /* the first time: database reached, connections started */
			break;
		case TO_LOOP_STOPPED:
			if (it->ptr == k->lanes[0])
				event_base_loopbreak(k->base);
			if (it->ptr != k->auth_lane)
				k->lanes_stopped++;
			wake(k);
			break;
		case TO_LOOP_CLAIMER_STOPPED:
			k->claimer_stopped = true;
			wake(k);
			break;
		case TO_LOOP_AUTH:
			for (struct store_auth_result *r = it->ptr, *nx; r; r = nx) {
				nx = r->next;
				struct conn *c = conn_by_id(k, r->conn_id);
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
				struct conn *c = conn_by_id(k, r->conn_id);
				if (c && c->ops->submitted)
					c->ops->submitted(c, r->token, r->message_id, (enum submit_error)r->error,
					                  r->text);
				free(r->text);
				free(r);
			}
			break;
		case TO_LOOP_QUERIED:
			for (struct store_query *q = it->ptr, *nx; q; q = nx) {
				nx = q->next;
				struct conn *c = conn_by_id(k, q->conn_id);
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
				route_event(k, e);
			}
			wake(k);
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
		conn_stop(c, NULL);
	wake(k);
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *k = arg;
	log_warn("daemon_stop_forced", "reason=\"connections did not stop in time\"");
	for (struct conn *c = k->conns; c; c = c->next)
		c->stopped = true;
	wake(k);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct core *k = arg;
	if (sig == SIGHUP) {
		log_info("daemon_reload", "instance=%s", k->cfg->instance);
		chan_put(main_chan(k), TO_STORE_RELOAD, NULL);
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
	k.auth = auth_new(k.base, auth_ask, auth_answer, &k);
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
	k.lease_ev = evtimer_new(k.base, lease_cb, &k);
	k.lease_force_ev = evtimer_new(k.base, lease_force_cb, &k);
	k.stats_ev = event_new(k.base, -1, EV_PERSIST, stats_cb, &k);
	const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++) {
		k.sig_ev[i] = evsignal_new(k.base, sigs[i], signal_cb, &k);
		event_add(k.sig_ev[i], NULL);
	}
	event_add(k.chan_ev, NULL);
	struct timeval stats = {STATS_MS / 1000, 0};
	event_add(k.stats_ev, &stats);

	event_base_dispatch(k.base);

	/* The store has stopped; free what is left. */
	while (k.conns) {
		struct conn *c = k.conns;
		k.conns = c->next;
		release_pending(c);
		conn_free(c);
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
	log_info("daemon_stopped", "instance=%s", cfg->instance);
	return 0;
}
