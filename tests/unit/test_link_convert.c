/*
 * test_link_convert: the link's row conversions (drivers/link/convert.c),
 * through the wire: an outbox message sent as a Message, encoded, decoded and
 * turned into the receiving side's submission keeps every field SMPP cannot
 * carry and its idempotency key; a report event becomes a State and, on the
 * sending side, a report of the row whose remote id is the server's id; an
 * inbound event becomes an inbox row with its key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "link/convert.h"
#include "util.h"

/* Encodes f and decodes it back (the wire in between). */
static link_frame_t *through_wire(const link_frame_t *f)
{
	size_t n;
	uint8_t *b = link_frame_encode(f, &n);
	struct errbuf err = {""};
	link_frame_t *d = link_frame_decode(b, n, LINK_MAX_FRAME_DEFAULT, &err);
	free(b);
	assert_non_null(d);
	return d;
}

static void test_message_to_submission(void **state)
{
	(void)state;
	struct msg m = {0};
	m.id = 42;
	m.recipient = "+4915112345678";
	m.sender = "Shop";
	m.encoding = "binary";
	m.payload = "deadbeef";
	m.udh = "0504158a0000";
	m.client_ref = "order-17";
	m.priority = 7;
	m.want_report = true;
	m.flash = true;
	m.msg_class = 1;
	m.valid_until_s = 4102444800;
	Smspool__Link__Message out;
	struct link_convert_buf bytes = {0};
	struct errbuf err = {""};
	assert_int_equal(link_convert_msg(&m, "a:42", &out, &bytes, &err), 0);
	Smspool__Link__Message *ms[] = {&out};
	Smspool__Link__Batch b = SMSPOOL__LINK__BATCH__INIT;
	b.seq = 1;
	b.n_messages = 1;
	b.messages = ms;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_BATCH;
	f.batch = &b;
	link_frame_t *d = through_wire(&f);
	link_convert_buf_free(&bytes);
	struct submission *s = link_convert_submission(d->batch->messages[0], "branch1");
	link_frame_free(d);
	assert_string_equal(s->account, "branch1");
	assert_string_equal(s->idempotency_key, "a:42");
	assert_string_equal(s->recipient, "+4915112345678");
	assert_string_equal(s->sender, "Shop");
	assert_null(s->body);
	assert_string_equal(s->payload, "DEADBEEF");
	assert_string_equal(s->udh, "0504158A0000");
	assert_string_equal(s->encoding, "binary");
	assert_string_equal(s->client_ref, "order-17");
	assert_int_equal(s->priority, 7);
	assert_true(s->want_report);
	assert_true(s->flash);
	assert_int_equal(s->msg_class, 1);
	assert_int_equal(s->valid_until_s, 4102444800);
	assert_int_equal(s->send_after_s, 0);
	submission_free(s);
}

static void test_text_defaults(void **state)
{
	(void)state;
	struct msg m = {0};
	m.id = 7;
	m.recipient = "+1555";
	m.body = "Grüße";
	m.encoding = "auto";
	m.msg_class = -1;
	Smspool__Link__Message out;
	struct link_convert_buf bytes = {0};
	struct errbuf err = {""};
	assert_int_equal(link_convert_msg(&m, "a:7", &out, &bytes, &err), 0);
	struct submission *s = link_convert_submission(&out, "x");
	assert_null(s->sender); /* empty: the account's default sender */
	assert_null(s->client_ref);
	assert_string_equal(s->body, "Grüße");
	assert_null(s->payload);
	assert_int_equal(s->msg_class, -1);
	assert_int_equal(s->valid_until_s, 0);
	assert_false(s->want_report);
	submission_free(s);
	m.payload = "zz"; /* not hex: refused, never sent */
	assert_int_equal(link_convert_msg(&m, "a:7", &out, &bytes, &err), -1);
	link_convert_buf_free(&bytes);
}

static void test_state_to_report(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"delivered", "delivered"}, {"undelivered", "undelivered"}, {"expired", "expired"},
	    {"rejected", "rejected"},   {"failed", "undelivered"},      {"cancelled", "undelivered"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct account_event ev = {0};
		ev.id = 99;
		ev.kind = ACCOUNT_EVENT_REPORT;
		ev.message_id = 1234;
		ev.state = (char *)cases[i][0];
		ev.error_code = "0x0000000B";
		ev.done_s = 1700000000;
		Smspool__Link__State st;
		char key[64];
		link_convert_state(&ev, "central", &st, key, sizeof key);
		assert_string_equal(st.key, "central:99");
		Smspool__Link__State *sts[] = {&st};
		Smspool__Link__States ss = SMSPOOL__LINK__STATES__INIT;
		ss.seq = 3;
		ss.n_states = 1;
		ss.states = sts;
		link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
		f.body_case = SMSPOOL__LINK__FRAME__BODY_STATES;
		f.states = &ss;
		link_frame_t *d = through_wire(&f);
		struct report *r = link_convert_report(d->states->states[0]);
		assert_non_null(r);
		assert_string_equal(r->remote_id, "1234");
		assert_string_equal(r->state, cases[i][1]);
		assert_string_equal(r->error_code, "0x0000000B");
		report_free(r);
		d->states->states[0]->id = 0; /* a state without the server's id matches nothing */
		assert_null(link_convert_report(d->states->states[0]));
		link_frame_free(d);
	}
}

static void test_inbound_to_inbox(void **state)
{
	(void)state;
	struct account_event ev = {0};
	ev.id = 5;
	ev.kind = ACCOUNT_EVENT_INBOUND;
	ev.sender = "+4915110000001";
	ev.recipient = "12345";
	ev.body = "Привет";
	ev.encoding = "ucs2";
	Smspool__Link__Inbound in;
	struct link_convert_buf bytes = {0};
	char key[64];
	link_convert_inbound(&ev, "central", &in, &bytes, key, sizeof key);
	Smspool__Link__Inbound *ins[] = {&in};
	Smspool__Link__Inbounds is = SMSPOOL__LINK__INBOUNDS__INIT;
	is.seq = 4;
	is.n_messages = 1;
	is.messages = ins;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_INBOUNDS;
	f.inbounds = &is;
	link_frame_t *d = through_wire(&f);
	link_convert_buf_free(&bytes);
	struct inbound *r = link_convert_inbox(d->inbounds->messages[0]);
	link_frame_free(d);
	assert_string_equal(r->key, "central:5");
	assert_string_equal(r->sender, "+4915110000001");
	assert_string_equal(r->recipient, "12345");
	assert_string_equal(r->body, "Привет");
	assert_string_equal(r->encoding, "ucs2");
	assert_null(r->payload);
	assert_int_equal(r->parts, 1);
	inbound_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_message_to_submission),
	    cmocka_unit_test(test_text_defaults),
	    cmocka_unit_test(test_state_to_report),
	    cmocka_unit_test(test_inbound_to_inbox),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
