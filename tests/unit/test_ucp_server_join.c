/*
 * ucp-server: the parts of a multipart submit (op 51, UDH in XSer 01) held
 * by a session, when the connection stops or the session goes away before
 * the core answered.  A logged-in session on an in-memory link sends a
 * complete set of 2 (joined: ONE submission to the core) and part 1 of a
 * set of 3 (held), then:
 * - stop, the core answers: the held part is NACKed 04 at the stop, both
 *   parts of the joined set are ACKed after the commit, each with its own
 *   SCTS, and the connection stops;
 * - a forced stop (the daemon's grace ran out: close() after stop() with
 *   the core's answer never given), the session torn down (the client gone
 *   while the core has the set, then close()), and close() without stop:
 *   every set and part is freed (the joined set waiting for the core was
 *   not: issue 11, seen under LeakSanitizer).
 * Each case runs twice; the second run must leave no allocation behind
 * (fake_server_core.h's count; LeakSanitizer under SANITIZE=1).
 * This file plays the core (fake_server_core.h).
 */
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

#include "fake_server_core.h"
#include "log.h"
#include "settings.h"
#include "ucp/frame.h"
#include "ucp/server.h"

struct answer {
	unsigned trn, ot;
	bool ack;
	char ec[4], sm[64];
};

static struct {
	struct conn c;
	struct server *sv;
	struct sess *s;
	struct bufferevent *peer;
	struct answer ans[16];
	int nans;
} F;

static void put(const struct ucp_frame *f)
{
	uint8_t buf[UCP_FRAME_MAX];
	size_t n;
	assert_int_equal(ucp_frame_encode(f, buf, sizeof buf, &n, NULL), 0);
	assert_int_equal(bufferevent_write(F.peer, buf, n), 0);
}

/* The results the session wrote, into F.ans. */
static void read_answers(void)
{
	if (!F.peer)
		return;
	struct evbuffer *in = bufferevent_get_input(F.peer);
	static struct ucp_frame f;
	for (;;) {
		size_t len = evbuffer_get_length(in), skip, flen;
		if (!len)
			return;
		const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)len);
		enum ucp_scan r = ucp_frame_scan(p, len, &skip, &flen);
		evbuffer_drain(in, skip);
		if (r != UCP_SCAN_FRAME)
			return;
		p = evbuffer_pullup(in, (ev_ssize_t)flen);
		struct ucp_error e;
		assert_int_equal(ucp_frame_decode(p, flen, &f, &e), 0);
		evbuffer_drain(in, flen);
		if (f.o_r != 'R' || F.nans >= 16)
			continue;
		struct answer *a = &F.ans[F.nans++];
		a->trn = f.trn;
		a->ot = f.ot;
		a->ack = f.ack;
		snprintf(a->ec, sizeof a->ec, "%.*s", f.nack ? (int)f.f[UCPR_EC_OR_MVP].len : 0, f.f[UCPR_EC_OR_MVP].p);
		snprintf(a->sm, sizeof a->sm, "%.*s", (int)f.f[UCPR_SM3].len, f.f[UCPR_SM3].p);
	}
}

