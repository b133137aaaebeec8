/*
 * test_gsm7: the GSM 7-bit codec against tests/vectors/gsm7.tsv (every
 * vector: roundtrip = decode and encode, encode-cr-pad = CR padding,
 * decode-only = decode), plus national language table spot checks taken
 * from 3GPP TS 23.038 Annex A and error handling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "codec/gsm7.h"
#include "codec/sms.h"
#include "tsv.h"

static void test_gsm7_vectors(void **state)
{
	struct tsv t;
	assert_int_equal(tsv_load("gsm7.tsv", &t), 0);
	assert_true(t.n_rows >= 22);
	size_t roundtrips = 0, crpads = 0, decodes = 0;

	for (size_t i = 0; i < t.n_rows; i++) {
		const char *id = tsv_get(&t, i, "id");
		const char *kind = tsv_get(&t, i, "kind");
		const char *fields = tsv_get(&t, i, "fields");
		char text[1024], want_text[1024], got[1024];
		uint8_t sept[512], packed[512], buf[512];
		size_t n = (size_t)strtoul(tsv_get(&t, i, "septet_count"), NULL, 10);

		print_message("vector %s (%s)\n", id, kind);
		assert_true(tsv_pct_decode(tsv_get(&t, i, "text_pct"), text, sizeof text) >= 0);
		long ns = tsv_hex(tsv_get(&t, i, "septets_hex"), sept, sizeof sept);
		long np = tsv_hex(tsv_get(&t, i, "packed_hex"), packed, sizeof packed);
		assert_int_equal(ns, (long)n);
		assert_true(np > 0);
		assert_int_equal(tsv_field_long(fields, "septets", (long)n), (long)n);

		/* Decode: packed -> septets (by septet count) -> text. */
		memset(buf, 0xEE, sizeof buf);
		assert_int_equal(gsm7_unpack(packed, (size_t)np, n, 0, buf, sizeof buf), 0);
		assert_memory_equal(buf, sept, n);
		size_t glen;
		assert_int_equal(gsm7_to_utf8(sept, n, 0, 0, got, sizeof got, &glen), 0);
		if (tsv_field(fields, "decoded_text", want_text, sizeof want_text) < 0)
			strcpy(want_text, text);
		assert_string_equal(got, want_text);
		assert_int_equal(glen, strlen(want_text));

		if (strcmp(kind, "decode-only") == 0) {
			decodes++;
			continue;
		}
		/* Encode: text -> septets -> packed. */
		size_t n2;
		assert_int_equal(gsm7_from_utf8(text, strlen(text), 0, 0, buf, sizeof buf, &n2, NULL), 0);
		assert_int_equal(n2, n);
		assert_memory_equal(buf, sept, n);
		long ext = tsv_field_long(fields, "ext_escapes", -1);
		if (ext >= 0) {
			long esc = 0;
			for (size_t k = 0; k < n; k++)
				esc += buf[k] == GSM7_ESC;
			assert_int_equal(esc, ext);
		}
		int cr_pad = strcmp(kind, "encode-cr-pad") == 0 || tsv_field_long(fields, "cr_pad", 0) == 1;
		size_t olen;
		assert_int_equal(gsm7_pack(sept, n, 0, cr_pad, buf, sizeof buf, &olen), 0);
		assert_int_equal(olen, (size_t)np);
		assert_memory_equal(buf, packed, olen);
		assert_int_equal(tsv_field_long(fields, "octets", np), np);

		/* The splitter agrees on single-SMS fit. */
		long fits = tsv_field_long(fields, "fits_single_sms", -1);
		if (fits >= 0) {
			struct sms_split_opts o = {.encoding = SMS_ENC_AUTO};
			struct sms_split s;
			assert_int_equal(sms_count_parts(text, strlen(text), &o, &s, NULL), 0);
			assert_int_equal(s.encoding, SMS_ENC_GSM7);
			assert_int_equal(s.units, n);
			assert_int_equal(s.n_parts == 1, fits == 1);
		}
		if (strcmp(kind, "roundtrip") == 0)
			roundtrips++;
		else
			crpads++;
	}
	print_message("gsm7.tsv: %zu roundtrip, %zu cr-pad, %zu decode-only\n", roundtrips, crpads, decodes);
	assert_int_equal(roundtrips + crpads + decodes, t.n_rows);
	tsv_free(&t);
}

/* Decoding never reads the octet count: 1234567 in 7 octets with 8n-1
 * septets decodes to 7 characters, and a longer count is refused. */
