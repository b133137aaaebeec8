/*
 * http: sends through any provider's HTTP API by configuration alone, and
 * takes its callbacks (callback.c).
 *
 * Design:
 * - Templates (template.c) for URL, headers and body, and response rules
 *   (rule.c) are compiled once at open() (conf.c); check() compiles them too, so a
 *   bad placeholder, filter, regex or pointer is refused at configuration
 *   time with an error naming it.
 * - libcurl's multi-socket API runs inside the loop (net/curl_loop.c).
 *   Nothing blocks; the core bounds the requests in flight by the
 *   connection's window; the multi handle keeps connections alive.
 * - The connection is CONN_UP as soon as it is configured: HTTP has no
 *   session.  A provider that cannot be reached fails submits with
 *   MSG_TEMPORARY.
 * - multipart "whole": one request per message, the provider splits; the
 *   one id stands for every part (parts = sms_count_parts), so one report
 *   finishes them all.  "parts": one request per part, in order, each with
 *   its own id; a failing part fails the message with that part's class.
 * - Without an id rule, the remote id is our own: "<id>" (whole) or
 *   "<id>.<part>" (parts) — what a callback_url like ".../report?id={id}"
 *   (whole) or ".../report?id={id}.{part}" (parts) gives back.
 * - stop(): callbacks get 503 from then on; requests in flight get
 *   stop_grace_ms to finish, then are completed MSG_TEMPORARY (their fate
 *   is unknown: at-least-once); the requests in flight and the stop are
 *   net/inflight.c's, shared with email.
 *
 * Session states (one per request): REQ_RUNNING → done (completed or next
 * part).  The connection itself: OPEN → STOPPING → STOPPED (inflight).
 */
#include "http/http.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "codec/gsm7.h"
#include "codec/sms.h"
#include "codec/ucs2.h"
#include "driver.h"
#include "http/callback.h"
#include "http/easy.h"
#include "http/oauth.h"
#include "http/rule.h"
#include "http/template.h"
#include "log.h"
#include "msg_parts.h"
#include "msg_sms.h"
#include "net/curl_loop.h"
#include "net/inflight.h"
#include "sbuf.h"
#include "util.h"

#define HTTP_RESP_MAX (64 * 1024)

struct http_req;

struct http {
	struct conn *c;
	const struct http_conf *conf;
	struct http_conf_compiled cc;
	struct inflight fl; /* the requests in flight; the state (OPEN, STOPPING, STOPPED) */
	struct curl_loop *cl;
	CURLM *multi; /* curl_loop_multi(cl) */
	struct http_cb *cb;
	struct http_oauth *oauth; /* auth oauth2 */
};

struct http_req {
	struct inflight_req base; /* first: the message, the list */
	struct http *h;
	CURL *easy;
	struct curl_slist *hdrs;
	struct sbuf resp;
	char errbuf[CURL_ERROR_SIZE];
	/* parts mode */
	struct sms_split split;
	int part, nparts; /* current part, 0-based */
	char **ids;
	/* oauth2: parked until a token comes; the token sent; one retry on 401 */
	bool waiting_token, retried_401;
	char *used_token;
};

/* ---- libcurl in the loop (net/curl_loop.c) ---- */

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_req *r = arg;
	size_t len = size * n;
	if (r->resp.len < HTTP_RESP_MAX) {
		size_t room = HTTP_RESP_MAX - r->resp.len;
		sbuf_add(&r->resp, data, len < room ? len : room);
	}
	return len; /* the rest is read and dropped */
}

/* ---- requests ---- */

