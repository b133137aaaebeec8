/* The session bookkeeping of src/net/srvbase.c that ucp-server and
 * link-server share, without sockets: core calls counted per session
 * (srvbase_pend_add/take), a closed session freed only once none waits
 * (srvbase_reap), the link's on_down handed to the driver's end_sess, and
 * srvbase_close freeing what is left (sessions, unanswered calls). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/srvbase.h"
#include "util.h"

/* A driver's session: the head first, then its owner. */
struct tsess {
	struct srvbase_sess hd;
	void *owner;
	bool closed;
};

static int freed, ended;
static char end_reason[64];

static void t_end_sess(struct srvbase_sess *h, const char *reason)
{
	ended++;
	snprintf(end_reason, sizeof end_reason, "%s", reason);
	((struct tsess *)h)->closed = true;
}

static void t_free_sess(struct srvbase_sess *h)
{
	(void)h;
	freed++;
}

static const struct srvbase_ops t_ops = {
    .log_prefix = "test_server",
    SRVBASE_SESS(struct tsess, owner),
    .end_sess = t_end_sess,
    .free_sess = t_free_sess,
};

/* A session listed in b, as srvbase's accept makes it. */
static struct tsess *add_sess(struct srvbase *b)
{
	struct tsess *s = xcalloc(1, sizeof *s);
	s->hd.base = b;
	s->hd.id = ++b->next_sess;
	s->hd.next = b->sessions;
	if (b->sessions)
		b->sessions->prev = &s->hd;
	b->sessions = &s->hd;
	return s;
}

static int setup(void **state)
{
	(void)state;
	freed = ended = 0;
	end_reason[0] = 0;
	return 0;
}

static void pend_counts_per_session(void **state)
{
	struct srvbase b = {.ops = &t_ops};
	(void)state;
	struct tsess *s1 = add_sess(&b), *s2 = add_sess(&b);
	int *d1 = xcalloc(1, sizeof *d1), *d2 = xcalloc(1, sizeof *d2), *d3 = xcalloc(1, sizeof *d3);
	uint64_t t1 = srvbase_pend_add(&b, &s1->hd, d1);
	uint64_t t2 = srvbase_pend_add(&b, &s1->hd, d2);
	uint64_t t3 = srvbase_pend_add(&b, &s2->hd, d3);
	assert_int_equal(s1->hd.npend, 2);
	assert_int_equal(s2->hd.npend, 1);
	assert_int_equal(b.pends.n, 3);
	assert_ptr_equal(srvbase_pend_take(&b, t2), d2);
	assert_int_equal(s1->hd.npend, 1);
	assert_null(srvbase_pend_take(&b, t2)); /* answered once */
	assert_null(srvbase_pend_take(&b, 999999));
	assert_int_equal(s1->hd.npend, 1);
	free(d2);
	/* Closing frees the unanswered calls' data and every session. */
	srvbase_close(&b);
	assert_int_equal(freed, 2);
	assert_null(b.sessions);
	(void)t1;
	(void)t3;
}

static void reap_waits_for_pending_calls(void **state)
{
	struct srvbase b = {.ops = &t_ops};
	(void)state;
	struct tsess *s = add_sess(&b);
	int *d = xcalloc(1, sizeof *d);
	uint64_t t = srvbase_pend_add(&b, &s->hd, d);
	srvbase_reap(&s->hd); /* open: stays */
	assert_int_equal(freed, 0);
	s->hd.state = SRVBASE_BOUND;
	srvbase_reap(&s->hd); /* bound: stays */
	assert_int_equal(freed, 0);
	s->hd.state = SRVBASE_CLOSED;
	srvbase_reap(&s->hd); /* closed, a call waits: stays */
	assert_int_equal(freed, 0);
	assert_ptr_equal(b.sessions, &s->hd);
	free(srvbase_pend_take(&b, t));
	srvbase_reap(&s->hd); /* closed, nothing waits: freed */
	assert_int_equal(freed, 1);
	assert_null(b.sessions);
	srvbase_close(&b);
	assert_int_equal(freed, 1);
}

static void link_down_ends_the_session(void **state)
{
	struct srvbase b = {.ops = &t_ops};
	(void)state;
	struct tsess *s = add_sess(&b);
	srvbase_link_down(NULL, s, "peer closed");
	assert_int_equal(ended, 1);
	assert_string_equal(end_reason, "peer closed");
	assert_true(s->closed);
	srvbase_close(&b);
	assert_int_equal(freed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(pend_counts_per_session, setup),
	    cmocka_unit_test_setup(reap_waits_for_pending_calls, setup),
	    cmocka_unit_test_setup(link_down_ends_the_session, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
