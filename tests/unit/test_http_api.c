/* The HTTP send API (connection type http-api), its pure parts: paths,
 * request bodies (JSON, batches, form fields) → submissions with every
 * field and every error, ISO 8601, the JSON answers (message state, batch
 * results, errors), the mapping of the core's answers onto HTTP statuses,
 * basic credentials, the login cache and the token bucket.  Cases are
 * tables where they can be.  The driver itself, over real HTTP, is
 * test_http_api_driver.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

#include "bucket.h"
#include "driver.h"
#include "http/api_auth.h"
#include "http/api_json.h"
#include "http/api_req.h"
#include "policy.h"

#define JSON_CT "application/json"
#define FORM_CT "application/x-www-form-urlencoded"

/* ---- paths ---- */

static void routes(void **state)
{
	(void)state;
	static const struct {
		const char *base, *path;
		enum http_api_route want;
		int64_t id;
	} cases[] = {
	    {"/api/v1", "/api/v1/messages", API_ROUTE_MESSAGES, 0},
	    {"/api/v1", "/api/v1/messages/1", API_ROUTE_MESSAGE, 1},
	    {"/api/v1", "/api/v1/messages/9223372036854775807", API_ROUTE_MESSAGE, INT64_MAX},
	    {"", "/messages", API_ROUTE_MESSAGES, 0},
	    {"", "/messages/42", API_ROUTE_MESSAGE, 42},
	    {"/api/v1", "/api/v1/messages/", API_ROUTE_NONE, 0},
	    {"/api/v1", "/api/v1/messages/0", API_ROUTE_NONE, 0},
	    {"/api/v1", "/api/v1/messages/007", API_ROUTE_NONE, 0},
	    {"/api/v1", "/api/v1/messages/-1", API_ROUTE_NONE, 0},
	    {"/api/v1", "/api/v1/messages/12a", API_ROUTE_NONE, 0},
	    {"/api/v1", "/api/v1/messages/9223372036854775808", API_ROUTE_NONE, 0},
	    {"/api/v1", "/api/v1/messagesx", API_ROUTE_NONE, 0},
	    {"/api/v1", "/api/v1/messages/1/x", API_ROUTE_NONE, 0},
	    {"/api/v1", "/api/v2/messages", API_ROUTE_NONE, 0},
	    {"/api/v1", "/messages", API_ROUTE_NONE, 0},
	    {"/api/v1", "", API_ROUTE_NONE, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int64_t id = 0;
		enum http_api_route got = http_api_route(cases[i].base, cases[i].path, &id);
		if (got != cases[i].want)
			fail_msg("route %s under %s: got %d want %d", cases[i].path, cases[i].base, got, cases[i].want);
		if (got == API_ROUTE_MESSAGE)
			assert_int_equal(id, cases[i].id);
	}
}

/* ---- ISO 8601 ---- */

static void iso8601(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int64_t want;
	} good[] = {
	    {"1970-01-01T00:00:00Z", 0},
	    {"2030-01-02T03:04:05Z", 1893553445},
	    {"2030-01-02t03:04:05z", 1893553445},
	    {"2030-01-02 03:04:05Z", 1893553445},
	    {"2030-01-02T03:04:05.123456Z", 1893553445},
	    {"2030-01-02T03:04:05,5Z", 1893553445},
	    {"2030-01-02T04:04:05+01:00", 1893553445},
	    {"2030-01-02T04:04:05+0100", 1893553445},
	    {"2030-01-02T04:04:05+01", 1893553445},
	    {"2030-01-01T22:04:05-05:00", 1893553445},
	    {"2030-01-02T03:04Z", 1893553440},
	    {"2024-02-29T00:00:00Z", 1709164800},
	    {"2016-12-31T23:59:60Z", 1483228799},
	    {"2000-02-29T12:00:00Z", 951825600},
	};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		int64_t t = -1;
		if (http_api_iso8601(good[i].s, &t))
			fail_msg("%s refused", good[i].s);
		if (t != good[i].want)
			fail_msg("%s: got %lld want %lld", good[i].s, (long long)t, (long long)good[i].want);
	}
	static const char *const bad[] = {
	    "",
	    "2030-01-02",
	    "2030-01-02T03:04:05",             /* no time zone */
	    "2030-01-02T03:04:05+",            /* half an offset */
	    "2030-01-02T03:04:05+1",           /* one digit */
	    "2030-01-02T03:04:05+24:00",       /* offset out of range */
	    "2030-01-02T03:04:05+01:60",       /* offset minutes */
	    "2030-01-02T03:04:05ZZ",           /* trailing */
	    "2030-01-02T03:04:05Z ",           /* trailing space */
	    "2030-1-02T03:04:05Z",             /* short month */
	    "2030-13-02T03:04:05Z",            /* month 13 */
	    "2030-00-02T03:04:05Z",            /* month 0 */
	    "2030-02-30T03:04:05Z",            /* February 30 */
	    "2023-02-29T03:04:05Z",            /* not a leap year */
	    "1900-02-29T00:00:00Z",            /* not a leap year, and before 1970 */
	    "1969-12-31T23:59:59Z",            /* before 1970 */
	    "1970-01-01T00:30:00+01:00",       /* before 1970 in UTC */
	    "2030-01-02T24:00:00Z",            /* hour 24 */
	    "2030-01-02T03:60:00Z",            /* minute 60 */
	    "2030-01-02T03:04:61Z",            /* second 61 */
	    "2030-01-02T03:04:05.Z",           /* empty fraction */
	    "2030-01-02T03:04:05.1234567890Z", /* fraction too long */
	    "2030-01-02X03:04:05Z",            /* separator */
	    "+2030-01-02T03:04:05Z",           /* sign */
	    "２０３０-01-02T03:04:05Z",        /* non-ASCII digits */
	    "2030-01-02T03:04:05 Z",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int64_t t;
		if (http_api_iso8601(bad[i], &t) == 0)
			fail_msg("%s accepted", bad[i]);
	}
	char buf[32];
	http_api_iso8601_format(1893553445, buf, sizeof buf);
	assert_string_equal(buf, "2030-01-02T03:04:05Z");
	int64_t back;
	assert_int_equal(http_api_iso8601(buf, &back), 0);
	assert_int_equal(back, 1893553445);
}

