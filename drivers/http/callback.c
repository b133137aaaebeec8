/* callback: see callback.h.  One struct cb_req per HTTP request, created by
 * MHD's URI log callback (so that the raw query string is kept for our own
 * decoder), freed by its completion callback.  Requests handed to the core
 * wait, suspended, on a list keyed by their token. */
#include "http/callback.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/event.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "codec/utf8.h"
#include "http/auth.h"
#include "http/fields.h"
#include "http/form.h"
#include "http/jsonptr.h"
#include "http/sig.h"
#include "http/template.h"
#include "log.h"
#include "net/addr.h"
#include "net/httpd.h"
#include "sbuf.h"

enum cb_auth {
	CBA_NONE,
	CBA_TOKEN_HEADER,
	CBA_TOKEN_QUERY,
	CBA_BASIC,
	CBA_HMAC,
	CBA_TWILIO,
	CBA_VONAGE_JWT,
	CBA_VONAGE_SIG
};
static const char *const cb_auth_names[] = {"none", "token_header", "token_query", "basic",
                                            "hmac", "twilio",       "vonage_jwt",  "vonage_sig"};
#define CB_AUTH_LIST "none, token_header, token_query, basic, hmac, twilio, vonage_jwt, vonage_sig"

enum req_kind { REQ_UNKNOWN, REQ_REPORT, REQ_INBOUND };

struct cb_req {
	struct http_cb *s;
	struct MHD_Connection *mc;
	char *uri; /* raw, with the query string */
	enum req_kind kind;
	bool started, too_big;
	struct sbuf body;
	int status; /* decided answer, 0 = none yet */
	char *answer;
	uint64_t token;          /* the first of ntokens; != 0 while waiting for the core */
	size_t ntokens, pending; /* reports handed over / not acked yet */
	bool failed;             /* one of them was not committed */
	struct cb_req *next, *prev;
};

struct http_cb {
	struct conn *c;
	const struct http_conf *conf;
	enum cb_auth auth;
	int sig_method; /* vonage_sig */
	char *cert_pem, *key_pem;
	struct http_fields *report_map, *inbound_map;
	struct httpd *h; /* libmicrohttpd on the loop (net/httpd.h) */
	struct MHD_Daemon *d;
	struct cb_req *waiting; /* doubly linked */
	int nwaiting;
	uint64_t next_token;
	bool quiesced;
	uint64_t warn_window_ms;
	int warn_count;
};

static int auth_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(cb_auth_names); i++)
		if (strcmp(cb_auth_names[i], name) == 0)
			return (int)i;
	return -1;
}

/* Parses "host:port" / "[v6]:port" numerically into ss (net/addr.h). */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len, struct errbuf *err)
{
	char host[128];
	int port;
	if (net_addr_split(listen, host, sizeof host, &port, 1))
		return errbuf_set(err, "settings.listen: \"%s\" is not host:port (e.g. \"127.0.0.1:8080\")", listen);
	if (net_addr_numeric(host, port, ss, len))
		return errbuf_set(err, "settings.listen: \"%s\" is not a numeric address", host);
	return 0;
}

