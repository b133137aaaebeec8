/* http response rules (success / temporary / throttled / permanent, id and
 * error text extraction) and JSON pointers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/jsonptr.h"
#include "http/rule.h"

static void compile_ok(struct http_rule *r, const struct http_rule_conf *c)
{
	struct errbuf err = {""};
	memset(r, 0, sizeof *r);
	if (http_rule_compile(r, c, &err))
		fail_msg("compile: %s", err.msg);
}

static void eval(const struct http_rule *r, long status, const char *body, struct http_verdict *v)
{
	http_rule_eval(r, status, body, strlen(body), v);
}

static void defaults(void **state)
{
	(void)state;
	struct http_rule r;
	struct http_rule_conf c = {0};
	compile_ok(&r, &c);
	static const struct {
		long status;
		enum msg_outcome want;
	} t[] = {
	    {200, MSG_SENT},      {201, MSG_SENT},      {202, MSG_SENT},      {204, MSG_REJECTED},
	    {400, MSG_REJECTED},  {401, MSG_REJECTED},  {404, MSG_REJECTED},  {408, MSG_TEMPORARY},
	    {429, MSG_THROTTLED}, {500, MSG_TEMPORARY}, {503, MSG_TEMPORARY}, {599, MSG_TEMPORARY},
	    {302, MSG_REJECTED},
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		struct http_verdict v;
		eval(&r, t[i].status, "  some\r\nbody  ", &v);
		if (v.outcome != t[i].want)
			fail_msg("status %ld: outcome %d want %d", t[i].status, v.outcome, t[i].want);
		if (v.outcome != MSG_SENT) {
			char code[8];
			snprintf(code, sizeof code, "%ld", t[i].status);
			assert_string_equal(v.code, code);
			assert_string_equal(v.text, "some body"); /* excerpt: trimmed, controls as spaces */
		}
		assert_null(v.id); /* no id rule */
		http_verdict_clear(&v);
	}
	http_rule_free(&r);
}

static void json_rules(void **state)
{
	(void)state;
	/* vonage-like: HTTP 200 always, status "0" means accepted */
	struct http_rule r;
	struct http_rule_conf c = {.success_json_pointer = "/messages/0/status",
	                           .success_value = "0",
	                           .id_json_pointer = "/messages/0/message-id",
	                           .error_json_pointer = "/messages/0/error-text"};
	compile_ok(&r, &c);
	struct http_verdict v;
	eval(&r, 200, "{\"messages\":[{\"status\":\"0\",\"message-id\":\"0A0000001\"}]}", &v);
	assert_int_equal(v.outcome, MSG_SENT);
	assert_string_equal(v.id, "0A0000001");
	http_verdict_clear(&v);
	eval(&r, 200, "{\"messages\":[{\"status\":\"2\",\"error-text\":\"Missing to param\"}]}", &v);
	assert_int_equal(v.outcome, MSG_REJECTED);
	assert_string_equal(v.code, "200");
	assert_string_equal(v.text, "Missing to param");
	http_verdict_clear(&v);
	eval(&r, 200, "not json", &v); /* success status but the rule fails */
	assert_int_equal(v.outcome, MSG_REJECTED);
	assert_string_equal(v.text, "not json");
	http_verdict_clear(&v);
	eval(&r, 500, "", &v); /* empty body: a fixed text */
	assert_int_equal(v.outcome, MSG_TEMPORARY);
	assert_string_equal(v.text, "HTTP error without a body");
	http_verdict_clear(&v);
	http_rule_free(&r);
}

static void regex_rules(void **state)
{
	(void)state;
	/* Kannel-like: 202 "0: Accepted for delivery" */
	json_t *ok = json_pack("[i]", 202);
	struct http_rule r;
	struct http_rule_conf c = {.success_status = ok,
	                           .success_regex = "^0: Accepted",
	                           .id_regex = "id=([A-Za-z0-9]+)",
	                           .error_text_regex = "^[0-9]+: (.*)$"};
	compile_ok(&r, &c);
	struct http_verdict v;
	eval(&r, 202, "0: Accepted for delivery id=abc123", &v);
	assert_int_equal(v.outcome, MSG_SENT);
	assert_string_equal(v.id, "abc123");
	http_verdict_clear(&v);
	eval(&r, 200, "0: Accepted for delivery", &v); /* 200 is not in the list */
	assert_int_equal(v.outcome, MSG_REJECTED);
	http_verdict_clear(&v);
	eval(&r, 403, "3: Authorization failed for sendsms", &v);
	assert_int_equal(v.outcome, MSG_REJECTED);
	assert_string_equal(v.code, "403");
	assert_string_equal(v.text, "Authorization failed for sendsms");
	http_verdict_clear(&v);
	/* an error text of control characters only is no text: the body's
	 * excerpt stands in (found by fuzz_http_rule) */
	eval(&r, 403, "3: \x03\x01", &v);
	assert_string_equal(v.text, "3:");
	http_verdict_clear(&v);
	http_rule_free(&r);
	json_decref(ok);
}