/* ---- bodies ---- */

/* Parses one message that must be valid; returns its submission (owned by r). */
static struct submission *parse_one(const char *ct, const char *body, struct http_api_request *r)
{
	struct http_api_error err = {0};
	if (http_api_parse(ct, body, strlen(body), r, &err))
		fail_msg("%s refused: %d %s (field %s)", body, err.status, err.msg, err.field);
	assert_int_equal(r->n, 1);
	assert_false(r->batch);
	assert_non_null(r->items[0].sub);
	return r->items[0].sub;
}

static void json_every_field(void **state)
{
	(void)state;
	struct http_api_request r;
	struct submission *s = parse_one(JSON_CT,
	                                 "{\"to\": \"+15551234567\", \"text\": \"Grüße 😀\", \"from\": \"Shop\", "
	                                 "\"client_ref\": \"r-1\", \"encoding\": \"ucs2\", \"priority\": 9, "
	                                 "\"report\": false, \"send_after\": \"2030-01-02T03:04:05Z\", "
	                                 "\"valid_until\": \"2030-01-03T03:04:05Z\", \"flash\": true, \"class\": 0}",
	                                 &r);
	assert_string_equal(s->recipient, "+15551234567");
	assert_string_equal(s->body, "Grüße 😀");
	assert_string_equal(s->sender, "Shop");
	assert_string_equal(s->client_ref, "r-1");
	assert_string_equal(s->encoding, "ucs2");
	assert_int_equal(s->priority, 9);
	assert_false(s->want_report);
	assert_int_equal(s->send_after_s, 1893553445);
	assert_int_equal(s->valid_until_s, 1893553445 + 86400);
	assert_true(s->flash);
	assert_int_equal(s->msg_class, 0);
	assert_null(s->payload);
	assert_null(s->udh);
	assert_null(s->account);
	http_api_request_free(&r);

	/* defaults; null is the same as absent */
	s = parse_one("Application/JSON; charset=utf-8",
	              "{\"to\": \"15551234567\", \"text\": \"hi\", \"from\": null, \"class\": null}", &r);
	assert_null(s->sender);
	assert_null(s->client_ref);
	assert_string_equal(s->encoding, "auto");
	assert_int_equal(s->priority, 0);
	assert_true(s->want_report);
	assert_false(s->flash);
	assert_int_equal(s->msg_class, -1);
	assert_int_equal(s->send_after_s, 0);
	assert_int_equal(s->valid_until_s, 0);
	http_api_request_free(&r);

	/* binary */
	s = parse_one("application/vnd.smspool+json",
	              "{\"to\": \"1\", \"encoding\": \"binary\", \"payload\": \"0aFF\", \"udh\": \"050003010201\"}",
	              &r);
	assert_null(s->body);
	assert_string_equal(s->payload, "0aFF");
	assert_string_equal(s->udh, "050003010201");
	assert_string_equal(s->encoding, "binary");
	http_api_request_free(&r);

	/* what the database checks is left to it */
	s = parse_one(JSON_CT, "{\"to\": \"not-a-number\", \"text\": \"\"}", &r);
	assert_string_equal(s->recipient, "not-a-number");
	assert_string_equal(s->body, "");
	http_api_request_free(&r);
}

