/*
 * mailbox: the email connection's receiving side.  Every poll_s it lists a
 * POP3 (UIDL) or IMAP (UID SEARCH) mailbox, fetches each mail not taken
 * before, hands texts to core_received() and bounces of our mails to
 * core_report(), and only once the database has committed them deletes
 * them (delete_after commit: POP3 DELE + QUIT, IMAP \Deleted + EXPUNGE).
 *
 * Design:
 * - One poll cycle is one state machine run, one transfer at a time on a
 *   curl_loop of its own: LIST → FETCH (each new mail) → WAIT_ACKS → MARK
 *   (each committed mail) → END (POP3 QUIT, so that the deletions happen
 *   and the next UIDL sees new mail; IMAP EXPUNGE) → IDLE.  POP3 message
 *   numbers are only valid within one session, and the whole cycle runs on
 *   one (libcurl reuses the connection); a failed transfer abandons the
 *   cycle without deleting anything more.
 * - Nothing is taken twice: each inbox row carries a key "<mailbox_url>#
 *   <UIDL>" or "<mailbox_url>#<UIDVALIDITY>.<UID>" (IMAP: STATUS first)
 *   that the database stores once (smspool.inbound_keys);
 *   a mail seen again after a restart, or with delete_after never, or after
 *   a crash between commit and deletion, is skipped there and only deleted.
 *   Within a run, UIDs stored are remembered and not fetched again.
 * - A mail that cannot be used (no sender, no text part, a bounce that is
 *   not about one of our Message-IDs, larger than max_mail_bytes) stays in
 *   the mailbox, is logged once with its UID and counted in the
 *   connection's state detail; the mailbox goes on.
 * - A text longer than max_parts SMS parts is cut to fit (logged).
 * - Errors of the server (refused login, TLS, connection) are logged, shown
 *   as the connection's state detail and retried at the next poll.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec/sms.h"
#include "codec/utf8.h"
#include "email/email.h"
#include "email/mail.h"
#include "log.h"
#include "net/curl_loop.h"
#include "sbuf.h"
#include "util.h"

enum mb_state { MB_IDLE, MB_STATUS, MB_LIST, MB_FETCH, MB_WAIT_ACKS, MB_MARK, MB_END, MB_STOPPED };
static const char *const mb_state_names[] = {"idle", "status", "list", "fetch", "wait_acks", "mark", "end", "stopped"};

enum item_state { IT_NEW, IT_PENDING, IT_STORED, IT_REFUSED, IT_SKIPPED };

/* Mails taken per cycle at most: memory stays bounded by this, not by the
 * mailbox; a longer list is continued by the next cycle, at once. */
#define MB_CYCLE_MAX 500

struct mb_item {
	char *uid; /* UIDL (POP3) or UID (IMAP) */
	char *num; /* POP3 message number in this session; IMAP: the UID */
	enum item_state st;
	uint64_t token;
};

/* A sorted set of strings (UIDs). */
struct strset {
	char **v;
	size_t n, cap;
};

struct email_mailbox {
	struct conn *c;
	const struct email_conf *conf;
	bool imap, del, aborted, more; /* more: the list had more than MB_CYCLE_MAX */
	char *base;                    /* pop3://host:port or imap://host:port/FOLDER */
	char *folder;                  /* IMAP: the folder's name */
	char uidvalidity[24];          /* IMAP: UIDs are only unique with it */
	const char *user, *pass;
	int sender_rule, recipient_rule;
	struct curl_loop *cl;
	CURL *easy; /* the transfer in flight, or NULL */
	struct sbuf data;
	bool too_big;
	char errbuf[CURL_ERROR_SIZE];
	enum mb_state state;
	struct event *poll_ev;
	struct mb_item *items;
	size_t n, cur, pending, deleted;
	struct strset seen, bad;
	uint64_t next_token;
	long unparsed;
	char *last_bad;
};

/* ---- string set ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool set_has(const struct strset *s, const char *k)
{
	return s->n && bsearch(&k, s->v, s->n, sizeof *s->v, cmp_str) != NULL;
}

static void set_add(struct strset *s, const char *k)
{
	if (set_has(s, k))
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	size_t i = s->n;
	while (i > 0 && strcmp(s->v[i - 1], k) > 0) {
		s->v[i] = s->v[i - 1];
		i--;
	}
	s->v[i] = xstrdup(k);
	s->n++;
}

static void set_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* ---- settings ---- */

