/* email codec: building (headers, UTF-8, transfer encodings, no header
 * injection), parsing (charsets and encodings, HTML-only, alternatives,
 * attachments, RFC 3464 reports, refusals), parties and Message-IDs.  Mails
 * built here are parsed back by the same codec only as a round trip; the
 * e2e test checks them with Python's email package as the second opinion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "email/html.h"
#include "email/mail.h"

static char *build(const char *body, const char *subject, size_t *len)
{
	static const char *const hdrs[] = {"X-Smspool-Id", "42", NULL};
	struct email_mail_out o = {
	    .from = "SMS Gateway <gw@example.org>",
	    .to = "+4917612345678@sms.example.com",
	    .subject = subject,
	    .body = body,
	    .message_id = "42.inst1@example.org",
	    .notify_to = "ops@example.org",
	    .hdrs = hdrs,
	    .date_s = 1700000000,
	};
	struct errbuf err = {""};
	char *mail = email_mail_build(&o, len, &err);
	if (!mail)
		fail_msg("build: %s", err.msg);
	return mail;
}

static void builds_headers(void **state)
{
	size_t len;
	char *mail = build("hello", "SMS from 123", &len);
	assert_non_null(strstr(mail, "From: SMS Gateway <gw@example.org>\r\n"));
	assert_non_null(strstr(mail, "To: +4917612345678@sms.example.com\r\n"));
	assert_non_null(strstr(mail, "Subject: SMS from 123\r\n"));
	assert_non_null(strstr(mail, "Message-Id: <42.inst1@example.org>\r\n"));
	assert_non_null(strstr(mail, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	assert_non_null(strstr(mail, "Disposition-Notification-To: ops@example.org\r\n"));
	assert_non_null(strstr(mail, "X-Smspool-Id: 42\r\n"));
	assert_non_null(strstr(mail, "MIME-Version: 1.0\r\n"));
	assert_non_null(strstr(mail, "charset=utf-8"));
	assert_non_null(strstr(mail, "\r\n\r\nhello"));
	/* every line ends in CRLF */
	for (size_t i = 0; i < len; i++)
		if (mail[i] == '\n')
			assert_true(i > 0 && mail[i - 1] == '\r');
	free(mail);
}

static void builds_utf8_and_round_trips(void **state)
{
	const char *texts[] = {
	    "Grüße aus Köln, 10 € — ok?",
	    "Привет! Как дела?\nВторая строка",
	    "😀 emoji and a long line that goes on and on and on and on and on and on and on and on and on and on and "
	    "on",
	    "plain ascii\nwith two lines",
	};
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		size_t len;
		char *mail = build(texts[i], "Grüße", &len);
		for (size_t k = 0; k < len; k++) /* 7-bit transport */
			assert_true((unsigned char)mail[k] < 0x80);
		assert_null(strstr(mail, "Subject: Grüße"));
		struct email_mail_in in;
		struct errbuf err = {""};
		assert_int_equal(email_mail_parse(mail, len, &in, &err), 0);
		assert_int_equal(in.kind, EMAIL_MAIL_TEXT);
		assert_string_equal(in.text, texts[i]);
		assert_string_equal(in.sender, "gw@example.org");
		assert_string_equal(in.recipient, "+4917612345678@sms.example.com");
		assert_int_equal(in.attachments, 0);
		assert_int_equal(in.date_s, 1700000000);
		email_mail_in_free(&in);
		free(mail);
	}
}

static void build_refuses_injection(void **state)
{
	size_t len;
	char *mail = build("x", "hi\r\nBcc: evil@example.net", &len);
	assert_null(strstr(mail, "\r\nBcc:"));
	free(mail);
	struct email_mail_out o = {.from = "not an address", .to = "a@b.c", .body = "x", .message_id = "1.a@b"};
	struct errbuf err = {""};
	assert_null(email_mail_build(&o, &len, &err));
	assert_non_null(strstr(err.msg, "from"));
	static const char *const bad[] = {"Bad Name:", "v", NULL};
	struct email_mail_out o2 = {.from = "a@b.c", .to = "x@y.z", .body = "x", .message_id = "1.a@b", .hdrs = bad};
	assert_null(email_mail_build(&o2, &len, &err));
	assert_non_null(strstr(err.msg, "header name"));
}

