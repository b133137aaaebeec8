/*
 * EMI/UCP short messages and settings: addresses both ways, message parts
 * written as op 51 and read back, the vectors' messages read (MT 2/3/4,
 * XSer UDH and DCS), refusals with the EC to answer, and the settings
 * checks.  Expected values come from the vectors (tests/vectors/ucp.tsv)
 * and the specification, not from the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "tsv.h"
#include "ucp/conf.h"
#include "ucp/frame.h"
#include "ucp/sm.h"
#include "util.h"

static struct tsv vec;

static struct ucp_frame *decode_vector(const char *id, uint8_t **buf)
{
	for (size_t i = 0; i < vec.n_rows; i++)
		if (!strcmp(tsv_get(&vec, i, "id"), id)) {
			const char *hex = tsv_get(&vec, i, "frame_hex");
			size_t cap = strlen(hex) / 2;
			*buf = xmalloc(cap);
			assert_int_equal(tsv_hex(hex, *buf, cap), (long)cap);
			struct ucp_frame *f = xmalloc(sizeof *f);
			struct ucp_error e;
			assert_int_equal(ucp_frame_decode(*buf, cap, f, &e), 0);
			return f;
		}
	fail_msg("no vector %s", id);
	return NULL;
}

static void test_addresses(void **state)
{
	char out[40];
	assert_int_equal(ucp_sm_adc("+4915110000001", out, sizeof out), 0);
	assert_string_equal(out, "004915110000001");
	assert_int_equal(ucp_sm_adc("12345", out, sizeof out), 0);
	assert_string_equal(out, "12345");
	assert_int_equal(ucp_sm_adc("ABC", out, sizeof out), -EINVAL);
	assert_int_equal(ucp_sm_adc("", out, sizeof out), -EINVAL);
	assert_int_equal(ucp_sm_adc("+123456789012345678901", out, sizeof out), -EINVAL);

	struct ucp_sm sm;
	ucp_sm_reset(&sm);
	assert_int_equal(ucp_sm_oadc("ALPHA@NUM", &sm), 0); /* ucp-023 */
	assert_string_equal(sm.oadc, "10412614190438AB4D");
	assert_string_equal(sm.otoa, "5039");
	assert_int_equal(ucp_sm_oadc("+4930123456", &sm), 0);
	assert_string_equal(sm.oadc, "4930123456");
	assert_string_equal(sm.otoa, "1139");
	assert_int_equal(ucp_sm_oadc("12345", &sm), 0);
	assert_string_equal(sm.oadc, "12345");
	assert_string_equal(sm.otoa, "");
	assert_int_equal(ucp_sm_oadc(NULL, &sm), 0);
	assert_string_equal(sm.oadc, "");
	assert_int_equal(ucp_sm_oadc("TwelveLetter", &sm), -EINVAL);

	struct ucp_str a = {"10412614190438AB4D", 18}, t5039 = {"5039", 4}, t1139 = {"1139", 4};
	char *s = ucp_sm_addr_in(&a, &t5039);
	assert_string_equal(s, "ALPHA@NUM");
	free(s);
	a = (struct ucp_str){"004915110000001", 15};
	s = ucp_sm_addr_in(&a, NULL);
	assert_string_equal(s, "+4915110000001");
	free(s);
	a = (struct ucp_str){"4930123456", 10};
	s = ucp_sm_addr_in(&a, &t1139);
	assert_string_equal(s, "+4930123456");
	free(s);
	s = ucp_sm_addr_in(&a, NULL);
	assert_string_equal(s, "4930123456");
	free(s);
}

