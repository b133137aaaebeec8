/*
 * smpp-server: the parts of a concatenated submit (submit_sm, UDH IE 00)
 * held by a session when the connection stops or the session goes away
 * before the core answered: the same cases as test_ucp_server_join.c,
 * since both servers hold their parts in net/join.c.  A bound transmitter
 * on an in-memory link sends a complete set of 2 (joined: ONE submission
 * to the core) and part 1 of a set of 3 (held), then:
 * - stop, the client answers the unbind and the core answers the submit:
 *   the held part gets ESME_RSUBMITFAIL at the stop, both parts of the
 *   joined set their "<id>-<part>" after the commit, and the stop ends;
 * - a forced stop (close() after stop() without the core's answer), the
 *   session torn down (the client gone while the core has the set, then
 *   close()), and close() without stop: everything is freed.
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
#include "smpp/pdu.h"
#include "smpp/server.h"
#include "smpp/status.h"

struct answer {
	uint32_t cmd, seq, status;
	char id[65];
};

static struct {
	struct conn c;
	struct server *sv;
	struct sess *s;
	struct bufferevent *peer;
	struct answer ans[16];
	int nans;
} F;

static struct smpp_pdu pdu;

static void put(const struct smpp_pdu *p)
{
	uint8_t buf[SMPP_PDU_MAX_LEN];
	size_t n;
	assert_int_equal(smpp_pdu_encode(p, buf, sizeof buf, &n, NULL), 0);
	assert_int_equal(bufferevent_write(F.peer, buf, n), 0);
}

/* The responses the session wrote, into F.ans; an unbind is answered. */
static void read_answers(void)
{
	if (!F.peer)
		return;
	struct evbuffer *in = bufferevent_get_input(F.peer);
	for (;;) {
		size_t len = evbuffer_get_length(in), plen;
		struct smpp_pdu_error e;
		if (len < 16)
			return;
		const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)len);
		if (smpp_pdu_frame(p, len, &plen, &e) != 1)
			return;
		assert_int_equal(smpp_pdu_decode(p, plen, &pdu, &e), 0);
		evbuffer_drain(in, plen);
		if (pdu.command_id == SMPP_UNBIND) {
			uint32_t seq = pdu.sequence_number;
			memset(&pdu, 0, sizeof pdu);
			pdu.command_id = SMPP_UNBIND_RESP;
			pdu.sequence_number = seq;
			put(&pdu);
			continue;
		}
		if (!(pdu.command_id & SMPP_RESP_BIT) || F.nans >= 16)
			continue;
		struct answer *a = &F.ans[F.nans++];
		a->cmd = pdu.command_id;
		a->seq = pdu.sequence_number;
		a->status = pdu.command_status;
		snprintf(a->id, sizeof a->id, "%s", pdu.message_id);
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

static bool binding(struct conn *c)
{
	return c->nauths == 1;
}
static bool one_answer(struct conn *c)
{
	(void)c;
	return F.nans >= 1;
}
static bool joined(struct conn *c)
{
	return c->nsubmits == 1 && F.s->join && smpp_join_held_count(F.s->join) == 1;
}

static void bind_tx(void)
{
	memset(&pdu, 0, sizeof pdu);
	pdu.command_id = SMPP_BIND_TRANSMITTER;
	pdu.sequence_number = 1;
	snprintf(pdu.system_id, sizeof pdu.system_id, "acme");
	snprintf(pdu.password, sizeof pdu.password, "secret");
	pdu.interface_version = 0x34;
	put(&pdu);
	assert_true(run(binding));
	struct account_info info = {.name = "acme"};
	smpp_server_driver.authenticated(&F.c, F.c.auths[0], &info, NULL);
	assert_true(run(one_answer));
	assert_int_equal(F.ans[0].cmd, SMPP_BIND_TRANSMITTER | SMPP_RESP_BIT);
	assert_int_equal(F.ans[0].status, 0);
	F.nans = 0;
}

