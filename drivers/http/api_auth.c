/* api_auth: see api_auth.h. */
#include "http/api_auth.h"

#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/auth.h"
#include "policy.h"

enum http_api_cred http_api_basic(const char *authorization, char **user, char **pass)
{
	*user = *pass = NULL;
	if (!authorization)
		return API_CRED_MISSING;
	while (*authorization == ' ')
		authorization++;
	if (strncasecmp(authorization, "Bearer", 6) == 0 && (authorization[6] == ' ' || authorization[6] == 0))
		return API_CRED_BEARER;
	if (strncasecmp(authorization, "Basic ", 6) != 0)
		return API_CRED_BAD;
	const char *b64 = authorization + 6;
	while (*b64 == ' ')
		b64++;
	size_t n = strlen(b64);
	while (n && b64[n - 1] == ' ')
		n--;
	if (http_auth_basic_decode(b64, n, user, pass))
		return API_CRED_BAD;
	if (!**user) { /* an account has a name */
		free(*user);
		http_api_secret_free(*pass);
		*user = *pass = NULL;
		return API_CRED_BAD;
	}
	return API_CRED_OK;
}

void http_api_secret_free(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void http_api_cache_key(const char *user, const char *pass, const char *peer, uint8_t key[32])
{
	policy_login_key(user, pass, peer, key); /* the core's key (src/policy.c) */
}

static void drop(struct http_api_cache *c, size_t i)
{
	free(c->e[i].account);
	c->e[i] = c->e[--c->n];
}

const struct http_api_cache_entry *http_api_cache_get(struct http_api_cache *c, const uint8_t key[32], uint64_t now_ms)
{
	for (size_t i = 0; i < c->n;) {
		if (c->e[i].expires_ms <= now_ms) {
			drop(c, i);
			continue;
		}
		if (CRYPTO_memcmp(c->e[i].key, key, 32) == 0)
			return &c->e[i];
		i++;
	}
	return NULL;
}

void http_api_cache_put(struct http_api_cache *c, const uint8_t key[32], const struct account_info *a, uint64_t now_ms,
                        uint64_t ttl_ms)
{
	if (ttl_ms == 0)
		return;
	size_t at = c->n;
	for (size_t i = 0; i < c->n; i++)
		if (CRYPTO_memcmp(c->e[i].key, key, 32) == 0) {
			at = i;
			break;
		}
	if (at == c->n && c->n == HTTP_API_CACHE_MAX) {
		at = 0;
		for (size_t i = 1; i < c->n; i++)
			if (c->e[i].expires_ms < c->e[at].expires_ms)
				at = i;
	}
	if (at == c->n)
		c->n++;
	else
		free(c->e[at].account);
	struct http_api_cache_entry *e = &c->e[at];
	memcpy(e->key, key, 32);
	e->account = xstrdup(a->name);
	e->max_binds = a->max_binds;
	e->throughput = a->throughput;
	e->expires_ms = now_ms + ttl_ms;
}

void http_api_cache_clear(struct http_api_cache *c)
{
	while (c->n)
		drop(c, c->n - 1);
}

int http_api_cache_forget(struct http_api_cache *c, const char *account)
{
	int n = 0;
	for (size_t i = 0; i < c->n;) {
		if (*account && strcmp(c->e[i].account, account) != 0) {
			i++;
			continue;
		}
		drop(c, i);
		n++;
	}
	return n;
}
