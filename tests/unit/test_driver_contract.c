/*
 * The driver contract of drivers/driver.h, held against every driver.  This
 * file plays the core: it implements the core_* and conn_* functions itself
 * and records every call.  Peers run in this process, on the same loop: an
 * HTTP provider (libevent's evhttp) for the http driver's sent path, a
 * callback client on a thread for its acked(committed=false) and for the
 * http-api's logins, submissions and queries, a modem and a Nokia phone on
 * ptys for at and fbus, an SQLite file through unixODBC for odbc
 * (contract_peers.h), and each client driver's own server driver for smpp,
 * ucp and link.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "driver.h"
#include "policy.h"
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
			c->ops->submitted(c, a->token, a->message_id, SUBMIT_OK, NULL);
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

/* Settings that let each driver run here; a driver missing from this table
 * fails the test, so that none is forgotten.  For the drivers that need a
 * peer (peer_drivers below) these point where nobody answers; their runs
 * against a peer take the peer's settings (peer_json, client_and_server). */
static const struct {
	const char *type, *settings;
} test_settings[] = {
    {"loopback", "{}"},
    {"emulator", "{\"latency_ms\": 20, \"report_delay_ms\": 10, \"seed\": 3, \"accept_rate\": 0.8}"},
    {"smpp", "{\"host\": \"127.0.0.1\", \"port\": 9, \"system_id\": \"contract\", \"reconnect_min_ms\": 20}"},
    {"smpp-server", "{\"listen\": \"127.0.0.1:0\"}"},
    {"http-api", "{\"listen\": \"127.0.0.1:0\"}"},
    {"odbc",
     "{\"connection_string\": \"Driver=/nonexistent/odbc.so\", \"account\": \"contract\", \"retry_min_ms\": 20}"},
    {"at", "{\"port\": \"/nonexistent/smspool-contract-tty\", \"reconnect_min_ms\": 20}"},
    {"fbus", "{\"port\": \"/nonexistent/smspool-contract-fbus\", \"reconnect_min_ms\": 20}"},
    {"ucp", "{\"host\": \"127.0.0.1\", \"port\": 9, \"login\": \"1234\", \"reconnect_min_ms\": 20}"},
    {"ucp-server", "{\"listen\": \"127.0.0.1:0\"}"},
    /* %d: the in-process provider's port (start_conn) */
    {"http", "{\"url\": \"http://127.0.0.1:%d/send?to={recipient}\", \"body\": \"text={text}\", "
             "\"id_json_pointer\": \"/message_id\", \"connect_timeout_ms\": 1000}"},
    {"link", "{\"host\": \"127.0.0.1\", \"port\": 9, \"account\": \"contract\", \"reconnect_min_ms\": 20}"},
    {"link-server", "{\"listen\": \"127.0.0.1:0\"}"},
    {"email",
     "{\"smtp_url\": \"smtp://127.0.0.1:1\", \"from\": \"gw@example.org\", \"to\": \"{recipient}@sms.example.org\", "
     "\"mailbox_url\": \"pop3://127.0.0.1:1\", \"connect_timeout_ms\": 1000}"},
    {"exec",
     "{\"send_argv\": [\"/bin/echo\", \"C{id}\"], \"receive_argv\": [\"/bin/sleep\", \"30\"], \"stop_grace_ms\": 0}"},
};

static struct msg *make_msg(int64_t id, const char *body)
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

