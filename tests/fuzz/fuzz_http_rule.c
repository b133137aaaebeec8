/*
 * fuzz_http_rule: the HTTP response rules (drivers/http/rule.c) on any
 * provider answer.  Byte 0 picks one of a few rule sets (status lists,
 * regexes, JSON pointers: the shapes the presets use), bytes 1-2 the HTTP
 * status (100..599), the rest is the body.  Evaluation never crashes and its
 * verdict is coherent: a known outcome, the status as code, no error text on
 * success and a printable bounded one otherwise, 429 outside the success
 * list always throttled, never an empty id.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const char *success, *temporary, *success_re, *success_ptr, *success_value, *id_re, *id_ptr, *err_re, *err_ptr;
} confs[] = {
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {"[200, 202]", "[\"5xx\", 408]", "^0: Accepted", NULL, NULL, "^0: Accepted for delivery ([0-9a-f-]+)", NULL, NULL,
     NULL},
    {"[\"2xx\"]", NULL, NULL, "/messages/0/status", "0", NULL, "/messages/0/message-id", NULL,
     "/messages/0/error-text"},
    {"[201]", "[503, 504]", NULL, NULL, NULL, NULL, "/sid", NULL, "/message"},
    {"[\"2xx\", 299]", "[]", "(ok|OK)", NULL, NULL, "id=([^&]*)", NULL, "error=([^&]+)", NULL},
};

static struct http_rule rules[sizeof confs / sizeof *confs];
static int compiled;

static json_t *load(const char *s)
{
	return s ? json_loads(s, 0, NULL) : NULL;
}

static void compile_all(void)
{
	for (size_t i = 0; i < sizeof confs / sizeof *confs; i++) {
		json_t *ok = load(confs[i].success), *tmp = load(confs[i].temporary);
		struct http_rule_conf c = {ok,
		                           tmp,
		                           confs[i].success_re,
		                           confs[i].success_ptr,
		                           confs[i].success_value,
		                           confs[i].id_re,
		                           confs[i].id_ptr,
		                           confs[i].err_re,
		                           confs[i].err_ptr};
		struct errbuf err;
		if (http_rule_compile(&rules[i], &c, &err))
			abort();
		json_decref(ok);
		json_decref(tmp);
	}
	compiled = 1;
}

static void printable(const char *t, size_t max)
{
	size_t n = strlen(t);
	if (n == 0 || n > max)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7F)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3 || size > 20000)
		return 0;
	if (!compiled)
		compile_all();
	const struct http_rule *r = &rules[data[0] % (sizeof confs / sizeof *confs)];
	long status = 100 + (long)(((unsigned)data[1] << 8 | data[2]) % 500);
	size_t len = size - 3;
	char *body = malloc(len + 1);
	memcpy(body, data + 3, len);
	body[len] = 0;

	struct http_verdict v;
	http_rule_eval(r, status, body, len, &v);
	if (v.outcome != MSG_SENT && v.outcome != MSG_TEMPORARY && v.outcome != MSG_THROTTLED &&
	    v.outcome != MSG_REJECTED)
		abort();
	if (strtol(v.code, NULL, 10) != status)
		abort();
	if (v.outcome == MSG_SENT) {
		if (v.text || !http_status_in(&r->success, status))
			abort();
		if (v.id && !*v.id)
			abort();
	} else {
		if (v.id || !v.text)
			abort();
		printable(v.text, 2 * HTTP_RULE_EXCERPT);
		if (status == 429 && !http_status_in(&r->success, status) && v.outcome != MSG_THROTTLED)
			abort();
	}
	http_verdict_clear(&v);

	char *e = http_excerpt(body, len, HTTP_RULE_EXCERPT);
	if (strlen(e) > HTTP_RULE_EXCERPT || (*e && (e[0] == ' ' || e[strlen(e) - 1] == ' ')))
		abort();
	free(e);
	free(body);
	return 0;
}