int http_cb_check(const struct http_conf *conf, struct errbuf *err)
{
	int a = auth_from_name(conf->callback_auth);
	if (a < 0)
		return errbuf_set(err, "settings.callback_auth: \"%s\" is not one of " CB_AUTH_LIST,
		                  conf->callback_auth);
	if (a == CBA_VONAGE_SIG && http_sig_method_of(conf->callback_sig_method) < 0)
		return errbuf_set(err,
		                  "settings.callback_sig_method: \"%s\" is not one of md5hash, md5, sha1, sha256, "
		                  "sha512",
		                  conf->callback_sig_method ? conf->callback_sig_method : "");
	if (conf->report_list && *conf->report_list && !jsonptr_valid(conf->report_list))
		return errbuf_set(err, "settings.report_list: \"%s\" is not a JSON pointer", conf->report_list);
	if (!conf->callback_tls_cert_file != !conf->callback_tls_key_file)
		return errbuf_set(err, "settings.callback_tls_cert_file: TLS on the callback listener needs both "
		                       "callback_tls_cert_file and callback_tls_key_file");
	if (a != CBA_NONE && (!conf->callback_secret || !*conf->callback_secret))
		return errbuf_set(err, "settings.callback_secret: required with callback_auth \"%s\"",
		                  conf->callback_auth);
	if (a == CBA_BASIC && !conf->callback_username)
		return errbuf_set(err, "settings.callback_username: required with callback_auth \"basic\"");
	if (conf->report_path[0] != '/' || conf->inbound_path[0] != '/')
		return errbuf_set(err, "settings.report_path / inbound_path: must start with /");
	if (strcmp(conf->report_path, conf->inbound_path) == 0)
		return errbuf_set(err, "settings.report_path and inbound_path must differ");
	if (conf->listen) {
		struct sockaddr_storage ss;
		socklen_t len;
		if (parse_listen(conf->listen, &ss, &len, err))
			return -1;
	}
	/* A listener anyone can post reports to, or one whose secret is the
	 * preset's placeholder, is refused unless the operator says so. */
	if (conf->listen && !conf->allow_insecure_callbacks) {
		if (a == CBA_NONE)
			return errbuf_set(err,
			                  "settings.callback_auth: \"none\" lets anyone post reports and texts to %s; "
			                  "choose an authentication or set allow_insecure_callbacks",
			                  conf->listen);
		if (conf->callback_secret && strstr(conf->callback_secret, "CHANGE_ME"))
			return errbuf_set(err, "settings.callback_secret: still the placeholder CHANGE_ME (or set "
			                       "allow_insecure_callbacks)");
	}
	struct http_fields *f = NULL;
	if (http_fields_compile(HTTP_FIELDS_REPORT, conf->report_fields, conf->report_state_map, "report_fields", &f,
	                        err))
		return -1;
	http_fields_free(f);
	if (http_fields_compile(HTTP_FIELDS_INBOUND, conf->inbound_fields, NULL, "inbound_fields", &f, err))
		return -1;
	http_fields_free(f);
	return 0;
}

/* ---- MHD plumbing ---- */

/* Runs MHD soon from the loop (never from inside an MHD callback). */
static void kick(struct http_cb *s)
{
	httpd_kick(s->h);
}

/* At most 20 warnings per 10 s per server: a misbehaving peer in a loop
 * does not flood the log. */
static bool warn_ok(struct http_cb *s)
{
	uint64_t now = now_mono_ms();
	if (now - s->warn_window_ms > 10000) {
		s->warn_window_ms = now;
		s->warn_count = 0;
	}
	return ++s->warn_count <= 20;
}

static enum MHD_Result respond(struct cb_req *r, int status, const char *json)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	enum MHD_Result rc = MHD_queue_response(r->mc, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* Decides the answer: status and {"error": msg} (or {"status": "stored"}). */
static void decide(struct cb_req *r, int status, const char *msg)
{
	json_t *j = status == 200 ? json_pack("{ss}", "status", msg) : json_pack("{ss}", "error", msg);
	free(r->answer);
	r->answer = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	r->status = status;
	if (status >= 400 && status != 503 && warn_ok(r->s)) {
		char q[300];
		log_warn("http_callback_refused", "conn=%s path=%s status=%d error=%s", conn_name(r->s->c),
		         r->kind == REQ_REPORT    ? "report"
		         : r->kind == REQ_INBOUND ? "inbound"
		                                  : "other",
		         status, log_quote(msg, q, sizeof q));
	}
}

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *mc)
{
	struct cb_req *r = xcalloc(1, sizeof *r);
	r->s = cls;
	r->mc = mc;
	r->uri = xstrdup(uri ? uri : "");
	sbuf_init(&r->body);
	return r;
}

static void unlink_waiting(struct cb_req *r)
{
	if (!r->token)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		r->s->waiting = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
	r->token = 0;
	r->ntokens = r->pending = 0;
	r->s->nwaiting--;
}

static void completed_cb(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct cb_req *r = *con_cls;
	if (!r)
		return;
	unlink_waiting(r);
	sbuf_free(&r->body);
	free(r->answer);
	free(r->uri);
	free(r);
	*con_cls = NULL;
}

