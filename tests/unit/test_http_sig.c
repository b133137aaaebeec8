/* Provider webhook signatures (drivers/http/sig.c).  Vectors computed
 * independently with Python's hmac/hashlib/base64 from the providers'
 * documented algorithms; the Twilio one is also the example of Twilio's
 * "Webhooks security" page (token 12345). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/form.h"
#include "http/sig.h"

static struct http_form form_of(const char *s)
{
	struct http_form f = {0};
	struct errbuf err = {""};
	if (http_form_parse(s, strlen(s), &f, &err))
		fail_msg("form: %s", err.msg);
	return f;
}

static void twilio(void **state)
{
	(void)state;
	const char *url = "https://mycompany.com/myapp.php?foo=1&bar=2";
	struct http_form f = form_of("To=%2B18005551212&From=%2B12349013030&Caller=%2B12349013030&Digits=1234&"
	                             "CallSid=CA1234567890ABCDE");
	char sig[29];
	http_sig_twilio_make("12345", url, &f, sig);
	assert_string_equal(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
	assert_int_equal(http_sig_twilio("12345", url, &f, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="), 0);
	assert_int_equal(http_sig_twilio("12345", url, &f, NULL), 401);
	assert_int_equal(http_sig_twilio("12346", url, &f, sig), 403);
	/* the URL (query string included) is signed: another query fails */
	assert_int_equal(http_sig_twilio("12345", "https://mycompany.com/myapp.php?foo=2&bar=2", &f, sig), 403);
	/* so is every form field */
	struct http_form g = form_of("To=%2B18005551212&From=%2B12349013030&Caller=%2B12349013030&Digits=1235&"
	                             "CallSid=CA1234567890ABCDE");
	assert_int_equal(http_sig_twilio("12345", url, &g, sig), 403);
	http_form_free(&f);
	http_form_free(&g);
}

static const char *const vparams = "msisdn=447700900001&to=447700900000&messageId=0A0000000123ABCD1&"
                                   "text=Hello+%26+%3D+world&type=text&timestamp=1625152802&nonce=aaaa-bbbb";

static void vonage_legacy(void **state)
{
	(void)state;
	static const struct {
		const char *method, *sig;
	} v[] = {
	    {"md5hash", "a46c3cf26340ea6281a2cfdbea89582f"},
	    {"md5", "271f319699c74fc6a5db67d9e45b91ab"},
	    {"sha1", "493f6692332e92dc2a1afffff072a16ddebacc86"},
	    {"sha256", "E46723BEDB425A4F0191101DA66EBDB71CF83D77A7869D29C08BD043B4D92DC3"},
	    {"sha512",
	     "be7dd52df6f3e6bcecf8d5f886c841b03656cb994b680ee51bd0dc77d8032eedb4fd2d81f6f655bf15403244b16500b66"
	     "fecdd81dded55007d4c499da4119c20"},
	};
	const char *sec = "abcdef0123456789";
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		int m = http_sig_method_of(v[i].method);
		assert_true(m >= 0);
		/* split between query and form: all of them are signed */
		struct http_form q = form_of("msisdn=447700900001&to=447700900000&sig=ignored");
		struct http_form f = form_of("messageId=0A0000000123ABCD1&text=Hello+%26+%3D+world&type=text&"
		                             "timestamp=1625152802&nonce=aaaa-bbbb");
		if (http_sig_vonage(sec, (enum http_sig_method)m, &q, &f, v[i].sig))
			fail_msg("%s: refused", v[i].method);
		http_form_free(&q);
		http_form_free(&f);
		struct http_form all = form_of(vparams);
		assert_int_equal(http_sig_vonage(sec, (enum http_sig_method)m, &all, NULL, v[i].sig), 0);
		assert_int_equal(http_sig_vonage("other", (enum http_sig_method)m, &all, NULL, v[i].sig), 403);
		assert_int_equal(http_sig_vonage(sec, (enum http_sig_method)m, &all, NULL, NULL), 401);
		/* a parameter added (here in the query) is not signed: refused */
		struct http_form extra = form_of("status=delivered");
		assert_int_equal(http_sig_vonage(sec, (enum http_sig_method)m, &extra, &all, v[i].sig), 403);
		/* a name given twice: which one was signed?  refused */
		struct http_form dup = form_of("to=447700900009");
		assert_int_equal(http_sig_vonage(sec, (enum http_sig_method)m, &dup, &all, v[i].sig), 403);
		http_form_free(&all);
		http_form_free(&extra);
		http_form_free(&dup);
	}
	assert_int_equal(http_sig_method_of("sha384"), -1);
}