static void run_until(struct conn *c, bool (*done)(struct conn *), int max_ms)
{
	uint64_t end = now_mono_ms() + (uint64_t)max_ms;
	while (!done(c) && now_mono_ms() < end)
		event_base_loop(c->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static bool is_up(struct conn *c)
{
	return c->state == CONN_UP;
}
static bool all_completed(struct conn *c)
{
	return c->completed == c->submitted;
}
static bool has_stopped(struct conn *c)
{
	return c->stopped;
}

static const char *settings_for(const char *type)
{
	for (size_t i = 0; i < ARRAY_LEN(test_settings); i++)
		if (strcmp(test_settings[i].type, type) == 0)
			return test_settings[i].settings;
	return NULL;
}

/* Drivers that cannot come up without a remote peer.  With their settings
 * above (a port or a device where nobody answers) they are held to the rules
 * that apply while they are not up: they never report CONN_UP, and stop()
 * ends with exactly one core_stopped() and no call after it.  Otherwise
 * they run against a peer in this process: odbc, at and fbus in the generic
 * tests (peer_json), the clients of a protocol with a server driver (smpp,
 * ucp, link) in client_and_server. */
static const char *const peer_drivers[] = {"smpp", "odbc", "at", "fbus", "ucp", "link"};
static const char *const paired_drivers[] = {"smpp", "ucp", "link"};

static bool listed(const char *const *list, size_t n, const char *type)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], type) == 0)
			return true;
	return false;
}
static bool needs_peer(const char *type)
{
	return listed(peer_drivers, ARRAY_LEN(peer_drivers), type);
}
static bool paired(const char *type)
{
	return listed(paired_drivers, ARRAY_LEN(paired_drivers), type);
}

/* start_conn_with: a driver's settings for the dead endpoint of
 * test_settings instead of its in-process peer */
static bool dead_peer;

/* Starts the in-process peer of an at, fbus or odbc connection and writes
 * its settings into json; false for other types. */
static bool peer_json(struct conn *c, const char *type, char *json, size_t cap)
{
	if (dead_peer)
		return false;
	if (strcmp(type, "at") == 0 || strcmp(type, "fbus") == 0) {
		bool fbus = type[0] == 'f';
		c->pty = pty_peer_start(c->base, fbus);
		snprintf(json, cap, "{\"port\": \"%s\", \"reconnect_min_ms\": 20%s}", c->pty->name,
		         fbus ? ", \"smsc\": \"+15550000000\"" : ", \"command_timeout_ms\": 2000");
		return true;
	}
	if (strcmp(type, "odbc") == 0) {
		c->odbc = odbc_peer_start();
		snprintf(json, cap,
		         "{\"connection_string\": \"%s\", \"account\": \"contract\", \"retry_min_ms\": 20, "
		         "\"poll_ms\": 50}",
		         c->odbc->connstr);
		return true;
	}
	return false;
}

/* The in-process provider: 200 {"message_id": "M<n>"} to every request. */
static void peer_cb(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "{\"message_id\": \"M%d\"}", ++c->peer_requests);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static int bound_port(evutil_socket_t fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	if (getsockname(fd, (struct sockaddr *)&sa, &len))
		fail_msg("getsockname");
	return ntohs(sa.sin_port);
}

static void peer_start(struct conn *c)
{
	c->peer = evhttp_new(c->base);
	evhttp_set_gencb(c->peer, peer_cb, c);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(c->peer, "127.0.0.1", 0);
	if (!bs)
		fail_msg("the in-process HTTP peer cannot listen");
	c->peer_port = bound_port(evhttp_bound_socket_get_fd(bs));
}

/* Opens without waiting for CONN_UP; extra (may be NULL) is merged into the
 * driver's test settings. */
static void start_conn_json(struct conn *c, const struct driver_ops *ops, const char *json, struct event_base *base)
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

