/*
 * test_access_versions: the comparison behind the revocations a daemon
 * catches up on after a reconnect (src/db/access_versions.c): a changed
 * version and a gone account are revoked, an unchanged or new one is not;
 * while connected, a refresh keeps the old version of every account whose
 * NOTIFY was not heard (so that a later diff still sees its change).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/access_versions.h"
#include "util.h"

/* "a=1 b=2": names sorted by the caller */
static struct access_versions *make(const char *spec)
{
	struct access_versions *v = xcalloc(1, sizeof *v);
	v->names = xcalloc(16, sizeof *v->names);
	v->versions = xcalloc(16, sizeof *v->versions);
	char name[32];
	long long ver;
	int used;
	while (sscanf(spec, " %31[^=]=%lld%n", name, &ver, &used) == 2) {
		v->names[v->n] = xstrdup(name);
		v->versions[v->n++] = ver;
		spec += used;
	}
	return v;
}

static char revoked[256];
static void note(void *arg, const char *name)
{
	(void)arg;
	strcat(revoked, name);
	strcat(revoked, " ");
}

static int diff(const char *old, const char *cur)
{
	struct access_versions *o = make(old), *c = make(cur);
	revoked[0] = 0;
	int n = access_versions_diff(o, c, note, NULL);
	access_versions_free(o);
	access_versions_free(c);
	return n;
}

static void changed_and_gone_are_revoked(void **state)
{
	(void)state;
	assert_int_equal(diff("a=1 b=2 c=3 d=4", "a=1 b=5 d=4 e=9"), 2);
	assert_string_equal(revoked, "b c ");
	assert_int_equal(diff("a=1 b=2", "a=1 b=2"), 0);
	assert_int_equal(diff("a=1 b=2", ""), 2);
	assert_string_equal(revoked, "a b ");
	assert_int_equal(diff("", "a=1"), 0);
	assert_int_equal(diff("b=2", "a=1 c=3"), 1); /* b renamed away */
	assert_string_equal(revoked, "b ");
	assert_int_equal(access_versions_diff(NULL, NULL, note, NULL), 0);
}

static void keep_what_was_not_heard(void **state)
{
	(void)state;
	struct access_versions *o = make("a=1 b=2 c=3"), *c = make("a=7 b=8 c=3 d=4");
	char *heard[] = {"a"};
	access_versions_keep(c, o, heard, 1, false);
	assert_int_equal(c->versions[0], 7); /* heard: the new version */
	assert_int_equal(c->versions[1], 2); /* not heard yet: still the old one */
	assert_int_equal(c->versions[3], 4); /* new account */
	revoked[0] = 0;
	struct access_versions *now = make("a=7 b=8 c=3 d=4");
	assert_int_equal(access_versions_diff(c, now, note, NULL), 1);
	access_versions_free(now);
	assert_string_equal(revoked, "b ");
	struct access_versions *all = make("a=7 b=8");
	access_versions_keep(all, o, NULL, 0, true);
	assert_int_equal(all->versions[1], 8);
	access_versions_free(o);
	access_versions_free(c);
	access_versions_free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(changed_and_gone_are_revoked),
	    cmocka_unit_test(keep_what_was_not_heard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
