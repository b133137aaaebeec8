/*
 * email: SMS to mail over SMTP, mail to SMS from a POP3 or IMAP mailbox
 * (mailbox.c).  Mails are built and parsed by GMime (mail.c); SMTP, POP3
 * and IMAP are libcurl's, on the loop through net/curl_loop.c.
 *
 * Sending:
 * - One mail per message, whatever its length; the from/to/subject/body
 *   templates and extra headers are the http connection's (template.c),
 *   default filter none.  The envelope sender is the first address of
 *   `from`, the envelope recipients every address of `to`.
 * - The Message-ID is "<id>.<instance>@<message_id_domain>".  It is also
 *   the remote id of every part: a bounce (RFC 3464) names that Message-ID
 *   and nothing else, so that is what a report can be matched by.  The
 *   queue id of the server's 250 reply is logged with it (email_sent).
 * - Replies: 2xx = sent; 4xx, connection and TLS errors, and refused
 *   authentication = MSG_TEMPORARY (the spool's backoff; the last error is
 *   the connection's state detail); 5xx = MSG_REJECTED with "smtp_<code>"
 *   and the server's text.
 * - libcurl's multi handle keeps SMTP connections open between mails (as
 *   many as the window keeps busy, up to 64); one idle for more than 60 s
 *   is not reused (CURLOPT_MAXAGE_CONN: libcurl closes it when it next
 *   looks for a connection, or the server has closed it by then).
 * - stop(): mails in flight get stop_grace_ms, then are completed
 *   MSG_TEMPORARY (their fate is unknown: at-least-once); the mails in
 *   flight and the stop are net/inflight.c's, shared with http.
 *
 * States: OPEN → STOPPING → STOPPED (one per connection, inflight); a
 * mail is one curl transfer from submit to its completion.
 */
#include "email/email.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "email/mail.h"
#include "http/template.h"
#include "log.h"
#include "msg_parts.h"
#include "net/curl_loop.h"
#include "net/inflight.h"
#include "sbuf.h"
#include "util.h"