/* Every way a request (single message) can be refused. */
static void errors(void **state)
{
	(void)state;
	static const struct {
		const char *ct, *body;
		int status;
		const char *field, *msg; /* msg: a substring of the message */
	} cases[] = {
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"colour\": \"red\"}", 400, "colour",
	     "unknown field \"colour\""},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"\\u00e9\\n\": 1}", 400, "???", "unknown field"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": ", 400, "", "broken JSON at line 1"},
	    {JSON_CT, "{\"to\": \"1\", \"to\": \"2\", \"text\": \"x\"}", 400, "", "broken JSON"},
	    {JSON_CT, "\"just a string\"", 400, "", "broken JSON"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"\\u0000\"}", 400, "", "broken JSON"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"\xff\"}", 400, "", "not valid UTF-8 (at byte 21)"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"\xed\xa0\x80\"}", 400, "", "not valid UTF-8"},
	    {JSON_CT, "", 400, "", "the body is empty"},
	    {JSON_CT, "{\"text\": \"x\"}", 400, "to", "to: required"},
	    {JSON_CT, "{\"to\": \"\", \"text\": \"x\"}", 400, "to", "to: required"},
	    {JSON_CT, "{\"to\": null, \"text\": \"x\"}", 400, "to", "to: required"},
	    {JSON_CT, "{\"to\": \"1\"}", 400, "text", "text: required"},
	    {JSON_CT, "{\"to\": 15551234567, \"text\": \"x\"}", 400, "to", "to: must be a string"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": [\"x\"]}", 400, "text", "text: must be a string"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"priority\": \"5\"}", 400, "priority", "must be an integer"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"priority\": 1.5}", 400, "priority", "must be an integer"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"priority\": 10}", 400, "priority", "0 to 9"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"priority\": -1}", 400, "priority", "0 to 9"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"class\": 4}", 400, "class", "0 to 3"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"report\": \"yes\"}", 400, "report", "true or false"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"flash\": 1}", 400, "flash", "true or false"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"encoding\": \"latin1\"}", 400, "encoding", "auto, gsm7"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"payload\": \"00\"}", 400, "payload", "only with encoding"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"udh\": \"00\"}", 400, "udh", "only with encoding"},
	    {JSON_CT, "{\"to\": \"1\", \"encoding\": \"binary\"}", 400, "payload", "payload: required"},
	    {JSON_CT, "{\"to\": \"1\", \"encoding\": \"binary\", \"payload\": \"abc\"}", 400, "payload", "even-length"},
	    {JSON_CT, "{\"to\": \"1\", \"encoding\": \"binary\", \"payload\": \"zz\"}", 400, "payload", "hex"},
	    {JSON_CT, "{\"to\": \"1\", \"encoding\": \"binary\", \"payload\": \"00\", \"udh\": \"\"}", 400, "udh",
	     "hex"},
	    {JSON_CT, "{\"to\": \"1\", \"encoding\": \"binary\", \"payload\": \"00\", \"text\": \"x\"}", 400, "text",
	     "not allowed with encoding"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"send_after\": \"tomorrow\"}", 400, "send_after", "ISO 8601"},
	    {JSON_CT, "{\"to\": \"1\", \"text\": \"x\", \"valid_until\": \"2030-01-02T03:04:05\"}", 400, "valid_until",
	     "time zone"},
	    {JSON_CT, "{\"messages\": [], \"to\": \"1\"}", 400, "to", "unknown field \"to\""},
	    {JSON_CT, "{\"messages\": {\"to\": \"1\"}}", 400, "messages", "must be an array"},
	    {JSON_CT, "[]", 400, "messages", "the batch is empty"},
	    {"text/plain", "to=1&text=x", 415, "", "Content-Type must be"},
	    {NULL, "{\"to\": \"1\", \"text\": \"x\"}", 415, "", "Content-Type must be"},
	    {FORM_CT, "to=1", 400, "text", "text: required"},
	    {FORM_CT, "text=x", 400, "to", "to: required"},
	    {FORM_CT, "to=1&text=x&colour=red", 400, "colour", "unknown field"},
	    {FORM_CT, "to=1&text=x&to=2", 400, "to", "given more than once"},
	    {FORM_CT, "to=1&text=%FF", 400, "", "not valid UTF-8"},
	    {FORM_CT, "to=1&text=%zz", 400, "", "not valid form encoding"},
	    {FORM_CT, "to=1&text=%00", 400, "", "not valid form encoding"},
	    {FORM_CT, "to=1&text=x&priority=high", 400, "priority", "must be an integer"},
	    {FORM_CT, "to=1&text=x&priority=", 400, "priority", "must be an integer"},
	    {FORM_CT, "to=1&text=x&priority=12", 400, "priority", "0 to 9"},
	    {FORM_CT, "to=1&text=x&report=yes", 400, "report", "true or false"},
	    {FORM_CT, "to=1&text=x&class=%2B1", 400, "class", "must be an integer"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct http_api_request r;
		struct http_api_error err = {0};
		if (http_api_parse(cases[i].ct, cases[i].body, strlen(cases[i].body), &r, &err) == 0)
			fail_msg("case %zu (%s) accepted", i, cases[i].body);
		assert_int_equal(r.n, 0);
		assert_null(r.items);
		if (err.status != cases[i].status || strcmp(err.field, cases[i].field) != 0 ||
		    !strstr(err.msg, cases[i].msg))
			fail_msg("case %zu (%s): got %d field \"%s\" \"%s\"; want %d \"%s\" \"…%s…\"", i, cases[i].body,
			         err.status, err.field, err.msg, cases[i].status, cases[i].field, cases[i].msg);
	}
	/* a NUL inside the body */
	struct http_api_request r;
	struct http_api_error err = {0};
	assert_int_equal(http_api_parse(JSON_CT, "{\"to\": \"1\"}\0x", 13, &r, &err), -1);
	assert_int_equal(err.status, 400);
}