static bool is_imap(const char *url)
{
	return strncasecmp(url, "imap://", 7) == 0 || strncasecmp(url, "imaps://", 8) == 0;
}

int email_mailbox_check(const struct email_conf *conf, struct errbuf *err)
{
	const char *u = conf->mailbox_url;
	if (strncasecmp(u, "pop3://", 7) && strncasecmp(u, "pop3s://", 8) && !is_imap(u))
		return errbuf_set(err, "settings.mailbox_url: must start with pop3://, pop3s://, imap:// or imaps://");
	if (strpbrk(u, " \r\n;\"\\"))
		return errbuf_set(err, "settings.mailbox_url: must not contain spaces, quotes, backslashes or ';'");
	if (is_imap(u) && strchr(u, '%'))
		return errbuf_set(err, "settings.mailbox_url: IMAP folder names with %%-escapes are not supported");
	if (strcmp(conf->delete_after, "commit") && strcmp(conf->delete_after, "never"))
		return errbuf_set(err, "settings.delete_after: \"%s\" is not one of commit, never", conf->delete_after);
	if (email_party_rule_from_name(conf->sender_from) < 0)
		return errbuf_set(err, "settings.sender_from: \"%s\" is not one of number, address, local_part",
		                  conf->sender_from);
	if (email_party_rule_from_name(conf->recipient_from) < 0)
		return errbuf_set(err, "settings.recipient_from: \"%s\" is not one of number, address, local_part",
		                  conf->recipient_from);
	return 0;
}

/* ---- transfers ---- */

static void poll_later(struct email_mailbox *mb, long long s);

static void set_state(struct email_mailbox *mb, enum mb_state st)
{
	log_debug("email_mailbox_state", "conn=%s from=%s to=%s", conn_name(mb->c), mb_state_names[mb->state],
	          mb_state_names[st]);
	mb->state = st;
}

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct email_mailbox *mb = arg;
	size_t len = size * n;
	if (mb->data.len + len > (size_t)mb->conf->max_mail_bytes) {
		mb->too_big = true;
		return 0; /* ends the transfer with CURLE_WRITE_ERROR */
	}
	sbuf_add(&mb->data, data, len);
	return len;
}

/* Starts one transfer: url, an optional custom command, whether it has no
 * multi-line answer, and whether the connection is closed after it. */
static void transfer(struct email_mailbox *mb, const char *url, const char *custom, bool nobody, bool last)
{
	CURL *e = curl_easy_init();
	if (!e)
		abort();
	sbuf_reset(&mb->data);
	mb->too_big = false;
	mb->errbuf[0] = 0;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "pop3,pop3s,imap,imaps");
	curl_easy_setopt(e, CURLOPT_PRIVATE, mb);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, mb->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, mb);
	email_curl_common(e, mb->conf);
	if (mb->user)
		curl_easy_setopt(e, CURLOPT_USERNAME, mb->user);
	if (mb->pass)
		curl_easy_setopt(e, CURLOPT_PASSWORD, mb->pass);
	if (mb->conf->oauth2_token && !mb->pass)
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, mb->conf->oauth2_token);
	if (custom)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, custom);
	if (nobody)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	if (last)
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	/* A POP3 session sees the mailbox as it was at login: each cycle
	 * starts a new one (the previous ended with QUIT, or failed). */
	if (!mb->imap && mb->state == MB_LIST)
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	mb->easy = e;
	char err[256];
	if (curl_loop_add(mb->cl, e, err, sizeof err)) {
		log_error("email_mailbox_curl", "conn=%s error=\"%s\"", conn_name(mb->c), err);
		abort(); /* only when the multi handle is misused */
	}
}

static void items_free(struct email_mailbox *mb)
{
	for (size_t i = 0; i < mb->n; i++) {
		free(mb->items[i].uid);
		free(mb->items[i].num);
	}
	free(mb->items);
	mb->items = NULL;
	mb->n = mb->cur = mb->pending = mb->deleted = 0;
}

static void add_item(struct email_mailbox *mb, const char *num, size_t nlen, const char *uid, size_t ulen)
{
	char *u = xstrndup(uid, ulen);
	if (set_has(&mb->seen, u) || set_has(&mb->bad, u)) {
		free(u);
		return;
	}
	if (mb->n >= MB_CYCLE_MAX) {
		mb->more = true;
		free(u);
		return;
	}
	mb->items = xrealloc(mb->items, (mb->n + 1) * sizeof *mb->items);
	mb->items[mb->n++] = (struct mb_item){u, xstrndup(num, nlen), IT_NEW, 0};
}

