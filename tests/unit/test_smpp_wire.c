/* SMPP text decoding shared by both sides (drivers/smpp/wire.c): national
 * language shift tables from the UDH (IE 0x24 single shift, 0x25 locking
 * shift, 3GPP TS 23.038 Annex A) and what data_coding 0 means
 * (data_coding_0: gsm7, latin1, ascii). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smpp/wire.h"

static char *decode(enum smpp_alphabet a, const uint8_t *udh, size_t ul, const uint8_t *d, size_t n, char **enc)
{
	int lock, shift;
	smpp_wire_langs(udh, ul, &lock, &shift);
	char *body = NULL, *payload = NULL;
	smpp_wire_text_lang(a, lock, shift, d, n, &body, &payload, enc);
	assert_null(payload);
	return body;
}

static void shift_tables_from_udh(void **state)
{
	(void)state;
	char *enc = NULL;
	/* Turkish single shift (IE 0x24 = 1): ESC 0x47 Ğ, ESC 0x67 ğ, ESC 0x53 Ş,
	 * ESC 0x73 ş, ESC 0x69 ı. */
	static const uint8_t single[] = {0x03, 0x24, 0x01, 0x01};
	static const uint8_t t1[] = {0x1B, 0x47, 0x1B, 0x67, 0x1B, 0x53, 0x1B, 0x73, 0x1B, 0x69};
	char *b = decode(SMPP_ALPHA_GSM, single, sizeof single, t1, sizeof t1, &enc);
	assert_string_equal(b, "\xC4\x9E\xC4\x9F\xC5\x9E\xC5\x9F\xC4\xB1");
	assert_string_equal(enc, "gsm7");
	free(b);
	free(enc);
	/* Without the IE the same septets are the default extension table's
	 * (no entry: the default character at that code). */
	b = decode(SMPP_ALPHA_GSM, NULL, 0, t1, sizeof t1, &enc);
	assert_string_equal(b, "GgSsi");
	free(b);
	free(enc);
	/* Turkish locking shift (IE 0x25 = 1): 0x07 ı, 0x0B Ğ, 0x40 İ. */
	static const uint8_t locking[] = {0x03, 0x25, 0x01, 0x01};
	static const uint8_t t2[] = {0x07, 0x0B, 0x40, 0x41};
	b = decode(SMPP_ALPHA_GSM, locking, sizeof locking, t2, sizeof t2, &enc);
	assert_string_equal(b, "\xC4\xB1\xC4\x9E\xC4\xB0"
	                       "A");
	free(b);
	free(enc);
	/* Both IEs in one header, after a concatenation IE. */
	static const uint8_t both[] = {0x0B, 0x00, 0x03, 0x7A, 0x02, 0x01, 0x24, 0x01, 0x01, 0x25, 0x01, 0x01};
	static const uint8_t t3[] = {0x07, 0x1B, 0x73};
	b = decode(SMPP_ALPHA_GSM, both, sizeof both, t3, sizeof t3, &enc);
	assert_string_equal(b, "\xC4\xB1\xC5\x9F");
	free(b);
	free(enc);
	/* Spanish has no locking-shift table: the default alphabet stays; an
	 * unknown language id is ignored. */
	int lock = 9, shift = 9;
	static const uint8_t spanish_lock[] = {0x03, 0x25, 0x01, 0x02};
	smpp_wire_langs(spanish_lock, sizeof spanish_lock, &lock, &shift);
	assert_int_equal(lock, 0);
	assert_int_equal(shift, 0);
	static const uint8_t unknown[] = {0x03, 0x24, 0x01, 0x63};
	smpp_wire_langs(unknown, sizeof unknown, &lock, &shift);
	assert_int_equal(shift, 0);
	/* A broken header: no tables, no crash. */
	static const uint8_t broken[] = {0x09, 0x24, 0x01};
	smpp_wire_langs(broken, sizeof broken, &lock, &shift);
	assert_int_equal(lock + shift, 0);
}

static void data_coding_0(void **state)
{
	(void)state;
	assert_int_equal(smpp_wire_alphabet_dc0(0, NULL), SMPP_ALPHA_GSM);
	assert_int_equal(smpp_wire_alphabet_dc0(0, "gsm7"), SMPP_ALPHA_GSM);
	assert_int_equal(smpp_wire_alphabet_dc0(0, "latin1"), SMPP_ALPHA_LATIN1);
	assert_int_equal(smpp_wire_alphabet_dc0(0, "ascii"), SMPP_ALPHA_ASCII);
	assert_int_equal(smpp_wire_alphabet_dc0(8, "latin1"), SMPP_ALPHA_UCS2);
	assert_int_equal(smpp_wire_alphabet_dc0(0xF0, "latin1"), SMPP_ALPHA_GSM); /* only 0 is re-read */
	/* "@" is septet 0x00 in GSM and "$" 0x02; read as Latin-1 0x24 is "$"
	 * and 0x40 "@". */
	static const uint8_t t[] = {0x24, 0x40};
	char *enc = NULL;
	char *b = decode(smpp_wire_alphabet_dc0(0, "latin1"), NULL, 0, t, sizeof t, &enc);
	assert_string_equal(b, "$@");
	assert_string_equal(enc, "latin1");
	free(b);
	free(enc);
	b = decode(smpp_wire_alphabet_dc0(0, "gsm7"), NULL, 0, t, sizeof t, &enc);
	assert_string_equal(b, "\xC2\xA4\xC2\xA1");
	free(b);
	free(enc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(shift_tables_from_udh),
	    cmocka_unit_test(data_coding_0),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
