/* mail: see mail.h.  GMime objects live only inside one call; results are
 * copied into malloc'd strings so that callers never see GLib memory. */
#include "email/mail.h"

#include <ctype.h>
#include <gmime/gmime.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "email/html.h"
#include "sbuf.h"

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;
static void gmime_init_once(void)
{
	g_mime_init();
}

static char *gdup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* ---- building ---- */

static bool has_mailbox(InternetAddressList *l)
{
	for (int i = 0; l && i < internet_address_list_length(l); i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
			if (addr && strchr(addr, '@'))
				return true;
		}
	}
	return false;
}

/* Copies s with control characters (CR, LF, …) turned into spaces: no
 * header value we write can start a header of its own. */
static char *one_line(const char *s)
{
	char *r = xstrdup(s ? s : "");
	for (char *p = r; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7F)
			*p = ' ';
	return r;
}

static int add_addresses(GMimeMessage *m, GMimeAddressType type, const char *what, const char *text, struct errbuf *err)
{
	char *line = one_line(text);
	InternetAddressList *l = internet_address_list_parse(NULL, line);
	free(line);
	if (!l || !has_mailbox(l)) {
		if (l)
			g_object_unref(l);
		return errbuf_set(err, "%s: \"%.80s\" holds no mail address", what, text ? text : "");
	}
	internet_address_list_append(g_mime_message_get_addresses(m, type), l);
	g_object_unref(l);
	return 0;
}

static bool header_name_ok(const char *n)
{
	if (!n || !*n)
		return false;
	for (const char *p = n; *p; p++)
		if (*p <= 0x20 || *p >= 0x7F || *p == ':')
			return false;
	return true;
}

char *email_mail_build(const struct email_mail_out *o, size_t *len, struct errbuf *err)
{
	pthread_once(&gmime_once, gmime_init_once);
	GMimeMessage *m = g_mime_message_new(TRUE);
	char *result = NULL;
	if (add_addresses(m, GMIME_ADDRESS_TYPE_FROM, "from", o->from, err) ||
	    add_addresses(m, GMIME_ADDRESS_TYPE_TO, "to", o->to, err))
		goto out;
	char *subject = one_line(o->subject);
	g_mime_message_set_subject(m, subject, "utf-8");
	free(subject);
	GDateTime *dt = g_date_time_new_from_unix_utc(o->date_s);
	g_mime_message_set_date(m, dt);
	g_date_time_unref(dt);
	char *mid = one_line(o->message_id);
	g_mime_message_set_message_id(m, mid);
	free(mid);
	if (o->notify_to) {
		char *nt = one_line(o->notify_to);
		InternetAddressList *l = internet_address_list_parse(NULL, nt);
		bool ok = l && has_mailbox(l);
		if (ok) {
			char *s = internet_address_list_to_string(l, NULL, TRUE);
			g_mime_object_set_header(GMIME_OBJECT(m), "Disposition-Notification-To", s, "utf-8");
			g_free(s);
		}
		if (l)
			g_object_unref(l);
		free(nt);
		if (!ok) {
			errbuf_set(err, "notify_to: \"%.80s\" holds no mail address", o->notify_to);
			goto out;
		}
	}
	for (const char *const *h = o->hdrs; h && h[0]; h += 2) {
		if (!header_name_ok(h[0])) {
			errbuf_set(err, "headers: \"%.60s\" is not a header name", h[0]);
			goto out;
		}
		char *v = one_line(h[1]);
		g_mime_object_set_header(GMIME_OBJECT(m), h[0], v, "utf-8");
		free(v);
	}
	/* The body as UTF-8 whatever it holds (set_text would pick latin1). */
	GMimeTextPart *tp = g_mime_text_part_new_with_subtype("plain");
	const char *body = o->body ? o->body : "";
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(body, strlen(body));
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(GMIME_PART(tp), w);
	g_object_unref(w);
	g_object_unref(st);
	g_mime_text_part_set_charset(tp, "utf-8");
	g_mime_part_set_content_encoding(
	    GMIME_PART(tp), g_mime_part_get_best_content_encoding(GMIME_PART(tp), GMIME_ENCODING_CONSTRAINT_7BIT));
	g_mime_message_set_mime_part(m, GMIME_OBJECT(tp));
	g_object_unref(tp);
	GMimeFormatOptions *fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	char *s = g_mime_object_to_string(GMIME_OBJECT(m), fo);
	g_mime_format_options_free(fo);
	result = xstrdup(s);
	g_free(s);
	*len = strlen(result);
out:
	g_object_unref(m);
	return result;
}

