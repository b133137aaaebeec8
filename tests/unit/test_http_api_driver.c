/* The HTTP send API's driver (connection type http-api) over real HTTP,
 * with this file playing the core: authentication through the core and
 * then from the cache, answers only after the core's, the core's refusals
 * as statuses, queries, stop() waiting for what is in flight, and the
 * account's throughput.  A client thread makes each request (libcurl)
 * while the test runs the loop.  The pure parts (bodies, answers,
 * credentials) are test_http_api.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "driver.h"
#include "policy.h"

extern const struct driver_ops http_api_driver;

struct conn {
	void *conf, *drv;
	struct event_base *base;
	enum conn_state state;
	char detail[256];
	int stopped_calls, auth_calls, submit_calls, query_calls;
	bool called_after_stop;
	/* the last question of each kind, answered by the test */
	uint64_t auth_token, submit_token, query_token;
	char auth_user[64], auth_pass[64], query_account[64];
	int64_t query_id;
	struct submission *sub;
};

const char *conn_name(const struct conn *c)
{
	(void)c;
	return "api-test";
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
void core_conn_state(struct conn *c, enum conn_state state, const char *detail)
{
	c->called_after_stop |= c->stopped_calls > 0;
	c->state = state;
	snprintf(c->detail, sizeof c->detail, "%s", detail ? detail : "");
}
void core_stopped(struct conn *c)
{
	c->stopped_calls++;
}
void core_authenticate(struct conn *c, const char *account, const char *password, const char *peer_addr, uint64_t token)
{
	c->called_after_stop |= c->stopped_calls > 0;
	assert_string_equal(peer_addr, "127.0.0.1");
	c->auth_calls++;
	c->auth_token = token;
	snprintf(c->auth_user, sizeof c->auth_user, "%s", account);
	snprintf(c->auth_pass, sizeof c->auth_pass, "%s", password);
}
void core_submit(struct conn *c, struct submission *s, uint64_t token)
{
	c->called_after_stop |= c->stopped_calls > 0;
	c->submit_calls++;
	c->submit_token = token;
	if (c->sub)
		submission_free(c->sub);
	c->sub = s;
}
void core_query(struct conn *c, const char *account, int64_t message_id, uint64_t token)
{
	c->called_after_stop |= c->stopped_calls > 0;
	c->query_calls++;
	c->query_token = token;
	c->query_id = message_id;
	snprintf(c->query_account, sizeof c->query_account, "%s", account);
}

#include "fake_account_policy.h"

/* One HTTP request made by a client thread while the test runs the loop. */
struct client {
	char url[256], userpwd[64], ctype[64];
	const char *body; /* NULL: GET */
	long status;
	char out[4096], www_auth[64];
	size_t outlen;
	atomic_int done;
	pthread_t th;
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct client *cl = arg;
	size_t len = sz * n;
	if (cl->outlen + len < sizeof cl->out) {
		memcpy(cl->out + cl->outlen, p, len);
		cl->outlen += len;
		cl->out[cl->outlen] = 0;
	}
	return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct client *cl = arg;
	size_t len = sz * n;
	if (len > 18 && strncasecmp(p, "WWW-Authenticate: ", 18) == 0)
		snprintf(cl->www_auth, sizeof cl->www_auth, "%.*s", (int)strcspn(p + 18, "\r\n"), p + 18);
	return len;
}

static void *client_run(void *arg)
{
	struct client *cl = arg;
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	curl_easy_setopt(h, CURLOPT_URL, cl->url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, cl);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, cl);
	if (cl->userpwd[0])
		curl_easy_setopt(h, CURLOPT_USERPWD, cl->userpwd);
	if (cl->body) {
		hdrs = curl_slist_append(hdrs, cl->ctype);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, cl->body);
	}
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &cl->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	atomic_store(&cl->done, 1);
	return NULL;
}

static void client_start(struct client *cl, const struct conn *c, const char *path, const char *userpwd,
                         const char *json)
{
	memset(cl, 0, sizeof *cl);
	const char *port = strrchr(c->detail, ':');
	assert_non_null(port);
	snprintf(cl->url, sizeof cl->url, "http://127.0.0.1:%d%s", atoi(port + 1), path);
	snprintf(cl->userpwd, sizeof cl->userpwd, "%s", userpwd ? userpwd : "");
	snprintf(cl->ctype, sizeof cl->ctype, "Content-Type: application/json");
	cl->body = json;
	assert_int_equal(pthread_create(&cl->th, NULL, client_run, cl), 0);
}

