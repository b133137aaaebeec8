/*
 * auth: the core's login front (see auth.h).  Logins waiting for the
 * database and refusals waiting for their delay are short lists: both are
 * bounded by the sessions the listeners admit.
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct wait {
	uint64_t conn_id, token;
	uint8_t key[32];
	char *peer, *account, *conn;
	char *password; /* to ask again (auth_revoke); NULL: a login without one */
	bool stale;     /* its account changed while the database was asked */
	struct wait *next;
};

struct delayed {
	struct auth *a;
	uint64_t conn_id, token;
	enum auth_refusal r;
	struct event *ev;
	struct delayed *prev, *next;
};

/* A login waiting for its address's turn at the database. */
struct queued {
	uint64_t conn_id, token;
	char *conn, *account, *password, *peer;
	struct queued *next;
};

struct auth {
	struct event_base *base;
	auth_ask_fn ask;
	auth_answer_fn answer;
	void *arg;
	struct policy *policy;
	struct wait *waits;
	struct delayed *delayed;
	struct queued *qhead, **qtail;
	int nqueued;
};

struct auth *auth_new(struct event_base *base, auth_ask_fn ask, auth_answer_fn answer, void *arg)
{
	struct auth *a = xcalloc(1, sizeof *a);
	a->base = base;
	a->ask = ask;
	a->qtail = &a->qhead;
	a->answer = answer;
	a->arg = arg;
	a->policy = policy_new();
	return a;
}

static void secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void wait_free(struct wait *w)
{
	secret_free(w->password);
	free(w->peer);
	free(w->account);
	free(w->conn);
	free(w);
}

static void queued_free(struct queued *q)
{
	secret_free(q->password);
	free(q->conn);
	free(q->account);
	free(q->peer);
	free(q);
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	for (struct queued *q = a->qhead, *n; q; q = n)
		n = q->next, queued_free(q);
	for (struct wait *w = a->waits, *n; w; w = n)
		n = w->next, wait_free(w);
	for (struct delayed *d = a->delayed, *n; d; d = n) {
		n = d->next;
		event_free(d->ev);
		free(d);
	}
	policy_free(a->policy);
	free(a);
}

struct policy *auth_policy(struct auth *a)
{
	return a->policy;
}

static void delayed_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct delayed *d = arg;
	struct auth *a = d->a;
	if (d->prev)
		d->prev->next = d->next;
	else
		a->delayed = d->next;
	if (d->next)
		d->next->prev = d->prev;
	uint64_t conn_id = d->conn_id, token = d->token;
	enum auth_refusal r = d->r;
	event_free(d->ev);
	free(d);
	a->answer(a->arg, conn_id, token, auth_refusal_text(r));
}

static void refuse(struct auth *a, const char *conn, uint64_t conn_id, uint64_t token, enum auth_refusal r,
                   const char *account, const char *peer)
{
	uint64_t now = now_mono_ms();
	unsigned suppressed = 0;
	if (policy_log_refusal(a->policy, now, &suppressed)) {
		char qa[120], qp[80];
		log_info("auth_refused", "conn=%s account=%s peer=%s reason=\"%s\" not_logged=%u", conn ? conn : "-",
		         log_quote(account ? account : "", qa, sizeof qa), log_quote(peer ? peer : "-", qp, sizeof qp),
		         auth_refusal_text(r), suppressed);
	}
	struct delayed *d = xcalloc(1, sizeof *d);
	d->a = a;
	d->conn_id = conn_id;
	d->token = token;
	d->r = r;
	d->ev = evtimer_new(a->base, delayed_cb, d);
	d->next = a->delayed;
	if (a->delayed)
		a->delayed->prev = d;
	a->delayed = d;
	uint64_t ms = policy_refusal_delay_ms(a->policy, peer, now);
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	event_add(d->ev, &tv);
}

/* Asks the database, or queues when the address is busy.  Returns false
 * when the login was refused (answered later). */