static void test_gsm7_septet_count(void **state)
{
	const uint8_t packed[] = {0x31, 0xD9, 0x8C, 0x56, 0xB3, 0xDD, 0x00};
	uint8_t s[16];
	assert_int_equal(gsm7_unpack(packed, sizeof packed, 8, 0, s, sizeof s), 0); /* 8 fit in 7 octets */
	assert_int_equal(s[7], 0x00);
	assert_int_equal(gsm7_unpack(packed, sizeof packed, 9, 0, s, sizeof s), -EMSGSIZE);
	assert_int_equal(gsm7_unpack(packed, sizeof packed, 7, 7, s, sizeof s), -EINVAL);
	assert_int_equal(gsm7_unpack(packed, sizeof packed, 7, 0, s, 6), -ENOSPC);
}

static void test_gsm7_errors(void **state)
{
	uint8_t s[16];
	size_t n;
	char out[16];
	struct errbuf err = {{0}};

	assert_int_equal(gsm7_from_utf8("a\xC3", 2, 0, 0, s, sizeof s, &n, &err), -EILSEQ);
	assert_int_equal(gsm7_from_utf8("\xC0\x80", 2, 0, 0, s, sizeof s, &n, &err), -EILSEQ);     /* overlong NUL */
	assert_int_equal(gsm7_from_utf8("\xED\xA0\x80", 3, 0, 0, s, sizeof s, &n, &err), -EILSEQ); /* surrogate */
	assert_int_equal(gsm7_from_utf8("\xFF", 1, 0, 0, s, sizeof s, &n, &err), -EILSEQ);
	assert_int_equal(gsm7_from_utf8("\xC3\xA7", 2, 0, 0, s, sizeof s, &n, &err), -EINVAL); /* c-cedilla */
	assert_non_null(strstr(err.msg, "U+00E7"));
	assert_int_equal(gsm7_from_utf8("abc", 3, 0, 0, s, 2, &n, &err), -ENOSPC);
	assert_int_equal(gsm7_from_utf8("abc", 3, GSM7_LANG_SPANISH, 0, s, sizeof s, &n, &err), -EINVAL);
	const uint8_t bad[] = {0x41, 0x80};
	assert_int_equal(gsm7_to_utf8(bad, 2, 0, 0, out, sizeof out, NULL), -EINVAL);
	const uint8_t many[] = {0x41, 0x42, 0x43};
	assert_int_equal(gsm7_to_utf8(many, 3, 0, 0, out, 3, NULL), -ENOSPC);
	/* A dangling escape is dropped; ESC ESC shows a space (23.038 6.2.1.1). */
	const uint8_t esc[] = {0x41, 0x1B, 0x1B, 0x42, 0x1B};
	assert_int_equal(gsm7_to_utf8(esc, sizeof esc, 0, 0, out, sizeof out, NULL), 0);
	assert_string_equal(out, "A B");
}

