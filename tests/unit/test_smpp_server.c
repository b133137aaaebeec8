/* SMPP server pure helpers (drivers/smpp/server_conf.c): settings and their
 * refusals, SMPP absolute and relative times, the command_status of refused
 * binds and submits, and the receipt text of an account event.  The sessions
 * themselves are tested end to end in tests/e2e/75_smpp_server.sh. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "conf_check.h"
#include "policy.h"
#include "smpp/server_conf.h"
#include "smpp/status.h"

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
	return (int64_t)timegm(&tm);
}

extern const struct driver_ops smpp_server_driver;

static void defaults(void **state)
{
	(void)state;
	struct smpp_server_conf c = {0};
	struct errbuf err = {""};
	assert_int_equal(settings_parse(smpp_server_conf_settings, "{}", &c, &err), 0);
	assert_int_equal(smpp_server_conf_check(&c, &err), 0);
	assert_string_equal(c.listen, "127.0.0.1:2775");
	assert_string_equal(c.system_id, "smspool");
	assert_int_equal(smpp_server_conf_version(&c), 0x34);
	assert_int_equal(c.max_sessions, 1000);
	assert_false(c.tls);
	assert_null(c.tls_listen);
	settings_free(smpp_server_conf_settings, &c);
}

static void refusals_name_the_key(void **state)
{
	(void)state;
	static const struct conf_refusal cases[] = {
	    {"{\"listen\": \"2775\"}", "listen"},
	    {"{\"listen\": \"127.0.0.1:70000\"}", "listen"},
	    {"{\"tls_listen\": \"nohost\"}", "tls_listen"},
	    {"{\"tls\": true}", "tls_cert_file"},
	    {"{\"tls_listen\": \"127.0.0.1:3550\", \"tls_cert_file\": \"c.pem\"}", "tls_cert_file"},
	    {"{\"tls_cert_file\": \"c.pem\", \"tls_key_file\": \"k.pem\"}", "tls_cert_file"},
	    {"{\"system_id\": \"sixteen_chars_xx\"}", "system_id"},
	    {"{\"interface_version\": \"3.5\"}", "interface_version"},
	    {"{\"window\": 0}", "window"},
	    {"{\"no_such\": 1}", "no_such"},
	};
	conf_refusals(&smpp_server_driver, cases, sizeof cases / sizeof cases[0]);
	struct errbuf err = {""};
	assert_int_equal(
	    conf_parse_check(&smpp_server_driver,
	                     "{\"listen\": \"[::1]:0\", \"tls_listen\": \"0.0.0.0:3550\", \"tls_cert_file\": "
	                     "\"c.pem\", \"tls_key_file\": \"k.pem\", \"interface_version\": \"5.0\"}",
	                     &err),
	    0);
}

static void times(void **state)
{
	(void)state;
	const int64_t now = utc(2026, 3, 1, 12, 0, 0);
	int64_t t = -1;
	static const struct {
		const char *s;
		int64_t want;
	} ok[] = {
	    {"", 0},
	    /* local 10:30:00, 4 quarter hours (1 h) ahead of UTC */
	    {"260115103000004+", 0},
	    /* behind UTC by 5 h 30 min (22 quarter hours) */
	    {"260115103000022-", 0},
	    {"260115103000000+", 0},
	    {"000001020304000R", 0},
	    {"010100000000000R", 0},
	};
	int64_t want[] = {
	    0,
	    utc(2026, 1, 15, 9, 30, 0),
	    utc(2026, 1, 15, 16, 0, 0),
	    utc(2026, 1, 15, 10, 30, 0),
	    now + 86400 + 2 * 3600 + 3 * 60 + 4,
	    now + 365 * 86400 + 30 * 86400,
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(smpp_time_parse(ok[i].s, now, &t), 0);
		if (t != want[i])
			fail_msg("%s: got %lld, want %lld", ok[i].s, (long long)t, (long long)want[i]);
	}
	static const char *const bad[] = {
	    "2601151030",        /* short */
	    "260115103000004",   /* no p */
	    "260115103000004X",  /* unknown p */
	    "261315103000004+",  /* month 13 */
	    "260231103000004+",  /* 31 February */
	    "260115253000004+",  /* hour 25 */
	    "260115103000049+",  /* 49 quarter hours */
	    "26011510300000a+",  /* not a digit */
	    "260115103000004+x", /* long */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (smpp_time_parse(bad[i], now, &t) != -EINVAL)
			fail_msg("%s accepted", bad[i]);
}

static void bind_status(void **state)
{
	(void)state;
	assert_int_equal(smpp_server_bind_status("wrong password"), SMPP_ESME_RINVPASWD);
	/* The reasons are typed (policy.h): free text is no reason. */
	assert_int_equal(smpp_server_bind_status("Password mismatch for esme1"), SMPP_ESME_RBINDFAIL);
	assert_int_equal(smpp_server_bind_status(auth_refusal_text(AUTH_BLOCKED)), SMPP_ESME_RBINDFAIL);
	assert_int_equal(smpp_server_bind_status(auth_refusal_text(AUTH_MAX_BINDS)), SMPP_ESME_RBINDFAIL);
	assert_int_equal(smpp_server_bind_status("unknown account"), SMPP_ESME_RINVSYSID);
	assert_int_equal(smpp_server_bind_status("no such system_id"), SMPP_ESME_RBINDFAIL);
	assert_int_equal(smpp_server_bind_status("account disabled"), SMPP_ESME_RBINDFAIL);
	assert_int_equal(smpp_server_bind_status("database unavailable"), SMPP_ESME_RBINDFAIL);
	assert_int_equal(smpp_server_bind_status(NULL), SMPP_ESME_RBINDFAIL);
}