/* A text split, each part written as an op 51 frame, decoded and read back. */
static void roundtrip(const char *text, const char *want_encoding, unsigned want_parts)
{
	struct sms_split_opts opts = {.encoding = SMS_ENC_AUTO, .concat_ref = 0x42};
	struct sms_split sp = {0};
	struct errbuf err;
	assert_int_equal(sms_count_parts(text, strlen(text), &opts, &sp, &err), 0);
	sp.parts = xcalloc(sp.n_parts, sizeof *sp.parts);
	sp.parts_cap = sp.n_parts;
	assert_int_equal(sms_split(text, strlen(text), &opts, &sp, &err), 0);
	assert_int_equal(sp.n_parts, want_parts);
	char *joined = xcalloc(1, 4 * strlen(text) + 1);
	static struct ucp_sm sm;
	static uint8_t buf[UCP_FRAME_MAX];
	for (unsigned i = 0; i < sp.n_parts; i++) {
		ucp_sm_reset(&sm);
		assert_int_equal(ucp_sm_adc("+15550001001", sm.adc, sizeof sm.adc), 0);
		assert_int_equal(ucp_sm_set_part(&sm, &sp, &sp.parts[i], -1), 0);
		struct ucp_frame f, g;
		ucp_sm_frame(&sm, i, 51, &f);
		size_t n;
		assert_int_equal(ucp_frame_encode(&f, buf, sizeof buf, &n, &err), 0);
		struct ucp_error e;
		assert_int_equal(ucp_frame_decode(buf, n, &g, &e), 0);
		assert_true(g.checksum_ok && g.len_ok);
		struct ucp_sm_in *in = xmalloc(sizeof *in);
		assert_int_equal(ucp_sm_read(&g, in, &err), 0);
		if (want_parts > 1) {
			assert_int_equal(in->udh_len, 6); /* 05 00 03 ref total seq */
			assert_int_equal(in->udh[5], i + 1);
		}
		char *body = NULL, *payload = NULL, *enc = NULL;
		ucp_sm_text(in, &body, &payload, &enc);
		assert_non_null(body);
		assert_string_equal(enc, want_encoding);
		strcat(joined, body);
		free(body);
		free(payload);
		free(enc);
		free(in);
	}
	assert_string_equal(joined, text);
	free(joined);
	free(sp.parts);
}

static void test_parts_roundtrip(void **state)
{
	roundtrip("Hello @ 5 $", "gsm7", 1);
	char gsm[200] = "";
	for (int i = 0; i < 12; i++)
		strcat(gsm, "Loop text 00x. ");
	roundtrip(gsm, "gsm7", 2);
	char ucs[400] = "";
	for (int i = 0; i < 6; i++)
		strcat(ucs, "Привет, мир 01! ");
	roundtrip(ucs, "ucs2", 2);
}

static void test_read_vectors(void **state)
{
	uint8_t *buf;
	struct ucp_sm_in in;
	struct errbuf err;
	char *body = NULL, *payload = NULL, *enc = NULL;

	struct ucp_frame *f = decode_vector("ucp-024", &buf); /* MT 3 + XSer 01 UDH */
	assert_int_equal(ucp_sm_read(f, &in, &err), 0);
	assert_int_equal(in.udh_len, 6);
	assert_memory_equal(in.udh, "\x05\x00\x03\xCC\x02\x01", 6);
	ucp_sm_text(&in, &body, &payload, &enc);
	assert_string_equal(body, "Hello");
	free(body), free(enc), free(f), free(buf);
	body = enc = NULL;

	f = decode_vector("ucp-025", &buf); /* MT 4 + XSer 02 DCS 08: UCS-2 */
	assert_int_equal(ucp_sm_read(f, &in, &err), 0);
	assert_int_equal(in.dcs, 8);
	ucp_sm_text(&in, &body, &payload, &enc);
	assert_string_equal(body, "Привет");
	assert_string_equal(enc, "ucs2");
	free(body), free(enc), free(f), free(buf);
	body = enc = NULL;

	f = decode_vector("ucp-033", &buf); /* MT 2: digits */
	assert_int_equal(ucp_sm_read(f, &in, &err), 0);
	ucp_sm_text(&in, &body, &payload, &enc);
	assert_string_equal(body, "0123456789");
	free(body), free(enc), free(f), free(buf);
	body = enc = NULL;

	f = decode_vector("ucp-009", &buf); /* MT 4 without DCS: binary */
	assert_int_equal(ucp_sm_read(f, &in, &err), 0);
	ucp_sm_text(&in, &body, &payload, &enc);
	assert_null(body);
	assert_string_equal(payload, "F5AA34DE");
	assert_string_equal(enc, "binary");
	assert_int_equal(in.msg_class, 1); /* MCLs */
	free(payload), free(enc), free(f), free(buf);

	f = decode_vector("ucp-021", &buf); /* op 30: AMsg */
	assert_int_equal(ucp_sm_read(f, &in, &err), 0);
	assert_int_equal(in.len, 5);
	assert_memory_equal(in.data, "hello", 5);
	free(f), free(buf);
}

