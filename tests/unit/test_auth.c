/* The core's login front (src/auth.c) around an account change
 * (auth_revoke, issue 17): a login whose account changed while the
 * database was asked is not handed over on a yes but asked again, with
 * the same token and password, and the second answer is handed over; a
 * refusal is a refusal as before; another account's change, or one before
 * the login began, leaves a login alone; "" and a login by address (no
 * account named) are touched by every change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "util.h"

static int asks, answers;
static uint64_t last_token;
static char last_account[64], last_password[64];
static bool last_password_null;

static void t_ask(void *arg, uint64_t conn_id, uint64_t token, const char *account, const char *password,
                  const char *peer)
{
	(void)arg, (void)conn_id, (void)peer;
	asks++;
	last_token = token;
	snprintf(last_account, sizeof last_account, "%s", account ? account : "");
	last_password_null = !password;
	snprintf(last_password, sizeof last_password, "%s", password ? password : "");
}

static void t_answer(void *arg, uint64_t conn_id, uint64_t token, const char *reason)
{
	(void)arg, (void)conn_id, (void)token, (void)reason;
	answers++;
}

struct fx {
	struct event_base *base;
	struct auth *a;
};

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	f->base = event_base_new();
	f->a = auth_new(f->base, t_ask, t_answer, NULL);
	asks = answers = 0;
	last_token = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	auth_free(f->a);
	event_base_free(f->base);
	free(f);
	return 0;
}

static const struct account_info acme = {.name = "acme"};

static void yes_across_a_change_is_asked_again(void **state)
{
	struct fx *f = *state;
	auth_begin(f->a, "c", 1, 7, "acme", "old-pw", "127.0.0.1");
	assert_int_equal(asks, 1);
	auth_revoke(f->a, "acme");
	assert_false(auth_end(f->a, 1, 7, &acme, NULL)); /* not handed over */
	assert_int_equal(asks, 2);
	assert_int_equal(last_token, 7);
	assert_string_equal(last_account, "acme");
	assert_string_equal(last_password, "old-pw");
	assert_true(auth_end(f->a, 1, 7, &acme, NULL)); /* the fresh answer */
	assert_int_equal(asks, 2);
	assert_int_equal(answers, 0);
}

static void refusal_across_a_change_is_a_refusal(void **state)
{
	struct fx *f = *state;
	auth_begin(f->a, "c", 1, 8, "acme", "old-pw", "127.0.0.1");
	auth_revoke(f->a, "");
	assert_false(auth_end(f->a, 1, 8, NULL, "wrong password")); /* answered later, refused */
	assert_int_equal(asks, 1);
	for (int i = 0; i < 100 && answers == 0; i++)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_int_equal(answers, 1);
}

static void other_changes_leave_a_login_alone(void **state)
{
	struct fx *f = *state;
	auth_revoke(f->a, "acme"); /* before the login: nothing waits */
	auth_begin(f->a, "c", 1, 9, "acme", "pw", "127.0.0.1");
	auth_revoke(f->a, "other");
	assert_true(auth_end(f->a, 1, 9, &acme, NULL));
	assert_int_equal(asks, 1);
}

static void login_by_address_counts_as_any_account(void **state)
{
	struct fx *f = *state;
	auth_begin(f->a, "c", 1, 10, "", NULL, "10.0.0.5");
	auth_revoke(f->a, "whoever");
	assert_false(auth_end(f->a, 1, 10, &acme, NULL));
	assert_int_equal(asks, 2);
	assert_true(last_password_null);
	assert_true(auth_end(f->a, 1, 10, &acme, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(yes_across_a_change_is_asked_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(refusal_across_a_change_is_a_refusal, setup, teardown),
	    cmocka_unit_test_setup_teardown(other_changes_leave_a_login_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(login_by_address_counts_as_any_account, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