/* Fills the items from a UIDL listing ("1 abc\r\n2 def\r\n") or an IMAP
 * "* SEARCH 3 5 8" answer. */
static void parse_list(struct email_mailbox *mb)
{
	sbuf_add(&mb->data, "", 1);
	const char *p = mb->data.buf;
	if (mb->imap) {
		const char *s = strstr(p, "SEARCH");
		if (!s)
			return;
		s += 6;
		while (*s && *s != '\r' && *s != '\n') {
			s += strspn(s, " ");
			size_t k = strspn(s, "0123456789");
			if (k == 0)
				break;
			add_item(mb, s, k, s, k);
			s += k;
		}
		return;
	}
	while (*p) {
		size_t k = strspn(p, "0123456789");
		const char *sp = p + k;
		const char *eol = sp + strcspn(sp, "\r\n");
		if (k > 0 && *sp == ' ') {
			const char *u = sp + 1;
			size_t ulen = (size_t)(eol - u);
			while (ulen && u[ulen - 1] == ' ')
				ulen--;
			if (ulen && ulen <= 70)
				add_item(mb, p, k, u, ulen);
		}
		p = eol + strspn(eol, "\r\n");
	}
}

/* ---- one mail ---- */

static void show_problem(struct email_mailbox *mb, const char *now)
{
	char d[512];
	if (now) {
		snprintf(d, sizeof d, "%s", now);
	} else if (mb->unparsed) {
		snprintf(d, sizeof d, "%ld mail(s) kept unparsed (last: %s)", mb->unparsed,
		         mb->last_bad ? mb->last_bad : "");
	} else {
		email_problem(mb->c, NULL);
		return;
	}
	email_problem(mb->c, d);
}

static void keep_bad(struct email_mailbox *mb, struct mb_item *it, const char *why)
{
	it->st = IT_SKIPPED;
	if (set_has(&mb->bad, it->uid))
		return;
	set_add(&mb->bad, it->uid);
	mb->unparsed++;
	char q[300], line[400];
	log_warn("email_unparsed", "conn=%s uid=%s problem=%s kept=yes", conn_name(mb->c), it->uid,
	         log_quote(why, q, sizeof q));
	snprintf(line, sizeof line, "uid %s: %s", it->uid, why);
	free(mb->last_bad);
	mb->last_bad = xstrdup(line);
	show_problem(mb, NULL);
}

static int count_parts(const char *s, size_t len, struct sms_split *out)
{
	struct sms_split_opts opts = {0};
	struct errbuf err;
	memset(out, 0, sizeof *out);
	return sms_count_parts(s, len, &opts, out, &err);
}

/* Cuts text (valid UTF-8) to max_parts parts.  Returns the parts and sets
 * *enc; *cut tells whether anything was cut. */
static int fit_parts(char *text, int max_parts, const char **enc, bool *cut)
{
	struct sms_split sp;
	size_t len = strlen(text);
	*cut = false;
	if (count_parts(text, len, &sp) == 0 && sp.n_parts <= (unsigned)max_parts) {
		*enc = sms_encoding_name(sp.encoding);
		return (int)sp.n_parts;
	}
	/* The longest prefix, on a character boundary, that fits. */
	size_t lo = 0, hi = len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;
		while (mid > lo && ((unsigned char)text[mid] & 0xC0) == 0x80)
			mid--;
		if (mid == lo) {
			/* no boundary between lo and the middle: try the next one up */
			size_t up = lo + 1;
			while (up < hi && ((unsigned char)text[up] & 0xC0) == 0x80)
				up++;
			if (up > hi || count_parts(text, up, &sp) || sp.n_parts > (unsigned)max_parts)
				break;
			lo = up;
			continue;
		}
		if (count_parts(text, mid, &sp) == 0 && sp.n_parts <= (unsigned)max_parts)
			lo = mid;
		else
			hi = mid - 1;
	}
	text[lo] = 0;
	*cut = true;
	if (count_parts(text, lo, &sp)) {
		*enc = "gsm7";
		return 1;
	}
	*enc = sms_encoding_name(sp.encoding);
	return sp.n_parts ? (int)sp.n_parts : 1;
}

