/*
 * policy: account policy in the core (see policy.h).
 *
 * Three bounded tables, all in src/hash.c: address states (recent failures,
 * blocked until, logins waiting for the database), the negative cache
 * (SHA-256 of account, password and address -> the refusal and its
 * expiry), and accounts (binds in this daemon, throughput bucket).
 */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "bucket.h"
#include "hash.h"
#include "util.h"

struct addr_state {
	int fails, waiting;
	uint64_t last_fail_ms, blocked_until_ms;
};

struct neg_entry {
	enum auth_refusal r;
	uint64_t expires_ms;
};

struct acct_state {
	int binds;
	struct bucket bucket;
};

struct policy {
	struct hash *addrs, *neg, *accts;
	uint64_t log_ms;
	unsigned log_suppressed;
};

static const char *const refusal_texts[] = {
    [AUTH_OK] = "ok",
    [AUTH_UNKNOWN_ACCOUNT] = "unknown account",
    [AUTH_WRONG_PASSWORD] = "wrong password",
    [AUTH_DISABLED] = "account disabled",
    [AUTH_ADDRESS] = "address not allowed",
    [AUTH_MAX_BINDS] = "max_binds reached",
    [AUTH_BLOCKED] = "too many failed logins from this address",
    [AUTH_BUSY] = "too many logins at once from this address",
    [AUTH_UNAVAILABLE] = "authentication unavailable",
};

const char *auth_refusal_text(enum auth_refusal r)
{
	return (unsigned)r < ARRAY_LEN(refusal_texts) ? refusal_texts[r] : "refused";
}

enum auth_refusal auth_refusal_of(const char *reason)
{
	if (!reason)
		return AUTH_UNAVAILABLE;
	for (unsigned i = 0; i < ARRAY_LEN(refusal_texts); i++)
		if (strcmp(reason, refusal_texts[i]) == 0)
			return (enum auth_refusal)i;
	return policy_refusal_from_db(reason);
}

enum auth_refusal policy_refusal_from_db(const char *reason)
{
	if (!reason)
		return AUTH_UNAVAILABLE;
	if (strcasecmp(reason, "unknown account") == 0)
		return AUTH_UNKNOWN_ACCOUNT;
	if (strcasecmp(reason, "wrong password") == 0)
		return AUTH_WRONG_PASSWORD;
	if (strcasecmp(reason, "account disabled") == 0)
		return AUTH_DISABLED;
	if (strcasecmp(reason, "address not allowed") == 0)
		return AUTH_ADDRESS;
	return AUTH_UNAVAILABLE;
}

bool auth_refusal_is_failure(enum auth_refusal r)
{
	return r == AUTH_UNKNOWN_ACCOUNT || r == AUTH_WRONG_PASSWORD || r == AUTH_DISABLED || r == AUTH_ADDRESS;
}

struct policy *policy_new(void)
{
	struct policy *p = xcalloc(1, sizeof *p);
	p->addrs = hash_new();
	p->neg = hash_new();
	p->accts = hash_new();
	return p;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	hash_free(p->addrs, free);
	hash_free(p->neg, free);
	hash_free(p->accts, free);
	free(p);
}

void policy_login_key(const char *account, const char *password, const char *peer, uint8_t key[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md)
		abort();
	/* No password (a login by address alone) is not the empty one. */
	const char *parts[] = {account ? account : "", password ? password : "\x01", peer ? peer : ""};
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t i = 0; i < ARRAY_LEN(parts); i++)
		EVP_DigestUpdate(md, parts[i], strlen(parts[i]) + 1); /* with the NUL: unambiguous */
	unsigned len = 0;
	EVP_DigestFinal_ex(md, key, &len);
	EVP_MD_CTX_free(md);
}

static void key_text(const uint8_t key[32], char out[65])
{
	hex_encode(key, 32, out);
}

static bool expired_neg(const char *key, void *value, void *arg)
{
	(void)key;
	struct neg_entry *e = value;
	if (e->expires_ms > *(const uint64_t *)arg)
		return false;
	free(e);
	return true;
}

static bool idle_addr(const char *key, void *value, void *arg)
{
	(void)key;
	struct addr_state *a = value;
	uint64_t now = *(const uint64_t *)arg;
	if (a->waiting > 0 || now < a->blocked_until_ms || now - a->last_fail_ms < POLICY_FAIL_MEMORY_MS)
		return false;
	free(a);
	return true;
}

/* The state of peer; NULL when there is none and no room for it. */
static struct addr_state *addr_get(struct policy *p, const char *peer, uint64_t now, bool create)
{
	const char *k = peer ? peer : "";
	struct addr_state *a = hash_get(p->addrs, k);
	if (a || !create)
		return a;
	if (hash_count(p->addrs) >= POLICY_MAX_ENTRIES)
		hash_each(p->addrs, idle_addr, &now);
	if (hash_count(p->addrs) >= POLICY_MAX_ENTRIES)
		return NULL;
	a = xcalloc(1, sizeof *a);
	hash_put(p->addrs, k, a);
	return a;
}

