/*
 * Nokia DCT3 message tests.  The oracle is outside this code: a 6110 "SMS
 * read" reply from Gammu's own test suite (tests/nokia-6110-1.c), Gammu's
 * first request as ../shared/PEERS.md recorded it, and every PDU of
 * tests/vectors/sms-pdu.tsv that the DCT3 layout can carry, which must
 * survive PDU -> layout -> PDU octet for octet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "fbus/nokia.h"
#include "tsv.h"

/* Gammu tests/nokia-6110-1.c: a type 14 reply 08 (SMS read), captured from
 * a 6110; its header octets are not 00 01 00. */
static const uint8_t gammu_6110_sms[] = {0x01, 0x08, 0x00, 0x08, 0x01, 0x02, 0x01, 0x00, 0x05, 0x91, 0x26, 0x18, 0x16,
                                         0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x08, 0x0D, 0x91,
                                         0x26, 0x58, 0x26, 0x84, 0x88, 0x65, 0xF8, 0x00, 0x00, 0x00, 0x70, 0x90, 0x30,
                                         0x10, 0x61, 0x63, 0x82, 0xD4, 0xF2, 0x9C, 0x0E, 0x9A, 0xB7, 0xE7};

static void test_gammu_6110_read_reply(void **state)
{
	struct nokia_reply r;
	struct errbuf err = {{0}};
	int rc = nokia_decode(0x14, gammu_6110_sms, sizeof gammu_6110_sms, &r, &err);
	if (rc)
		fail_msg("%s", err.msg);
	assert_int_equal(r.kind, NOKIA_SMS);
	assert_int_equal(r.state, 0x01);
	assert_int_equal(r.sms.type, TPDU_DELIVER);
	assert_string_equal(r.sms.smsc.text, "+62816124");
	assert_string_equal(r.sms.addr.text, "+6285624888568");
	assert_int_equal(r.sms.udl, 8);
	char text[481];
	assert_int_equal(tpdu_text(&r.sms, text, sizeof text, NULL), 0);
	assert_string_equal(text, "Test sms");
	assert_int_equal(r.sms.scts.year, 7);
	assert_int_equal(r.sms.scts.month, 9);
	assert_int_equal(r.sms.scts.day, 3);
}

static void test_requests(void **state)
{
	struct nokia_req r;
	nokia_req_get_model(&r);
	static const uint8_t model[] = {0x00, 0x01, 0x00, 0x03, 0x00}; /* PEERS.md: Gammu's first request */
	assert_int_equal(r.type, 0xD1);
	assert_int_equal(r.len, sizeof model);
	assert_memory_equal(r.data, model, sizeof model);
	nokia_req_read_sms(&r, 7);
	static const uint8_t read[] = {0x00, 0x01, 0x00, 0x07, 0x02, 0x07, 0x01, 0x64};
	assert_int_equal(r.type, 0x02);
	assert_memory_equal(r.data, read, sizeof read);
	nokia_req_delete_sms(&r, 7);
	static const uint8_t del[] = {0x00, 0x01, 0x00, 0x0A, 0x02, 0x07};
	assert_int_equal(r.type, 0x14);
	assert_memory_equal(r.data, del, sizeof del);
	nokia_req_sms_status(&r);
	static const uint8_t st[] = {0x00, 0x01, 0x00, 0x36, 0x64};
	assert_int_equal(r.type, 0x14);
	assert_memory_equal(r.data, st, sizeof st);
}

/* "Hi there" to +15557654321 with a status report request: the octets
 * Gammu's sendsms produced in tests/e2e/86_fbus_gammu.sh's first run
 * (UD c834888e2ecbcb, UDL 8) at the layout's offsets. */
