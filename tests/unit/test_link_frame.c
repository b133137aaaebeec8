/*
 * test_link_frame: the native link's frame codec (drivers/link/frame.c):
 * every frame type encodes and decodes back to itself; the framing length;
 * every rule the decoder enforces, each with an input that breaks it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "link/frame.h"

static uint8_t *enc(const link_frame_t *f, size_t *len)
{
	return link_frame_encode(f, len);
}

static char *printed(const link_frame_t *f)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	link_frame_print(f, m);
	fclose(m);
	return buf;
}

static void test_batch_roundtrip(void **state)
{
	Smspool__Link__Message m1 = SMSPOOL__LINK__MESSAGE__INIT, m2 = SMSPOOL__LINK__MESSAGE__INIT;
	m1.key = "branch-a:42";
	m1.recipient = "+4915112345678";
	m1.sender = "Shop";
	m1.body = "Grüße; 100% = ok\n";
	m1.encoding = "auto";
	m1.priority = 7;
	m1.send_after_ms = 1796286120000;
	m1.valid_until_ms = 1796289720000;
	m1.want_report = true;
	m1.msg_class = -1;
	m1.client_ref = "order-17";
	uint8_t udh[] = {0x05, 0x00, 0x03, 0x2A, 0x02, 0x01}, pay[] = {0xDE, 0xAD};
	m2.key = "branch-a:43";
	m2.recipient = "123";
	m2.encoding = "binary";
	m2.payload = (ProtobufCBinaryData){sizeof pay, pay};
	m2.udh = (ProtobufCBinaryData){sizeof udh, udh};
	m2.msg_class = 1;
	Smspool__Link__Message *ms[] = {&m1, &m2};
	Smspool__Link__Batch b = SMSPOOL__LINK__BATCH__INIT;
	b.seq = 9;
	b.n_messages = 2;
	b.messages = ms;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_BATCH;
	f.batch = &b;

	size_t len;
	uint8_t *buf = enc(&f, &len);
	assert_int_equal(link_frame_length(buf, len, LINK_MAX_FRAME_DEFAULT), (long)len);
	assert_int_equal(link_frame_length(buf, 3, LINK_MAX_FRAME_DEFAULT), 0);   /* prefix incomplete */
	assert_int_equal(link_frame_length(buf, len, len - LINK_HEADER - 1), -1); /* over the limit */

	struct errbuf err;
	link_frame_t *d = link_frame_decode(buf, len, LINK_MAX_FRAME_DEFAULT, &err);
	assert_non_null(d);
	assert_string_equal(link_frame_type(d), "batch");
	assert_int_equal(d->batch->seq, 9);
	assert_int_equal(d->batch->n_messages, 2);
	const Smspool__Link__Message *g = d->batch->messages[0];
	assert_string_equal(g->key, "branch-a:42");
	assert_string_equal(g->body, "Grüße; 100% = ok\n");
	assert_int_equal(g->priority, 7);
	assert_int_equal(g->send_after_ms, 1796286120000);
	assert_true(g->want_report);
	assert_int_equal(g->msg_class, -1);
	g = d->batch->messages[1];
	assert_int_equal(g->udh.len, sizeof udh);
	assert_memory_equal(g->udh.data, udh, sizeof udh);
	assert_memory_equal(g->payload.data, pay, sizeof pay);

	char *p = printed(d);
	assert_non_null(strstr(p, "type=batch\nseq=9\nmessages=2\n"));
	assert_non_null(strstr(p, "message.0.body=Gr%C3%BC%C3%9Fe%3B 100%25 %3D ok%0A\n"));
	assert_non_null(strstr(p, "message.1.udh=0500032A0201\n"));
	assert_non_null(strstr(p, "message.0.priority=7\n"));
	free(p);
	link_frame_free(d);

	/* a byte more or less than the prefix says */
	assert_null(link_frame_decode(buf, len - 1, LINK_MAX_FRAME_DEFAULT, &err));
	assert_non_null(strstr(err.msg, "length prefix"));
	free(buf);
}

static void refused(const link_frame_t *f, const char *why);

