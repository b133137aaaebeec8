/*
 * Nokia DCT4 message tests (drivers/fbus/nokia4.c).  The oracle for the
 * send request is Gammu itself: the frame its 6510 module wrote for
 * `gammu sendsms TEXT +15557654321 -text "Hi there" -report` (captured from
 * the emulator in tests/e2e/86_fbus_gammu_dct4.sh's set-up), which ours
 * must equal octet for octet for the same SMS.  The replies are the ones
 * Gammu accepted from the emulator in that test (IMEI, SMS centre, sent),
 * plus malformed and short ones, which must give an error or nothing.
 * The SMS memory requests equal those Gammu's 6510 module sent for
 * getallsms/getsms/deletesms (86_fbus_gammu_dct4.sh's emulator log); the
 * stored SMS frames are those the emulator gave Gammu there, which Gammu
 * decoded (sender, text, a delivered report of reference 1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fbus/nokia4.h"

static const uint8_t gammu_send[] = {0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x55, 0x55, 0x01, 0x02, 0x37, 0x31,
                                     0x00, 0x00, 0x00, 0x00, 0x04, 0x82, 0x10, 0x01, 0x08, 0x0b, 0x91, 0x51, 0x55,
                                     0x67, 0x45, 0x23, 0xf1, 0x00, 0x00, 0x00, 0x00, 0x82, 0x10, 0x02, 0x08, 0x07,
                                     0x91, 0x51, 0x55, 0x00, 0x00, 0x00, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x08, 0x04,
                                     0x01, 0xff, 0x80, 0x0d, 0x07, 0x08, 0xc8, 0x34, 0x88, 0x8e, 0x2e, 0xcb, 0xcb};

static void test_family(void **state)
{
	(void)state;
	assert_true(nokia4_is_dct4("NPE-4"));  /* 6310 */
	assert_true(nokia4_is_dct4("NPM-9"));  /* 6510 */
	assert_false(nokia4_is_dct4("NSE-3")); /* 6110 */
	assert_false(nokia4_is_dct4("NHM-5")); /* 3310 */
	assert_false(nokia4_is_dct4(""));
}

