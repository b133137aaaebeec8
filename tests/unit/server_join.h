/*
 * The cases of a server driver's joined parts (net/join.c, under both
 * smpp-server and ucp-server), one table per protocol: the parts of a
 * concatenated submit held by a session when the connection stops or the
 * session goes away before the core answered.  A logged-in session on an
 * in-memory link sends a complete set of 2 (joined: ONE submission to the
 * core, "Hello world", client_parts 2) and part 1 of a set of 3 (held),
 * nothing answered before the commit, then:
 * - stop, the core answers: the held part is refused at the stop, both
 *   parts of the joined set are accepted after the commit, each with an
 *   answer of its own (the table's), and the connection stops;
 * - a forced stop (the daemon's grace ran out: close() after stop() with
 *   the core's answer never given), the session torn down (the client gone
 *   while the core has the set, then close()), and close() without stop:
 *   every set and part is freed (the joined set waiting for the core was
 *   not: issue 11, seen under LeakSanitizer).
 * Each case runs twice; the second run must leave no allocation behind
 * (fake_allocs.h's count; LeakSanitizer under SANITIZE=1).
 * Included once by test_PROTO_server_join.c, which gives the table and
 * calls server_join_main(); fake_core.h plays the core.
 */
#ifndef SMSPOOL_TEST_SERVER_JOIN_H
#define SMSPOOL_TEST_SERVER_JOIN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "fake_allocs.h"
#include "fake_core.h"
#include "log.h"
#include "net/srvbase.h"
#include "settings.h"

/* An answer of the session to one operation of the client. */
struct join_answer {
	unsigned id;   /* of the operation answered: sequence number, TRN */
	unsigned op;   /* of the answer */
	bool ok;       /* accepted */
	char code[24]; /* why not: the protocol's error, "" if ok */
	char text[65]; /* the message id given: message_id, SM */
};

/* What differs between the protocols. */
struct join_proto {
	const struct driver_ops *drv;
	/* A new server of c and a session of it on an in-memory link. */
	struct srvbase_sess *(*sess_new)(struct conn *c, struct bufferevent **peer);
	/* The parts s holds (0 without a join). */
	size_t (*held)(struct srvbase_sess *s);
	/* Writes the login of account acme, password secret, as operation 1. */
	void (*login)(struct bufferevent *peer);
	unsigned login_op; /* of the answer to it */
	bool login_bound;  /* srvbase's state is BOUND once authenticated */
	/* Writes part seq of set ref (total parts) from 12345 to 4915550001
	 * as operation id. */
	void (*part)(struct bufferevent *peer, unsigned id, unsigned ref, unsigned total, unsigned seq,
	             const char *text);
	/* The next answer written to peer, into *a (false: none complete);
	 * what is no answer is consumed (answered if it asks for one). */
	bool (*answer)(struct bufferevent *peer, struct join_answer *a);
	const char *refused; /* the held part's code at the stop */
	const char *ids[2];  /* the text of part 1's and part 2's answer: */
	bool ids_exact;      /* the whole text, or found in it */
};

static const struct join_proto *P;

static struct {
	struct conn c;
	struct srvbase *sv;
	struct srvbase_sess *s;
	struct bufferevent *peer;
	struct join_answer ans[16];
	int nans;
} F;

static void join_read(void)
{
	struct join_answer a;
	while (F.peer && P->answer(F.peer, &a))
		if (F.nans < 16)
			F.ans[F.nans++] = a;
}