static struct email_mail_in parse_ok(const char *mail)
{
	struct email_mail_in in;
	struct errbuf err = {""};
	if (email_mail_parse(mail, strlen(mail), &in, &err))
		fail_msg("parse: %s", err.msg);
	return in;
}

static void parses_charsets(void **state)
{
	struct email_mail_in in = parse_ok("From: Alice <+491701234567@sms.example.com>\r\n"
	                                   "To: 4930123@gw.example.org\r\n"
	                                   "Subject: x\r\n"
	                                   "MIME-Version: 1.0\r\n"
	                                   "Content-Type: text/plain; charset=utf-8\r\n"
	                                   "Content-Transfer-Encoding: quoted-printable\r\n"
	                                   "\r\n"
	                                   "Gr=C3=BC=C3=9Fe =E2=82=AC soft=\r\n"
	                                   "break\r\n");
	assert_string_equal(in.text, "Grüße € softbreak");
	assert_string_equal(in.sender, "+491701234567@sms.example.com");
	assert_string_equal(in.recipient, "4930123@gw.example.org");
	email_mail_in_free(&in);
	/* ISO-8859-1 in base64: "Dé jà vu ü" */
	in = parse_ok("From: bob@example.net\nTo: x@y.z\nMIME-Version: 1.0\n"
	              "Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: base64\n\n"
	              "ROkgauAgdnUg/A==\n");
	assert_string_equal(in.text, "Dé jà vu ü");
	email_mail_in_free(&in);
	/* no MIME at all: plain US-ASCII */
	in = parse_ok("From: c@d.e\n\nJust text.\n\n");
	assert_string_equal(in.text, "Just text.");
	assert_null(in.recipient);
	email_mail_in_free(&in);
}

static void parses_html_alternative_attachment(void **state)
{
	struct email_mail_in in = parse_ok("From: a@b.c\nTo: d@e.f\nMIME-Version: 1.0\n"
	                                   "Content-Type: text/html; charset=utf-8\n\n"
	                                   "<html><head><title>T</title><style>p{}</style></head>"
	                                   "<body><p>Hello&nbsp;<b>world</b> &amp; co</p><p>Line&#x32;<br>3 &euro;</p>"
	                                   "<script>alert(1)</script></body></html>\n");
	assert_true(in.from_html);
	assert_string_equal(in.text, "Hello world & co\n\nLine2\n3 €");
	email_mail_in_free(&in);
	in = parse_ok("From: a@b.c\nMIME-Version: 1.0\n"
	              "Content-Type: multipart/mixed; boundary=\"XX\"\n\n"
	              "--XX\nContent-Type: multipart/alternative; boundary=\"YY\"\n\n"
	              "--YY\nContent-Type: text/plain; charset=utf-8\n\nthe plain one\n"
	              "--YY\nContent-Type: text/html; charset=utf-8\n\n<p>the html one</p>\n"
	              "--YY--\n"
	              "--XX\nContent-Type: application/pdf; name=a.pdf\nContent-Disposition: attachment; "
	              "filename=a.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
	              "--XX\nContent-Type: text/plain\nContent-Disposition: attachment; filename=t.txt\n\nnot me\n"
	              "--XX--\n");
	assert_false(in.from_html);
	assert_string_equal(in.text, "the plain one");
	assert_int_equal(in.attachments, 2);
	email_mail_in_free(&in);
}

static const char dsn[] = "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\n"
                          "To: gw@example.org\n"
                          "Subject: Mail delivery failed\n"
                          "MIME-Version: 1.0\n"
                          "Content-Type: multipart/report; report-type=delivery-status; boundary=B1\n\n"
                          "--B1\nContent-Type: text/plain; charset=us-ascii\n\nIt failed.\n"
                          "--B1\nContent-Type: message/delivery-status\n\n"
                          "Reporting-MTA: dns; mx.example.org\n\n"
                          "Action: failed\nFinal-Recipient: rfc822;nobody@example.com\n"
                          "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <nobody@example.com>:\n"
                          "  no such user\n\n"
                          "--B1\nContent-Type: %s\n\n"
                          "From: gw@example.org\nTo: nobody@example.com\nMessage-ID: <77.inst1@example.org>\n"
                          "Subject: x\n\nbody\n"
                          "--B1--\n";

