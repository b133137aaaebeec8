/*
 * Delivery receipt text tests (SMPP v3.4 Appendix B): the standard layout,
 * the variations SMSCs are known to send, stat mapping, id comparison and
 * formatting.  Expected values are written out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "smpp/receipt.h"

static struct smpp_receipt parse_ok(const char *text)
{
	struct smpp_receipt r;
	int rc = smpp_receipt_parse(text, strlen(text), &r);
	if (rc)
		fail_msg("parse failed (%d): %s", rc, text);
	return r;
}

static void test_standard(void **state)
{
	struct smpp_receipt r = parse_ok("id:a1b2c3d4 sub:001 dlvrd:001 submit date:2406011200 done date:2406011201 "
	                                 "stat:DELIVRD err:000 text:Hello world");
	assert_true(r.has_id && r.has_sub && r.has_dlvrd && r.has_submit_date && r.has_done_date && r.has_stat &&
	            r.has_err && r.has_text);
	assert_string_equal(r.id, "a1b2c3d4");
	assert_string_equal(r.sub, "001");
	assert_string_equal(r.dlvrd, "001");
	assert_string_equal(r.submit_date, "2406011200");
	assert_string_equal(r.done_date, "2406011201");
	assert_string_equal(r.stat, "DELIVRD");
	assert_string_equal(r.err, "000");
	assert_string_equal(r.text, "Hello world");
	assert_int_equal(r.state, SMPP_RECEIPT_DELIVERED);
}

static void test_uppercase_and_order(void **state)
{
	struct smpp_receipt r = parse_ok("ID:7220 STAT:UNDELIV Sub:001 DLVRD:000 Submit Date:2406011200 "
	                                 "DONE DATE:2406031200 ERR:001 Text:");
	assert_string_equal(r.id, "7220");
	assert_string_equal(r.stat, "UNDELIV");
	assert_string_equal(r.submit_date, "2406011200");
	assert_string_equal(r.done_date, "2406031200");
	assert_string_equal(r.err, "001");
	assert_true(r.has_text);
	assert_string_equal(r.text, "");
	assert_int_equal(r.state, SMPP_RECEIPT_UNDELIVERED);
}

static void test_missing_fields(void **state)
{
	/* No text, no sub/dlvrd, extra spaces, underscore date keys, a
	 * 12-digit date and an unknown vendor word. */
	struct smpp_receipt r =
	    parse_ok("id:0A1B2C3D  submit_date:240601120000 done_date:2406011201 stat:EXPIRED err:0 vendor:xyz");
	assert_string_equal(r.id, "0A1B2C3D");
	assert_false(r.has_sub);
	assert_false(r.has_dlvrd);
	assert_false(r.has_text);
	assert_string_equal(r.submit_date, "240601120000");
	assert_string_equal(r.err, "0");
	assert_int_equal(r.state, SMPP_RECEIPT_EXPIRED);

	/* No stat at all: state unknown. */
	r = parse_ok("id:1");
	assert_false(r.has_stat);
	assert_int_equal(r.state, SMPP_RECEIPT_UNKNOWN);
}

static void test_text_runs_to_end(void **state)
{
	/* text may contain spaces, colons and even key-like words; a trailing
	 * NUL (C-string short_message) is not part of it. */
	const char t[] = "id:9 stat:DELIVRD text:stat:REJECTD at 12:00\0junk";
	struct smpp_receipt r;
	assert_int_equal(smpp_receipt_parse(t, sizeof t - 1, &r), 0);
	assert_string_equal(r.text, "stat:REJECTD at 12:00");
	assert_int_equal(r.state, SMPP_RECEIPT_DELIVERED);
}

static void test_rejects(void **state)
{
	struct smpp_receipt r;
	/* Ordinary MO text, empty input: not receipts. */
	assert_int_equal(smpp_receipt_parse("Hello there", 11, &r), -EINVAL);
	assert_int_equal(smpp_receipt_parse("", 0, &r), -EINVAL);
	/* An id longer than a message_id can be. */
	char big[128] = "id:";
	memset(big + 3, '7', 70);
	assert_int_equal(smpp_receipt_parse(big, strlen(big), &r), -EINVAL);
	/* A stat longer than its buffer. */
	const char *s = "id:1 stat:DELIVEREDDELIVEREDDELIVERED";
	assert_int_equal(smpp_receipt_parse(s, strlen(s), &r), -EINVAL);
	/* len is honoured: the id is cut at 4 octets. */
	r = (struct smpp_receipt){0};
	assert_int_equal(smpp_receipt_parse("id:12345", 4, &r), 0);
	assert_string_equal(r.id, "1");
}

