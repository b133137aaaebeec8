/* The link layer (src/net/link.c) over real sockets on 127.0.0.1, driven by
 * a libevent loop with bounded run times: framing of frames split across
 * writes and of several in one write, the size limit, the request table
 * (sequence numbers, timeouts, the window), keepalive, the unbound timeout,
 * per-address limits, pause and close after flush.  A toy protocol: a frame
 * is one length octet (the whole frame's length) then the payload; a
 * payload "ping" is a keepalive, "pong" its answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "net/addr.h"
#include "net/link.h"

static long toy_frame(const uint8_t *buf, size_t len, struct errbuf *err)
{
	(void)len;
	if (buf[0] == 0)
		return errbuf_set(err, "zero length"), -1;
	return buf[0];
}

struct side {
	struct link *l;
	int frames, ups, downs, timeouts, keepalives, bad;
	char last[64], reason[200];
	uint32_t timed_out_seq;
};

static struct event_base *base;
static struct side srv, cli;

static void on_frame(struct link *l, void *arg, const uint8_t *buf, size_t len)
{
	struct side *s = arg;
	s->frames++;
	snprintf(s->last, sizeof s->last, "%.*s", (int)len - 1, (const char *)buf + 1);
	if (strcmp(s->last, "ping") == 0) {
		uint8_t pong[5] = {5, 'p', 'o', 'n', 'g'};
		assert_int_equal(link_send(l, pong, 5), 0);
	}
}
static void on_up(struct link *l, void *arg)
{
	(void)l;
	((struct side *)arg)->ups++;
}
static void on_down(struct link *l, void *arg, const char *reason)
{
	struct side *s = arg;
	s->downs++;
	snprintf(s->reason, sizeof s->reason, "%s", reason);
	link_free(l);
	s->l = NULL;
}
static void on_timeout(struct link *l, void *arg, uint32_t seq, void *data)
{
	(void)l;
	(void)data;
	struct side *s = arg;
	s->timeouts++;
	s->timed_out_seq = seq;
}
static int on_keepalive(struct link *l, void *arg, uint32_t seq)
{
	(void)seq;
	((struct side *)arg)->keepalives++;
	uint8_t ping[5] = {5, 'p', 'i', 'n', 'g'};
	return link_send(l, ping, 5);
}
static void on_bad(struct link *l, void *arg, const char *reason)
{
	(void)l;
	(void)reason;
	((struct side *)arg)->bad++;
}

static const struct link_ops ops = {.frame = toy_frame,
                                    .frame_min = 1,
                                    .on_frame = on_frame,
                                    .on_up = on_up,
                                    .on_down = on_down,
                                    .on_timeout = on_timeout,
                                    .on_keepalive = on_keepalive,
                                    .on_bad_stream = on_bad};

static void *accept_fn(struct link_listener *ls, void *arg, struct link *l)
{
	(void)ls;
	(void)arg;
	if (srv.l) /* one session at a time here; others refused */
		return NULL;
	srv.l = l;
	return &srv;
}

/* Runs the loop until cond holds or ms pass. */
#define RUN_UNTIL(cond, ms)                                                                                            \
	do {                                                                                                           \
		for (int _i = 0; _i < (ms) / 10 && !(cond); _i++) {                                                    \
			struct timeval _tv = {0, 10000};                                                               \
			event_base_loopexit(base, &_tv);                                                               \
			event_base_dispatch(base);                                                                     \
		}                                                                                                      \
	} while (0)

static struct link_opts opts(void)
{
	return (struct link_opts){.name = "test",
	                          .max_frame = 100,
	                          .response_timeout_ms = 300,
	                          .seq_min = 0,
	                          .seq_max = 99,
	                          .window = 3,
	                          .out_high = 1 << 20,
	                          .out_low = 1 << 18};
}

static struct link_listener *pair(const struct link_opts *so, int max_per_address)
{
	memset(&srv, 0, sizeof srv);
	memset(&cli, 0, sizeof cli);
	struct errbuf err = {""};
	struct link_listen_opts lo = {.addr = "127.0.0.1:0", .max_per_address = max_per_address, .link = *so};
	struct link_listener *ls = link_listen(base, &lo, &ops, accept_fn, NULL, &err);
	assert_non_null(ls);
	char host[64];
	int port;
	assert_int_equal(net_addr_split(link_listener_addr(ls), host, sizeof host, &port, 0), 0);
	struct link_opts co = opts();
	cli.l = link_connect(base, &co, &ops, &cli, host, port, NULL, NULL, &err);
	assert_non_null(cli.l);
	RUN_UNTIL(cli.ups == 1 && srv.l, 2000);
	assert_int_equal(cli.ups, 1);
	assert_non_null(srv.l);
	return ls;
}

static void done(struct link_listener *ls)
{
	link_free(cli.l);
	link_free(srv.l);
	link_listener_free(ls);
}

