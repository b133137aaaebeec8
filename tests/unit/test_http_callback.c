/* http callbacks, the pure parts: form / query decoding, the field mapping
 * onto reports and inbound texts, and authentication (token, basic,
 * HMAC-SHA256 — the known vector is RFC 4231-style, computed independently
 * with Python's hmac module). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/auth.h"
#include "http/fields.h"
#include "http/form.h"

static void form_decoding(void **state)
{
	(void)state;
	struct http_form f = {0};
	struct errbuf err = {""};
	const char *s = "to=%2B491&text=Hello+W%C3%B6rld%21&&empty=&flag&a%3Db=c%26d&to=second";
	assert_int_equal(http_form_parse(s, strlen(s), &f, &err), 0);
	assert_int_equal(f.n, 6);
	assert_string_equal(http_form_get(&f, "to"), "+491"); /* the first wins */
	assert_string_equal(http_form_get(&f, "text"), "Hello Wörld!");
	assert_string_equal(http_form_get(&f, "empty"), "");
	assert_string_equal(http_form_get(&f, "flag"), "");
	assert_string_equal(http_form_get(&f, "a=b"), "c&d");
	assert_null(http_form_get(&f, "nope"));
	http_form_free(&f);

	static const char *const bad[] = {"a=%", "a=%4", "a=%zz", "a=%00", "%G1=x", "a=1&b=%"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct http_form g = {0};
		assert_int_equal(http_form_parse(bad[i], strlen(bad[i]), &g, &err), -1);
		assert_int_equal(g.n, 0); /* nothing half-added */
		http_form_free(&g);
	}
	/* an embedded NUL in the raw input is refused too */
	struct http_form g = {0};
	assert_int_equal(http_form_parse("a=b\0c", 5, &g, &err), -1);
	/* the field limit */
	char many[HTTP_FORM_MAX_FIELDS * 4 + 8];
	size_t n = 0;
	for (int i = 0; i <= HTTP_FORM_MAX_FIELDS; i++)
		n += (size_t)sprintf(many + n, "a=&");
	assert_int_equal(http_form_parse(many, n, &g, &err), -1);
	assert_non_null(strstr(err.msg, "fields"));
	http_form_free(&g);
	assert_null(http_form_unescape("%0", 2, 1));
	char *u = http_form_unescape("a+b%20c", 7, 0);
	assert_string_equal(u, "a+b c");
	free(u);
}

static struct http_fields *compile(enum http_fields_kind kind, const char *map, const char *states)
{
	json_t *m = map ? json_loads(map, 0, NULL) : NULL, *s = states ? json_loads(states, 0, NULL) : NULL;
	struct http_fields *f;
	struct errbuf err = {""};
	if (http_fields_compile(kind, m, s, "report_fields", &f, &err))
		fail_msg("compile: %s", err.msg);
	json_decref(m);
	json_decref(s);
	return f;
}

static void report_from_query(void **state)
{
	(void)state;
	/* Kannel's dlr-url: GET /report?id=42&status=1 with a state map */
	struct http_fields *f = compile(HTTP_FIELDS_REPORT, "{\"remote_id\": \"id\", \"state\": \"status\"}",
	                                "{\"1\": \"delivered\", \"2\": \"undelivered\", \"16\": \"rejected\"}");
	struct http_form q = {0};
	struct errbuf err = {""};
	const char *qs = "id=42&status=1";
	assert_int_equal(http_form_parse(qs, strlen(qs), &q, &err), 0);
	struct http_cb_input in = {.query = &q, .raw = qs, .raw_len = strlen(qs)};
	struct report *r = NULL;
	assert_int_equal(http_fields_report(f, &in, &r, &err), 0);
	assert_string_equal(r->remote_id, "42");
	assert_string_equal(r->state, "delivered");
	assert_null(r->error_code);
	assert_string_equal(r->text, "id=42&status=1");
	report_free(r);
	assert_string_equal(http_fields_state(f, "2"), "undelivered");
	assert_string_equal(http_fields_state(f, "8"), "unknown"); /* never dropped */
	http_form_free(&q);
	http_fields_free(f);
}

