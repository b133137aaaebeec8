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

#include <openssl/err.h>

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

struct srvbase_sess *srvbase_sess_add(struct srvbase *b, void *mem, struct link *l)
{
	char name[64];
	char *sp = mem ? mem : xcalloc(1, b->ops->sess_size);
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
	if (b->ops->quiet)
		log_debug(name, "conn=%s sess=%" PRIu64 " peer=%s tls=%s", conn_name(b->c), h->id, h->peer,
		          link_is_tls(l) ? "yes" : "no");
	else
		log_info(name, "conn=%s sess=%" PRIu64 " peer=%s", conn_name(b->c), h->id, h->peer);
	return h;
}

static void *accept_cb(struct link_listener *ls, void *arg, struct link *l)
{
	struct srvbase *b = arg;
	(void)ls;
	if (b->stopping || (b->ops->admit && !b->ops->admit(b->arg)))
		return NULL;
	return srvbase_sess_add(b, NULL, l);
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
	if (b->ops->free_sess)
		b->ops->free_sess(h);
	link_free(h->link);
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
	if (p->h->base->ops->pend_free)
		p->h->base->ops->pend_free(p->data);
	else
		free(p->data);
	free(p);
}

void srvbase_link_down(struct link *l, void *arg, const char *reason)
{
	struct srvbase_sess *h = arg;
	(void)l;
	end_sess(h, reason);
}

/* Opens listener i (0: listen, 1: tls_listen, always TLS).  Returns 0 or
 * -1 with why. */
static int listen_one(struct srvbase *b, int i, const char *addr, char *why, size_t cap)
{
	const struct srvbase_conf *sc = &b->conf;
	struct link_listen_opts lo = {
	    .addr = addr,
	    .ssl_ctx = i == 1 || sc->tls ? b->ssl_ctx : NULL,
	    .max_sessions = (int)sc->max_sessions,
	    .max_per_address = (int)sc->max_per_address,
	    .link = b->ops->link,
	};
	struct errbuf err = {""};
	lo.link.name = conn_name(b->c);
	lo.link.response_timeout_ms = (uint64_t)sc->response_timeout_s * 1000;
	lo.link.idle_timeout_ms = (uint64_t)sc->inactivity_timeout_s * 1000;
	lo.link.unbound_timeout_ms = (uint64_t)sc->unbound_timeout_s * 1000;
	lo.link.window = (int)sc->window;
	lo.link.stuck_ms = (uint64_t)sc->inactivity_timeout_s * 1000;
	if (b->ops->listen_opts)
		b->ops->listen_opts(b->arg, &lo);
	b->ls[i] = link_listen(conn_event_base(b->c), &lo, b->ops->sess_ops, accept_cb, b, &err);
	if (!b->ls[i]) {
		snprintf(why, cap, "cannot listen on %s: %s", addr, err.msg);
		return -1;
	}
	return 0;
}

/* Opens the listeners, or says why not and retries from the tick. */
static void srvbase_listen(struct srvbase *b)
{
	const struct srvbase_conf *sc = &b->conf;
	char why[300], detail[700], q[750], name[64];
	for (int i = 0; i < 2; i++) {
		const char *addr = i == 0 ? sc->listen : sc->tls_listen;
		if (!addr || b->ls[i])
			continue;
		if (listen_one(b, i, addr, why, sizeof why)) {
			snprintf(detail, sizeof detail, "%s; retry in %d ms", why, LISTEN_RETRY_MS);
			ev_name(b, "listen_failed", name, sizeof name);
			log_warn(name, "conn=%s error=%s", conn_name(b->c), log_quote(detail, q, sizeof q));
			core_conn_state(b->c, CONN_CONNECTING, detail);
			b->listen_retry_ms = now_mono_ms() + LISTEN_RETRY_MS;
			return;
		}
	}
	const char *a0 = link_listener_addr(b->ls[0]), *a1 = b->ls[1] ? link_listener_addr(b->ls[1]) : NULL;
	ev_name(b, "listening", name, sizeof name);
	if (a1) {
		snprintf(detail, sizeof detail, "listening on %s%s and tls %s", a0, sc->tls ? " (tls)" : "", a1);
		log_info(name, "conn=%s addr=%s tls=%s tls_addr=%s", conn_name(b->c), a0, sc->tls ? "yes" : "no", a1);
	} else {
		snprintf(detail, sizeof detail, "listening on %s%s", a0, sc->tls ? " (tls)" : "");
		log_info(name, "conn=%s addr=%s tls=%s", conn_name(b->c), a0, sc->tls ? "yes" : "no");
	}
	b->up = true;
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
	if (b->ops->stop_busy && b->ops->stop_busy(b->arg))
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
	else if (!b->up && now_mono_ms() >= b->listen_retry_ms)
		srvbase_listen(b);
	if (b->ops->tick && !b->stopped)
		b->ops->tick(b->arg);
}