static void parses_dsn(void **state)
{
	const char *types[] = {"message/rfc822", "text/rfc822-headers"};
	for (int i = 0; i < 2; i++) {
		char mail[2048];
		snprintf(mail, sizeof mail, dsn, types[i]);
		struct email_mail_in in = parse_ok(mail);
		assert_int_equal(in.kind, EMAIL_MAIL_REPORT);
		assert_string_equal(in.ref_message_id, "77.inst1@example.org");
		assert_string_equal(in.state, "undelivered");
		assert_string_equal(in.status, "5.1.1");
		assert_non_null(strstr(in.diagnostic, "no such user"));
		int64_t id;
		assert_true(email_mail_message_id_ours(in.ref_message_id, "example.org", &id));
		assert_int_equal(id, 77);
		email_mail_in_free(&in);
	}
}

static void refuses(void **state)
{
	struct email_mail_in in;
	struct errbuf err = {""};
	const char *no_from = "To: a@b.c\n\nhello\n";
	assert_int_equal(email_mail_parse(no_from, strlen(no_from), &in, &err), -1);
	assert_non_null(strstr(err.msg, "From"));
	const char *only_pdf = "From: a@b.c\nContent-Type: application/pdf\n\nxx\n";
	assert_int_equal(email_mail_parse(only_pdf, strlen(only_pdf), &in, &err), -1);
	assert_non_null(strstr(err.msg, "text"));
	assert_int_equal(email_mail_parse("", 0, &in, &err), -1);
}

static void parties_and_ids(void **state)
{
	char *s = email_mail_party("+4917612345678@sms.example.com", EMAIL_PARTY_NUMBER);
	assert_string_equal(s, "+4917612345678");
	free(s);
	s = email_mail_party("alice@example.com", EMAIL_PARTY_NUMBER);
	assert_string_equal(s, "alice@example.com");
	free(s);
	s = email_mail_party("alice@example.com", EMAIL_PARTY_LOCAL_PART);
	assert_string_equal(s, "alice");
	free(s);
	s = email_mail_party("12345@example.com", EMAIL_PARTY_ADDRESS);
	assert_string_equal(s, "12345@example.com");
	free(s);
	assert_int_equal(email_party_rule_from_name("number"), EMAIL_PARTY_NUMBER);
	assert_int_equal(email_party_rule_from_name("nope"), -1);
	char id[128];
	email_mail_message_id(123, "host a/b", "gw.example.org", id, sizeof id);
	assert_string_equal(id, "123.host-a-b@gw.example.org");
	int64_t v;
	assert_true(email_mail_message_id_ours(id, "GW.example.org", &v));
	assert_int_equal(v, 123);
	assert_false(email_mail_message_id_ours("abc.x@gw.example.org", "gw.example.org", &v));
	assert_false(email_mail_message_id_ours("123.x@other.org", "gw.example.org", &v));
}

static void html_edges(void **state)
{
	const char *cases[][2] = {
	    {"a < b &lt; c", "a < b < c"},
	    {"<!-- hidden -->shown", "shown"},
	    {"x&#0;y&#xD800;z&bogus;", "x&#0;y&#xD800;z&bogus;"},
	    {"<ul><li>one</li><li>two</li></ul>", "one\ntwo"},
	    {"  spaced \n\n out  ", "spaced out"},
	    {"<", "<"},
	    {"<style>never closed", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *t = email_html_to_text(cases[i][0], strlen(cases[i][0]));
		assert_string_equal(t, cases[i][1]);
		free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(builds_headers),
	    cmocka_unit_test(builds_utf8_and_round_trips),
	    cmocka_unit_test(build_refuses_injection),
	    cmocka_unit_test(parses_charsets),
	    cmocka_unit_test(parses_html_alternative_attachment),
	    cmocka_unit_test(parses_dsn),
	    cmocka_unit_test(refuses),
	    cmocka_unit_test(parties_and_ids),
	    cmocka_unit_test(html_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
