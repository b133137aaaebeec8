/* spool_conn: the connections, one driver instance each.  It opens,
 * replaces and stops them to match smspool.connections and this daemon's
 * leases (a changed row is stopped and its replacement opened once the old
 * instance has stopped), and holds what drivers see of a connection
 * (driver.h's conn_* calls, core_conn_state, core_stopped). */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "chan.h"
#include "driver.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "secrets.h"
#include "spool_internal.h"
#include "store.h"
#include "util.h"

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

static const char *const state_names[] = {"down", "connecting", "up", "stopping"};

static void post_state(struct conn *c, const char *state, const char *detail)
{
	struct store_conn_state *st = xcalloc(1, sizeof *st);
	st->name = xstrdup(c->name);
	st->state = xstrdup(state);
	st->detail = detail ? xstrdup(detail) : NULL;
	chan_put(spool_main_chan(c->core), TO_STORE_CONN_STATE, st);
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
		spool_dispatch_release_pending(c); /* they come back and fail over */
	spool_wake(c->core);
}

void core_stopped(struct conn *c)
{
	c->stopped = true;
	spool_wake(c->core);
}

struct conn *spool_conn_by_id(struct core *k, uint64_t id)
{
	for (struct conn *c = k->conns; c; c = c->next)
		if (c->id == id)
			return c->stopped ? NULL : c;
	return NULL;
}

/* ---- connections ---- */

struct conn *spool_conn_find(struct core *k, const char *name)
{
	for (struct conn *c = k->conns; c; c = c->next)
		if (!c->stopping && strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Server-side types (smpp-server, http-api) take messages in; they send none. */
bool spool_conn_sends(const struct conn *c)
{
	return c->ops && c->ops->submit;
}

/* connections.redirect_to of a connection (maintenance), or NULL. */
const char *spool_conn_redirect_of(struct core *k, const char *name)
{
	for (int i = 0; k->config && i < k->config->n; i++)
		if (k->config->rows[i].redirect_to && strcmp(k->config->rows[i].name, name) == 0)
			return k->config->rows[i].redirect_to;
	return NULL;
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
		bucket_reset(&c->bucket, 1, now_mono_ms());
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
	c->throttle_ev = evtimer_new(k->base, spool_dispatch_throttle_cb, c);
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

void spool_conn_stop(struct conn *c, struct store_conn_row *replacement)
{
	if (c->stopping) {
		row_free(c->replacement);
		c->replacement = replacement;
		return;
	}
	log_info("conn_stop", "conn=%s", c->name);
	c->stopping = true;
	c->replacement = replacement;
	spool_dispatch_release_pending(c);
	evtimer_del(c->throttle_ev);
	if (!c->opened || c->stopped) {
		c->stopped = true;
		spool_wake(c->core);
		return;
	}
	c->state = CONN_STOPPING;
	c->ops->stop(c);
}

void spool_conn_free(struct conn *c)
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
void spool_conn_reap(struct core *k)
{
	for (struct conn **pp = &k->conns; *pp;) {
		struct conn *c = *pp;
		if (!c->stopped || !c->stopping) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		spool_server_detach_all(k, c);
		struct store_conn_row *rep = c->replacement;
		c->replacement = NULL;
		/* an exclusive one only while its lease holds (it may have
		 * ended while the old instance was stopping) */
		bool reopen = rep && !k->stopping && (!rep->exclusive || lease_held(k, rep->name));
		if (!reopen && !k->stopping)
			post_state(c, "down", "stopped");
		spool_conn_free(c);
		if (reopen)
			conn_create(k, rep);
		row_free(rep);
	}
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
			spool_conn_stop(c, NULL);
			if (c->exclusive && k->leases) {
				/* Another daemon may take it once the database's lease
				 * ends: it is closed by then even if its driver is slow. */
				uint64_t ms = k->leases->margin_ms / 2;
				struct timeval t = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
				evtimer_add(k->lease_force_ev, &t);
			}
		} else if (strcmp(row->type, c->type) || strcmp(row->settings, c->settings) ||
		           row->exclusive != c->exclusive)
			spool_conn_stop(c, row_dup(row));
		else
			conn_apply_limits(c, row);
	}
	for (int i = 0; i < cfg->n; i++) {
		struct store_conn_row *row = &cfg->rows[i];
		if (!runnable(k, row) || spool_conn_find(k, row->name))
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
	spool_wake(k);
}

void spool_conn_apply_config(struct core *k, struct store_config *cfg)
{
	/* Accounts may have changed (every change notifies): no refused
	 * login or blocked address outlives a corrected password or list. */
	policy_forget_logins(auth_policy(k->auth));
	for (int i = 0; i < cfg->n; i++) { /* maintenance redirects that begin or end */
		const char *was = k->config ? spool_conn_redirect_of(k, cfg->rows[i].name) : NULL,
		           *now = cfg->rows[i].redirect_to;
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
void spool_conn_apply_leases(struct core *k, struct store_leases *l)
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
void spool_conn_lease_cb(evutil_socket_t fd, short what, void *arg)
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
void spool_conn_lease_force_cb(evutil_socket_t fd, short what, void *arg)
{
	struct core *k = arg;
	for (struct conn *c = k->conns; c; c = c->next)
		if (c->exclusive && c->stopping && !c->stopped) {
			log_warn("conn_stop_forced", "conn=%s reason=\"lease ends\"", c->name);
			c->stopped = true;
		}
	spool_wake(k);
}