static const char *header(struct cb_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND, name);
}

/* The URL the provider called, for Twilio: callback_public_url (or the
 * scheme and Host header) followed by the path and query as received. */
static char *called_url(struct cb_req *r)
{
	const struct http_conf *conf = r->s->conf;
	struct sbuf u;
	sbuf_init(&u);
	if (conf->callback_public_url) {
		size_t n = strlen(conf->callback_public_url);
		while (n && conf->callback_public_url[n - 1] == '/')
			n--;
		sbuf_add(&u, conf->callback_public_url, n);
	} else {
		const char *host = header(r, MHD_HTTP_HEADER_HOST);
		sbuf_adds(&u, r->s->cert_pem ? "https://" : "http://");
		sbuf_adds(&u, host ? host : "");
	}
	sbuf_adds(&u, r->uri);
	sbuf_add(&u, "", 1);
	return u.buf;
}

/* qs: the raw query string; form: the decoded form body (may be empty). */
static int check_auth(struct cb_req *r, const char *qs, const struct http_form *query, const struct http_form *form)
{
	const struct http_conf *conf = r->s->conf;
	const char *body = r->body.buf ? r->body.buf : "";
	switch (r->s->auth) {
	case CBA_NONE:
		return 0;
	case CBA_TOKEN_HEADER:
		return http_auth_token(header(r, conf->callback_header ? conf->callback_header : "X-Callback-Token"),
		                       conf->callback_secret);
	case CBA_TOKEN_QUERY:
		return http_auth_token(http_form_get(query, conf->callback_param ? conf->callback_param : "token"),
		                       conf->callback_secret);
	case CBA_BASIC:
		return http_auth_basic(header(r, MHD_HTTP_HEADER_AUTHORIZATION), conf->callback_username,
		                       conf->callback_secret);
	case CBA_HMAC:
		return http_sig_hmac(conf->callback_secret, qs, body, r->body.len,
		                     header(r, conf->callback_header ? conf->callback_header : "X-Signature"));
	case CBA_TWILIO: {
		char *url = called_url(r);
		int a =
		    http_sig_twilio(conf->callback_secret, url, form,
		                    header(r, conf->callback_header ? conf->callback_header : "X-Twilio-Signature"));
		free(url);
		return a;
	}
	case CBA_VONAGE_JWT:
		return http_sig_vonage_jwt(conf->callback_secret, header(r, MHD_HTTP_HEADER_AUTHORIZATION), body,
		                           r->body.len, now_wall_ms() / 1000, (long)conf->callback_max_age_s);
	case CBA_VONAGE_SIG: {
		const char *sig = http_form_get(form, "sig");
		return http_sig_vonage(conf->callback_secret, (enum http_sig_method)r->s->sig_method, query, form,
		                       sig ? sig : http_form_get(query, "sig"));
	}
	}
	return 403;
}

/* The raw request, kept as a report's text: the query fields re-encoded
 * (without the shared token, which is a secret), then the body. */
static void raw_text(struct http_cb *s, const struct http_form *query, const char *body, size_t len, struct sbuf *raw)
{
	struct errbuf err;
	const char *secret_param =
	    s->auth == CBA_TOKEN_QUERY ? (s->conf->callback_param ? s->conf->callback_param : "token") : NULL;
	for (size_t i = 0; query && i < query->n; i++) {
		if (secret_param && strcmp(query->kv[i].name, secret_param) == 0)
			continue;
		if (raw->len)
			sbuf_add(raw, "&", 1);
		if (http_filter_apply(HF_URL, query->kv[i].name, strlen(query->kv[i].name), raw, &err) ||
		    (sbuf_add(raw, "=", 1),
		     http_filter_apply(HF_URL, query->kv[i].value, strlen(query->kv[i].value), raw, &err)))
			break; /* the url filter cannot fail */
	}
	if (len) {
		if (raw->len)
			sbuf_add(raw, " ", 1);
		sbuf_add(raw, body, len);
	}
}

/* Maps a request that carries a list of reports (report_list, or a JSON
 * array as the body) onto reports.  All of them or none: one that does not
 * map refuses the request.  Returns the number built into *out, or -1 with
 * err set. */
