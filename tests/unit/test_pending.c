/*
 * test_pending: the token table of server-side drivers (src/pending.c):
 * tokens are unique and never 0, each answer finds its data exactly once,
 * an unknown or answered token finds nothing, the table grows and frees
 * what is left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>

#include "pending.h"

static int freed;
static void count_free(void *p)
{
	freed++;
	free(p);
}

static void test_pending(void **state)
{
	(void)state;
	struct pending *t = pending_new();
	enum { N = 5000 };
	static uint64_t tokens[N];
	static int values[N];
	for (int i = 0; i < N; i++) {
		values[i] = i;
		tokens[i] = pending_add(t, &values[i]);
		assert_true(tokens[i] != 0);
		if (i)
			assert_true(tokens[i] != tokens[i - 1]);
	}
	assert_int_equal(pending_count(t), N);
	for (int i = 0; i < N; i += 2)
		assert_ptr_equal(pending_take(t, tokens[i]), &values[i]);
	for (int i = 0; i < N; i += 2)
		assert_null(pending_take(t, tokens[i])); /* answered once */
	assert_null(pending_take(t, 0));
	assert_null(pending_take(t, tokens[N - 1] + 1));
	assert_int_equal(pending_count(t), N / 2);
	for (int i = 1; i < N; i += 2)
		assert_ptr_equal(pending_take(t, tokens[i]), &values[i]);
	assert_int_equal(pending_count(t), 0);
	pending_add(t, malloc(8));
	pending_add(t, malloc(8));
	freed = 0;
	pending_free(t, count_free);
	assert_int_equal(freed, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_pending)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