static void collect(InternetAddressList *l, char ***out, size_t *n)
{
	for (int i = 0; l && i < internet_address_list_length(l); i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			const char *s = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
			if (s && strchr(s, '@')) {
				*out = xrealloc(*out, (*n + 1) * sizeof **out);
				(*out)[(*n)++] = xstrdup(s);
			}
		} else if (INTERNET_ADDRESS_IS_GROUP(a)) {
			collect(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)), out, n);
		}
	}
}

size_t email_mail_addr_specs(const char *list, char ***out)
{
	pthread_once(&gmime_once, gmime_init_once);
	*out = NULL;
	size_t n = 0;
	char *line = one_line(list);
	InternetAddressList *l = internet_address_list_parse(NULL, line);
	free(line);
	if (l) {
		collect(l, out, &n);
		g_object_unref(l);
	}
	return n;
}

/* ---- parsing ---- */

/* The first mailbox's address of a list (groups searched too). */
static const char *first_addr(InternetAddressList *l)
{
	for (int i = 0; l && i < internet_address_list_length(l); i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			const char *s = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
			if (s && *s)
				return s;
		} else if (INTERNET_ADDRESS_IS_GROUP(a)) {
			const char *s = first_addr(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)));
			if (s)
				return s;
		}
	}
	return NULL;
}

/* The decoded content of a leaf part as bytes (no charset conversion). */
static char *part_bytes(GMimePart *p, size_t *len)
{
	GMimeDataWrapper *w = g_mime_part_get_content(p);
	GMimeStream *mem = g_mime_stream_mem_new();
	if (w)
		g_mime_data_wrapper_write_to_stream(w, mem);
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	char *r = xmalloc(ba->len + 1);
	if (ba->len)
		memcpy(r, ba->data, ba->len);
	r[ba->len] = 0;
	*len = ba->len;
	g_object_unref(mem);
	return r;
}

/* A text part's content as valid UTF-8 (GMime converts from its charset;
 * whatever cannot be converted is replaced, never passed on raw). */
static char *part_text(GMimeTextPart *tp)
{
	char *t = g_mime_text_part_get_text(tp);
	if (!t)
		return xstrdup("");
	char *v = g_utf8_make_valid(t, -1);
	g_free(t);
	char *r = xstrdup(v);
	g_free(v);
	return r;
}

/* Line ends to LF, no NUL, trailing white space off. */
static void tidy(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == '\r') {
			if (r[1] != '\n')
				*w++ = '\n';
			continue;
		}
		*w++ = *r;
	}
	while (w > s && (w[-1] == '\n' || w[-1] == ' ' || w[-1] == '\t'))
		w--;
	*w = 0;
	char *start = s;
	while (*start == '\n' || *start == ' ' || *start == '\t')
		start++;
	memmove(s, start, strlen(start) + 1);
}

struct walk {
	GMimeTextPart *plain, *html;
	int leaves;
	GMimeObject *dsn_status;
	char *orig_msgid;
};

static bool is_attachment(GMimeObject *o)
{
	GMimeContentDisposition *d = g_mime_object_get_content_disposition(o);
	return d && g_mime_content_disposition_is_attachment(d);
}