void srvbase_init(struct srvbase *b, struct conn *c, const struct srvbase_ops *ops, void *arg, struct accounts *accts,
                  const struct srvbase_conf *sc)
{
	b->c = c;
	b->ops = ops;
	b->arg = arg;
	b->accts = accts;
	b->conf = *sc;
	b->tick_ev = event_new(conn_event_base(c), -1, EV_PERSIST, tick_cb, b);
	struct timeval tv = {0, TICK_MS * 1000};
	event_add(b->tick_ev, &tv);
}

int srvbase_open(struct srvbase *b, struct conn *c, const struct srvbase_ops *ops, void *arg, struct accounts *accts,
                 const struct srvbase_conf *sc)
{
	if (sc->tls || sc->tls_listen) {
		struct errbuf err = {""};
		char q[300], name[64];
		b->ssl_ctx = link_tls_server_ctx(sc->tls_cert_file, sc->tls_key_file, &err);
		if (!b->ssl_ctx) {
			snprintf(name, sizeof name, "%s_tls", ops->log_prefix);
			log_error(name, "conn=%s error=%s", conn_name(c), log_quote(err.msg, q, sizeof q));
			ERR_clear_error();
			return -1;
		}
	}
	srvbase_init(b, c, ops, arg, accts, sc);
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
	for (int i = 0; i < 2; i++) {
		link_listener_free(b->ls[i]);
		b->ls[i] = NULL;
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

/* The protocol's goodbye, or the link closed once flushed.  False: h is
 * ending already. */
static bool revoke_one(struct srvbase_sess *h)
{
	if (h->base->ops->revoke)
		return h->base->ops->revoke(h);
	link_close_flush(h->link, "account changed");
	return true;
}

int srvbase_revoke(struct srvbase *b, const char *account)
{
	char q[300], name[64];
	int n = 0;
	if (b->stopping) /* every session ends anyway */
		return 0;
	ev_name(b, "revoked", name, sizeof name);
	for (struct srvbase_sess *h = b->sessions, *next; h; h = next) {
		next = h->next;
		if (h->state == SRVBASE_CLOSED || !h->acct || !h->link || h->revoked ||
		    (*account && strcmp(h->acct->name, account) != 0))
			continue;
		if (!revoke_one(h))
			continue;
		h->revoked = true;
		n++;
		log_info(name, "conn=%s sess=%" PRIu64 " peer=%s account=%s reason=\"account changed\"",
		         conn_name(b->c), h->id, h->peer, log_quote(h->acct->name, q, sizeof q));
	}
	return n;
}

void srvbase_conn_account_revoked(struct conn *c, const char *account)
{
	struct srvbase *b = conn_driver_data(c);
	if (b)
		(void)srvbase_revoke(b, account);
}

void srvbase_conn_close(struct conn *c)
{
	struct srvbase *b = conn_driver_data(c);
	if (!b)
		return;
	srvbase_close(b);
	if (b->accts)
		accounts_free(b->accts);
	free(b);
	conn_set_driver_data(c, NULL);
}

void srvbase_close(struct srvbase *b)
{
	for (int i = 0; i < 2; i++) {
		link_listener_free(b->ls[i]);
		b->ls[i] = NULL;
	}
	tokens_clear(&b->pends, pend_free); /* first: ops->pend_free may look at its session */
	for (struct srvbase_sess *h = b->sessions, *n; h; h = n) {
		n = h->next;
		free_sess(b, h);
	}
	b->sessions = NULL;
	if (b->tick_ev)
		event_free(b->tick_ev);
	if (b->ssl_ctx)
		SSL_CTX_free(b->ssl_ctx);
	b->tick_ev = NULL;
	b->ssl_ctx = NULL;
}