/* Part seq of set ref (total parts) as submit_sm seq, the UDH (IE 00) in
 * short_message. */
static void part(uint32_t seq_no, unsigned ref, unsigned total, unsigned seq, const char *text)
{
	memset(&pdu, 0, sizeof pdu);
	pdu.command_id = SMPP_SUBMIT_SM;
	pdu.sequence_number = seq_no;
	snprintf(pdu.source_addr, sizeof pdu.source_addr, "12345");
	pdu.dest_addr_ton = 1;
	snprintf(pdu.destination_addr, sizeof pdu.destination_addr, "4915550001");
	pdu.esm_class = 0x40;
	const uint8_t udh[] = {5, 0, 3, (uint8_t)ref, (uint8_t)total, (uint8_t)seq};
	memcpy(pdu.short_message, udh, sizeof udh);
	memcpy(pdu.short_message + sizeof udh, text, strlen(text));
	pdu.sm_length = (uint8_t)(sizeof udh + strlen(text));
	put(&pdu);
}

/* A bound session with the joined set of 2 at the core (sequence 2 and 3)
 * and part 1 of a set of 3 held (sequence 4). */
static void start(void)
{
	memset(&F, 0, sizeof F);
	F.c.base = event_base_new();
	F.c.conf = xcalloc(1, smpp_server_driver.conf_size);
	struct errbuf err = {""};
	assert_int_equal(settings_parse(smpp_server_conf_settings, "{\"reassembly_timeout_s\": 600}", F.c.conf, &err),
	                 0);
	F.sv = smpp_server_new(&F.c);
	F.s = smpp_server_sess_memory(F.sv, &F.peer);
	assert_non_null(F.s);
	bind_tx();
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
	smpp_server_driver.close(&F.c);
	if (F.peer)
		bufferevent_free(F.peer);
	/* As the daemon's loop goes on after a close: libevent finishes
	 * freeing a bufferevent from the loop when a callback of it was
	 * pending (the pair's, after the client's last write). */
	event_base_loop(F.c.base, EVLOOP_NONBLOCK);
	settings_free(smpp_server_conf_settings, F.c.conf);
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
static bool sess_closed(struct conn *c)
{
	(void)c;
	return F.sv->base.sessions && F.sv->base.sessions->state == SRVBASE_CLOSED;
}

static const struct answer *answer_of(uint32_t seq)
{
	for (int i = 0; i < F.nans; i++)
		if (F.ans[i].seq == seq)
			return &F.ans[i];
	fail_msg("no answer to sequence %u", seq);
	return NULL;
}

static void stop_answered(void)
{
	start();
	smpp_server_driver.stop(&F.c);
	assert_true(run(one_answer));
	assert_int_equal(answer_of(4)->status, SMPP_ESME_RSUBMITFAIL);
	assert_int_equal(F.c.stopped, 0); /* the core has the set */
	smpp_server_driver.submitted(&F.c, F.c.submits[0], 4242, SUBMIT_OK, NULL);
	assert_true(run(three_answers));
	assert_int_equal(answer_of(3)->status, 0);
	assert_string_equal(answer_of(3)->id, "4242-1");
	assert_int_equal(answer_of(2)->status, 0);
	assert_string_equal(answer_of(2)->id, "4242-2");
	assert_true(run(stopped));
	finish();
}

static void stop_forced(void)
{
	start();
	smpp_server_driver.stop(&F.c);
	assert_true(run(one_answer));
	assert_int_equal(F.c.stopped, 0);
	finish();
}

static void sess_torn_down(void)
{
	start();
	bufferevent_flush(F.peer, EV_WRITE, BEV_FINISHED); /* the session reads its end */
	bufferevent_free(F.peer);
	F.peer = NULL;
	assert_true(run(sess_closed));
	finish();
}

static void close_only(void)
{
	start();
	finish();
}

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
