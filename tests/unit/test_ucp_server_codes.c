/* ucp-server: the EC of a NACK to a submission the core refused
 * (ucp_nack_of_submit, drivers/ucp/nack.c), by the field refused, with the
 * names of the EMI-UCP 4.x specification's error codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "driver.h"
#include "ucp/nack.h"

static void by_field(void **state)
{
	(void)state;
	static const struct {
		struct submit_result res;
		unsigned ec;
		const char *name; /* the spec's */
	} cases[] = {
	    {{.message_id = 5}, 0, NULL},
	    {{.message_id = 0}, 4, "Operation not allowed"},
	    {{.error = SUBMIT_THROTTLED}, 4, "Operation not allowed"},
	    {{.error = SUBMIT_TEMPORARY}, 4, "Operation not allowed"},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_RECIPIENT}, 6, "AdC invalid"},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_SENDER, .text = "outbox.recipient"}, 2, "Syntax error"},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_BODY}, 24, "Message too long"},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_PAYLOAD}, 24, "Message too long"},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_PARTS}, 24, "Message too long"},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_DATA_CODING}, 23, "Message type not supported by system"},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_VALIDITY}, 22, "Time period not valid"},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_SCHEDULE}, 18, "Deferred delivery not allowed"},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_ACCOUNT}, 7, "Authentication failure"},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_CONNECTION}, 4, "Operation not allowed"},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_KEY, .taken_id = 3}, 2, "Syntax error"},
	    {{.error = SUBMIT_INVALID, .text = "outbox.recipient: must be"}, 2, "Syntax error"},
	    {{.error = SUBMIT_INVALID, .field = (enum submit_field)99}, 2, "Syntax error"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		unsigned ec = ucp_nack_of_submit(&cases[i].res);
		if (ec != cases[i].ec)
			fail_msg("case %zu: got EC %02u, want %02u", i, ec, cases[i].ec);
		if (cases[i].name)
			assert_string_equal(ucp_nack_name(ec), cases[i].name);
	}
}

/* Every field has an EC the spec names, and a refused message is not
 * retried by a client that follows our own table, except the account's
 * (07: after a new login). */
static void every_field(void **state)
{
	(void)state;
	for (int f = SUBMIT_FIELD_NONE; f <= SUBMIT_FIELD_KEY; f++) {
		struct submit_result r = {.error = SUBMIT_INVALID, .field = (enum submit_field)f};
		unsigned ec = ucp_nack_of_submit(&r);
		assert_non_null(ucp_nack_name(ec));
		if (f != SUBMIT_FIELD_ACCOUNT && f != SUBMIT_FIELD_CONNECTION)
			assert_int_equal(ucp_nack_class(ec), UCP_NACK_REJECT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(by_field),
	    cmocka_unit_test(every_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
