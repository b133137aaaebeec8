/* exec connection, pure parts: argument vectors from templates (hostile
 * values byte for byte), the environment, the stdin JSON, the result
 * mapping of exit statuses, and the receiver's line parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "exec/argv.h"
#include "exec/line.h"
#include "exec/result.h"

static struct msg *make_msg(const char *body)
{
	struct msg *m = xcalloc(1, sizeof *m);
	m->id = 42;
	m->recipient = xstrdup("+4917612345678");
	m->sender = xstrdup("ACME");
	m->body = xstrdup(body);
	m->client_ref = xstrdup("order-7");
	m->encoding = xstrdup("auto");
	m->want_report = true;
	m->attempts = 2;
	m->msg_class = -1;
	return m;
}

static struct exec_argv *compile(const char *json, bool per_message, struct errbuf *err)
{
	json_t *a = json_loads(json, 0, NULL);
	assert_non_null(a);
	struct exec_argv *out = NULL;
	int rc = exec_argv_compile(a, per_message, "settings.send_argv", &out, err);
	json_decref(a);
	return rc ? NULL : out;
}

static const char *const hostile[] = {
    "it's \"quoted\" and 'single'",
    "$(rm -rf x) `touch y` ${HOME} $PATH; ls | cat && echo & > z < w",
    "line one\nline two\r\nthree\ttab",
    "{recipient} {{text}} %s %n \\ \\\\",
    "émoji 😀 and 中文 and \x7f",
    "-n",
    "--help",
    "",
};

/* Every value reaches its argument unchanged: no shell, no filter. */
static void argv_hostile_byte_for_byte(void **state)
{
	(void)state;
	struct errbuf err = {""};
	struct exec_argv *a =
	    compile("[\"conf/exec/send.sh\", \"{recipient}\", \"{text}\", \"id={id}\", \"{text|json}\"]", true, &err);
	assert_non_null(a);
	assert_string_equal(exec_argv_program(a), "conf/exec/send.sh");
	for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
		struct msg *m = make_msg(hostile[i]);
		struct http_tpl_vals vs;
		http_tpl_vals_fill(&vs, m, "ucs2", 1, 1);
		char **v = exec_argv_expand(a, &vs, &err);
		assert_non_null(v);
		assert_string_equal(v[0], "conf/exec/send.sh");
		assert_string_equal(v[1], "+4917612345678");
		assert_string_equal(v[2], hostile[i]);
		assert_string_equal(v[3], "id=42");
		assert_null(v[5]);
		exec_strv_free(v);
		msg_free(m);
	}
	/* a long text */
	char *big = xmalloc(100001);
	memset(big, 'a', 100000);
	big[100000] = 0;
	struct msg *m = make_msg(big);
	struct http_tpl_vals vs;
	http_tpl_vals_fill(&vs, m, "gsm7", 1, 1);
	char **v = exec_argv_expand(a, &vs, &err);
	assert_non_null(v);
	assert_int_equal(strlen(v[2]), 100000);
	exec_strv_free(v);
	msg_free(m);
	free(big);
	exec_argv_free(a);
}

static void argv_compile_errors(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		bool per_message;
		const char *want;
	} cases[] = {
	    {"[]", true, "non-empty array"},
	    {"[1]", true, "send_argv[0]: must be a string"},
	    {"[\"\"]", true, "program must not be empty"},
	    {"[\"x\", \"{nosuch}\"]", true, "unknown placeholder {nosuch}"},
	    {"[\"x\", \"{password}\"]", true, "{password} is not available"},
	    {"[\"x\", \"{text|bogus}\"]", true, "unknown filter"},
	    {"[\"x\", \"{text}\"]", false, "{text} is not available"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct errbuf err = {""};
		assert_null(compile(cases[i].json, cases[i].per_message, &err));
		if (!strstr(err.msg, cases[i].want))
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].json, err.msg, cases[i].want);
	}
	struct errbuf err = {""};
	struct exec_argv *a = compile("[\"{recipient}\"]", true, &err);
	assert_non_null(a);
	assert_null(exec_argv_program(a)); /* not literal */
	struct msg *m = make_msg("x");
	free(m->recipient);
	m->recipient = xstrdup("");
	struct http_tpl_vals vs;
	http_tpl_vals_fill(&vs, m, "gsm7", 1, 1);
	assert_null(exec_argv_expand(a, &vs, &err)); /* the program's name would be empty */
	msg_free(m);
	exec_argv_free(a);
}