static void req_free(struct http_req *r)
{
	if (r->easy) {
		curl_multi_remove_handle(r->h->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->hdrs);
	sbuf_free(&r->resp);
	for (int i = 0; i < r->nparts; i++)
		free(r->ids ? r->ids[i] : NULL);
	free(r->ids);
	free(r->split.parts);
	free(r->used_token);
	free(r);
}

static void req_free_base(struct inflight_req *b)
{
	req_free((struct http_req *)b);
}

/* Completes the message of r and frees r. */
static void req_complete(struct http_req *r)
{
	const struct msg *m = r->base.m;
	if (m->outcome == MSG_SENT)
		log_debug("http_sent", "conn=%s id=%" PRId64 " parts=%d", conn_name(r->h->c), m->id, m->parts);
	inflight_complete(&r->h->fl, &r->base);
}

/* The values of the template variables for r's current part: the
 * message's (http_tpl_vals_fill), the connection's own, and in parts mode
 * the part's text and octets.  owned[] holds what is built here. */
struct vals {
	struct http_tpl_vals t;
	char *owned[4];
};

static void vals_free(struct vals *vs)
{
	for (size_t i = 0; i < ARRAY_LEN(vs->owned); i++)
		free(vs->owned[i]);
}

static int fill_vals(struct http_req *r, struct vals *vs, struct errbuf *err)
{
	struct http *h = r->h;
	const struct http_conf *conf = h->conf;
	struct msg *m = r->base.m;
	const char **v = vs->t.v;
	const char *enc = NULL;
	memset(vs->owned, 0, sizeof vs->owned);
	if (h->cc.parts_mode) {
		enc = sms_encoding_name(r->split.encoding);
	} else {
		struct errbuf e2;
		if (msg_parts(m, &enc, &e2) < 0)
			enc = m->encoding;
	}
	http_tpl_vals_fill(&vs->t, m, enc, r->nparts, r->part + 1);
	v[HV_USERNAME] = conf->username;
	v[HV_PASSWORD] = conf->password;
	v[HV_TOKEN] = conf->token;
	if (h->cc.parts_mode) {
		const struct sms_part *p = &r->split.parts[r->part];
		vs->owned[0] = msg_sms_hex(p->payload, p->payload_len);
		v[HV_PART_HEX] = vs->owned[0];
		vs->owned[1] = msg_sms_hex(p->udh, p->udh_len);
		v[HV_UDH_HEX] = vs->owned[1];
		char *text = xmalloc(3 * SMS_SEPTETS_MAX + 1);
		int rc = 0;
		if (r->split.encoding == SMS_ENC_GSM7)
			rc = gsm7_to_utf8(p->payload, p->payload_len, r->split.lock_lang, r->split.shift_lang, text,
			                  3 * SMS_SEPTETS_MAX + 1, NULL);
		else if (r->split.encoding == SMS_ENC_UCS2)
			rc = ucs2_to_utf8(p->payload, p->payload_len, text, 3 * SMS_SEPTETS_MAX + 1, NULL);
		else
			text[0] = 0;
		if (rc) {
			free(text);
			return errbuf_set(err, "part %d: cannot be turned back into text", r->part + 1);
		}
		vs->owned[2] = text;
		v[HV_TEXT] = text;
	}
	if (h->cc.callback_url) {
		struct sbuf cb;
		sbuf_init(&cb);
		if (http_tpl_expand(h->cc.callback_url, v, &cb, err)) {
			sbuf_free(&cb);
			return -1;
		}
		sbuf_add(&cb, "", 0);
		vs->owned[3] = cb.buf ? cb.buf : xstrdup("");
		v[HV_CALLBACK_URL] = vs->owned[3];
	}
	return 0;
}

static bool has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
			return true;
	return false;
}

/* Builds and starts the request for r's current part.  Returns 0, or -1
 * with err (the message cannot be sent as configured: MSG_FAILED). */