static void test_stat_mapping(void **state)
{
	static const struct {
		const char *stat;
		enum smpp_receipt_state state;
		const char *name;
	} cases[] = {
	    {"DELIVRD", SMPP_RECEIPT_DELIVERED, "delivered"},
	    {"UNDELIV", SMPP_RECEIPT_UNDELIVERED, "undelivered"},
	    {"EXPIRED", SMPP_RECEIPT_EXPIRED, "expired"},
	    {"REJECTD", SMPP_RECEIPT_REJECTED, "rejected"},
	    {"DELETED", SMPP_RECEIPT_DELETED, "deleted"},
	    {"ACCEPTD", SMPP_RECEIPT_INTERMEDIATE, "intermediate"},
	    {"ENROUTE", SMPP_RECEIPT_INTERMEDIATE, "intermediate"},
	    {"UNKNOWN", SMPP_RECEIPT_UNKNOWN, "unknown"},
	    {"delivrd", SMPP_RECEIPT_DELIVERED, "delivered"},
	    {"DELIVERED", SMPP_RECEIPT_DELIVERED, "delivered"},
	    {"UNDELIVERABLE", SMPP_RECEIPT_UNDELIVERED, "undelivered"},
	    {"BOGUS", SMPP_RECEIPT_UNKNOWN, "unknown"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(smpp_receipt_state_from_stat(cases[i].stat), cases[i].state);
		assert_string_equal(smpp_receipt_state_name(cases[i].state), cases[i].name);
	}
	assert_false(smpp_receipt_state_is_final(SMPP_RECEIPT_INTERMEDIATE));
	assert_true(smpp_receipt_state_is_final(SMPP_RECEIPT_DELIVERED));
	assert_true(smpp_receipt_state_is_final(SMPP_RECEIPT_DELETED));
	/* message_state values, v3.4 5.2.28. */
	assert_int_equal(smpp_receipt_state_from_message_state(1), SMPP_RECEIPT_INTERMEDIATE);
	assert_int_equal(smpp_receipt_state_from_message_state(2), SMPP_RECEIPT_DELIVERED);
	assert_int_equal(smpp_receipt_state_from_message_state(3), SMPP_RECEIPT_EXPIRED);
	assert_int_equal(smpp_receipt_state_from_message_state(4), SMPP_RECEIPT_DELETED);
	assert_int_equal(smpp_receipt_state_from_message_state(5), SMPP_RECEIPT_UNDELIVERED);
	assert_int_equal(smpp_receipt_state_from_message_state(6), SMPP_RECEIPT_INTERMEDIATE);
	assert_int_equal(smpp_receipt_state_from_message_state(7), SMPP_RECEIPT_UNKNOWN);
	assert_int_equal(smpp_receipt_state_from_message_state(8), SMPP_RECEIPT_REJECTED);
}

static void test_id_equal(void **state)
{
	/* smpp-027: text id 7220 (decimal) is receipted_message_id 1C34. */
	assert_true(smpp_receipt_id_equal("7220", "1C34"));
	assert_true(smpp_receipt_id_equal("1c34", "7220"));
	assert_true(smpp_receipt_id_equal("a1b2c3d4", "A1B2C3D4"));
	assert_true(smpp_receipt_id_equal("0A1B2C3D", "169552957"));
	assert_false(smpp_receipt_id_equal("7221", "1C34"));
	assert_false(smpp_receipt_id_equal("abc-1", "abc-2"));
	assert_false(smpp_receipt_id_equal("", "0"));
	/* Too big for 64 bits: only textual equality. */
	assert_false(smpp_receipt_id_equal("123456789012345678901234567890", "FFFFFFFFFFFFFFFFFFFFFFFFF"));
}

static void test_format(void **state)
{
	struct smpp_receipt r = {0};
	char out[256];
	r.has_id = r.has_submit_date = r.has_done_date = r.has_stat = r.has_text = true;
	strcpy(r.id, "a1b2c3d4");
	strcpy(r.submit_date, "2406011200");
	strcpy(r.done_date, "2406011201");
	strcpy(r.stat, "DELIVRD");
	strcpy(r.text, "Hello world, this is longer than twenty");
	r.state = SMPP_RECEIPT_DELIVERED;
	int n = smpp_receipt_format(&r, out, sizeof out);
	const char *want = "id:a1b2c3d4 sub:001 dlvrd:001 submit date:2406011200 done date:2406011201 stat:DELIVRD "
	                   "err:000 text:Hello world, this is";
	assert_string_equal(out, want);
	assert_int_equal(n, (int)strlen(want));
	/* The formatted text parses back to the same fields. */
	struct smpp_receipt back;
	assert_int_equal(smpp_receipt_parse(out, (size_t)n, &back), 0);
	assert_string_equal(back.id, "a1b2c3d4");
	assert_string_equal(back.text, "Hello world, this is");
	assert_int_equal(back.state, SMPP_RECEIPT_DELIVERED);
	assert_int_equal(smpp_receipt_format(&r, out, 20), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_standard),       cmocka_unit_test(test_uppercase_and_order),
	    cmocka_unit_test(test_missing_fields), cmocka_unit_test(test_text_runs_to_end),
	    cmocka_unit_test(test_rejects),        cmocka_unit_test(test_stat_mapping),
	    cmocka_unit_test(test_id_equal),       cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
