/* auth: see auth.h. */
#include "http/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

bool http_auth_equal(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	/* Hashing first makes the comparison length-independent. */
	uint8_t ha[SHA256_DIGEST_LENGTH], hb[SHA256_DIGEST_LENGTH];
	SHA256((const uint8_t *)a, strlen(a), ha);
	SHA256((const uint8_t *)b, strlen(b), hb);
	return CRYPTO_memcmp(ha, hb, sizeof ha) == 0;
}

int http_auth_token(const char *got, const char *want)
{
	if (!got || !*got)
		return 401;
	return http_auth_equal(got, want) ? 0 : 403;
}

int http_auth_basic_decode(const char *b64, size_t n, char **user, char **pass)
{
	*user = *pass = NULL;
	if (n == 0 || n % 4 || n > 1024)
		return -1;
	uint8_t *dec = xmalloc(n / 4 * 3 + 1);
	int len = EVP_DecodeBlock(dec, (const uint8_t *)b64, (int)n);
	if (len < 0) {
		free(dec);
		return -1;
	}
	if (b64[n - 1] == '=')
		len--;
	if (b64[n - 2] == '=')
		len--;
	dec[len] = 0;
	char *colon = memchr(dec, ':', (size_t)len);
	int rc = -1;
	if (colon && !memchr(dec, 0, (size_t)len)) {
		*user = xstrndup((char *)dec, (size_t)(colon - (char *)dec));
		*pass = xstrdup(colon + 1);
		rc = 0;
	}
	OPENSSL_cleanse(dec, (size_t)len);
	free(dec);
	return rc;
}

int http_auth_basic(const char *authorization, const char *user, const char *pass)
{
	if (!authorization)
		return 401;
	if (strncasecmp(authorization, "Basic ", 6) != 0)
		return 401;
	const char *b64 = authorization + 6;
	while (*b64 == ' ')
		b64++;
	char *got_user, *got_pass;
	if (http_auth_basic_decode(b64, strlen(b64), &got_user, &got_pass))
		return 401;
	/* Both compared, always, so that timing does not tell which was wrong. */
	bool ok_user = http_auth_equal(got_user, user ? user : "");
	bool ok_pass = http_auth_equal(got_pass, pass ? pass : "");
	OPENSSL_cleanse(got_pass, strlen(got_pass));
	free(got_pass);
	free(got_user);
	return (ok_user & ok_pass) ? 0 : 403;
}

void http_auth_hmac_hex(const char *key, const void *body, size_t len, char out[65])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned mlen = 0;
	HMAC(EVP_sha256(), key, (int)strlen(key), body, len, mac, &mlen);
	static const char hx[] = "0123456789abcdef";
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hx[mac[i] >> 4];
		out[2 * i + 1] = hx[mac[i] & 15];
	}
	out[64] = 0;
}

int http_auth_hmac(const char *key, const void *body, size_t len, const char *sig)
{
	if (!sig)
		return 401;
	if (strncasecmp(sig, "sha256=", 7) == 0)
		sig += 7;
	uint8_t got[32];
	if (strlen(sig) != 64 || hex_decode(sig, got, sizeof got) != 32)
		return 401;
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned mlen = 0;
	HMAC(EVP_sha256(), key, (int)strlen(key), body, len, mac, &mlen);
	return CRYPTO_memcmp(got, mac, 32) == 0 ? 0 : 403;
}