static void walk_cb(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	struct walk *w = data;
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	if (GMIME_IS_MULTIPART(part))
		return;
	if (GMIME_IS_MESSAGE_PART(part)) { /* a returned message (DSN) or a forwarded one */
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
		if (inner && !w->orig_msgid && g_mime_message_get_message_id(inner))
			w->orig_msgid = xstrdup(g_mime_message_get_message_id(inner));
		if (!g_mime_content_type_is_type(ct, "message", "delivery-status"))
			w->leaves++;
		else if (!w->dsn_status)
			w->dsn_status = part;
		return;
	}
	if (g_mime_content_type_is_type(ct, "message", "delivery-status")) {
		if (!w->dsn_status)
			w->dsn_status = part;
		return;
	}
	if (g_mime_content_type_is_type(ct, "text", "rfc822-headers") && GMIME_IS_PART(part)) {
		size_t n;
		char *raw = part_bytes(GMIME_PART(part), &n);
		GMimeStream *st = g_mime_stream_mem_new_with_buffer(raw, n);
		GMimeParser *p = g_mime_parser_new_with_stream(st);
		GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
		if (m && !w->orig_msgid && g_mime_message_get_message_id(m))
			w->orig_msgid = xstrdup(g_mime_message_get_message_id(m));
		if (m)
			g_object_unref(m);
		g_object_unref(p);
		g_object_unref(st);
		free(raw);
		return;
	}
	bool attach = is_attachment(part);
	if (!attach && GMIME_IS_TEXT_PART(part)) {
		if (!w->plain && g_mime_content_type_is_type(ct, "text", "plain")) {
			w->plain = GMIME_TEXT_PART(part);
			return;
		}
		if (!w->html && g_mime_content_type_is_type(ct, "text", "html")) {
			w->html = GMIME_TEXT_PART(part);
			return;
		}
		if (g_mime_content_type_is_type(ct, "text", "plain") || g_mime_content_type_is_type(ct, "text", "html"))
			return; /* a further alternative or inline text: not an attachment */
	}
	w->leaves++;
}

/* The header blocks of a message/delivery-status body: the per-message
 * block, then one per recipient.  Each is parsed by GMime as a part's
 * headers.  Fills state/status/diagnostic from the first block with an
 * Action. */
static void parse_status(GMimeObject *o, struct email_mail_in *out)
{
	char *raw = NULL;
	size_t n = 0;
	if (GMIME_IS_PART(o)) {
		raw = part_bytes(GMIME_PART(o), &n);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		/* GMime took the first block for a message's headers. */
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (m)
			raw = g_mime_object_to_string(GMIME_OBJECT(m), NULL), n = strlen(raw);
		if (raw) {
			char *c = xstrdup(raw);
			g_free(raw);
			raw = c;
		}
	}
	if (!raw)
		return;
	tidy(raw);
	n = strlen(raw);
	size_t at = 0;
	while (at < n && !out->state) {
		const char *end = strstr(raw + at, "\n\n");
		size_t blen = end ? (size_t)(end - (raw + at)) : n - at;
		struct sbuf b;
		sbuf_init(&b);
		sbuf_add(&b, raw + at, blen);
		sbuf_adds(&b, "\n\n");
		GMimeStream *st = g_mime_stream_mem_new_with_buffer(b.buf, b.len);
		GMimeParser *p = g_mime_parser_new_with_stream(st);
		GMimeObject *hp = g_mime_parser_construct_part(p, NULL);
		if (hp) {
			const char *action = g_mime_object_get_header(hp, "Action");
			if (action) {
				char *a = one_line(action);
				tidy(a);
				if (strncasecmp(a, "failed", 6) == 0)
					out->state = "undelivered";
				else if (strncasecmp(a, "delivered", 9) == 0)
					out->state = "delivered";
				else if (strncasecmp(a, "delayed", 7) == 0)
					out->state = "enroute";
				else
					out->state = "accepted";
				free(a);
				const char *s = g_mime_object_get_header(hp, "Status");
				if (s) {
					out->status = one_line(s);
					tidy(out->status);
					char *sp = strpbrk(out->status, " (\t");
					if (sp)
						*sp = 0;
				}
				const char *d = g_mime_object_get_header(hp, "Diagnostic-Code");
				if (d) {
					out->diagnostic = one_line(d);
					tidy(out->diagnostic);
				}
			}
			g_object_unref(hp);
		}
		g_object_unref(p);
		g_object_unref(st);
		sbuf_free(&b);
		at += blen + 2;
	}
	free(raw);
}