static void report_from_json(void **state)
{
	(void)state;
	struct http_fields *f = compile(HTTP_FIELDS_REPORT,
	                                "{\"remote_id\": \"/data/sid\", \"state\": \"/data/status\", \"error_code\": "
	                                "\"/data/err\"}",
	                                NULL);
	json_t *j = json_loads("{\"data\": {\"sid\": \"SM1\", \"status\": \"UNDELIV\", \"err\": 34}}", 0, NULL);
	struct http_cb_input in = {.json = j};
	struct report *r = NULL;
	struct errbuf err = {""};
	assert_int_equal(http_fields_report(f, &in, &r, &err), 0);
	assert_string_equal(r->remote_id, "SM1");
	assert_string_equal(r->state, "undelivered"); /* SMPP receipt word, no map */
	assert_string_equal(r->error_code, "34");
	report_free(r);
	json_decref(j);

	/* missing and unusable fields name themselves */
	j = json_loads("{\"data\": {\"status\": \"delivered\"}}", 0, NULL);
	in.json = j;
	assert_int_equal(http_fields_report(f, &in, &r, &err), -1);
	assert_non_null(strstr(err.msg, "/data/sid"));
	assert_non_null(strstr(err.msg, "remote_id"));
	json_decref(j);
	j = json_loads("{\"data\": {\"sid\": {\"x\": 1}, \"status\": \"delivered\"}}", 0, NULL);
	in.json = j;
	assert_int_equal(http_fields_report(f, &in, &r, &err), -1);
	assert_non_null(strstr(err.msg, "string or a number"));
	json_decref(j);
	http_fields_free(f);
}

static void inbound_from_form(void **state)
{
	(void)state;
	struct http_fields *f = compile(HTTP_FIELDS_INBOUND, NULL, NULL); /* from, to, text */
	struct http_form form = {0};
	struct errbuf err = {""};
	const char *body = "from=%2B4915550001&to=12345&text=Gr%C3%BC%C3%9Fe+%E2%82%AC";
	assert_int_equal(http_form_parse(body, strlen(body), &form, &err), 0);
	struct http_cb_input in = {.form = &form};
	struct inbound *ib = NULL;
	assert_int_equal(http_fields_inbound(f, &in, &ib, &err), 0);
	assert_string_equal(ib->sender, "+4915550001");
	assert_string_equal(ib->recipient, "12345");
	assert_string_equal(ib->body, "Grüße €");
	assert_string_equal(ib->encoding, "gsm7");
	assert_int_equal(ib->parts, 1);
	inbound_free(ib);
	http_form_free(&form);

	/* invalid UTF-8 and oversized values are refused */
	body = "from=%FF&text=x";
	assert_int_equal(http_form_parse(body, strlen(body), &form, &err), 0);
	assert_int_equal(http_fields_inbound(f, &in, &ib, &err), -1);
	assert_non_null(strstr(err.msg, "UTF-8"));
	http_form_free(&form);
	body = "from=123456789012345678901234567890123456789012345678901234567890123456789&text=x";
	assert_int_equal(http_form_parse(body, strlen(body), &form, &err), 0);
	assert_int_equal(http_fields_inbound(f, &in, &ib, &err), -1);
	assert_non_null(strstr(err.msg, "longer than"));
	http_form_free(&form);
	body = "from=1";
	assert_int_equal(http_form_parse(body, strlen(body), &form, &err), 0);
	assert_int_equal(http_fields_inbound(f, &in, &ib, &err), -1);
	assert_non_null(strstr(err.msg, "missing field \"text\""));
	http_form_free(&form);
	http_fields_free(f);
}

