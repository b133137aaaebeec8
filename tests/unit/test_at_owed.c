/*
 * test_at_owed: drivers/at/owed.c, the deletes the `at` driver owes the
 * modem's storage (e2e/85_at_lost_delete runs the same against the
 * emulator; here every branch, without timing):
 * - fingerprints: a PDU's case does not count; in text mode the fields
 *   +CMGR and +CMGL share decide, so +CSDH=1's extra +CMGR fields do not;
 * - a committed index is busy until its delete is answered;
 * - after a session ends, an owed delete is unsure: the listing deletes it
 *   only when the same message is still there, hands over another one, and
 *   drops it when a complete listing of its memory does not show it; a
 *   +CMTI for it says it was deleted; without a fingerprint it is handed
 *   over again;
 * - a full table evicts a stale read, never an owed delete.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake_core.h"

#include "at/at.h"
#include "at/resp.h"

static struct conn fake_conn;

static struct at *new_at(void)
{
	struct at *a = xcalloc(1, sizeof *a);
	a->c = &fake_conn;
	a->list_gen = 1;
	return a;
}

static uint32_t fp_of(const char *hdr, int first, const char *body, bool text)
{
	struct at_resp r;
	assert_int_equal(at_resp_parse(hdr, &r), 0);
	return at_owed_fingerprint(&r, first, body, text);
}

static void test_fingerprints(void **state)
{
	(void)state;
	const char *pdu = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37";
	/* PDU mode: the PDU alone, whatever its case and the header. */
	assert_int_equal(fp_of("+CMGR: 0,,28", 1, pdu, false),
	                 fp_of("+CMGL: 5,1,,28", 2,
	                       "07917283010010f5040bc87238880900f10000993092516195800ae8329bfd4697d9ec37", false));
	assert_int_not_equal(fp_of("+CMGR: 0,,28", 1, pdu, false), fp_of("+CMGR: 0,,28", 1, "0791", false));
	/* Text mode: <stat> changes from unread to read; +CSDH=1 adds fields to +CMGR only. */
	uint32_t listed = fp_of("+CMGL: 3,\"REC READ\",\"+441632960201\",,\"26/12/05,09:00:00+00\"", 2, "hello", true);
	assert_int_equal(fp_of("+CMGR: \"REC UNREAD\",\"+441632960201\",,\"26/12/05,09:00:00+00\"", 1, "hello", true),
	                 listed);
	assert_int_equal(
	    fp_of("+CMGR: \"REC UNREAD\",\"+441632960201\",,\"26/12/05,09:00:00+00\",145,4,0,0,\"+447785016005\",145,5",
	          1, "hello", true),
	    listed);
	assert_int_not_equal(
	    fp_of("+CMGL: 3,\"REC READ\",\"+441632960201\",,\"26/12/05,09:00:00+00\"", 2, "hello!", true), listed);
	assert_int_not_equal(
	    fp_of("+CMGL: 3,\"REC READ\",\"+441632960202\",,\"26/12/05,09:00:00+00\"", 2, "hello", true), listed);
	/* Text-mode reports: <fo> to <st>; another <st> is another report. */
	assert_int_not_equal(fp_of("+CMGL: 4,\"REC READ\",6,17,\"+4477\",145,\"a\",\"b\",0", 2, "", true),
	                     fp_of("+CMGL: 4,\"REC READ\",6,17,\"+4477\",145,\"a\",\"b\",48", 2, "", true));
	assert_int_equal(fp_of("+CMGR: \"REC UNREAD\",6,17,\"+4477\",145,\"a\",\"b\",0", 1, "", true),
	                 fp_of("+CMGL: 4,\"REC READ\",6,17,\"+4477\",145,\"a\",\"b\",0", 2, "", true));
	assert_int_not_equal(fp_of("+CMGR: 0,,0", 1, "", false), 0); /* 0 means unknown */
}

static void test_owed_until_deleted(void **state)
{
	(void)state;
	struct at *a = new_at();
	at_owed_read(a, 1, 111);
	assert_false(at_owed_busy(a, 1)); /* handed over, not committed: the held token says busy */
	assert_true(at_owed_commit(a, 1));
	assert_false(at_owed_commit(a, 1)); /* owed once */
	assert_true(at_owed_busy(a, 1));
	assert_int_equal(at_owed_pending(a), 1);
	assert_int_equal(at_owed_listed(a, 1, 111), AT_OWED_BUSY); /* a sweep meanwhile leaves it */
	at_owed_deleted(a, 1);
	assert_false(at_owed_busy(a, 1));
	assert_int_equal(a->n_owed, 0);
	/* Not committed: nothing owed, nothing kept. */
	at_owed_read(a, 2, 222);
	at_owed_forget(a, 2);
	assert_int_equal(a->n_owed, 0);
	free(a);
}