#define O(f) offsetof(struct email_conf, f)
static const struct setting email_settings[] = {
    {"smtp_url", SETTING_STRING, O(smtp_url), false, false, 0, 0, NULL,
     "smtp://host:587 or smtps://host:465; absent = this connection does not send"},
    {"starttls", SETTING_STRING, O(starttls), false, false, 0, 0, "\"required\"",
     "STARTTLS on smtp:// (and pop3://, imap://): required, optional or never", .choices = "required|optional|never"},
    {"username", SETTING_STRING, O(username), false, false, 0, 0, NULL, "SMTP AUTH user (PLAIN/LOGIN)"},
    {"password", SETTING_STRING, O(password), false, false, 0, 0, NULL, "SMTP AUTH password"},
    {"oauth2_token", SETTING_STRING, O(oauth2_token), false, false, 0, 0, NULL,
     "OAuth2 bearer token (XOAUTH2/OAUTHBEARER) instead of a password"},
    {"from", SETTING_STRING, O(from), false, false, 0, 0, NULL,
     "From: template, e.g. \"SMS <sms@example.com>\" (required with smtp_url)"},
    {"to", SETTING_STRING, O(to), false, false, 0, 0, "\"{recipient}\"",
     "To: template, e.g. \"{recipient}@sms.example.com\" or a fixed address"},
    {"subject", SETTING_STRING, O(subject), false, false, 0, 0, "\"SMS from {sender}\"", "Subject: template"},
    {"body", SETTING_STRING, O(body), false, false, 0, 0, "\"{text}\"", "body template (UTF-8 text/plain)"},
    {"headers", SETTING_OBJECT, O(headers), false, false, 0, 0, NULL, "extra headers: name -> template"},
    {"notify_to", SETTING_STRING, O(notify_to), false, false, 0, 0, NULL,
     "address for Disposition-Notification-To (read receipts); absent = none"},
    {"message_id_domain", SETTING_STRING, O(message_id_domain), false, false, 0, 0, "\"smspool.invalid\"",
     "right side of our Message-IDs (bounces are matched by it)"},
    {"mailbox_url", SETTING_STRING, O(mailbox_url), false, false, 0, 0, NULL,
     "pop3://, pop3s://, imap://host/FOLDER or imaps://host/FOLDER; absent = this connection does not receive"},
    {"mailbox_username", SETTING_STRING, O(mailbox_username), false, false, 0, 0, NULL,
     "mailbox user (default username)"},
    {"mailbox_password", SETTING_STRING, O(mailbox_password), false, false, 0, 0, NULL,
     "mailbox password (default password)"},
    {"poll_s", SETTING_INT, O(poll_s), false, true, 1, 86400, "60", "seconds between mailbox polls"},
    {"delete_after", SETTING_STRING, O(delete_after), false, false, 0, 0, "\"commit\"",
     "commit (delete a mail once its inbox row is committed) or never (keep it; UIDs are remembered)",
     .choices = "commit|never"},
    {"sender_from", SETTING_STRING, O(sender_from), false, false, 0, 0, "\"number\"",
     "inbound sender from From: number (local part when a phone number, else the address), address or "
     "local_part",
     .choices = "number|address|local_part"},
    {"recipient_from", SETTING_STRING, O(recipient_from), false, false, 0, 0, "\"number\"",
     "inbound recipient from To:, the same choices", .choices = "number|address|local_part"},
    {"max_parts", SETTING_INT, O(max_parts), false, true, 1, 255, "10",
     "an inbound text is cut to this many SMS parts"},
    {"max_mail_bytes", SETTING_INT, O(max_mail_bytes), false, true, 1024, 1073741824, EMAIL_MAX_MAIL_BYTES_DEFAULT,
     "a larger mail is left in the mailbox and counted"},
    {"reports", SETTING_BOOL, O(reports), false, false, 0, 0, "true",
     "bounces (RFC 3464) of our mails become delivery reports"},
    {"tls_ca_file", SETTING_STRING, O(tls_ca_file), false, false, 0, 0, NULL,
     "CA bundle (PEM) instead of the system's"},
    {"tls_verify", SETTING_BOOL, O(tls_verify), false, false, 0, 0, "true", "verify the server certificate"},
    {"timeout_ms", SETTING_INT, O(timeout_ms), false, true, 100, 600000, "30000", "one transfer at most"},
    {"connect_timeout_ms", SETTING_INT, O(connect_timeout_ms), false, true, 100, 600000, "10000",
     "connection set-up at most"},
    {"stop_grace_ms", SETTING_INT, O(stop_grace_ms), false, true, 0, 60000, "3000",
     "time mails in flight get to finish at stop"},
    SETTINGS_END,
};
#undef O

struct compiled {
	struct http_tpl *from, *to, *subject, *body;
	struct http_tpl_headers headers;
};

struct smtp_req;

struct email {
	struct conn *c;
	const struct email_conf *conf;
	struct compiled cc;
	struct inflight fl; /* the mails in flight; the state (OPEN, STOPPING, STOPPED) */
	struct curl_loop *cl;
	char *problem[2]; /* the last SMTP / mailbox problem, NULL = none */
	char *detail;     /* both, as the connection's state detail */
	struct email_mailbox *mb;
};

struct smtp_req {
	struct inflight_req base; /* first: the message, the list */
	struct email *e;
	CURL *easy;
	struct curl_slist *rcpt;
	char *mail, *env_from;
	size_t len, off;
	int parts;
	char msgid[192];
	char last[512];     /* the server's last reply line */
	char last_err[512]; /* its last 4xx/5xx reply line (a QUIT's 221 may follow) */
	char errbuf[CURL_ERROR_SIZE];
};

static void compiled_free(struct compiled *cc)
{
	http_tpl_free(cc->from);
	http_tpl_free(cc->to);
	http_tpl_free(cc->subject);
	http_tpl_free(cc->body);
	http_tpl_headers_free(&cc->headers);
	memset(cc, 0, sizeof *cc);
}

