/* The fake core of every unit test (and fuzz target) that runs a driver
 * or a session layer without the daemon: it defines the conn_* and core_*
 * functions of drivers/driver.h once, records what the driver handed over
 * and the tokens it owes answers for, and checks what the driver contract
 * says of every call.  Included once by a test file; it does not use
 * cmocka, so that a fuzz target can include it too.
 *
 * What one test wants beyond this (a protocol's checks, a marker that is
 * no text, a call that must not come) goes into its hooks: each is called
 * first, with the object before it is freed, and returns whether the fake
 * records the call as usual (false: the hook took care of it).
 *
 * A check that fails is a cmocka failure where cmocka.h was included
 * before this file, else abort() (a fuzz target's crash). */
#ifndef SMSPOOL_TEST_FAKE_CORE_H
#define SMSPOOL_TEST_FAKE_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "driver.h"
#include "util.h"

#ifdef assert_true
#define fake_check(x) assert_true(x)
#else
#define fake_check(x) ((x) ? (void)0 : abort())
#endif

enum { FAKE_MAXQ = 64 };

struct fake_core_hooks {
	bool (*conn_state)(struct conn *c, enum conn_state state, const char *detail);
	bool (*complete)(struct conn *c, const struct msg *m);
	bool (*received)(struct conn *c, const struct inbound *in, uint64_t token);
	bool (*report)(struct conn *c, const struct report *r, uint64_t token);
	bool (*submit)(struct conn *c, const struct submission *s, uint64_t token);
};

struct conn {
	void *conf, *drv;
	struct event_base *base;
	const struct fake_core_hooks *hooks; /* or NULL */
	void *test;                          /* the test's own state, for its hooks */

	enum conn_state state;
	int states[CONN_STOPPING + 1]; /* times each state was entered */
	int stopped;                   /* core_stopped() calls: one at the most */
	int after_stop;                /* core calls after core_stopped() */
	int completed, received, reports, submitted, attached, events_done, events_delivered;
	/* tokens the core owes answers for, oldest first (fake_pop) */
	uint64_t auths[FAKE_MAXQ], submits[FAKE_MAXQ], acks[FAKE_MAXQ];
	int nauths, nsubmits, nacks;
	/* account events lent to the driver (fake_lend), NULL once done */
	const struct account_event *lent[FAKE_MAXQ];
	int nlent;
	/* of the last call of each kind */
	uint64_t last_token; /* of an inbound or a report */
	enum msg_outcome last_outcome;
	char last_ids[64], last_code[32]; /* remote_ids, error_code */
	int client_parts;                 /* of a submission */
	char body[200], client_ref[32];   /* of a submission */
	char account[32];                 /* attached */
};

static void fake_push(uint64_t *q, int *n, uint64_t token)
{
	if (*n < FAKE_MAXQ)
		q[(*n)++] = token;
}

/* The oldest token of q into *token (false: none waits). */
static inline bool fake_pop(uint64_t *q, int *n, uint64_t *token)
{
	if (*n == 0)
		return false;
	*token = q[0];
	memmove(q, q + 1, (size_t)-- * n * sizeof *q);
	return true;
}

/* ev is handed to the driver (deliver): core_event_done must name it,
 * once; the driver frees it then. */
static inline void fake_lend(struct conn *c, const struct account_event *ev)
{
	fake_check(c->nlent < FAKE_MAXQ);
	c->lent[c->nlent++] = ev;
}

static void fake_call(struct conn *c)
{
	c->after_stop += c->stopped > 0;
}

const char *conn_name(const struct conn *c)
{
	(void)c;
	return "test";
}
const void *conn_conf(const struct conn *c)
{
	return c->conf;
}
void *conn_driver_data(const struct conn *c)
{
	return c->drv;
}
void conn_set_driver_data(struct conn *c, void *d)
{
	c->drv = d;
}
struct event_base *conn_event_base(const struct conn *c)
{
	return c->base;
}
const char *conn_instance(const struct conn *c)
{
	(void)c;
	return "test";
}
void core_conn_state(struct conn *c, enum conn_state state, const char *detail)
{
	fake_call(c);
	if (!c->hooks || !c->hooks->conn_state || c->hooks->conn_state(c, state, detail)) {
		c->state = state;
		c->states[state]++;
	}
}
void core_stopped(struct conn *c)
{
	fake_check(c->stopped == 0); /* exactly once */
	c->stopped++;
}
void core_complete(struct conn *c, struct msg *m)
{
	fake_call(c);
	if (!c->hooks || !c->hooks->complete || c->hooks->complete(c, m)) {
		if (m->outcome == MSG_SENT)
			fake_check(m->parts >= 1 && m->remote_ids);
		c->completed++;
		c->last_outcome = m->outcome;
		snprintf(c->last_ids, sizeof c->last_ids, "%s", m->remote_ids ? m->remote_ids : "");
		snprintf(c->last_code, sizeof c->last_code, "%s", m->error_code ? m->error_code : "");
	}
	msg_free(m);
}
void core_received(struct conn *c, struct inbound *in, uint64_t token)
{
	fake_call(c);
	if (!c->hooks || !c->hooks->received || c->hooks->received(c, in, token)) {
		fake_check(in->sender && in->recipient);
		c->received++;
		c->last_token = token;
		fake_push(c->acks, &c->nacks, token);
	}
	inbound_free(in);
}
void core_report(struct conn *c, struct report *r, uint64_t token)
{
	fake_call(c);
	if (!c->hooks || !c->hooks->report || c->hooks->report(c, r, token)) {
		fake_check(r->remote_id && r->state);
		c->reports++;
		c->last_token = token;
		fake_push(c->acks, &c->nacks, token);
	}
	report_free(r);
}
void core_authenticate(struct conn *c, const char *account, const char *password, const char *peer_addr, uint64_t token)
{
	(void)account, (void)password, (void)peer_addr;
	fake_call(c);
	fake_push(c->auths, &c->nauths, token);
}
void core_submit(struct conn *c, struct submission *s, uint64_t token)
{
	fake_call(c);
	if (!c->hooks || !c->hooks->submit || c->hooks->submit(c, s, token)) {
		fake_check(s->recipient && *s->recipient && s->account);
		c->submitted++;
		c->client_parts = s->client_parts;
		snprintf(c->body, sizeof c->body, "%s", s->body ? s->body : "");
		snprintf(c->client_ref, sizeof c->client_ref, "%s", s->client_ref ? s->client_ref : "");
		fake_push(c->submits, &c->nsubmits, token);
	}
	submission_free(s);
}
void core_account_attach(struct conn *c, const char *account)
{
	fake_call(c);
	snprintf(c->account, sizeof c->account, "%s", account);
	c->attached++;
}
void core_account_detach(struct conn *c, const char *account)
{
	(void)account;
	fake_call(c);
	c->attached--;
}
void core_event_done(struct conn *c, const struct account_event *ev, bool delivered)
{
	fake_call(c);
	int i = 0;
	while (i < c->nlent && c->lent[i] != ev)
		i++;
	fake_check(ev && i < c->nlent); /* one lent, not done yet */
	c->lent[i] = NULL;
	c->events_done++;
	c->events_delivered += delivered;
}
void core_query(struct conn *c, const char *account, int64_t message_id, uint64_t token)
{
	(void)c, (void)account, (void)message_id, (void)token;
}

#include "fake_account_policy.h"

#endif