static void test_send_request(void **state)
{
	struct tpdu t = {0};
	t.type = TPDU_SUBMIT;
	t.srr = true;
	t.vpf = TPDU_VP_RELATIVE;
	t.vp_rel = 0xA7;
	assert_int_equal(tpdu_addr_set(&t.addr, "+15557654321"), 0);
	assert_int_equal(tpdu_addr_set(&t.smsc, "+15550000000"), 0);
	static const uint8_t ud[] = {0xC8, 0x34, 0x88, 0x8E, 0x2E, 0xCB, 0xCB};
	memcpy(t.ud, ud, sizeof ud);
	t.ud_len = sizeof ud;
	t.udl = 8;
	struct nokia_req r;
	struct errbuf err = {{0}};
	if (nokia_req_send_sms(&r, &t, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(r.type, 0x02);
	static const uint8_t head[] = {0x00, 0x01, 0x00, 0x01, 0x02, 0x00};
	assert_memory_equal(r.data, head, sizeof head);
	const uint8_t *lay = r.data + 6;
	static const uint8_t smsc[] = {0x07, 0x91, 0x51, 0x55, 0x00, 0x00, 0x00, 0xF0};
	assert_memory_equal(lay, smsc, sizeof smsc);
	assert_int_equal(lay[12], 0x31); /* SUBMIT, VPF relative, SRR */
	assert_int_equal(lay[16], 8);    /* UDL */
	static const uint8_t da[] = {0x0B, 0x91, 0x51, 0x55, 0x67, 0x45, 0x23, 0xF1};
	assert_memory_equal(lay + 17, da, sizeof da);
	assert_int_equal(lay[29], 0xA7);
	assert_memory_equal(lay + 36, ud, sizeof ud);
	assert_int_equal(r.len, 6 + 36 + sizeof ud);
}

static void test_replies(void **state)
{
	struct nokia_reply r;
	struct errbuf err;
	static const char id[] = "\x00\x01\x00\x03V 05.24\n27-02-00\nNSE-3\n(c) NMP.\n";
	assert_int_equal(nokia_decode(0xD2, (const uint8_t *)id, sizeof id - 1, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_MODEL);
	assert_string_equal(r.version, "05.24");
	assert_string_equal(r.date, "27-02-00");
	assert_string_equal(r.model, "NSE-3");
	static const char imei[] = "\x00\x01\x66\x00"
	                           "490154203237518";
	assert_int_equal(nokia_decode(0x40, (const uint8_t *)imei, sizeof imei, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_IMEI);
	assert_string_equal(r.imei, "490154203237518");
	static const uint8_t status[] = {0x00, 0x01, 0x00, 0x37, 0, 0, 0, 10, 0, 0, 3, 1};
	assert_int_equal(nokia_decode(0x14, status, sizeof status, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_SMS_STATUS);
	assert_int_equal(r.sim_size, 10);
	assert_int_equal(r.used, 3);
	assert_int_equal(r.unread, 1);
	static const uint8_t sent[] = {0x00, 0x01, 0x00, 0x02, 0x00, 0x2A};
	assert_int_equal(nokia_decode(0x02, sent, sizeof sent, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_SENT);
	assert_int_equal(r.mr, 0x2A);
	static const uint8_t failed[] = {0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x6F};
	assert_int_equal(nokia_decode(0x02, failed, sizeof failed, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_SEND_ERROR);
	assert_int_equal(r.error, 0x6F);
	static const uint8_t empty[] = {0x00, 0x01, 0x00, 0x09, 0x07};
	assert_int_equal(nokia_decode(0x14, empty, sizeof empty, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_SMS_READ_ERROR);
	assert_int_equal(r.error, 0x07);
	static const uint8_t smsc[] = {0x00, 0x01, 0x00, 0x34, 0x01, 0x00, 0x00, 0x00, 0xA7, 0x00,
	                               0x81, 0,    0,    0,    0,    0,    0,    0,    0,    0,
	                               0,    0x07, 0x91, 0x51, 0x55, 0x00, 0x00, 0x00, 0xF0};
	assert_int_equal(nokia_decode(0x02, smsc, sizeof smsc, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_SMSC);
	assert_string_equal(r.smsc, "+15550000000");
	/* Truncated SMS replies are errors, never reads past the end. */
	for (size_t n = 4; n < sizeof gammu_6110_sms; n++)
		assert_int_equal(nokia_decode(0x14, gammu_6110_sms, n, &r, &err), -EBADMSG);
	static const uint8_t unknown[] = {0x00, 0x01, 0x00, 0x99};
	assert_int_equal(nokia_decode(0x02, unknown, sizeof unknown, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_UNKNOWN);
}

/* PDU -> layout -> PDU gives the same octets for every vector the layout
 * can carry (SMSC and addresses within their 12-octet slots, no TP-PI). */
static void test_layout_roundtrip_vectors(void **state)
{
	struct tsv v;
	assert_int_equal(tsv_load("sms-pdu.tsv", &v), 0);
	size_t done = 0;
	for (size_t i = 0; i < v.n_rows; i++) {
		if (strcmp(tsv_get(&v, i, "has_smsc"), "1") || !strcmp(tsv_get(&v, i, "kind"), "error"))
			continue;
		uint8_t pdu[TPDU_MAX_LEN + 8], lay[256], back[TPDU_MAX_LEN + 8];
		long n = tsv_hex(tsv_get(&v, i, "hex"), pdu, sizeof pdu);
		assert_true(n > 0);
		struct tpdu t;
		struct errbuf err;
		if (tpdu_decode(pdu, (size_t)n, TPDU_WITH_SMSC, &t, &err))
			continue; /* lenient-only vectors */
		if (t.type == TPDU_STATUS_REPORT && t.has_pi)
			continue;
		size_t ln, bn;
		int rc = nokia_pdu_to_layout(pdu, (size_t)n, lay, sizeof lay, &ln, &err);
		if (rc == -EINVAL)
			continue; /* an address longer than a slot */
		if (rc)
			fail_msg("%s: %s", tsv_get(&v, i, "id"), err.msg);
		if (nokia_layout_to_pdu(lay, ln, back, sizeof back, &bn, &err))
			fail_msg("%s: back: %s", tsv_get(&v, i, "id"), err.msg);
		if (bn != (size_t)n || memcmp(back, pdu, bn))
			fail_msg("%s: the PDU changed on its way through the layout", tsv_get(&v, i, "id"));
		done++;
	}
	tsv_free(&v);
	assert_true(done >= 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gammu_6110_read_reply),
	    cmocka_unit_test(test_requests),
	    cmocka_unit_test(test_send_request),
	    cmocka_unit_test(test_replies),
	    cmocka_unit_test(test_layout_roundtrip_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
