/* The daemon's own configuration: write_connections from the file, the
 * environment over the file, and broken values refused with the key named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char path[64];

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	setenv("SMSPOOL_CONF", path, 1);
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof path, "/tmp/smspool-test-config.%d", (int)getpid());
	unsetenv("SMSPOOL_WRITE_CONNECTIONS");
	unsetenv("SMSPOOL_DB");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	unsetenv("SMSPOOL_CONF");
	unsetenv("SMSPOOL_WRITE_CONNECTIONS");
	return 0;
}

static void default_is_two(void **state)
{
	(void)state;
	write_conf("instance = t1\n");
	struct config cfg;
	struct errbuf err;
	assert_int_equal(config_load(&cfg, &err), 0);
	assert_int_equal(cfg.write_connections, 2);
	assert_string_equal(cfg.instance, "t1");
	config_free(&cfg);
}

static void file_then_environment(void **state)
{
	(void)state;
	write_conf("write_connections = 3\n");
	struct config cfg;
	struct errbuf err;
	assert_int_equal(config_load(&cfg, &err), 0);
	assert_int_equal(cfg.write_connections, 3);
	config_free(&cfg);
	setenv("SMSPOOL_WRITE_CONNECTIONS", "1", 1);
	assert_int_equal(config_load(&cfg, &err), 0);
	assert_int_equal(cfg.write_connections, 1);
	config_free(&cfg);
}

static void refuses_out_of_range(void **state)
{
	(void)state;
	const char *bad[] = {"0", "9", "two", "2x", ""};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char text[64];
		snprintf(text, sizeof text, "write_connections = %s\n", bad[i]);
		write_conf(text);
		struct config cfg;
		struct errbuf err = {""};
		assert_int_equal(config_load(&cfg, &err), -1);
		assert_non_null(strstr(err.msg, "write_connections: must be 1 to 8"));
		config_free(&cfg);
	}
	write_conf("\n");
	setenv("SMSPOOL_WRITE_CONNECTIONS", "100", 1);
	struct config cfg;
	struct errbuf err = {""};
	assert_int_equal(config_load(&cfg, &err), -1);
	assert_non_null(strstr(err.msg, "SMSPOOL_WRITE_CONNECTIONS"));
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(default_is_two, setup, teardown),
	    cmocka_unit_test_setup_teardown(file_then_environment, setup, teardown),
	    cmocka_unit_test_setup_teardown(refuses_out_of_range, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