static int compile(const struct email_conf *conf, struct compiled *cc, struct errbuf *err)
{
	memset(cc, 0, sizeof *cc);
	if (!conf->smtp_url)
		return 0;
	if (!conf->from)
		return errbuf_set(err, "settings.from: required with smtp_url");
	if (http_tpl_compile(conf->from, HF_NONE, "settings.from", &cc->from, err) ||
	    http_tpl_compile(conf->to, HF_NONE, "settings.to", &cc->to, err) ||
	    http_tpl_compile(conf->subject, HF_NONE, "settings.subject", &cc->subject, err) ||
	    http_tpl_compile(conf->body, HF_NONE, "settings.body", &cc->body, err))
		return -1;
	if (http_tpl_headers_compile(conf->headers, HF_NONE, "settings.headers", &cc->headers, err))
		return -1;
	return 0;
}

static int email_check(const void *p, struct errbuf *err)
{
	const struct email_conf *conf = p;
	if (!conf->smtp_url && !conf->mailbox_url)
		return errbuf_set(err, "settings: smtp_url or mailbox_url (or both) is required");
	if (conf->smtp_url && strncasecmp(conf->smtp_url, "smtp://", 7) && strncasecmp(conf->smtp_url, "smtps://", 8))
		return errbuf_set(err, "settings.smtp_url: must start with smtp:// or smtps://");
	if (strcmp(conf->starttls, "required") && strcmp(conf->starttls, "optional") && strcmp(conf->starttls, "never"))
		return errbuf_set(err, "settings.starttls: \"%s\" is not one of required, optional, never",
		                  conf->starttls);
	if (conf->password && !conf->username)
		return errbuf_set(err, "settings.password: needs username");
	if (strchr(conf->message_id_domain, '@') || strpbrk(conf->message_id_domain, " <>\r\n") ||
	    !*conf->message_id_domain)
		return errbuf_set(err, "settings.message_id_domain: \"%s\" is not a domain", conf->message_id_domain);
	struct compiled cc;
	int rc = compile(conf, &cc, err);
	compiled_free(&cc);
	if (rc)
		return rc;
	return conf->mailbox_url ? email_mailbox_check(conf, err) : 0;
}

void email_curl_common(CURL *e, const struct email_conf *conf)
{
	curl_loop_easy_common(e, (long)conf->timeout_ms, (long)conf->connect_timeout_ms, conf->tls_verify,
	                      conf->tls_ca_file);
	curl_easy_setopt(e, CURLOPT_USE_SSL,
	                 strcmp(conf->starttls, "required") == 0   ? (long)CURLUSESSL_ALL
	                 : strcmp(conf->starttls, "optional") == 0 ? (long)CURLUSESSL_TRY
	                                                           : (long)CURLUSESSL_NONE);
	curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, 60L);
}

/* ---- the connection's state detail ---- */

static void set_problem(struct email *e, int src, const char *text)
{
	if (e->fl.state != INFLIGHT_OPEN)
		return;
	free(e->problem[src]);
	e->problem[src] = text ? xstrdup(text) : NULL;
	struct sbuf d;
	sbuf_init(&d);
	for (int i = 0; i < 2; i++)
		if (e->problem[i])
			sbuf_printf(&d, "%s%s: %s", d.len ? "; " : "", i ? "mailbox" : "smtp", e->problem[i]);
	sbuf_add(&d, "", 1);
	const char *detail = d.buf[0] ? d.buf : NULL;
	if ((!detail && !e->detail) || (detail && e->detail && strcmp(detail, e->detail) == 0)) {
		sbuf_free(&d);
		return;
	}
	free(e->detail);
	e->detail = detail ? xstrdup(detail) : NULL;
	core_conn_state(e->c, CONN_UP, detail);
	sbuf_free(&d);
}

void email_problem(struct conn *c, const char *text)
{
	struct email *e = conn_driver_data(c);
	if (e)
		set_problem(e, 1, text);
}

/* ---- sending ---- */

static void req_free(struct smtp_req *r)
{
	if (r->easy) {
		curl_multi_remove_handle(curl_loop_multi(r->e->cl), r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->rcpt);
	free(r->mail);
	free(r->env_from);
	free(r);
}

static void req_free_base(struct inflight_req *b)
{
	req_free((struct smtp_req *)b);
}

/* Completes r's message (its outcome set) and frees r. */
static void req_complete(struct smtp_req *r)
{
	inflight_complete(&r->e->fl, &r->base);
}

static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct smtp_req *r = arg;
	size_t room = size * n, left = r->len - r->off;
	size_t k = left < room ? left : room;
	memcpy(buf, r->mail + r->off, k);
	r->off += k;
	return k;
}