int email_mail_parse(const char *data, size_t len, struct email_mail_in *out, struct errbuf *err)
{
	pthread_once(&gmime_once, gmime_init_once);
	memset(out, 0, sizeof *out);
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(st);
	if (!m)
		return errbuf_set(err, "not a mail (no header block)");
	int rc = -1;
	struct walk w = {0};
	GMimeObject *top = g_mime_message_get_mime_part(m);
	if (top) {
		if (GMIME_IS_MULTIPART(top) || GMIME_IS_MESSAGE_PART(top) || GMIME_IS_PART(top)) {
			if (GMIME_IS_MULTIPART(top))
				g_mime_multipart_foreach(GMIME_MULTIPART(top), walk_cb, &w);
			else
				walk_cb(NULL, top, &w);
		}
	}
	GMimeContentType *tct = top ? g_mime_object_get_content_type(top) : NULL;
	bool report = tct && g_mime_content_type_is_type(tct, "multipart", "report");
	if (report) {
		const char *rt = g_mime_content_type_get_parameter(tct, "report-type");
		report = rt && strcasecmp(rt, "delivery-status") == 0;
	}
	if (report && w.dsn_status && w.orig_msgid) {
		parse_status(w.dsn_status, out);
		if (out->state) {
			out->kind = EMAIL_MAIL_REPORT;
			out->ref_message_id = w.orig_msgid;
			w.orig_msgid = NULL;
			rc = 0;
			goto done;
		}
	}
	out->kind = EMAIL_MAIL_TEXT;
	const char *from = first_addr(g_mime_message_get_from(m));
	if (!from) {
		errbuf_set(err, "no sender address in From:");
		goto done;
	}
	if (!w.plain && !w.html) {
		errbuf_set(err, "no text/plain or text/html part");
		goto done;
	}
	out->sender = gdup(from);
	out->recipient = gdup(first_addr(g_mime_message_get_to(m)));
	if (w.plain) {
		out->text = part_text(w.plain);
	} else {
		char *h = part_text(w.html);
		out->text = email_html_to_text(h, strlen(h));
		free(h);
		out->from_html = true;
	}
	tidy(out->text);
	out->attachments = w.leaves;
	GDateTime *dt = g_mime_message_get_date(m);
	if (dt)
		out->date_s = g_date_time_to_unix(dt);
	rc = 0;
done:
	free(w.orig_msgid);
	g_object_unref(m);
	if (rc)
		email_mail_in_free(out);
	return rc;
}

void email_mail_in_free(struct email_mail_in *in)
{
	free(in->sender);
	free(in->recipient);
	free(in->text);
	free(in->ref_message_id);
	free(in->status);
	free(in->diagnostic);
	memset(in, 0, sizeof *in);
}

/* ---- addresses and ids ---- */

int email_party_rule_from_name(const char *name)
{
	if (!name)
		return -1;
	if (strcmp(name, "number") == 0)
		return EMAIL_PARTY_NUMBER;
	if (strcmp(name, "address") == 0)
		return EMAIL_PARTY_ADDRESS;
	if (strcmp(name, "local_part") == 0)
		return EMAIL_PARTY_LOCAL_PART;
	return -1;
}

/* A phone number: an optional '+', then 3 to 20 digits. */
static bool is_number(const char *s, size_t n)
{
	if (n && *s == '+')
		s++, n--;
	if (n < 3 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

char *email_mail_party(const char *addr, enum email_party_rule rule)
{
	const char *at = strrchr(addr, '@');
	size_t local = at ? (size_t)(at - addr) : strlen(addr);
	switch (rule) {
	case EMAIL_PARTY_ADDRESS:
		return xstrdup(addr);
	case EMAIL_PARTY_LOCAL_PART:
		return xstrndup(addr, local);
	case EMAIL_PARTY_NUMBER:
		break;
	}
	return is_number(addr, local) ? xstrndup(addr, local) : xstrdup(addr);
}

void email_mail_message_id(int64_t id, const char *instance, const char *domain, char *buf, size_t cap)
{
	char inst[64];
	size_t k = 0;
	for (const char *p = instance ? instance : ""; *p && k + 1 < sizeof inst; p++)
		inst[k++] = (isalnum((unsigned char)*p) || strchr("-_+=", *p)) ? *p : '-';
	inst[k] = 0;
	snprintf(buf, cap, "%" PRId64 ".%s@%s", id, k ? inst : "smspool", domain);
}

bool email_mail_message_id_ours(const char *msgid, const char *domain, int64_t *id)
{
	const char *at = msgid ? strrchr(msgid, '@') : NULL;
	if (!at || strcasecmp(at + 1, domain) != 0)
		return false;
	const char *p = msgid;
	int64_t v = 0;
	int digits = 0;
	while (isdigit((unsigned char)*p) && digits < 18)
		v = v * 10 + (*p++ - '0'), digits++;
	if (!digits || *p != '.' || p + 1 >= at)
		return false;
	if (id)
		*id = v;
	return true;
}