/* Runs the loop until *flag changes from before (or the client is done). */
static void run_until_changed(struct conn *c, const int *counter, int before, struct client *cl)
{
	uint64_t end = now_mono_ms() + 5000;
	while (now_mono_ms() < end && (counter ? *counter == before : 1) && !(cl && atomic_load(&cl->done)))
		event_base_loop(c->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static void client_wait(struct conn *c, struct client *cl)
{
	uint64_t end = now_mono_ms() + 5000;
	while (now_mono_ms() < end && !atomic_load(&cl->done))
		event_base_loop(c->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_true(atomic_load(&cl->done));
	pthread_join(cl->th, NULL);
}

static void server_setup(struct conn *c, const char *settings)
{
	memset(c, 0, sizeof *c);
	c->base = event_base_new();
	c->conf = calloc(1, http_api_driver.conf_size);
	struct errbuf err = {""};
	if (settings_parse(http_api_driver.settings, settings, c->conf, &err))
		fail_msg("settings: %s", err.msg);
	assert_int_equal(http_api_driver.check(c->conf, &err), 0);
	assert_int_equal(http_api_driver.open(c), 0);
	assert_int_equal(c->state, CONN_UP);
	assert_non_null(strstr(c->detail, "listening on 127.0.0.1:"));
	assert_null(strstr(c->detail, "127.0.0.1:0 "));
}

static void server_teardown(struct conn *c)
{
	http_api_driver.close(c);
	settings_free(http_api_driver.settings, c->conf);
	free(c->conf);
	if (c->sub)
		submission_free(c->sub);
	event_base_free(c->base);
}

static const char MSG[] = "{\"to\": \"+15551234567\", \"text\": \"hello\"}";

/* Authentication through the core, then from the cache; answers only after
 * the core's; the core's refusals as statuses; a query. */
static void server_flow(void **state)
{
	(void)state;
	struct conn c;
	struct client cl;
	server_setup(&c, "{\"listen\": \"127.0.0.1:0\"}");
	struct account_info app1 = {"app1", 0, 0};

	client_start(&cl, &c, "/api/v1/messages", "app1:pw-1", MSG);
	run_until_changed(&c, &c.auth_calls, 0, &cl);
	assert_int_equal(c.auth_calls, 1);
	assert_string_equal(c.auth_user, "app1");
	assert_string_equal(c.auth_pass, "pw-1");
	assert_false(atomic_load(&cl.done));
	http_api_driver.authenticated(&c, c.auth_token, &app1, NULL);
	run_until_changed(&c, &c.submit_calls, 0, &cl);
	assert_int_equal(c.submit_calls, 1);
	assert_string_equal(c.sub->account, "app1");
	assert_string_equal(c.sub->recipient, "+15551234567");
	/* not answered before the core says the row is committed */
	uint64_t end = now_mono_ms() + 100;
	while (now_mono_ms() < end)
		event_base_loop(c.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_false(atomic_load(&cl.done));
	http_api_driver.submitted(&c, c.submit_token, &(struct submit_result){.message_id = 77});
	client_wait(&c, &cl);
	assert_int_equal(cl.status, 201);
	assert_string_equal(cl.out, "{\"id\":77,\"status\":\"queued\"}");

	/* the same login again: from the cache, no second authentication */
	client_start(&cl, &c, "/api/v1/messages", "app1:pw-1", MSG);
	run_until_changed(&c, &c.submit_calls, 1, &cl);
	assert_int_equal(c.auth_calls, 1);
	http_api_driver.submitted(
	    &c, c.submit_token,
	    &(struct submit_result){.error = SUBMIT_INVALID,
	                            .field = SUBMIT_FIELD_RECIPIENT,
	                            .text = "outbox.recipient: must be 1 to 20 digits (got \"x\")"});
	client_wait(&c, &cl);
	assert_int_equal(cl.status, 400);
	assert_non_null(strstr(cl.out, "\"field\":\"to\""));
	/* the database is away: 503 */
	client_start(&cl, &c, "/api/v1/messages", "app1:pw-1", MSG);
	run_until_changed(&c, &c.submit_calls, 2, &cl);
	http_api_driver.submitted(&c, c.submit_token,
	                          &(struct submit_result){.error = SUBMIT_TEMPORARY, .text = "database unavailable"});
	client_wait(&c, &cl);
	assert_int_equal(cl.status, 503);

	/* another password is not in the cache; refusals */
	static const struct {
		const char *reason;
		long status;
	} refusals[] = {{"wrong password", 401},
	                {"unknown account", 401},
	                {"account disabled", 403},
	                {"address not allowed", 403},
	                {"database unavailable", 503}};
	for (size_t i = 0; i < sizeof refusals / sizeof *refusals; i++) {
		int before = c.auth_calls;
		client_start(&cl, &c, "/api/v1/messages", "app1:other", MSG);
		run_until_changed(&c, &c.auth_calls, before, &cl);
		assert_int_equal(c.auth_calls, before + 1);
		http_api_driver.authenticated(&c, c.auth_token, NULL, refusals[i].reason);
		client_wait(&c, &cl);
		assert_int_equal(cl.status, refusals[i].status);
		if (cl.status == 401)
			assert_string_equal(cl.www_auth, "Basic realm=\"smspool\"");
		assert_int_equal(c.submit_calls, 3);
	}

	/* a query */
	client_start(&cl, &c, "/api/v1/messages/77", "app1:pw-1", NULL);
	run_until_changed(&c, &c.query_calls, 0, &cl);
	assert_string_equal(c.query_account, "app1");
	assert_int_equal(c.query_id, 77);
	struct message_status st = {.id = 77, .status = "sent", .recipient = "+15551234567", .parts = 1};
	http_api_driver.queried(&c, c.query_token, &st);
	client_wait(&c, &cl);
	assert_int_equal(cl.status, 200);
	assert_non_null(strstr(cl.out, "\"status\":\"sent\""));
	client_start(&cl, &c, "/api/v1/messages/78", "app1:pw-1", NULL);
	run_until_changed(&c, &c.query_calls, 1, &cl);
	http_api_driver.queried(&c, c.query_token, NULL);
	client_wait(&c, &cl);
	assert_int_equal(cl.status, 404);
	assert_string_equal(cl.out, "{\"error\":\"no such message\"}");

	/* answers for tokens nobody waits for are ignored */
	http_api_driver.submitted(&c, 999999, &(struct submit_result){.message_id = 1});
	http_api_driver.authenticated(&c, 999999, &app1, NULL);
	http_api_driver.queried(&c, 999999, NULL);

	http_api_driver.stop(&c);
	run_until_changed(&c, &c.stopped_calls, 0, NULL);
	assert_int_equal(c.stopped_calls, 1);
	assert_false(c.called_after_stop);
	server_teardown(&c);
}

/* stop() waits for the core's answer to what is in flight, answers the
 * client, and only then calls core_stopped(). */
static void server_stop_waits(void **state)
{
	(void)state;
	struct conn c;
	struct client cl;
	server_setup(&c, "{\"listen\": \"127.0.0.1:0\", \"auth_cache_s\": 0}");
	struct account_info app1 = {"app1", 0, 0};
	client_start(&cl, &c, "/api/v1/messages", "app1:pw-1", MSG);
	run_until_changed(&c, &c.auth_calls, 0, &cl);
	http_api_driver.authenticated(&c, c.auth_token, &app1, NULL);
	run_until_changed(&c, &c.submit_calls, 0, &cl);
	assert_int_equal(c.submit_calls, 1);
	http_api_driver.stop(&c);
	uint64_t end = now_mono_ms() + 300;
	while (now_mono_ms() < end)
		event_base_loop(c.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(c.stopped_calls, 0); /* still waiting for the core */
	assert_int_equal(c.state, CONN_STOPPING);
	assert_false(atomic_load(&cl.done));
	http_api_driver.submitted(&c, c.submit_token, &(struct submit_result){.message_id = 5});
	client_wait(&c, &cl);
	assert_int_equal(cl.status, 201);
	run_until_changed(&c, &c.stopped_calls, 0, NULL);
	assert_int_equal(c.stopped_calls, 1);
	assert_false(c.called_after_stop);
	/* auth_cache_s 0: every request asks the core */
	server_teardown(&c);
}

/* A throughput of 1 per second: the second message at once is 429 with
 * Retry-After, without reaching the core. */
static void server_throttle(void **state)
{
	(void)state;
	struct conn c;
	struct client cl;
	server_setup(&c, "{\"listen\": \"127.0.0.1:0\"}");
	struct account_info slow = {"slow1", 0, 1};
	client_start(&cl, &c, "/api/v1/messages", "slow1:pw", MSG);
	run_until_changed(&c, &c.auth_calls, 0, &cl);
	http_api_driver.authenticated(&c, c.auth_token, &slow, NULL);
	run_until_changed(&c, &c.submit_calls, 0, &cl);
	http_api_driver.submitted(&c, c.submit_token, &(struct submit_result){.message_id = 1});
	client_wait(&c, &cl);
	assert_int_equal(cl.status, 201);
	client_start(&cl, &c, "/api/v1/messages", "slow1:pw", MSG);
	client_wait(&c, &cl);
	assert_int_equal(cl.status, 429);
	assert_int_equal(c.submit_calls, 1);
	http_api_driver.stop(&c);
	run_until_changed(&c, &c.stopped_calls, 0, NULL);
	assert_int_equal(c.stopped_calls, 1);
	server_teardown(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(server_flow),
	    cmocka_unit_test(server_stop_waits),
	    cmocka_unit_test(server_throttle),
	};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