static const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; env[i]; i++)
		if (!strncmp(env[i], name, n) && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

static void env_and_stdin(void **state)
{
	(void)state;
	struct msg *m = make_msg(hostile[1]);
	struct http_tpl_vals vs;
	http_tpl_vals_fill(&vs, m, "gsm7", 3, 1);
	json_t *extra = json_pack("{s:s}", "API_KEY", "k1");
	struct errbuf err;
	assert_int_equal(exec_env_check(extra, &err), 0);
	char **env = exec_env_build("/usr/bin:/bin", "ex1", &vs, extra);
	assert_string_equal(env_get(env, "PATH"), "/usr/bin:/bin");
	assert_string_equal(env_get(env, "SMSPOOL_CONNECTION"), "ex1");
	assert_string_equal(env_get(env, "SMSPOOL_TEXT"), hostile[1]);
	assert_string_equal(env_get(env, "SMSPOOL_RECIPIENT"), "+4917612345678");
	assert_string_equal(env_get(env, "SMSPOOL_ID"), "42");
	assert_string_equal(env_get(env, "SMSPOOL_PARTS"), "3");
	assert_string_equal(env_get(env, "SMSPOOL_CLIENT_REF"), "order-7");
	assert_string_equal(env_get(env, "API_KEY"), "k1");
	assert_null(env_get(env, "HOME"));
	assert_null(env_get(env, "SMSPOOL_PASSWORD"));
	exec_strv_free(env);
	json_decref(extra);
	static const char *const bad[] = {"{\"PATH\": \"x\"}", "{\"SMSPOOL_X\": \"x\"}", "{\"1A\": \"x\"}",
	                                  "{\"A B\": \"x\"}", "{\"A\": 1}"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		json_t *e = json_loads(bad[i], 0, NULL);
		assert_int_equal(exec_env_check(e, &err), -1);
		json_decref(e);
	}
	char *line = exec_msg_json(m, "ex1", "gsm7", 3);
	size_t n = strlen(line);
	assert_true(n > 1 && line[n - 1] == '\n');
	assert_null(memchr(line, '\n', n - 1)); /* one line */
	json_t *o = json_loads(line, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "text")), hostile[1]);
	assert_int_equal(json_integer_value(json_object_get(o, "id")), 42);
	assert_int_equal(json_integer_value(json_object_get(o, "parts")), 3);
	assert_string_equal(json_string_value(json_object_get(o, "connection")), "ex1");
	json_decref(o);
	free(line);
	msg_free(m);
}

static const long long temp_codes[] = {75, 3};

static void map(const char *ptr, int status, bool timed_out, const char *out, const char *err_text,
                struct exec_verdict *v)
{
	struct exec_result_conf conf = {temp_codes, 2, ptr};
	struct exec_end end = {
	    status, timed_out, out, err_text, out ? strlen(out) : 0, err_text ? strlen(err_text) : 0};
	exec_result_map(&conf, &end, v);
}