static void test_unsure_same_message(void **state)
{
	(void)state;
	struct at *a = new_at();
	at_owed_read(a, 1, 111);
	at_owed_commit(a, 1);
	at_owed_session_end(a);
	assert_int_equal(at_owed_pending(a), 0); /* not deleted blindly after the reconnect */
	assert_true(at_owed_busy(a, 1));         /* nor handed over */
	assert_int_equal(at_owed_listed(a, 1, 111), AT_OWED_VERIFIED);
	assert_int_equal(at_owed_pending(a), 1);
	at_owed_list_done(a, false, true);
	assert_true(at_owed_busy(a, 1)); /* shown: kept for its delete */
	at_owed_deleted(a, 1);
	assert_int_equal(a->n_owed, 0);
	free(a);
}

static void test_unsure_index_reused(void **state)
{
	(void)state;
	struct at *a = new_at();
	at_owed_read(a, 1, 111);
	at_owed_commit(a, 1);
	at_owed_session_end(a);
	assert_int_equal(at_owed_listed(a, 1, 999), AT_OWED_NEW);
	assert_false(at_owed_busy(a, 1));
	assert_int_equal(at_owed_pending(a), 0);
	/* The new one is then read and handed over like any other. */
	at_owed_read(a, 1, 999);
	assert_true(at_owed_commit(a, 1));
	assert_int_equal(a->n_owed, 1);
	assert_int_equal(a->owed[0].fp, 999u);
	free(a);
}

static void test_unsure_index_empty(void **state)
{
	(void)state;
	struct at *a = new_at();
	at_owed_read(a, 1, 111);
	at_owed_commit(a, 1);
	at_owed_read(a, AT_OTHER_MEM + 2, 333); /* a report kept in the other memory */
	at_owed_commit(a, AT_OTHER_MEM + 2);
	at_owed_session_end(a);
	at_owed_list_done(a, false, false); /* an incomplete listing proves nothing */
	assert_int_equal(a->n_owed, 2);
	at_owed_list_done(a, false, true); /* storage listed, index 1 not in it */
	assert_int_equal(a->n_owed, 1);
	assert_true(at_owed_busy(a, AT_OTHER_MEM + 2)); /* its memory was not listed yet */
	assert_int_equal(at_owed_listed(a, 2 + AT_OTHER_MEM, 333), AT_OWED_VERIFIED);
	at_owed_list_done(a, true, true);
	assert_true(at_owed_busy(a, AT_OTHER_MEM + 2));
	assert_int_equal(at_owed_pending(a), 1);
	/* Seen in one listing, absent from the next complete one (deleted meanwhile). */
	at_owed_session_end(a);
	at_owed_list_done(a, true, true);
	assert_int_equal(a->n_owed, 0);
	free(a);
}

static void test_cmti_for_unsure(void **state)
{
	(void)state;
	struct at *a = new_at();
	at_owed_read(a, 4, 444);
	at_owed_commit(a, 4);
	assert_false(at_owed_stored_anew(a, 4)); /* owed, answer not lost: keep */
	at_owed_session_end(a);
	assert_true(at_owed_stored_anew(a, 4));
	assert_false(at_owed_busy(a, 4));
	assert_false(at_owed_stored_anew(a, 5));
	free(a);
}

static void test_no_fingerprint(void **state)
{
	(void)state;
	struct at *a = new_at();
	assert_true(at_owed_commit(a, 7)); /* committed without a read recorded */
	at_owed_session_end(a);
	/* Even the very same message is handed over again: twice, never lost. */
	assert_int_equal(at_owed_listed(a, 7, 777), AT_OWED_NEW);
	assert_int_equal(a->n_owed, 0);
	free(a);
}

static void test_full_table(void **state)
{
	(void)state;
	struct at *a = new_at();
	int cap = (int)ARRAY_LEN(a->owed);
	for (int i = 0; i < cap; i++) {
		at_owed_read(a, i, (uint32_t)i + 1);
		if (i % 2)
			at_owed_commit(a, i);
	}
	assert_int_equal(a->n_owed, cap);
	at_owed_read(a, cap, 5000); /* a stale read makes room */
	assert_int_equal(a->n_owed, cap);
	for (int i = 1; i < cap; i += 2)
		assert_true(at_owed_busy(a, i)); /* no owed delete was evicted */
	assert_true(at_owed_commit(a, cap));
	for (int i = 0; i < cap; i++)
		if (a->owed[i].state == AT_OWED_READ)
			at_owed_commit(a, a->owed[i].idx);
	assert_int_equal(at_owed_pending(a), cap);
	assert_false(at_owed_commit(a, cap + 1)); /* full of owed deletes: left for a later sweep */
	at_owed_read(a, cap + 1, 1);              /* and no room to remember it: nothing breaks */
	assert_int_equal(a->n_owed, cap);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fingerprints),        cmocka_unit_test(test_owed_until_deleted),
	    cmocka_unit_test(test_unsure_same_message), cmocka_unit_test(test_unsure_index_reused),
	    cmocka_unit_test(test_unsure_index_empty),  cmocka_unit_test(test_cmti_for_unsure),
	    cmocka_unit_test(test_no_fingerprint),      cmocka_unit_test(test_full_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
