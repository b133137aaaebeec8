/*
 * test_utf8: utf8_sanitize, the gate every string from a peer passes before
 * it reaches the database (issue: one non-UTF-8 byte in an SMSC's message id
 * once failed a whole batch of results).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "codec/utf8.h"

static void expect(const char *in, unsigned flags, const char *want)
{
	char *got = utf8_sanitize(in, flags);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(utf8_validate(got, strlen(got), NULL), 0);
	free(got);
}

static void test_valid_text_unchanged(void **state)
{
	expect("", 0, "");
	expect("abc123", 0, "abc123");
	expect("Gr\xC3\xBC\xC3\x9F"
	       "e \xE2\x82\xAC \xF0\x9F\x98\x80",
	       0,
	       "Gr\xC3\xBC\xC3\x9F"
	       "e \xE2\x82\xAC \xF0\x9F\x98\x80");
	assert_null(utf8_sanitize(NULL, 0));
}

static void test_invalid_bytes_escaped(void **state)
{
	expect("id\xFF", 0, "id\\xFF");
	expect("\xC3", 0, "\\xC3"); /* truncated sequence */
	expect("a\xC0\xAF"
	       "b",
	       0, "a\\xC0\\xAFb");                    /* overlong '/' */
	expect("\xED\xA0\x80", 0, "\\xED\\xA0\\x80"); /* a surrogate */
	expect("\x80\x80"
	       "ok",
	       0, "\\x80\\x80ok"); /* stray continuations */
	expect("\xE2\x82"
	       "A",
	       0, "\\xE2\\x82A"); /* cut short by ASCII */
}

static void test_control_characters(void **state)
{
	expect("a\x01"
	       "b\x7F"
	       "c\xC2\x85"
	       "d",
	       0, "abcd"); /* C0, DEL, C1 (NEL) */
	expect("line1\r\nline2\tend", 0, "line1line2end");
	expect("line1\r\nline2\tend", UTF8_KEEP_NEWLINES, "line1\r\nline2\tend");
	expect("id1\x1fid2\x1f", UTF8_KEEP_US, "id1\x1fid2\x1f");
	expect("id1\x1fid2", 0, "id1id2");
	expect("id1\x1f\x02\xFE", UTF8_KEEP_US, "id1\x1f\\xFE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_text_unchanged),
	    cmocka_unit_test(test_invalid_bytes_escaped),
	    cmocka_unit_test(test_control_characters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