static void form_fields(void **state)
{
	(void)state;
	struct http_api_request r;
	struct submission *s = parse_one(FORM_CT,
	                                 "to=%2B15551234567&text=Gr%C3%BC%C3%9Fe+W%C3%B6rld&from=Shop&client_ref=a%26b&"
	                                 "encoding=gsm7&priority=7&report=0&flash=true&class=2&"
	                                 "send_after=2030-01-02T04%3A04%3A05%2B01%3A00",
	                                 &r);
	assert_string_equal(s->recipient, "+15551234567");
	assert_string_equal(s->body, "Grüße Wörld");
	assert_string_equal(s->sender, "Shop");
	assert_string_equal(s->client_ref, "a&b");
	assert_string_equal(s->encoding, "gsm7");
	assert_int_equal(s->priority, 7);
	assert_false(s->want_report);
	assert_true(s->flash);
	assert_int_equal(s->msg_class, 2);
	assert_int_equal(s->send_after_s, 1893553445);
	http_api_request_free(&r);
	s = parse_one(FORM_CT, "to=1&encoding=binary&payload=00FF&report=false&flash=0", &r);
	assert_string_equal(s->payload, "00FF");
	assert_false(s->flash);
	http_api_request_free(&r);
}

static void batches(void **state)
{
	(void)state;
	struct http_api_request r;
	struct http_api_error err = {0};
	const char *b = "[{\"to\": \"1\", \"text\": \"a\"}, {\"to\": \"2\", \"colour\": 1}, 7, {\"to\": \"3\"}, "
	                "{\"to\": \"4\", \"text\": \"d\", \"priority\": 2}]";
	assert_int_equal(http_api_parse(JSON_CT, b, strlen(b), &r, &err), 0);
	assert_true(r.batch);
	assert_int_equal(r.n, 5);
	assert_string_equal(r.items[0].sub->body, "a");
	assert_null(r.items[1].sub);
	assert_int_equal(r.items[1].err.status, 400);
	assert_string_equal(r.items[1].err.field, "colour");
	assert_null(r.items[2].sub);
	assert_non_null(strstr(r.items[2].err.msg, "must be a JSON object"));
	assert_null(r.items[3].sub);
	assert_string_equal(r.items[3].err.field, "text");
	assert_int_equal(r.items[4].sub->priority, 2);
	assert_int_equal(r.items[0].err.status, 0);
	http_api_request_free(&r);

	b = "{\"messages\": [{\"to\": \"1\", \"text\": \"a\"}]}";
	assert_int_equal(http_api_parse(JSON_CT, b, strlen(b), &r, &err), 0);
	assert_true(r.batch);
	assert_int_equal(r.n, 1);
	http_api_request_free(&r);

	/* the limit: 1000 pass, 1001 are 413 */
	for (int n = HTTP_API_BATCH_MAX; n <= HTTP_API_BATCH_MAX + 1; n++) {
		size_t cap = (size_t)n * 32 + 8, len = 0;
		char *big = malloc(cap);
		big[len++] = '[';
		for (int i = 0; i < n; i++)
			len +=
			    (size_t)snprintf(big + len, cap - len, "%s{\"to\":\"%d\",\"text\":\"t\"}", i ? "," : "", i);
		big[len++] = ']';
		int rc = http_api_parse(JSON_CT, big, len, &r, &err);
		if (n == HTTP_API_BATCH_MAX) {
			assert_int_equal(rc, 0);
			assert_int_equal(r.n, n);
			http_api_request_free(&r);
		} else {
			assert_int_equal(rc, -1);
			assert_int_equal(err.status, 413);
		}
		free(big);
	}
}