static int req_start(struct http_req *r, struct errbuf *err)
{
	struct http *h = r->h;
	const struct http_conf *conf = h->conf;
	struct vals vs;
	struct sbuf url, body, line;
	sbuf_init(&url);
	sbuf_init(&body);
	sbuf_init(&line);
	int rc = -1;
	if (fill_vals(r, &vs, err))
		goto out;
	if (http_tpl_expand(h->cc.url, vs.t.v, &url, err))
		goto out;
	if (h->cc.auth == HTTP_AUTH_QUERY) {
		sbuf_adds(&url, memchr(url.buf, '?', url.len) ? "&" : "?");
		if (http_filter_apply(HF_URL, conf->auth_param, strlen(conf->auth_param), &url, err))
			goto out;
		sbuf_add(&url, "=", 1);
		if (http_filter_apply(HF_URL, conf->token, strlen(conf->token), &url, err))
			goto out;
	}
	sbuf_add(&url, "", 0);
	if (has_ctl(url.buf, strlen(url.buf))) {
		errbuf_set(err, "the URL would contain control characters (use a filter such as |url)");
		goto out;
	}
	if (h->cc.body && http_tpl_expand(h->cc.body, vs.t.v, &body, err))
		goto out;
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	if (h->cc.has_body) {
		sbuf_printf(&line, "Content-Type: %s", conf->content_type);
		r->hdrs = curl_slist_append(r->hdrs, line.buf);
	}
	if (h->cc.auth == HTTP_AUTH_BEARER || h->cc.auth == HTTP_AUTH_OAUTH2) {
		sbuf_reset(&line);
		sbuf_printf(&line, "Authorization: Bearer %s",
		            h->cc.auth == HTTP_AUTH_OAUTH2 ? r->used_token : conf->token);
		r->hdrs = curl_slist_append(r->hdrs, line.buf);
	} else if (h->cc.auth == HTTP_AUTH_HEADER) {
		sbuf_reset(&line);
		sbuf_printf(&line, "%s: %s", conf->auth_header, conf->token);
		r->hdrs = curl_slist_append(r->hdrs, line.buf);
	}
	for (size_t i = 0; i < h->cc.headers.n; i++) {
		sbuf_reset(&line);
		sbuf_printf(&line, "%s: ", h->cc.headers.v[i].name);
		size_t at = line.len;
		if (http_tpl_expand(h->cc.headers.v[i].tpl, vs.t.v, &line, err))
			goto out;
		if (has_ctl(line.buf + at, line.len - at)) {
			errbuf_set(err, "header %s would contain control characters", h->cc.headers.v[i].name);
			goto out;
		}
		if (line.len == at) { /* curl drops "Name:" but sends "Name;" empty */
			line.len = at - 2;
			sbuf_add(&line, ";", 1);
		}
		r->hdrs = curl_slist_append(r->hdrs, line.buf);
	}
	CURL *e = http_easy_new(conf, url.buf, r->hdrs, r, r->errbuf, write_cb, r);
	r->easy = e;
	if (h->cc.auth == HTTP_AUTH_BASIC)
		http_easy_basic(e, conf->username, conf->password);
	if (strcmp(conf->method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)body.len);
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body.buf ? body.buf : "");
		if (strcmp(conf->method, "PUT") == 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
	}
	if (curl_loop_add(h->cl, e, err->msg, sizeof err->msg))
		goto out;
	log_debug("http_request", "conn=%s id=%" PRId64 " part=%d/%d method=%s", conn_name(h->c), r->base.m->id,
	          r->part + 1, r->nparts, conf->method);
	rc = 0;
out:
	vals_free(&vs);
	sbuf_free(&url);
	sbuf_free(&body);
	sbuf_free(&line);
	return rc;
}

