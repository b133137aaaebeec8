/* The http connection's settings: every preset in conf/http/ passes the
 * driver's own parse and check, and check() refuses bad configurations
 * with an error naming the setting and the problem.  Run from the
 * repository root (tests/run.sh does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf_check.h"
#include "http/rule.h"

extern const struct driver_ops http_driver;

static void presets_pass(void **state)
{
	(void)state;
	static const char *const files[] = {"conf/http/kannel.json", "conf/http/generic-json.json",
	                                    "conf/http/twilio-like.json", "conf/http/vonage-like.json"};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		FILE *f = fopen(files[i], "r");
		if (!f)
			fail_msg("%s: cannot open (run from the repository root)", files[i]);
		char buf[16384];
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = 0;
		struct errbuf err = {""};
		/* as shipped, the placeholders are refused, naming the key */
		if (conf_parse_check(&http_driver, buf, &err) == 0 || !strstr(err.msg, "CHANGE_ME"))
			fail_msg("%s: accepted with its CHANGE_ME placeholders (%s)", files[i], err.msg);
		/* with them replaced, the preset is a valid configuration */
		for (char *p = strstr(buf, "CHANGE_ME"); p; p = strstr(p, "CHANGE_ME"))
			memcpy(p, "x7Secret_", 9);
		if (conf_parse_check(&http_driver, buf, &err))
			fail_msg("%s: %s", files[i], err.msg);
		assert_non_null(strstr(buf, "\"description\""));
	}
}

/* Kannel's sendsms answers 202 with "0: Accepted for delivery", or "3: Queued
 * for later delivery" when the SMSC link is down: both mean Kannel has it. */
static void kannel_preset_success(void **state)
{
	(void)state;
	json_error_t je;
	json_t *preset = json_load_file("conf/http/kannel.json", 0, &je);
	assert_non_null(preset);
	struct http_rule_conf rc = {
	    .success_status = json_object_get(preset, "success_status"),
	    .temporary_status = json_object_get(preset, "temporary_status"),
	    .success_regex = json_string_value(json_object_get(preset, "success_regex")),
	};
	struct http_rule r = {0};
	struct errbuf err = {""};
	assert_int_equal(http_rule_compile(&r, &rc, &err), 0);
	static const struct {
		long status;
		const char *body;
		enum msg_outcome want;
	} cases[] = {
	    {202, "0: Accepted for delivery", MSG_SENT},
	    {202, "3: Queued for later delivery", MSG_SENT},
	    {202, "4: Queued 3 messages", MSG_REJECTED},
	    {403, "Authorization failed for sendsms", MSG_REJECTED},
	    {503, "Temporary failure, try again later.", MSG_TEMPORARY},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct http_verdict v;
		http_rule_eval(&r, cases[i].status, cases[i].body, strlen(cases[i].body), &v);
		if (v.outcome != cases[i].want)
			fail_msg("%ld \"%s\": outcome %d, want %d", cases[i].status, cases[i].body, (int)v.outcome,
			         (int)cases[i].want);
		http_verdict_clear(&v);
	}
	http_rule_free(&r);
	json_decref(preset);
}

