/*
 * test_link_convert: the link's row conversions (drivers/link/convert.c),
 * through the wire: an outbox message sent as a Message, encoded, decoded and
 * turned into the receiving side's submission keeps every field SMPP cannot
 * carry and its idempotency key; a report event becomes a State and, on the
 * sending side, a report of the row whose remote id is the server's id (per
 * part, with the part states of 034_link); an
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
		struct report *r = link_convert_report(d->states->states[0], false);
		assert_non_null(r);
		assert_int_equal(r->message_id, 0);
		assert_string_equal(r->remote_id, "1234");
		assert_string_equal(r->state, cases[i][1]);
		assert_string_equal(r->error_code, "0x0000000B");
		report_free(r);
		d->states->states[0]->id = 0; /* a state without the server's id matches nothing */
		assert_null(link_convert_report(d->states->states[0], false));
		link_frame_free(d);
	}
}

/* A report event with part_status through the wire, as part reports. */
static struct report *part_reports(const char *status, const char *parts)
{
	struct account_event ev = {0};
	ev.id = 100;
	ev.kind = ACCOUNT_EVENT_REPORT;
	ev.message_id = 1234;
	ev.state = (char *)status;
	ev.part_status = (char *)parts;
	Smspool__Link__State st;
	char key[64];
	struct link_convert_buf bytes = {0};
	link_convert_state(&ev, "central", &st, key, sizeof key);
	link_convert_state_parts(&ev, &st, &bytes);
	Smspool__Link__State *sts[] = {&st};
	Smspool__Link__States ss = SMSPOOL__LINK__STATES__INIT;
	ss.n_states = 1;
	ss.states = sts;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_STATES;
	f.states = &ss;
	link_frame_t *d = through_wire(&f);
	link_convert_buf_free(&bytes);
	struct report *r = link_convert_part_reports(d->states->states[0], false);
	link_frame_free(d);
	return r;
}

/* "remote=state,..." of a chain of reports (freed). */
static void expect_reports(struct report *r, const char *want)
{
	char got[512] = "";
	while (r) {
		struct report *next = r->next;
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s=%s", got[0] ? "," : "", r->remote_id,
		         r->state);
		report_free(r);
		r = next;
	}
	assert_string_equal(got, want);
}

static void test_part_states(void **state)
{
	(void)state;
	/* sent, no part reported yet: each part is sent */
	expect_reports(part_reports("sent", "{pending,pending,pending}"), "1234/1=sent,1234/2=sent,1234/3=sent");
	/* one part enroute, one delivered early (waits for the final state), one pending */
	expect_reports(part_reports("sent", "{delivered,enroute,NULL}"), "1234/2=enroute");
	/* final: every part its own final state, else the message's */
	expect_reports(part_reports("failed", "{delivered,pending,expired}"),
	               "1234/1=delivered,1234/2=undelivered,1234/3=expired");
	expect_reports(part_reports("delivered", "{delivered,delivered}"), "1234/1=delivered,1234/2=delivered");
	/* one part: the remote id is the server's id alone */
	expect_reports(part_reports("sent", "{pending}"), "1234=sent");
	expect_reports(part_reports("delivered", "{delivered}"), "1234=delivered");
	/* no part_status (an event of a row without key): the message's state */
	expect_reports(part_reports("rejected", NULL), "1234=rejected");
	/* not final, not sent-with-parts: nothing for a message without parts known */
	assert_true(link_convert_state_is_final("cancelled"));
	assert_false(link_convert_state_is_final("sent"));
}

/* 047: the client's outbox id from the message's idempotency key, through
 * the wire as State.client_id, onto every report of the State when by id. */
static void test_client_ids(void **state)
{
	(void)state;
	assert_int_equal(link_convert_client_id("edge:42", "edge"), 42);
	assert_int_equal(link_convert_client_id("edge:9223372036854775807", "edge"), INT64_MAX);
	assert_int_equal(link_convert_client_id("edge:9223372036854775808", "edge"), 0); /* overflow */
	assert_int_equal(link_convert_client_id("edge2:42", "edge"), 0);                 /* another instance */
	assert_int_equal(link_convert_client_id("edg:42", "edge"), 0);
	assert_int_equal(link_convert_client_id("edge:042", "edge"), 0);
	assert_int_equal(link_convert_client_id("edge:0", "edge"), 0);
	assert_int_equal(link_convert_client_id("edge:-4", "edge"), 0);
	assert_int_equal(link_convert_client_id("edge:4x", "edge"), 0);
	assert_int_equal(link_convert_client_id("edge:", "edge"), 0);
	assert_int_equal(link_convert_client_id("my-ref", "edge"), 0); /* a key an application chose */
	assert_int_equal(link_convert_client_id(NULL, "edge"), 0);
	assert_int_equal(link_convert_client_id("edge:42", ""), 0);
	assert_int_equal(link_convert_client_id(":42", ""), 0);

	struct account_event ev = {0};
	ev.id = 100;
	ev.kind = ACCOUNT_EVENT_REPORT;
	ev.message_id = 1234;
	ev.state = "delivered";
	ev.part_status = "{delivered,undelivered}";
	ev.idempotency_key = "edge:77";
	Smspool__Link__State st;
	char key[64];
	struct link_convert_buf bytes = {0};
	link_convert_state(&ev, "central", &st, key, sizeof key);
	assert_int_equal(st.client_id, 0); /* only a session that agreed client_ids fills it */
	link_convert_state_parts(&ev, &st, &bytes);
	st.client_id = link_convert_client_id(ev.idempotency_key, "edge");
	Smspool__Link__State *sts[] = {&st};
	Smspool__Link__States ss = SMSPOOL__LINK__STATES__INIT;
	ss.n_states = 1;
	ss.states = sts;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_STATES;
	f.states = &ss;
	link_frame_t *d = through_wire(&f);
	const Smspool__Link__State *in = d->states->states[0];
	assert_int_equal(in->client_id, 77);
	assert_int_equal(in->id, 1234);
	struct report *r = link_convert_part_reports(in, true);
	assert_non_null(r);
	assert_non_null(r->next);
	assert_null(r->next->next);
	assert_int_equal(r->message_id, 77);
	assert_string_equal(r->remote_id, "1234/1");
	assert_string_equal(r->state, "delivered");
	assert_int_equal(r->next->message_id, 77);
	assert_string_equal(r->next->remote_id, "1234/2");
	assert_string_equal(r->next->state, "undelivered");
	report_free(r->next);
	report_free(r);
	r = link_convert_part_reports(in, false); /* a session without client_ids: by the remote id */
	assert_int_equal(r->message_id, 0);
	assert_int_equal(r->next->message_id, 0);
	report_free(r->next);
	report_free(r);
	r = link_convert_report(in, true);
	assert_int_equal(r->message_id, 77);
	assert_string_equal(r->remote_id, "1234");
	report_free(r);
	link_frame_free(d);

	/* an old peer's State has no client_id: 0 after decoding */
	st.client_id = 0;
	d = through_wire(&f);
	assert_int_equal(d->states->states[0]->client_id, 0);
	link_frame_free(d);
	link_convert_buf_free(&bytes);
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
	    cmocka_unit_test(test_message_to_submission), cmocka_unit_test(test_text_defaults),
	    cmocka_unit_test(test_state_to_report),       cmocka_unit_test(test_part_states),
	    cmocka_unit_test(test_inbound_to_inbox),      cmocka_unit_test(test_client_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
