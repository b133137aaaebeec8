/* Secrets kept out of smspool.connections: "${NAME}" from the environment,
 * "${file:/path}" from a file, everything else untouched, and errors that
 * name the key and the reference but never a value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "secrets.h"

static void from_environment(void **state)
{
	(void)state;
	setenv("SMSPOOL_TEST_PW", "s3cr\"et", 1);
	struct errbuf err = {""};
	char *out = secrets_expand("{\"password\": \"${SMSPOOL_TEST_PW}\", \"port\": 2775, \"host\": \"h\"}", &err);
	assert_non_null(out);
	assert_non_null(strstr(out, "\"password\":\"s3cr\\\"et\""));
	assert_non_null(strstr(out, "\"port\":2775"));
	assert_non_null(strstr(out, "\"host\":\"h\""));
	free(out);
	unsetenv("SMSPOOL_TEST_PW");
}

static void from_file(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof path, "/tmp/smspool-test-secret.%d", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("filepw\n", f);
	fclose(f);
	char json[160];
	snprintf(json, sizeof json, "{\"password\": \"${file:%s}\"}", path);
	struct errbuf err = {""};
	char *out = secrets_expand(json, &err);
	assert_non_null(out);
	assert_string_equal(out, "{\"password\":\"filepw\"}"); /* the newline dropped */
	free(out);
	unlink(path);
	out = secrets_expand(json, &err);
	assert_null(out);
	assert_non_null(strstr(err.msg, "settings.password"));
	assert_non_null(strstr(err.msg, path));
}

static void others_untouched(void **state)
{
	(void)state;
	const char *same[] = {
	    "{\"password\": \"plain\"}",
	    "{\"password\": \"${not closed\"}",
	    "{\"password\": \"${}\"}",
	    "{\"password\": \"${1X}\"}",
	    "{\"text\": \"a ${X} b\"}",
	    "not json",
	    "{\"nested\": {\"p\": \"${SMSPOOL_NOT_SET_XYZ}\"}}",
	};
	for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
		struct errbuf err = {""};
		char *out = secrets_expand(same[i], &err);
		assert_non_null(out);
		assert_string_equal(out, same[i]);
		free(out);
	}
}

static void missing_variable_is_an_error(void **state)
{
	(void)state;
	unsetenv("SMSPOOL_NOT_SET_XYZ");
	struct errbuf err = {""};
	assert_null(secrets_expand("{\"password\": \"${SMSPOOL_NOT_SET_XYZ}\"}", &err));
	assert_non_null(strstr(err.msg, "settings.password"));
	assert_non_null(strstr(err.msg, "SMSPOOL_NOT_SET_XYZ is not set"));
	assert_null(secrets_expand("{\"password\": \"${file:relative/path}\"}", &err));
	assert_non_null(strstr(err.msg, "absolute path"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(from_environment),
	    cmocka_unit_test(from_file),
	    cmocka_unit_test(others_untouched),
	    cmocka_unit_test(missing_variable_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