static const struct conf_refusal bad[] = {
    {"{}", "url"},
    {"{\"url\": \"http://x/{recipent}\"}", "settings.url: unknown placeholder {recipent}"},
    {"{\"url\": \"http://x/\", \"body\": \"t={text|base64}\"}", "settings.body: unknown filter \"base64\""},
    {"{\"url\": \"http://x/\", \"headers\": {\"X-A\": \"{nope}\"}}", "settings.headers.X-A: unknown placeholder"},
    {"{\"url\": \"http://x/\", \"headers\": {\"Bad Name\": \"v\"}}", "not a header name"},
    {"{\"url\": \"http://x/\", \"method\": \"GET\", \"body\": \"x\"}", "GET request has no body"},
    {"{\"url\": \"http://x/\", \"method\": \"DELETE\"}",
     "settings: key \"method\" must be one of [\"GET\", \"POST\", \"PUT\"] (got \"DELETE\")"},
    {"{\"url\": \"ftp://x/\"}", "http:// or https://"},
    {"{\"url\": \"http://x/\", \"auth\": \"digest\"}", "key \"auth\" must be one of"},
    {"{\"url\": \"http://x/\", \"auth\": \"basic\", \"username\": \"u\"}", "username and password"},
    {"{\"url\": \"http://x/\", \"auth\": \"bearer\"}", "settings.token"},
    {"{\"url\": \"http://x/\", \"multipart\": \"split\"}",
     "key \"multipart\" must be one of [\"whole\", \"parts\"] (got \"split\")"},
    {"{\"url\": \"http://x/?cb={callback_url}\"}", "settings.callback_url is not set"},
    {"{\"url\": \"http://x/\", \"success_status\": [200, \"2yy\"]}", "success_status[1]"},
    {"{\"url\": \"http://x/\", \"id_regex\": \"([\"}", "settings.id_regex"},
    {"{\"url\": \"http://x/\", \"listen\": \"localhost\"}", "settings.listen"},
    {"{\"url\": \"http://x/\", \"listen\": \"example.com:80\"}", "not a numeric address"},
    {"{\"url\": \"http://x/\", \"callback_auth\": \"hmac\"}", "settings.callback_secret"},
    {"{\"url\": \"http://x/\", \"callback_auth\": \"magic\"}", "key \"callback_auth\" must be one of"},
    {"{\"url\": \"http://x/\", \"report_fields\": {\"remote_id\": \"/a~\"}}", "report_fields.remote_id"},
    {"{\"url\": \"http://x/\", \"report_state_map\": {\"1\": \"ok\"}}", "report_state_map.1"},
    {"{\"url\": \"http://x/\", \"report_path\": \"/same\", \"inbound_path\": \"/same\"}", "must differ"},
    {"{\"url\": \"http://x/\", \"timeout_ms\": 5}", "settings.timeout_ms"},
    /* a callback listener anyone may post to, or with the placeholder secret */
    {"{\"url\": \"http://x/\", \"listen\": \"127.0.0.1:8080\"}", "allow_insecure_callbacks"},
    {"{\"url\": \"http://x/\", \"listen\": \"127.0.0.1:8080\", \"callback_auth\": \"hmac\", "
     "\"callback_secret\": \"CHANGE_ME\"}",
     "CHANGE_ME"},
    {"{\"url\": \"http://x/\", \"token\": \"CHANGE_ME\", \"auth\": \"bearer\"}", "settings.token"},
    {"{\"url\": \"http://x/\", \"callback_auth\": \"vonage_sig\", \"callback_secret\": \"s\", "
     "\"callback_sig_method\": \"sha384\"}",
     "key \"callback_sig_method\" must be one of [\"md5hash\", \"md5\", \"sha1\", \"sha256\", \"sha512\"] (got "
     "\"sha384\")"},
    {"{\"url\": \"http://x/\", \"report_list\": \"results\"}", "settings.report_list"},
    {"{\"url\": \"http://x/\", \"callback_tls_cert_file\": \"/c.pem\"}", "callback_tls_key_file"},
};

static void check_refuses(void **state)
{
	(void)state;
	conf_refusals(&http_driver, bad, sizeof bad / sizeof *bad);
}

static void minimal_passes(void **state)
{
	(void)state;
	struct errbuf err = {""};
	assert_int_equal(
	    conf_parse_check(&http_driver, "{\"url\": \"https://x/send?to={recipient}&text={text}\"}", &err), 0);
	assert_int_equal(
	    conf_parse_check(&http_driver,
	                     "{\"url\": \"http://x/\", \"listen\": \"127.0.0.1:8080\", \"callback_auth\": "
	                     "\"vonage_jwt\", \"callback_secret\": \"sig\", \"report_list\": \"/results\"}",
	                     &err),
	    0);
	assert_int_equal(conf_parse_check(&http_driver,
	                                  "{\"url\": \"http://x/\", \"multipart\": \"parts\", \"body\": "
	                                  "\"{\\\"udh\\\": \\\"{udh_hex}\\\", \\\"hex\\\": \\\"{part_hex}\\\"}\", "
	                                  "\"content_type\": \"application/json\", \"listen\": \"[::1]:8080\", "
	                                  "\"allow_insecure_callbacks\": true}",
	                                  &err),
	                 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(presets_pass),
	    cmocka_unit_test(kannel_preset_success),
	    cmocka_unit_test(check_refuses),
	    cmocka_unit_test(minimal_passes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