/* Fill bits: septets after a 6-octet UDH start at bit 1 (udh.tsv fill_bits=1). */
static void test_gsm7_fill_bits(void **state)
{
	const uint8_t t[] = {0x54}; /* 'T' */
	uint8_t out[4], back[1];
	size_t n;
	assert_int_equal(gsm7_pack(t, 1, 1, false, out, sizeof out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 0xA8); /* udh-010-1 ud_hex, first octet after the UDH */
	assert_int_equal(gsm7_unpack(out, n, 1, 1, back, 1), 0);
	assert_int_equal(back[0], 0x54);
	assert_int_equal(gsm7_pack(t, 1, 7, false, out, sizeof out, &n), -EINVAL);
}

struct gsm7_spot {
	int lock, shift;
	uint32_t cp;
	int n;
	uint8_t s0, s1;
};

/* Spot checks from the 23.038 Annex A tables (A.2.x single shift, A.3.x
 * locking shift), chosen as characters the default alphabet lacks. */
static const struct gsm7_spot gsm7_spots[] = {
    {GSM7_LANG_TURKISH, 0, 0x0131, 1, 0x07, 0},                /* A.3.1 dotless i */
    {GSM7_LANG_TURKISH, 0, 0x0130, 1, 0x40, 0},                /* A.3.1 I with dot */
    {GSM7_LANG_TURKISH, 0, 0x015F, 1, 0x1D, 0},                /* A.3.1 s-cedilla */
    {GSM7_LANG_TURKISH, 0, 0x00E7, 1, 0x60, 0},                /* A.3.1 c-cedilla */
    {GSM7_LANG_TURKISH, 0, 0x20AC, 1, 0x04, 0},                /* A.3.1 euro in the lock table */
    {0, GSM7_LANG_TURKISH, 0x011E, 2, 0x1B, 0x47},             /* A.2.1 G-breve */
    {0, GSM7_LANG_TURKISH, 0x015F, 2, 0x1B, 0x73},             /* A.2.1 s-cedilla */
    {0, GSM7_LANG_SPANISH, 0x00E1, 2, 0x1B, 0x61},             /* A.2.2 a-acute */
    {0, GSM7_LANG_SPANISH, 0x00E7, 2, 0x1B, 0x09},             /* A.2.2 c-cedilla */
    {GSM7_LANG_PORTUGUESE, 0, 0x00EA, 1, 0x04, 0},             /* A.3.3 e-circumflex */
    {GSM7_LANG_PORTUGUESE, 0, 0x00E3, 1, 0x7B, 0},             /* A.3.3 a-tilde */
    {0, GSM7_LANG_PORTUGUESE, 0x00C3, 2, 0x1B, 0x5B},          /* A.2.3 A-tilde */
    {GSM7_LANG_HINDI, 0, 0x0915, 1, 0x15, 0},                  /* A.3.6 KA */
    {GSM7_LANG_HINDI, GSM7_LANG_HINDI, 0x0966, 2, 0x1B, 0x1C}, /* A.2.6 digit zero */
    {GSM7_LANG_BENGALI, 0, 0x0995, 1, 0x15, 0},                /* A.3.4 KA */
    {GSM7_LANG_TAMIL, 0, 0x0B95, 1, 0x15, 0},                  /* A.3.11 KA */
    {GSM7_LANG_URDU, 0, 0x0627, 1, 0x00, 0},                   /* A.3.13 ALEF */
    {GSM7_LANG_KANNADA, 0, 0x0CA1, 1, 0x24, 0},                /* A.3.7 DDA */
    {GSM7_LANG_HINDI, 0, 0x002C, 1, 0x2C, 0},                  /* comma stays at 0x2C */
    {GSM7_LANG_HINDI, GSM7_LANG_HINDI, 0x0040, 2, 0x1B, 0x00}, /* @ moves to the Hindi single shift */
};

static void test_gsm7_national(void **state)
{
	for (size_t i = 0; i < sizeof gsm7_spots / sizeof gsm7_spots[0]; i++) {
		const struct gsm7_spot *sp = &gsm7_spots[i];
		uint8_t s[2] = {0, 0};
		print_message("spot %zu U+%04X\n", i, (unsigned)sp->cp);
		int lock = sp->lock, shift = sp->shift;
		assert_int_equal(gsm7_char_encode(sp->cp, lock, shift, s), sp->n);
		assert_int_equal(s[0], sp->s0);
		if (sp->n == 2)
			assert_int_equal(s[1], sp->s1);
		/* and back */
		char out[8], want[8] = {0};
		uint8_t seq[2] = {sp->s0, sp->s1};
		assert_int_equal(gsm7_to_utf8(seq, (size_t)sp->n, lock, shift, out, sizeof out, NULL), 0);
		size_t wl = 0;
		uint32_t c = sp->cp;
		if (c < 0x80) {
			want[wl++] = (char)c;
		} else if (c < 0x800) {
			want[wl++] = (char)(0xC0 | (c >> 6));
			want[wl++] = (char)(0x80 | (c & 0x3F));
		} else {
			want[wl++] = (char)(0xE0 | (c >> 12));
			want[wl++] = (char)(0x80 | ((c >> 6) & 0x3F));
			want[wl++] = (char)(0x80 | (c & 0x3F));
		}
		assert_string_equal(out, want);
	}
	/* c-cedilla is not in the default tables (ucs2.tsv ucs2-004). */
	uint8_t s[2];
	assert_int_equal(gsm7_char_encode(0x00E7, 0, 0, s), 0);
	/* Spanish has no locking-shift table. */
	assert_false(gsm7_lang_has_lock(GSM7_LANG_SPANISH));
	assert_true(gsm7_lang_has_lock(GSM7_LANG_URDU));
	assert_false(gsm7_lang_has_lock(14));
}

static void test_gsm7_lang_names(void **state)
{
	assert_string_equal(gsm7_lang_name(GSM7_LANG_TURKISH), "turkish");
	assert_string_equal(gsm7_lang_name(GSM7_LANG_URDU), "urdu");
	assert_null(gsm7_lang_name(14));
	assert_null(gsm7_lang_name(-1));
	assert_int_equal(gsm7_lang_from_name("Portuguese"), GSM7_LANG_PORTUGUESE);
	assert_int_equal(gsm7_lang_from_name("klingon"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gsm7_vectors),  cmocka_unit_test(test_gsm7_septet_count),
	    cmocka_unit_test(test_gsm7_errors),   cmocka_unit_test(test_gsm7_fill_bits),
	    cmocka_unit_test(test_gsm7_national), cmocka_unit_test(test_gsm7_lang_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
