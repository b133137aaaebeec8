/*
 * template: the request templates of the http connection (URL, headers,
 * body), compiled once from the settings and expanded per request.  Pure: no
 * I/O, no globals; fuzzed by tests/fuzz/fuzz_http_template.c.
 *
 * Syntax:
 * - `{name}` or `{name|filter}` is a placeholder when name is an identifier
 *   ([A-Za-z_][A-Za-z0-9_]*) followed by `}` or `|`.  Every other `{` is
 *   literal text, so JSON bodies need no escaping: `{"to": "{recipient}"}`.
 * - `{{` is a literal `{` (for the rare literal "{identifier}").
 * - Names (enum http_var) and filters (enum http_filter) are closed sets:
 *   an unknown name or filter, or an unterminated `{name|…`, is refused by
 *   http_tpl_compile with an error naming it.
 * - A placeholder without a filter uses the template's default filter (url
 *   for the URL, none for headers, by content type for the body).
 */
#ifndef SMSPOOL_HTTP_TEMPLATE_H
#define SMSPOOL_HTTP_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "errbuf.h"
#include "sbuf.h"
#include "util.h"

enum http_var {
	HV_RECIPIENT,
	HV_SENDER,
	HV_TEXT,
	HV_ID,
	HV_CLIENT_REF,
	HV_ENCODING,
	HV_PARTS,
	HV_PART,
	HV_PART_HEX,
	HV_UDH_HEX,
	HV_VALID_UNTIL,
	HV_VALID_UNTIL_ISO,
	HV_WANT_REPORT,
	HV_CALLBACK_URL,
	HV_ATTEMPT,
	HV_USERNAME,
	HV_PASSWORD,
	HV_TOKEN,
	HV_CODING, /* 0 GSM 7-bit, 1 8-bit, 2 UCS-2 (Kannel's coding) */
	HV_COUNT
};

enum http_filter {
	HF_NONE,
	HF_URL,     /* percent-encoding of everything but RFC 3986 unreserved characters */
	HF_JSON,    /* the inside of a JSON string */
	HF_XML,     /* &, <, >, ", ' as entities */
	HF_HEX,     /* the UTF-8 octets as uppercase hex */
	HF_UCS2HEX, /* UTF-16BE as uppercase hex; invalid UTF-8 fails the expansion */
	HF_COUNT
};

struct http_tpl;

/* Name of a variable / filter, e.g. "recipient" / "url". */
const char *http_var_name(enum http_var v);
const char *http_filter_name(enum http_filter f);
/* Parses a filter name; returns the filter or -1. */
int http_filter_from_name(const char *name, size_t len);

/* Compiles src (borrowed).  what names the template in errors ("url").
 * Returns a new template in *out, or -1 with err naming the problem. */
MUST_CHECK int http_tpl_compile(const char *src, enum http_filter def, const char *what, struct http_tpl **out,
                                struct errbuf *err);
void http_tpl_free(struct http_tpl *t);
/* True when the template uses variable v. */
bool http_tpl_uses(const struct http_tpl *t, enum http_var v);

/* Appends the expansion to out.  vals[v] (borrowed, may be NULL = empty)
 * holds each variable's value as UTF-8.  Returns 0, or -1 with err set when
 * a value cannot be filtered (ucs2hex of invalid UTF-8). */
MUST_CHECK int http_tpl_expand(const struct http_tpl *t, const char *const vals[HV_COUNT], struct sbuf *out,
                               struct errbuf *err);

/* The values of the template variables for one message (the http, exec
 * and email connections fill them alike).  v[] points into the message
 * (borrowed: it must outlive vs) or into num[]. */
struct msg;
struct http_tpl_vals {
	const char *v[HV_COUNT];
	char num[6][32];
};
/* Fills vs from m for part `part` (1-based) of `parts`, whose encoding is
 * named encoding (gsm7, ucs2, binary; borrowed, may be NULL): every message
 * variable, {coding} in Kannel's numbering derived from encoding.  The
 * connection's own variables (username, password, token, callback_url) are
 * left NULL for the caller. */
void http_tpl_vals_fill(struct http_tpl_vals *vs, const struct msg *m, const char *encoding, int parts, int part);

/* Header values as templates, by header name: the `headers` setting of the
 * http and email connections. */
struct http_tpl_header {
	char *name;
	struct http_tpl *tpl;
};
struct http_tpl_headers {
	struct http_tpl_header *v;
	size_t n;
};
/* Compiles obj (borrowed; a JSON object header name -> template text, NULL =
 * none) with default filter def; errors name "<what>.<name>".  Returns 0, or
 * -1 with err; free h with http_tpl_headers_free either way. */
MUST_CHECK int http_tpl_headers_compile(const json_t *obj, enum http_filter def, const char *what,
                                        struct http_tpl_headers *h, struct errbuf *err);
void http_tpl_headers_free(struct http_tpl_headers *h);

/* Appends s (n bytes) through filter f.  Returns 0 or -1 (ucs2hex only). */
MUST_CHECK int http_filter_apply(enum http_filter f, const char *s, size_t n, struct sbuf *out, struct errbuf *err);

#endif
