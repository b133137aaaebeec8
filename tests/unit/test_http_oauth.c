/* OAuth 2.0 client credentials: the token endpoint's answers (RFC 6749
 * 5.1 and 5.2) as the http connection reads them, and the settings check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/oauth.h"

static int parse(long status, const char *body, char **tok, long *exp, struct errbuf *err)
{
	*tok = NULL;
	return http_oauth_parse(status, body, strlen(body), tok, exp, err);
}

static void answers(void **state)
{
	(void)state;
	char *tok;
	long exp;
	struct errbuf err = {""};
	assert_int_equal(parse(200,
	                       "{\"access_token\":\"2YotnFZFEjr1zCsicMWpAA\",\"token_type\":\"Bearer\","
	                       "\"expires_in\":3599}",
	                       &tok, &exp, &err),
	                 0);
	assert_string_equal(tok, "2YotnFZFEjr1zCsicMWpAA");
	assert_int_equal(exp, 3599);
	free(tok);
	/* expires_in absent: an hour; quoted: read; token_type in any case */
	assert_int_equal(parse(200, "{\"access_token\":\"a.b.c\",\"token_type\":\"bearer\"}", &tok, &exp, &err), 0);
	assert_int_equal(exp, 3600);
	free(tok);
	assert_int_equal(parse(200, "{\"access_token\":\"x\",\"expires_in\":\"120\"}", &tok, &exp, &err), 0);
	assert_int_equal(exp, 120);
	free(tok);

	static const struct {
		long status;
		const char *body, *want;
	} bad[] = {
	    {401, "{\"error\":\"invalid_client\",\"error_description\":\"Client authentication failed\"}",
	     "401: invalid_client - Client authentication failed"},
	    {500, "Internal Server Error", "500: Internal Server Error"},
	    {200, "[1]", "not a JSON object"},
	    {200, "{\"token_type\":\"Bearer\"}", "no access_token"},
	    {200, "{\"access_token\":\"\"}", "no access_token"},
	    {200, "{\"access_token\":\"a b\"}", "control characters or spaces"},
	    {200, "{\"access_token\":\"a\\r\\nX-Evil: 1\"}", "control characters or spaces"},
	    {200, "{\"access_token\":\"a\",\"token_type\":\"mac\"}", "is not Bearer"},
	    {200, "{\"access_token\":\"a\",\"expires_in\":0}", "out of range"},
	    {200, "{\"access_token\":\"a\",\"expires_in\":true}", "not a number"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(parse(bad[i].status, bad[i].body, &tok, &exp, &err), -1);
		assert_null(tok);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("%s: '%s' lacks '%s'", bad[i].body, err.msg, bad[i].want);
	}
}

static void settings(void **state)
{
	(void)state;
	struct http_conf c = {0};
	struct errbuf err = {""};
	c.oauth_client_auth = "basic";
	assert_int_equal(http_oauth_check(&c, &err), -1);
	assert_non_null(strstr(err.msg, "oauth_token_url"));
	c.oauth_token_url = "https://auth.example/token";
	c.oauth_client_id = "id";
	c.oauth_client_secret = "s";
	assert_int_equal(http_oauth_check(&c, &err), 0);
	c.oauth_client_auth = "header";
	assert_int_equal(http_oauth_check(&c, &err), -1);
	c.oauth_client_auth = "body";
	c.oauth_token_url = "ftp://x";
	assert_int_equal(http_oauth_check(&c, &err), -1);
	c.oauth_token_url = "http://x/t";
	c.oauth_client_secret = "CHANGE_ME";
	assert_int_equal(http_oauth_check(&c, &err), -1);
	assert_non_null(strstr(err.msg, "CHANGE_ME"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(answers),
	    cmocka_unit_test(settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