static void take_mail(struct email_mailbox *mb, struct mb_item *it)
{
	struct email_mail_in in;
	struct errbuf err = {""};
	if (email_mail_parse(mb->data.buf ? mb->data.buf : "", mb->data.len, &in, &err)) {
		keep_bad(mb, it, err.msg);
		return;
	}
	it->token = ++mb->next_token;
	if (in.kind == EMAIL_MAIL_REPORT) {
		int64_t id;
		if (!mb->conf->reports ||
		    !email_mail_message_id_ours(in.ref_message_id, mb->conf->message_id_domain, &id)) {
			char why[300];
			snprintf(why, sizeof why, "a delivery status notification about <%.200s>, %s",
			         in.ref_message_id,
			         mb->conf->reports ? "not one of our mails" : "not read (reports is false)");
			email_mail_in_free(&in);
			keep_bad(mb, it, why);
			return;
		}
		struct report *r = xcalloc(1, sizeof *r);
		r->remote_id = xstrdup(in.ref_message_id);
		r->state = xstrdup(in.state);
		r->error_code = in.status ? xstrdup(in.status) : NULL;
		r->text = in.diagnostic ? xstrdup(in.diagnostic) : NULL;
		log_info("email_report", "conn=%s uid=%s message_id=%s state=%s status=%s", conn_name(mb->c), it->uid,
		         in.ref_message_id, in.state, in.status ? in.status : "");
		email_mail_in_free(&in);
		it->st = IT_PENDING;
		mb->pending++;
		core_report(mb->c, r, it->token);
		return;
	}
	struct inbound *ib = xcalloc(1, sizeof *ib);
	ib->sender = email_mail_party(in.sender, (enum email_party_rule)mb->sender_rule);
	ib->recipient = in.recipient ? email_mail_party(in.recipient, (enum email_party_rule)mb->recipient_rule) : NULL;
	const char *enc = "gsm7";
	bool cut = false;
	size_t before = strlen(in.text);
	ib->parts = fit_parts(in.text, (int)mb->conf->max_parts, &enc, &cut);
	if (cut)
		log_info("email_text_cut", "conn=%s uid=%s bytes=%zu kept_bytes=%zu max_parts=%lld", conn_name(mb->c),
		         it->uid, before, strlen(in.text), mb->conf->max_parts);
	ib->body = in.text;
	in.text = NULL;
	ib->encoding = xstrdup(enc);
	ib->smsc_ts_s = in.date_s > 0 ? in.date_s : 0;
	ib->key = xmalloc(strlen(mb->conf->mailbox_url) + strlen(it->uid) + sizeof mb->uidvalidity + 3);
	if (mb->imap)
		sprintf(ib->key, "%s#%s.%s", mb->conf->mailbox_url, mb->uidvalidity, it->uid);
	else
		sprintf(ib->key, "%s#%s", mb->conf->mailbox_url, it->uid);
	log_debug("email_received", "conn=%s uid=%s attachments=%d html=%d parts=%d", conn_name(mb->c), it->uid,
	          in.attachments, in.from_html, ib->parts);
	email_mail_in_free(&in);
	it->st = IT_PENDING;
	mb->pending++;
	core_received(mb->c, ib, it->token);
}

/* ---- the cycle ---- */

static void end_cycle(struct email_mailbox *mb)
{
	if (mb->imap && !mb->deleted) {
		items_free(mb);
		set_state(mb, MB_IDLE);
		poll_later(mb, mb->more && !mb->aborted ? 0 : mb->conf->poll_s);
		return;
	}
	set_state(mb, MB_END);
	if (mb->imap)
		transfer(mb, mb->base, "EXPUNGE", false, false);
	else
		transfer(mb, mb->base, "QUIT", true, true);
}

static void next_mark(struct email_mailbox *mb)
{
	while (mb->cur < mb->n && !(mb->del && mb->items[mb->cur].st == IT_STORED))
		mb->cur++;
	if (mb->aborted || mb->cur >= mb->n) {
		end_cycle(mb);
		return;
	}
	struct mb_item *it = &mb->items[mb->cur];
	char url[1024], cmd[128];
	if (mb->imap) {
		snprintf(cmd, sizeof cmd, "UID STORE %s +FLAGS.SILENT (\\Deleted \\Seen)", it->num);
		transfer(mb, mb->base, cmd, false, false);
	} else {
		snprintf(url, sizeof url, "%s/%s", mb->base, it->num);
		transfer(mb, url, "DELE", true, false);
	}
}

static void check_acks(struct email_mailbox *mb)
{
	if (mb->state != MB_WAIT_ACKS || mb->pending > 0)
		return;
	set_state(mb, MB_MARK);
	mb->cur = 0;
	next_mark(mb);
}