static bool run(bool (*done)(struct conn *))
{
	uint64_t end = now_mono_ms() + 5000;
	bool ok;
	while (!(ok = done(&F.c)) && now_mono_ms() < end) {
		event_base_loop(F.c.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		read_answers();
	}
	return ok;
}

static bool authenticating(struct conn *c)
{
	return c->nauths == 1;
}
static bool login_acked(struct conn *c)
{
	(void)c;
	return F.nans >= 1;
}
static bool joined(struct conn *c)
{
	return c->nsubmits == 1 && F.s->join && net_join_held_count(F.s->join) == 1;
}

static void login(void)
{
	char pwd[16];
	hex_encode((const uint8_t *)"secret", 6, pwd);
	struct ucp_frame f = {.trn = 1, .o_r = 'O', .ot = 60, .nfields = UCP6X_COUNT};
	for (size_t i = 0; i < UCP6X_COUNT; i++)
		f.f[i] = (struct ucp_str){"", 0};
	f.f[UCP6X_OAdC] = (struct ucp_str){"acme", 4};
	f.f[UCP6X_OTON] = (struct ucp_str){"6", 1};
	f.f[UCP6X_ONPI] = (struct ucp_str){"5", 1};
	f.f[UCP6X_STYP] = (struct ucp_str){"1", 1};
	f.f[UCP6X_PWD] = (struct ucp_str){pwd, strlen(pwd)};
	f.f[UCP6X_VERS] = (struct ucp_str){"0100", 4};
	put(&f);
	assert_true(run(authenticating));
	struct account_info info = {.name = "acme"};
	ucp_server_driver.authenticated(&F.c, F.c.auths[0], &info, NULL);
	assert_int_equal(F.s->hd.state, SRVBASE_BOUND);
	assert_true(run(login_acked));
	assert_int_equal(F.ans[0].ot, 60);
	assert_true(F.ans[0].ack);
	F.nans = 0;
}

/* Part seq of set ref (total parts) as op 51 with TRN trn: MT 3, the UDH
 * (IE 00) in XSer 01. */
static void part(unsigned trn, unsigned ref, unsigned total, unsigned seq, const char *text)
{
	char msg[64], xser[32];
	hex_encode((const uint8_t *)text, strlen(text), msg);
	snprintf(xser, sizeof xser, "0106050003%02X%02X%02X", ref, total, seq);
	struct ucp_frame f = {.trn = trn, .o_r = 'O', .ot = 51, .nfields = UCP5X_COUNT};
	for (size_t i = 0; i < UCP5X_COUNT; i++)
		f.f[i] = (struct ucp_str){"", 0};
	f.f[UCP5X_AdC] = (struct ucp_str){"4915550001", 10};
	f.f[UCP5X_OAdC] = (struct ucp_str){"12345", 5};
	f.f[UCP5X_MT] = (struct ucp_str){"3", 1};
	f.f[UCP5X_Msg] = (struct ucp_str){msg, strlen(msg)};
	f.f[UCP5X_XSer] = (struct ucp_str){xser, strlen(xser)};
	put(&f);
}

/* A logged-in session with the joined set of 2 at the core (TRN 2 and 3)
 * and part 1 of a set of 3 held (TRN 4). */
static void start(void)
{
	memset(&F, 0, sizeof F);
	F.c.base = event_base_new();
	F.c.conf = xcalloc(1, ucp_server_driver.conf_size);
	struct errbuf err = {""};
	assert_int_equal(settings_parse(ucp_server_conf_settings, "{\"reassembly_timeout_s\": 600}", F.c.conf, &err),
	                 0);
	F.sv = server_new(&F.c);
	F.s = server_sess_memory(F.sv, &F.peer);
	assert_non_null(F.s);
	login();
	part(2, 7, 2, 2, " world");
	part(3, 7, 2, 1, "Hello");
	part(4, 8, 3, 1, "held");
	assert_true(run(joined));
	assert_int_equal(F.c.client_parts, 2);
	assert_string_equal(F.c.body, "Hello world");
	assert_int_equal(F.nans, 0); /* nothing answered before the commit */
}

static void finish(void)
{
	ucp_server_driver.close(&F.c);
	if (F.peer)
		bufferevent_free(F.peer);
	/* As the daemon's loop goes on after a close: libevent finishes
	 * freeing a bufferevent from the loop when a callback of it was
	 * pending (the pair's, after the client's last write). */
	event_base_loop(F.c.base, EVLOOP_NONBLOCK);
	settings_free(ucp_server_conf_settings, F.c.conf);
	free(F.c.conf);
	event_base_free(F.c.base);
}

static bool stopped(struct conn *c)
{
	return c->stopped == 1;
}
static bool three_answers(struct conn *c)
{
	(void)c;
	return F.nans >= 3;
}
static bool one_answer(struct conn *c)
{
	(void)c;
	return F.nans >= 1;
}
static bool sess_closed(struct conn *c)
{
	(void)c;
	return F.sv->base.sessions && F.sv->base.sessions->state == SRVBASE_CLOSED;
}

static const struct answer *answer_of(unsigned trn)
{
	for (int i = 0; i < F.nans; i++)
		if (F.ans[i].trn == trn)
			return &F.ans[i];
	fail_msg("no answer to TRN %02u", trn);
	return NULL;
}

/* Stop, the core answers: every part answered, then the stop ends. */
static void stop_answered(void)
{
	start();
	ucp_server_driver.stop(&F.c);
	assert_true(run(one_answer));
	const struct answer *a = answer_of(4);
	assert_false(a->ack);
	assert_string_equal(a->ec, "04");
	assert_int_equal(F.c.stopped, 0); /* the core has the set */
	ucp_server_driver.submitted(&F.c, F.c.submits[0], 4242, SUBMIT_OK, NULL);
	assert_true(run(three_answers));
	const struct answer *p2 = answer_of(2), *p1 = answer_of(3);
	assert_true(p1->ack);
	assert_true(p2->ack);
	assert_non_null(strstr(p1->sm, "4915550001:"));
	assert_non_null(strstr(p2->sm, "4915550001:"));
	assert_string_not_equal(p1->sm, p2->sm); /* an SCTS per part */
	assert_true(run(stopped));
	finish();
}

/* The daemon's grace ran out: close() right after stop(), the core's
 * answer never given. */
static void stop_forced(void)
{
	start();
	ucp_server_driver.stop(&F.c);
	assert_true(run(one_answer));
	assert_int_equal(F.c.stopped, 0);
	finish();
}

/* The client goes away while the core has the set: the session waits
 * CLOSED for the answer that never comes, then close(). */
static void sess_torn_down(void)
{
	start();
	bufferevent_flush(F.peer, EV_WRITE, BEV_FINISHED); /* the session reads its end */
	bufferevent_free(F.peer);
	F.peer = NULL;
	assert_true(run(sess_closed));
	finish();
}

/* close() without a stop, the set at the core and the part held. */
static void close_only(void)
{
	start();
	finish();
}

/* The case once to warm up, then again: nothing left behind. */
static void twice(void (*scenario)(void))
{
	scenario();
	long before = allocs_live();
	scenario();
	assert_int_equal(allocs_live(), before);
}

static void test_stop_answered(void **state)
{
	(void)state;
	twice(stop_answered);
}
static void test_stop_forced(void **state)
{
	(void)state;
	twice(stop_forced);
}
static void test_sess_torn_down(void **state)
{
	(void)state;
	twice(sess_torn_down);
}
static void test_close_only(void **state)
{
	(void)state;
	twice(close_only);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stop_answered),
	    cmocka_unit_test(test_stop_forced),
	    cmocka_unit_test(test_sess_torn_down),
	    cmocka_unit_test(test_close_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