static void test_send_like_gammu(void **state)
{
	(void)state;
	struct tpdu t = {0};
	t.type = TPDU_SUBMIT;
	t.srr = true;
	t.vpf = TPDU_VP_RELATIVE;
	t.vp_rel = 0xFF;
	assert_int_equal(tpdu_addr_set(&t.addr, "+15557654321"), 0);
	assert_int_equal(tpdu_addr_set(&t.smsc, "+15550000000"), 0);
	static const uint8_t ud[] = {0xC8, 0x34, 0x88, 0x8E, 0x2E, 0xCB, 0xCB}; /* "Hi there" */
	memcpy(t.ud, ud, sizeof ud);
	t.ud_len = sizeof ud;
	t.udl = 8;
	struct nokia_req r;
	struct errbuf err = {{0}};
	if (nokia4_req_send_sms(&r, &t, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(r.type, 0x02);
	assert_int_equal(r.len, sizeof gammu_send);
	assert_memory_equal(r.data, gammu_send, sizeof gammu_send);

	t.type = TPDU_DELIVER;
	assert_int_equal(nokia4_req_send_sms(&r, &t, &err), -EINVAL);
	t.type = TPDU_SUBMIT;
	t.vpf = TPDU_VP_ABSOLUTE;
	assert_int_equal(nokia4_req_send_sms(&r, &t, &err), -EINVAL);
}

static void test_requests(void **state)
{
	(void)state;
	struct nokia_req r;
	nokia4_req_get_imei(&r);
	static const uint8_t imei[] = {0x00, 0x01, 0x00, 0x00, 0x41}; /* Gammu DCT4_GetIMEI */
	assert_int_equal(r.type, 0x1B);
	assert_int_equal(r.len, sizeof imei);
	assert_memory_equal(r.data, imei, sizeof imei);
	nokia4_req_get_smsc(&r, 1);
	static const uint8_t smsc[] = {0x00, 0x01, 0x00, 0x14, 0x01, 0x00}; /* as Gammu sent it */
	assert_int_equal(r.type, 0x02);
	assert_int_equal(r.len, sizeof smsc);
	assert_memory_equal(r.data, smsc, sizeof smsc);
}

static void test_replies(void **state)
{
	(void)state;
	struct nokia_reply r;
	struct errbuf err = {{0}};
	static const uint8_t imei[] = {0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, '4', '9', '0',
	                               '1',  '5',  '4',  '2',  '0',  '3',  '2',  '3',  '7',  '5',  '1', '8', 0x00};
	assert_int_equal(nokia4_decode(0x1B, imei, sizeof imei, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_IMEI);
	assert_string_equal(r.imei, "490154203237518");
	assert_int_equal(nokia4_decode(0x1B, imei, 10, &r, &err), -EBADMSG);

	uint8_t smsc[40] = {0x00, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xA7,
	                    0x01, 0x82, 0x1A, 0x02, 0x00, 0x07, 0x91, 0x51, 0x55, 0x00, 0x00, 0x00, 0xF0};
	assert_int_equal(nokia4_decode(0x02, smsc, sizeof smsc, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_SMSC);
	assert_string_equal(r.smsc, "+15550000000");
	smsc[4] = 0x02; /* empty location */
	assert_int_equal(nokia4_decode(0x02, smsc, sizeof smsc, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_SMSC_ERROR);
	smsc[4] = 0x00;
	smsc[15] = 0x00; /* a block of length 0: no loop, no number */
	smsc[16] = 0x01;
	assert_int_equal(nokia4_decode(0x02, smsc, sizeof smsc, &r, &err), 0);
	assert_string_equal(r.smsc, "");

	static const uint8_t sent[] = {0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2A};
	assert_int_equal(nokia4_decode(0x02, sent, sizeof sent, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_SENT);
	assert_int_equal(r.mr, 0x2A);
	uint8_t refused[sizeof sent];
	memcpy(refused, sent, sizeof sent);
	refused[8] = 0x6F;
	assert_int_equal(nokia4_decode(0x02, refused, sizeof refused, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_SEND_ERROR);
	assert_int_equal(r.error, 0x6F);
	assert_int_equal(nokia4_decode(0x02, sent, 9, &r, &err), -EBADMSG);

	static const uint8_t model[] = {0x00, 0x01, 0x00, 0x03, 'V', ' ', '0',  '5', '.', '1', '0', '\n', '2', '7',
	                                '-',  '0',  '2',  '-',  '0', '0', '\n', 'N', 'P', 'E', '-', '4',  '\n'};
	assert_int_equal(nokia4_decode(0xD2, model, sizeof model, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_MODEL);
	assert_string_equal(r.model, "NPE-4");
	assert_int_equal(nokia4_decode(0x02, sent, 3, &r, &err), 0);
	assert_int_equal(r.kind, NOKIA_UNKNOWN);
}

/* 00 SMS-DELIVER from +15551234567, "Hi there", SCTS 26-12-03 14:50:02. */
static const uint8_t deliver[] = {0x00, 0x3a, 0x04, 0x00, 0x00, 0x62, 0x21, 0x30, 0x41, 0x05, 0x20, 0x00,
                                  0x55, 0x55, 0x55, 0x03, 0x82, 0x10, 0x01, 0x08, 0x0b, 0x91, 0x51, 0x55,
                                  0x21, 0x43, 0x65, 0xf7, 0x00, 0x00, 0x00, 0x00, 0x82, 0x10, 0x02, 0x07,
                                  0x07, 0x91, 0x51, 0x55, 0x00, 0x00, 0x00, 0xf0, 0x00, 0x00, 0x00, 0x00,
                                  0x80, 0x0b, 0x07, 0x08, 0xc8, 0x34, 0x88, 0x8e, 0x2e, 0xcb, 0xcb};
/* 01 SMS-STATUS-REPORT: MR 0x2A for +15557654321, delivered (ST 00). */
static const uint8_t report[] = {0x01, 0x33, 0x06, 0x2a, 0x00, 0x62, 0x21, 0x30, 0x41, 0x05, 0x20, 0x00, 0x62,
                                 0x21, 0x30, 0x41, 0x05, 0x20, 0x00, 0x02, 0x82, 0x10, 0x01, 0x08, 0x0b, 0x91,
                                 0x51, 0x55, 0x67, 0x45, 0x23, 0xf1, 0x00, 0x00, 0x00, 0x00, 0x82, 0x10, 0x02,
                                 0x07, 0x07, 0x91, 0x51, 0x55, 0x00, 0x00, 0x00, 0xf0, 0x00, 0x00, 0x00, 0x00};

static void test_memory_requests(void **state)
{
	(void)state;
	struct nokia_req r;
	nokia4_req_folder_status(&r, 0x02, 0x03);
	static const uint8_t status[] = {0x00, 0x01, 0x01, 0x0c, 0x02, 0x03, 0x0f, 0x55, 0x55, 0x55};
	assert_int_equal(r.type, 0x14);
	assert_int_equal(r.len, sizeof status);
	assert_memory_equal(r.data, status, sizeof status);
	nokia4_req_read_sms(&r, 0x02, 0x02, 0x0002);
	static const uint8_t read[] = {0x00, 0x01, 0x00, 0x02, 0x02, 0x02, 0x00, 0x02, 0x01, 0x00};
	assert_int_equal(r.type, 0x14);
	assert_memory_equal(r.data, read, sizeof read);
	nokia4_req_delete_sms(&r, 0x01, 0x02, 0x0101);
	static const uint8_t del[] = {0x00, 0x01, 0x00, 0x04, 0x01, 0x02, 0x01, 0x01, 0x0f, 0x55};
	assert_int_equal(r.len, sizeof del);
	assert_memory_equal(r.data, del, sizeof del);
}

/* A read reply (14 .. 03, state unread) carrying frame f. */
static size_t read_reply(uint8_t *out, const uint8_t *f, size_t n)
{
	static const uint8_t head[] = {0x00, 0x01, 0x00, 0x03, 0x00, 0x03, 0x01, 0x02, 0x00, 0x01, 0, 0, 0, 0};
	memcpy(out, head, sizeof head);
	memcpy(out + sizeof head, f, n);
	return sizeof head + n;
}

static void test_memory_replies(void **state)
{
	(void)state;
	struct nokia_reply *r = malloc(sizeof *r);
	struct errbuf err = {{0}};
	uint8_t m[200];
	size_t n = read_reply(m, deliver, sizeof deliver);
	if (nokia4_decode(0x14, m, n, r, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(r->kind, NOKIA_SMS);
	assert_int_equal(r->state, 0x03);
	assert_int_equal(r->sms.type, TPDU_DELIVER);
	assert_string_equal(r->sms.addr.text, "+15551234567");
	assert_string_equal(r->sms.smsc.text, "+15550000000");
	assert_int_equal(r->sms.payload_len, 8);
	assert_int_equal(r->sms.scts.hour, 14);
	assert_int_equal(r->sms.scts.minute, 50);

	n = read_reply(m, report, sizeof report);
	if (nokia4_decode(0x14, m, n, r, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(r->kind, NOKIA_SMS);
	assert_int_equal(r->sms.type, TPDU_STATUS_REPORT);
	assert_int_equal(r->sms.mr, 0x2A);
	assert_int_equal(r->sms.st, 0x00);
	assert_string_equal(r->sms.addr.text, "+15557654321");

	/* Malformed frames: an error, never a read outside the message.  Cut
	 * anywhere before the SMS centre's last digit (frame octet 47; what
	 * follows is the zero fill of its slot), the report is an error. */
	assert_int_equal(nokia4_decode(0x14, m, 14, r, &err), 0);
	assert_int_equal(r->kind, NOKIA_SMS_READ_ERROR);
	for (size_t cut = 15; cut < 14 + 48; cut++)
		assert_int_equal(nokia4_decode(0x14, m, cut, r, &err), -EBADMSG);
	n = read_reply(m, deliver, sizeof deliver);
	m[14 + 17] = 0x00; /* the number block's length 0: no endless loop */
	assert_int_equal(nokia4_decode(0x14, m, n, r, &err), -EBADMSG);
	n = read_reply(m, deliver, sizeof deliver);
	m[14 + 20] = 0x30; /* 48 digits: over the 12-octet slot */
	assert_int_equal(nokia4_decode(0x14, m, n, r, &err), -EBADMSG);
	n = read_reply(m, deliver, sizeof deliver);
	m[14 + 50] = 0xF0; /* user data longer than the frame */
	assert_int_equal(nokia4_decode(0x14, m, n, r, &err), -EBADMSG);
	m[14] = 0x07; /* unknown frame kind */
	assert_int_equal(nokia4_decode(0x14, m, n, r, &err), -EBADMSG);

	static const uint8_t empty[] = {0x00, 0x01, 0x00, 0x03, 0x02};
	assert_int_equal(nokia4_decode(0x14, empty, sizeof empty, r, &err), 0);
	assert_int_equal(r->kind, NOKIA_SMS_READ_ERROR);
	assert_int_equal(r->error, 0x02);

	static const uint8_t folder[] = {0x00, 0x01, 0x00, 0x0d, 0x00, 0x00, 0x00,
	                                 0x03, 0x00, 0x01, 0x00, 0x02, 0x01, 0x00};
	assert_int_equal(nokia4_decode(0x14, folder, sizeof folder, r, &err), 0);
	assert_int_equal(r->kind, NOKIA_FOLDER);
	assert_int_equal(r->n_locs, 3);
	assert_int_equal(r->locs[0], 1);
	assert_int_equal(r->locs[2], 0x100);
	assert_int_equal(nokia4_decode(0x14, folder, sizeof folder - 1, r, &err), -EBADMSG);
	assert_int_equal(nokia4_decode(0x14, folder, 7, r, &err), -EBADMSG);

	static const uint8_t deleted[] = {0x00, 0x01, 0x00, 0x05};
	assert_int_equal(nokia4_decode(0x14, deleted, sizeof deleted, r, &err), 0);
	assert_int_equal(r->kind, NOKIA_DELETED);
	static const uint8_t not_deleted[] = {0x00, 0x01, 0x00, 0x06, 0x02};
	assert_int_equal(nokia4_decode(0x14, not_deleted, sizeof not_deleted, r, &err), 0);
	assert_int_equal(r->kind, NOKIA_DELETE_ERROR);
	assert_int_equal(r->error, 0x02);

	static const uint8_t notice[] = {0x00, 0x01, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0x00};
	assert_int_equal(nokia4_decode(0x02, notice, sizeof notice, r, &err), 0);
	assert_int_equal(r->kind, NOKIA_INCOMING);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_family),          cmocka_unit_test(test_send_like_gammu),
	    cmocka_unit_test(test_requests),        cmocka_unit_test(test_replies),
	    cmocka_unit_test(test_memory_requests), cmocka_unit_test(test_memory_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