static void next_fetch(struct email_mailbox *mb)
{
	if (mb->aborted || mb->cur >= mb->n) {
		set_state(mb, MB_WAIT_ACKS);
		check_acks(mb);
		return;
	}
	struct mb_item *it = &mb->items[mb->cur];
	char url[1024];
	if (mb->imap) /* libcurl checks the UIDVALIDITY when it selects the folder */
		snprintf(url, sizeof url, "%s;UIDVALIDITY=%s;UID=%s", mb->base, mb->uidvalidity, it->num);
	else
		snprintf(url, sizeof url, "%s/%s", mb->base, it->num);
	transfer(mb, url, NULL, false, false);
}

static void transfer_failed(struct email_mailbox *mb, CURLcode res)
{
	char text[CURL_ERROR_SIZE + 64];
	snprintf(text, sizeof text, "%s%s", res == CURLE_LOGIN_DENIED ? "login refused: " : "",
	         mb->errbuf[0] ? mb->errbuf : curl_easy_strerror(res));
	char q[400];
	log_warn("email_mailbox_error", "conn=%s state=%s curl=%d error=%s", conn_name(mb->c),
	         mb_state_names[mb->state], (int)res, log_quote(text, q, sizeof q));
	show_problem(mb, text);
	mb->aborted = true;
}

/* Reads "* STATUS folder (UIDVALIDITY n)".  A new value means new UIDs:
 * what this run remembers of the old ones is forgotten. */
static bool take_uidvalidity(struct email_mailbox *mb)
{
	sbuf_add(&mb->data, "", 1);
	const char *p = strstr(mb->data.buf, "UIDVALIDITY ");
	if (!p)
		return false;
	p += 12;
	size_t k = strspn(p, "0123456789");
	if (k == 0 || k >= sizeof mb->uidvalidity)
		return false;
	if (mb->uidvalidity[0] && (strlen(mb->uidvalidity) != k || strncmp(mb->uidvalidity, p, k))) {
		log_info("email_uidvalidity_changed", "conn=%s old=%s new=%.*s", conn_name(mb->c), mb->uidvalidity,
		         (int)k, p);
		set_free(&mb->seen);
		set_free(&mb->bad);
	}
	memcpy(mb->uidvalidity, p, k);
	mb->uidvalidity[k] = 0;
	return true;
}

static void mb_done(void *arg, CURL *easy, CURLcode res)
{
	struct email_mailbox *mb = arg;
	curl_multi_remove_handle(curl_loop_multi(mb->cl), easy);
	curl_easy_cleanup(easy);
	mb->easy = NULL;
	switch (mb->state) {
	case MB_STATUS:
		if (res != CURLE_OK || !take_uidvalidity(mb)) {
			if (res == CURLE_OK)
				mb->errbuf[0] = 0, res = CURLE_WEIRD_SERVER_REPLY;
			transfer_failed(mb, res);
			set_state(mb, MB_IDLE);
			poll_later(mb, mb->conf->poll_s);
			return;
		}
		set_state(mb, MB_LIST);
		transfer(mb, mb->base, mb->del ? "UID SEARCH NOT DELETED" : "UID SEARCH ALL", false, false);
		return;
	case MB_LIST:
		if (res != CURLE_OK) {
			transfer_failed(mb, res);
			set_state(mb, MB_IDLE);
			poll_later(mb, mb->conf->poll_s);
			return;
		}
		show_problem(mb, NULL);
		parse_list(mb);
		log_debug("email_mailbox_list", "conn=%s new=%zu", conn_name(mb->c), mb->n);
		set_state(mb, MB_FETCH);
		mb->cur = 0;
		next_fetch(mb);
		return;
	case MB_FETCH:
		if (res == CURLE_WRITE_ERROR && mb->too_big) {
			char why[96];
			snprintf(why, sizeof why, "larger than max_mail_bytes (%lld)", mb->conf->max_mail_bytes);
			keep_bad(mb, &mb->items[mb->cur], why);
		} else if (res != CURLE_OK) {
			transfer_failed(mb, res);
		} else {
			take_mail(mb, &mb->items[mb->cur]);
		}
		mb->cur++;
		next_fetch(mb);
		return;
	case MB_MARK:
		if (res != CURLE_OK)
			transfer_failed(mb, res);
		else
			mb->deleted++;
		mb->cur++;
		next_mark(mb);
		return;
	case MB_END:
		if (res != CURLE_OK && !mb->aborted)
			transfer_failed(mb, res);
		else if (mb->deleted)
			log_debug("email_mailbox_deleted", "conn=%s mails=%zu", conn_name(mb->c), mb->deleted);
		items_free(mb);
		set_state(mb, MB_IDLE);
		poll_later(mb, mb->more && !mb->aborted ? 0 : mb->conf->poll_s);
		return;
	case MB_IDLE:
	case MB_WAIT_ACKS:
	case MB_STOPPED:
		return;
	}
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct email_mailbox *mb = arg;
	if (mb->state != MB_IDLE)
		return;
	mb->aborted = mb->more = false;
	items_free(mb);
	if (mb->imap) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "STATUS \"%s\" (UIDVALIDITY)", mb->folder);
		set_state(mb, MB_STATUS);
		transfer(mb, mb->base, cmd, false, false);
	} else {
		set_state(mb, MB_LIST);
		transfer(mb, mb->base, "UIDL", false, false);
	}
}

