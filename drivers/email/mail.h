/*
 * mail: the email connection's codec — an SMS as a mail, and a mail as an
 * inbound text or a delivery report.  Pure (no I/O); every MIME, header,
 * transfer-encoding and charset detail is GMime 3's.  Fuzzed by
 * tests/fuzz/fuzz_email_mail.c, tested by tests/unit/test_email_mail.c.
 *
 * Building: one mail per message, text/plain; charset=utf-8, the transfer
 * encoding GMime finds best for 7-bit transport (7bit, quoted-printable or
 * base64), Date, Message-ID, MIME-Version, CRLF line ends (ready for SMTP).
 *
 * Parsing:
 * - A multipart/report; report-type=delivery-status (RFC 3464) becomes a
 *   report: the original Message-ID (from the returned message or its
 *   headers), the first recipient's Action mapped to a report state
 *   (failed → undelivered, delivered → delivered, delayed → enroute,
 *   relayed/expanded → accepted), its Status ("5.1.1") and Diagnostic-Code.
 * - Any other mail becomes a text: sender from the first From: mailbox,
 *   recipient from the first To: mailbox, the text of the first text/plain
 *   part that is not an attachment (in its charset and transfer encoding,
 *   converted to UTF-8), else of the first such text/html part reduced to
 *   text; every other leaf part that is an attachment or not text is
 *   counted in attachments.
 * - A mail without a From: address or without any text part is an error
 *   (the caller keeps it and counts it).
 */
#ifndef SMSPOOL_EMAIL_MAIL_H
#define SMSPOOL_EMAIL_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "util.h"

struct email_mail_out {
	const char *from, *to;   /* address lists as text ("Name <a@b>, c@d") */
	const char *subject;     /* UTF-8, may be NULL */
	const char *body;        /* UTF-8 */
	const char *message_id;  /* without angle brackets */
	const char *notify_to;   /* Disposition-Notification-To, or NULL */
	const char *const *hdrs; /* extra headers: name, value, name, value, …, NULL */
	int64_t date_s;          /* unix seconds */
};

/* Builds the mail.  Returns a new NUL-terminated buffer (its length in
 * *len), or NULL with err naming the problem (a from/to that holds no
 * address, a header name that is not one). */
char *email_mail_build(const struct email_mail_out *o, size_t *len, struct errbuf *err);

enum email_mail_kind { EMAIL_MAIL_TEXT, EMAIL_MAIL_REPORT };

struct email_mail_in {
	enum email_mail_kind kind;
	/* TEXT */
	char *sender, *recipient; /* addr-specs as written; recipient may be NULL */
	char *text;               /* UTF-8 */
	bool from_html;
	int attachments;
	int64_t date_s; /* 0 = none */
	/* REPORT */
	char *ref_message_id; /* without angle brackets */
	const char *state;    /* undelivered, delivered, enroute, accepted (static) */
	char *status;         /* "5.1.1", may be NULL */
	char *diagnostic;     /* may be NULL */
};

/* The addr-specs of an address list ("A <a@b>, c@d" → a@b, c@d) for the
 * SMTP envelope.  Returns their number (0: none) and a new array of new
 * strings in *out (free each, then the array). */
size_t email_mail_addr_specs(const char *list, char ***out);

/* Parses len bytes.  Returns 0 with out filled (free with
 * email_mail_in_free), or -1 with err saying why it is not usable. */
MUST_CHECK int email_mail_parse(const char *data, size_t len, struct email_mail_in *out, struct errbuf *err);
void email_mail_in_free(struct email_mail_in *in);

/* How an address becomes an SMS party (the sender_from setting). */
enum email_party_rule {
	EMAIL_PARTY_NUMBER,     /* the local part when it is a phone number, else the address */
	EMAIL_PARTY_ADDRESS,    /* the whole address */
	EMAIL_PARTY_LOCAL_PART, /* always the local part */
};
/* "number", "address", "local_part" → rule; -1 when unknown. */
int email_party_rule_from_name(const char *name);
/* Returns a new string for addr under rule. */
char *email_mail_party(const char *addr, enum email_party_rule rule);

/* Writes our Message-ID for outbox id and instance into buf (without angle
 * brackets): "<id>.<instance>@<domain>", instance reduced to atext. */
void email_mail_message_id(int64_t id, const char *instance, const char *domain, char *buf, size_t cap);
/* True when msgid has the shape of one of ours for domain; *id gets the
 * outbox id. */
bool email_mail_message_id_ours(const char *msgid, const char *domain, int64_t *id);

#endif
