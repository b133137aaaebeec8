/*
 * The driver contract of drivers/driver.h, held against every driver, one
 * at a time.  The fake core (contract_core.h) implements the core_* and
 * conn_* functions and records every call.  Peers run in this process, on
 * the same loop: an HTTP provider (libevent's evhttp) for the http driver's
 * sent path, a callback client on a thread for its acked(committed=false)
 * and for the http-api's logins, submissions and queries, a modem and a
 * Nokia phone on ptys for at and fbus, and an SQLite file through unixODBC
 * for odbc (contract_peers.h).  Each client driver that has a server driver
 * (smpp, ucp, link) runs against it in test_driver_contract_pairs.c.
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

#include "contract_core.h"
#include "contract_peers.h"

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

/* Every server-side driver (CAP_LISTEN, or one that takes authenticated())
 * ends the live sessions and cached logins of an account whose access
 * changed: account_revoked is required, no exemptions (issue 17). */
static void servers_have_account_revoked(void)
{
	for (const struct driver_ops *const *d = driver_registry; *d; d++) {
		if (!((*d)->caps & CAP_LISTEN) && !(*d)->authenticated)
			continue;
		if (!(*d)->account_revoked)
			fail_msg("driver %s takes logins but has no account_revoked", (*d)->name);
	}
}

/* A server-side driver has account_revoked (above) and is up once it
 * listens; a revoke without sessions is harmless; stop() ends with exactly
 * one core_stopped() and nothing after it. */
static void listeners_up_and_stop(void **state)
{
	(void)state;
	servers_have_account_revoked();
	for (const struct driver_ops *const *d = driver_registry; *d; d++) {
		if (!((*d)->caps & CAP_LISTEN) || needs_peer((*d)->name))
			continue;
		struct conn c;
		open_conn(&c, *d);
		(*d)->account_revoked(&c, "nobody");
		(*d)->account_revoked(&c, "");
		assert_int_equal(c.state, CONN_UP);
		stop_conn(&c);
		run_until(&c, has_stopped, 3000);
		assert_int_equal(c.stopped_calls, 1);
		run_ms(&c, 50);
		assert_false(c.called_after_stop);
		close_conn(&c);
	}
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
	    cmocka_unit_test(every_submit_completes_once), cmocka_unit_test(stop_completes_in_flight),
	    cmocka_unit_test(no_peer_never_up_and_stops),  cmocka_unit_test(unknown_settings_refused),
	    cmocka_unit_test(listeners_up_and_stop),       cmocka_unit_test(acked_not_committed),
	    cmocka_unit_test(odbc_takes_and_reports),      cmocka_unit_test(http_api_submits_and_queries),
	    cmocka_unit_test(at_acked_not_committed),      cmocka_unit_test(fbus_acked_not_committed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
