/*
 * fuzz_email_mail: arbitrary bytes as a mail.  Parsing either fails with a
 * message or yields a text (a sender, valid UTF-8 text) or a report (an
 * original Message-ID and a known state); never a crash or a leak.  The
 * same bytes also go through the HTML reducer, whose output must be valid
 * UTF-8 without control characters other than line breaks.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/utf8.h"
#include "email/html.h"
#include "email/mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct email_mail_in in;
	struct errbuf err;
	if (email_mail_parse((const char *)data, size, &in, &err) == 0) {
		if (in.kind == EMAIL_MAIL_TEXT) {
			assert(in.sender && in.text);
			assert(utf8_validate(in.text, strlen(in.text), NULL) == 0);
			assert(in.attachments >= 0);
		} else {
			assert(in.ref_message_id && in.state);
		}
		email_mail_in_free(&in);
	} else {
		assert(err.msg[0]);
	}
	/* The HTML reducer is given UTF-8 by the parser; here it also meets
	 * invalid bytes, which it drops. */
	char *t = email_html_to_text((const char *)data, size);
	assert(utf8_validate(t, strlen(t), NULL) == 0);
	for (const char *p = t; *p; p++)
		assert((unsigned char)*p >= 0x20 || *p == '\n');
	free(t);
	return 0;
}
