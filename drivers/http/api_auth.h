/*
 * api_auth: the pure authentication helpers of the HTTP send API: reading
 * HTTP basic credentials and a short-lived cache of successful logins (the
 * token bucket is src/bucket.h).  No I/O; tested by tests/unit/test_http_api.c.
 *
 * The cache spares one bcrypt in the database per request.  Its key is
 * SHA-256 over (account, password, peer address): the plain password is
 * never kept, a different password misses, and an account limited to some
 * addresses (allowed_addresses) is asked again for every new peer.  A hit
 * returns what the database said about the account (throughput); it expires
 * ttl after the login that filled it, or as soon as the account's access
 * changes in the database (http_api_cache_forget from account_revoked).
 */
#ifndef SMSPOOL_HTTP_API_AUTH_H
#define SMSPOOL_HTTP_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "util.h"

#define HTTP_API_CACHE_MAX 1024

enum http_api_cred {
	API_CRED_OK,      /* *user and *pass are new strings */
	API_CRED_MISSING, /* no Authorization header */
	API_CRED_BEARER,  /* Authorization: Bearer … (not supported) */
	API_CRED_BAD,     /* another scheme, or unreadable basic credentials */
};

/* Reads "Basic base64(user:pass)" (authorization may be NULL, borrowed).
 * The caller frees *pass with http_api_secret_free. */
MUST_CHECK enum http_api_cred http_api_basic(const char *authorization, char **user, char **pass);
/* Wipes and frees a secret (NULL is fine). */
void http_api_secret_free(char *s);

struct http_api_cache_entry {
	uint8_t key[32];
	char *account;
	int max_binds;
	double throughput;
	uint64_t expires_ms;
};

struct http_api_cache {
	struct http_api_cache_entry e[HTTP_API_CACHE_MAX];
	size_t n;
};

/* The cache key of a login (peer may be NULL). */
void http_api_cache_key(const char *user, const char *pass, const char *peer, uint8_t key[32]);
/* The live entry of key (borrowed), or NULL.  Expired entries are dropped. */
const struct http_api_cache_entry *http_api_cache_get(struct http_api_cache *c, const uint8_t key[32], uint64_t now_ms);
/* Remembers a successful login (a borrowed) until now + ttl_ms; when full,
 * the entry that expires first makes room. */
void http_api_cache_put(struct http_api_cache *c, const uint8_t key[32], const struct account_info *a, uint64_t now_ms,
                        uint64_t ttl_ms);
void http_api_cache_clear(struct http_api_cache *c);
/* Forgets the logins of account ("" = every account): the next request
 * of it is authenticated by the database again.  Returns how many. */
int http_api_cache_forget(struct http_api_cache *c, const char *account);

#endif