/* Resets r for its next part (frees the finished easy handle). */
static void req_reset(struct http_req *r)
{
	if (r->easy) {
		curl_multi_remove_handle(r->h->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	sbuf_reset(&r->resp);
	r->errbuf[0] = 0;
}

/* Starts r's current part once it has what it needs: with oauth2 a token
 * (else r waits, parked, for oauth_ready).  A request that cannot be built
 * fails the message; no token fails it temporarily. */
static void req_go(struct http_req *r)
{
	struct http *h = r->h;
	struct errbuf err = {""};
	if (h->cc.auth == HTTP_AUTH_OAUTH2) {
		const char *tok = NULL, *why = NULL;
		enum http_oauth_status st = http_oauth_token(h->oauth, &tok, &why);
		if (st == OAUTH_PENDING) {
			r->waiting_token = true;
			return;
		}
		if (st == OAUTH_FAILED) {
			msg_set_failed(r->base.m, MSG_TEMPORARY, "oauth", why);
			req_complete(r);
			return;
		}
		free(r->used_token);
		r->used_token = xstrdup(tok);
	}
	if (req_start(r, &err)) {
		msg_set_failed(r->base.m, MSG_FAILED, "template", err.msg);
		req_complete(r);
	}
}

/* A token fetch ended: the parked requests go, or fail temporarily. */
static void oauth_ready(void *arg, const char *token, const char *error)
{
	struct http *h = arg;
	struct http_req *next;
	for (struct http_req *r = (struct http_req *)h->fl.head; r; r = next) {
		next = (struct http_req *)r->base.next;
		if (!r->waiting_token)
			continue;
		r->waiting_token = false;
		if (!token) {
			msg_set_failed(r->base.m, MSG_TEMPORARY, "oauth", error);
			req_complete(r);
		} else {
			req_go(r);
		}
	}
}

static char *own_id(const struct http_req *r)
{
	char id[64];
	if (r->h->cc.parts_mode)
		snprintf(id, sizeof id, "%" PRId64 ".%d", r->base.m->id, r->part + 1);
	else
		snprintf(id, sizeof id, "%" PRId64, r->base.m->id);
	return xstrdup(id);
}

/* A transfer has ended with result res. */
static void req_done(struct http_req *r, CURLcode res)
{
	struct http *h = r->h;
	struct msg *m = r->base.m;
	char where[32] = "";
	if (r->nparts > 1 && h->cc.parts_mode)
		snprintf(where, sizeof where, "part %d/%d: ", r->part + 1, r->nparts);
	if (res != CURLE_OK) {
		char text[CURL_ERROR_SIZE + 64], code[32];
		snprintf(text, sizeof text, "%s%s", where, r->errbuf[0] ? r->errbuf : curl_easy_strerror(res));
		bool local = res == CURLE_URL_MALFORMAT || res == CURLE_UNSUPPORTED_PROTOCOL;
		snprintf(code, sizeof code, res == CURLE_OPERATION_TIMEDOUT ? "timeout" : "curl_%d", (int)res);
		msg_set_failed(m, local ? MSG_FAILED : MSG_TEMPORARY, code, text);
		req_complete(r);
		return;
	}
	long status = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	/* oauth2: a 401 means the token is no longer good (revoked, expired
	 * early): once per request, fetch a new one and send again. */
	if (status == 401 && h->cc.auth == HTTP_AUTH_OAUTH2 && !r->retried_401 && h->fl.state == INFLIGHT_OPEN) {
		r->retried_401 = true;
		http_oauth_invalidate(h->oauth, r->used_token);
		req_reset(r);
		req_go(r);
		return;
	}
	sbuf_add(&r->resp, "", 0);
	struct http_verdict v;
	http_rule_eval(&h->cc.rule, status, r->resp.buf, r->resp.len, &v);
	if (v.outcome != MSG_SENT) {
		/* Throttling (429) is not failure: back to the queue without
		 * spending an attempt, after Retry-After (or a short pause). */
		bool throttled = v.outcome == MSG_THROTTLED;
		if (throttled)
			v.outcome = MSG_RELEASE;
		char *text = xmalloc(strlen(where) + strlen(v.text ? v.text : "") + 1);
		sprintf(text, "%s%s", where, v.text ? v.text : "");
		msg_set_failed(m, v.outcome, v.code, text);
		free(text);
		curl_off_t after = -1; /* Retry-After in seconds, for the core's next attempt */
		if ((throttled || v.outcome == MSG_TEMPORARY) &&
		    curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
			m->retry_after_s = after > 3600 ? 3600 : (int)after;
		else if (throttled)
			m->retry_after_s = 2;
		http_verdict_clear(&v);
		req_complete(r);
		return;
	}
	if (!v.id && (h->cc.rule.has_id_re || h->cc.rule.id_ptr))
		log_warn("http_no_id",
		         "conn=%s id=%" PRId64 " problem=\"the id rule found nothing; our own id is used\"",
		         conn_name(h->c), m->id);
	char *id = v.id ? v.id : own_id(r);
	v.id = NULL;
	http_verdict_clear(&v);
	if (h->cc.parts_mode) {
		r->ids[r->part] = id;
		if (r->part + 1 < r->nparts && h->fl.state == INFLIGHT_OPEN) {
			r->part++;
			req_reset(r);
			struct errbuf err;
			if (req_start(r, &err)) {
				msg_set_failed(m, MSG_FAILED, "template", err.msg);
				req_complete(r);
			}
			return;
		}
		if (r->part + 1 < r->nparts) { /* stopping between parts: partly sent */
			char text[96];
			snprintf(text, sizeof text, "stopped after part %d of %d", r->part + 1, r->nparts);
			msg_set_failed(m, MSG_TEMPORARY, "stopped", text);
		} else {
			msg_set_sent(m, r->nparts, (const char *const *)r->ids);
		}
	} else {
		char **ids = xcalloc((size_t)r->nparts, sizeof *ids);
		for (int i = 0; i < r->nparts; i++)
			ids[i] = id;
		msg_set_sent(m, r->nparts, (const char *const *)ids);
		free(ids);
		free(id);
	}
	req_complete(r);
}

static void transfer_done(void *arg, CURL *easy, CURLcode result)
{
	struct http *h = arg;
	if (http_oauth_done(h->oauth, easy, result))
		return;
	struct http_req *r = NULL;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
	req_done(r, result);
}

static void after_actions(void *arg)
{
	struct http *h = arg;
	inflight_check(&h->fl);
}

static void http_submit(struct conn *c, struct msg *m)
{
	struct http *h = conn_driver_data(c);
	struct errbuf err = {""};
	if (h->fl.state != INFLIGHT_OPEN) {
		msg_set_failed(m, MSG_RELEASE, NULL, NULL);
		core_complete(c, m);
		return;
	}
	struct http_req *r = xcalloc(1, sizeof *r);
	r->h = h;
	sbuf_init(&r->resp);
	if (h->cc.parts_mode) {
		if (msg_sms_split(m, SMS_LANGS_NONE, (unsigned)m->id, &r->split, &err) < 0) {
			req_free(r);
			inflight_fail_now(&h->fl, m, MSG_FAILED, "encoding", err.msg);
			return;
		}
		r->nparts = (int)r->split.n_parts;
		r->ids = xcalloc((size_t)r->nparts, sizeof *r->ids);
	} else {
		int n = msg_parts(m, NULL, &err);
		if (n < 0) {
			req_free(r);
			inflight_fail_now(&h->fl, m, MSG_FAILED, "encoding", err.msg);
			return;
		}
		r->nparts = n;
	}
	inflight_add(&h->fl, &r->base, m);
	req_go(r);
}

/* ---- life cycle ---- */

static int cb_waiting(void *arg)
{
	struct http *h = arg;
	return http_cb_waiting(h->cb);
}

static void cb_stop(void *arg)
{
	struct http *h = arg;
	http_cb_stop(h->cb);
	h->cb = NULL;
}

static const struct inflight_ops inflight_ops = {
    .name = "http",
    .lost_text = "the connection stopped before the provider answered",
    .free_req = req_free_base,
    .waiting = cb_waiting,
    .stopped = cb_stop,
};

static int http_open(struct conn *c)
{
	const struct http_conf *conf = conn_conf(c);
	struct http *h = xcalloc(1, sizeof *h);
	h->c = c;
	h->conf = conf;
	struct errbuf err = {""};
	if (http_conf_compile(conf, &h->cc, &err)) {
		log_error("http_open_failed", "conn=%s error=\"%s\"", conn_name(c), err.msg);
		http_conf_compiled_free(&h->cc);
		free(h);
		return -1;
	}
	struct event_base *base = conn_event_base(c);
	inflight_init(&h->fl, c, &inflight_ops, h);
	h->cl = curl_loop_new(base, transfer_done, after_actions, h);
	h->multi = curl_loop_multi(h->cl);
	if (conf->max_connections > 0) {
		curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conf->max_connections);
		curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)conf->max_connections);
	}
	if (h->cc.auth == HTTP_AUTH_OAUTH2)
		h->oauth = http_oauth_new(conf, h->cl, conn_name(c), oauth_ready, h);
	conn_set_driver_data(c, h);
	if (conf->listen) {
		h->cb = http_cb_start(c, conf, &err);
		if (!h->cb) {
			log_error("http_open_failed", "conn=%s error=\"%s\"", conn_name(c), err.msg);
			conn_set_driver_data(c, NULL);
			http_oauth_free(h->oauth);
			curl_loop_free(h->cl);
			inflight_free(&h->fl);
			http_conf_compiled_free(&h->cc);
			free(h);
			return -1;
		}
	}
	core_conn_state(c, CONN_UP, NULL);
	return 0;
}