static void test_other_types_roundtrip(void **state)
{
	struct errbuf err;
	size_t len;
	uint8_t *buf;
	link_frame_t *d;

	Smspool__Link__Hello h = SMSPOOL__LINK__HELLO__INIT;
	h.version = LINK_VERSION;
	h.instance = "branch-a";
	h.account = "branch";
	h.password = "secret";
	h.max_frame = 1 << 20;
	h.client_ids = true;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_HELLO;
	f.hello = &h;
	buf = enc(&f, &len);
	d = link_frame_decode(buf, len, LINK_MAX_FRAME_DEFAULT, &err);
	assert_non_null(d);
	assert_string_equal(d->hello->account, "branch");
	assert_true(d->hello->client_ids);
	char *p = printed(d);
	assert_null(strstr(p, "secret")); /* the password is never printed */
	assert_non_null(strstr(p, "password=(set)\n"));
	assert_non_null(strstr(p, "client_ids=true\n"));
	free(p);
	link_frame_free(d);
	free(buf);

	Smspool__Link__HelloAck ha = SMSPOOL__LINK__HELLO_ACK__INIT;
	ha.version = LINK_VERSION;
	ha.instance = "central";
	ha.client_ids = true;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_HELLO_ACK;
	f.hello_ack = &ha;
	buf = enc(&f, &len);
	d = link_frame_decode(buf, len, LINK_MAX_FRAME_DEFAULT, &err);
	assert_non_null(d);
	assert_true(d->hello_ack->client_ids);
	p = printed(d);
	assert_non_null(strstr(p, "client_ids=true\n"));
	free(p);
	link_frame_free(d);
	free(buf);

	const char *parts[] = {"delivered", "undelivered"};
	Smspool__Link__State st = SMSPOOL__LINK__STATE__INIT;
	st.key = "branch-a:42";
	st.status = "undelivered";
	st.n_part_status = 2;
	st.part_status = (char **)parts;
	st.error_code = "1";
	st.id = 9000;
	st.client_id = 42;
	Smspool__Link__State *sts[] = {&st};
	Smspool__Link__States s = SMSPOOL__LINK__STATES__INIT;
	s.seq = 3;
	s.n_states = 1;
	s.states = sts;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_STATES;
	f.states = &s;
	buf = enc(&f, &len);
	d = link_frame_decode(buf, len, LINK_MAX_FRAME_DEFAULT, &err);
	assert_non_null(d);
	assert_int_equal(d->states->states[0]->n_part_status, 2);
	assert_string_equal(d->states->states[0]->part_status[1], "undelivered");
	assert_int_equal(d->states->states[0]->client_id, 42);
	p = printed(d);
	assert_non_null(strstr(p, "state.0.client_id=42\n"));
	free(p);
	link_frame_free(d);
	free(buf);
	st.client_id = -1; /* never a valid outbox id */
	refused(&f, "client_id -1");
	st.client_id = 0;

	Smspool__Link__Ack a = SMSPOOL__LINK__ACK__INIT;
	a.seq = 3;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_ACK;
	f.ack = &a;
	buf = enc(&f, &len);
	d = link_frame_decode(buf, len, LINK_MAX_FRAME_DEFAULT, &err);
	assert_non_null(d);
	assert_string_equal(link_frame_type(d), "ack");
	assert_int_equal(d->ack->seq, 3);
	link_frame_free(d);
	free(buf);
}

/* Encodes f, expects the decoder to refuse it with a message containing why. */
static void refused(const link_frame_t *f, const char *why)
{
	size_t len;
	uint8_t *buf = enc(f, &len);
	struct errbuf err;
	link_frame_t *d = link_frame_decode(buf, len, LINK_MAX_FRAME_DEFAULT, &err);
	free(buf);
	if (d)
		link_frame_free(d);
	assert_null(d);
	if (!strstr(err.msg, why))
		fail_msg("error \"%s\" does not say \"%s\"", err.msg, why);
}

static void test_rules(void **state)
{
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	refused(&f, "without a body");

	Smspool__Link__Hello h = SMSPOOL__LINK__HELLO__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_HELLO;
	f.hello = &h;
	refused(&f, "no version");

	Smspool__Link__Message m = SMSPOOL__LINK__MESSAGE__INIT;
	Smspool__Link__Message *ms[] = {&m};
	Smspool__Link__Batch b = SMSPOOL__LINK__BATCH__INIT;
	b.n_messages = 1;
	b.messages = ms;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_BATCH;
	f.batch = &b;
	refused(&f, "no key");
	m.key = "k:1";
	m.priority = 10;
	refused(&f, "priority 10");
	m.priority = 0;
	m.msg_class = 4;
	refused(&f, "msg_class 4");
	m.msg_class = -1;
	m.body = "bad \xFF byte";
	refused(&f, "body: not UTF-8");
	m.body = "fine";
	size_t len;
	uint8_t *buf = enc(&f, &len);
	struct errbuf err;
	link_frame_t *d = link_frame_decode(buf, len, LINK_MAX_FRAME_DEFAULT, &err);
	assert_non_null(d);
	link_frame_free(d);
	/* over the limit, and garbage that is not protobuf */
	assert_null(link_frame_decode(buf, len, 4, &err));
	assert_non_null(strstr(err.msg, "over the limit"));
	free(buf);
	uint8_t junk[] = {0, 0, 0, 3, 0xFF, 0xFF, 0xFF};
	assert_null(link_frame_decode(junk, sizeof junk, LINK_MAX_FRAME_DEFAULT, &err));
	assert_non_null(strstr(err.msg, "protobuf"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_batch_roundtrip),
	    cmocka_unit_test(test_other_types_roundtrip),
	    cmocka_unit_test(test_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