static void submit_status(void **state)
{
	(void)state;
	/* By (error, field), whatever the text says (the text of the sender
	 * case names the recipient). */
	static const struct {
		struct submit_result res;
		uint32_t want;
	} cases[] = {
	    {{.message_id = 7}, SMPP_ESME_ROK},
	    {{.message_id = 0}, SMPP_ESME_RSYSERR},
	    {{.error = SUBMIT_THROTTLED, .text = "account esme1 over 10 msg/s"}, SMPP_ESME_RTHROTTLED},
	    {{.error = SUBMIT_TEMPORARY, .text = "database unavailable"}, SMPP_ESME_RX_T_APPN},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_RECIPIENT}, SMPP_ESME_RINVDSTADR},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_SENDER, .text = "outbox.recipient: (got \"recipient\")"},
	     SMPP_ESME_RINVSRCADR},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_BODY}, SMPP_ESME_RINVMSGLEN},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_PAYLOAD}, SMPP_ESME_RINVMSGLEN},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_UDH}, SMPP_ESME_RINVMSGLEN},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_DATA_CODING}, SMPP_ESME_RINVMSGLEN},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_VALIDITY}, SMPP_ESME_RINVEXPIRY},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_SCHEDULE}, SMPP_ESME_RINVSCHED},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_PRIORITY}, SMPP_ESME_RINVPRTFLG},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_ACCOUNT, .text = "outbox.recipient"},
	     SMPP_ESME_RSUBMITFAIL},
	    {{.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_KEY, .taken_id = 5}, SMPP_ESME_RSUBMITFAIL},
	    {{.error = SUBMIT_INVALID, .text = "outbox.recipient: must be"}, SMPP_ESME_RSUBMITFAIL},
	    {{.error = SUBMIT_INVALID, .field = (enum submit_field)99}, SMPP_ESME_RSUBMITFAIL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (smpp_server_submit_status(&cases[i].res) != cases[i].want)
			fail_msg("case %zu: got 0x%X, want 0x%X", i, smpp_server_submit_status(&cases[i].res),
			         cases[i].want);
}

static void receipt_text(void **state)
{
	(void)state;
	struct account_event ev = {0};
	char out[200];
	ev.kind = ACCOUNT_EVENT_REPORT;
	ev.message_id = 1234567;
	ev.state = "delivered";
	ev.submitted_s = utc(2026, 1, 15, 9, 30, 12);
	ev.done_s = utc(2026, 1, 15, 9, 31, 59);
	assert_true(smpp_server_receipt_text(&ev, out, sizeof out) > 0);
	assert_string_equal(out, "id:1234567 sub:001 dlvrd:001 submit date:2601150930 done date:2601150931 "
	                         "stat:DELIVRD err:000 text:");
	ev.state = "undelivered";
	ev.error_code = "34";
	assert_true(smpp_server_receipt_text(&ev, out, sizeof out) > 0);
	assert_string_equal(out, "id:1234567 sub:001 dlvrd:000 submit date:2601150930 done date:2601150931 "
	                         "stat:UNDELIV err:034 text:");
	ev.state = "rejected";
	ev.error_code = "0x0000000B"; /* not a network code */
	assert_true(smpp_server_receipt_text(&ev, out, sizeof out) > 0);
	assert_non_null(strstr(out, "stat:REJECTD err:000 "));
	ev.state = "expired";
	assert_true(smpp_server_receipt_text(&ev, out, sizeof out) > 0);
	assert_non_null(strstr(out, "stat:EXPIRED"));
	ev.state = "failed";
	assert_true(smpp_server_receipt_text(&ev, out, sizeof out) > 0);
	assert_non_null(strstr(out, "stat:UNDELIV"));
	ev.state = "something new";
	assert_true(smpp_server_receipt_text(&ev, out, sizeof out) > 0);
	assert_non_null(strstr(out, "stat:UNKNOWN"));
	assert_int_equal(smpp_server_receipt_text(&ev, out, 20), -ENOSPC);

	assert_int_equal(smpp_server_message_state("delivered"), 2);
	assert_int_equal(smpp_server_message_state("expired"), 3);
	assert_int_equal(smpp_server_message_state("undelivered"), 5);
	assert_int_equal(smpp_server_message_state("rejected"), 8);
	assert_int_equal(smpp_server_message_state("whatever"), 7);
	assert_string_equal(smpp_server_stat_word(NULL), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults),    cmocka_unit_test(refusals_name_the_key), cmocka_unit_test(times),
	    cmocka_unit_test(bind_status), cmocka_unit_test(submit_status),         cmocka_unit_test(receipt_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