/* Every reply line comes here (libcurl passes them as "headers"). */
static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct smtp_req *r = arg;
	size_t len = size * n, k = len < sizeof r->last - 1 ? len : sizeof r->last - 1;
	memcpy(r->last, data, k);
	while (k > 0 && (r->last[k - 1] == '\n' || r->last[k - 1] == '\r'))
		k--;
	r->last[k] = 0;
	if (k >= 3 && (r->last[0] == '4' || r->last[0] == '5'))
		memcpy(r->last_err, r->last, k + 1);
	return len;
}

/* Expands the templates and builds r's mail.  Returns 0 or -1 with err. */
static int req_build(struct smtp_req *r, struct errbuf *err)
{
	struct email *e = r->e;
	const struct email_conf *conf = e->conf;
	struct msg *m = r->base.m;
	struct http_tpl_vals vs;
	http_tpl_vals_fill(&vs, m, m->encoding, r->parts, 1);
	vs.v[HV_USERNAME] = conf->username;
	const char *const *v = vs.v;
	struct sbuf from, to, subject, body, hv;
	sbuf_init(&from);
	sbuf_init(&to);
	sbuf_init(&subject);
	sbuf_init(&body);
	sbuf_init(&hv);
	const char **hdrs = xcalloc(2 * e->cc.headers.n + 1, sizeof *hdrs);
	size_t *hoff = xcalloc(e->cc.headers.n + 1, sizeof *hoff);
	int rc = -1;
	char **rcpts = NULL;
	size_t nrcpt = 0;
	if (http_tpl_expand(e->cc.from, v, &from, err) || http_tpl_expand(e->cc.to, v, &to, err) ||
	    http_tpl_expand(e->cc.subject, v, &subject, err) || http_tpl_expand(e->cc.body, v, &body, err))
		goto out;
	for (size_t i = 0; i < e->cc.headers.n; i++) {
		hoff[i] = hv.len;
		if (http_tpl_expand(e->cc.headers.v[i].tpl, v, &hv, err))
			goto out;
		sbuf_add(&hv, "", 1);
	}
	sbuf_add(&from, "", 1);
	sbuf_add(&to, "", 1);
	sbuf_add(&subject, "", 1);
	sbuf_add(&body, "", 1);
	for (size_t i = 0; i < e->cc.headers.n; i++) {
		hdrs[2 * i] = e->cc.headers.v[i].name;
		hdrs[2 * i + 1] = hv.buf + hoff[i];
	}
	email_mail_message_id(m->id, conn_instance(e->c), conf->message_id_domain, r->msgid, sizeof r->msgid);
	struct email_mail_out o = {
	    .from = from.buf,
	    .to = to.buf,
	    .subject = subject.buf,
	    .body = body.buf,
	    .message_id = r->msgid,
	    .notify_to = conf->notify_to,
	    .hdrs = hdrs,
	    .date_s = (int64_t)time(NULL),
	};
	r->mail = email_mail_build(&o, &r->len, err);
	if (!r->mail)
		goto out;
	char **froms = NULL;
	size_t nfrom = email_mail_addr_specs(from.buf, &froms);
	if (nfrom == 0) {
		errbuf_set(err, "from: no address");
		goto out;
	}
	r->env_from = xmalloc(strlen(froms[0]) + 3);
	sprintf(r->env_from, "<%s>", froms[0]);
	for (size_t i = 0; i < nfrom; i++)
		free(froms[i]);
	free(froms);
	nrcpt = email_mail_addr_specs(to.buf, &rcpts);
	for (size_t i = 0; i < nrcpt; i++) {
		char *a = xmalloc(strlen(rcpts[i]) + 3);
		sprintf(a, "<%s>", rcpts[i]);
		r->rcpt = curl_slist_append(r->rcpt, a);
		free(a);
	}
	if (nrcpt == 0) {
		errbuf_set(err, "to: no address");
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < nrcpt; i++)
		free(rcpts[i]);
	free(rcpts);
	free(hdrs);
	free(hoff);
	sbuf_free(&from);
	sbuf_free(&to);
	sbuf_free(&subject);
	sbuf_free(&body);
	sbuf_free(&hv);
	return rc;
}

