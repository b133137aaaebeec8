/* The core's account policy (src/policy.c) and the pure helpers under it:
 * the hash table (src/hash.c), the token bucket (src/bucket.c), host:port
 * (src/net/addr.c) and reconnect backoff (src/net/link.c).  The clock is
 * passed in, so every rule is checked at its edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bucket.h"
#include "hash.h"
#include "net/addr.h"
#include "net/link.h"
#include "policy.h"

/* A failed login from peer with a new password each time. */
static void fail_once(struct policy *p, const char *peer, int i, uint64_t now)
{
	char pw[16];
	uint8_t key[32];
	snprintf(pw, sizeof pw, "pw%d", i);
	assert_int_equal(policy_login_begin(p, "esme1", pw, peer, now, key), AUTH_OK);
	policy_login_end(p, key, peer, AUTH_WRONG_PASSWORD, now);
}

static void negative_cache(void **state)
{
	(void)state;
	struct policy *p = policy_new();
	uint8_t key[32];
	assert_int_equal(policy_login_begin(p, "esme1", "bad", "10.0.0.1", 1000, key), AUTH_OK);
	policy_login_end(p, key, "10.0.0.1", AUTH_WRONG_PASSWORD, 1000);
	/* The same credentials from the same address: answered here. */
	assert_int_equal(policy_login_begin(p, "esme1", "bad", "10.0.0.1", 2000, key), AUTH_WRONG_PASSWORD);
	/* Another address or password asks the database. */
	assert_int_equal(policy_login_begin(p, "esme1", "bad", "10.0.0.2", 2000, key), AUTH_OK);
	policy_login_end(p, key, "10.0.0.2", AUTH_OK, 2000);
	assert_int_equal(policy_login_begin(p, "esme1", "good", "10.0.0.1", 2000, key), AUTH_OK);
	policy_login_end(p, key, "10.0.0.1", AUTH_OK, 2000);
	/* Expired after POLICY_NEG_TTL_MS. */
	assert_int_equal(policy_login_begin(p, "esme1", "bad", "10.0.0.1", 1000 + POLICY_NEG_TTL_MS + 1, key), AUTH_OK);
	policy_login_end(p, key, "10.0.0.1", AUTH_WRONG_PASSWORD, 1000 + POLICY_NEG_TTL_MS + 1);
	/* An account change forgets every refusal. */
	policy_forget_logins(p);
	assert_int_equal(policy_login_begin(p, "esme1", "bad", "10.0.0.1", 1000 + POLICY_NEG_TTL_MS + 2, key), AUTH_OK);
	policy_free(p);
}

static void address_block(void **state)
{
	(void)state;
	struct policy *p = policy_new();
	uint8_t key[32];
	uint64_t now = 10000;
	for (int i = 0; i < POLICY_FAILS_FREE - 1; i++)
		fail_once(p, "10.0.0.9", i, now);
	assert_int_equal(policy_refusal_delay_ms(p, "10.0.0.9", now), (POLICY_FAILS_FREE - 1) * POLICY_DELAY_STEP_MS);
	assert_int_equal(policy_refusal_delay_ms(p, "10.0.0.8", now), 0);
	fail_once(p, "10.0.0.9", 99, now); /* the fifth: blocked for POLICY_BLOCK_MIN_MS */
	assert_int_equal(policy_login_begin(p, "esme1", "right", "10.0.0.9", now + 1, key), AUTH_BLOCKED);
	assert_int_equal(policy_login_begin(p, "esme1", "right", "10.0.0.7", now + 1, key), AUTH_OK);
	policy_login_end(p, key, "10.0.0.7", AUTH_OK, now + 1);
	now += POLICY_BLOCK_MIN_MS;
	fail_once(p, "10.0.0.9", 100, now); /* the sixth: twice as long */
	assert_int_equal(policy_login_begin(p, "esme1", "x", "10.0.0.9", now + 2 * POLICY_BLOCK_MIN_MS - 1, key),
	                 AUTH_BLOCKED);
	assert_int_equal(policy_login_begin(p, "esme1", "x", "10.0.0.9", now + 2 * POLICY_BLOCK_MIN_MS, key), AUTH_OK);
	policy_login_end(p, key, "10.0.0.9", AUTH_OK, now + 2 * POLICY_BLOCK_MIN_MS);
	assert_int_equal(policy_refusal_delay_ms(p, "10.0.0.9", now), 0); /* a success clears it */
	policy_free(p);
}

static void busy_address(void **state)
{
	(void)state;
	struct policy *p = policy_new();
	uint8_t key[32], first[32];
	for (int i = 0; i < POLICY_LOGINS_AT_ONCE; i++) {
		char pw[8];
		snprintf(pw, sizeof pw, "p%d", i);
		assert_int_equal(policy_login_begin(p, "a", pw, "10.1.1.1", 0, i ? key : first), AUTH_OK);
	}
	assert_int_equal(policy_login_begin(p, "a", "more", "10.1.1.1", 0, key), AUTH_BUSY);
	policy_login_end(p, first, "10.1.1.1", AUTH_OK, 0);
	assert_int_equal(policy_login_begin(p, "a", "more", "10.1.1.1", 0, key), AUTH_OK);
	policy_free(p);
}

