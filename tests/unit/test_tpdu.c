/*
 * test_tpdu: the SMS TPDU codec against every vector of
 * tests/vectors/sms-pdu.tsv — decoded fields compared with the `fields`
 * column as a whole string (same keys, same order), every decodable vector
 * encoded back to the very same octets, error vectors refused with the
 * code their `expect` names — plus SUBMITs built from scratch the way the
 * drivers build them (text through sms_split), whose expected octets are
 * the vectors', never the encoder's own output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codec/sms.h"
#include "codec/tpdu.h"
#include "tsv.h"
#include "util.h"

static struct tsv vec;

static int setup(void **state)
{
	(void)state;
	return tsv_load("sms-pdu.tsv", &vec);
}

static int teardown(void **state)
{
	(void)state;
	tsv_free(&vec);
	return 0;
}

static const char *vector_hex(const char *id, unsigned *flags)
{
	for (size_t i = 0; i < vec.n_rows; i++)
		if (!strcmp(tsv_get(&vec, i, "id"), id)) {
			*flags = !strcmp(tsv_get(&vec, i, "has_smsc"), "1") ? TPDU_WITH_SMSC : 0;
			return tsv_get(&vec, i, "hex");
		}
	fail_msg("vector %s missing", id);
	return NULL;
}

static void test_tpdu_vectors(void **state)
{
	(void)state;
	size_t n_ok = 0, n_err = 0;
	assert_true(vec.n_rows >= 27);
	for (size_t i = 0; i < vec.n_rows; i++) {
		const char *id = tsv_get(&vec, i, "id");
		const char *kind = tsv_get(&vec, i, "kind");
		const char *hex = tsv_get(&vec, i, "hex");
		unsigned flags = !strcmp(tsv_get(&vec, i, "has_smsc"), "1") ? TPDU_WITH_SMSC : 0;
		uint8_t buf[TPDU_MAX_LEN + 8];
		long n = tsv_hex(hex, buf, sizeof buf);
		assert_true(n > 0);
		struct tpdu t;
		struct errbuf err = {{0}};
		int rc = tpdu_decode(buf, (size_t)n, flags, &t, &err);
		if (!strcmp(kind, "error")) {
			const char *expect = tsv_get(&vec, i, "expect");
			char code[64];
			assert_true(sscanf(expect, "error:%63[a-z-]", code) == 1);
			if (rc != -EBADMSG || strncmp(err.msg, code, strlen(code)) != 0)
				fail_msg("%s: expected %s, got rc=%d '%s'", id, code, rc, err.msg);
			n_err++;
			continue;
		}
		if (rc != 0)
			fail_msg("%s: decode failed: %s", id, err.msg);
		char fields[TPDU_FIELDS_MAX];
		assert_true(tpdu_fields(&t, fields, sizeof fields) > 0);
		if (strcmp(fields, tsv_get(&vec, i, "fields")) != 0)
			fail_msg("%s:\n got  %s\n want %s", id, fields, tsv_get(&vec, i, "fields"));
		assert_int_equal(t.tpdu_len, tsv_field_long(tsv_get(&vec, i, "fields"), "tpdu_len", -1));
		/* Every vector here re-encodes exactly, published examples included. */
		uint8_t enc[TPDU_MAX_LEN];
		size_t elen, tlen;
		if (tpdu_encode(&t, enc, sizeof enc, &elen, &tlen, &err) != 0)
			fail_msg("%s: encode failed: %s", id, err.msg);
		char ehex[2 * TPDU_MAX_LEN + 1];
		hex_encode(enc, elen, ehex);
		if (strcmp(ehex, hex) != 0)
			fail_msg("%s: re-encoded\n got  %s\n want %s", id, ehex, hex);
		assert_int_equal(tlen, t.tpdu_len);
		n_ok++;
	}
	assert_int_equal(n_ok + n_err, vec.n_rows);
	assert_true(n_err >= 2);
}

/* pdu-027 carries one octet too many: a lenient decoder takes it. */
static void test_tpdu_lenient(void **state)
{
	(void)state;
	unsigned flags;
	const char *hex = vector_hex("pdu-027", &flags);
	uint8_t buf[64];
	long n = tsv_hex(hex, buf, sizeof buf);
	struct tpdu t;
	assert_int_equal(tpdu_decode(buf, (size_t)n, flags | TPDU_LENIENT, &t, NULL), 0);
	char text[64];
	assert_int_equal(tpdu_text(&t, text, sizeof text, NULL), 0);
	assert_string_equal(text, "hellohello");
	/* Still short user data is never accepted. */
	hex = vector_hex("pdu-026", &flags);
	n = tsv_hex(hex, buf, sizeof buf);
	assert_int_equal(tpdu_decode(buf, (size_t)n, flags | TPDU_LENIENT, &t, NULL), -EBADMSG);
}