static int req_start(struct smtp_req *r, struct errbuf *err)
{
	struct email *e = r->e;
	const struct email_conf *conf = e->conf;
	CURL *c = curl_easy_init();
	if (!c)
		abort();
	r->easy = c;
	curl_easy_setopt(c, CURLOPT_URL, conf->smtp_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_PRIVATE, r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, r->env_from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, r->rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->len);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	email_curl_common(c, conf);
	if (conf->username)
		curl_easy_setopt(c, CURLOPT_USERNAME, conf->username);
	if (conf->password)
		curl_easy_setopt(c, CURLOPT_PASSWORD, conf->password);
	if (conf->oauth2_token)
		curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, conf->oauth2_token);
	if (curl_loop_add(e->cl, c, err->msg, sizeof err->msg))
		return -1;
	log_debug("email_smtp_start", "conn=%s id=%" PRId64 " message_id=%s bytes=%zu", conn_name(e->c), r->base.m->id,
	          r->msgid, r->len);
	return 0;
}

/* The queue id in a 250 reply: Exim's "250 OK id=1abc-…", Postfix's
 * "250 2.0.0 Ok: queued as ABC123", else the reply's last word. */
static void queue_id(const char *line, char *out, size_t cap)
{
	const char *p = strstr(line, "id=");
	if (p)
		p += 3;
	else if ((p = strstr(line, "queued as ")))
		p += 10;
	else if ((p = strrchr(line, ' ')))
		p++;
	else
		p = "";
	size_t k = strcspn(p, " \t;,");
	snprintf(out, cap, "%.*s", (int)(k < cap ? k : cap - 1), p);
}

static void smtp_done(void *arg, CURL *easy, CURLcode res)
{
	struct email *e = arg;
	struct smtp_req *r = NULL;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
	struct msg *m = r->base.m;
	long code = 0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	char text[CURL_ERROR_SIZE + 600], ecode[32];
	if (res == CURLE_OK) {
		char qid[128];
		queue_id(r->last, qid, sizeof qid);
		const char **ids = xcalloc((size_t)r->parts, sizeof *ids);
		for (int i = 0; i < r->parts; i++)
			ids[i] = r->msgid;
		msg_set_sent(m, r->parts, ids);
		free(ids);
		log_info("email_sent", "conn=%s id=%" PRId64 " message_id=%s queue_id=%s", conn_name(e->c), m->id,
		         r->msgid, qid);
		set_problem(e, 0, NULL);
		req_complete(r);
		return;
	}
	const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(res);
	const char *reply = r->last_err[0] ? r->last_err : r->last[0] ? r->last : why;
	if (res == CURLE_LOGIN_DENIED) {
		snprintf(ecode, sizeof ecode, "smtp_%ld", code ? code : 535L);
		snprintf(text, sizeof text, "SMTP authentication refused: %s", reply);
		msg_set_failed(m, MSG_TEMPORARY, ecode, text);
	} else if (code >= 500 && code < 600) {
		snprintf(ecode, sizeof ecode, "smtp_%ld", code);
		snprintf(text, sizeof text, "%s", reply);
		msg_set_failed(m, MSG_REJECTED, ecode, text);
	} else if (code >= 400 && code < 500) {
		snprintf(ecode, sizeof ecode, "smtp_%ld", code);
		snprintf(text, sizeof text, "%s", reply);
		msg_set_failed(m, MSG_TEMPORARY, ecode, text);
	} else {
		snprintf(ecode, sizeof ecode, res == CURLE_OPERATION_TIMEDOUT ? "timeout" : "curl_%d", (int)res);
		snprintf(text, sizeof text, "%s", why);
		bool local = res == CURLE_URL_MALFORMAT || res == CURLE_UNSUPPORTED_PROTOCOL;
		msg_set_failed(m, local ? MSG_FAILED : MSG_TEMPORARY, ecode, text);
	}
	if (m->outcome == MSG_TEMPORARY)
		set_problem(e, 0, text);
	req_complete(r);
}

static void smtp_after(void *arg)
{
	struct email *e = arg;
	inflight_check(&e->fl);
}

