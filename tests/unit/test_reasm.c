/*
 * test_reasm: reassembly of concatenated parts — any order, duplicates,
 * separate keys, timeout, eviction of the oldest set, flush, bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "codec/reasm.h"

static int add(struct reasm *r, const char *conn, const char *orig, unsigned ref, unsigned total, unsigned seq,
               const char *data, uint64_t now, enum reasm_add_result *res)
{
	struct reasm_part p = {.conn_id = conn,
	                       .originator = orig,
	                       .ref = ref,
	                       .total = total,
	                       .seq = seq,
	                       .data = (const uint8_t *)data,
	                       .len = strlen(data)};
	return reasm_add(r, &p, now, res);
}

static void expect_msg(struct reasm_msg *m, enum reasm_status st, const char *data, unsigned received)
{
	assert_non_null(m);
	assert_int_equal(m->status, st);
	assert_int_equal(m->received, received);
	assert_int_equal(m->len, strlen(data));
	assert_memory_equal(m->data, data, m->len);
}

static void test_reasm_out_of_order(void **state)
{
	struct reasm *r = reasm_new(8, 60000);
	enum reasm_add_result res;
	assert_int_equal(add(r, "c1", "4912345", 7, 3, 3, "ghi", 10, &res), 0);
	assert_int_equal(res, REASM_ADDED);
	assert_null(reasm_poll(r, 10));
	assert_int_equal(add(r, "c1", "4912345", 7, 3, 1, "abc", 11, &res), 0);
	assert_int_equal(res, REASM_ADDED);
	assert_int_equal(reasm_pending(r), 1);
	assert_int_equal(add(r, "c1", "4912345", 7, 3, 2, "def", 12, &res), 0);
	assert_int_equal(res, REASM_COMPLETED);
	assert_int_equal(reasm_pending(r), 0);
	struct reasm_msg *m = reasm_poll(r, 12);
	expect_msg(m, REASM_COMPLETE, "abcdefghi", 3);
	assert_string_equal(m->conn_id, "c1");
	assert_string_equal(m->originator, "4912345");
	assert_int_equal(m->ref, 7);
	assert_int_equal(m->total, 3);
	assert_int_equal(m->first_ms, 10);
	assert_true(m->parts[1].present);
	assert_int_equal(m->parts[1].off, 3);
	assert_int_equal(m->parts[1].len, 3);
	reasm_msg_free(m);
	assert_null(reasm_poll(r, 13));
	reasm_free(r);
}

static void test_reasm_duplicates(void **state)
{
	struct reasm *r = reasm_new(8, 60000);
	enum reasm_add_result res;
	assert_int_equal(add(r, "c1", "a", 1, 2, 1, "one", 0, &res), 0);
	assert_int_equal(add(r, "c1", "a", 1, 2, 1, "ONE", 1, &res), 0);
	assert_int_equal(res, REASM_DUPLICATE);
	assert_int_equal(add(r, "c1", "a", 1, 2, 2, "two", 2, &res), 0);
	assert_int_equal(res, REASM_COMPLETED);
	struct reasm_msg *m = reasm_poll(r, 2);
	expect_msg(m, REASM_COMPLETE, "onetwo", 2); /* the first copy wins */
	reasm_msg_free(m);
	/* After completion the same key starts a new set. */
	assert_int_equal(add(r, "c1", "a", 1, 2, 2, "two", 3, &res), 0);
	assert_int_equal(res, REASM_ADDED);
	assert_int_equal(reasm_pending(r), 1);
	reasm_free(r); /* frees the pending set too (checked by ASan) */
}

/* Each key component separates sets. */
static void test_reasm_keys(void **state)
{
	struct reasm *r = reasm_new(16, 60000);
	enum reasm_add_result res;
	assert_int_equal(add(r, "c1", "a", 1, 2, 1, "x", 0, &res), 0);
	assert_int_equal(add(r, "c2", "a", 1, 2, 2, "y", 0, &res), 0); /* other connection */
	assert_int_equal(res, REASM_ADDED);
	assert_int_equal(add(r, "c1", "b", 1, 2, 2, "y", 0, &res), 0); /* other originator */
	assert_int_equal(res, REASM_ADDED);
	assert_int_equal(add(r, "c1", "a", 2, 2, 2, "y", 0, &res), 0); /* other reference */
	assert_int_equal(res, REASM_ADDED);
	assert_int_equal(add(r, "c1", "a", 1, 3, 2, "y", 0, &res), 0); /* other total */
	assert_int_equal(res, REASM_ADDED);
	assert_int_equal(reasm_pending(r), 5);
	assert_int_equal(add(r, "c1", "a", 1, 2, 2, "y", 0, &res), 0);
	assert_int_equal(res, REASM_COMPLETED);
	struct reasm_msg *m = reasm_poll(r, 0);
	expect_msg(m, REASM_COMPLETE, "xy", 2);
	reasm_msg_free(m);
	reasm_free(r);
}

