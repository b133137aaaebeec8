/* The client session layer of src/net/clibase.c on real sockets on
 * 127.0.0.1, with fake_core.h as the core and this file as a toy
 * driver (a one-octet handshake answered by "U"): the states reached, the
 * loss of a session (drained requests, messages given back, a reconnect
 * after the backoff), and the stop: at once when not up, else bounded by
 * ops->busy and the response timeout, with exactly one core_stopped() and
 * no session started after it.  A second toy has a pair of sessions and a
 * goodbye ("G" answered by "B"), as SMPP's transmitter+receiver: up when
 * both handshakes are answered, lost together, each saying goodbye at a
 * stop, which ends with the answers or after the bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_core.h"
#include "net/clibase.h"
#include "util.h"

/* ---- the core: fake_core.h; the toys deliver nothing ---- */

static bool toy_received(struct conn *c, const struct inbound *in, uint64_t token)
{
	(void)c, (void)in, (void)token;
	fail();
	return false;
}
static bool toy_report(struct conn *c, const struct report *r, uint64_t token)
{
	(void)c, (void)r, (void)token;
	fail();
	return false;
}
static const struct fake_core_hooks toy_hooks = {.received = toy_received, .report = toy_report};

/* ---- the toy driver ---- */

struct toy {
	struct clibase base; /* first */
	struct link *link;
	int starts, handshakes, drained, released, ticks, stopped;
	bool busy;
};

static long toy_frame(const uint8_t *buf, size_t len, struct errbuf *err)
{
	(void)buf;
	(void)len;
	(void)err;
	return 1;
}

static void toy_on_frame(struct link *l, void *arg, const uint8_t *buf, size_t len)
{
	struct toy *t = arg;
	(void)l;
	(void)len;
	if (buf[0] == 'U' && t->base.state == CLIBASE_HANDSHAKE)
		clibase_set(&t->base, CLIBASE_UP, "handshake answered");
}

static const struct link_ops toy_link_ops = {
    .frame = toy_frame,
    .frame_min = 1,
    .on_frame = toy_on_frame,
    .on_up = clibase_link_up,
    .on_down = clibase_link_down,
};

static void toy_start(void *arg, struct link_opts *o)
{
	struct toy *t = arg;
	t->starts++;
	o->max_frame = 16;
	o->response_timeout_ms = 2000;
	o->seq_min = 1;
	o->seq_max = 100;
	o->window = 4;
	o->out_high = 4096;
	o->out_low = 1024;
}

static int toy_handshake(void *arg)
{
	struct toy *t = arg;
	uint32_t seq;
	t->handshakes++;
	/* a request outstanding, drained when the session ends */
	if (link_next_seq(t->link, &seq) || link_request_add(t->link, seq, t, 60000, false))
		return -1;
	return link_send(t->link, "H", 1);
}

static void toy_up(void *arg, char *detail, size_t cap)
{
	(void)arg;
	snprintf(detail, cap, "up");
}

static void toy_drained(void *arg, uint32_t seq, void *data)
{
	struct toy *t = arg;
	(void)seq;
	assert_ptr_equal(data, t);
	t->drained++;
}

static void toy_release(void *arg)
{
	((struct toy *)arg)->released++;
}

static bool toy_busy(void *arg)
{
	return ((struct toy *)arg)->busy;
}

static void toy_tick(void *arg)
{
	((struct toy *)arg)->ticks++;
}

static void toy_stopped(void *arg)
{
	((struct toy *)arg)->stopped++;
}

static const struct clibase_ops toy_ops = {
    .log_prefix = "toy",
    .handshake_name = "hello",
    .link_ops = &toy_link_ops,
    .start = toy_start,
    .handshake = toy_handshake,
    .up = toy_up,
    .drained = toy_drained,
    .forget = NULL,
    .release = toy_release,
    .busy = toy_busy,
    .tick = toy_tick,
    .stopped = toy_stopped,
};

/* ---- a peer: accepts (up to PEER_CONNS at once), answers "H" with "U"
 * (when answer) and "G" with "B" (when bye), closes on demand ---- */

enum { PEER_CONNS = 4 };

