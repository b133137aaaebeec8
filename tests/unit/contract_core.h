/*
 * The fake core of the driver contract tests (test_driver_contract.c, one
 * driver at a time; test_driver_contract_pairs.c, a client driver against
 * its server driver): it implements the core_* and conn_* functions of
 * drivers/driver.h itself and records every call in struct conn, checking
 * on the way what the contract says of each (one completion per message,
 * the outcomes stop() may give, no call after core_stopped()); the
 * server side's questions are answered from the loop a moment later.  Also
 * the lifecycle of a connection under test (started, run, stopped,
 * closed).  Included once per test file, after cmocka.h.
 */
#ifndef SMSPOOL_TEST_CONTRACT_CORE_H
#define SMSPOOL_TEST_CONTRACT_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "driver.h"
#include "util.h"

#include "contract_peers.h"

struct conn {
	const struct driver_ops *ops;
	void *conf, *drv;
	struct event_base *base;
	enum conn_state state;
	int submitted, completed, sent, received, reports, stopped_calls;
	int parts_sent; /* parts of the messages completed sent */
	bool stopped, called_after_stop;
	bool stop_called;     /* stop() has been called */
	int bad_stop_outcome; /* completions after stop() that stop() may not give */
	int64_t completed_ids[64];
	uint64_t last_token; /* of the last report / inbound */
	uint64_t tokens[8];  /* of the reports since the count was reset */
	struct evhttp *peer; /* in-process HTTP provider (http) */
	int peer_port, peer_requests;
	bool shared_base; /* base belongs to another conn */
	/* server side, answered by this fake core */
	int listen_port, auths, submits, attached, events_done, events_delivered, queries;
	int64_t last_message_id;
	char account[32];       /* the last one attached */
	char client_ref[32];    /* of the last submission */
	struct pty_peer *pty;   /* at, fbus */
	struct odbc_peer *odbc; /* odbc */
};

const char *conn_name(const struct conn *c)
{
	(void)c;
	return "contract";
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
	return c->base;
}
const char *conn_instance(const struct conn *c)
{
	(void)c;
	return "test";
}
void core_conn_state(struct conn *c, enum conn_state state, const char *detail)
{
	(void)detail;
	if (c->stopped)
		c->called_after_stop = true;
	c->state = state;
	const char *l = detail ? strstr(detail, "listening on 127.0.0.1:") : NULL;
	if (l)
		c->listen_port = atoi(l + strlen("listening on 127.0.0.1:"));
}
void core_complete(struct conn *c, struct msg *m)
{
	if (c->stopped)
		c->called_after_stop = true;
	for (int i = 0; i < c->completed && i < 64; i++)
		if (c->completed_ids[i] == m->id)
			fail_msg("message %lld completed twice", (long long)m->id);
	if (c->completed < 64)
		c->completed_ids[c->completed] = m->id;
	c->completed++;
	/* stop(): sent if the peer accepted it, RELEASE if it never left,
	 * TEMPORARY if its fate is unknown; nothing else. */
	if (c->stop_called && m->outcome != MSG_SENT && m->outcome != MSG_RELEASE && m->outcome != MSG_TEMPORARY)
		c->bad_stop_outcome++;
	if (m->outcome == MSG_SENT) {
		c->sent++;
		c->parts_sent += m->parts;
		assert_true(m->parts >= 1);
		assert_non_null(m->remote_ids);
		int ids = 1;
		for (const char *p = m->remote_ids; *p; p++)
			ids += *p == '\x1f';
		assert_int_equal(ids, m->parts);
	}
	msg_free(m);
}
void core_received(struct conn *c, struct inbound *in, uint64_t token)
{
	if (c->stopped)
		c->called_after_stop = true;
	if (in->key && !strcmp(in->key, "sms-parts-due")) { /* at's flush marker: no text, nothing to ack */
		assert_int_equal(token, 0);
		inbound_free(in);
		return;
	}
	c->last_token = token;
	assert_non_null(in->sender);
	assert_non_null(in->recipient);
	c->received++;
	inbound_free(in);
}
void core_report(struct conn *c, struct report *r, uint64_t token)
{
	c->last_token = token;
	if (c->reports < 8)
		c->tokens[c->reports] = token;
	if (c->stopped)
		c->called_after_stop = true;
	assert_non_null(r->remote_id);
	assert_non_null(r->state);
	c->reports++;
	report_free(r);
}
void core_stopped(struct conn *c)
{
	c->stopped = true;
	c->stopped_calls++;
}
/* Server side: the answers the core would give, each from the loop a
 * moment later (never from inside the driver's call), and none once the
 * connection has stopped. */
enum answer_kind { ANSWER_AUTH, ANSWER_SUBMIT, ANSWER_QUERY };
struct answer {
	struct conn *c;
	enum answer_kind kind;
	uint64_t token;
	char *account;
	int64_t message_id;
};

static void answer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	struct answer *a = arg;
	struct conn *c = a->c;
	if (!c->stopped) {
		if (a->kind == ANSWER_AUTH) {
			struct account_info ai = {.name = a->account};
			c->ops->authenticated(c, a->token, &ai, NULL);
		} else if (a->kind == ANSWER_SUBMIT) {
			c->ops->submitted(c, a->token, &(struct submit_result){.message_id = a->message_id});
		} else if (a->message_id > 1000 && a->message_id <= 1000 + c->submits) {
			/* one of the messages submitted here */
			struct message_status st = {.id = a->message_id,
			                            .status = "delivered",
			                            .recipient = "+15551234567",
			                            .parts = 1,
			                            .created_s = 1700000000,
			                            .done_s = 1700000001};
			c->ops->queried(c, a->token, &st);
		} else {
			c->ops->queried(c, a->token, NULL); /* none such */
		}
	}
	free(a->account);
	free(a);
}

