/*
 * The driver contract of drivers/driver.h for the protocols that have both
 * a client and a server driver (smpp, ucp, link): the client against its
 * own server, both in this process on one loop, the server's core calls
 * answered by the fake core (contract_core.h).  Each driver alone is held
 * to the contract by test_driver_contract.c.
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
#include "util.h"

#include "contract_core.h"

struct pair {
	struct conn server, client;
	int want_reports, want_events, auths_before;
};
static bool server_listening(void *p)
{
	return ((struct pair *)p)->server.listen_port > 0;
}
static bool client_up(void *p)
{
	return ((struct pair *)p)->client.state == CONN_UP && ((struct pair *)p)->server.attached > 0;
}
static bool client_logged_in_again(void *p)
{
	return client_up(p) && ((struct pair *)p)->server.auths > ((struct pair *)p)->auths_before;
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

/* A client driver against its server driver, both in this process on one
 * loop, the server's core calls answered here: login (authenticate →
 * authenticated), every submit (submit → submitted) completed sent on the
 * client, a receipt (deliver → the client's report; acked true →
 * core_event_done(delivered); acked false → not delivered), the account
 * revoked (the session ends, the client logs in again), then both stop
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

	/* account_revoked(): the client's session ends (the protocol's
	 * goodbye), the client logs in again; another account's change
	 * leaves it */
	p->auths_before = p->server.auths;
	srv->account_revoked(&p->server, "another");
	assert_false(loop_until(base, client_logged_in_again, p, 300));
	srv->account_revoked(&p->server, p->server.account);
	assert_true(loop_until(base, client_logged_in_again, p, 5000));
	assert_int_equal(p->server.attached, 1);

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(smpp_client_and_server),
	    cmocka_unit_test(ucp_client_and_server),
	    cmocka_unit_test(link_client_and_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
