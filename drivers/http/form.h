/*
 * form: application/x-www-form-urlencoded decoding, for query strings and
 * form bodies of callbacks.  Pure and bounded; fuzzed by
 * tests/fuzz/fuzz_http_form.c.
 *
 * Contract: `+` is a space, `%XX` an octet; a `%` not followed by two hex
 * digits, a decoded NUL, or more than HTTP_FORM_MAX_FIELDS fields is an
 * error.  A field without `=` has the empty value.  Empty fields (`a=1&&b=2`)
 * are skipped.  Values are octets: the caller checks UTF-8 where it matters.
 */
#ifndef SMSPOOL_HTTP_FORM_H
#define SMSPOOL_HTTP_FORM_H

#include <stddef.h>

#include "errbuf.h"
#include "util.h"

#define HTTP_FORM_MAX_FIELDS 256

struct http_kv {
	char *name, *value; /* owned, NUL-terminated */
};

struct http_form {
	struct http_kv *kv;
	size_t n;
};

/* Decodes s (len bytes, borrowed) and appends its fields to f (zeroed or
 * earlier filled).  Returns 0, or -1 with err set (f keeps what it had). */
MUST_CHECK int http_form_parse(const char *s, size_t len, struct http_form *f, struct errbuf *err);
/* The first value of name, borrowed from f; NULL if absent. */
const char *http_form_get(const struct http_form *f, const char *name);
void http_form_free(struct http_form *f);
/* Percent-decodes [s, s+len) into a new string (`+` → space when plus).
 * Returns NULL on a bad escape or a decoded NUL. */
char *http_form_unescape(const char *s, size_t len, int plus);

/* The media type of a Content-Type header value (NULL: none), lowercased,
 * without parameters or blanks, into out (cap octets): "application/json"
 * for "Application/JSON; charset=utf-8".  Whether a body is a form. */
void http_form_media_type(const char *content_type, char *out, size_t cap);

#endif
