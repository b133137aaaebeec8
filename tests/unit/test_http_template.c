/* http templates: compilation errors that name the problem, every filter,
 * default filters, literal braces (JSON bodies), `{{`; the values of a
 * message (http_tpl_vals_fill, shared by http, exec and email). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/template.h"
#include "msg.h"
#include "util.h"

static const char *vals[HV_COUNT];

static void setup_vals(void)
{
	memset(vals, 0, sizeof vals);
	vals[HV_RECIPIENT] = "+4917612345678";
	vals[HV_SENDER] = "ACME & Co";
	vals[HV_TEXT] = "Hi \"you\" <b>&'x'\n\t\\ 100% é€😀";
	vals[HV_ID] = "42";
	vals[HV_PARTS] = "2";
	vals[HV_PART] = "1";
}

/* Expands src with default filter def; fails the test on error. */
static char *expand(const char *src, enum http_filter def)
{
	struct http_tpl *t;
	struct errbuf err = {""};
	if (http_tpl_compile(src, def, "t", &t, &err))
		fail_msg("compile %s: %s", src, err.msg);
	struct sbuf b;
	sbuf_init(&b);
	if (http_tpl_expand(t, vals, &b, &err))
		fail_msg("expand %s: %s", src, err.msg);
	http_tpl_free(t);
	return b.buf;
}

static const struct {
	const char *src;
	enum http_filter def;
	const char *want;
} cases[] = {
    {"plain text", HF_URL, "plain text"},
    {"{recipient}", HF_URL, "%2B4917612345678"},
    {"{recipient|none}", HF_URL, "+4917612345678"},
    {"to={recipient}&from={sender}", HF_URL, "to=%2B4917612345678&from=ACME%20%26%20Co"},
    {"{text|url}", HF_NONE, "Hi%20%22you%22%20%3Cb%3E%26%27x%27%0A%09%5C%20100%25%20%C3%A9%E2%82%AC%F0%9F%98%80"},
    {"{text|json}", HF_NONE, "Hi \\\"you\\\" <b>&'x'\\n\\t\\\\ 100% é€😀"},
    {"{text|xml}", HF_NONE, "Hi &quot;you&quot; &lt;b&gt;&amp;&apos;x&apos;\n\t\\ 100% é€😀"},
    {"{sender|hex}", HF_NONE, "41434D45202620436F"},
    {"{sender|ucs2hex}", HF_NONE, "00410043004D00450020002600200043006F"},
    {"{text|none}", HF_URL, "Hi \"you\" <b>&'x'\n\t\\ 100% é€😀"},
    /* JSON bodies: braces that are not placeholders are literal */
    {"{\"to\": \"{recipient}\", \"n\": {parts}, \"o\": {\"p\": 1}}", HF_JSON,
     "{\"to\": \"+4917612345678\", \"n\": 2, \"o\": {\"p\": 1}}"},
    {"{{recipient}", HF_NONE, "{recipient}"},
    {"a{{b", HF_NONE, "a{b"},
    {"{ recipient}", HF_NONE, "{ recipient}"},
    {"{recipient x}", HF_NONE, "{recipient x}"},
    {"trailing {", HF_NONE, "trailing {"},
    {"{client_ref}|{valid_until}|", HF_NONE, "||"}, /* absent values are empty */
    {"{id}.{part}/{parts}", HF_NONE, "42.1/2"},
};

static void expands(void **state)
{
	(void)state;
	setup_vals();
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *got = expand(cases[i].src, cases[i].def);
		if (strcmp(got, cases[i].want))
			fail_msg("case %zu %s: got '%s' want '%s'", i, cases[i].src, got, cases[i].want);
		free(got);
	}
}

static void ucs2hex_surrogates(void **state)
{
	(void)state;
	setup_vals();
	vals[HV_TEXT] = "é😀";
	char *got = expand("{text|ucs2hex}", HF_NONE);
	assert_string_equal(got, "00E9D83DDE00");
	free(got);
	/* invalid UTF-8 fails the expansion, naming the placeholder */
	vals[HV_TEXT] = "bad \xC3";
	struct http_tpl *t;
	struct errbuf err = {""};
	assert_int_equal(http_tpl_compile("x={text|ucs2hex}", HF_NONE, "t", &t, &err), 0);
	struct sbuf b;
	sbuf_init(&b);
	assert_int_equal(http_tpl_expand(t, vals, &b, &err), -1);
	assert_non_null(strstr(err.msg, "{text|ucs2hex}"));
	sbuf_free(&b);
	http_tpl_free(t);
}

static const struct {
	const char *src, *want_in_error;
} bad[] = {
    {"{recipent}", "unknown placeholder {recipent}"},
    {"a={text|urll}", "unknown filter \"urll\""},
    {"a={text|}", "unknown filter \"\""},
    {"a={text|url", "not closed"},
    {"{text|url x}", "not closed"},
    {"{\"a\": {nope}}", "{nope}"},
};