static long map_report_list(struct http_cb *s, const struct http_form *query, const json_t *json, struct report ***out,
                            struct errbuf *err)
{
	const char *ptr = s->conf->report_list ? s->conf->report_list : "";
	const json_t *list = json ? (*ptr ? jsonptr_get(json, ptr) : json) : NULL;
	if (!json_is_array(list)) {
		errbuf_set(err, "report_list: %s is not an array of reports", *ptr ? ptr : "the body");
		return -1;
	}
	size_t n = json_array_size(list);
	if (n == 0 || n > HTTP_CB_MAX_REPORTS) {
		errbuf_set(err, "report_list: %zu reports (1 to %d in one request)", n, HTTP_CB_MAX_REPORTS);
		return -1;
	}
	struct report **reps = xcalloc(n, sizeof *reps);
	for (size_t i = 0; i < n; i++) {
		const json_t *item = json_array_get(list, i);
		char *text = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
		struct http_cb_input in = {query, NULL, item, text ? text : "", text ? strlen(text) : 0};
		struct errbuf e = {""};
		int rc = json_is_object(item) ? http_fields_report(s->report_map, &in, &reps[i], &e)
		                              : (errbuf_set(&e, "not an object"), -1);
		free(text);
		if (rc) {
			errbuf_set(err, "report %zu of %zu: %s", i + 1, n, e.msg);
			for (size_t k = 0; k < i; k++)
				report_free(reps[k]);
			free(reps);
			return -1;
		}
	}
	*out = reps;
	return (long)n;
}

/* Puts r on the waiting list with n tokens and suspends its connection. */
static void wait_for_core(struct cb_req *r, size_t n)
{
	struct http_cb *s = r->s;
	r->token = s->next_token + 1;
	s->next_token += n;
	r->ntokens = r->pending = n;
	r->failed = false;
	r->next = s->waiting;
	if (s->waiting)
		s->waiting->prev = r;
	s->waiting = r;
	s->nwaiting++;
	MHD_suspend_connection(r->mc);
}

/* Handles a complete request: decode, authenticate, map, hand to the core
 * (then the connection is suspended) or decide an error answer. */