struct peer {
	evutil_socket_t lfd, fd[PEER_CONNS];
	struct event *accept_ev, *read_ev[PEER_CONNS];
	bool answer, bye;
	int accepted;
};

static void peer_drop_one(struct peer *p, int i)
{
	if (p->read_ev[i]) {
		event_free(p->read_ev[i]);
		evutil_closesocket(p->fd[i]);
		p->read_ev[i] = NULL;
	}
}

static void peer_read(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;
	char buf[64];
	(void)what;
	ssize_t n = recv(fd, buf, sizeof buf, 0);
	for (int i = 0; n == 0 && i < PEER_CONNS; i++)
		if (p->read_ev[i] && p->fd[i] == fd) {
			peer_drop_one(p, i); /* the client closed it */
			return;
		}
	if (n > 0 && p->answer && memchr(buf, 'H', (size_t)n))
		assert_int_equal(send(fd, "U", 1, 0), 1);
	if (n > 0 && p->bye && memchr(buf, 'G', (size_t)n))
		assert_int_equal(send(fd, "B", 1, 0), 1);
}

static void peer_accept(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;
	(void)what;
	evutil_socket_t s = accept(fd, NULL, NULL);
	if (s < 0)
		return;
	p->accepted++;
	int i = 0;
	while (i < PEER_CONNS - 1 && p->read_ev[i])
		i++;
	peer_drop_one(p, i); /* all taken: the last one goes */
	p->fd[i] = s;
	p->read_ev[i] = event_new(event_get_base(p->accept_ev), s, EV_READ | EV_PERSIST, peer_read, p);
	event_add(p->read_ev[i], NULL);
}

static int peer_open(struct peer *p, struct event_base *base)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(p->lfd >= 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(p->lfd, 8), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&sa, &sl), 0);
	evutil_make_socket_nonblocking(p->lfd);
	p->accept_ev = event_new(base, p->lfd, EV_READ | EV_PERSIST, peer_accept, p);
	event_add(p->accept_ev, NULL);
	return ntohs(sa.sin_port);
}

static void peer_drop(struct peer *p)
{
	for (int i = 0; i < PEER_CONNS; i++)
		peer_drop_one(p, i);
}

static void peer_close(struct peer *p)
{
	peer_drop(p);
	event_free(p->accept_ev);
	evutil_closesocket(p->lfd);
}

/* ---- helpers ---- */

/* Runs the loop until cond holds or 5 s have passed. */
#define RUN_UNTIL(base, cond)                                                                                          \
	do {                                                                                                           \
		uint64_t until_ = now_mono_ms() + 5000;                                                                \
		while (!(cond) && now_mono_ms() < until_)                                                              \
			event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);                            \
	} while (0)

static int toy_open(struct toy *t, struct conn *c, int port, uint64_t response_timeout_ms)
{
	struct dialer_conf dc = {.host = "127.0.0.1", .port = port, .reconnect_min_ms = 20, .reconnect_max_ms = 40};
	struct dialer_opts o = {.reconnect_min_ms = 20, .reconnect_max_ms = 40};
	return clibase_open(&t->base, c, &toy_ops, t, &t->link, &dc, &o, response_timeout_ms);
}

/* ---- tests ---- */

