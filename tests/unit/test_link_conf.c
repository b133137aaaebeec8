/*
 * test_link_conf: the link's settings checks (drivers/link/conf.c) for mutual
 * TLS: a client with tls_cert needs no account but tls_key and tls; a server's
 * tls_client_ca_file comes with tls_client_accounts (of account names) and
 * tls; a client certificate maps to its account by fingerprint (any case,
 * with or without colons) before its subject CN, and to nothing otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "link/conf.h"

static int client_check(const char *json)
{
	struct link_conf conf = {0};
	struct errbuf err = {""};
	int rc = settings_parse(link_conf_settings, json, &conf, &err);
	if (rc == 0)
		rc = link_conf_check(&conf, &err);
	settings_free(link_conf_settings, &conf);
	return rc;
}

static int server_parse(const char *json, struct link_server_conf *conf)
{
	struct errbuf err = {""};
	memset(conf, 0, sizeof *conf);
	int rc = settings_parse(link_server_conf_settings, json, conf, &err);
	if (rc == 0)
		rc = link_server_conf_check(conf, &err);
	return rc;
}

static void test_client_cert_settings(void **state)
{
	(void)state;
	assert_int_equal(
	    client_check("{\"host\": \"h\", \"port\": 7788, \"tls\": true, \"tls_cert\": \"c\", \"tls_key\": \"k\"}"),
	    0);
	assert_int_equal(client_check("{\"host\": \"h\", \"port\": 7788, \"account\": \"a\"}"), 0);
	assert_int_not_equal(client_check("{\"host\": \"h\", \"port\": 7788}"), 0);
	assert_int_not_equal(client_check("{\"host\": \"h\", \"port\": 7788, \"tls\": true, \"tls_cert\": \"c\"}"), 0);
	assert_int_not_equal(client_check("{\"host\": \"h\", \"port\": 7788, \"tls_cert\": \"c\", \"tls_key\": \"k\"}"),
	                     0);
}

static void test_server_cert_settings(void **state)
{
	(void)state;
	struct link_server_conf conf;
	const char *tls = "\"tls\": true, \"tls_cert_file\": \"c\", \"tls_key_file\": \"k\"";
	char j[400];
	snprintf(j, sizeof j, "{%s, \"tls_client_ca_file\": \"ca\"}", tls);
	assert_int_not_equal(server_parse(j, &conf), 0);
	settings_free(link_server_conf_settings, &conf);
	snprintf(j, sizeof j, "{%s, \"tls_client_ca_file\": \"ca\", \"tls_client_accounts\": {\"x\": 5}}", tls);
	assert_int_not_equal(server_parse(j, &conf), 0);
	settings_free(link_server_conf_settings, &conf);
	assert_int_not_equal(
	    server_parse("{\"tls_client_ca_file\": \"ca\", \"tls_client_accounts\": {\"x\": \"a\"}}", &conf), 0);
	settings_free(link_server_conf_settings, &conf);
	snprintf(j, sizeof j, "{%s, \"tls_client_ca_file\": \"ca\", \"tls_client_accounts\": {\"x\": \"a\"}}", tls);
	assert_int_equal(server_parse(j, &conf), 0);
	settings_free(link_server_conf_settings, &conf);
}

static void test_cert_account(void **state)
{
	(void)state;
	struct link_server_conf conf;
	const char *fp = "0B972C7700E23840569D50553F3547794F9FED9E4CCA3382B606117EBBF3D715";
	assert_int_equal(
	    server_parse("{\"tls\": true, \"tls_cert_file\": \"c\", \"tls_key_file\": \"k\", "
	                 "\"tls_client_ca_file\": \"ca\", \"tls_client_accounts\": {"
	                 "\"branch-a\": \"acct_a\", "
	                 "\"sha256:0b:97:2c:77:00:e2:38:40:56:9d:50:55:3f:35:47:79:4f:9f:ed:9e:4c:ca:33:82:"
	                 "b6:06:11:7e:bb:f3:d7:15\": \"acct_fp\"}}",
	                 &conf),
	    0);
	assert_string_equal(link_server_conf_cert_account(&conf, "branch-a", ""), "acct_a");
	assert_string_equal(link_server_conf_cert_account(&conf, "branch-a", fp), "acct_fp");
	assert_string_equal(link_server_conf_cert_account(&conf, "other", fp), "acct_fp");
	assert_null(link_server_conf_cert_account(&conf, "other", "00"));
	assert_null(link_server_conf_cert_account(&conf, "", ""));
	/* a CN that looks like a fingerprint key never matches one */
	assert_null(link_server_conf_cert_account(&conf, "sha256:0b:97", "AA"));
	settings_free(link_server_conf_settings, &conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_client_cert_settings),
	    cmocka_unit_test(test_server_cert_settings),
	    cmocka_unit_test(test_cert_account),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
