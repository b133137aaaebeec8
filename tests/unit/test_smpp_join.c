/* drivers/smpp/join.c and the holder it uses (src/net/join.c): the concatenation of a submit (UDH IE 0x00/0x08 or
 * SAR TLVs), the UDH kept after the join, the number of receipts from
 * outbox.client_parts, and the holder: every part leaves in exactly one set,
 * complete (in part order, duplicates included) or expired, and the cap. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/udh.h"
#include "smpp/join.h"

static int nfreed;
static void meta_free(void *m)
{
	nfreed++;
	free(m);
}

static void test_info_udh(void **state)
{
	(void)state;
	struct smpp_pdu p = {.esm_class = 0x40};
	struct smpp_join_info in;
	const uint8_t d8[] = {5, 0, 3, 0x42, 3, 2, 'h', 'i'};
	assert_int_equal(smpp_join_info(&p, d8, sizeof d8, &in), 0);
	assert_true(in.multi);
	assert_int_equal(in.ref, 0x42);
	assert_int_equal(in.total, 3);
	assert_int_equal(in.seq, 2);
	assert_int_equal(in.udh_len, 6);
	const uint8_t d16[] = {6, 8, 4, 0x12, 0x34, 2, 1, 'x'};
	assert_int_equal(smpp_join_info(&p, d16, sizeof d16, &in), 0);
	assert_true(in.multi);
	assert_int_equal(in.ref, 0x1234);
	/* a port IE only: a UDH, not a set */
	const uint8_t ports[] = {4, 4, 2, 0x10, 0x20, 'x'};
	assert_int_equal(smpp_join_info(&p, ports, sizeof ports, &in), 0);
	assert_false(in.multi);
	assert_int_equal(in.udh_len, 5);
	/* overrun */
	const uint8_t bad[] = {9, 0, 3, 1};
	assert_int_equal(smpp_join_info(&p, bad, sizeof bad, &in), -1);
	/* without esm_class 0x40 the octets are text */
	p.esm_class = 0;
	assert_int_equal(smpp_join_info(&p, d8, sizeof d8, &in), 0);
	assert_false(in.multi);
	assert_int_equal(in.udh_len, 0);
}

static void test_info_sar(void **state)
{
	(void)state;
	struct smpp_pdu p = {0};
	struct smpp_join_info in;
	p.known.has_sar_msg_ref_num = p.known.has_sar_total_segments = p.known.has_sar_segment_seqnum = true;
	p.known.sar_msg_ref_num = 4660;
	p.known.sar_total_segments = 2;
	p.known.sar_segment_seqnum = 2;
	assert_int_equal(smpp_join_info(&p, (const uint8_t *)"ab", 2, &in), 0);
	assert_true(in.multi);
	assert_int_equal(in.ref, 4660);
	assert_int_equal(in.seq, 2);
	p.known.sar_segment_seqnum = 3; /* beyond total */
	assert_int_equal(smpp_join_info(&p, (const uint8_t *)"ab", 2, &in), -1);
	p.known.sar_segment_seqnum = 1;
	p.known.sar_total_segments = 1; /* a set of one is a plain message */
	assert_int_equal(smpp_join_info(&p, (const uint8_t *)"ab", 2, &in), 0);
	assert_false(in.multi);
}

static void test_udh_strip(void **state)
{
	(void)state;
	uint8_t out[UDH_MAX_LEN + 1];
	const uint8_t only[] = {5, 0, 3, 1, 2, 1};
	assert_int_equal(smpp_join_udh_strip(only, sizeof only, out), 0);
	const uint8_t overrun[] = {10, 0, 3, 1, 2, 1, 4, 2, 0x10, 0x20};
	assert_int_equal(smpp_join_udh_strip(overrun, sizeof overrun, out), 0);
	const uint8_t both_ok[] = {9, 0, 3, 1, 2, 1, 4, 2, 0x10, 0x20};
	assert_int_equal(smpp_join_udh_strip(both_ok, sizeof both_ok, out), 5);
	const uint8_t want[] = {4, 4, 2, 0x10, 0x20};
	assert_memory_equal(out, want, sizeof want);
}