static void up_lost_reconnect_stop(void **state)
{
	(void)state;
	struct conn c = {.base = event_base_new(), .hooks = &toy_hooks};
	struct peer p = {.answer = true};
	struct toy t = {0};
	int port = peer_open(&p, c.base);
	assert_int_equal(toy_open(&t, &c, port, 2000), 0);
	assert_int_equal(c.state, CONN_CONNECTING);
	RUN_UNTIL(c.base, c.state == CONN_UP);
	assert_int_equal(c.state, CONN_UP);
	assert_true(clibase_is_up(&t.base));
	assert_int_equal(t.handshakes, 1);
	assert_int_equal(t.drained, 0);
	/* the peer drops the session: the handshake's request is drained,
	 * held messages given back, and a new session comes up */
	peer_drop(&p);
	RUN_UNTIL(c.base, c.states[CONN_UP] == 2);
	assert_int_equal(c.states[CONN_UP], 2);
	assert_int_equal(t.drained, 1);
	assert_true(t.released >= 1);
	assert_int_equal(t.starts, 2);
	assert_int_equal(t.base.gen, 2);
	/* stop while up and busy: waits; once not busy, one core_stopped() */
	t.busy = true;
	clibase_stop(&t.base, "waiting");
	assert_int_equal(c.state, CONN_STOPPING);
	assert_int_equal(c.stopped, 0);
	t.busy = false;
	clibase_stop_progress(&t.base);
	assert_int_equal(c.stopped, 1);
	assert_int_equal(c.state, CONN_DOWN);
	assert_int_equal(t.stopped, 1);
	assert_null(t.link);
	/* nothing after the stop: no reconnect, no second core_stopped() */
	int accepted = p.accepted;
	RUN_UNTIL(c.base, p.accepted > accepted);
	assert_int_equal(p.accepted, accepted);
	clibase_lost(&t.base, "late");
	clibase_stop_progress(&t.base);
	assert_int_equal(c.stopped, 1);
	assert_false(c.after_stop);
	clibase_close(&t.base);
	peer_close(&p);
	event_base_free(c.base);
}

static void stop_bounded_by_response_timeout(void **state)
{
	(void)state;
	struct conn c = {.base = event_base_new(), .hooks = &toy_hooks};
	struct peer p = {.answer = true};
	struct toy t = {.busy = true};
	int port = peer_open(&p, c.base);
	assert_int_equal(toy_open(&t, &c, port, 300), 0);
	RUN_UNTIL(c.base, c.state == CONN_UP);
	assert_int_equal(c.state, CONN_UP);
	uint64_t t0 = now_mono_ms();
	clibase_stop(&t.base, "waiting");
	RUN_UNTIL(c.base, c.stopped > 0);
	assert_int_equal(c.stopped, 1);
	assert_true(now_mono_ms() - t0 >= 300); /* waited for the busy driver, */
	assert_true(t.ticks > 0);               /* moved on by the tick */
	clibase_close(&t.base);
	peer_close(&p);
	event_base_free(c.base);
}

static void stop_at_once_when_not_up(void **state)
{
	(void)state;
	struct conn c = {.base = event_base_new(), .hooks = &toy_hooks};
	struct peer p = {.answer = false}; /* never answers the handshake */
	struct toy t = {.busy = true};
	int port = peer_open(&p, c.base);
	assert_int_equal(toy_open(&t, &c, port, 2000), 0);
	RUN_UNTIL(c.base, t.handshakes == 1);
	assert_int_equal(t.base.state, CLIBASE_HANDSHAKE);
	clibase_stop(&t.base, "waiting");
	assert_int_equal(c.stopped, 1);
	assert_int_equal(t.drained, 1);
	assert_null(t.link);
	clibase_close(&t.base);
	peer_close(&p);
	event_base_free(c.base);
}

static void dead_port_retries(void **state)
{
	(void)state;
	struct conn c = {.base = event_base_new(), .hooks = &toy_hooks};
	struct peer p = {0};
	struct toy t = {0};
	int port = peer_open(&p, c.base);
	peer_close(&p); /* nobody listens there now */
	assert_int_equal(toy_open(&t, &c, port, 2000), 0);
	RUN_UNTIL(c.base, t.starts >= 3);
	assert_true(t.starts >= 3);
	assert_int_equal(c.states[CONN_UP], 0);
	clibase_stop(&t.base, "waiting");
	assert_int_equal(c.stopped, 1);
	int starts = t.starts;
	RUN_UNTIL(c.base, t.starts > starts);
	assert_int_equal(t.starts, starts);
	clibase_close(&t.base);
	event_base_free(c.base);
}

/* ---- a pair of sessions with a goodbye (as SMPP's transmitter+receiver) ---- */

struct duo;

struct duo_sess {
	struct duo *d;
	struct link *link;
	int starts, handshakes, goodbyes, byes, drained;
};

struct duo {
	struct clibase base; /* first */
	struct duo_sess s[2];
	bool busy;
	int stopped;
};

