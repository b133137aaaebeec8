/* oauth: see oauth.h.  One fetch at a time; the token and its deadlines in
 * monotonic milliseconds. */
#include "http/oauth.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/easy.h"
#include "http/rule.h"
#include "http/template.h"
#include "log.h"
#include "sbuf.h"

#define OAUTH_MAX_BODY (64 * 1024)

struct http_oauth {
	const struct http_conf *conf;
	struct curl_loop *cl;
	char *name;
	http_oauth_ready_fn ready;
	void *arg;
	char *token;                     /* NULL = none */
	uint64_t expires_ms, refresh_ms; /* now_mono_ms() deadlines of token */
	CURL *easy;                      /* the fetch in flight, or NULL */
	struct curl_slist *hdrs;
	struct sbuf resp;
	char errbuf[CURL_ERROR_SIZE];
	char last_error[256];
	uint64_t failed_ms; /* when the last fetch failed; 0 = it did not */
};

int http_oauth_check(const struct http_conf *conf, struct errbuf *err)
{
	if (!conf->oauth_token_url || !conf->oauth_client_id || !conf->oauth_client_secret)
		return errbuf_set(err, "settings: auth \"oauth2\" needs oauth_token_url, oauth_client_id and "
		                       "oauth_client_secret");
	if (strncmp(conf->oauth_token_url, "https://", 8) && strncmp(conf->oauth_token_url, "http://", 7))
		return errbuf_set(err, "settings.oauth_token_url: must start with http:// or https://");
	if (strcmp(conf->oauth_client_auth, "basic") && strcmp(conf->oauth_client_auth, "body"))
		return errbuf_set(err, "settings.oauth_client_auth: \"%s\" is not basic or body",
		                  conf->oauth_client_auth);
	if (strstr(conf->oauth_client_secret, "CHANGE_ME"))
		return errbuf_set(err, "settings.oauth_client_secret: still the placeholder CHANGE_ME");
	return 0;
}

int http_oauth_parse(long status, const char *body, size_t len, char **token, long *expires_in_s, struct errbuf *err)
{
	json_error_t je;
	json_t *j = json_loadb(body, len, 0, &je);
	int rc = -1;
	if (status < 200 || status > 299) {
		const char *e = json_string_value(json_object_get(j, "error"));
		const char *d = json_string_value(json_object_get(j, "error_description"));
		char *ex = http_excerpt(body, len, 120);
		errbuf_set(err, "token endpoint answered %ld%s%.80s%s%.120s", status,
		           e     ? ": "
		           : *ex ? ": "
		                 : "",
		           e ? e : ex, d ? " - " : "", d ? d : "");
		free(ex);
		goto out;
	}
	if (!json_is_object(j)) {
		errbuf_set(err, "token endpoint: the answer is not a JSON object");
		goto out;
	}
	const char *t = json_string_value(json_object_get(j, "access_token"));
	const char *type = json_string_value(json_object_get(j, "token_type"));
	json_t *exp = json_object_get(j, "expires_in");
	if (!t || !*t || strlen(t) > 8192) {
		errbuf_set(err, "token endpoint: no access_token in the answer");
		goto out;
	}
	for (const char *p = t; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7F) {
			errbuf_set(err, "token endpoint: the access_token has control characters or spaces");
			goto out;
		}
	if (type && strcasecmp(type, "bearer") != 0) {
		errbuf_set(err, "token endpoint: token_type \"%.40s\" is not Bearer", type);
		goto out;
	}
	long e = 3600;
	if (json_is_integer(exp))
		e = (long)json_integer_value(exp);
	else if (json_is_string(exp)) /* some servers quote it */
		e = strtol(json_string_value(exp), NULL, 10);
	else if (exp && !json_is_null(exp)) {
		errbuf_set(err, "token endpoint: expires_in is not a number");
		goto out;
	}
	if (e <= 0 || e > 365L * 86400) {
		errbuf_set(err, "token endpoint: expires_in %ld is out of range", e);
		goto out;
	}
	*token = xstrdup(t);
	*expires_in_s = e;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_oauth *o = arg;
	if (o->resp.len + size * n > OAUTH_MAX_BODY)
		return 0; /* curl fails the transfer */
	sbuf_add(&o->resp, data, size * n);
	return size * n;
}

static void forget_token(struct http_oauth *o)
{
	if (o->token) {
		OPENSSL_cleanse(o->token, strlen(o->token));
		free(o->token);
		o->token = NULL;
	}
}

static void fetch_cleanup(struct http_oauth *o)
{
	if (o->easy) {
		curl_multi_remove_handle(curl_loop_multi(o->cl), o->easy);
		curl_easy_cleanup(o->easy);
		o->easy = NULL;
	}
	curl_slist_free_all(o->hdrs);
	o->hdrs = NULL;
	sbuf_reset(&o->resp);
	o->errbuf[0] = 0;
}

