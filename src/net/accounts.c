/*
 * accounts: an SMSC server's accounts, their delivering sessions and the
 * events waiting for them (see accounts.h).  Accounts are few (those with a
 * session here), so a list does.
 */
#include "net/accounts.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct accounts_acct *accounts_find(struct accounts *as, const char *name)
{
	for (struct accounts_acct *a = as->head; a; a = a->next)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

struct accounts_acct *accounts_get(struct accounts *as, const struct account_info *info)
{
	struct accounts_acct *a = accounts_find(as, info->name);
	if (!a) {
		a = xcalloc(1, sizeof *a);
		a->name = xstrdup(info->name);
		a->next = as->head;
		as->head = a;
	}
	a->max_binds = info->max_binds;
	a->throughput = info->throughput;
	return a;
}

void accounts_refuse(struct accounts *as, struct account_event *ev)
{
	core_event_done(as->c, ev, false);
	account_event_free(ev);
}

static void refuse_waiting(struct accounts *as, struct accounts_acct *a)
{
	while (a->wait_head) {
		struct account_event *ev = a->wait_head;
		a->wait_head = ev->next;
		ev->next = NULL;
		accounts_refuse(as, ev);
	}
	a->wait_tail = NULL;
	a->nwait = 0;
}

void accounts_add_rx(struct accounts *as, struct accounts_acct *a, void *sess)
{
	if (a->nrx == a->caprx) {
		a->caprx = a->caprx ? 2 * a->caprx : 4;
		a->rx = xrealloc(a->rx, (size_t)a->caprx * sizeof *a->rx);
	}
	a->rx[a->nrx++] = sess;
	if (a->nrx == 1)
		core_account_attach(as->c, a->name);
	accounts_drain(as, a);
}

void accounts_remove_rx(struct accounts *as, struct accounts_acct *a, void *sess)
{
	for (int i = 0; i < a->nrx; i++)
		if (a->rx[i] == sess) {
			a->rx[i] = a->rx[--a->nrx];
			if (a->nrx == 0) {
				/* No session left to take them: back to the database. */
				refuse_waiting(as, a);
				core_account_detach(as->c, a->name);
			}
			return;
		}
}

/* A session of a that can take one more event now, round robin. */
static void *pick(struct accounts *as, struct accounts_acct *a)
{
	for (int i = 0; i < a->nrx; i++) {
		unsigned k = (a->rr + (unsigned)i) % (unsigned)a->nrx;
		if (!as->ops->can_take(a->rx[k], as->arg))
			continue;
		a->rr = k + 1;
		return a->rx[k];
	}
	return NULL;
}

void accounts_drain(struct accounts *as, struct accounts_acct *a)
{
	void *s;
	while (a->wait_head && !as->stopping && (s = pick(as, a))) {
		struct account_event *ev = a->wait_head;
		a->wait_head = ev->next;
		a->nwait--;
		if (!a->wait_head)
			a->wait_tail = NULL;
		ev->next = NULL;
		as->ops->deliver(as, s, a, ev, as->arg);
	}
}

void accounts_deliver(struct accounts *as, struct account_event *ev)
{
	struct accounts_acct *a = as->stopping ? NULL : accounts_find(as, ev->account);
	if (!a || a->nrx == 0) {
		accounts_refuse(as, ev);
		return;
	}
	void *s = a->wait_head ? NULL : pick(as, a);
	if (s) {
		as->ops->deliver(as, s, a, ev, as->arg);
		return;
	}
	/* A client that does not answer holds a bounded number of events per
	 * session here; the rest go back to the database, so that the core's
	 * events in flight serve other accounts. */
	int cap = as->wait_per_session * a->nrx;
	if (a->nwait >= (cap > 16 ? cap : 16)) {
		log_debug("account_wait_full", "conn=%s account=%s event=%" PRId64, conn_name(as->c), a->name, ev->id);
		accounts_refuse(as, ev);
		return;
	}
	a->nwait++;
	ev->next = NULL;
	if (a->wait_tail)
		a->wait_tail->next = ev;
	else
		a->wait_head = ev;
	a->wait_tail = ev;
}

void accounts_stop(struct accounts *as)
{
	as->stopping = true;
	for (struct accounts_acct *a = as->head; a; a = a->next)
		refuse_waiting(as, a);
}

void accounts_free(struct accounts *as)
{
	for (struct accounts_acct *a = as->head, *n; a; a = n) {
		n = a->next;
		while (a->wait_head) {
			struct account_event *ev = a->wait_head;
			a->wait_head = ev->next;
			account_event_free(ev);
		}
		free(a->rx);
		free(a->name);
		free(a);
	}
	as->head = NULL;
}

struct accounts_part **accounts_dlv_new(struct accounts *as, struct account_event *ev, void *sess, int n)
{
	struct accounts_dlv *d = xcalloc(1, sizeof *d);
	d->ev = ev;
	d->nparts = n;
	struct accounts_part **ps = xcalloc((size_t)n, sizeof *ps);
	for (int i = 0; i < n; i++) {
		ps[i] = xcalloc(1, sizeof *ps[i]);
		ps[i]->d = d;
		ps[i]->sess = sess;
		as->nparts++;
	}
	return ps;
}

void accounts_part_answer(struct accounts *as, struct accounts_part *p, bool ok)
{
	struct accounts_dlv *d = p->d;
	as->nparts--;
	free(p);
	if (!ok)
		d->failed = true;
	if (++d->answered < d->nparts)
		return;
	log_debug("account_event_done", "conn=%s event=%" PRId64 " account=%s delivered=%s", conn_name(as->c),
	          d->ev->id, d->ev->account, d->failed ? "no" : "yes");
	core_event_done(as->c, d->ev, !d->failed);
	account_event_free(d->ev);
	free(d);
}

void accounts_part_forget(struct accounts *as, struct accounts_part *p)
{
	struct accounts_dlv *d = p->d;
	as->nparts--;
	free(p);
	if (++d->answered == d->nparts) {
		account_event_free(d->ev);
		free(d);
	}
}
