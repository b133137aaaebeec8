/*
 * The server-side calls of the driver contract (drivers/driver.h) through
 * the fake core (contract_core.h), for the drivers that make them
 * without a client driver of their own to pair with: odbc (core_submit of
 * the foreign rows, deliver / core_event_done of their states) and http-api
 * (core_authenticate / authenticated, core_submit / submitted, core_query /
 * queried); and acked(committed=false) of a text the at and fbus drivers
 * received.  Included once, by test_driver_contract.c,
 * after its helpers.
 */
#ifndef SMSPOOL_TEST_CONTRACT_CALLS_H
#define SMSPOOL_TEST_CONTRACT_CALLS_H

static int want_submits, want_events;
static bool has_submits(struct conn *c)
{
	return c->submits >= want_submits;
}
static bool has_events_done(struct conn *c)
{
	return c->events_done >= want_events;
}
struct odbc_wait {
	struct conn *c;
	const char *sql;
	long long want;
};
static bool odbc_has(void *arg)
{
	struct odbc_wait *w = arg;
	return odbc_peer_number(w->c->odbc, w->sql) == w->want;
}

/* odbc's calls of the core as a submitting client: every new row of the
 * foreign table goes to core_submit, and is marked taken only after
 * submitted(); a report that deliver() hands over is written into the row
 * and then answered with core_event_done(delivered=true); stop() with an
 * event still out answers it before core_stopped(). */
static void odbc_takes_and_reports(void **state)
{
	(void)state;
	const struct driver_ops *ops = driver_find("odbc");
	assert_non_null(ops);
	struct conn c;
	memset(&c, 0, sizeof c);
	c.odbc = odbc_peer_start();
	odbc_peer_exec(c.odbc, "INSERT INTO sms_outgoing (recipient, body) VALUES ('+15550000001', 'one'), "
	                       "('+15550000002', 'two'), ('+15550000003', 'three')");
	struct odbc_peer *db = c.odbc;
	char json[512];
	snprintf(json, sizeof json,
	         "{\"connection_string\": \"%s\", \"account\": \"contract\", \"retry_min_ms\": 20, \"poll_ms\": 50}",
	         db->connstr);
	struct event_base *base = event_base_new();
	start_conn_json(&c, ops, json, base);
	c.shared_base = false;
	c.odbc = db;
	run_until(&c, is_up, 10000);
	assert_int_equal(c.state, CONN_UP);
	assert_int_equal(c.attached, 1);
	assert_string_equal(c.account, "contract");
	want_submits = 3;
	run_until(&c, has_submits, 10000);
	assert_int_equal(c.submits, 3);
	struct odbc_wait w = {&c, "SELECT count(*) FROM sms_outgoing WHERE status = 'queued' AND smspool_id > 1000", 3};
	assert_true(loop_until(base, odbc_has, &w, 10000));

	/* the last row's message is delivered */
	struct account_event *ev = report_event("contract", 1, c.last_message_id);
	ev->client_ref = xstrdup(c.client_ref);
	want_events = 1;
	ops->deliver(&c, ev);
	run_until(&c, has_events_done, 10000);
	assert_int_equal(c.events_done, 1);
	assert_int_equal(c.events_delivered, 1);
	w.sql = "SELECT count(*) FROM sms_outgoing WHERE status = 'delivered'";
	w.want = 1;
	assert_true(loop_until(base, odbc_has, &w, 1000));

	/* one more, then stop at once: it is answered (either way) first */
	ev = report_event("contract", 2, c.last_message_id - 1);
	ev->client_ref = xstrdup("1");
	ops->deliver(&c, ev);
	stop_conn(&c);
	run_until(&c, has_stopped, 10000);
	assert_int_equal(c.stopped_calls, 1);
	assert_int_equal(c.events_done, 2);
	assert_int_equal(c.attached, 0);
	run_ms(&c, 50);
	assert_false(c.called_after_stop);
	close_conn(&c);
}

/* A client of the http-api on a thread: one request, its status and body. */
struct api_client {
	char url[128];
	const char *body; /* NULL: GET */
	long status;
	char answer[512];
	size_t len;
	volatile bool done;
};

static size_t api_client_write(char *p, size_t size, size_t n, void *arg)
{
	struct api_client *k = arg;
	size_t m = size * n, room = sizeof k->answer - 1 - k->len;
	memcpy(k->answer + k->len, p, m < room ? m : room);
	k->len += m < room ? m : room;
	return m;
}

static void *api_client_main(void *arg)
{
	struct api_client *k = arg;
	CURL *e = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(e, CURLOPT_URL, k->url);
	curl_easy_setopt(e, CURLOPT_USERPWD, "contract:pw");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	if (k->body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, k->body);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, api_client_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, k);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &k->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	__atomic_store_n(&k->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static long api_call(struct conn *c, int port, const char *path, const char *body, char *answer, size_t cap)
{
	struct api_client *k = xcalloc(1, sizeof *k);
	snprintf(k->url, sizeof k->url, "http://127.0.0.1:%d/api/v1%s", port, path);
	k->body = body;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, api_client_main, k), 0);
	uint64_t end = now_mono_ms() + 8000;
	while (!__atomic_load_n(&k->done, __ATOMIC_SEQ_CST) && now_mono_ms() < end)
		event_base_loop(c->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	pthread_join(th, NULL);
	long status = k->status;
	snprintf(answer, cap, "%s", k->answer);
	free(k);
	return status;
}