static void fetch_start(struct http_oauth *o)
{
	const struct http_conf *conf = o->conf;
	struct sbuf form;
	sbuf_init(&form);
	struct errbuf err;
	sbuf_adds(&form, "grant_type=client_credentials");
	if (conf->oauth_scope) {
		sbuf_adds(&form, "&scope=");
		(void)!http_filter_apply(HF_URL, conf->oauth_scope, strlen(conf->oauth_scope), &form, &err);
	}
	bool in_body = strcmp(conf->oauth_client_auth, "body") == 0;
	if (in_body) {
		sbuf_adds(&form, "&client_id=");
		(void)!http_filter_apply(HF_URL, conf->oauth_client_id, strlen(conf->oauth_client_id), &form, &err);
		sbuf_adds(&form, "&client_secret=");
		(void)!http_filter_apply(HF_URL, conf->oauth_client_secret, strlen(conf->oauth_client_secret), &form,
		                         &err);
	}
	o->hdrs = curl_slist_append(o->hdrs, "Accept: application/json");
	o->hdrs = curl_slist_append(o->hdrs, "Expect:");
	CURL *e = http_easy_new(conf, conf->oauth_token_url, o->hdrs, o, o->errbuf, write_cb, o);
	o->easy = e;
	if (!in_body)
		http_easy_basic(e, conf->oauth_client_id, conf->oauth_client_secret);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)form.len);
	curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, form.buf ? form.buf : "");
	OPENSSL_cleanse(form.buf ? form.buf : (char *)"", form.len);
	sbuf_free(&form);
	char why[CURL_ERROR_SIZE];
	if (curl_loop_add(o->cl, e, why, sizeof why)) {
		/* reported as a failed fetch, from the caller's next look */
		snprintf(o->last_error, sizeof o->last_error, "token request: %.200s", why);
		fetch_cleanup(o);
		o->failed_ms = now_mono_ms();
		return;
	}
	log_debug("http_oauth_fetch", "conn=%s url=%s", o->name, conf->oauth_token_url);
}

struct http_oauth *http_oauth_new(const struct http_conf *conf, struct curl_loop *cl, const char *conn_name,
                                  http_oauth_ready_fn ready, void *arg)
{
	struct http_oauth *o = xcalloc(1, sizeof *o);
	o->conf = conf;
	o->cl = cl;
	o->name = xstrdup(conn_name);
	o->ready = ready;
	o->arg = arg;
	sbuf_init(&o->resp);
	return o;
}

void http_oauth_free(struct http_oauth *o)
{
	if (!o)
		return;
	fetch_cleanup(o);
	sbuf_free(&o->resp);
	forget_token(o);
	free(o->name);
	free(o);
}

enum http_oauth_status http_oauth_token(struct http_oauth *o, const char **token, const char **error)
{
	uint64_t now = now_mono_ms();
	*token = NULL;
	if (o->token && now >= o->expires_ms)
		forget_token(o);
	bool due = !o->token || now >= o->refresh_ms;
	if (due && !o->easy) {
		if (!o->token && o->failed_ms && now - o->failed_ms < OAUTH_RETRY_MS) {
			if (error)
				*error = o->last_error;
			return OAUTH_FAILED;
		}
		fetch_start(o);
		if (!o->easy && !o->token) {
			if (error)
				*error = o->last_error;
			return OAUTH_FAILED;
		}
	}
	if (o->token) {
		*token = o->token;
		return OAUTH_READY;
	}
	return OAUTH_PENDING;
}

void http_oauth_invalidate(struct http_oauth *o, const char *token)
{
	if (o->token && token && strcmp(o->token, token) == 0) {
		log_info("http_oauth_refused",
		         "conn=%s problem=\"the provider answered 401: the token is fetched anew\"", o->name);
		forget_token(o);
	}
}

bool http_oauth_done(struct http_oauth *o, CURL *easy, CURLcode result)
{
	if (!o || easy != o->easy)
		return false;
	struct errbuf err = {""};
	char *tok = NULL;
	long life = 0;
	if (result != CURLE_OK) {
		errbuf_set(&err, "token request: %s", o->errbuf[0] ? o->errbuf : curl_easy_strerror(result));
	} else {
		long status = 0;
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		sbuf_add(&o->resp, "", 0);
		(void)!http_oauth_parse(status, o->resp.buf ? o->resp.buf : "", o->resp.len, &tok, &life, &err);
	}
	fetch_cleanup(o);
	if (tok) {
		uint64_t now = now_mono_ms();
		forget_token(o);
		o->token = tok;
		long margin = life / 2 < 60 ? life / 2 : 60; /* refresh in the last minute, or last half */
		o->expires_ms = now + (uint64_t)life * 1000 - (life > 10 ? 5000 : 0);
		o->refresh_ms = now + (uint64_t)(life - margin) * 1000;
		o->failed_ms = 0;
		log_info("http_oauth_token", "conn=%s expires_in_s=%ld", o->name, life);
		o->ready(o->arg, o->token, NULL);
	} else {
		char q[300];
		snprintf(o->last_error, sizeof o->last_error, "%s", err.msg);
		o->failed_ms = now_mono_ms();
		log_warn("http_oauth_failed", "conn=%s error=%s", o->name, log_quote(err.msg, q, sizeof q));
		o->ready(o->arg, o->token, o->token ? NULL : o->last_error);
	}
	return true;
}