static void answer_later(struct conn *c, enum answer_kind kind, uint64_t token, const char *account, int64_t id)
{
	struct answer *a = xcalloc(1, sizeof *a);
	a->c = c;
	a->kind = kind;
	a->token = token;
	a->account = account ? xstrdup(account) : NULL;
	a->message_id = id;
	struct timeval now = {0, 0};
	if (event_base_once(c->base, -1, EV_TIMEOUT, answer_cb, a, &now))
		fail_msg("event_base_once");
}

void core_authenticate(struct conn *c, const char *account, const char *password, const char *peer_addr, uint64_t token)
{
	(void)password, (void)peer_addr;
	if (c->stopped)
		c->called_after_stop = true;
	c->auths++;
	answer_later(c, ANSWER_AUTH, token, account, 0);
}
void core_submit(struct conn *c, struct submission *s, uint64_t token)
{
	if (c->stopped)
		c->called_after_stop = true;
	assert_non_null(s->recipient);
	snprintf(c->client_ref, sizeof c->client_ref, "%s", s->client_ref ? s->client_ref : "");
	submission_free(s);
	c->submits++;
	c->last_message_id = 1000 + c->submits;
	answer_later(c, ANSWER_SUBMIT, token, NULL, c->last_message_id);
}
void core_account_attach(struct conn *c, const char *account)
{
	snprintf(c->account, sizeof c->account, "%s", account);
	if (c->stopped)
		c->called_after_stop = true;
	c->attached++;
}
void core_account_detach(struct conn *c, const char *account)
{
	(void)account;
	if (c->stopped)
		c->called_after_stop = true;
	c->attached--;
}
void core_event_done(struct conn *c, const struct account_event *ev, bool delivered)
{
	(void)ev;
	if (c->stopped)
		c->called_after_stop = true;
	c->events_done++;
	c->events_delivered += delivered;
}
void core_query(struct conn *c, const char *account, int64_t message_id, uint64_t token)
{
	(void)account;
	if (c->stopped)
		c->called_after_stop = true;
	c->queries++;
	answer_later(c, ANSWER_QUERY, token, NULL, message_id);
}

#include "fake_account_policy.h"

static inline struct msg *make_msg(int64_t id, const char *body)
{
	struct msg *m = xcalloc(1, sizeof *m);
	m->id = id;
	m->recipient = xstrdup("+15551234567");
	m->sender = xstrdup("smspool");
	m->body = xstrdup(body);
	m->encoding = xstrdup("auto");
	m->want_report = true;
	m->attempts = 1;
	m->msg_class = -1;
	m->retry_after_s = -1;
	return m;
}

static inline void run_until(struct conn *c, bool (*done)(struct conn *), int max_ms)
{
	uint64_t end = now_mono_ms() + (uint64_t)max_ms;
	while (!done(c) && now_mono_ms() < end)
		event_base_loop(c->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static inline bool is_up(struct conn *c)
{
	return c->state == CONN_UP;
}

static inline bool all_completed(struct conn *c)
{
	return c->completed == c->submitted;
}

static inline bool has_stopped(struct conn *c)
{
	return c->stopped;
}

/* Opens without waiting for CONN_UP; extra (may be NULL) is merged into the
 * driver's test settings. */
static inline void start_conn_json(struct conn *c, const struct driver_ops *ops, const char *json,
                                   struct event_base *base)
{
	memset(c, 0, sizeof *c);
	c->ops = ops;
	c->base = base;
	c->shared_base = true;
	c->conf = xcalloc(1, ops->conf_size ? ops->conf_size : 1);
	struct errbuf err = {""};
	if (settings_parse(ops->settings, json, c->conf, &err))
		fail_msg("driver %s: %s", ops->name, err.msg);
	if (ops->check && ops->check(c->conf, &err))
		fail_msg("driver %s: check: %s", ops->name, err.msg);
	assert_int_equal(ops->open(c), 0);
}

static inline void close_conn(struct conn *c)
{
	c->ops->close(c);
	settings_free(c->ops->settings, c->conf);
	free(c->conf);
	if (c->peer)
		evhttp_free(c->peer);
	pty_peer_free(c->pty);
	odbc_peer_free(c->odbc);
	if (!c->shared_base)
		event_base_free(c->base);
}

static inline void stop_conn(struct conn *c)
{
	c->stop_called = true;
	c->ops->stop(c);
}

/* Runs base until done() or max_ms. */
static inline bool loop_until(struct event_base *base, bool (*done)(void *), void *arg, int max_ms)
{
	uint64_t end = now_mono_ms() + (uint64_t)max_ms;
	while (!done(arg) && now_mono_ms() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	return done(arg);
}

static inline struct account_event *report_event(const char *account, int64_t id, int64_t message_id)
{
	struct account_event *ev = xcalloc(1, sizeof *ev);
	ev->id = id;
	ev->account = xstrdup(account);
	ev->kind = ACCOUNT_EVENT_REPORT;
	ev->message_id = message_id;
	ev->state = xstrdup("delivered");
	ev->sender = xstrdup("smspool");
	ev->recipient = xstrdup("+15551234567");
	ev->submitted_s = ev->done_s = now_wall_ms() / 1000;
	return ev;
}

#endif