static void refuses(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct http_tpl *t = (struct http_tpl *)1;
		struct errbuf err = {""};
		assert_int_equal(http_tpl_compile(bad[i].src, HF_NONE, "settings.body", &t, &err), -1);
		assert_null(t);
		if (!strstr(err.msg, bad[i].want_in_error) || !strstr(err.msg, "settings.body"))
			fail_msg("case %s: error '%s' lacks '%s'", bad[i].src, err.msg, bad[i].want_in_error);
	}
}

static void uses(void **state)
{
	(void)state;
	struct http_tpl *t;
	struct errbuf err;
	assert_int_equal(http_tpl_compile("x={part_hex}&{{udh_hex}", HF_URL, "t", &t, &err), 0);
	assert_true(http_tpl_uses(t, HV_PART_HEX));
	assert_false(http_tpl_uses(t, HV_UDH_HEX));
	assert_false(http_tpl_uses(t, HV_TEXT));
	http_tpl_free(t);
}

static void names(void **state)
{
	(void)state;
	for (int f = 0; f < HF_COUNT; f++) {
		const char *n = http_filter_name((enum http_filter)f);
		assert_int_equal(http_filter_from_name(n, strlen(n)), f);
	}
	assert_int_equal(http_filter_from_name("URL", 3), -1);
	assert_string_equal(http_var_name(HV_CALLBACK_URL), "callback_url");
}

/* Every message variable from the message; the connection's own left
 * NULL; {coding} in Kannel's numbering from the encoding's name. */
static void vals_of_a_message(void **state)
{
	(void)state;
	struct msg *m = xcalloc(1, sizeof *m);
	m->id = 9000000001;
	m->recipient = xstrdup("+4917612345678");
	m->sender = xstrdup("ACME");
	m->body = xstrdup("hello");
	m->client_ref = xstrdup("order-7");
	m->payload = xstrdup("C0FFEE");
	m->udh = xstrdup("050003010201");
	m->valid_until_s = 1767225600; /* 2026-01-01T00:00:00Z */
	m->want_report = true;
	m->attempts = 3;
	struct http_tpl_vals vs;
	http_tpl_vals_fill(&vs, m, "ucs2", 4, 2);
	assert_string_equal(vs.v[HV_RECIPIENT], "+4917612345678");
	assert_string_equal(vs.v[HV_SENDER], "ACME");
	assert_string_equal(vs.v[HV_TEXT], "hello");
	assert_string_equal(vs.v[HV_ID], "9000000001");
	assert_string_equal(vs.v[HV_CLIENT_REF], "order-7");
	assert_string_equal(vs.v[HV_ENCODING], "ucs2");
	assert_string_equal(vs.v[HV_PARTS], "4");
	assert_string_equal(vs.v[HV_PART], "2");
	assert_string_equal(vs.v[HV_PART_HEX], "C0FFEE");
	assert_string_equal(vs.v[HV_UDH_HEX], "050003010201");
	assert_string_equal(vs.v[HV_VALID_UNTIL], "1767225600");
	assert_string_equal(vs.v[HV_VALID_UNTIL_ISO], "2026-01-01T00:00:00Z");
	assert_string_equal(vs.v[HV_WANT_REPORT], "1");
	assert_string_equal(vs.v[HV_ATTEMPT], "3");
	assert_string_equal(vs.v[HV_CODING], "2");
	assert_null(vs.v[HV_USERNAME]);
	assert_null(vs.v[HV_PASSWORD]);
	assert_null(vs.v[HV_TOKEN]);
	assert_null(vs.v[HV_CALLBACK_URL]);
	http_tpl_vals_fill(&vs, m, "binary", 1, 1);
	assert_string_equal(vs.v[HV_CODING], "1");
	http_tpl_vals_fill(&vs, m, NULL, 1, 1);
	assert_string_equal(vs.v[HV_CODING], "0");
	assert_null(vs.v[HV_ENCODING]);
	m->valid_until_s = 0;
	m->want_report = false;
	http_tpl_vals_fill(&vs, m, "gsm7", 1, 1);
	assert_string_equal(vs.v[HV_CODING], "0");
	assert_string_equal(vs.v[HV_WANT_REPORT], "0");
	assert_null(vs.v[HV_VALID_UNTIL]);
	assert_null(vs.v[HV_VALID_UNTIL_ISO]);
	msg_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(expands), cmocka_unit_test(ucs2hex_surrogates),
	    cmocka_unit_test(refuses), cmocka_unit_test(uses),
	    cmocka_unit_test(names),   cmocka_unit_test(vals_of_a_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