static bool join_run(bool (*done)(void))
{
	uint64_t end = now_mono_ms() + 5000;
	bool ok;
	while (!(ok = done()) && now_mono_ms() < end) {
		event_base_loop(F.c.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		join_read();
	}
	return ok;
}

static bool join_authenticating(void)
{
	return F.c.nauths == 1;
}
static bool join_one_answer(void)
{
	return F.nans >= 1;
}
static bool join_three_answers(void)
{
	return F.nans >= 3;
}
static bool join_set_at_core(void)
{
	return F.c.nsubmits == 1 && P->held(F.s) == 1;
}
static bool join_stopped(void)
{
	return F.c.stopped == 1;
}
static bool join_sess_closed(void)
{
	return F.sv->sessions && F.sv->sessions->state == SRVBASE_CLOSED;
}

static const struct join_answer *join_answer_of(unsigned id)
{
	for (int i = 0; i < F.nans; i++)
		if (F.ans[i].id == id)
			return &F.ans[i];
	fail_msg("no answer to operation %u", id);
	return NULL;
}

static void join_login(void)
{
	P->login(F.peer);
	assert_true(join_run(join_authenticating));
	struct account_info info = {.name = "acme"};
	P->drv->authenticated(&F.c, F.c.auths[0], &info, NULL);
	if (P->login_bound)
		assert_int_equal(F.s->state, SRVBASE_BOUND);
	assert_true(join_run(join_one_answer));
	assert_int_equal(F.ans[0].op, P->login_op);
	assert_true(F.ans[0].ok);
	F.nans = 0;
}

/* A logged-in session with the joined set of 2 at the core (operations 2
 * and 3) and part 1 of a set of 3 held (operation 4). */
static void join_start(void)
{
	memset(&F, 0, sizeof F);
	F.c.base = event_base_new();
	F.c.conf = xcalloc(1, P->drv->conf_size);
	struct errbuf err = {""};
	assert_int_equal(settings_parse(P->drv->settings, "{\"reassembly_timeout_s\": 600}", F.c.conf, &err), 0);
	F.s = P->sess_new(&F.c, &F.peer);
	assert_non_null(F.s);
	F.sv = F.s->base;
	join_login();
	P->part(F.peer, 2, 7, 2, 2, " world");
	P->part(F.peer, 3, 7, 2, 1, "Hello");
	P->part(F.peer, 4, 8, 3, 1, "held");
	assert_true(join_run(join_set_at_core));
	assert_int_equal(F.c.client_parts, 2);
	assert_string_equal(F.c.body, "Hello world");
	assert_int_equal(F.nans, 0); /* nothing answered before the commit */
}

static void join_finish(void)
{
	P->drv->close(&F.c);
	if (F.peer)
		bufferevent_free(F.peer);
	/* As the daemon's loop goes on after a close: libevent finishes
	 * freeing a bufferevent from the loop when a callback of it was
	 * pending (the pair's, after the client's last write). */
	event_base_loop(F.c.base, EVLOOP_NONBLOCK);
	settings_free(P->drv->settings, F.c.conf);
	free(F.c.conf);
	event_base_free(F.c.base);
}

static void join_check_id(const char *text, const char *want)
{
	if (P->ids_exact)
		assert_string_equal(text, want);
	else
		assert_non_null(strstr(text, want));
}

/* Stop, the core answers: every part answered, then the stop ends. */
static void join_stop_answered(void)
{
	join_start();
	P->drv->stop(&F.c);
	assert_true(join_run(join_one_answer));
	const struct join_answer *a = join_answer_of(4);
	assert_false(a->ok);
	assert_string_equal(a->code, P->refused);
	assert_int_equal(F.c.stopped, 0); /* the core has the set */
	P->drv->submitted(&F.c, F.c.submits[0], &(struct submit_result){.message_id = 4242});
	assert_true(join_run(join_three_answers));
	const struct join_answer *p2 = join_answer_of(2), *p1 = join_answer_of(3);
	assert_true(p1->ok);
	assert_true(p2->ok);
	join_check_id(p1->text, P->ids[0]);
	join_check_id(p2->text, P->ids[1]);
	assert_string_not_equal(p1->text, p2->text); /* an answer per part */
	assert_true(join_run(join_stopped));
	join_finish();
}

/* The daemon's grace ran out: close() right after stop(), the core's
 * answer never given. */
static void join_stop_forced(void)
{
	join_start();
	P->drv->stop(&F.c);
	assert_true(join_run(join_one_answer));
	assert_int_equal(F.c.stopped, 0);
	join_finish();
}

/* The client goes away while the core has the set: the session waits
 * CLOSED for the answer that never comes, then close(). */
static void join_sess_torn_down(void)
{
	join_start();
	bufferevent_flush(F.peer, EV_WRITE, BEV_FINISHED); /* the session reads its end */
	bufferevent_free(F.peer);
	F.peer = NULL;
	assert_true(join_run(join_sess_closed));
	join_finish();
}

/* close() without a stop, the set at the core and the part held. */
static void join_close_only(void)
{
	join_start();
	join_finish();
}

struct join_case {
	const char *name;
	void (*run)(void);
};

/* The case once to warm up, then again: nothing left behind. */
static void join_twice(void **state)
{
	const struct join_case *k = *state;
	k->run();
	long before = allocs_live();
	k->run();
	assert_int_equal(allocs_live(), before);
}

static int server_join_main(const struct join_proto *proto)
{
	static const struct join_case cases[] = {
	    {"test_stop_answered", join_stop_answered},
	    {"test_stop_forced", join_stop_forced},
	    {"test_sess_torn_down", join_sess_torn_down},
	    {"test_close_only", join_close_only},
	};
	enum { N = sizeof cases / sizeof *cases };
	struct CMUnitTest tests[N];
	for (size_t i = 0; i < N; i++)
		tests[i] = (struct CMUnitTest){
		    .name = cases[i].name, .test_func = join_twice, .initial_state = (void *)&cases[i]};
	P = proto;
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