/* ---- answers ---- */

static void status_rendering(void **state)
{
	(void)state;
	struct message_status st = {.id = 42,
	                            .status = "delivered",
	                            .recipient = "+15551234567",
	                            .sender = "Shop",
	                            .client_ref = NULL,
	                            .connection_used = "emu",
	                            .parts = 2,
	                            .created_s = 1893553445,
	                            .sent_s = 1893553446,
	                            .done_s = 0};
	char *s = http_api_status_json(&st);
	assert_string_equal(s, "{\"id\":42,\"status\":\"delivered\",\"to\":\"+15551234567\",\"from\":\"Shop\","
	                       "\"client_ref\":null,\"parts\":2,\"connection\":\"emu\",\"error\":null,"
	                       "\"created_at\":\"2030-01-02T03:04:05Z\",\"sent_at\":\"2030-01-02T03:04:06Z\","
	                       "\"done_at\":null}");
	free(s);
	st.status = "failed";
	st.error_class = "permanent";
	st.error_code = "0x0000000B";
	st.error_text = "invalid \"destination\"";
	s = http_api_status_json(&st);
	assert_non_null(strstr(s, "\"error\":{\"class\":\"permanent\",\"code\":\"0x0000000B\",\"text\":\"invalid "
	                          "\\\"destination\\\"\"}"));
	free(s);
	s = http_api_error_json("no such message", NULL);
	assert_string_equal(s, "{\"error\":\"no such message\"}");
	free(s);
	s = http_api_error_json("to: required", "to");
	assert_string_equal(s, "{\"error\":\"to: required\",\"field\":\"to\"}");
	free(s);
}

