/* SMPP client settings (drivers/smpp/conf.c): defaults, the combinations
 * check() refuses (each error names its key), the peer list and the
 * automatic TON/NPI of addresses.  The session itself is tested end to end
 * against npm smpp in tests/e2e/70_smpp_client.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf_check.h"
#include "net/dialer_conf.h"
#include "smpp/conf.h"

extern const struct driver_ops smpp_driver;

static void defaults(void **state)
{
	(void)state;
	struct smpp_conf c = {0};
	struct errbuf err = {""};
	assert_int_equal(settings_parse(smpp_conf_settings, "{\"host\": \"smsc\", \"system_id\": \"me\"}", &c, &err),
	                 0);
	assert_int_equal(smpp_conf_check(&c, &err), 0);
	assert_int_equal(c.port, 2775);
	assert_int_equal(smpp_conf_version(&c), 0x34);
	assert_false(smpp_conf_split_binds(&c));
	assert_int_equal(smpp_conf_long_mode(&c), SMPP_LONG_UDH);
	assert_int_equal(c.enquire_link_s, 30);
	assert_int_equal(c.response_timeout_s, 30);
	assert_int_equal(c.default_data_coding, 0);
	assert_false(c.gsm_packed);
	assert_true(c.request_reports);
	assert_true(c.tls_verify);
	assert_false(c.tls);
	assert_int_equal(c.source_ton, -1);
	assert_int_equal(c.dest_npi, -1);
	struct dialer_conf dc = DIALER_CONF_OF(&c);
	assert_int_equal(dialer_conf_peer_count(&dc), 1);
	settings_free(smpp_conf_settings, &c);
}

static void refusals_name_the_key(void **state)
{
	(void)state;
	static const struct conf_refusal cases[] = {
	    {"{\"system_id\": \"me\"}", "host"},
	    {"{\"host\": \"h\"}", "system_id"},
	    {"{\"host\": \"h\", \"system_id\": \"sixteen_chars_xx\"}", "system_id"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"password\": \"ninechars\"}", "password"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"interface_version\": \"3.5\"}", "interface_version"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"bind_mode\": \"receiver\"}", "bind_mode"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"long_mode\": \"split\"}", "long_mode"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"interface_version\": \"3.3\", "
	     "\"bind_mode\": \"transmitter+receiver\", \"long_mode\": \"sar\"}",
	     "long_mode"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"interface_version\": \"3.3\"}", "bind_mode"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"default_data_coding\": 2}", "default_data_coding"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"default_data_coding\": 8}", "default_data_coding"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"reconnect_min_ms\": 5000, \"reconnect_max_ms\": 1000}",
	     "reconnect_min_ms"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"backup_hosts\": [\"h2\"]}", "backup_hosts"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"backup_hosts\": [\"h2:70000\"]}", "backup_hosts"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"backup_hosts\": [2775]}", "backup_hosts"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"tls_ca_file\": \"/x.pem\"}", "tls_ca_file"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"source_ton\": 256}", "source_ton"},
	    {"{\"host\": \"h\", \"system_id\": \"me\", \"colour\": \"red\"}", "colour"},
	};
	conf_refusals(&smpp_driver, cases, ARRAY_LEN(cases));
	struct errbuf err = {""};
	assert_int_equal(conf_parse_check(&smpp_driver,
	                                  "{\"host\": \"h\", \"system_id\": \"me\", \"interface_version\": \"3.3\", "
	                                  "\"bind_mode\": \"transmitter+receiver\"}",
	                                  &err),
	                 0);
}

static void peers_in_turn(void **state)
{
	(void)state;
	struct smpp_conf c = {0};
	struct errbuf err = {""};
	assert_int_equal(settings_parse(smpp_conf_settings,
	                                "{\"host\": \"a.example\", \"port\": 1000, \"system_id\": \"me\", "
	                                "\"backup_hosts\": [\"b.example:2000\", \"[::1]:3000\"]}",
	                                &c, &err),
	                 0);
	assert_int_equal(smpp_conf_check(&c, &err), 0);
	struct dialer_conf dc = DIALER_CONF_OF(&c);
	assert_int_equal(dialer_conf_peer_count(&dc), 3);
	char host[64];
	int port;
	assert_int_equal(dialer_conf_peer(&dc, 0, host, sizeof host, &port), 0);
	assert_string_equal(host, "a.example");
	assert_int_equal(port, 1000);
	assert_int_equal(dialer_conf_peer(&dc, 1, host, sizeof host, &port), 0);
	assert_string_equal(host, "b.example");
	assert_int_equal(port, 2000);
	assert_int_equal(dialer_conf_peer(&dc, 2, host, sizeof host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 3000);
	settings_free(smpp_conf_settings, &c);
}

static void address_ton_npi(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		long long ton_set, npi_set;
		const char *out;
		uint8_t ton, npi;
	} cases[] = {
	    {"+4915112345678", -1, -1, "4915112345678", 1, 1}, /* international */
	    {"015112345678", -1, -1, "015112345678", 0, 1},    /* digits: unknown TON */
	    {"12345", -1, -1, "12345", 0, 1},
	    {"Shop", -1, -1, "Shop", 5, 0}, /* alphanumeric */
	    {"Shop 24", -1, -1, "Shop 24", 5, 0},
	    {"+1555", 2, 8, "1555", 2, 8}, /* configured TON/NPI win, "+" still dropped */
	    {"Shop", 0, -1, "Shop", 0, 0},
	    {"", -1, -1, "", 5, 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char out[32];
		uint8_t ton = 99, npi = 99;
		smpp_conf_address(cases[i].in, cases[i].ton_set, cases[i].npi_set, out, sizeof out, &ton, &npi);
		assert_string_equal(out, cases[i].out);
		assert_int_equal(ton, cases[i].ton);
		assert_int_equal(npi, cases[i].npi);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults),
	    cmocka_unit_test(refusals_name_the_key),
	    cmocka_unit_test(peers_in_turn),
	    cmocka_unit_test(address_ton_npi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