static void result_mapping(void **state)
{
	(void)state;
	struct exec_verdict v;
	/* exit 0: sent, id = first line */
	map(NULL, 0, false, "  R-17 \r\nmore\n", NULL, &v);
	assert_int_equal(v.outcome, MSG_SENT);
	assert_string_equal(v.remote_id, "R-17");
	exec_verdict_clear(&v);
	map(NULL, 0, false, "", NULL, &v);
	assert_int_equal(v.outcome, MSG_SENT);
	assert_null(v.remote_id); /* our own id then */
	exec_verdict_clear(&v);
	map(NULL, 0, false, "bad\x1fid\n", NULL, &v);
	assert_null(v.remote_id);
	exec_verdict_clear(&v);
	map(NULL, 0, false, "\xff\xfe\n", NULL, &v);
	assert_null(v.remote_id); /* not UTF-8 */
	exec_verdict_clear(&v);
	/* id from JSON */
	map("/result/id", 0, false, "{\"result\": {\"id\": 991}}", NULL, &v);
	assert_string_equal(v.remote_id, "991");
	exec_verdict_clear(&v);
	map("/id", 0, false, "not json", NULL, &v);
	assert_int_equal(v.outcome, MSG_SENT);
	assert_null(v.remote_id);
	exec_verdict_clear(&v);
	/* temporary codes */
	map(NULL, 75 << 8, false, "", "try later\nsecond", &v);
	assert_int_equal(v.outcome, MSG_TEMPORARY);
	assert_string_equal(v.code, "exit:75");
	assert_string_equal(v.text, "try later");
	exec_verdict_clear(&v);
	map(NULL, 3 << 8, false, "", "", &v);
	assert_int_equal(v.outcome, MSG_TEMPORARY);
	assert_string_equal(v.text, "exit status 3");
	exec_verdict_clear(&v);
	/* any other: rejected with stderr's first line, cleaned */
	map(NULL, 2 << 8, false, "", "  invalid number\x01 \xff here\nmore", &v);
	assert_int_equal(v.outcome, MSG_REJECTED);
	assert_string_equal(v.code, "exit:2");
	assert_string_equal(v.text, "invalid number? ? here");
	exec_verdict_clear(&v);
	/* a crash and a timeout: temporary */
	map(NULL, SIGSEGV, false, "", "", &v);
	assert_int_equal(v.outcome, MSG_TEMPORARY);
	assert_string_equal(v.code, "signal:11");
	assert_non_null(strstr(v.text, "SEGV"));
	exec_verdict_clear(&v);
	map(NULL, SIGKILL, true, "", "", &v);
	assert_int_equal(v.outcome, MSG_TEMPORARY);
	assert_string_equal(v.code, "timeout");
	exec_verdict_clear(&v);
	/* a very long stderr line is cut */
	char *big = xmalloc(5001);
	memset(big, 'e', 5000);
	big[5000] = 0;
	map(NULL, 1 << 8, false, "", big, &v);
	assert_true(strlen(v.text) <= 300);
	exec_verdict_clear(&v);
	free(big);
	char *fl = exec_first_line("é€😀 x", strlen("é€😀 x"), 7); /* cut on a character boundary */
	assert_string_equal(fl, "é€");
	free(fl);
}

static void result_batch_lines(void **state)
{
	(void)state;
	struct exec_verdict v;
	int64_t id;
	const char *s = "{\"id\": 7, \"remote_id\": \"B7\"}";
	assert_int_equal(exec_result_batch_line(s, strlen(s), &id, &v), 0);
	assert_int_equal(id, 7);
	assert_int_equal(v.outcome, MSG_SENT);
	assert_string_equal(v.remote_id, "B7");
	exec_verdict_clear(&v);
	s = "{\"id\": 8, \"error\": \"busy\\nmore\", \"temporary\": true}";
	assert_int_equal(exec_result_batch_line(s, strlen(s), &id, &v), 0);
	assert_int_equal(v.outcome, MSG_TEMPORARY);
	assert_string_equal(v.text, "busy");
	exec_verdict_clear(&v);
	s = "{\"id\": 9, \"error\": \"unknown number\"}";
	assert_int_equal(exec_result_batch_line(s, strlen(s), &id, &v), 0);
	assert_int_equal(v.outcome, MSG_REJECTED);
	assert_string_equal(v.code, "program");
	exec_verdict_clear(&v);
	static const char *const bad[] = {
	    "",
	    "x",
	    "[]",
	    "{\"id\": \"7\", \"remote_id\": \"a\"}",
	    "{\"id\": 7}",
	    "{\"id\": 7, \"remote_id\": \"a\", \"error\": \"b\"}",
	    "{\"id\": 7, \"error\": \"b\", \"temporary\": 1}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(exec_result_batch_line(bad[i], strlen(bad[i]), &id, &v), -1);
		assert_null(v.remote_id);
		assert_null(v.text);
	}
}