static void refusal_texts(void **state)
{
	(void)state;
	for (int r = AUTH_OK; r <= AUTH_UNAVAILABLE; r++)
		assert_int_equal(auth_refusal_of(auth_refusal_text((enum auth_refusal)r)), r);
	assert_int_equal(policy_refusal_from_db("unknown account"), AUTH_UNKNOWN_ACCOUNT);
	assert_int_equal(policy_refusal_from_db("wrong password"), AUTH_WRONG_PASSWORD);
	assert_int_equal(policy_refusal_from_db("account disabled"), AUTH_DISABLED);
	assert_int_equal(policy_refusal_from_db("address not allowed"), AUTH_ADDRESS);
	assert_int_equal(policy_refusal_from_db("database unavailable"), AUTH_UNAVAILABLE);
	assert_int_equal(policy_refusal_from_db(NULL), AUTH_UNAVAILABLE);
	assert_true(auth_refusal_is_failure(AUTH_WRONG_PASSWORD));
	assert_false(auth_refusal_is_failure(AUTH_BLOCKED));
	assert_false(auth_refusal_is_failure(AUTH_UNAVAILABLE));
}

static void binds_and_throughput(void **state)
{
	(void)state;
	struct policy *p = policy_new();
	struct account_info a = {.name = "esme1", .max_binds = 2, .throughput = 2};
	assert_true(policy_bind(p, &a));
	assert_true(policy_bind(p, &a));
	assert_false(policy_bind(p, &a));
	assert_int_equal(policy_binds(p, "esme1"), 2);
	policy_unbind(p, "esme1");
	assert_true(policy_bind(p, &a));
	/* A four-part message takes four tokens: the bucket goes into debt. */
	assert_int_equal(policy_take(p, "esme1", 2, 4, 0), 0);
	assert_int_equal(policy_take(p, "esme1", 2, 1, 0), 2); /* -2 tokens: 1.5 s -> 2 */
	assert_int_equal(policy_take(p, "esme1", 2, 1, 1500), 0);
	assert_int_equal(policy_take(p, "other", 0, 100, 0), 0); /* unlimited */
	policy_free(p);
}

static void log_rate(void **state)
{
	(void)state;
	struct policy *p = policy_new();
	unsigned n = 99;
	assert_true(policy_log_refusal(p, 1000, &n));
	assert_int_equal(n, 0);
	assert_false(policy_log_refusal(p, 1500, &n));
	assert_false(policy_log_refusal(p, 1999, &n));
	assert_true(policy_log_refusal(p, 2000, &n));
	assert_int_equal(n, 2);
	policy_free(p);
}

static bool drop_odd(const char *key, void *value, void *arg)
{
	(void)key;
	(void)arg;
	if (*(int *)value % 2 == 0)
		return false;
	free(value);
	return true;
}

static void hash_table(void **state)
{
	(void)state;
	struct hash *h = hash_new();
	char k[16];
	for (int i = 0; i < 1000; i++) {
		int *v = malloc(sizeof *v);
		*v = i;
		snprintf(k, sizeof k, "k%d", i);
		assert_null(hash_put(h, k, v));
	}
	assert_int_equal(hash_count(h), 1000);
	assert_int_equal(*(int *)hash_get(h, "k777"), 777);
	assert_null(hash_get(h, "k1000"));
	hash_each(h, drop_odd, NULL);
	assert_int_equal(hash_count(h), 500);
	assert_null(hash_get(h, "k777"));
	free(hash_remove(h, "k2"));
	assert_null(hash_get(h, "k2"));
	assert_int_equal(hash_count(h), 499);
	hash_free(h, free);
}

static void token_bucket(void **state)
{
	(void)state;
	struct bucket b = {0};
	assert_int_equal(bucket_take(&b, 1, 1, 1000), 0);
	assert_int_equal(bucket_take(&b, 1, 1, 1100), 1);
	assert_int_equal(bucket_take(&b, 1, 1, 2000), 0);
	struct bucket c = {0};
	assert_int_equal(bucket_take(&c, 0.5, 3, 0), 0); /* into debt: -2 */
	assert_int_equal(bucket_take(&c, 0.5, 1, 0), 6);
	assert_int_equal(bucket_take(&c, 0.5, 1, 6000), 0);
	/* A connection's throughput (src/spool_dispatch.c): 20/s, a burst of 2,
	 * starting from one token; a message of 3 parts goes into debt. */
	struct bucket d = {0};
	bucket_reset(&d, 1, 0);
	assert_int_equal(bucket_take_ms(&d, 20, 2, 3, 0), 0);   /* 1 - 3 = -2 */
	assert_int_equal(bucket_take_ms(&d, 20, 2, 1, 0), 151); /* 3 tokens at 20/s: 150 ms, + 1 */
	assert_int_equal(bucket_take_ms(&d, 20, 2, 1, 150), 0);
	assert_int_equal(bucket_take_ms(&d, 20, 2, 1, 10000), 0); /* capped at the burst: 2 */
	assert_int_equal(bucket_take_ms(&d, 20, 2, 1, 10000), 0);
	assert_int_equal(bucket_take_ms(&d, 20, 2, 1, 10000), 51);
	assert_int_equal(bucket_take_ms(&d, 0, 2, 1, 10000), 0); /* unlimited */
}

