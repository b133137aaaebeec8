/*
 * srvbase: TLS context, listener with retry, tick, stop and the session
 * state machine of a server connection over the link layer (see
 * srvbase.h).
 */
#include "net/srvbase.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

enum {
	TICK_MS = 200,
	STOP_WAIT_MAX_MS = 5000, /* for the database's answers at a stop */
	LISTEN_RETRY_MS = 5000,
};

static void ev_name(const struct srvbase *b, const char *what, char *out, size_t cap)
{
	snprintf(out, cap, "%s_%s", b->ops->log_prefix, what);
}

static void *accept_cb(struct link_listener *ls, void *arg, struct link *l)
{
	struct srvbase *b = arg;
	char name[64];
	(void)ls;
	if (b->stopping)
		return NULL;
	char *sp = xcalloc(1, b->ops->sess_size);
	struct srvbase_sess *h = (struct srvbase_sess *)sp;
	memcpy(sp + b->ops->sess_owner, &b->arg, sizeof b->arg);
	h->link = l;
	if (b->ops->accept)
		b->ops->accept(b->arg, h, l);
	h->base = b;
	h->id = ++b->next_sess;
	snprintf(h->peer, sizeof h->peer, "%s", link_peer(l));
	snprintf(h->ip, sizeof h->ip, "%s", link_peer_ip(l));
	h->prev = NULL;
	h->next = b->sessions;
	if (b->sessions)
		b->sessions->prev = h;
	b->sessions = h;
	ev_name(b, "accepted", name, sizeof name);
	log_info(name, "conn=%s sess=%" PRIu64 " peer=%s", conn_name(b->c), h->id, h->peer);
	return h;
}

void srvbase_unlink(struct srvbase *b, struct srvbase_sess *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		b->sessions = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
}

/* Frees h, its link (NULL once closed) and what the driver holds in it. */
static void free_sess(struct srvbase *b, struct srvbase_sess *h)
{
	link_free(h->link);
	if (b->ops->free_sess)
		b->ops->free_sess(h);
	free(h);
}

void srvbase_reap(struct srvbase_sess *h)
{
	if (h->state != SRVBASE_CLOSED || h->npend > 0)
		return;
	srvbase_unlink(h->base, h);
	free_sess(h->base, h);
}

void srvbase_sess_set(struct srvbase_sess *h, enum srvbase_state to, const char *why)
{
	struct srvbase *b = h->base;
	const struct srvbase_ops *ops = b->ops;
	char q[300], name[64];
	if (h->state == to)
		return;
	ev_name(b, "state", name, sizeof name);
	log_debug(name, "conn=%s sess=%" PRIu64 " peer=%s from=%s to=%s why=%s", conn_name(b->c), h->id, h->peer,
	          ops->state_names[h->state], ops->state_names[to], log_quote(why ? why : "", q, sizeof q));
	enum srvbase_state from = h->state;
	h->state = to;
	switch (to) {
	case SRVBASE_OPEN:
	case SRVBASE_AUTH:
		if (ops->enter)
			ops->enter(h, from, to);
		return;
	case SRVBASE_BOUND:
		link_set_bound(h->link);
		accounts_add_rx(b->accts, h->acct, h);
		if (ops->enter)
			ops->enter(h, from, to);
		return;
	case SRVBASE_CLOSED:
		if (h->acct && from == SRVBASE_BOUND) {
			core_account_unbind(b->c, h->acct->name);
			accounts_remove_rx(b->accts, h->acct, h);
		}
		if (ops->enter)
			ops->enter(h, from, to);
		if (h->link) {
			struct link *l = h->link;
			link_request_drain(l, ops->drained, b->arg);
			h->link = NULL;
			link_free(l);
		}
		ev_name(b, "closed", name, sizeof name);
		log_info(name, "conn=%s sess=%" PRIu64 " peer=%s %s=%s reason=%s", conn_name(b->c), h->id, h->peer,
		         ops->login_key, h->login[0] ? h->login : "-", log_quote(why ? why : "", q, sizeof q));
		srvbase_reap(h);
		return;
	}
	abort();
}

/* The session ends: the driver's end_sess, or closed. */
static void end_sess(struct srvbase_sess *h, const char *reason)
{
	if (h->base->ops->end_sess)
		h->base->ops->end_sess(h, reason);
	else
		srvbase_sess_set(h, SRVBASE_CLOSED, reason);
}

/* A pending core call: its session is counted, the data is the driver's. */
struct pend {
	struct srvbase_sess *h;
	void *data;
};

uint64_t srvbase_pend_add(struct srvbase *b, struct srvbase_sess *h, void *data)
{
	struct pend *p = xcalloc(1, sizeof *p);
	p->h = h;
	p->data = data;
	h->npend++;
	return tokens_add(&b->pends, p);
}

void *srvbase_pend_take(struct srvbase *b, uint64_t token)
{
	struct pend *p = tokens_take(&b->pends, token);
	if (!p)
		return NULL;
	void *data = p->data;
	p->h->npend--;
	free(p);
	return data;
}

static void pend_free(void *value)
{
	struct pend *p = value;
	free(p->data);
	free(p);
}

void srvbase_link_down(struct link *l, void *arg, const char *reason)
{
	struct srvbase_sess *h = arg;
	(void)l;
	end_sess(h, reason);
}