/* Every truncation of every valid vector is refused, never over-read. */
static void test_tpdu_truncations(void **state)
{
	(void)state;
	for (size_t i = 0; i < vec.n_rows; i++) {
		if (!strcmp(tsv_get(&vec, i, "kind"), "error"))
			continue;
		unsigned flags = !strcmp(tsv_get(&vec, i, "has_smsc"), "1") ? TPDU_WITH_SMSC : 0;
		uint8_t buf[TPDU_MAX_LEN];
		long n = tsv_hex(tsv_get(&vec, i, "hex"), buf, sizeof buf);
		for (long k = 0; k < n; k++) {
			uint8_t *cut = xmalloc((size_t)k + 1); /* exact size, so ASan sees any over-read */
			memcpy(cut, buf, (size_t)k);
			struct tpdu t;
			struct errbuf err;
			if (tpdu_decode(cut, (size_t)k, flags, &t, &err) == 0)
				fail_msg("%s cut at %ld decoded", tsv_get(&vec, i, "id"), k);
			free(cut);
		}
	}
}

/* Builds a SUBMIT the way the drivers do and compares with a vector. */
static void build_submit(const char *text, const char *da, uint8_t mr, bool srr, enum tpdu_vpf vpf, uint8_t vp,
                         enum sms_encoding enc, char *hex_out)
{
	struct sms_part part;
	struct sms_split sp = {.parts = &part, .parts_cap = 1};
	struct sms_split_opts o = {.encoding = enc};
	assert_int_equal(sms_split(text, strlen(text), &o, &sp, NULL), 0);
	assert_int_equal(sp.n_parts, 1);
	struct tpdu t = {.has_smsc = true, .type = TPDU_SUBMIT, .mr = mr, .srr = srr, .vpf = vpf, .vp_rel = vp};
	assert_int_equal(tpdu_addr_set(&t.addr, da), 0);
	t.dcs = sp.dcs;
	t.udl = part.udl;
	t.udhi = part.udh_len > 0;
	memcpy(t.ud, part.ud, part.ud_len);
	t.ud_len = part.ud_len;
	uint8_t out[TPDU_MAX_LEN];
	size_t len, tlen;
	assert_int_equal(tpdu_encode(&t, out, sizeof out, &len, &tlen, NULL), 0);
	assert_int_equal(tlen + 1, len);
	hex_encode(out, len, hex_out);
}

static void test_tpdu_build_submit(void **state)
{
	(void)state;
	unsigned flags;
	char hex[2 * TPDU_MAX_LEN + 1];
	build_submit("Report please", "+441632960123", 42, true, TPDU_VP_RELATIVE, 0x8F, SMS_ENC_AUTO, hex);
	assert_string_equal(hex, vector_hex("pdu-011", &flags));
	build_submit("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", "+79161234567", 0, false, TPDU_VP_RELATIVE,
	             0xA7, SMS_ENC_AUTO, hex);
	assert_string_equal(hex, vector_hex("pdu-009", &flags));
	build_submit("No VP", "+12025550101", 0, false, TPDU_VP_NONE, 0, SMS_ENC_AUTO, hex);
	assert_string_equal(hex, vector_hex("pdu-013", &flags));
}

static void test_tpdu_addr_set(void **state)
{
	(void)state;
	struct tpdu_addr a;
	assert_int_equal(tpdu_addr_set(&a, "+4915112345678"), 0);
	assert_int_equal(a.toa, 0x91);
	assert_int_equal(tpdu_addr_set(&a, "1861"), 0);
	assert_int_equal(a.toa, 0x81);
	assert_int_equal(tpdu_addr_set(&a, "InfoSMS"), 0);
	assert_int_equal(a.toa, 0xD0);
	assert_int_equal(tpdu_addr_set(&a, ""), -EINVAL);
	assert_int_equal(tpdu_addr_set(&a, "TwelveChars!"), -EINVAL);
	assert_int_equal(tpdu_addr_set(&a, "+123456789012345678901"), -EINVAL);
}

/* 23.040 9.2.3.12.1: the four ranges of the relative VP and their edges. */
static void test_tpdu_vp(void **state)
{
	(void)state;
	assert_int_equal(tpdu_vp_minutes(0), 5);
	assert_int_equal(tpdu_vp_minutes(143), 720);
	assert_int_equal(tpdu_vp_minutes(144), 750);
	assert_int_equal(tpdu_vp_minutes(167), 1440);
	assert_int_equal(tpdu_vp_minutes(168), 2880);
	assert_int_equal(tpdu_vp_minutes(196), 43200);
	assert_int_equal(tpdu_vp_minutes(197), 50400);
	assert_int_equal(tpdu_vp_minutes(255), 635040);
	assert_int_equal(tpdu_vp_from_minutes(1440), 167);
	assert_int_equal(tpdu_vp_from_minutes(1441), 168);
	assert_int_equal(tpdu_vp_from_minutes(1), 0);
	assert_int_equal(tpdu_vp_from_minutes(10000000), 255);
}

