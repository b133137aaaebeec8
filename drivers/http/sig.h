/*
 * sig: the signatures providers put on their webhooks, verified against
 * what was received.  Pure (OpenSSL for the hashes, jansson for JWT claims);
 * every comparison of a secret-derived value is constant-time.
 *
 * - Twilio (X-Twilio-Signature): base64 of HMAC-SHA1(auth token, the full
 *   URL the provider called, query string included, followed by every POST
 *   form field name and value, sorted by name, without separators).
 * - Vonage signed webhooks (Messages API): "Authorization: Bearer <JWT>",
 *   HS256 with the signature secret; the claims' payload_hash is the
 *   SHA-256 hex of the body (required when there is a body), iat no older
 *   than max_age_s, exp (if present) not past.  Nothing but HS256 is
 *   accepted (no "none", no algorithm confusion).
 * - Vonage legacy SMS API signature (sig parameter): every parameter but sig
 *   (query and form together; a name given twice is refused), sorted by
 *   name, as "&name=value" with '&' and '=' in values replaced by '_'; then
 *   md5hash = MD5(that + secret), or md5/sha1/sha256/sha512 = HMAC(secret,
 *   that); hex, either case.
 * - Generic hmac: HMAC-SHA256(secret, body) when there is no query string,
 *   HMAC-SHA256(secret, query "\n" body) when there is one, so that query
 *   fields the mapping reads are covered too.
 *
 * Results as auth.h: 0 = accepted, 401 = missing or unreadable, 403 = wrong.
 */
#ifndef SMSPOOL_HTTP_SIG_H
#define SMSPOOL_HTTP_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "http/form.h"

enum http_sig_method { HTTP_SIG_MD5HASH, HTTP_SIG_MD5, HTTP_SIG_SHA1, HTTP_SIG_SHA256, HTTP_SIG_SHA512 };

/* "md5hash", "md5", "sha1", "sha256", "sha512" → the method, or -1. */
int http_sig_method_of(const char *name);

/* form may be NULL (a GET, or a body that is not a form). */
int http_sig_twilio(const char *token, const char *url, const struct http_form *form, const char *sig);
/* Computes the Twilio signature (base64, into out of at least 29 bytes). */
void http_sig_twilio_make(const char *token, const char *url, const struct http_form *form, char out[29]);

int http_sig_vonage_jwt(const char *secret, const char *authorization, const void *body, size_t len, int64_t now_s,
                        long max_age_s);

/* query and form may be NULL. */
int http_sig_vonage(const char *secret, enum http_sig_method m, const struct http_form *query,
                    const struct http_form *form, const char *sig);

/* The generic scheme above; qs is the raw query string ("" = none). */
int http_sig_hmac(const char *key, const char *qs, const void *body, size_t len, const char *sig);

#endif