static void email_submit(struct conn *c, struct msg *m)
{
	struct email *e = conn_driver_data(c);
	if (e->fl.state != INFLIGHT_OPEN) {
		msg_set_failed(m, MSG_RELEASE, NULL, NULL);
		core_complete(c, m);
		return;
	}
	if (!e->conf->smtp_url) {
		inflight_fail_now(&e->fl, m, MSG_FAILED, "no_smtp",
		                  "this email connection has no smtp_url: it only receives");
		return;
	}
	if (!m->body) {
		inflight_fail_now(&e->fl, m, MSG_FAILED, "binary", "a binary message cannot be sent as a mail");
		return;
	}
	struct errbuf err = {""};
	int parts = msg_parts(m, NULL, &err);
	if (parts < 0) {
		inflight_fail_now(&e->fl, m, MSG_FAILED, "encoding", err.msg);
		return;
	}
	struct smtp_req *r = xcalloc(1, sizeof *r);
	r->e = e;
	r->parts = parts;
	inflight_add(&e->fl, &r->base, m);
	if (req_build(r, &err)) {
		msg_set_failed(m, MSG_FAILED, "mail", err.msg);
		req_complete(r);
		return;
	}
	if (req_start(r, &err)) {
		msg_set_failed(m, MSG_TEMPORARY, "curl", err.msg);
		req_complete(r);
	}
}

/* ---- life cycle ---- */

static const struct inflight_ops inflight_ops = {
    .name = "email",
    .lost_text = "the connection stopped before the server answered",
    .free_req = req_free_base,
};

static int email_open(struct conn *c)
{
	const struct email_conf *conf = conn_conf(c);
	struct email *e = xcalloc(1, sizeof *e);
	e->c = c;
	e->conf = conf;
	struct errbuf err = {""};
	if (compile(conf, &e->cc, &err)) {
		log_error("email_open_failed", "conn=%s error=\"%s\"", conn_name(c), err.msg);
		compiled_free(&e->cc);
		free(e);
		return -1;
	}
	inflight_init(&e->fl, c, &inflight_ops, e);
	e->cl = curl_loop_new(conn_event_base(c), smtp_done, smtp_after, e);
	/* libcurl's cache otherwise shrinks with the transfers in flight and
	 * closes (QUIT) connections that the next mails would have used. */
	curl_multi_setopt(curl_loop_multi(e->cl), CURLMOPT_MAXCONNECTS, 64L);
	conn_set_driver_data(c, e);
	core_conn_state(c, CONN_UP, NULL);
	if (conf->mailbox_url) {
		e->mb = email_mailbox_start(c, conf, &err);
		if (!e->mb)
			log_error("email_mailbox_failed", "conn=%s error=\"%s\"", conn_name(c), err.msg);
	}
	return 0;
}

static void email_stop(struct conn *c)
{
	struct email *e = conn_driver_data(c);
	if (!e || e->fl.state != INFLIGHT_OPEN)
		return;
	if (e->mb)
		email_mailbox_stop(e->mb);
	inflight_stop(&e->fl, e->conf->stop_grace_ms);
}

static void email_acked(struct conn *c, uint64_t token, bool committed)
{
	struct email *e = conn_driver_data(c);
	if (e && e->mb && e->fl.state == INFLIGHT_OPEN)
		email_mailbox_acked(e->mb, token, committed);
}

static void email_close(struct conn *c)
{
	struct email *e = conn_driver_data(c);
	if (!e)
		return;
	inflight_free(&e->fl); /* mails only if close comes without stop */
	email_mailbox_free(e->mb);
	curl_loop_free(e->cl);
	compiled_free(&e->cc);
	free(e->problem[0]);
	free(e->problem[1]);
	free(e->detail);
	free(e);
	conn_set_driver_data(c, NULL);
}

const struct driver_ops email_driver = {
    .name = "email",
    .caps = CAP_SEND | CAP_RECEIVE | CAP_REPORTS,
    .settings = email_settings,
    .conf_size = sizeof(struct email_conf),
    .check = email_check,
    .open = email_open,
    .submit = email_submit,
    .stop = email_stop,
    .close = email_close,
    .acked = email_acked,
};