static void framing(void **state)
{
	(void)state;
	struct link_opts so = opts();
	struct link_listener *ls = pair(&so, 0);
	/* One frame in three writes, then two frames in one write. */
	assert_int_equal(link_send(cli.l, "\x06he", 3), 0);
	RUN_UNTIL(0, 50);
	assert_int_equal(link_send(cli.l, "ll", 2), 0);
	RUN_UNTIL(0, 50);
	assert_int_equal(srv.frames, 0);
	assert_int_equal(link_send(cli.l,
	                           "o\x03hi\x04"
	                           "abc",
	                           8),
	                 0);
	RUN_UNTIL(srv.frames == 3, 2000);
	assert_int_equal(srv.frames, 3);
	assert_string_equal(srv.last, "abc");
	/* A frame above max_frame ends the session, after on_bad_stream. */
	uint8_t big[2] = {101, 'x'};
	assert_int_equal(link_send(cli.l, big, 2), 0);
	RUN_UNTIL(srv.downs == 1, 2000);
	assert_int_equal(srv.bad, 1);
	assert_int_equal(srv.downs, 1);
	assert_non_null(strstr(srv.reason, "above the limit"));
	RUN_UNTIL(cli.downs == 1, 2000);
	assert_int_equal(cli.downs, 1);
	done(ls);
}

static void requests(void **state)
{
	(void)state;
	struct link_opts so = opts();
	struct link_listener *ls = pair(&so, 0);
	uint32_t seq[4];
	static int data[4];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(link_next_seq(cli.l, &seq[i]), 0);
		assert_int_equal(link_request_add(cli.l, seq[i], &data[i], i == 2 ? 5000 : 0, true), 0);
	}
	assert_int_equal(seq[0], 0);
	assert_int_equal(seq[2], 2);
	assert_int_equal(link_request_add(cli.l, seq[0], &data[0], 0, true), -1); /* in use */
	assert_int_equal(link_outstanding(cli.l), 3);
	assert_int_equal(link_window_room(cli.l), 0);
	assert_ptr_equal(link_request_take(cli.l, seq[1]), &data[1]);
	assert_null(link_request_take(cli.l, seq[1]));
	assert_int_equal(link_window_room(cli.l), 1);
	/* seq[0] times out after 300 ms; seq[2] (5 s) does not. */
	RUN_UNTIL(cli.timeouts == 1, 3000);
	assert_int_equal(cli.timeouts, 1);
	assert_int_equal(cli.timed_out_seq, seq[0]);
	assert_int_equal(link_outstanding(cli.l), 1);
	assert_ptr_equal(link_request_find(cli.l, seq[2]), &data[2]);
	assert_int_equal(cli.downs, 0);
	/* The sequence numbers wrap within [0, 99], skipping those in use. */
	for (int i = 0; i < 200; i++) {
		uint32_t s;
		assert_int_equal(link_next_seq(cli.l, &s), 0);
		assert_true(s <= 99 && s != seq[2]);
	}
	done(ls);
}

static void keepalive_and_unbound(void **state)
{
	(void)state;
	struct link_opts so = opts();
	so.keepalive_ms = 200;
	so.unbound_timeout_ms = 600;
	struct link_listener *ls = pair(&so, 0);
	/* The server sends keepalives only once bound. */
	RUN_UNTIL(0, 300);
	assert_int_equal(srv.keepalives, 0);
	link_set_bound(srv.l);
	RUN_UNTIL(srv.keepalives >= 1 && srv.frames >= 1, 3000);
	assert_true(srv.keepalives >= 1);
	assert_string_equal(srv.last, "pong");
	done(ls);
	/* Not bound in time: ended. */
	ls = pair(&so, 0);
	RUN_UNTIL(srv.downs == 1, 3000);
	assert_int_equal(srv.downs, 1);
	assert_string_equal(srv.reason, "unbound timeout");
	done(ls);
}

static void keepalive_unanswered(void **state)
{
	(void)state;
	struct link_opts so = opts();
	so.keepalive_ms = 100;
	struct link_listener *ls = pair(&so, 0);
	link_set_bound(srv.l);
	link_pause(cli.l, true); /* the client reads nothing: no pong */
	RUN_UNTIL(srv.downs == 1, 3000);
	assert_int_equal(srv.downs, 1);
	assert_string_equal(srv.reason, "keepalive timeout");
	done(ls);
}

static void per_address_and_flush(void **state)
{
	(void)state;
	struct link_opts so = opts();
	struct link_listener *ls = pair(&so, 1);
	assert_int_equal(link_listener_sessions(ls), 1);
	/* A second session from 127.0.0.1 is closed at accept. */
	struct side extra = {0};
	struct errbuf err = {""};
	char host[64];
	int port;
	assert_int_equal(net_addr_split(link_listener_addr(ls), host, sizeof host, &port, 0), 0);
	struct link_opts co = opts();
	extra.l = link_connect(base, &co, &ops, &extra, host, port, NULL, NULL, &err);
	RUN_UNTIL(extra.downs == 1, 3000);
	assert_int_equal(extra.downs, 1);
	assert_int_equal(link_listener_sessions(ls), 1);
	/* A last word, then close: the peer gets it, then the end. */
	assert_int_equal(link_send(srv.l,
	                           "\x04"
	                           "bye",
	                           4),
	                 0);
	link_close_flush(srv.l, "done");
	assert_int_equal(srv.downs, 0); /* never from within the owner's call */
	RUN_UNTIL(cli.downs == 1, 3000);
	assert_string_equal(cli.last, "bye");
	assert_int_equal(srv.downs, 1);
	assert_string_equal(srv.reason, "done");
	done(ls);
}

int main(void)
{
	base = event_base_new();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(framing),
	    cmocka_unit_test(requests),
	    cmocka_unit_test(keepalive_and_unbound),
	    cmocka_unit_test(keepalive_unanswered),
	    cmocka_unit_test(per_address_and_flush),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	event_base_free(base);
	return rc;
}
