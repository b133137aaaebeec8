/* Router: rule order, failover, weighted sharing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "router.h"

static const char *up_list[8];

static bool usable(const char *name, void *ctx)
{
	(void)ctx;
	for (int i = 0; up_list[i]; i++)
		if (strcmp(up_list[i], name) == 0)
			return true;
	return false;
}

static struct route_cand cands[] = {
    {"a", 10, 1},
    {"b", 10, 3},
    {"c", 20, 1},
    {"d", 30, 0},
};

static struct msg make(int n)
{
	struct msg m = {0};
	m.route = cands;
	m.nroute = n;
	return m;
}

static void first_rule_wins(void **state)
{
	(void)state;
	struct msg m = make(3);
	up_list[0] = "a", up_list[1] = "c", up_list[2] = NULL;
	for (uint32_t r = 0; r < 50; r++)
		assert_int_equal(router_pick(&m, usable, NULL, r * 7919), 0);
}

static void failover_to_next_position(void **state)
{
	(void)state;
	struct msg m = make(3);
	up_list[0] = "c", up_list[1] = NULL;
	assert_int_equal(router_pick(&m, usable, NULL, 12345), 2);
}

static void nothing_up(void **state)
{
	(void)state;
	struct msg m = make(3);
	up_list[0] = "zzz", up_list[1] = NULL;
	assert_int_equal(router_pick(&m, usable, NULL, 1), -1);
	struct msg empty = make(0);
	assert_int_equal(router_pick(&empty, usable, NULL, 1), -1);
}

static void weight_zero_never_chosen(void **state)
{
	(void)state;
	struct msg m = make(4);
	up_list[0] = "d", up_list[1] = NULL;
	assert_int_equal(router_pick(&m, usable, NULL, 99), -1);
}

static void weights_share_load(void **state)
{
	(void)state;
	struct msg m = make(3);
	up_list[0] = "a", up_list[1] = "b", up_list[2] = NULL;
	int count[2] = {0, 0};
	for (uint32_t r = 0; r < 4000; r++)
		count[router_pick(&m, usable, NULL, r)]++;
	/* weights 1:3 over a uniform sweep of r give exactly 1000:3000 */
	assert_int_equal(count[0], 1000);
	assert_int_equal(count[1], 3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(first_rule_wins),    cmocka_unit_test(failover_to_next_position),
	    cmocka_unit_test(nothing_up),         cmocka_unit_test(weight_zero_never_chosen),
	    cmocka_unit_test(weights_share_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
