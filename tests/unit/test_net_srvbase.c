/* The session bookkeeping of src/net/srvbase.c that ucp-server and
 * link-server share, without sockets: core calls counted per session
 * (srvbase_pend_add/take), a closed session freed only once none waits
 * (srvbase_reap), the link's on_down handed to the driver's end_sess, the
 * state machine (srvbase_sess_set: the account's deliveries while bound,
 * its unbind at the close of a bound session only, the driver's enter
 * hook, the reap), srvbase_revoke choosing the sessions of a changed
 * account, and srvbase_close freeing what is left (sessions, unanswered
 * calls).  fake_core.h plays the core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_core.h"
#include "net/srvbase.h"
#include "util.h"

/* A driver's session: the head first, then its owner. */
struct tsess {
	struct srvbase_sess hd;
	void *owner;
	bool closed;
};

static int freed, ended, enters;
static char end_reason[64], enter_log[128];

static void t_enter(struct srvbase_sess *h, enum srvbase_state from, enum srvbase_state to)
{
	size_t n = strlen(enter_log);
	(void)h;
	enters++;
	snprintf(enter_log + n, sizeof enter_log - n, "%d>%d ", (int)from, (int)to);
}

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

/* The defaults: the session closes through srvbase_sess_set. */
static const struct srvbase_ops t_sm_ops = {
    .log_prefix = "test_server",
    SRVBASE_SESS(struct tsess, owner),
    .state_names = {"open", "auth", "bound", "closed"},
    .login_key = "login",
    .enter = t_enter,
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
	freed = ended = enters = fake_policy_unbinds = 0;
	end_reason[0] = enter_log[0] = 0;
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

/* OPEN -> AUTH -> BOUND -> CLOSED: deliveries while bound, one unbind. */
static void state_machine_binds_and_unbinds(void **state)
{
	struct conn c = {0};
	struct accounts as = {.c = &c};
	struct srvbase b = {.ops = &t_sm_ops, .c = &c, .accts = &as};
	struct account_info info = {.name = "acme"};
	(void)state;
	struct tsess *s = add_sess(&b);
	srvbase_sess_set(&s->hd, SRVBASE_AUTH, "login");
	assert_int_equal(s->hd.state, SRVBASE_AUTH);
	s->hd.acct = accounts_get(&as, &info);
	srvbase_sess_set(&s->hd, SRVBASE_BOUND, "authenticated");
	assert_int_equal(s->hd.acct->nrx, 1);
	assert_ptr_equal(s->hd.acct->rx[0], s);
	assert_int_equal(c.attached, 1);
	srvbase_sess_set(&s->hd, SRVBASE_BOUND, "again"); /* no transition */
	assert_int_equal(enters, 2);
	struct accounts_acct *a = s->hd.acct;
	srvbase_sess_set(&s->hd, SRVBASE_CLOSED, "peer closed"); /* reaped: nothing waits */
	assert_int_equal(a->nrx, 0);
	assert_int_equal(c.attached, 0);
	assert_int_equal(fake_policy_unbinds, 1);
	assert_int_equal(freed, 1);
	assert_null(b.sessions);
	assert_string_equal(enter_log, "0>1 1>2 2>3 ");
	accounts_free(&as);
}

/* A refused login (AUTH -> OPEN) and a close before any bind: no unbind;
 * a session closed while a core call waits is freed once it is answered. */
static void state_machine_unbound_close(void **state)
{
	struct conn c = {0};
	struct accounts as = {.c = &c};
	struct srvbase b = {.ops = &t_sm_ops, .c = &c, .accts = &as};
	(void)state;
	struct tsess *s = add_sess(&b);
	srvbase_sess_set(&s->hd, SRVBASE_AUTH, "login");
	uint64_t t = srvbase_pend_add(&b, &s->hd, xcalloc(1, 1));
	srvbase_sess_set(&s->hd, SRVBASE_OPEN, "refused");
	srvbase_link_down(NULL, s, "peer closed"); /* no end_sess: closes */
	assert_int_equal(s->hd.state, SRVBASE_CLOSED);
	assert_int_equal(fake_policy_unbinds, 0);
	assert_int_equal(freed, 0);
	free(srvbase_pend_take(&b, t));
	srvbase_reap(&s->hd);
	assert_int_equal(freed, 1);
	assert_null(b.sessions);
	srvbase_close(&b);
	accounts_free(&as);
}

/* The driver's goodbye (ops->revoke): false for a session ending already. */
static int revokes;
static bool t_revoke(struct srvbase_sess *h)
{
	revokes++;
	return !((struct tsess *)h)->closed;
}

static const struct srvbase_ops t_revoke_ops = {
    .log_prefix = "test_server",
    SRVBASE_SESS(struct tsess, owner),
    .revoke = t_revoke,
    .free_sess = t_free_sess,
};

/* srvbase_revoke ends the sessions logged in as the account ("" = every
 * account) through ops->revoke, each once: not those without an account
 * (still waiting for the login's answer), closed ones, those of another
 * account, nor any while the connection stops. */
static void revoke_ends_the_accounts_sessions(void **state)
{
	struct conn c = {0};
	struct accounts as = {.c = &c};
	struct srvbase b = {.ops = &t_revoke_ops, .c = &c, .accts = &as};
	struct account_info acme = {.name = "acme"}, other = {.name = "other"};
	struct link *fake = (struct link *)&b; /* never touched: ops->revoke says goodbye */
	(void)state;
	revokes = 0;
	struct tsess *s[5];
	for (int i = 0; i < 5; i++) {
		s[i] = add_sess(&b);
		s[i]->hd.link = fake;
		s[i]->hd.state = SRVBASE_BOUND;
		s[i]->hd.acct = accounts_get(&as, i == 1 ? &other : &acme);
	}
	s[2]->hd.acct = NULL;            /* waiting for its login's answer */
	s[2]->hd.state = SRVBASE_AUTH;   /* ... */
	s[3]->hd.state = SRVBASE_CLOSED; /* gone */
	s[4]->closed = true;             /* ending already (the driver says) */
	assert_int_equal(srvbase_revoke(&b, "acme"), 1);
	assert_true(s[0]->hd.revoked);
	assert_false(s[1]->hd.revoked || s[2]->hd.revoked || s[3]->hd.revoked || s[4]->hd.revoked);
	assert_int_equal(revokes, 2);                    /* s0, and s4 that said no */
	assert_int_equal(srvbase_revoke(&b, "acme"), 0); /* s0 once */
	assert_int_equal(srvbase_revoke(&b, ""), 1);     /* every account: s1 */
	assert_true(s[1]->hd.revoked);
	s[4]->closed = false;
	b.stopping = true;
	assert_int_equal(srvbase_revoke(&b, ""), 0);
	for (int i = 0; i < 5; i++)
		s[i]->hd.link = NULL;
	srvbase_close(&b);
	accounts_free(&as);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(pend_counts_per_session, setup),
	    cmocka_unit_test_setup(reap_waits_for_pending_calls, setup),
	    cmocka_unit_test_setup(link_down_ends_the_session, setup),
	    cmocka_unit_test_setup(state_machine_binds_and_unbinds, setup),
	    cmocka_unit_test_setup(state_machine_unbound_close, setup),
	    cmocka_unit_test_setup(revoke_ends_the_accounts_sessions, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