static void mapping_refused(void **state)
{
	(void)state;
	static const struct {
		enum http_fields_kind kind;
		const char *map, *states, *want;
	} t[] = {
	    {HTTP_FIELDS_REPORT, "{\"sender\": \"x\"}", NULL, "unknown field \"sender\""},
	    {HTTP_FIELDS_INBOUND, "{\"state\": \"x\"}", NULL, "unknown field \"state\""},
	    {HTTP_FIELDS_REPORT, "{\"remote_id\": null}", NULL, "remote_id: is required"},
	    {HTTP_FIELDS_REPORT, "{\"state\": \"/a~\"}", NULL, "not a valid JSON pointer"},
	    {HTTP_FIELDS_REPORT, "{\"state\": 3}", NULL, "field name or a JSON pointer"},
	    {HTTP_FIELDS_REPORT, NULL, "{\"1\": \"done\"}", "report_state_map.1"},
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		json_t *m = t[i].map ? json_loads(t[i].map, 0, NULL) : NULL;
		json_t *s = t[i].states ? json_loads(t[i].states, 0, NULL) : NULL;
		struct http_fields *f;
		struct errbuf err = {""};
		assert_int_equal(http_fields_compile(t[i].kind, m, s, "report_fields", &f, &err), -1);
		if (!strstr(err.msg, t[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, t[i].want);
		json_decref(m);
		json_decref(s);
	}
}

static void auth_checks(void **state)
{
	(void)state;
	assert_true(http_auth_equal("abc", "abc"));
	assert_false(http_auth_equal("abc", "abd"));
	assert_false(http_auth_equal("abc", "abcd"));
	assert_false(http_auth_equal(NULL, "abc"));
	assert_int_equal(http_auth_token(NULL, "t"), 401);
	assert_int_equal(http_auth_token("", "t"), 401);
	assert_int_equal(http_auth_token("u", "t"), 403);
	assert_int_equal(http_auth_token("t", "t"), 0);

	assert_int_equal(http_auth_basic("Basic cHJvdjpwYTpzcw==", "prov", "pa:ss"), 0);
	assert_int_equal(http_auth_basic("basic cHJvdjpwYTpzcw==", "prov", "pa:ss"), 0);
	assert_int_equal(http_auth_basic("Basic cHJvdjpwYTpzcw==", "prov", "pass"), 403);
	assert_int_equal(http_auth_basic("Basic cHJvdjpwYTpzcw==", "other", "pa:ss"), 403);
	assert_int_equal(http_auth_basic(NULL, "prov", "pa:ss"), 401);
	assert_int_equal(http_auth_basic("Bearer xyz", "prov", "pa:ss"), 401);
	assert_int_equal(http_auth_basic("Basic !!!!", "prov", "pa:ss"), 401);
	assert_int_equal(http_auth_basic("Basic bm9jb2xvbg==", "prov", "pa:ss"), 401); /* "nocolon" */

	const char *msg = "The quick brown fox jumps over the lazy dog";
	const char *mac = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";
	char hex[65];
	http_auth_hmac_hex("key", msg, strlen(msg), hex);
	assert_string_equal(hex, mac);
	assert_int_equal(http_auth_hmac("key", msg, strlen(msg), mac), 0);
	assert_int_equal(http_auth_hmac("key", msg, strlen(msg),
	                                "sha256=F7BC83F430538424B13298E6AA6FB143EF4D59A14946175997479DBC2D1A3CD8"),
	                 0);
	assert_int_equal(http_auth_hmac("kez", msg, strlen(msg), mac), 403);
	assert_int_equal(http_auth_hmac("key", msg, strlen(msg) - 1, mac), 403);
	assert_int_equal(http_auth_hmac("key", msg, strlen(msg), "f7bc83"), 401);
	assert_int_equal(http_auth_hmac("key", msg, strlen(msg), NULL), 401);
	assert_int_equal(http_auth_hmac("s3cret", "{\"id\":\"x\"}", 10,
	                                "9f0beccf514841d21c56dba276089c2345c12d5d2deb19b4d22c873371e5e8b6"),
	                 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(form_decoding),    cmocka_unit_test(report_from_query),
	    cmocka_unit_test(report_from_json), cmocka_unit_test(inbound_from_form),
	    cmocka_unit_test(mapping_refused),  cmocka_unit_test(auth_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
