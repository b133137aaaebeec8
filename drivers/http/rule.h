/*
 * rule: what a provider's answer means — success, temporary, throttled or
 * permanent — and the message id and error text in it.  Compiled once from
 * the settings, evaluated per response; pure, no I/O.
 *
 * Evaluation of (status, body):
 * 1. status in success_status (default 200, 201, 202), and the body matches
 *    success_regex and/or the value at success_json_pointer equals
 *    success_value (when configured) → MSG_SENT with the id from id_regex
 *    (first group) or id_json_pointer (NULL id when no id rule is set or it
 *    finds nothing: the caller decides).  A success status whose body fails
 *    the body rules → MSG_REJECTED.
 * 2. 429 → MSG_THROTTLED.
 * 3. status in temporary_status (default 408, 429, 5xx) → MSG_TEMPORARY.
 * 4. anything else → MSG_REJECTED.
 * Every failure carries error_code = the HTTP status and error_text = the
 * provider's text by error_text_regex / error_json_pointer, or else a short
 * excerpt of the body.
 * Status lists hold integers (100..599) or class strings "2xx".."5xx".
 */
#ifndef SMSPOOL_HTTP_RULE_H
#define SMSPOOL_HTTP_RULE_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "errbuf.h"
#include "msg.h"
#include "util.h"

#define HTTP_RULE_MAX_STATUS 32
#define HTTP_RULE_EXCERPT 160

struct http_status_set {
	int lo[HTTP_RULE_MAX_STATUS], hi[HTTP_RULE_MAX_STATUS];
	int n;
};

struct http_rule_conf { /* borrowed strings / JSON, any may be NULL */
	const json_t *success_status, *temporary_status;
	const char *success_regex, *success_json_pointer, *success_value;
	const char *id_regex, *id_json_pointer;
	const char *error_text_regex, *error_json_pointer;
};

struct http_rule {
	struct http_status_set success, temporary;
	bool has_success_re, has_id_re, has_err_re;
	regex_t success_re, id_re, err_re;
	char *success_ptr, *success_value, *id_ptr, *err_ptr;
	bool needs_json;
};

struct http_verdict {
	enum msg_outcome outcome; /* MSG_SENT, _TEMPORARY, _THROTTLED or _REJECTED */
	char *id;                 /* new string or NULL */
	char code[16];            /* the HTTP status as text */
	char *text;               /* new string or NULL (success) */
};

/* Compiles c into r (zeroed by the caller).  Returns 0 or -1 with err naming
 * the setting; r must be freed with http_rule_free either way. */
MUST_CHECK int http_rule_compile(struct http_rule *r, const struct http_rule_conf *c, struct errbuf *err);
void http_rule_free(struct http_rule *r);
/* Parses a status list (JSON array) into s; name is used in errors. */
MUST_CHECK int http_status_set_parse(struct http_status_set *s, const json_t *list, const char *name,
                                     struct errbuf *err);
bool http_status_in(const struct http_status_set *s, long status);

/* Judges one response.  body is NUL-terminated (len bytes before the NUL;
 * an embedded NUL ends what the regexes see).  Fills v (free its strings
 * with http_verdict_clear). */
void http_rule_eval(const struct http_rule *r, long status, const char *body, size_t len, struct http_verdict *v);
void http_verdict_clear(struct http_verdict *v);

/* A printable excerpt of body: control characters become spaces, runs of
 * spaces collapse, at most max bytes (not splitting UTF-8).  New string. */
char *http_excerpt(const char *body, size_t len, size_t max);

#endif