enum auth_refusal policy_login_begin(struct policy *p, const char *account, const char *password, const char *peer,
                                     uint64_t now_ms, uint8_t key[32])
{
	struct addr_state *a = addr_get(p, peer, now_ms, true);
	if (a && now_ms < a->blocked_until_ms)
		return AUTH_BLOCKED;
	policy_login_key(account, password, peer, key);
	char kt[65];
	key_text(key, kt);
	struct neg_entry *e = hash_get(p->neg, kt);
	if (e && e->expires_ms > now_ms)
		return e->r;
	if (a && a->waiting >= POLICY_LOGINS_AT_ONCE)
		return AUTH_BUSY;
	if (a)
		a->waiting++;
	return AUTH_OK;
}

void policy_login_end(struct policy *p, const uint8_t key[32], const char *peer, enum auth_refusal r, uint64_t now_ms)
{
	struct addr_state *a = addr_get(p, peer, now_ms, r != AUTH_OK);
	if (a && a->waiting > 0)
		a->waiting--;
	if (!auth_refusal_is_failure(r)) {
		if (r == AUTH_OK && a)
			a->fails = 0;
		return;
	}
	char kt[65];
	key_text(key, kt);
	if (hash_count(p->neg) >= POLICY_MAX_ENTRIES)
		hash_each(p->neg, expired_neg, &now_ms);
	struct neg_entry *e = hash_get(p->neg, kt);
	if (!e && hash_count(p->neg) < POLICY_MAX_ENTRIES) {
		e = xcalloc(1, sizeof *e);
		hash_put(p->neg, kt, e);
	}
	if (e) {
		e->r = r;
		e->expires_ms = now_ms + POLICY_NEG_TTL_MS;
	}
	if (!a)
		return;
	if (now_ms - a->last_fail_ms > POLICY_FAIL_MEMORY_MS)
		a->fails = 0;
	a->fails++;
	a->last_fail_ms = now_ms;
	if (a->fails >= POLICY_FAILS_FREE) {
		uint64_t block = POLICY_BLOCK_MIN_MS;
		for (int i = POLICY_FAILS_FREE; i < a->fails && block < POLICY_BLOCK_MAX_MS; i++)
			block *= 2;
		a->blocked_until_ms = now_ms + (block < POLICY_BLOCK_MAX_MS ? block : POLICY_BLOCK_MAX_MS);
	}
}

uint64_t policy_refusal_delay_ms(struct policy *p, const char *peer, uint64_t now_ms)
{
	struct addr_state *a = addr_get(p, peer, now_ms, false);
	if (!a || !a->fails)
		return 0;
	uint64_t d = (uint64_t)a->fails * POLICY_DELAY_STEP_MS;
	return d < POLICY_DELAY_MAX_MS ? d : POLICY_DELAY_MAX_MS;
}

bool policy_log_refusal(struct policy *p, uint64_t now_ms, unsigned *suppressed)
{
	if (p->log_ms && now_ms - p->log_ms < 1000) {
		p->log_suppressed++;
		return false;
	}
	p->log_ms = now_ms;
	*suppressed = p->log_suppressed;
	p->log_suppressed = 0;
	return true;
}

static bool idle_or_reset(const char *key, void *value, void *arg)
{
	(void)key;
	(void)arg;
	struct addr_state *a = value;
	if (a->waiting > 0) {
		a->fails = 0;
		a->blocked_until_ms = 0;
		return false;
	}
	free(a);
	return true;
}

void policy_forget_logins(struct policy *p)
{
	hash_free(p->neg, free);
	p->neg = hash_new();
	/* Address states go too: a corrected allowed_addresses or password
	 * must not stay blocked.  Logins still waiting keep their count. */
	hash_each(p->addrs, idle_or_reset, NULL);
}

static struct acct_state *acct_get(struct policy *p, const char *account)
{
	struct acct_state *s = hash_get(p->accts, account);
	if (!s) {
		s = xcalloc(1, sizeof *s);
		hash_put(p->accts, account, s);
	}
	return s;
}

bool policy_bind(struct policy *p, const struct account_info *a)
{
	struct acct_state *s = acct_get(p, a->name);
	if (a->max_binds > 0 && s->binds >= a->max_binds)
		return false;
	s->binds++;
	return true;
}

void policy_unbind(struct policy *p, const char *account)
{
	struct acct_state *s = hash_get(p->accts, account);
	if (s && s->binds > 0)
		s->binds--;
}

int policy_binds(const struct policy *p, const char *account)
{
	struct acct_state *s = hash_get(p->accts, account);
	return s ? s->binds : 0;
}

int policy_take(struct policy *p, const char *account, double rate, int n, uint64_t now_ms)
{
	if (rate <= 0)
		return 0;
	return bucket_take(&acct_get(p, account)->bucket, rate, n, now_ms);
}
