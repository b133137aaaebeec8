/* src/submit_refusal.c: what the database said of a refused submission
 * (an answer row of smspool.submit(), or the error fields of a statement
 * that failed) as a struct submit_result.  The rows are those the pgTAP
 * test tests/sql/42_submit_refusal.sql checks smspool.submit() returns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "submit_refusal.h"

static void columns(void **state)
{
	(void)state;
	static const struct {
		const char *column;
		enum submit_field want;
	} cases[] = {
	    {"recipient", SUBMIT_FIELD_RECIPIENT},
	    {"sender", SUBMIT_FIELD_SENDER},
	    {"body", SUBMIT_FIELD_BODY},
	    {"payload", SUBMIT_FIELD_PAYLOAD},
	    {"udh", SUBMIT_FIELD_UDH},
	    {"encoding", SUBMIT_FIELD_DATA_CODING},
	    {"valid_until", SUBMIT_FIELD_VALIDITY},
	    {"send_after", SUBMIT_FIELD_SCHEDULE},
	    {"priority", SUBMIT_FIELD_PRIORITY},
	    {"msg_class", SUBMIT_FIELD_MSG_CLASS},
	    {"report_on", SUBMIT_FIELD_REPORT},
	    {"client_parts", SUBMIT_FIELD_PARTS},
	    {"connection", SUBMIT_FIELD_CONNECTION},
	    {"account", SUBMIT_FIELD_ACCOUNT},
	    {"client_ref", SUBMIT_FIELD_KEY},
	    {"idempotency_key", SUBMIT_FIELD_KEY},
	    {"recipients", SUBMIT_FIELD_NONE},
	    {"", SUBMIT_FIELD_NONE},
	    {NULL, SUBMIT_FIELD_NONE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		if (submit_field_of_column(cases[i].column) != cases[i].want)
			fail_msg("column %s: got %d, want %d", cases[i].column ? cases[i].column : "NULL",
			         (int)submit_field_of_column(cases[i].column), (int)cases[i].want);
	assert_string_equal(submit_field_column(SUBMIT_FIELD_VALIDITY), "valid_until");
	assert_string_equal(submit_field_column(SUBMIT_FIELD_NONE), "");
}

static void rows(void **state)
{
	(void)state;
	/* id, error_class, error, error_column, error_state, taken_id as
	 * smspool.submit() returns them, and what the driver is told. */
	static const struct {
		const char *id, *cls, *text, *column, *sqlstate, *taken;
		struct submit_result want;
	} cases[] = {
	    {"42", NULL, NULL, NULL, NULL, NULL, {.message_id = 42}},
	    {"7", NULL, NULL, NULL, NULL, NULL, {.message_id = 7}}, /* a key used before: its id */
	    {NULL,
	     "invalid",
	     "outbox.recipient: must be 1 to 20 digits",
	     "recipient",
	     "23514",
	     NULL,
	     {.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_RECIPIENT}},
	    /* the text is not read: a sender refused whose text names the recipient */
	    {NULL,
	     "invalid",
	     "outbox.recipient: (got \"recipient\")",
	     "sender",
	     "23514",
	     NULL,
	     {.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_SENDER}},
	    {NULL,
	     "invalid",
	     "outbox.body: the message needs 12 parts",
	     "body",
	     "23514",
	     NULL,
	     {.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_BODY}},
	    {NULL,
	     "invalid",
	     "outbox.body: at most 40000 characters",
	     "body",
	     "23514",
	     NULL,
	     {.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_BODY}},
	    {NULL,
	     "invalid",
	     "outbox.valid_until: must not be before send_after",
	     "valid_until",
	     "23514",
	     NULL,
	     {.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_VALIDITY}},
	    {NULL,
	     "forbidden",
	     "outbox.account: account \"x\" is disabled",
	     "account",
	     "28000",
	     NULL,
	     {.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_ACCOUNT}},
	    {NULL,
	     "forbidden",
	     "no column",
	     NULL,
	     NULL,
	     NULL,
	     {.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_ACCOUNT}},
	    {NULL,
	     "invalid",
	     "outbox.client_ref: already taken as message 99",
	     "client_ref",
	     "23505",
	     "99",
	     {.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_KEY, .taken_id = 99}},
	    {NULL, "invalid", "something new", NULL, "23514", NULL, {.error = SUBMIT_INVALID}},
	    {NULL, "throttled", "over", NULL, NULL, NULL, {.error = SUBMIT_THROTTLED}},
	    {NULL, "temporary", "later", NULL, NULL, NULL, {.error = SUBMIT_TEMPORARY}},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct submit_result r;
		submit_refusal_of_row(&r, cases[i].id, cases[i].cls, cases[i].text, cases[i].column, cases[i].sqlstate,
		                      cases[i].taken);
		if (r.error != cases[i].want.error || r.field != cases[i].want.field ||
		    r.message_id != cases[i].want.message_id || r.taken_id != cases[i].want.taken_id)
			fail_msg("row %zu: got error %d field %d id %lld taken %lld", i, (int)r.error, (int)r.field,
			         (long long)r.message_id, (long long)r.taken_id);
		if (cases[i].cls)
			assert_ptr_equal(r.text, cases[i].text); /* borrowed, for the log */
		else
			assert_null(r.text);
	}
}

static void errors(void **state)
{
	(void)state;
	struct submit_result r;
	submit_refusal_of_error(&r, "23514", "recipient", NULL, "outbox.recipient: must be");
	assert_int_equal(r.error, SUBMIT_INVALID);
	assert_int_equal(r.field, SUBMIT_FIELD_RECIPIENT);
	submit_refusal_of_error(&r, "23505", NULL, "outbox.idempotency_key: already used", "duplicate key");
	assert_int_equal(r.error, SUBMIT_INVALID);
	assert_int_equal(r.field, SUBMIT_FIELD_KEY);
	submit_refusal_of_error(&r, "22003", NULL, NULL, "smallint out of range");
	assert_int_equal(r.error, SUBMIT_INVALID);
	assert_int_equal(r.field, SUBMIT_FIELD_NONE);
	/* not the row's fault: try again later, whatever the text says */
	static const char *const later[] = {"40001", "40P01", "57014", "08006", "53300", "42501", "XX000", NULL};
	for (size_t i = 0; i < sizeof later / sizeof *later; i++) {
		submit_refusal_of_error(&r, later[i], "recipient", NULL, "outbox.recipient: must be");
		assert_int_equal(r.error, SUBMIT_TEMPORARY);
		assert_int_equal(r.field, SUBMIT_FIELD_NONE);
	}
	/* a real PGresult without error fields (no server: libpq made it) */
	PGresult *pr = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR);
	assert_non_null(pr);
	submit_refusal_of_pg(&r, pr);
	assert_int_equal(r.error, SUBMIT_TEMPORARY);
	PQclear(pr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(columns),
	    cmocka_unit_test(rows),
	    cmocka_unit_test(errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
