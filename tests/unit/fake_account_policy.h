/* The core's account calls for unit tests with a fake core: backed by a
 * real policy object (src/policy.c), so that drivers meet the real rules.
 * Included once by a test file that defines the other core_* functions. */
#ifndef SMSPOOL_TEST_FAKE_ACCOUNT_POLICY_H
#define SMSPOOL_TEST_FAKE_ACCOUNT_POLICY_H

#include "driver.h"
#include "policy.h"
#include "util.h"

/* The core's account policy, held by a real policy object (src/policy.c). */
static struct policy *fake_policy(void)
{
	static struct policy *p;
	if (!p)
		p = policy_new();
	return p;
}
bool core_account_bind(struct conn *c, const struct account_info *a)
{
	(void)c;
	return policy_bind(fake_policy(), a);
}
static int fake_policy_unbinds; /* core_account_unbind() calls */
void core_account_unbind(struct conn *c, const char *account)
{
	(void)c;
	fake_policy_unbinds++;
	policy_unbind(fake_policy(), account);
}
int core_account_take(struct conn *c, const char *account, double rate, int n)
{
	(void)c;
	return policy_take(fake_policy(), account, rate, n, now_mono_ms());
}

#endif