static void test_read_refusals(void **state)
{
	static struct ucp_sm sm;
	struct ucp_frame f;
	struct ucp_sm_in in;
	struct errbuf err;
	ucp_sm_reset(&sm);
	strcpy(sm.adc, "123");
	strcpy(sm.mt, "5");
	ucp_sm_frame(&sm, 1, 51, &f);
	assert_int_equal(ucp_sm_read(&f, &in, &err), 23);
	strcpy(sm.mt, "3");
	strcpy(sm.msg, "414");
	ucp_sm_frame(&sm, 1, 51, &f); /* fields borrow the strings with their lengths then */
	assert_int_equal(ucp_sm_read(&f, &in, &err), 2);
	strcpy(sm.msg, "4142");
	strcpy(sm.xser, "0105");
	ucp_sm_frame(&sm, 1, 51, &f);
	assert_int_equal(ucp_sm_read(&f, &in, &err), 2);
	sm.xser[0] = '\0';
	strcpy(sm.mt, "2");
	strcpy(sm.msg, "12A");
	ucp_sm_frame(&sm, 1, 51, &f);
	assert_int_equal(ucp_sm_read(&f, &in, &err), 2);
	strcpy(sm.mt, "3");
	ucp_sm_frame(&sm, 1, 51, &f);
	static char big[2 * UCP_SM_DATA_MAX + 2]; /* one octet more than we take */
	memset(big, 'A', sizeof big);
	f.f[UCP5X_Msg] = (struct ucp_str){big, sizeof big};
	assert_int_equal(ucp_sm_read(&f, &in, &err), 24);
	f.f[UCP5X_Msg].len -= 2;
	assert_int_equal(ucp_sm_read(&f, &in, &err), 0);
	assert_int_equal(in.len, UCP_SM_DATA_MAX);
}

static int check_json(const struct setting *table, int (*check)(const void *, struct errbuf *), size_t size,
                      const char *json)
{
	void *conf = xcalloc(1, size);
	struct errbuf err;
	int rc = settings_parse(table, json, conf, &err);
	if (rc == 0)
		rc = check(conf, &err);
	settings_free(table, conf);
	free(conf);
	return rc;
}