static void line_inbound_and_report(void **state)
{
	(void)state;
	struct exec_line l;
	struct errbuf err = {""};
	const char *s = "{\"type\": \"inbound\", \"id\": \"m-1\", \"from\": \"+4917612345678\", \"to\": \"12345\", "
	                "\"text\": \"Hi $(rm -rf x)\\n`y`\", \"timestamp\": 1764547200}\r";
	assert_int_equal(exec_line_parse(s, strlen(s), &l, &err), 0);
	assert_int_equal(l.kind, EXEC_LINE_INBOUND);
	assert_string_equal(l.id, "\"m-1\"");
	assert_string_equal(l.in->sender, "+4917612345678");
	assert_string_equal(l.in->recipient, "12345");
	assert_string_equal(l.in->body, "Hi $(rm -rf x)\n`y`");
	assert_int_equal(l.in->smsc_ts_s, 1764547200);
	assert_int_equal(l.in->parts, 1);
	exec_line_clear(&l);
	s = "{\"type\": \"report\", \"id\": 18, \"remote_id\": \"X42\", \"state\": \"delivered\", \"error_code\": "
	    "\"000\"}";
	assert_int_equal(exec_line_parse(s, strlen(s), &l, &err), 0);
	assert_int_equal(l.kind, EXEC_LINE_REPORT);
	assert_string_equal(l.id, "18");
	assert_string_equal(l.rep->remote_id, "X42");
	assert_string_equal(l.rep->state, "delivered");
	assert_string_equal(l.rep->error_code, "000");
	exec_line_clear(&l);
	s = "{\"type\": \"inbound\", \"from\": \"A\", \"to\": \"B\", \"payload\": \"0A0b\", \"udh\": \"050003010201\"}";
	assert_int_equal(exec_line_parse(s, strlen(s), &l, &err), 0);
	assert_null(l.id);
	assert_string_equal(l.in->encoding, "binary");
	assert_null(l.in->body);
	exec_line_clear(&l);
	assert_int_equal(exec_line_parse("   ", 3, &l, &err), 1);
	assert_int_equal(exec_line_parse("", 0, &l, &err), 1);
}

static void line_errors(void **state)
{
	(void)state;
	static const struct {
		const char *line, *want;
	} cases[] = {
	    {"not json", "not JSON"},
	    {"[1]", "must be a JSON object"},
	    {"{}", "type: required"},
	    {"{\"type\": \"mo\"}", "is not inbound or report"},
	    {"{\"type\": \"inbound\", \"from\": \"a\", \"to\": \"b\"}", "either text or payload"},
	    {"{\"type\": \"inbound\", \"to\": \"b\", \"text\": \"x\"}", "needs from and to"},
	    {"{\"type\": \"inbound\", \"from\": \"a\\nb\", \"to\": \"b\", \"text\": \"x\"}", "control characters"},
	    {"{\"type\": \"inbound\", \"from\": \"a\", \"to\": \"b\", \"text\": \"x\", \"txt\": 1}",
	     "unknown key \"txt\""},
	    {"{\"type\": \"inbound\", \"from\": \"a\", \"to\": \"b\", \"payload\": \"0G\"}", "payload: must be hex"},
	    {"{\"type\": \"inbound\", \"from\": \"a\", \"to\": \"b\", \"text\": \"x\\u0000y\"}", "not JSON"},
	    {"{\"type\": \"inbound\", \"from\": \"a\", \"to\": \"b\", \"text\": \"x\", \"parts\": 0}", "parts"},
	    {"{\"type\": \"report\", \"remote_id\": \"1\"}", "needs remote_id and state"},
	    {"{\"type\": \"report\", \"remote_id\": \"1\", \"state\": \"DELIVRD\"}", "is not one of"},
	    {"{\"type\": \"report\", \"remote_id\": \"1\", \"state\": \"delivered\", \"id\": 1.5}", "id: must be"},
	    {"{\"type\": \"report\", \"remote_id\": \"1\", \"state\": \"delivered\", \"id\": \"\"}", "id: must be"},
	    {"{\"type\": \"report\", \"type\": \"report\"}", "not JSON"}, /* duplicate key */
	    {"{\"type\": \"inbound\", \"from\": \"a\", \"to\": \"b\", \"text\": \"\xff\"}", "not JSON"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct exec_line l;
		struct errbuf err = {""};
		assert_int_equal(exec_line_parse(cases[i].line, strlen(cases[i].line), &l, &err), -1);
		assert_null(l.in);
		assert_null(l.rep);
		assert_null(l.id);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].line, err.msg, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(argv_hostile_byte_for_byte),
	    cmocka_unit_test(argv_compile_errors),
	    cmocka_unit_test(env_and_stdin),
	    cmocka_unit_test(result_mapping),
	    cmocka_unit_test(result_batch_lines),
	    cmocka_unit_test(line_inbound_and_report),
	    cmocka_unit_test(line_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
