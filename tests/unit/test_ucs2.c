/*
 * test_ucs2: UTF-8 <-> UCS-2 (UTF-16BE) against tests/vectors/ucs2.tsv, both
 * directions for every vector, plus surrogate handling and invalid UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "codec/sms.h"
#include "codec/ucs2.h"
#include "tsv.h"

static void test_ucs2_vectors(void **state)
{
	struct tsv t;
	assert_int_equal(tsv_load("ucs2.tsv", &t), 0);
	assert_true(t.n_rows >= 9);
	for (size_t i = 0; i < t.n_rows; i++) {
		const char *fields = tsv_get(&t, i, "fields");
		char text[1024], got[1024];
		uint8_t want[512], buf[512];
		print_message("vector %s\n", tsv_get(&t, i, "id"));
		assert_true(tsv_pct_decode(tsv_get(&t, i, "text_pct"), text, sizeof text) >= 0);
		long nw = tsv_hex(tsv_get(&t, i, "ucs2_hex"), want, sizeof want);
		assert_true(nw > 0);
		assert_int_equal(strtol(tsv_get(&t, i, "octets"), NULL, 10), nw);
		assert_int_equal(strtol(tsv_get(&t, i, "code_units"), NULL, 10) * 2, nw);

		size_t n;
		assert_int_equal(ucs2_from_utf8(text, strlen(text), buf, sizeof buf, &n, NULL), 0);
		assert_int_equal(n, (size_t)nw);
		assert_memory_equal(buf, want, n);
		assert_int_equal(ucs2_from_utf8(text, strlen(text), NULL, 0, &n, NULL), 0); /* count only */
		assert_int_equal(n, (size_t)nw);

		size_t glen;
		assert_int_equal(ucs2_to_utf8(want, (size_t)nw, got, sizeof got, &glen), 0);
		assert_string_equal(got, text);
		assert_int_equal(glen, strlen(text));

		/* Forced UCS-2, the splitter's part count agrees with the vector. */
		struct sms_split_opts o = {.encoding = SMS_ENC_UCS2};
		struct sms_split s;
		assert_int_equal(sms_count_parts(text, strlen(text), &o, &s, NULL), 0);
		assert_int_equal(s.units, (size_t)nw / 2);
		long fits = tsv_field_long(fields, "fits_single_sms", -1);
		if (fits >= 0)
			assert_int_equal(s.n_parts == 1, fits == 1);
		long parts = tsv_field_long(fields, "parts_8bit_ref", -1);
		if (parts >= 0)
			assert_int_equal(s.n_parts, parts);
	}
	tsv_free(&t);
}

static void test_ucs2_surrogates(void **state)
{
	char out[32];
	/* Unpaired surrogates decode to U+FFFD instead of failing. */
	const uint8_t lone_hi[] = {0xD8, 0x3D, 0x00, 0x41};
	assert_int_equal(ucs2_to_utf8(lone_hi, sizeof lone_hi, out, sizeof out, NULL), 0);
	assert_string_equal(out, "\xEF\xBF\xBD"
	                         "A");
	const uint8_t lone_lo[] = {0xDE, 0x00};
	assert_int_equal(ucs2_to_utf8(lone_lo, sizeof lone_lo, out, sizeof out, NULL), 0);
	assert_string_equal(out, "\xEF\xBF\xBD");
	const uint8_t hi_at_end[] = {0x00, 0x41, 0xD8, 0x3D};
	assert_int_equal(ucs2_to_utf8(hi_at_end, sizeof hi_at_end, out, sizeof out, NULL), 0);
	assert_string_equal(out, "A\xEF\xBF\xBD");
	/* U+10FFFF, the last code point: DBFF DFFF. */
	uint8_t b[8];
	size_t n;
	assert_int_equal(ucs2_from_utf8("\xF4\x8F\xBF\xBF", 4, b, sizeof b, &n, NULL), 0);
	assert_int_equal(n, 4);
	const uint8_t last[] = {0xDB, 0xFF, 0xDF, 0xFF};
	assert_memory_equal(b, last, 4);
}

static void test_ucs2_errors(void **state)
{
	uint8_t b[16];
	size_t n;
	char out[8];
	struct errbuf err = {{0}};
	static const char *const bad[] = {
	    "\x80",             /* lone continuation */
	    "\xC3",             /* truncated */
	    "\xE2\x82",         /* truncated */
	    "\xC1\xBF",         /* overlong */
	    "\xE0\x80\xAF",     /* overlong */
	    "\xED\xB0\x80",     /* encoded surrogate */
	    "\xF4\x90\x80\x80", /* above U+10FFFF */
	    "\xF8\x88\x80\x80\x80",
	    "a\xFE",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(ucs2_from_utf8(bad[i], strlen(bad[i]), b, sizeof b, &n, &err), -EILSEQ);
		assert_non_null(strstr(err.msg, "invalid UTF-8"));
	}
	assert_int_equal(ucs2_from_utf8("abc", 3, b, 4, &n, &err), -ENOSPC);
	const uint8_t odd[] = {0x00, 0x41, 0x00};
	assert_int_equal(ucs2_to_utf8(odd, sizeof odd, out, sizeof out, NULL), -EINVAL);
	const uint8_t cyr[] = {0x04, 0x1F, 0x04, 0x40};
	assert_int_equal(ucs2_to_utf8(cyr, sizeof cyr, out, 4, NULL), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ucs2_vectors),
	    cmocka_unit_test(test_ucs2_surrogates),
	    cmocka_unit_test(test_ucs2_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