static void test_reasm_timeout(void **state)
{
	struct reasm *r = reasm_new(8, 1000);
	enum reasm_add_result res;
	assert_int_equal(add(r, "c1", "a", 9, 3, 1, "p1", 100, &res), 0);
	assert_int_equal(add(r, "c1", "a", 9, 3, 3, "p3", 600, &res), 0);
	assert_int_equal(add(r, "c1", "b", 9, 2, 1, "q1", 500, &res), 0);
	assert_null(reasm_poll(r, 1099)); /* not yet */
	struct reasm_msg *m = reasm_poll(r, 1100);
	expect_msg(m, REASM_EXPIRED, "p1p3", 2); /* what arrived, in order */
	assert_true(m->parts[0].present);
	assert_false(m->parts[1].present);
	assert_true(m->parts[2].present);
	assert_int_equal(m->parts[2].off, 2);
	reasm_msg_free(m);
	assert_null(reasm_poll(r, 1100));
	assert_int_equal(reasm_pending(r), 1);
	m = reasm_poll(r, 5000);
	expect_msg(m, REASM_EXPIRED, "q1", 1);
	assert_string_equal(m->originator, "b");
	reasm_msg_free(m);
	assert_int_equal(reasm_pending(r), 0);
	reasm_free(r);
}

static void test_reasm_eviction(void **state)
{
	struct reasm *r = reasm_new(2, 60000);
	enum reasm_add_result res;
	assert_int_equal(add(r, "c", "o1", 1, 2, 1, "a", 1, &res), 0);
	assert_int_equal(add(r, "c", "o2", 1, 2, 1, "b", 2, &res), 0);
	assert_int_equal(add(r, "c", "o1", 1, 2, 1, "a", 3, &res), 0); /* duplicate, no new set */
	assert_int_equal(reasm_pending(r), 2);
	assert_null(reasm_poll(r, 3));
	assert_int_equal(add(r, "c", "o3", 1, 2, 2, "c", 4, &res), 0);
	assert_int_equal(reasm_pending(r), 2);
	struct reasm_msg *m = reasm_poll(r, 4);
	expect_msg(m, REASM_EVICTED, "a", 1);
	assert_string_equal(m->originator, "o1"); /* the oldest */
	reasm_msg_free(m);
	assert_null(reasm_poll(r, 4));
	/* o2 still completes normally. */
	assert_int_equal(add(r, "c", "o2", 1, 2, 2, "B", 5, &res), 0);
	assert_int_equal(res, REASM_COMPLETED);
	m = reasm_poll(r, 5);
	expect_msg(m, REASM_COMPLETE, "bB", 2);
	reasm_msg_free(m);
	/* Flush hands over the rest. */
	reasm_flush(r);
	m = reasm_poll(r, 5);
	expect_msg(m, REASM_EXPIRED, "c", 1);
	assert_string_equal(m->originator, "o3");
	reasm_msg_free(m);
	assert_null(reasm_poll(r, 5));
	reasm_free(r);
}

static void test_reasm_bad_parts(void **state)
{
	struct reasm *r = reasm_new(2, 1000);
	enum reasm_add_result res;
	assert_int_equal(add(r, "c", "o", 1, 0, 1, "x", 0, &res), -EINVAL);
	assert_int_equal(add(r, "c", "o", 1, 2, 0, "x", 0, &res), -EINVAL);
	assert_int_equal(add(r, "c", "o", 1, 2, 3, "x", 0, &res), -EINVAL);
	assert_int_equal(add(r, "c", "o", 1, 256, 1, "x", 0, &res), -EINVAL);
	struct reasm_part p = {.conn_id = NULL, .originator = "o", .total = 2, .seq = 1};
	assert_int_equal(reasm_add(r, &p, 0, &res), -EINVAL);
	static uint8_t big[REASM_PART_MAX + 1];
	struct reasm_part b = {.conn_id = "c", .originator = "o", .total = 2, .seq = 1, .data = big, .len = sizeof big};
	assert_int_equal(reasm_add(r, &b, 0, &res), -EMSGSIZE);
	assert_int_equal(reasm_pending(r), 0);
	/* A single-part "set" completes at once; empty parts count as present. */
	assert_int_equal(add(r, "c", "o", 1, 1, 1, "", 0, &res), 0);
	assert_int_equal(res, REASM_COMPLETED);
	struct reasm_msg *m = reasm_poll(r, 0);
	expect_msg(m, REASM_COMPLETE, "", 1);
	reasm_msg_free(m);
	reasm_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reasm_out_of_order), cmocka_unit_test(test_reasm_duplicates),
	    cmocka_unit_test(test_reasm_keys),         cmocka_unit_test(test_reasm_timeout),
	    cmocka_unit_test(test_reasm_eviction),     cmocka_unit_test(test_reasm_bad_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
