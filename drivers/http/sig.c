/* sig: see sig.h.  Each scheme rebuilds the signed string from what was
 * received, computes the MAC and compares in constant time. */
#include "http/sig.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/auth.h"
#include "sbuf.h"
#include "util.h"

#define SIG_MAX_JWT 8192

static const char *const method_names[] = {"md5hash", "md5", "sha1", "sha256", "sha512"};

int http_sig_method_of(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_LEN(method_names); i++)
		if (strcmp(method_names[i], name) == 0)
			return (int)i;
	return -1;
}

/* Constant-time, case-insensitive equality of two hex strings. */
static bool hex_equal(const char *want_upper, const char *got)
{
	size_t n = strlen(want_upper);
	if (strlen(got) != n)
		return false;
	char *g = xstrdup(got);
	for (size_t i = 0; i < n; i++)
		g[i] = (char)toupper((unsigned char)g[i]);
	bool eq = CRYPTO_memcmp(g, want_upper, n) == 0;
	free(g);
	return eq;
}

/* ---- Twilio ---- */

static int kv_cmp(const void *a, const void *b)
{
	const struct http_kv *x = *(const struct http_kv *const *)a, *y = *(const struct http_kv *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

/* The fields of the given forms (NULL allowed), sorted; a new array. */
static const struct http_kv **sorted_fields(const struct http_form *a, const struct http_form *b, size_t *n)
{
	size_t na = a ? a->n : 0, nb = b ? b->n : 0;
	const struct http_kv **v = xcalloc(na + nb + 1, sizeof *v);
	for (size_t i = 0; i < na; i++)
		v[i] = &a->kv[i];
	for (size_t i = 0; i < nb; i++)
		v[na + i] = &b->kv[i];
	qsort(v, na + nb, sizeof *v, kv_cmp);
	*n = na + nb;
	return v;
}

void http_sig_twilio_make(const char *token, const char *url, const struct http_form *form, char out[29])
{
	struct sbuf s;
	sbuf_init(&s);
	sbuf_add(&s, url, strlen(url));
	size_t n;
	const struct http_kv **v = sorted_fields(form, NULL, &n);
	for (size_t i = 0; i < n; i++) {
		sbuf_add(&s, v[i]->name, strlen(v[i]->name));
		sbuf_add(&s, v[i]->value, strlen(v[i]->value));
	}
	free(v);
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned mlen = 0;
	HMAC(EVP_sha1(), token, (int)strlen(token), (const uint8_t *)(s.buf ? s.buf : ""), s.len, mac, &mlen);
	sbuf_free(&s);
	EVP_EncodeBlock((uint8_t *)out, mac, (int)mlen); /* 20 octets → 28 characters and the NUL */
}

int http_sig_twilio(const char *token, const char *url, const struct http_form *form, const char *sig)
{
	if (!sig || !*sig)
		return 401;
	char want[29];
	http_sig_twilio_make(token, url, form, want);
	return http_auth_equal(want, sig) ? 0 : 403;
}

/* ---- Vonage signed webhooks (JWT HS256) ---- */

/* base64url (no padding) → new buffer with a NUL after *len octets, or NULL. */
static uint8_t *b64url_decode(const char *s, size_t n, size_t *len)
{
	if (n == 0 || n > SIG_MAX_JWT || n % 4 == 1)
		return NULL;
	size_t padded = (n + 3) / 4 * 4;
	char *t = xmalloc(padded + 1);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!isalnum((unsigned char)c)) {
			free(t);
			return NULL;
		}
		t[i] = c;
	}
	for (size_t i = n; i < padded; i++)
		t[i] = '=';
	t[padded] = 0;
	uint8_t *out = xmalloc(padded / 4 * 3 + 1);
	int r = EVP_DecodeBlock(out, (const uint8_t *)t, (int)padded);
	free(t);
	if (r < 0) {
		free(out);
		return NULL;
	}
	*len = (size_t)r - (padded - n);
	out[*len] = 0;
	return out;
}