static void poll_later(struct email_mailbox *mb, long long s)
{
	struct timeval tv = {(time_t)s, 0};
	evtimer_add(mb->poll_ev, &tv);
}

/* ---- life cycle ---- */

struct email_mailbox *email_mailbox_start(struct conn *c, const struct email_conf *conf, struct errbuf *err)
{
	if (email_mailbox_check(conf, err))
		return NULL;
	struct email_mailbox *mb = xcalloc(1, sizeof *mb);
	mb->c = c;
	mb->conf = conf;
	mb->imap = is_imap(conf->mailbox_url);
	mb->del = strcmp(conf->delete_after, "commit") == 0;
	mb->user = conf->mailbox_username ? conf->mailbox_username : conf->username;
	mb->pass = conf->mailbox_password ? conf->mailbox_password : conf->password;
	mb->sender_rule = email_party_rule_from_name(conf->sender_from);
	mb->recipient_rule = email_party_rule_from_name(conf->recipient_from);
	/* base: scheme://authority, plus /FOLDER for IMAP (INBOX by default) */
	const char *u = conf->mailbox_url, *auth = strstr(u, "://") + 3;
	const char *path = strchr(auth, '/');
	size_t alen = path ? (size_t)(path - u) : strlen(u);
	const char *folder = path && path[1] ? path + 1 : "INBOX";
	size_t flen = strlen(folder);
	while (flen && folder[flen - 1] == '/')
		flen--;
	mb->base = xmalloc(alen + flen + 2);
	mb->folder = xstrndup(folder, flen);
	if (mb->imap)
		sprintf(mb->base, "%.*s/%.*s", (int)alen, u, (int)flen, folder);
	else
		sprintf(mb->base, "%.*s", (int)alen, u);
	sbuf_init(&mb->data);
	mb->cl = curl_loop_new(conn_event_base(c), mb_done, NULL, mb);
	mb->poll_ev = evtimer_new(conn_event_base(c), poll_cb, mb);
	mb->state = MB_IDLE;
	poll_later(mb, 0);
	log_info("email_mailbox", "conn=%s url=%s delete_after=%s poll_s=%lld", conn_name(c), mb->base,
	         conf->delete_after, conf->poll_s);
	return mb;
}

void email_mailbox_acked(struct email_mailbox *mb, uint64_t token, bool committed)
{
	for (size_t i = 0; i < mb->n; i++) {
		struct mb_item *it = &mb->items[i];
		if (it->st != IT_PENDING || it->token != token)
			continue;
		it->st = committed ? IT_STORED : IT_REFUSED;
		if (committed)
			set_add(&mb->seen, it->uid);
		else
			log_warn("email_not_stored",
			         "conn=%s uid=%s problem=\"the database refused it; kept for the "
			         "next poll\"",
			         conn_name(mb->c), it->uid);
		mb->pending--;
		check_acks(mb);
		return;
	}
}

void email_mailbox_stop(struct email_mailbox *mb)
{
	if (!mb || mb->state == MB_STOPPED)
		return;
	mb->state = MB_STOPPED;
	evtimer_del(mb->poll_ev);
	if (mb->easy) {
		curl_multi_remove_handle(curl_loop_multi(mb->cl), mb->easy);
		curl_easy_cleanup(mb->easy);
		mb->easy = NULL;
	}
}

void email_mailbox_free(struct email_mailbox *mb)
{
	if (!mb)
		return;
	email_mailbox_stop(mb);
	curl_loop_free(mb->cl);
	event_free(mb->poll_ev);
	items_free(mb);
	set_free(&mb->seen);
	set_free(&mb->bad);
	sbuf_free(&mb->data);
	free(mb->base);
	free(mb->folder);
	free(mb->last_bad);
	free(mb);
}
