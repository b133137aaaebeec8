/*
 * test_tokens: the table of pending core calls of the SMPP, UCP and link
 * drivers (src/net/tokens.c):
 * tokens are unique and never 0, each answer finds its data exactly once,
 * an unknown or answered token finds nothing, and clearing frees what is
 * left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>

#include "net/tokens.h"

static int freed;
static void count_free(void *p)
{
	freed++;
	free(p);
}

static void test_tokens(void **state)
{
	(void)state;
	static struct tokens table;
	struct tokens *t = &table;
	enum { N = 5000 };
	static uint64_t tokens[N];
	static int values[N];
	for (int i = 0; i < N; i++) {
		values[i] = i;
		tokens[i] = tokens_add(t, &values[i]);
		assert_true(tokens[i] != 0);
		if (i)
			assert_true(tokens[i] != tokens[i - 1]);
	}
	assert_int_equal(t->n, N);
	for (int i = 0; i < N; i += 2)
		assert_ptr_equal(tokens_take(t, tokens[i]), &values[i]);
	for (int i = 0; i < N; i += 2)
		assert_null(tokens_take(t, tokens[i])); /* answered once */
	assert_null(tokens_take(t, 0));
	assert_null(tokens_take(t, tokens[N - 1] + 1));
	assert_int_equal(t->n, N / 2);
	for (int i = 1; i < N; i += 2)
		assert_ptr_equal(tokens_take(t, tokens[i]), &values[i]);
	assert_int_equal(t->n, 0);
	tokens_add(t, malloc(8));
	tokens_add(t, malloc(8));
	freed = 0;
	tokens_clear(t, count_free);
	assert_int_equal(freed, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_tokens)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