static void test_tpdu_time(void **state)
{
	(void)state;
	/* 24/06/01,12:00:00+04 = 2024-06-01 11:00:00 UTC = 1717239600. */
	struct tpdu_time t = {.year = 24, .month = 6, .day = 1, .hour = 12, .tz_quarters = 4};
	assert_int_equal(tpdu_time_unix(&t), 1717239600);
	t.tz_negative = true;
	assert_int_equal(tpdu_time_unix(&t), 1717239600 + 7200);
	t.month = 13;
	assert_int_equal(tpdu_time_unix(&t), -1);
	assert_int_equal(tpdu_status_class(0x00), 0);
	assert_int_equal(tpdu_status_class(0x20), 1);
	assert_int_equal(tpdu_status_class(0x46), 2);
	assert_int_equal(tpdu_status_class(0x60), 3);
}

/* A status report with a TP-PI announcing PID, DCS and user data. */
static void test_tpdu_status_report_pi(void **state)
{
	(void)state;
	unsigned flags;
	uint8_t buf[TPDU_MAX_LEN];
	long n = tsv_hex(vector_hex("pdu-007", &flags), buf, sizeof buf);
	const uint8_t extra[] = {0x07, 0x00, 0x00, 0x02, 0xC8, 0x34};
	memcpy(buf + n, extra, sizeof extra);
	struct tpdu t;
	struct errbuf err;
	assert_int_equal(tpdu_decode(buf, (size_t)n + sizeof extra, flags, &t, &err), 0);
	assert_true(t.has_pi);
	char text[16];
	assert_int_equal(tpdu_text(&t, text, sizeof text, NULL), 0);
	assert_string_equal(text, "Hi");
	assert_int_equal(t.mr, 0);
	assert_int_equal(t.st, 0);
	/* A reserved MTI is refused. */
	buf[0] = 0x03;
	assert_int_equal(tpdu_decode(buf, (size_t)n, 0, &t, &err), -EBADMSG);
	assert_true(strncmp(err.msg, "bad-mti", 7) == 0);
}

/* The largest TPDU is a STATUS-REPORT with PID, DCS and 140 octets of user
 * data behind a full SMSC field and a 20-digit address (185 octets): it
 * decodes, and encodes back to the same octets (fuzz_sms_tpdu found a buffer
 * sized for a SUBMIT). */
static void test_tpdu_largest(void **state)
{
	(void)state;
	uint8_t in[TPDU_MAX_LEN], out[TPDU_MAX_LEN];
	size_t n = 0;
	const uint8_t head[] = {11,   0x91, 0x21, 0x43, 0x65, 0x87, 0x09, 0x21, 0x43, 0x65, 0x87, 0x09, /* SMSC */
	                        0x02, 0x07, 20,   0x91, 0x21, 0x43, 0x65, 0x87, 0x09, 0x21, 0x43, 0x65, 0x87, 0x09};
	memcpy(in, head, sizeof head);
	n = sizeof head;
	const uint8_t ts[7] = {0x62, 0x21, 0x30, 0x21, 0x43, 0x65, 0x40};
	memcpy(in + n, ts, 7), n += 7;
	memcpy(in + n, ts, 7), n += 7;
	const uint8_t tail[] = {0x00 /* ST */, 0x07 /* PI: PID, DCS, UDL */, 0x00, 0x04 /* 8-bit */, 140};
	memcpy(in + n, tail, sizeof tail);
	n += sizeof tail;
	for (int i = 0; i < 140; i++)
		in[n++] = (uint8_t)i;
	assert_int_equal(n, TPDU_MAX_LEN);
	struct tpdu t;
	struct errbuf err;
	assert_int_equal(tpdu_decode(in, n, TPDU_WITH_SMSC, &t, &err), 0);
	assert_int_equal(t.tpdu_len, 173);
	size_t len, tlen;
	assert_int_equal(tpdu_encode(&t, out, sizeof out, &len, &tlen, &err), 0);
	assert_int_equal(len, n);
	assert_int_equal(tlen, 173);
	assert_memory_equal(out, in, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tpdu_vectors),     cmocka_unit_test(test_tpdu_lenient),
	    cmocka_unit_test(test_tpdu_truncations), cmocka_unit_test(test_tpdu_build_submit),
	    cmocka_unit_test(test_tpdu_addr_set),    cmocka_unit_test(test_tpdu_vp),
	    cmocka_unit_test(test_tpdu_time),        cmocka_unit_test(test_tpdu_status_report_pi),
	    cmocka_unit_test(test_tpdu_largest),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