static void results(void **state)
{
	(void)state;
	struct http_api_item items[3];
	memset(items, 0, sizeof items);
	struct http_api_request r = {items, 1, false};
	int status;
	items[0].id = 7;
	char *s = http_api_result_json(&r, &status);
	assert_int_equal(status, 201);
	assert_string_equal(s, "{\"id\":7,\"status\":\"queued\"}");
	free(s);
	items[0].err.status = 429;
	snprintf(items[0].err.msg, sizeof items[0].err.msg, "slow down");
	s = http_api_result_json(&r, &status);
	assert_int_equal(status, 429);
	assert_string_equal(s, "{\"error\":\"slow down\"}");
	free(s);
	/* batches */
	r.batch = true;
	r.n = 3;
	memset(items, 0, sizeof items);
	items[0].id = 1, items[1].id = 2, items[2].id = 3;
	s = http_api_result_json(&r, &status);
	assert_int_equal(status, 201);
	free(s);
	items[1].err.status = 400;
	snprintf(items[1].err.msg, sizeof items[1].err.msg, "bad");
	snprintf(items[1].err.field, sizeof items[1].err.field, "to");
	s = http_api_result_json(&r, &status);
	assert_int_equal(status, 207);
	assert_string_equal(s, "{\"messages\":[{\"id\":1,\"status\":\"queued\"},{\"error\":\"bad\",\"field\":\"to\"},"
	                       "{\"id\":3,\"status\":\"queued\"}]}");
	free(s);
	items[0].err = items[1].err;
	items[2].err = items[1].err;
	s = http_api_result_json(&r, &status);
	assert_int_equal(status, 400); /* all refused alike */
	free(s);
	items[2].err.status = 503;
	s = http_api_result_json(&r, &status);
	assert_int_equal(status, 207);
	free(s);
}

#define RES(...) (&(struct submit_result){__VA_ARGS__})

static void submit_mapping(void **state)
{
	(void)state;
	assert_int_equal(http_api_submit_status(RES(.message_id = 5)), 201);
	assert_int_equal(http_api_submit_status(RES(.message_id = 0)), 503);
	assert_int_equal(http_api_submit_status(RES(.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_RECIPIENT)), 400);
	/* the status comes from the field, not from the text */
	assert_int_equal(http_api_submit_status(RES(.error = SUBMIT_INVALID, .field = SUBMIT_FIELD_ACCOUNT,
	                                            .text = "outbox.recipient: must be")),
	                 403);
	assert_int_equal(http_api_submit_status(RES(.error = SUBMIT_INVALID, .text = "outbox.account: unknown")), 400);
	assert_int_equal(http_api_submit_status(RES(.error = SUBMIT_INVALID)), 400);
	assert_int_equal(http_api_submit_status(RES(.error = SUBMIT_THROTTLED)), 429);
	assert_int_equal(http_api_submit_status(RES(.error = SUBMIT_TEMPORARY, .text = "database unavailable")), 503);
	static const struct {
		enum submit_field f;
		const char *field;
	} f[] = {
	    {SUBMIT_FIELD_RECIPIENT, "to"},
	    {SUBMIT_FIELD_SENDER, "from"},
	    {SUBMIT_FIELD_BODY, "text"},
	    {SUBMIT_FIELD_PAYLOAD, "payload"},
	    {SUBMIT_FIELD_UDH, "udh"},
	    {SUBMIT_FIELD_MSG_CLASS, "class"},
	    {SUBMIT_FIELD_VALIDITY, "valid_until"},
	    {SUBMIT_FIELD_SCHEDULE, "send_after"},
	    {SUBMIT_FIELD_PRIORITY, "priority"},
	    {SUBMIT_FIELD_DATA_CODING, "encoding"},
	    {SUBMIT_FIELD_KEY, "client_ref"},
	    {SUBMIT_FIELD_ACCOUNT, NULL},
	    {SUBMIT_FIELD_CONNECTION, NULL},
	    {SUBMIT_FIELD_NONE, NULL},
	    {(enum submit_field)99, NULL},
	};
	for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
		const char *got = http_api_field_of(f[i].f);
		if (f[i].field ? !got || strcmp(got, f[i].field) : got != NULL)
			fail_msg("field_of(%d) = %s", (int)f[i].f, got ? got : "NULL");
	}
}