static void start_conn_with(struct conn *c, const struct driver_ops *ops, const char *extra)
{
	memset(c, 0, sizeof *c);
	c->ops = ops;
	c->base = event_base_new();
	c->conf = xcalloc(1, ops->conf_size ? ops->conf_size : 1);
	const char *tmpl = settings_for(ops->name);
	if (!tmpl)
		fail_msg("driver %s has no entry in test_settings", ops->name);
	char json[1024];
	if (peer_json(c, ops->name, json, sizeof json)) {
		/* at, fbus, odbc */
	} else if (strcmp(ops->name, "http") == 0) {
		peer_start(c);
		snprintf(json, sizeof json, tmpl, c->peer_port);
	} else {
		snprintf(json, sizeof json, "%s", tmpl);
	}
	if (extra) { /* {"a": 1} + {"b": 2} */
		size_t n = strlen(json);
		while (n && json[n - 1] != '}')
			n--;
		snprintf(json + n - 1, sizeof json - n + 1, ", %s", extra + 1);
	}
	struct errbuf err = {""};
	if (settings_parse(ops->settings, json, c->conf, &err))
		fail_msg("driver %s: %s", ops->name, err.msg);
	if (ops->check && ops->check(c->conf, &err))
		fail_msg("driver %s: check: %s", ops->name, err.msg);
	assert_int_equal(ops->open(c), 0);
}

static void start_conn(struct conn *c, const struct driver_ops *ops)
{
	start_conn_with(c, ops, NULL);
}

static void open_conn(struct conn *c, const struct driver_ops *ops)
{
	start_conn(c, ops);
	run_until(c, is_up, 10000);
	assert_int_equal(c->state, CONN_UP);
}

static void close_conn(struct conn *c)
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

static void stop_conn(struct conn *c)
{
	c->stop_called = true;
	c->ops->stop(c);
}

/* Every submit gets exactly one completion. */
static void every_submit_completes_once(void **state)
{
	(void)state;
	for (const struct driver_ops *const *d = driver_registry; *d; d++) {
		if (!((*d)->caps & CAP_SEND) || paired((*d)->name))
			continue;
		struct conn c;
		open_conn(&c, *d);
		for (int i = 1; i <= 20; i++) {
			c.submitted++;
			c.ops->submit(&c, make_msg(i, i % 2 ? "short"
			                                    : "a text that is long enough to be counted "
			                                      "as more than one part when the limit is "
			                                      "one hundred and sixty characters, which "
			                                      "this one passes by a few words and then "
			                                      "some more, to be sure of it"));
		}
		run_until(&c, all_completed, 10000);
		if (c.completed != c.submitted)
			fail_msg("%s: %d of %d submits completed", (*d)->name, c.completed, c.submitted);
		/* the HTTP sent path: every message reached the provider and came
		 * back sent with its id; the modem and the phone took every part,
		 * the SQLite table every message */
		if (c.peer) {
			assert_int_equal(c.sent, c.submitted);
			assert_int_equal(c.peer_requests, c.submitted);
		}
		if (c.pty) {
			assert_int_equal(c.sent, c.submitted);
			assert_int_equal(c.pty->sends, c.parts_sent);
		}
		if (c.odbc) {
			assert_int_equal(c.sent, c.submitted);
			assert_int_equal(odbc_peer_number(c.odbc, "SELECT count(*) FROM sms_incoming"), c.submitted);
		}
		stop_conn(&c);
		run_until(&c, has_stopped, 3000);
		assert_int_equal(c.stopped_calls, 1);
		assert_false(c.called_after_stop);
		assert_int_equal(c.bad_stop_outcome, 0);
		close_conn(&c);
	}
}

/* stop() completes what is still lent before core_stopped(). */
static void stop_completes_in_flight(void **state)
{
	(void)state;
	for (const struct driver_ops *const *d = driver_registry; *d; d++) {
		if (!((*d)->caps & CAP_SEND) || paired((*d)->name))
			continue;
		struct conn c;
		open_conn(&c, *d);
		for (int i = 1; i <= 10; i++) {
			c.submitted++;
			c.ops->submit(&c, make_msg(100 + i, "in flight"));
		}
		stop_conn(&c);
		run_until(&c, has_stopped, 3000);
		assert_true(c.stopped);
		assert_int_equal(c.completed, c.submitted);
		assert_false(c.called_after_stop);
		if (c.bad_stop_outcome)
			fail_msg("%s: stop() completed %d message(s) other than sent, release or temporary", (*d)->name,
			         c.bad_stop_outcome);
		close_conn(&c);
	}
}