static const char *const jwt_body =
    "{\"message_uuid\":\"aaaaaaaa-bbbb-cccc-dddd-0123456789ab\",\"to\":\"447700900000\",\"from\":\"Vonage\","
    "\"timestamp\":\"2020-01-01T14:00:00.000Z\",\"status\":\"delivered\"}";
static const char *const jwt =
    "Bearer "
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJpYXQiOjE3MDAwMDAwMDAsImp0aSI6ImoxIiwiaXNzIjoiVm9uYWdlIiwicGF5bG9hZF9oYXNoIjoiNWQzNTk1ZWQyZGY0YmJkMTg4YWFhNG"
    "IxODliYTA1OWQyNzJhZjQ1MGQ2ODRhODMyMWY2OTU3M2E1MDRlYmEyYiIsImFwaV9rZXkiOiJhMWIyYzMifQ."
    "6g2GM5T99w1UPJieUkKwG3FBgQPywjhiEw9VGWkWzKo";

static void vonage_jwt(void **state)
{
	(void)state;
	const char *sec = "abcdef0123456789";
	size_t bl = strlen(jwt_body);
	int64_t iat = 1700000000;
	assert_int_equal(http_sig_vonage_jwt(sec, jwt, jwt_body, bl, iat + 10, 300), 0);
	assert_int_equal(http_sig_vonage_jwt("wrong", jwt, jwt_body, bl, iat + 10, 300), 403);
	assert_int_equal(http_sig_vonage_jwt(sec, NULL, jwt_body, bl, iat + 10, 300), 401);
	assert_int_equal(http_sig_vonage_jwt(sec, "Basic abc", jwt_body, bl, iat + 10, 300), 401);
	assert_int_equal(http_sig_vonage_jwt(sec, "Bearer a.b", jwt_body, bl, iat + 10, 300), 401);
	/* the body is covered by payload_hash */
	char *other = strdup(jwt_body);
	other[strlen(other) - 4] = 'X';
	assert_int_equal(http_sig_vonage_jwt(sec, jwt, other, bl, iat + 10, 300), 403);
	free(other);
	/* too old, or from the future */
	assert_int_equal(http_sig_vonage_jwt(sec, jwt, jwt_body, bl, iat + 301, 300), 403);
	assert_int_equal(http_sig_vonage_jwt(sec, jwt, jwt_body, bl, iat - 3600, 300), 403);
	/* a changed signature character */
	char *bad = strdup(jwt);
	bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'o' ? 'p' : 'o';
	assert_int_equal(http_sig_vonage_jwt(sec, bad, jwt_body, bl, iat + 10, 300), 403);
	free(bad);
	/* alg "none" (header {"alg":"none"}) with an empty signature is refused */
	assert_int_equal(http_sig_vonage_jwt(sec,
	                                     "Bearer eyJhbGciOiJub25lIn0."
	                                     "eyJpYXQiOjE3MDAwMDAwMDB9.",
	                                     "", 0, iat + 10, 300),
	                 403);
}

static void hmac_covers_query(void **state)
{
	(void)state;
	const char *hq = "32c7e6d693e97de713e3c3229068afd29464f210aeb7a0f94f48efd04af0d31f";
	assert_int_equal(http_sig_hmac("s3cret", "id=42&status=1", "", 0, hq), 0);
	/* the same signature does not pass with another query */
	assert_int_equal(http_sig_hmac("s3cret", "id=42&status=2", "", 0, hq), 403);
	assert_int_equal(http_sig_hmac("s3cret", "id=42", "{\"a\":1}", 7,
	                               "6178afb149a79c1013c53fc428114dd2621d438f15807e01c5f20f720dfaf8b0"),
	                 0);
	/* moving bytes between query and body changes the signed text */
	assert_int_equal(http_sig_hmac("s3cret", "id=4", "2\n{\"a\":1}", 9,
	                               "6178afb149a79c1013c53fc428114dd2621d438f15807e01c5f20f720dfaf8b0"),
	                 403);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(twilio),
	    cmocka_unit_test(vonage_legacy),
	    cmocka_unit_test(vonage_jwt),
	    cmocka_unit_test(hmac_covers_query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