static void status_lists(void **state)
{
	(void)state;
	json_t *tmp = json_pack("[s, i]", "4xx", 503);
	struct http_rule r;
	struct http_rule_conf c = {.temporary_status = tmp};
	compile_ok(&r, &c);
	struct http_verdict v;
	eval(&r, 404, "x", &v);
	assert_int_equal(v.outcome, MSG_TEMPORARY);
	http_verdict_clear(&v);
	eval(&r, 429, "x", &v); /* 429 stays throttling */
	assert_int_equal(v.outcome, MSG_THROTTLED);
	http_verdict_clear(&v);
	eval(&r, 500, "x", &v); /* 5xx is no longer temporary */
	assert_int_equal(v.outcome, MSG_REJECTED);
	http_verdict_clear(&v);
	http_rule_free(&r);
	json_decref(tmp);
}

static void refuses(void **state)
{
	(void)state;
	json_t *bad1 = json_pack("[i]", 99), *bad2 = json_pack("[s]", "6xx"), *bad3 = json_pack("[]");
	static const char *const want[] = {
	    "success_status[0]",
	    "temporary_status[0]",
	    "must not be empty",
	    "id_regex: needs a group",
	    "success_regex: bad regular expression",
	    "not a JSON pointer",
	    "go together",
	    "exclude each other",
	};
	struct http_rule_conf cs[] = {
	    {.success_status = bad1},        {.temporary_status = bad2},
	    {.success_status = bad3},        {.id_regex = "id=[0-9]+"},
	    {.success_regex = "(unclosed"},  {.id_json_pointer = "messages/0"},
	    {.success_json_pointer = "/ok"}, {.id_regex = "(x)", .id_json_pointer = "/x"},
	};
	for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
		struct http_rule r = {0};
		struct errbuf err = {""};
		assert_int_equal(http_rule_compile(&r, &cs[i], &err), -1);
		if (!strstr(err.msg, want[i]))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, want[i]);
		http_rule_free(&r);
	}
	json_decref(bad1);
	json_decref(bad2);
	json_decref(bad3);
}

static void pointers(void **state)
{
	(void)state;
	json_t *doc = json_loads("{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"m~n\": 8, \"n\": null,"
	                         " \"t\": true, \"r\": 1.5, \"o\": {\"x\": {\"y\": \"deep\"}}}",
	                         0, NULL);
	assert_non_null(doc);
	assert_ptr_equal(jsonptr_get(doc, ""), doc);
	static const struct {
		const char *ptr, *want; /* NULL: no value / not a scalar */
	} t[] = {
	    {"/foo/0", "bar"}, {"/foo/1", "baz"},  {"/foo/2", NULL}, {"/foo/01", NULL}, {"/foo/-", NULL},
	    {"/", "0"},        {"/a~1b", "1"},     {"/m~0n", "8"},   {"/n", NULL},      {"/t", "true"},
	    {"/r", "1.5"},     {"/o/x/y", "deep"}, {"/o/x", NULL},   {"/nope/x", NULL}, {"foo", NULL},
	    {"/m~2n", NULL},   {"/foo/0/x", NULL},
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		char *got = jsonptr_scalar_text(jsonptr_get(doc, t[i].ptr));
		if ((got == NULL) != (t[i].want == NULL) || (got && strcmp(got, t[i].want)))
			fail_msg("%s: got %s want %s", t[i].ptr, got ? got : "(null)",
			         t[i].want ? t[i].want : "(null)");
		free(got);
	}
	assert_true(jsonptr_valid("/a~0~1"));
	assert_false(jsonptr_valid("/a~"));
	assert_false(jsonptr_valid("a"));
	json_decref(doc);
}

static void excerpt(void **state)
{
	(void)state;
	const char *in = "\n  <html>\t<body>é€ x";
	char *e = http_excerpt(in, strlen(in), 100);
	assert_string_equal(e, "<html> <body>é€ x");
	free(e);
	e = http_excerpt("abé", 4, 3); /* never splits a UTF-8 sequence */
	assert_string_equal(e, "ab");
	free(e);
	/* a lead byte without its continuation bytes does not smuggle the
	 * control characters after it into the text (found by fuzz_http_rule) */
	e = http_excerpt("a\xff\x1e\x01"
	                 "b\xe2\n",
	                 7, 100);
	assert_string_equal(e, "a\xff"
	                       " b\xe2");
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults),     cmocka_unit_test(json_rules), cmocka_unit_test(regex_rules),
	    cmocka_unit_test(status_lists), cmocka_unit_test(refuses),    cmocka_unit_test(pointers),
	    cmocka_unit_test(excerpt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