static void test_settings(void **state)
{
#define C(json) check_json(ucp_conf_settings, ucp_conf_check, sizeof(struct ucp_conf), json)
#define S(json) check_json(ucp_server_conf_settings, ucp_server_conf_check, sizeof(struct ucp_server_conf), json)
	assert_int_equal(C("{\"host\": \"h\", \"port\": 1}"), 0);
	assert_int_equal(C("{\"host\": \"h\", \"port\": 1, \"version\": \"3.5\", \"login\": \"acc\"}"), 0);
	assert_int_equal(C("{\"host\": \"h\", \"port\": 1, \"version\": \"5.0\"}"), -1);
	assert_int_equal(C("{\"host\": \"h\", \"port\": 1, \"login\": \"a/b\"}"), -1);
	assert_int_equal(C("{\"host\": \"h\", \"port\": 1, \"window\": 101}"), -1);
	assert_int_equal(C("{\"host\": \"h\", \"port\": 1, \"npid\": \"53\"}"), -1);
	assert_int_equal(C("{\"host\": \"h\", \"port\": 1, \"backup_hosts\": [\"x\"]}"), -1);
	assert_int_equal(C("{\"host\": \"h\", \"port\": 1, \"reconnect_min_ms\": 5000, \"reconnect_max_ms\": 100}"),
	                 -1);
	assert_int_equal(C("{\"host\": \"h\", \"port\": 1, \"sender_ton\": \"international\"}"), 0);
	assert_int_equal(C("{\"host\": \"h\", \"port\": 1, \"sender_ton\": \"intl\"}"), -1);
	assert_int_equal(C("{\"host\": \"h\", \"port\": 1, \"amsg_charset\": \"latin1\"}"), 0);
	assert_int_equal(C("{\"host\": \"h\", \"port\": 1, \"amsg_charset\": \"utf8\"}"), -1);
	assert_int_equal(S("{\"listen\": \"127.0.0.1:0\"}"), 0);
	assert_int_equal(S("{\"listen\": \"nowhere\"}"), -1);
	assert_int_equal(S("{\"listen\": \"127.0.0.1:0\", \"tls\": true}"), -1);
#undef C
#undef S
}

/* sender_ton: the override of OAdC/OTOA (EMI 4.x: OTOA 1139 international
 * numeric, 5039 alphanumeric with the 7-bit packed OAdC). */
static void test_sender_ton(void **state)
{
	(void)state;
	struct ucp_sm sm;
	assert_int_equal(ucp_sm_oadc_ton("+4930123456", UCP_TON_AUTO, &sm), 0);
	assert_string_equal(sm.oadc, "4930123456");
	assert_string_equal(sm.otoa, "1139");
	assert_int_equal(ucp_sm_oadc_ton("4930123456", UCP_TON_INTERNATIONAL, &sm), 0);
	assert_string_equal(sm.oadc, "4930123456");
	assert_string_equal(sm.otoa, "1139");
	assert_int_equal(ucp_sm_oadc_ton("+4930123456", UCP_TON_UNKNOWN, &sm), 0);
	assert_string_equal(sm.oadc, "004930123456");
	assert_string_equal(sm.otoa, "");
	/* digits as a name: 5039 and the packed form of "12345" (vector style:
	 * length in nibbles, then packed septets) */
	assert_int_equal(ucp_sm_oadc_ton("12345", UCP_TON_ALPHANUMERIC, &sm), 0);
	assert_string_equal(sm.otoa, "5039");
	struct ucp_str a = {sm.oadc, strlen(sm.oadc)}, o = {"5039", 4};
	char *back = ucp_sm_addr_in(&a, &o);
	assert_string_equal(back, "12345");
	free(back);
	/* a name cannot be international: taken as auto */
	assert_int_equal(ucp_sm_oadc_ton("ALPHA", UCP_TON_INTERNATIONAL, &sm), 0);
	assert_string_equal(sm.otoa, "5039");
}

/* amsg_charset latin1: an MT=3 text carries Latin-1 octets in IRA, and an
 * MT=3 message read as Latin-1 gives the text back. */
