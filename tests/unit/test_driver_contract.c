/*
 * The driver contract of drivers/driver.h, held against every driver that
 * can run without a peer.  This file plays the core: it implements the
 * core_* and conn_* functions itself and records every call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "driver.h"
#include "policy.h"
#include "util.h"

struct conn {
	const struct driver_ops *ops;
	void *conf, *drv;
	struct event_base *base;
	enum conn_state state;
	int submitted, completed, sent, received, reports, stopped_calls;
	bool stopped, called_after_stop;
	int64_t completed_ids[64];
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
	if (m->outcome == MSG_SENT) {
		c->sent++;
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
	(void)token;
	if (c->stopped)
		c->called_after_stop = true;
	assert_non_null(in->sender);
	assert_non_null(in->recipient);
	c->received++;
	inbound_free(in);
}
void core_report(struct conn *c, struct report *r, uint64_t token)
{
	(void)token;
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
/* Server side: this file has no database, so nothing is answered; the
 * calls are only checked not to come after stop. */
void core_authenticate(struct conn *c, const char *account, const char *password, const char *peer_addr, uint64_t token)
{
	(void)account, (void)password, (void)peer_addr, (void)token;
	if (c->stopped)
		c->called_after_stop = true;
}
void core_submit(struct conn *c, struct submission *s, uint64_t token)
{
	(void)token;
	if (c->stopped)
		c->called_after_stop = true;
	submission_free(s);
}
void core_account_attach(struct conn *c, const char *account)
{
	(void)account;
	if (c->stopped)
		c->called_after_stop = true;
}
void core_account_detach(struct conn *c, const char *account)
{
	(void)account;
	if (c->stopped)
		c->called_after_stop = true;
}
void core_event_done(struct conn *c, const struct account_event *ev, bool delivered)
{
	(void)ev, (void)delivered;
	if (c->stopped)
		c->called_after_stop = true;
}
void core_query(struct conn *c, const char *account, int64_t message_id, uint64_t token)
{
	(void)account, (void)message_id, (void)token;
	if (c->stopped)
		c->called_after_stop = true;
}

#include "fake_account_policy.h"

/* Settings that let each driver run here; a driver missing from this table
 * fails the test, so that none is forgotten. */
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
    {"link", "{\"host\": \"127.0.0.1\", \"port\": 9, \"account\": \"contract\", \"reconnect_min_ms\": 20}"},
    {"link-server", "{\"listen\": \"127.0.0.1:0\"}"},
    {"http",
     "{\"url\": \"http://127.0.0.1:1/send?to={recipient}\", \"body\": \"text={text}\", \"connect_timeout_ms\": 1000}"},
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

/* Drivers that cannot come up without a remote peer (tests/e2e has one for
 * each).  Their settings above point at a port where nobody listens, and
 * they are held to the rules that apply while they are not up: they never
 * report CONN_UP, and stop() ends with exactly one core_stopped() and no
 * call after it.  The submit tests, which need CONN_UP, skip them. */
static const char *const peer_drivers[] = {"smpp", "odbc", "at", "fbus", "ucp", "link"};

static bool needs_peer(const char *type)
{
	for (size_t i = 0; i < ARRAY_LEN(peer_drivers); i++)
		if (strcmp(peer_drivers[i], type) == 0)
			return true;
	return false;
}

/* Opens without waiting for CONN_UP. */
static void start_conn(struct conn *c, const struct driver_ops *ops)
{
	memset(c, 0, sizeof *c);
	c->ops = ops;
	c->base = event_base_new();
	c->conf = xcalloc(1, ops->conf_size ? ops->conf_size : 1);
	const char *json = settings_for(ops->name);
	if (!json)
		fail_msg("driver %s has no entry in test_settings", ops->name);
	struct errbuf err = {""};
	if (settings_parse(ops->settings, json, c->conf, &err))
		fail_msg("driver %s: %s", ops->name, err.msg);
	if (ops->check && ops->check(c->conf, &err))
		fail_msg("driver %s: check: %s", ops->name, err.msg);
	assert_int_equal(ops->open(c), 0);
}

static void open_conn(struct conn *c, const struct driver_ops *ops)
{
	start_conn(c, ops);
	run_until(c, is_up, 2000);
	assert_int_equal(c->state, CONN_UP);
}

static void close_conn(struct conn *c)
{
	c->ops->close(c);
	settings_free(c->ops->settings, c->conf);
	free(c->conf);
	event_base_free(c->base);
}

/* Every submit gets exactly one completion. */
static void every_submit_completes_once(void **state)
{
	(void)state;
	for (const struct driver_ops *const *d = driver_registry; *d; d++) {
		if (!((*d)->caps & CAP_SEND) || needs_peer((*d)->name))
			continue;
		struct conn c;
		open_conn(&c, *d);
		for (int i = 1; i <= 20; i++) {
			c.submitted++;
			c.ops->submit(&c, make_msg(i, i % 2 ? "short"
			                                    : "a text that is long enough to be counted "
			                                      "as more than one part when the limit is "
			                                      "one hundred and sixty characters, which "
			                                      "this one passes by a few words"));
		}
		run_until(&c, all_completed, 3000);
		assert_int_equal(c.completed, c.submitted);
		c.ops->stop(&c);
		run_until(&c, has_stopped, 3000);
		assert_int_equal(c.stopped_calls, 1);
		assert_false(c.called_after_stop);
		close_conn(&c);
	}
}

/* stop() completes what is still lent before core_stopped(). */
static void stop_completes_in_flight(void **state)
{
	(void)state;
	for (const struct driver_ops *const *d = driver_registry; *d; d++) {
		if (!((*d)->caps & CAP_SEND) || needs_peer((*d)->name))
			continue;
		struct conn c;
		open_conn(&c, *d);
		for (int i = 1; i <= 10; i++) {
			c.submitted++;
			c.ops->submit(&c, make_msg(100 + i, "in flight"));
		}
		c.ops->stop(&c);
		run_until(&c, has_stopped, 3000);
		assert_true(c.stopped);
		assert_int_equal(c.completed, c.submitted);
		assert_false(c.called_after_stop);
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
		start_conn(&c, *d);
		assert_int_equal(run_ms(&c, 300), 0);
		c.ops->stop(&c);
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
		c.ops->stop(&c);
		run_until(&c, has_stopped, 3000);
		assert_int_equal(c.stopped_calls, 1);
		run_ms(&c, 50);
		assert_false(c.called_after_stop);
		close_conn(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_submit_completes_once), cmocka_unit_test(stop_completes_in_flight),
	    cmocka_unit_test(no_peer_never_up_and_stops),  cmocka_unit_test(unknown_settings_refused),
	    cmocka_unit_test(listeners_up_and_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
