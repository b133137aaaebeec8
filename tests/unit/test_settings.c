/* Settings tables: parsing, defaults, the errors that name the key, and the
 * schema published to the database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sbuf.h"
#include "settings.h"

struct conf {
	char *host;
	long long port;
	double rate;
	bool tls;
	json_t *extra;
	char *mode;
	long long dcs;
	json_t *states;
};

static const struct setting table[] = {
    {"host", SETTING_STRING, offsetof(struct conf, host), true, false, 0, 0, NULL, "peer"},
    {"port", SETTING_INT, offsetof(struct conf, port), false, true, 1, 65535, "2775", "port"},
    {"rate", SETTING_NUMBER, offsetof(struct conf, rate), false, true, 0, 1, "0.5", NULL},
    {"tls", SETTING_BOOL, offsetof(struct conf, tls), false, false, 0, 0, "false", NULL},
    {"extra", SETTING_OBJECT, offsetof(struct conf, extra), false, false, 0, 0, NULL, NULL},
    {"mode", SETTING_STRING, offsetof(struct conf, mode), false, false, 0, 0, "\"udh\"", NULL,
     .choices = "udh|sar|payload"},
    {"dcs", SETTING_INT, offsetof(struct conf, dcs), false, true, 0, 3, "0", NULL, .choices = "0|1|3"},
    {"states", SETTING_ARRAY, offsetof(struct conf, states), false, false, 0, 0, "[\"sent\"]", NULL,
     .choices = "sent|delivered"},
    SETTINGS_END,
};

static void parses_and_defaults(void **state)
{
	(void)state;
	struct conf c = {0};
	struct errbuf err;
	assert_int_equal(settings_parse(table, "{\"host\": \"smsc\", \"tls\": true}", &c, &err), 0);
	assert_string_equal(c.host, "smsc");
	assert_int_equal(c.port, 2775);
	assert_true(c.rate > 0.49 && c.rate < 0.51);
	assert_true(c.tls);
	assert_null(c.extra);
	assert_string_equal(c.mode, "udh");
	settings_free(table, &c);
	assert_int_equal(settings_parse(table, "{\"host\": \"s\", \"mode\": \"payload\", \"dcs\": 3}", &c, &err), 0);
	assert_string_equal(c.mode, "payload");
	assert_int_equal(c.dcs, 3);
	settings_free(table, &c);
	assert_int_equal(settings_parse(table, "{\"host\": \"s\", \"states\": [\"delivered\", \"sent\"]}", &c, &err),
	                 0);
	assert_int_equal(json_array_size(c.states), 2);
	settings_free(table, &c);
	assert_null(c.host);
}

static void expect_error(const char *json, const char *fragment)
{
	struct conf c = {0};
	struct errbuf err = {""};
	assert_int_equal(settings_parse(table, json, &c, &err), -1);
	settings_free(table, &c);
	if (!strstr(err.msg, fragment))
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, fragment);
}

static void errors_name_the_key(void **state)
{
	(void)state;
	expect_error("{\"host\": \"a\", \"colour\": 1}", "unknown key \"colour\"");
	expect_error("{}", "settings.host: required");
	expect_error("{\"host\": 7}", "settings.host: must be a string");
	expect_error("{\"host\": \"a\", \"port\": 70000}", "settings.port: must be between 1 and 65535");
	expect_error("{\"host\": \"a\", \"port\": 1.5}", "settings.port: must be an integer");
	expect_error("{\"host\": \"a\", \"tls\": \"yes\"}", "settings.tls: must be true or false");
	expect_error("{\"host\": \"a\", \"extra\": []}", "settings.extra: must be an object");
	/* Worded as the connections trigger words it (tests/sql/23_setting_enums.sql). */
	expect_error("{\"host\": \"a\", \"mode\": \"sa\"}",
	             "settings: key \"mode\" must be one of [\"udh\", \"sar\", \"payload\"] (got \"sa\")");
	expect_error("{\"host\": \"a\", \"mode\": \"udhx\"}", "settings: key \"mode\" must be one of");
	expect_error("{\"host\": \"a\", \"mode\": \"a\\\"b\"}", "(got \"a\\\"b\")");
	expect_error("{\"host\": \"a\", \"dcs\": 2}", "settings: key \"dcs\" must be one of [0, 1, 3] (got 2)");
	expect_error("{\"host\": \"a\", \"states\": [\"sent\", \"delivred\"]}",
	             "settings: key \"states\" items must be one of [\"sent\", \"delivered\"] (got \"delivred\")");
	expect_error("{\"host\": \"a\", \"states\": [1]}",
	             "key \"states\" items must be one of [\"sent\", \"delivered\"] (got 1)");
	expect_error("[1]", "must be a JSON object");
	expect_error("{\"host\": ", "invalid JSON");
	expect_error("{\"host\": \"a\", \"host\": \"b\"}", "invalid JSON");
}

static void schema_lists_every_key(void **state)
{
	(void)state;
	char *s = settings_schema_json(table);
	json_t *root = json_loads(s, 0, NULL);
	assert_non_null(root);
	assert_int_equal(json_object_size(root), 8);
	char *e = json_dumps(json_object_get(json_object_get(root, "mode"), "enum"), JSON_COMPACT);
	assert_string_equal(e, "[\"udh\",\"sar\",\"payload\"]");
	free(e);
	e = json_dumps(json_object_get(json_object_get(root, "dcs"), "enum"), JSON_COMPACT);
	assert_string_equal(e, "[0,1,3]");
	free(e);
	assert_null(json_object_get(json_object_get(root, "host"), "enum"));
	/* An array's choices are its items' (JSON schema "items"), not the array's. */
	json_t *states = json_object_get(root, "states");
	assert_null(json_object_get(states, "enum"));
	e = json_dumps(json_object_get(states, "items"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(e, "{\"enum\":[\"sent\",\"delivered\"],\"type\":\"string\"}");
	free(e);
	json_t *port = json_object_get(root, "port");
	assert_string_equal(json_string_value(json_object_get(port, "type")), "integer");
	assert_true(json_number_value(json_object_get(port, "max")) == 65535);
	assert_true(json_is_true(json_object_get(json_object_get(root, "host"), "required")));
	json_decref(root);
	free(s);
}

static void array_literals_escape(void **state)
{
	(void)state;
	struct sbuf b;
	sbuf_init(&b);
	sbuf_arr_begin(&b);
	sbuf_arr_text(&b, "a\"b\\c");
	sbuf_arr_text(&b, NULL);
	sbuf_arr_text(&b, "");
	sbuf_arr_int(&b, -42);
	sbuf_arr_end(&b);
	assert_string_equal(b.buf, "{\"a\\\"b\\\\c\",NULL,\"\",-42}");
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_and_defaults),
	    cmocka_unit_test(errors_name_the_key),
	    cmocka_unit_test(schema_lists_every_key),
	    cmocka_unit_test(array_literals_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