/* A joined message's receipts: one per part the client submitted, from
 * outbox.client_parts (0 = NULL: submitted whole), never from client_ref. */
static void test_receipts(void **state)
{
	(void)state;
	assert_int_equal(smpp_join_receipts(0), 1);
	assert_int_equal(smpp_join_receipts(1), 1);
	assert_int_equal(smpp_join_receipts(3), 3);
	assert_int_equal(smpp_join_receipts(255), 255);
	assert_int_equal(smpp_join_receipts(256), 1);
	assert_int_equal(smpp_join_receipts(-1), 1);
}

static int add(struct smpp_join *j, const char *dst, unsigned ref, unsigned total, unsigned seq, uint32_t pdu_seq,
               const char *text, uint64_t now)
{
	struct smpp_join_info in = {.multi = true, .ref = ref, .total = total, .seq = seq};
	void *meta = malloc(1);
	int rc = smpp_join_add(j, dst, "src", &in, pdu_seq, 4, (const uint8_t *)text, strlen(text), meta, now);
	if (rc)
		free(meta); /* not taken over */
	return rc;
}

static void test_holder(void **state)
{
	(void)state;
	nfreed = 0;
	struct smpp_join *j = smpp_join_new(5, 1000, meta_free);
	assert_int_equal(add(j, "111", 7, 3, 3, 10, "C", 0), 0);
	assert_int_equal(add(j, "222", 7, 3, 1, 11, "x", 0), 0); /* another destination: another set */
	assert_int_equal(add(j, "111", 7, 3, 1, 12, "A", 1), 0);
	assert_int_equal(add(j, "111", 7, 3, 1, 13, "A'", 2), 0); /* duplicate, held too */
	assert_null(smpp_join_poll(j, 3));
	assert_int_equal(add(j, "111", 7, 3, 2, 14, "B", 4), 0);
	assert_int_equal(add(j, "333", 1, 2, 1, 15, "y", 4), -ENOBUFS); /* cap of 5 held */
	struct smpp_join_set *set = smpp_join_poll(j, 5);
	assert_non_null(set);
	assert_int_equal(set->msg->status, REASM_COMPLETE);
	assert_int_equal(set->msg->len, 3);
	assert_memory_equal(set->msg->data, "ABC", 3);
	assert_int_equal(set->n, 4);
	assert_int_equal(set->parts[0]->part, 1);
	assert_int_equal(set->parts[0]->pdu_seq, 12);
	assert_int_equal(set->parts[1]->pdu_seq, 13);
	assert_int_equal(set->parts[2]->pdu_seq, 14);
	assert_int_equal(set->parts[3]->pdu_seq, 10);
	assert_int_equal(smpp_join_held_count(j), 1);
	smpp_join_set_free(j, set);
	assert_int_equal(nfreed, 4);
	assert_null(smpp_join_poll(j, 500));
	set = smpp_join_poll(j, 1001); /* the other set times out */
	assert_non_null(set);
	assert_int_equal(set->msg->status, REASM_EXPIRED);
	assert_int_equal(set->n, 1);
	assert_int_equal(set->parts[0]->pdu_seq, 11);
	smpp_join_set_free(j, set);
	assert_int_equal(smpp_join_held_count(j), 0);
	/* flush: what is held leaves as expired; free: the rest is freed */
	assert_int_equal(add(j, "111", 8, 2, 1, 20, "p", 2000), 0);
	smpp_join_flush(j);
	set = smpp_join_poll(j, 2000);
	assert_non_null(set);
	assert_int_equal(set->msg->status, REASM_EXPIRED);
	smpp_join_set_free(j, set);
	assert_int_equal(add(j, "111", 9, 2, 1, 21, "q", 2000), 0);
	smpp_join_free(j);
	assert_int_equal(nfreed, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_info_udh), cmocka_unit_test(test_info_sar), cmocka_unit_test(test_udh_strip),
	    cmocka_unit_test(test_receipts), cmocka_unit_test(test_holder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