static void http_stop(struct conn *c)
{
	struct http *h = conn_driver_data(c);
	if (!h || h->fl.state != INFLIGHT_OPEN)
		return;
	http_cb_quiesce(h->cb);
	inflight_stop(&h->fl, h->conf->stop_grace_ms);
}

static void http_acked(struct conn *c, uint64_t token, bool committed)
{
	struct http *h = conn_driver_data(c);
	if (!h || !h->cb)
		return;
	http_cb_acked(h->cb, token, committed);
	inflight_check(&h->fl);
}

static void http_close(struct conn *c)
{
	struct http *h = conn_driver_data(c);
	if (!h)
		return;
	inflight_free(&h->fl); /* requests only if close comes without stop */
	http_cb_stop(h->cb);
	http_oauth_free(h->oauth);
	curl_loop_free(h->cl);
	http_conf_compiled_free(&h->cc);
	free(h);
	conn_set_driver_data(c, NULL);
}

const struct driver_ops http_driver = {
    .name = "http",
    .caps = CAP_SEND | CAP_RECEIVE | CAP_REPORTS,
    .settings = http_settings,
    .conf_size = sizeof(struct http_conf),
    .check = http_conf_check,
    .open = http_open,
    .submit = http_submit,
    .stop = http_stop,
    .close = http_close,
    .acked = http_acked,
};
