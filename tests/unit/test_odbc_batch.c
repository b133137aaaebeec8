/* odbc batch: the JSON parameter of the batched MariaDB write-backs holds
 * each row once, as the per-row statements would leave it (the first of
 * TAKEN and SENT, the last of STATUS), leaves NULLs out, escapes texts,
 * refuses keys that are no integers and texts that are no UTF-8; the
 * batched statements exist for exactly the three kinds and name the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "odbc/batch.h"

static struct odbc_op op(enum odbc_op_kind kind, const char *key, const char *status, int64_t id, const char *error)
{
	return (struct odbc_op){
	    .kind = kind, .key = (char *)key, .status = (char *)status, .smspool_id = id, .error = (char *)error};
}

static void rows_once_nulls_left_out(void **state)
{
	(void)state;
	struct odbc_op ops[] = {
	    op(ODBC_OP_STATUS, "7", "delivered", 70, NULL),
	    op(ODBC_OP_STATUS, "8", "failed", 0, "say \"no\"\n"),
	    op(ODBC_OP_STATUS, "7", "undelivered", 71, "late"),
	};
	char *j = odbc_batch_json(ops, 3);
	assert_non_null(j);
	assert_string_equal(j, "[{\"k\":8,\"s\":\"failed\",\"e\":\"say \\\"no\\\"\\n\"},"
	                       "{\"k\":7,\"i\":71,\"s\":\"undelivered\",\"e\":\"late\"}]");
	free(j);
	for (size_t i = 0; i < 3; i++)
		ops[i].kind = ODBC_OP_TAKEN;
	j = odbc_batch_json(ops, 3);
	assert_string_equal(
	    j, "[{\"k\":7,\"i\":70,\"s\":\"delivered\"},{\"k\":8,\"s\":\"failed\",\"e\":\"say \\\"no\\\"\\n\"}]");
	free(j);
}

static void refused_inputs(void **state)
{
	(void)state;
	const char *bad_keys[] = {"", "12a", "a", " 1", "99999999999999999999", NULL};
	for (size_t i = 0; bad_keys[i]; i++) {
		struct odbc_op o = op(ODBC_OP_SENT, bad_keys[i], "sent", 1, NULL);
		char *j = odbc_batch_json(&o, 1);
		if (j)
			fail_msg("key \"%s\" accepted: %s", bad_keys[i], j);
	}
	struct odbc_op o = op(ODBC_OP_SENT, NULL, "sent", 1, NULL);
	assert_null(odbc_batch_json(&o, 1));
	o = op(ODBC_OP_STATUS, "-3", "failed", 1, "\xff\xfe");
	assert_null(odbc_batch_json(&o, 1));
	o.error = "caf\xc3\xa9";
	char *j = odbc_batch_json(&o, 1);
	assert_string_equal(j, "[{\"k\":-3,\"i\":1,\"s\":\"failed\",\"e\":\"caf\xc3\xa9\"}]");
	free(j);
}

static void statements(void **state)
{
	(void)state;
	enum odbc_op_kind kinds[] = {ODBC_OP_TAKEN, ODBC_OP_STATUS, ODBC_OP_SENT};
	for (size_t i = 0; i < 3; i++) {
		char *s = odbc_batch_sql("app.sms_outgoing", kinds[i]);
		assert_non_null(s);
		assert_non_null(strstr(s, "UPDATE app.sms_outgoing t JOIN JSON_TABLE(?, '$[*]'"));
		assert_non_null(strstr(s, "ON t.id = j.k"));
		assert_null(strchr(strchr(s, '?') + 1, '?')); /* one parameter */
		free(s);
	}
	char *s = odbc_batch_sql("o", ODBC_OP_TAKEN);
	assert_non_null(strstr(s, "WHERE t.status IS NULL"));
	free(s);
	s = odbc_batch_sql("o", ODBC_OP_SENT);
	assert_non_null(strstr(s, "WHERE t.status = 'queued'"));
	assert_null(strstr(s, "t.error"));
	free(s);
	assert_null(odbc_batch_sql("o", ODBC_OP_INSERT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rows_once_nulls_left_out),
	    cmocka_unit_test(refused_inputs),
	    cmocka_unit_test(statements),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
