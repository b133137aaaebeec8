/*
 * auth: verification of callback credentials — shared token, HTTP basic,
 * HMAC-SHA256 of the body.  Pure (OpenSSL for the hashes); every secret
 * comparison is constant-time (it does not depend on where the strings
 * differ, nor on their lengths beyond hashing them).
 *
 * Results: 0 = accepted, 401 = credentials missing or unreadable,
 * 403 = credentials present but wrong.
 */
#ifndef SMSPOOL_HTTP_AUTH_H
#define SMSPOOL_HTTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Constant-time equality of two NUL-terminated strings (NULL ≠ anything). */
bool http_auth_equal(const char *a, const char *b);
/* Checks a token: NULL got → 401, different → 403. */
int http_auth_token(const char *got, const char *want);
/* The credentials of an HTTP Basic token: the n octets of base64 at b64
 * (at most 1024) decode to "user:pass".  Returns 0 with *user and *pass
 * new (wipe pass before freeing it), or -1 (not base64, no colon, a NUL). */
MUST_CHECK int http_auth_basic_decode(const char *b64, size_t n, char **user, char **pass);
/* Checks an Authorization header value "Basic base64(user:pass)". */
int http_auth_basic(const char *authorization, const char *user, const char *pass);
/* Checks sig (hex, either case, optionally "sha256=" before it) against
 * HMAC-SHA256(key, body).  NULL or malformed sig → 401, mismatch → 403. */
int http_auth_hmac(const char *key, const void *body, size_t len, const char *sig);
/* Lowercase hex HMAC-SHA256(key, body) into out (65 bytes). */
void http_auth_hmac_hex(const char *key, const void *body, size_t len, char out[65]);

#endif
