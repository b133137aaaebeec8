/* spool_server: the server side's calls (smpp-server, http-api):
 * logins through the account policy, submissions and status queries queued
 * for the store, and account events routed to a connection where their
 * account is attached, round robin, or given back. */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "chan.h"
#include "codec/utf8.h"
#include "log.h"
#include "policy.h"
#include "spool_internal.h"
#include "store.h"
#include "util.h"

enum { EVENTS_MAX = 1000 /* account events held by drivers at once */ };

/* ---- server side ---- */

void core_authenticate(struct conn *c, const char *account, const char *password, const char *peer_addr, uint64_t token)
{
	struct core *k = c->core;
	/* Through the account policy, which asks the database (spool_server_auth_ask) or
	 * answers a refusal itself, later (spool_server_auth_answer). */
	auth_begin(k->auth, c->name, c->id, token, account, password, peer_addr);
}

void spool_server_auth_ask(void *arg, uint64_t conn_id, uint64_t token, const char *account, const char *password,
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
	spool_wake(k);
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
	spool_clean(&sub->recipient, 0);
	spool_clean(&sub->sender, 0);
	spool_clean(&sub->body, UTF8_KEEP_NEWLINES);
	spool_clean(&sub->payload, 0);
	spool_clean(&sub->udh, 0);
	spool_clean(&sub->encoding, 0);
	spool_clean(&sub->client_ref, 0);
	sub->conn_id = c->id;
	sub->token = token;
	sub->next = NULL;
	*k->sub_tail = sub;
	k->sub_tail = &sub->next;
	spool_wake(k);
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
	spool_wake(k);
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
			spool_wake(k);
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
	spool_wake(k);
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
	spool_wake(k);
}

void spool_server_detach_all(struct core *k, struct conn *c)
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
void spool_server_route_event(struct core *k, struct account_event *ev)
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

void spool_server_post_accounts(struct core *k)
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
	chan_put(spool_main_chan(k), TO_STORE_ACCOUNTS, a);
}

/* A login refused by the account policy (auth.c), after its delay. */
void spool_server_auth_answer(void *arg, uint64_t conn_id, uint64_t token, const char *reason)
{
	struct core *k = arg;
	struct conn *c = spool_conn_by_id(k, conn_id);
	if (c && c->ops->authenticated)
		c->ops->authenticated(c, token, NULL, reason);
}

/* An account's password, state, addresses or connections changed (a
 * NOTIFY from smspool.accounts_revoke): no cached login of it survives (nor
 * a login the database is answering under the old rules: auth_revoke),
 * and every server-side connection ends its live sessions, which then bind
 * again under the new rules. */
void spool_server_revoke_account(struct core *k, const char *account)
{
	char q[80];
	policy_forget_logins(auth_policy(k->auth));
	auth_revoke(k->auth, account); /* a yes to a login asked before the change is asked again */
	int n = 0;
	for (struct conn *c = k->conns; c; c = c->next)
		if (!c->stopping && c->ops->account_revoked) {
			c->ops->account_revoked(c, account);
			n++;
		}
	log_info("account_revoked", "account=%s connections=%d", *account ? log_quote(account, q, sizeof q) : "*", n);
}
