/*
 * test_submits: which parts of a message an SMSC client sends again
 * (submits_held, src/net/submits.c): the ids an earlier attempt got
 * accepted are held only on the connection that gave them, for the same
 * number of parts, and never all of them (then the message goes whole).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>

#include "msg.h"
#include "net/submits.h"

static int held(const char *ids, const char *conn, const char *on, int nparts, char **out)
{
	struct msg m = {.held_ids = (char *)ids, .held_conn = (char *)conn};
	for (int i = 0; i < nparts; i++)
		out[i] = NULL;
	return submits_held(&m, on, nparts, out);
}

static void free_ids(char **ids, int n)
{
	for (int i = 0; i < n; i++) {
		free(ids[i]);
		ids[i] = NULL;
	}
}

static void test_held(void **state)
{
	(void)state;
	char *ids[4];
	assert_int_equal(held("a1\x1f\x1f"
	                      "a3",
	                      "smsc", "smsc", 3, ids),
	                 2);
	assert_string_equal(ids[0], "a1");
	assert_null(ids[1]);
	assert_string_equal(ids[2], "a3");
	free_ids(ids, 3);

	assert_int_equal(held("\x1f"
	                      "b2\x1f",
	                      "smsc", "smsc", 3, ids),
	                 1);
	assert_null(ids[0]);
	assert_string_equal(ids[1], "b2");
	assert_null(ids[2]);
	free_ids(ids, 3);

	/* another connection: its ids mean nothing here */
	assert_int_equal(held("a1\x1f\x1f"
	                      "a3",
	                      "smsc", "other", 3, ids),
	                 0);
	assert_null(ids[0]);
	/* another split (the text re-cut differently): everything again */
	assert_int_equal(held("a1\x1f\x1f"
	                      "a3",
	                      "smsc", "smsc", 4, ids),
	                 0);
	assert_int_equal(held("a1\x1f\x1f"
	                      "a3",
	                      "smsc", "smsc", 2, ids),
	                 0);
	/* every part held: the message goes whole, nothing is kept */
	assert_int_equal(held("a1\x1f"
	                      "a2\x1f"
	                      "a3",
	                      "smsc", "smsc", 3, ids),
	                 0);
	for (int i = 0; i < 3; i++)
		assert_null(ids[i]);
	/* nothing held */
	assert_int_equal(held(NULL, NULL, "smsc", 3, ids), 0);
	assert_int_equal(held("a1\x1f", NULL, "smsc", 2, ids), 0);
	assert_int_equal(held("\x1f\x1f", "smsc", "smsc", 3, ids), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_held)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