/* ---- credentials, cache, bucket ---- */

static void basic_credentials(void **state)
{
	(void)state;
	static const struct {
		const char *h;
		enum http_api_cred want;
		const char *user, *pass;
	} cases[] = {
	    {"Basic YXBwMTpsb25nZXItc2VjcmV0LTE=", API_CRED_OK, "app1", "longer-secret-1"},
	    {"basic  YXBwMTphOmI6Yw==", API_CRED_OK, "app1", "a:b:c"}, /* the password may hold colons */
	    {"Basic YXBwMTo=", API_CRED_OK, "app1", ""},
	    {NULL, API_CRED_MISSING, NULL, NULL},
	    {"Bearer abc.def", API_CRED_BEARER, NULL, NULL},
	    {"bearer", API_CRED_BEARER, NULL, NULL},
	    {"Digest username=x", API_CRED_BAD, NULL, NULL},
	    {"Basic", API_CRED_BAD, NULL, NULL},
	    {"Basic ", API_CRED_BAD, NULL, NULL},
	    {"Basic YXBwMQ==", API_CRED_BAD, NULL, NULL}, /* no colon */
	    {"Basic OnBhc3M=", API_CRED_BAD, NULL, NULL}, /* empty user */
	    {"Basic !!!!", API_CRED_BAD, NULL, NULL},     /* not base64 */
	    {"Basic YXBwMTp", API_CRED_BAD, NULL, NULL},  /* length not a multiple of 4 */
	    {"Basic YQB4OnA=", API_CRED_BAD, NULL, NULL}, /* a NUL inside */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *u, *p;
		enum http_api_cred got = http_api_basic(cases[i].h, &u, &p);
		if (got != cases[i].want)
			fail_msg("%s: got %d want %d", cases[i].h ? cases[i].h : "NULL", got, cases[i].want);
		if (got == API_CRED_OK) {
			assert_string_equal(u, cases[i].user);
			assert_string_equal(p, cases[i].pass);
		} else {
			assert_null(u);
			assert_null(p);
		}
		free(u);
		http_api_secret_free(p);
	}
}