static void test_latin1_amsg(void **state)
{
	(void)state;
	const char *text = "caf\xc3\xa9 [x]"; /* "café [x]": [ ] are GSM extension characters */
	struct sms_split_opts opts = {.encoding = SMS_ENC_AUTO};
	struct sms_split sp = {0};
	struct errbuf err;
	assert_int_equal(sms_count_parts(text, strlen(text), &opts, &sp, &err), 0);
	sp.parts = xcalloc(sp.n_parts, sizeof *sp.parts);
	sp.parts_cap = sp.n_parts;
	assert_int_equal(sms_split(text, strlen(text), &opts, &sp, &err), 0);
	assert_int_equal(sp.encoding, SMS_ENC_GSM7);
	static struct ucp_sm sm;
	ucp_sm_reset(&sm);
	assert_int_equal(ucp_sm_set_part_cs(&sm, &sp, &sp.parts[0], -1, true), 0);
	assert_string_equal(sm.mt, "3");
	assert_string_equal(sm.msg, "636166E9205B785D"); /* c a f é sp [ x ] in Latin-1 */
	ucp_sm_reset(&sm);
	assert_int_equal(ucp_sm_set_part_cs(&sm, &sp, &sp.parts[0], -1, false), 0);
	assert_string_equal(sm.msg, "63616605201B3C781B3E"); /* GSM codes: é 05, [ 1B 3C, ] 1B 3E */
	struct ucp_sm_in in = {.kind = UCP_TEXT_LATIN1, .len = 8};
	memcpy(in.data, "caf\xe9 [x]", 8);
	char *body = NULL, *payload = NULL, *enc = NULL;
	ucp_sm_text(&in, &body, &payload, &enc);
	assert_string_equal(body, text);
	assert_string_equal(enc, "latin1");
	free(body);
	free(payload);
	free(enc);
	/* a character with no Latin-1 form (GSM's Greek capital Delta) */
	const char *greek = "\xce\x94";
	free(sp.parts);
	memset(&sp, 0, sizeof sp);
	assert_int_equal(sms_count_parts(greek, strlen(greek), &opts, &sp, &err), 0);
	sp.parts = xcalloc(sp.n_parts, sizeof *sp.parts);
	sp.parts_cap = sp.n_parts;
	assert_int_equal(sms_split(greek, strlen(greek), &opts, &sp, &err), 0);
	assert_int_equal(ucp_sm_set_part_cs(&sm, &sp, &sp.parts[0], -1, true), -EINVAL);
	free(sp.parts);
}

/* DD/DDT of op 51 and 30: deferred delivery as unix seconds. */
static void test_deferred(void **state)
{
	(void)state;
	struct ucp_frame f = {.ot = 51, .o_r = 'O', .nfields = UCP5X_COUNT};
	for (size_t i = 0; i < UCP5X_COUNT; i++)
		f.f[i] = (struct ucp_str){"", 0};
	int64_t t = -1;
	assert_int_equal(ucp_sm_deferred(&f, &t), 0);
	f.f[UCP5X_DD] = (struct ucp_str){"1", 1};
	f.f[UCP5X_DDT] = (struct ucp_str){"0103261230", 10}; /* 01 Mar 2026 12:30 */
	assert_int_equal(ucp_sm_deferred(&f, &t), 1);
	assert_int_equal(t, 1772368200);
	f.f[UCP5X_DDT] = (struct ucp_str){"3213261230", 10};
	assert_int_equal(ucp_sm_deferred(&f, &t), -1);
	f.f[UCP5X_DD] = (struct ucp_str){"0", 1};
	assert_int_equal(ucp_sm_deferred(&f, &t), 0);
	struct ucp_frame g = {.ot = 30, .o_r = 'O', .nfields = UCP30_COUNT};
	for (size_t i = 0; i < UCP30_COUNT; i++)
		g.f[i] = (struct ucp_str){"", 0};
	g.f[UCP30_DD] = (struct ucp_str){"1", 1};
	g.f[UCP30_DDT] = (struct ucp_str){"0103261230", 10};
	assert_int_equal(ucp_sm_deferred(&g, &t), 1);
	assert_int_equal(t, 1772368200);
}

int main(void)
{
	if (tsv_load("ucp.tsv", &vec))
		return 1;
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addresses),    cmocka_unit_test(test_parts_roundtrip),
	    cmocka_unit_test(test_read_vectors), cmocka_unit_test(test_read_refusals),
	    cmocka_unit_test(test_settings),     cmocka_unit_test(test_sender_ton),
	    cmocka_unit_test(test_latin1_amsg),  cmocka_unit_test(test_deferred),
	};
	int failed = cmocka_run_group_tests_name("ucp_sm", tests, NULL, NULL);
	tsv_free(&vec);
	return failed;
}