/* Runs the loop for ms; returns 1 as soon as the driver reports CONN_UP. */
static int run_ms(struct conn *c, int ms)
{
	uint64_t end = now_mono_ms() + (uint64_t)ms;
	while (now_mono_ms() < end) {
		event_base_loop(c->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (c->state == CONN_UP)
			return 1;
	}
	return 0;
}

/* A driver that needs a peer, left without one: it keeps trying and never
 * reports CONN_UP; stop() still ends with one core_stopped() and nothing
 * after it. */
static void no_peer_never_up_and_stops(void **state)
{
	(void)state;
	for (const struct driver_ops *const *d = driver_registry; *d; d++) {
		if (!needs_peer((*d)->name))
			continue;
		struct conn c;
		dead_peer = true;
		start_conn(&c, *d);
		dead_peer = false;
		assert_int_equal(run_ms(&c, 300), 0);
		stop_conn(&c);
		run_until(&c, has_stopped, 3000);
		assert_int_equal(c.stopped_calls, 1);
		assert_int_equal(run_ms(&c, 100), 0);
		assert_false(c.called_after_stop);
		close_conn(&c);
	}
}

/* Unknown settings keys are refused for every driver. */
static void unknown_settings_refused(void **state)
{
	(void)state;
	for (const struct driver_ops *const *d = driver_registry; *d; d++) {
		void *conf = xcalloc(1, (*d)->conf_size ? (*d)->conf_size : 1);
		struct errbuf err = {""};
		assert_int_equal(settings_parse((*d)->settings, "{\"no_such_key\": 1}", conf, &err), -1);
		assert_non_null(strstr(err.msg, "no_such_key"));
		settings_free((*d)->settings, conf);
		free(conf);
	}
}

/* A server-side driver is up once it listens; stop() ends with exactly one
 * core_stopped() and nothing after it. */
static void listeners_up_and_stop(void **state)
{
	(void)state;
	for (const struct driver_ops *const *d = driver_registry; *d; d++) {
		if (!((*d)->caps & CAP_LISTEN) || needs_peer((*d)->name))
			continue;
		struct conn c;
		open_conn(&c, *d);
		stop_conn(&c);
		run_until(&c, has_stopped, 3000);
		assert_int_equal(c.stopped_calls, 1);
		run_ms(&c, 50);
		assert_false(c.called_after_stop);
		close_conn(&c);
	}
}

/* Runs base until done() or max_ms. */
static bool loop_until(struct event_base *base, bool (*done)(void *), void *arg, int max_ms)
{
	uint64_t end = now_mono_ms() + (uint64_t)max_ms;
	while (!done(arg) && now_mono_ms() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	return done(arg);
}

struct pair {
	struct conn server, client;
	int want_reports, want_events;
};
static bool server_listening(void *p)
{
	return ((struct pair *)p)->server.listen_port > 0;
}
static bool client_up(void *p)
{
	return ((struct pair *)p)->client.state == CONN_UP && ((struct pair *)p)->server.attached > 0;
}
static bool client_completed(void *p)
{
	return all_completed(&((struct pair *)p)->client);
}
static bool client_reported(void *p)
{
	return ((struct pair *)p)->client.reports >= ((struct pair *)p)->want_reports;
}
static bool events_done(void *p)
{
	return ((struct pair *)p)->server.events_done >= ((struct pair *)p)->want_events;
}
static bool both_stopped(void *p)
{
	return ((struct pair *)p)->server.stopped && ((struct pair *)p)->client.stopped;
}

static struct account_event *report_event(const char *account, int64_t id, int64_t message_id)
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

/* A client driver against its server driver, both in this process on one
 * loop, the server's core calls answered here: login (authenticate →
 * authenticated), every submit (submit → submitted) completed sent on the
 * client, a receipt (deliver → the client's report; acked true →
 * core_event_done(delivered); acked false → not delivered), then both stop
 * cleanly with every attach matched by a detach.  client_fmt: the client's
 * settings with %d for the server's port. */
static void client_and_server(const char *server_type, const char *server_json, const char *client_type,
                              const char *client_fmt)
{
	const struct driver_ops *srv = driver_find(server_type), *cli = driver_find(client_type);
	assert_non_null(srv);
	assert_non_null(cli);
	struct event_base *base = event_base_new();
	struct pair *p = xcalloc(1, sizeof *p);
	start_conn_json(&p->server, srv, server_json, base);
	assert_true(loop_until(base, server_listening, p, 3000));
	char json[256];
	snprintf(json, sizeof json, client_fmt, p->server.listen_port);
	start_conn_json(&p->client, cli, json, base);
	assert_true(loop_until(base, client_up, p, 5000));
	assert_true(p->server.auths >= 1);

	for (int i = 1; i <= 20; i++) {
		p->client.submitted++;
		cli->submit(&p->client, make_msg(i, i % 2 ? "short"
		                                          : "a text that is long enough to be counted as more "
		                                            "than one part when the limit is one hundred and "
		                                            "sixty characters, which this one passes by a few "
		                                            "words and then some more, to be sure of it"));
	}
	assert_true(loop_until(base, client_completed, p, 5000));
	assert_int_equal(p->client.sent, 20);
	assert_true(p->server.submits >= 20); /* one per submit_sm */

	/* a receipt the client's core commits, then one it does not */
	p->want_reports = 1;
	p->want_events = 1;
	srv->deliver(&p->server, report_event(p->server.account, 1, p->server.last_message_id));
	assert_true(loop_until(base, client_reported, p, 5000));
	cli->acked(&p->client, p->client.last_token, true);
	assert_true(loop_until(base, events_done, p, 5000));
	assert_int_equal(p->server.events_delivered, 1);
	p->want_reports = 2;
	p->want_events = 2;
	srv->deliver(&p->server, report_event(p->server.account, 2, p->server.last_message_id));
	assert_true(loop_until(base, client_reported, p, 5000));
	cli->acked(&p->client, p->client.last_token, false);
	assert_true(loop_until(base, events_done, p, 5000));
	assert_int_equal(p->server.events_delivered, 1); /* the second was refused: the server tries again */

	/* stop() with messages lent: each completes sent, released or
	 * temporary, before core_stopped() */
	for (int i = 1; i <= 6; i++) {
		p->client.submitted++;
		cli->submit(&p->client, make_msg(100 + i, "in flight"));
	}
	stop_conn(&p->client);
	stop_conn(&p->server);
	assert_true(loop_until(base, both_stopped, p, 5000));
	assert_int_equal(p->client.completed, p->client.submitted);
	assert_int_equal(p->client.bad_stop_outcome, 0);
	assert_int_equal(p->client.stopped_calls, 1);
	assert_int_equal(p->server.stopped_calls, 1);
	assert_int_equal(p->server.attached, 0);
	assert_false(p->client.called_after_stop);
	assert_false(p->server.called_after_stop);
	close_conn(&p->client);
	close_conn(&p->server);
	event_base_free(base);
	free(p);
}

static void smpp_client_and_server(void **state)
{
	(void)state;
	client_and_server("smpp-server", "{\"listen\": \"127.0.0.1:0\"}", "smpp",
	                  "{\"host\": \"127.0.0.1\", \"port\": %d, \"system_id\": \"contract\", \"password\": \"pw\", "
	                  "\"reconnect_min_ms\": 20}");
}

static void link_client_and_server(void **state)
{
	(void)state;
	/* a frame the client does not ack is given up after response_timeout_s */
	client_and_server("link-server", "{\"listen\": \"127.0.0.1:0\", \"response_timeout_s\": 1}", "link",
	                  "{\"host\": \"127.0.0.1\", \"port\": %d, \"account\": \"contract\", \"password\": \"pw\", "
	                  "\"reconnect_min_ms\": 20}");
}

static void ucp_client_and_server(void **state)
{
	(void)state;
	client_and_server("ucp-server", "{\"listen\": \"127.0.0.1:0\"}", "ucp",
	                  "{\"host\": \"127.0.0.1\", \"port\": %d, \"login\": \"1234\", \"password\": \"pw\", "
	                  "\"reconnect_min_ms\": 20}");
}

/* A callback client on a thread (the loop keeps running here). */
struct cb_client {
	int port;
	const char *body;
	long status;
	volatile bool done;
};

static void *cb_client_main(void *arg)
{
	struct cb_client *k = arg;
	char url[96];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/report", k->port);
	CURL *e = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, k->body);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	FILE *null = fopen("/dev/null", "w");
	curl_easy_setopt(e, CURLOPT_WRITEDATA, null);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &k->status);
	fclose(null);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	__atomic_store_n(&k->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static int want_reports;
static bool has_report(struct conn *c)
{
	return c->reports >= want_reports;
}

/* Posts body (n reports) and acks them: committed[i] for the i-th. */
static long post_reports(struct conn *c, int port, const char *body, int n, const bool *committed)
{
	struct cb_client k = {.port = port, .body = body};
	pthread_t th;
	c->reports = 0;
	want_reports = n;
	assert_int_equal(pthread_create(&th, NULL, cb_client_main, &k), 0);
	run_until(c, has_report, 5000);
	assert_int_equal(c->reports, n);
	for (int i = 0; i < n; i++)
		c->ops->acked(c, c->tokens[i], committed[i]);
	uint64_t end = now_mono_ms() + 5000;
	while (!__atomic_load_n(&k.done, __ATOMIC_SEQ_CST) && now_mono_ms() < end)
		event_base_loop(c->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	pthread_join(th, NULL);
	return k.status;
}

/* acked(committed=false) makes the peer send again: the http callback
 * listener answers the provider 503 (and 200 only after a commit). */
static void acked_not_committed(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	int port = bound_port(s);
	close(s);
	char extra[160];
	snprintf(extra, sizeof extra, "{\"listen\": \"127.0.0.1:%d\", \"allow_insecure_callbacks\": true}", port);
	for (const struct driver_ops *const *d = driver_registry; *d; d++) {
		if (strcmp((*d)->name, "http") != 0)
			continue;
		struct conn c;
		start_conn_with(&c, *d, extra);
		run_until(&c, is_up, 2000);
		assert_int_equal(c.state, CONN_UP);
		const char *one = "{\"id\": \"R1\", \"status\": \"delivered\"}";
		const char *two =
		    "[{\"id\": \"R2\", \"status\": \"delivered\"}, {\"id\": \"R3\", \"status\": \"expired\"}]";
		assert_int_equal(post_reports(&c, port, one, 1, (bool[]){false}), 503);
		assert_int_equal(post_reports(&c, port, one, 1, (bool[]){true}), 200);
		/* many reports in one request: 200 only when every one is committed */
		assert_int_equal(post_reports(&c, port, two, 2, (bool[]){true, false}), 503);
		assert_int_equal(post_reports(&c, port, two, 2, (bool[]){true, true}), 200);
		stop_conn(&c);
		run_until(&c, has_stopped, 3000);
		assert_int_equal(c.stopped_calls, 1);
		close_conn(&c);
	}
}

#include "contract_calls.h"

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_submit_completes_once),  cmocka_unit_test(stop_completes_in_flight),
	    cmocka_unit_test(no_peer_never_up_and_stops),   cmocka_unit_test(unknown_settings_refused),
	    cmocka_unit_test(listeners_up_and_stop),        cmocka_unit_test(acked_not_committed),
	    cmocka_unit_test(smpp_client_and_server),       cmocka_unit_test(ucp_client_and_server),
	    cmocka_unit_test(link_client_and_server),       cmocka_unit_test(odbc_takes_and_reports),
	    cmocka_unit_test(http_api_submits_and_queries), cmocka_unit_test(at_acked_not_committed),
	    cmocka_unit_test(fbus_acked_not_committed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