static bool login(struct auth *a, const char *conn_name, uint64_t conn_id, uint64_t token, const char *account,
                  const char *password, const char *peer, bool queue_if_busy)
{
	uint8_t key[32];
	enum auth_refusal r = policy_login_begin(a->policy, account, password, peer, now_mono_ms(), key);
	if (r == AUTH_BUSY && queue_if_busy && a->nqueued < AUTH_QUEUE_MAX) {
		struct queued *q = xcalloc(1, sizeof *q);
		q->conn_id = conn_id;
		q->token = token;
		q->conn = xstrdup(conn_name ? conn_name : "-");
		q->account = xstrdup(account ? account : "");
		q->password = password ? xstrdup(password) : NULL; /* NULL: a login by address */
		q->peer = peer ? xstrdup(peer) : NULL;
		*a->qtail = q;
		a->qtail = &q->next;
		a->nqueued++;
		return true;
	}
	if (r != AUTH_OK) {
		refuse(a, conn_name, conn_id, token, r, account, peer);
		return false;
	}
	struct wait *w = xcalloc(1, sizeof *w);
	w->conn_id = conn_id;
	w->token = token;
	memcpy(w->key, key, sizeof key);
	w->peer = peer ? xstrdup(peer) : NULL;
	w->account = xstrdup(account ? account : "");
	w->conn = xstrdup(conn_name ? conn_name : "-");
	w->password = password ? xstrdup(password) : NULL;
	w->next = a->waits;
	a->waits = w;
	a->ask(a->arg, conn_id, token, account, password, peer);
	return true;
}

void auth_begin(struct auth *a, const char *conn_name, uint64_t conn_id, uint64_t token, const char *account,
                const char *password, const char *peer)
{
	login(a, conn_name, conn_id, token, account, password, peer, true);
}

static bool same_peer(const char *x, const char *y)
{
	return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

/* A login of peer ended: queued logins of that address go on in order
 * until one is asked (those refused from the cache or by a block on the
 * address are answered on the way). */
static void release_queued(struct auth *a, const char *peer)
{
	for (struct queued **pp = &a->qhead; *pp;) {
		struct queued *q = *pp;
		if (!same_peer(q->peer, peer)) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		if (a->qtail == &q->next)
			a->qtail = pp;
		a->nqueued--;
		bool asked = login(a, q->conn, q->conn_id, q->token, q->account, q->password, q->peer, false);
		queued_free(q);
		if (asked)
			return;
	}
}

void auth_revoke(struct auth *a, const char *account)
{
	for (struct wait *w = a->waits; w; w = w->next)
		if (!*account || !*w->account || strcmp(w->account, account) == 0)
			w->stale = true;
}

bool auth_end(struct auth *a, uint64_t conn_id, uint64_t token, const struct account_info *info, const char *reason)
{
	struct wait *w = NULL;
	for (struct wait **pp = &a->waits; *pp; pp = &(*pp)->next)
		if ((*pp)->conn_id == conn_id && (*pp)->token == token) {
			w = *pp;
			*pp = w->next;
			break;
		}
	enum auth_refusal r = info ? AUTH_OK : policy_refusal_from_db(reason);
	if (!w) /* not asked through auth_begin: hand it over as it is */
		return true;
	if (w->stale && r == AUTH_OK) {
		/* The database may have said yes under the account's old rules
		 * (asked before the change committed): ask once more. */
		char qa[120];
		log_info("auth_asked_again", "conn=%s account=%s reason=\"account changed while asked\"", w->conn,
		         log_quote(w->account, qa, sizeof qa));
		w->stale = false;
		w->next = a->waits;
		a->waits = w;
		a->ask(a->arg, conn_id, token, w->account, w->password, w->peer);
		return false;
	}
	policy_login_end(a->policy, w->key, w->peer, r, now_mono_ms());
	bool now = r == AUTH_OK;
	if (!now)
		refuse(a, w->conn, conn_id, token, r, w->account, w->peer);
	release_queued(a, w->peer);
	wait_free(w);
	return now;
}
