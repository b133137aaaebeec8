/*
 * email: the settings of the `email` connection type, shared by the driver
 * (email.c: sending over SMTP) and its mailbox reader (mailbox.c: POP3 or
 * IMAP into the inbox).
 */
#ifndef SMSPOOL_EMAIL_EMAIL_H
#define SMSPOOL_EMAIL_EMAIL_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "driver.h"

#define EMAIL_MAX_MAIL_BYTES_DEFAULT "10485760"

struct email_conf {
	/* sending */
	char *smtp_url, *starttls, *username, *password, *oauth2_token;
	char *from, *to, *subject, *body, *notify_to, *message_id_domain;
	json_t *headers;
	/* receiving */
	char *mailbox_url, *mailbox_username, *mailbox_password, *delete_after, *sender_from, *recipient_from;
	long long poll_s, max_parts, max_mail_bytes;
	bool reports;
	/* both */
	char *tls_ca_file;
	bool tls_verify;
	long long timeout_ms, connect_timeout_ms, stop_grace_ms;
};

/* Sets the TLS, timeout and signal options every transfer of the
 * connection shares (email.c). */
void email_curl_common(CURL *e, const struct email_conf *conf);

/* Shows a mailbox problem (NULL = solved) in the connection's state detail,
 * beside the last SMTP problem (email.c). */
void email_problem(struct conn *c, const char *text);

/* The mailbox reader of one connection (mailbox.c). */
struct email_mailbox;
/* Starts polling conf->mailbox_url; NULL with err when the URL is unusable. */
struct email_mailbox *email_mailbox_start(struct conn *c, const struct email_conf *conf, struct errbuf *err);
/* Checks the receiving settings without I/O. */
int email_mailbox_check(const struct email_conf *conf, struct errbuf *err);
void email_mailbox_acked(struct email_mailbox *mb, uint64_t token, bool committed);
/* Stops polling and abandons what is in flight (mails not yet stored stay
 * in the mailbox).  After this no core function is called for it. */
void email_mailbox_stop(struct email_mailbox *mb);
void email_mailbox_free(struct email_mailbox *mb);

#endif