static void b64url_encode(const uint8_t *d, size_t n, char *out)
{
	int m = EVP_EncodeBlock((uint8_t *)out, d, (int)n);
	while (m > 0 && out[m - 1] == '=')
		m--;
	out[m] = 0;
	for (int i = 0; i < m; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
}

static json_t *b64url_json(const char *s, size_t n)
{
	size_t len;
	uint8_t *d = b64url_decode(s, n, &len);
	if (!d)
		return NULL;
	json_t *j = json_loadb((const char *)d, len, JSON_REJECT_DUPLICATES, NULL);
	free(d);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int http_sig_vonage_jwt(const char *secret, const char *authorization, const void *body, size_t len, int64_t now_s,
                        long max_age_s)
{
	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return 401;
	const char *tok = authorization + 7;
	while (*tok == ' ')
		tok++;
	size_t tl = strlen(tok);
	const char *d1 = memchr(tok, '.', tl);
	const char *d2 = d1 ? memchr(d1 + 1, '.', tl - (size_t)(d1 + 1 - tok)) : NULL;
	if (!d1 || !d2 || tl > SIG_MAX_JWT || memchr(d2 + 1, '.', tl - (size_t)(d2 + 1 - tok)))
		return 401;
	json_t *hdr = b64url_json(tok, (size_t)(d1 - tok));
	json_t *claims = b64url_json(d1 + 1, (size_t)(d2 - d1 - 1));
	int rc = 401;
	if (!hdr || !claims)
		goto out;
	/* The algorithm is ours to decide: HS256, nothing else. */
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	if (!alg || strcmp(alg, "HS256") != 0) {
		rc = 403;
		goto out;
	}
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned mlen = 0;
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)tok, (size_t)(d2 - tok), mac, &mlen);
	char want[64];
	b64url_encode(mac, mlen, want);
	rc = 403;
	if (!http_auth_equal(want, d2 + 1))
		goto out;
	json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
	if (exp && (!json_is_integer(exp) || json_integer_value(exp) < now_s))
		goto out;
	if (iat && (!json_is_integer(iat) || json_integer_value(iat) > now_s + 60 ||
	            now_s - json_integer_value(iat) > max_age_s))
		goto out;
	if (!iat && !exp) /* a token that never ages could be replayed forever */
		goto out;
	const char *ph = json_string_value(json_object_get(claims, "payload_hash"));
	if (len || ph) {
		uint8_t h[SHA256_DIGEST_LENGTH];
		char hx[2 * SHA256_DIGEST_LENGTH + 1];
		SHA256(body, len, h);
		hex_encode(h, sizeof h, hx);
		if (!ph || !hex_equal(hx, ph))
			goto out;
	}
	rc = 0;
out:
	json_decref(hdr);
	json_decref(claims);
	return rc;
}

/* ---- Vonage legacy sig ---- */

int http_sig_vonage(const char *secret, enum http_sig_method m, const struct http_form *query,
                    const struct http_form *form, const char *sig)
{
	if (!sig || !*sig)
		return 401;
	size_t n;
	const struct http_kv **v = sorted_fields(query, form, &n);
	struct sbuf s;
	sbuf_init(&s);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i]->name, "sig") == 0)
			continue;
		if (i + 1 < n && strcmp(v[i]->name, v[i + 1]->name) == 0) {
			rc = 403; /* which of the two was signed? neither is trusted */
			break;
		}
		sbuf_add(&s, "&", 1);
		sbuf_add(&s, v[i]->name, strlen(v[i]->name));
		sbuf_add(&s, "=", 1);
		for (const char *p = v[i]->value; *p; p++)
			sbuf_add(&s, *p == '&' || *p == '=' ? "_" : p, 1);
	}
	free(v);
	if (!rc) {
		uint8_t mac[EVP_MAX_MD_SIZE];
		unsigned mlen = 0;
		if (m == HTTP_SIG_MD5HASH) {
			sbuf_add(&s, secret, strlen(secret));
			EVP_Digest(s.buf ? s.buf : "", s.len, mac, &mlen, EVP_md5(), NULL);
		} else {
			const EVP_MD *md = m == HTTP_SIG_MD5      ? EVP_md5()
			                   : m == HTTP_SIG_SHA1   ? EVP_sha1()
			                   : m == HTTP_SIG_SHA256 ? EVP_sha256()
			                                          : EVP_sha512();
			HMAC(md, secret, (int)strlen(secret), (const uint8_t *)(s.buf ? s.buf : ""), s.len, mac, &mlen);
		}
		char hx[2 * EVP_MAX_MD_SIZE + 1];
		hex_encode(mac, mlen, hx);
		rc = hex_equal(hx, sig) ? 0 : 403;
	}
	OPENSSL_cleanse(s.buf ? s.buf : (char *)"", s.len);
	sbuf_free(&s);
	return rc;
}

/* ---- generic ---- */

int http_sig_hmac(const char *key, const char *qs, const void *body, size_t len, const char *sig)
{
	if (!qs || !*qs)
		return http_auth_hmac(key, body, len, sig);
	struct sbuf s;
	sbuf_init(&s);
	sbuf_add(&s, qs, strlen(qs));
	sbuf_add(&s, "\n", 1);
	sbuf_add(&s, body, len);
	int rc = http_auth_hmac(key, s.buf, s.len, sig);
	sbuf_free(&s);
	return rc;
}