static void duo_on_frame(struct link *l, void *arg, const uint8_t *buf, size_t len)
{
	struct duo_sess *s = arg;
	(void)len;
	if (buf[0] == 'U')
		clibase_ready(&s->d->base, l, "handshake answered");
	else if (buf[0] == 'B' && ++s->byes)
		clibase_sess_end(&s->d->base, l, "goodbye answered");
}

static void duo_on_up(struct link *l, void *arg)
{
	clibase_sess_up(&((struct duo_sess *)arg)->d->base, l);
}

static void duo_on_down(struct link *l, void *arg, const char *reason)
{
	clibase_sess_down(&((struct duo_sess *)arg)->d->base, l, reason);
}

static const struct link_ops duo_link_ops = {
    .frame = toy_frame,
    .frame_min = 1,
    .on_frame = duo_on_frame,
    .on_up = duo_on_up,
    .on_down = duo_on_down,
};

static void duo_start(void *arg, struct link_opts *o)
{
	struct duo_sess *s = arg;
	s->starts++;
	o->max_frame = 16;
	o->response_timeout_ms = 2000;
	o->seq_min = 1;
	o->seq_max = 100;
	o->window = 4;
}

static int duo_handshake(void *arg)
{
	struct duo_sess *s = arg;
	uint32_t seq;
	s->handshakes++;
	/* a request outstanding, drained when the session ends */
	if (link_next_seq(s->link, &seq) || link_request_add(s->link, seq, s, 60000, false))
		return -1;
	return link_send(s->link, "H", 1);
}

static int duo_goodbye(void *arg)
{
	struct duo_sess *s = arg;
	s->goodbyes++;
	return link_send(s->link, "G", 1);
}

static void duo_drained(void *arg, uint32_t seq, void *data)
{
	struct duo_sess *s = arg;
	(void)seq;
	assert_ptr_equal(data, s); /* each session's requests to its own arg */
	s->drained++;
}

static bool duo_busy(void *arg)
{
	return ((struct duo *)arg)->busy;
}

static void duo_stopped(void *arg)
{
	((struct duo *)arg)->stopped++;
}

static const struct clibase_ops duo_ops = {
    .log_prefix = "duo",
    .handshake_name = "bind",
    .link_ops = &duo_link_ops,
    .start = duo_start,
    .handshake = duo_handshake,
    .goodbye = duo_goodbye,
    .up = toy_up,
    .drained = duo_drained,
    .busy = duo_busy,
    .stopped = duo_stopped,
};

static int duo_open(struct duo *d, struct conn *c, int port, uint64_t response_timeout_ms)
{
	struct dialer_conf dc = {.host = "127.0.0.1", .port = port, .reconnect_min_ms = 20, .reconnect_max_ms = 40};
	struct dialer_opts o = {.reconnect_min_ms = 20, .reconnect_max_ms = 40};
	for (int i = 0; i < 2; i++) {
		d->s[i].d = d;
		clibase_add_session(&d->base, &d->s[i].link, &d->s[i]);
	}
	return clibase_open(&d->base, c, &duo_ops, d, NULL, &dc, &o, response_timeout_ms);
}