static void auth_cache(void **state)
{
	(void)state;
	struct http_api_cache *c = calloc(1, sizeof *c);
	struct account_info a1 = {"app1", 0, 5.0}, a2 = {"app2", 3, 0};
	uint8_t k1[32], k1b[32], k1other[32], k1peer[32], k2[32];
	http_api_cache_key("app1", "pw", "127.0.0.1", k1);
	http_api_cache_key("app1", "pw", "127.0.0.1", k1b);
	http_api_cache_key("app1", "pw2", "127.0.0.1", k1other);
	http_api_cache_key("app1", "pw", "10.0.0.1", k1peer);
	http_api_cache_key("app2", "pw", "127.0.0.1", k2);
	assert_memory_equal(k1, k1b, 32);
	assert_memory_not_equal(k1, k1other, 32);
	assert_memory_not_equal(k1, k1peer, 32);
	assert_memory_not_equal(k1, k2, 32);
	/* field boundaries are not ambiguous */
	uint8_t x[32], y[32];
	http_api_cache_key("ab", "c", NULL, x);
	http_api_cache_key("a", "bc", NULL, y);
	assert_memory_not_equal(x, y, 32);

	assert_null(http_api_cache_get(c, k1, 1000));
	http_api_cache_put(c, k1, &a1, 1000, 60000);
	http_api_cache_put(c, k2, &a2, 1000, 60000);
	const struct http_api_cache_entry *e = http_api_cache_get(c, k1b, 2000);
	assert_non_null(e);
	assert_string_equal(e->account, "app1");
	assert_true(e->throughput == 5.0);
	assert_null(http_api_cache_get(c, k1other, 2000)); /* another password */
	assert_null(http_api_cache_get(c, k1peer, 2000));  /* another peer */
	e = http_api_cache_get(c, k2, 2000);
	assert_non_null(e);
	assert_int_equal(e->max_binds, 3);
	/* a renewed login replaces the entry, it does not add one */
	http_api_cache_put(c, k1, &a1, 30000, 60000);
	assert_int_equal(c->n, 2);
	/* expiry */
	assert_null(http_api_cache_get(c, k2, 61000));
	assert_int_equal(c->n, 1);
	assert_non_null(http_api_cache_get(c, k1, 89999));
	assert_null(http_api_cache_get(c, k1, 90000));
	assert_int_equal(c->n, 0);
	/* an account's access changed: its logins are forgotten, others stay;
	 * "" forgets every login */
	http_api_cache_put(c, k1, &a1, 1000, 60000);
	http_api_cache_put(c, k1peer, &a1, 1000, 60000);
	http_api_cache_put(c, k2, &a2, 1000, 60000);
	assert_int_equal(http_api_cache_forget(c, "nobody"), 0);
	assert_int_equal(http_api_cache_forget(c, "app1"), 2);
	assert_null(http_api_cache_get(c, k1, 2000));
	assert_null(http_api_cache_get(c, k1peer, 2000));
	assert_non_null(http_api_cache_get(c, k2, 2000));
	http_api_cache_put(c, k1, &a1, 1000, 60000);
	assert_int_equal(http_api_cache_forget(c, ""), 2);
	assert_int_equal(c->n, 0);
	/* ttl 0: nothing is kept */
	http_api_cache_put(c, k1, &a1, 1000, 0);
	assert_null(http_api_cache_get(c, k1, 1000));
	/* full: the entry that expires first makes room */
	for (int i = 0; i < HTTP_API_CACHE_MAX; i++) {
		char pw[16];
		snprintf(pw, sizeof pw, "pw%d", i);
		uint8_t k[32];
		http_api_cache_key("app1", pw, NULL, k);
		http_api_cache_put(c, k, &a1, 1000 + (uint64_t)i, 60000);
	}
	assert_int_equal(c->n, HTTP_API_CACHE_MAX);
	http_api_cache_put(c, k2, &a2, 5000, 60000);
	assert_int_equal(c->n, HTTP_API_CACHE_MAX);
	assert_non_null(http_api_cache_get(c, k2, 5000));
	uint8_t first[32];
	http_api_cache_key("app1", "pw0", NULL, first);
	assert_null(http_api_cache_get(c, first, 5000));
	http_api_cache_clear(c);
	assert_int_equal(c->n, 0);
	free(c);
}

static void bucket(void **state)
{
	(void)state;
	struct bucket b = {0};
	assert_int_equal(bucket_take(&b, 1, 1, 1000), 0);
	assert_int_equal(bucket_take(&b, 1, 1, 1100), 1); /* wait about 0.9 s: 1 */
	assert_int_equal(bucket_take(&b, 1, 1, 2000), 0);
	/* rate 5: a burst of 5, then one per 200 ms */
	struct bucket c = {0};
	for (int i = 0; i < 5; i++)
		assert_int_equal(bucket_take(&c, 5, 1, 0), 0);
	assert_int_equal(bucket_take(&c, 5, 1, 0), 1);
	assert_int_equal(bucket_take(&c, 5, 1, 200), 0);
	/* 0.1 per second: 10 s to wait */
	struct bucket d = {0};
	assert_int_equal(bucket_take(&d, 0.1, 1, 0), 0);
	assert_int_equal(bucket_take(&d, 0.1, 1, 0), 10);
	/* unlimited */
	struct bucket u = {0};
	for (int i = 0; i < 1000; i++)
		assert_int_equal(bucket_take(&u, 0, 1, 0), 0);
	/* the clock going backwards does not add tokens */
	struct bucket e = {0};
	assert_int_equal(bucket_take(&e, 1, 1, 5000), 0);
	assert_int_equal(bucket_take(&e, 1, 1, 4000), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(routes),           cmocka_unit_test(iso8601),
	    cmocka_unit_test(json_every_field), cmocka_unit_test(errors),
	    cmocka_unit_test(form_fields),      cmocka_unit_test(batches),
	    cmocka_unit_test(status_rendering), cmocka_unit_test(results),
	    cmocka_unit_test(submit_mapping),   cmocka_unit_test(basic_credentials),
	    cmocka_unit_test(auth_cache),       cmocka_unit_test(bucket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