/* Listens, or says why not and retries from the tick. */
static void srvbase_listen(struct srvbase *b)
{
	const struct srvbase_conf *sc = &b->conf;
	struct link_listen_opts lo = {
	    .addr = sc->listen,
	    .ssl_ctx = b->ssl_ctx,
	    .max_sessions = (int)sc->max_sessions,
	    .max_per_address = (int)sc->max_per_address,
	    .link = b->ops->link,
	};
	struct errbuf err = {""};
	char detail[400], q[450], name[64];
	lo.link.name = conn_name(b->c);
	lo.link.response_timeout_ms = (uint64_t)sc->response_timeout_s * 1000;
	lo.link.idle_timeout_ms = (uint64_t)sc->inactivity_timeout_s * 1000;
	lo.link.unbound_timeout_ms = (uint64_t)sc->unbound_timeout_s * 1000;
	lo.link.window = (int)sc->window;
	lo.link.stuck_ms = (uint64_t)sc->inactivity_timeout_s * 1000;
	if (b->ops->listen_opts)
		b->ops->listen_opts(b->arg, &lo);
	b->ls = link_listen(conn_event_base(b->c), &lo, b->ops->sess_ops, accept_cb, b, &err);
	if (!b->ls) {
		snprintf(detail, sizeof detail, "cannot listen on %s: %s; retry in %d ms", sc->listen, err.msg,
		         LISTEN_RETRY_MS);
		ev_name(b, "listen_failed", name, sizeof name);
		log_warn(name, "conn=%s error=%s", conn_name(b->c), log_quote(detail, q, sizeof q));
		core_conn_state(b->c, CONN_CONNECTING, detail);
		b->listen_retry_ms = now_mono_ms() + LISTEN_RETRY_MS;
		return;
	}
	snprintf(detail, sizeof detail, "listening on %s%s", link_listener_addr(b->ls), sc->tls ? " (tls)" : "");
	ev_name(b, "listening", name, sizeof name);
	log_info(name, "conn=%s addr=%s tls=%s", conn_name(b->c), link_listener_addr(b->ls), sc->tls ? "yes" : "no");
	core_conn_state(b->c, CONN_UP, detail);
}

static void finish_stop(struct srvbase *b)
{
	if (b->stopped)
		return;
	for (struct srvbase_sess *h = b->sessions, *n; h; h = n) {
		n = h->next;
		end_sess(h, "stopped");
	}
	if (b->ops->finish)
		b->ops->finish(b->arg);
	b->stopped = true;
	event_del(b->tick_ev);
	core_conn_state(b->c, CONN_DOWN, "stopped");
	core_stopped(b->c);
}

void srvbase_stop_progress(struct srvbase *b)
{
	if (!b->stopping || b->stopped)
		return;
	if (b->pends.n > 0 && now_mono_ms() - b->stop_ms < STOP_WAIT_MAX_MS)
		return;
	finish_stop(b);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct srvbase *b = arg;
	(void)fd;
	(void)what;
	if (b->stopping)
		srvbase_stop_progress(b);
	else if (!b->ls && now_mono_ms() >= b->listen_retry_ms)
		srvbase_listen(b);
	if (b->ops->tick && !b->stopped)
		b->ops->tick(b->arg);
}

int srvbase_open(struct srvbase *b, struct conn *c, const struct srvbase_ops *ops, void *arg, struct accounts *accts,
                 const struct srvbase_conf *sc)
{
	b->c = c;
	b->ops = ops;
	b->arg = arg;
	b->accts = accts;
	b->conf = *sc;
	if (sc->tls) {
		struct errbuf err = {""};
		char q[300], name[64];
		b->ssl_ctx = link_tls_server_ctx(sc->tls_cert_file, sc->tls_key_file, &err);
		if (!b->ssl_ctx) {
			ev_name(b, "tls", name, sizeof name);
			log_error(name, "conn=%s error=%s", conn_name(c), log_quote(err.msg, q, sizeof q));
			return -1;
		}
	}
	b->tick_ev = event_new(conn_event_base(c), -1, EV_PERSIST, tick_cb, b);
	struct timeval tv = {0, TICK_MS * 1000};
	event_add(b->tick_ev, &tv);
	srvbase_listen(b);
	return 0;
}

void srvbase_stop(struct srvbase *b, const char *state_detail)
{
	char name[64];
	ev_name(b, "stopping", name, sizeof name);
	log_info(name, "conn=%s pending=%d", conn_name(b->c), b->pends.n);
	b->stopping = true;
	b->stop_ms = now_mono_ms();
	if (b->ls) {
		link_listener_free(b->ls);
		b->ls = NULL;
	}
	if (b->ops->stopping)
		b->ops->stopping(b->arg);
	core_conn_state(b->c, CONN_STOPPING, state_detail);
	srvbase_stop_progress(b);
}

void srvbase_conn_stop(struct conn *c)
{
	srvbase_stop(conn_driver_data(c), "closing sessions");
}

void srvbase_close(struct srvbase *b)
{
	if (b->ls)
		link_listener_free(b->ls);
	for (struct srvbase_sess *h = b->sessions, *n; h; h = n) {
		n = h->next;
		free_sess(b, h);
	}
	b->sessions = NULL;
	tokens_clear(&b->pends, pend_free);
	if (b->tick_ev)
		event_free(b->tick_ev);
	if (b->ssl_ctx)
		SSL_CTX_free(b->ssl_ctx);
	b->ls = NULL;
	b->tick_ev = NULL;
	b->ssl_ctx = NULL;
}