static void pair_up_lost_together_goodbye(void **state)
{
	(void)state;
	struct conn c = {.base = event_base_new(), .hooks = &toy_hooks};
	struct peer p = {.answer = true, .bye = true};
	struct duo d = {0};
	int port = peer_open(&p, c.base);
	assert_int_equal(duo_open(&d, &c, port, 2000), 0);
	RUN_UNTIL(c.base, c.state == CONN_UP);
	assert_int_equal(c.state, CONN_UP);
	assert_int_equal(p.accepted, 2);
	assert_int_equal(d.s[0].handshakes, 1);
	assert_int_equal(d.s[1].handshakes, 1);
	assert_true(clibase_sess_ready(&d.base, d.s[1].link));
	assert_true(clibase_may_answer(&d.base, d.s[0].link, d.base.gen));
	assert_false(clibase_may_answer(&d.base, d.s[0].link, d.base.gen - 1));
	/* one of the pair is dropped: both are lost, both come back */
	uint64_t gen = d.base.gen;
	peer_drop_one(&p, 0);
	RUN_UNTIL(c.base, c.states[CONN_UP] == 2);
	assert_int_equal(c.states[CONN_UP], 2);
	assert_int_equal(d.s[0].starts, 2);
	assert_int_equal(d.s[1].starts, 2);
	assert_int_equal(d.s[0].drained, 1); /* each handshake's request, to its own session */
	assert_int_equal(d.s[1].drained, 1);
	assert_int_equal(d.base.gen, gen + 1);
	assert_false(clibase_may_answer(&d.base, d.s[0].link, gen));
	/* stop: busy first, then each session says goodbye and the stop is
	 * over when both are answered */
	d.busy = true;
	clibase_stop(&d.base, "waiting");
	assert_int_equal(c.state, CONN_STOPPING);
	assert_int_equal(d.s[0].goodbyes, 0);
	d.busy = false;
	clibase_stop_progress(&d.base);
	assert_int_equal(d.base.state, CLIBASE_GOODBYE);
	assert_int_equal(d.s[0].goodbyes, 1);
	assert_int_equal(d.s[1].goodbyes, 1);
	assert_false(clibase_sess_ready(&d.base, d.s[0].link)); /* no new requests of the peer */
	assert_int_equal(c.stopped, 0);
	RUN_UNTIL(c.base, c.stopped > 0);
	assert_int_equal(c.stopped, 1);
	assert_int_equal(d.s[0].byes, 1); /* ended by the answers */
	assert_int_equal(d.s[1].byes, 1);
	assert_null(d.s[0].link);
	assert_null(d.s[1].link);
	assert_int_equal(d.stopped, 1);
	assert_int_equal(c.state, CONN_DOWN);
	assert_false(c.after_stop);
	clibase_close(&d.base);
	peer_close(&p);
	event_base_free(c.base);
}

static void goodbye_unanswered_bounded(void **state)
{
	(void)state;
	struct conn c = {.base = event_base_new(), .hooks = &toy_hooks};
	struct peer p = {.answer = true, .bye = false};
	struct duo d = {0};
	int port = peer_open(&p, c.base);
	assert_int_equal(duo_open(&d, &c, port, 300), 0);
	RUN_UNTIL(c.base, c.state == CONN_UP);
	assert_int_equal(c.state, CONN_UP);
	uint64_t t0 = now_mono_ms();
	clibase_stop(&d.base, "waiting");
	assert_int_equal(d.base.state, CLIBASE_GOODBYE);
	RUN_UNTIL(c.base, c.stopped > 0);
	assert_int_equal(c.stopped, 1);
	assert_true(now_mono_ms() - t0 >= 300); /* waited for the goodbyes, bounded */
	assert_null(d.s[0].link);
	assert_null(d.s[1].link);
	clibase_close(&d.base);
	peer_close(&p);
	event_base_free(c.base);
}

static void pair_stop_at_once_in_handshake(void **state)
{
	(void)state;
	struct conn c = {.base = event_base_new(), .hooks = &toy_hooks};
	struct peer p = {.answer = false};
	struct duo d = {0};
	int port = peer_open(&p, c.base);
	assert_int_equal(duo_open(&d, &c, port, 2000), 0);
	RUN_UNTIL(c.base, d.s[0].handshakes == 1 && d.s[1].handshakes == 1);
	assert_int_equal(d.base.state, CLIBASE_HANDSHAKE);
	clibase_stop(&d.base, "waiting");
	assert_int_equal(c.stopped, 1);
	assert_int_equal(d.s[0].goodbyes + d.s[1].goodbyes, 0); /* never bound: no goodbye */
	assert_int_equal(d.s[0].drained, 1);
	assert_int_equal(d.s[1].drained, 1);
	clibase_close(&d.base);
	peer_close(&p);
	event_base_free(c.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(up_lost_reconnect_stop),         cmocka_unit_test(stop_bounded_by_response_timeout),
	    cmocka_unit_test(stop_at_once_when_not_up),       cmocka_unit_test(dead_port_retries),
	    cmocka_unit_test(pair_up_lost_together_goodbye),  cmocka_unit_test(goodbye_unanswered_bounded),
	    cmocka_unit_test(pair_stop_at_once_in_handshake),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
