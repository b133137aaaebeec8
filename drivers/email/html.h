/*
 * html: reduces an HTML mail body (already UTF-8) to the plain text an SMS
 * can carry.  Not an HTML parser: tags are dropped, <script>/<style>/<head>
 * contents too, block elements and <br> become line breaks, the common
 * entities and numeric character references are decoded, and runs of
 * white space collapse.  Pure; fuzzed through tests/fuzz/fuzz_email_mail.c.
 */
#ifndef SMSPOOL_EMAIL_HTML_H
#define SMSPOOL_EMAIL_HTML_H

#include <stddef.h>

/* Returns new UTF-8 text (never NULL) for n bytes of HTML at s. */
char *email_html_to_text(const char *s, size_t n);

#endif