/* The server side of http-api through this fake core: a login is asked
 * with core_authenticate and answered by authenticated(), a submission by
 * submitted() after the (fake) commit, and a query by queried(): the state
 * of a known message (200), none for an unknown one (404); a login is
 * cached until account_revoked() names its account (or "" = all). */
static void http_api_submits_and_queries(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	int port = bound_port(s);
	close(s);
	char extra[96], answer[512], path[64];
	snprintf(extra, sizeof extra, "{\"listen\": \"127.0.0.1:%d\"}", port);
	const struct driver_ops *ops = driver_find("http-api");
	assert_non_null(ops);
	struct conn c;
	start_conn_json(&c, ops, extra, event_base_new());
	c.shared_base = false;
	run_until(&c, is_up, 5000);
	assert_int_equal(c.state, CONN_UP);

	assert_int_equal(
	    api_call(&c, port, "/messages", "{\"to\": \"+15551234567\", \"text\": \"hi\"}", answer, sizeof answer),
	    201);
	assert_int_equal(c.auths, 1);
	assert_int_equal(c.submits, 1);
	assert_non_null(strstr(answer, "1001"));
	snprintf(path, sizeof path, "/messages/%lld", (long long)c.last_message_id);
	assert_int_equal(api_call(&c, port, path, NULL, answer, sizeof answer), 200);
	assert_int_equal(c.queries, 1);
	assert_non_null(strstr(answer, "delivered"));
	assert_int_equal(api_call(&c, port, "/messages/5", NULL, answer, sizeof answer), 404);
	assert_int_equal(c.queries, 2);
	assert_int_equal(c.auths, 1); /* the login was cached */

	/* account_revoked(): the account's cached login is forgotten (another
	 * account's change leaves it), the next request authenticates again */
	ops->account_revoked(&c, "another");
	assert_int_equal(api_call(&c, port, "/messages/5", NULL, answer, sizeof answer), 404);
	assert_int_equal(c.auths, 1);
	ops->account_revoked(&c, "contract");
	assert_int_equal(api_call(&c, port, "/messages/5", NULL, answer, sizeof answer), 404);
	assert_int_equal(c.auths, 2);
	ops->account_revoked(&c, "");
	assert_int_equal(api_call(&c, port, "/messages/5", NULL, answer, sizeof answer), 404);
	assert_int_equal(c.auths, 3);

	stop_conn(&c);
	run_until(&c, has_stopped, 5000);
	assert_int_equal(c.stopped_calls, 1);
	run_ms(&c, 50);
	assert_false(c.called_after_stop);
	close_conn(&c);
}

/* at, fbus: a text stored on the SIM is handed to core_received with a
 * token; it is deleted from the SIM only after acked(committed=true): after
 * acked(committed=false) it stays, and the next sweep hands it over again. */
static int want_received;
static bool has_received(struct conn *c)
{
	return c->received >= want_received;
}
static bool modem_deleted(struct conn *c)
{
	return c->pty->deletes > 0;
}

static void sim_acked_not_committed(const char *type)
{
	const struct driver_ops *ops = driver_find(type);
	assert_non_null(ops);
	struct conn c;
	memset(&c, 0, sizeof c);
	struct event_base *base = event_base_new();
	bool fbus = strcmp(type, "fbus") == 0;
	struct pty_peer *modem = pty_peer_start(base, fbus);
	modem->stored = true;
	char json[256];
	snprintf(json, sizeof json, "{\"port\": \"%s\", \"sweep_s\": 1%s}", modem->name,
	         fbus ? ", \"smsc\": \"+15550000000\"" : ", \"command_timeout_ms\": 2000");
	start_conn_json(&c, ops, json, base);
	c.shared_base = false;
	c.pty = modem;
	want_received = 1;
	run_until(&c, has_received, 10000);
	assert_int_equal(c.received, 1);
	assert_true(c.last_token != 0);
	ops->acked(&c, c.last_token, false);
	want_received = 2; /* the next sweep */
	run_until(&c, has_received, 10000);
	assert_int_equal(c.received, 2);
	assert_int_equal(modem->deletes, 0);
	ops->acked(&c, c.last_token, true);
	run_until(&c, modem_deleted, 5000);
	assert_int_equal(modem->deletes, 1);
	stop_conn(&c);
	run_until(&c, has_stopped, 5000);
	assert_int_equal(c.stopped_calls, 1);
	assert_false(c.called_after_stop);
	close_conn(&c);
}

static void at_acked_not_committed(void **state)
{
	(void)state;
	sim_acked_not_committed("at");
}

static void fbus_acked_not_committed(void **state)
{
	(void)state;
	sim_acked_not_committed("fbus");
}

#endif