static void process(struct cb_req *r)
{
	struct http_cb *s = r->s;
	struct errbuf err = {""};
	struct http_form query = {0}, form = {0};
	json_t *json = NULL;
	const char *qs = strchr(r->uri, '?');
	qs = qs ? qs + 1 : "";
	const char *body = r->body.buf ? r->body.buf : "";
	int bad = 0; /* a decoding error, answered after authentication */
	const char *bad_msg = NULL;
	char jmsg[240];
	if (http_form_parse(qs, strlen(qs), &query, &err)) {
		decide(r, 400, "the query string is not valid form encoding");
		goto out;
	}
	if (r->body.len) {
		char mt[128];
		http_form_media_type(header(r, MHD_HTTP_HEADER_CONTENT_TYPE), mt, sizeof mt);
		size_t ml = strlen(mt);
		if (strcmp(mt, "application/json") == 0 || (ml > 5 && strcmp(mt + ml - 5, "+json") == 0)) {
			json_error_t jerr;
			json = json_loadb(body, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
			if (!json) {
				snprintf(jmsg, sizeof jmsg, "broken JSON at line %d column %d: %.160s", jerr.line,
				         jerr.column, jerr.text);
				bad = 400, bad_msg = jmsg;
			}
		} else if (strcmp(mt, "application/x-www-form-urlencoded") == 0) {
			if (http_form_parse(body, r->body.len, &form, &err))
				bad = 400, bad_msg = "the body is not valid form encoding";
		} else {
			bad = 415,
			bad_msg = "Content-Type must be application/json or application/x-www-form-urlencoded";
		}
	}
	int a = check_auth(r, qs, &query, &form);
	if (a) {
		decide(r, a, a == 401 ? "authentication required" : "authentication failed");
		goto out;
	}
	if (bad) {
		decide(r, bad, bad_msg);
		goto out;
	}
	if (utf8_validate(body, r->body.len, NULL) || utf8_validate(r->uri, strlen(r->uri), NULL)) {
		decide(r, 400, "the request is not valid UTF-8");
		goto out;
	}
	/* What the signature does not cover is not read: a Vonage JWT signs the
	 * body only, so its query string is ignored. */
	const struct http_form *q = s->auth == CBA_VONAGE_JWT ? NULL : &query;
	if (r->kind == REQ_REPORT && (s->conf->report_list || json_is_array(json))) {
		struct report **reps = NULL;
		long n = map_report_list(s, q, json, &reps, &err);
		if (n < 0) {
			decide(r, 400, err.msg);
			goto out;
		}
		wait_for_core(r, (size_t)n);
		log_debug("http_reports", "conn=%s count=%ld token=%" PRIu64, conn_name(s->c), n, r->token);
		for (long i = 0; i < n; i++)
			core_report(s->c, reps[i], r->token + (uint64_t)i);
		free(reps);
		goto out;
	}
	struct sbuf raw;
	sbuf_init(&raw);
	raw_text(s, q, body, r->body.len, &raw);
	struct http_cb_input in = {q, &form, json, raw.buf ? raw.buf : "", raw.len};
	struct report *rep = NULL;
	struct inbound *ib = NULL;
	int rc = r->kind == REQ_REPORT ? http_fields_report(s->report_map, &in, &rep, &err)
	                               : http_fields_inbound(s->inbound_map, &in, &ib, &err);
	sbuf_free(&raw);
	if (rc) {
		decide(r, 400, err.msg);
		goto out;
	}
	wait_for_core(r, 1);
	if (rep) {
		char q1[300], q2[64];
		log_debug("http_report", "conn=%s remote_id=%s state=%s token=%" PRIu64, conn_name(s->c),
		          log_quote(rep->remote_id, q1, sizeof q1), log_quote(rep->state, q2, sizeof q2), r->token);
		core_report(s->c, rep, r->token);
	} else {
		log_debug("http_inbound", "conn=%s token=%" PRIu64, conn_name(s->c), r->token);
		core_received(s->c, ib, r->token);
	}
out:
	http_form_free(&query);
	http_form_free(&form);
	json_decref(json);
}

static enum MHD_Result ahc(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_cb *s = cls;
	struct cb_req *r = *con_cls;
	if (!r) /* the URI callback always runs first; be safe anyway */
		return MHD_NO;
	if (!r->started) {
		r->started = true;
		if (strcmp(url, s->conf->report_path) == 0)
			r->kind = REQ_REPORT;
		else if (strcmp(url, s->conf->inbound_path) == 0)
			r->kind = REQ_INBOUND;
		if (r->kind == REQ_UNKNOWN) {
			decide(r, 404, "no such path");
			return respond(r, r->status, r->answer);
		}
		if (strcmp(method, "GET") && strcmp(method, "POST")) {
			decide(r, 405, "only GET and POST are accepted");
			return respond(r, r->status, r->answer);
		}
		const char *cl = header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > HTTP_CB_MAX_BODY) {
			decide(r, 413, "the body is larger than 65536 bytes");
			return respond(r, r->status, r->answer);
		}
		if (s->quiesced) {
			decide(r, 503, "the connection is stopping, try again later");
			return respond(r, r->status, r->answer);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!r->too_big && r->body.len + *upload_data_size > HTTP_CB_MAX_BODY) {
			r->too_big = true;
			sbuf_free(&r->body);
			sbuf_init(&r->body);
			decide(r, 413, "the body is larger than 65536 bytes");
			*upload_data_size = 0;
			return respond(r, r->status, r->answer);
		}
		if (!r->too_big)
			sbuf_add(&r->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->status) /* decided before, or answered after the commit */
		return respond(r, r->status, r->answer);
	if (r->token) /* still waiting (spurious call) */
		return MHD_YES;
	if (s->quiesced) {
		decide(r, 503, "the connection is stopping, try again later");
		return respond(r, r->status, r->answer);
	}
	process(r);
	if (r->status)
		return respond(r, r->status, r->answer);
	return MHD_YES; /* suspended until acked */
}

static void free_pems(struct http_cb *s)
{
	if (s->key_pem)
		OPENSSL_cleanse(s->key_pem, strlen(s->key_pem));
	free(s->cert_pem);
	free(s->key_pem);
}

struct http_cb *http_cb_start(struct conn *c, const struct http_conf *conf, struct errbuf *err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (parse_listen(conf->listen, &ss, &sl, err))
		return NULL;
	struct http_cb *s = xcalloc(1, sizeof *s);
	s->c = c;
	s->conf = conf;
	s->auth = (enum cb_auth)auth_from_name(conf->callback_auth);
	s->sig_method = http_sig_method_of(conf->callback_sig_method);
	if (conf->callback_tls_cert_file) {
		s->cert_pem = httpd_read_pem(conf->callback_tls_cert_file);
		s->key_pem = httpd_read_pem(conf->callback_tls_key_file);
		if (!s->cert_pem || !s->key_pem) {
			errbuf_set(err, "cannot read %s",
			           !s->cert_pem ? conf->callback_tls_cert_file : conf->callback_tls_key_file);
			goto fail;
		}
	}
	if (http_fields_compile(HTTP_FIELDS_REPORT, conf->report_fields, conf->report_state_map, "report_fields",
	                        &s->report_map, err) ||
	    http_fields_compile(HTTP_FIELDS_INBOUND, conf->inbound_fields, NULL, "inbound_fields", &s->inbound_map,
	                        err))
		goto fail;
	struct httpd_opts o = {
	    .name = conn_name(c),
	    .addr = (struct sockaddr *)&ss,
	    .tls = s->cert_pem != NULL,
	    .cert_pem = s->cert_pem,
	    .key_pem = s->key_pem,
	    .max_connections = 256,
	    .timeout_s = 30,
	    .handler = ahc,
	    .completed = completed_cb,
	    .uri_log = uri_cb,
	    .cls = s,
	};
	char why[200];
	s->h = httpd_start(conn_event_base(c), &o, why, sizeof why);
	if (!s->h) {
		errbuf_set(err, "cannot listen on %s: %s", conf->listen, why);
		goto fail;
	}
	s->d = httpd_mhd(s->h);
	log_info("http_listen", "conn=%s listen=%s tls=%s report_path=%s inbound_path=%s auth=%s", conn_name(c),
	         conf->listen, s->cert_pem ? "yes" : "no", conf->report_path, conf->inbound_path, conf->callback_auth);
	return s;
fail:
	httpd_free(s->h);
	http_fields_free(s->report_map);
	http_fields_free(s->inbound_map);
	free_pems(s);
	free(s);
	return NULL;
}

void http_cb_acked(struct http_cb *s, uint64_t token, bool committed)
{
	for (struct cb_req *r = s->waiting; r; r = r->next) {
		if (token < r->token || token - r->token >= r->ntokens)
			continue;
		log_debug("http_callback_acked", "conn=%s token=%" PRIu64 " committed=%d", conn_name(s->c), token,
		          (int)committed);
		r->failed |= !committed;
		if (--r->pending > 0)
			return;
		/* 200 only when every report of the request is stored. */
		bool failed = r->failed;
		unlink_waiting(r);
		if (!failed)
			decide(r, 200, "stored");
		else
			decide(r, 503, "could not store, try again later");
		MHD_resume_connection(r->mc);
		kick(s);
		return;
	}
}

int http_cb_waiting(const struct http_cb *s)
{
	return s ? s->nwaiting : 0;
}

void http_cb_quiesce(struct http_cb *s)
{
	if (s)
		s->quiesced = true;
}

void http_cb_stop(struct http_cb *s)
{
	if (!s)
		return;
	s->quiesced = true;
	while (s->waiting) {
		struct cb_req *r = s->waiting;
		unlink_waiting(r);
		decide(r, 503, "the connection is stopping, try again later");
		MHD_resume_connection(r->mc);
	}
	/* Lets MHD take the resumed connections back and send what it can. */
	for (int i = 0; i < 3; i++)
		httpd_run(s->h);
	httpd_free(s->h);
	http_fields_free(s->report_map);
	http_fields_free(s->inbound_map);
	free_pems(s);
	free(s);
}