/* host:port, the one parser of every connection type's addresses. */
static void host_port(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int min_port, rc;
		const char *host;
		int port;
	} cases[] = {
	    {"127.0.0.1:2775", 1, 0, "127.0.0.1", 2775},
	    {"127.0.0.1:0", 0, 0, "127.0.0.1", 0},
	    {"[::1]:0", 0, 0, "::1", 0},
	    {"[::1]:2775", 0, 0, "::1", 2775},
	    {"smsc.example:80", 1, 0, "smsc.example", 80},
	    {"[::1]:0", 1, -1, NULL, 0},
	    {"h:65536", 0, -1, NULL, 0},
	    {"h:12x", 0, -1, NULL, 0},
	    {"h:-1", 0, -1, NULL, 0},
	    {"h:", 0, -1, NULL, 0},
	    {":2775", 0, -1, NULL, 0},
	    {"[]:1", 0, -1, NULL, 0},
	};
	char host[64];
	int port;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int rc = net_addr_split(cases[i].in, host, sizeof host, &port, cases[i].min_port);
		if (rc != cases[i].rc)
			fail_msg("%s (min_port %d): %d, want %d", cases[i].in, cases[i].min_port, rc, cases[i].rc);
		if (rc == 0 && (strcmp(host, cases[i].host) || port != cases[i].port))
			fail_msg("%s: %s port %d, want %s port %d", cases[i].in, host, port, cases[i].host,
			         cases[i].port);
	}
	assert_int_equal(net_addr_split(NULL, host, sizeof host, &port, 0), -1);
	assert_int_equal(net_addr_split("averyveryverylonghostname:1", host, 8, &port, 0), -1);
	struct sockaddr_storage ss;
	socklen_t sl;
	assert_int_equal(net_addr_numeric("::1", 5, &ss, &sl), 0);
	assert_int_equal(net_addr_numeric("smsc.example", 5, &ss, &sl), -1);
	char out[64];
	net_addr_format("::1", 80, out, sizeof out);
	assert_string_equal(out, "[::1]:80");
	int p2;
	assert_int_equal(net_addr_numeric("::1", 5, &ss, &sl), 0);
	net_addr_from_sockaddr((struct sockaddr *)&ss, host, sizeof host, &p2);
	assert_string_equal(host, "::1");
	assert_int_equal(p2, 5);
}

static void backoff(void **state)
{
	(void)state;
	struct link_backoff b = {.min_ms = 1000, .max_ms = 8000};
	uint64_t want[] = {1000, 2000, 4000, 8000, 8000};
	for (size_t i = 0; i < 5; i++) {
		uint64_t d = link_backoff_next(&b);
		assert_true(d >= want[i] * 9 / 10 && d <= (want[i] * 11 / 10 < 8000 ? want[i] * 11 / 10 : 8000));
	}
	link_backoff_reset(&b);
	assert_true(link_backoff_next(&b) <= 1100);
	/* The generator is seeded: two draws differ (2^-32 chance not). */
	assert_true(link_random() != link_random());
}

/* Reconnect jitter is seeded per process: a child forked after the parent
 * drew its first number (the generator seeded) draws another sequence, so
 * that processes that lost the same peer do not retry in step. */
static void random_per_process(void **state)
{
	(void)state;
	(void)link_random(); /* seeded in the parent */
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint32_t v[4];
		for (int i = 0; i < 4; i++)
			v[i] = link_random();
		_exit(write(fd[1], v, sizeof v) == (ssize_t)sizeof v ? 0 : 1);
	}
	close(fd[1]);
	uint32_t mine[4], child[4];
	for (int i = 0; i < 4; i++)
		mine[i] = link_random();
	size_t got = 0;
	while (got < sizeof child) {
		ssize_t n = read(fd[0], (char *)child + got, sizeof child - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(got, sizeof child);
	assert_memory_not_equal(mine, child, sizeof mine);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(negative_cache), cmocka_unit_test(address_block),        cmocka_unit_test(busy_address),
	    cmocka_unit_test(refusal_texts),  cmocka_unit_test(binds_and_throughput), cmocka_unit_test(log_rate),
	    cmocka_unit_test(hash_table),     cmocka_unit_test(token_bucket),         cmocka_unit_test(host_port),
	    cmocka_unit_test(backoff),        cmocka_unit_test(random_per_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
