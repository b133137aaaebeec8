/*
 * api_mhd: the requests of the http-api connection as libmicrohttpd hands
 * them: the request state machine (READING -> AUTH -> READING -> SUBMIT or
 * QUERY -> DONE, see api.c), credentials checked before the body is read,
 * the core asked through pends keyed by token, and the answer written once
 * decided.  The connection's side (listening, the core's answers, stop) is
 * api.c.
 */
#include "http/api.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http/api_json.h"
#include "log.h"
#include "net/httpd.h"
#include "util.h"

static const char *const phase_names[] = {"reading", "auth", "submit", "query", "done"};

/* At most 20 warnings per 10 s: a client in a loop does not flood the log. */
static bool warn_ok(struct api *a)
{
	uint64_t now = now_mono_ms();
	if (now - a->warn_window_ms > 10000) {
		a->warn_window_ms = now;
		a->warn_count = 0;
	}
	return ++a->warn_count <= 20;
}

static uint64_t pend_add(struct api *a, struct req *r, int item)
{
	struct pend *p = xcalloc(1, sizeof *p);
	p->token = ++a->next_token;
	p->r = r;
	p->item = item;
	unsigned b = (unsigned)(p->token % PEND_BUCKETS);
	p->hnext = a->pends[b];
	a->pends[b] = p;
	a->npend++;
	r->npend++;
	return p->token;
}

/* Unlinks the pend of token; the caller frees it. */
struct pend *http_api_mhd_pend_take(struct api *a, uint64_t token)
{
	for (struct pend **pp = &a->pends[token % PEND_BUCKETS]; *pp; pp = &(*pp)->hnext)
		if ((*pp)->token == token) {
			struct pend *p = *pp;
			*pp = p->hnext;
			a->npend--;
			p->r->npend--;
			return p;
		}
	return NULL;
}

/* ---- requests ---- */

void http_api_mhd_req_set(struct req *r, enum req_phase to, const char *why)
{
	log_debug("http_api_request", "conn=%s req=%" PRIu64 " from=%s to=%s why=\"%s\"", http_api_cname(r->a), r->id,
	          phase_names[r->phase], phase_names[to], why);
	r->phase = to;
}

void http_api_mhd_req_free(struct req *r)
{
	struct api *a = r->a;
	if (r->prev)
		r->prev->next = r->next;
	else
		a->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	a->nreqs--;
	sbuf_free(&r->body);
	http_api_request_free(&r->rq);
	free(r->account);
	free(r->answer);
	free(r->uri);
	free(r);
}

/* Frees r when neither MHD nor the core needs it any more. */
void http_api_mhd_release(struct req *r)
{
	if (!r->mc && r->npend == 0)
		http_api_mhd_req_free(r);
}

/* Decides the http_api_mhd_answer (body is taken over) and resumes the connection if it
 * waits. */
void http_api_mhd_answer(struct req *r, int status, char *body)
{
	free(r->answer);
	r->answer = body;
	r->status = status;
	http_api_mhd_req_set(r, RP_DONE, "answered");
	if (r->suspended && r->mc) {
		r->suspended = false;
		MHD_resume_connection(r->mc);
		httpd_kick(r->a->h);
	}
}

void http_api_mhd_answer_error(struct req *r, int status, const char *msg, const char *field)
{
	if (status >= 400 && status != 503 && warn_ok(r->a)) {
		char q1[300], q2[300];
		log_info("http_api_refused", "conn=%s req=%" PRIu64 " peer=%s account=%s path=%s status=%d error=%s",
		         http_api_cname(r->a), r->id, r->peer, r->account ? r->account : "-",
		         log_quote(r->uri, q1, sizeof q1), status, log_quote(msg, q2, sizeof q2));
	}
	if (status == 401)
		r->www_authenticate = true;
	if (status == 503 && !r->retry_after)
		r->retry_after = RETRY_AFTER_TEMPORARY_S;
	http_api_mhd_answer(r, status, http_api_error_json(msg, field));
}

static enum MHD_Result respond(struct req *r)
{
	struct api *a = r->a;
	const char *body = r->answer ? r->answer : "{}";
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (r->www_authenticate)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"smspool\"");
	if (r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->retry_after) {
		char ra[16];
		snprintf(ra, sizeof ra, "%d", r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (r->location[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
	if (a->stopping)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result rc = MHD_queue_response(r->mc, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

void *http_api_mhd_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
	struct api *a = cls;
	struct req *r = xcalloc(1, sizeof *r);
	r->a = a;
	r->id = ++a->next_req_id;
	r->mc = mc;
	r->uri = xstrdup(uri ? uri : "");
	sbuf_init(&r->body);
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->peer, sizeof r->peer);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->peer, sizeof r->peer);
	r->next = a->reqs;
	if (a->reqs)
		a->reqs->prev = r;
	a->reqs = r;
	a->nreqs++;
	return r;
}

void http_api_mhd_completed(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;
	if (!r)
		return;
	*con_cls = NULL;
	r->mc = NULL;
	r->suspended = false;
	if (r->npend)
		log_debug("http_api_client_gone", "conn=%s req=%" PRIu64 " waiting=%d", http_api_cname(r->a), r->id,
		          r->npend);
	http_api_mhd_release(r);
}

/* The answer to a POST once every message is decided. */
void http_api_mhd_finish_post(struct req *r)
{
	int status;
	char *body = http_api_result_json(&r->rq, &status);
	for (int i = 0; i < r->rq.n; i++) {
		int s = r->rq.items[i].err.status;
		if (s == 429 && r->retry_after < RETRY_AFTER_THROTTLED_S)
			r->retry_after = RETRY_AFTER_THROTTLED_S;
		if (s == 503 && r->retry_after < RETRY_AFTER_TEMPORARY_S)
			r->retry_after = RETRY_AFTER_TEMPORARY_S;
	}
	if (!r->rq.batch && status == 201)
		snprintf(r->location, sizeof r->location, "%s/messages/%" PRId64, r->a->conf->base_path,
		         r->rq.items[0].id);
	if (!r->rq.batch && status >= 400 && status != 503 && warn_ok(r->a)) {
		char q[300];
		log_info("http_api_refused", "conn=%s req=%" PRIu64 " peer=%s account=%s status=%d error=%s",
		         http_api_cname(r->a), r->id, r->peer, r->account ? r->account : "-", status,
		         log_quote(r->rq.items[0].err.msg, q, sizeof q));
	}
	http_api_mhd_answer(r, status, body);
}

/* The request is authenticated as account: hand it to the core. */
static void authorized(struct req *r, const char *account, double throughput)
{
	struct api *a = r->a;
	if (r->route == API_ROUTE_MESSAGE) {
		http_api_mhd_req_set(r, RP_QUERY, "authenticated");
		uint64_t token = pend_add(a, r, -1);
		core_query(a->c, account, r->msg_id, token);
		return;
	}
	struct http_api_error err = {0};
	const char *ct =
	    r->mc ? MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE) : NULL;
	if (http_api_parse(ct, r->body.buf ? r->body.buf : "", r->body.len, &r->rq, &err)) {
		http_api_mhd_answer_error(r, err.status, err.msg, err.field);
		return;
	}
	http_api_mhd_req_set(r, RP_SUBMIT, "parsed");
	for (int i = 0; i < r->rq.n; i++) {
		struct http_api_item *it = &r->rq.items[i];
		if (!it->sub)
			continue;
		int wait = core_account_take(a->c, account, throughput, 1);
		if (wait) {
			it->err.status = 429;
			snprintf(it->err.msg, sizeof it->err.msg,
			         "over the account's throughput (%g messages per second): try again in %d s",
			         throughput, wait);
			if (r->retry_after < wait)
				r->retry_after = wait;
			submission_free(it->sub);
			it->sub = NULL;
			continue;
		}
		struct submission *s = it->sub;
		it->sub = NULL;
		s->account = xstrdup(account);
		uint64_t token = pend_add(a, r, i);
		core_submit(a->c, s, token);
	}
	if (r->npend == 0)
		http_api_mhd_finish_post(r);
}

/* The login is good: the body may be read now. */
void http_api_mhd_set_account(struct req *r, const char *account, double throughput)
{
	free(r->account);
	r->account = xstrdup(account);
	r->throughput = throughput;
	r->authed = true;
}

/* The headers are in: authenticate the request (cache or core) before its
 * body is read.  Either r->authed is set, or an answer is decided, or the
 * core was asked (phase AUTH) and the caller suspends the connection. */
static void begin(struct req *r)
{
	struct api *a = r->a;
	char *user, *pass;
	const char *authz = MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	switch (http_api_basic(authz, &user, &pass)) {
	case API_CRED_OK:
		break;
	case API_CRED_MISSING:
		http_api_mhd_answer_error(
		    r, 401, "authentication required: HTTP basic with the account's system_id and password", NULL);
		return;
	case API_CRED_BEARER:
		http_api_mhd_answer_error(
		    r, 401,
		    "Bearer tokens are not supported: use HTTP basic with the account's system_id and "
		    "password",
		    NULL);
		return;
	case API_CRED_BAD:
		http_api_mhd_answer_error(
		    r, 401, "unreadable credentials: use HTTP basic with the account's system_id and password", NULL);
		return;
	}
	http_api_cache_key(user, pass, r->peer, r->key);
	const struct http_api_cache_entry *hit = http_api_cache_get(a->cache, r->key, now_mono_ms());
	if (hit) {
		http_api_secret_free(pass);
		free(user);
		http_api_mhd_set_account(r, hit->account, hit->throughput);
		return;
	}
	http_api_mhd_req_set(r, RP_AUTH, "credentials");
	uint64_t token = pend_add(a, r, -1);
	core_authenticate(a->c, user, pass, r->peer[0] ? r->peer : NULL, token);
	http_api_secret_free(pass);
	free(user);
}

enum MHD_Result http_api_mhd_handler(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                                     const char *version, const char *upload_data, size_t *upload_data_size,
                                     void **con_cls)
{
	struct api *a = cls;
	struct req *r = *con_cls;
	if (!r) /* the URI callback always runs first */
		return MHD_NO;
	if (!r->started) {
		r->started = true;
		char *path = xstrdup(r->uri);
		path[strcspn(path, "?")] = 0;
		r->route = http_api_route(a->conf->base_path, path, &r->msg_id);
		free(path);
		if (r->route == API_ROUTE_NONE) {
			http_api_mhd_answer_error(
			    r, 404, "no such path (the API has POST {base}/messages and GET {base}/messages/{id})",
			    NULL);
			return respond(r);
		}
		const char *want = r->route == API_ROUTE_MESSAGES ? "POST" : "GET";
		if (strcmp(method, want) != 0) {
			char m[160];
			snprintf(m, sizeof m, "method %.40s is not allowed here (use %s)", method, want);
			r->allow = want;
			http_api_mhd_answer_error(r, 405, m, NULL);
			return respond(r);
		}
		const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > (unsigned long long)a->conf->max_body) {
			char m[120];
			snprintf(m, sizeof m, "the body is larger than %lld bytes", a->conf->max_body);
			http_api_mhd_answer_error(r, 413, m, NULL);
			return respond(r);
		}
		if (a->stopping) {
			http_api_mhd_answer_error(r, 503, "the connection is stopping, try again later", NULL);
			return respond(r);
		}
		begin(r);
		if (r->status)
			return respond(r);
		if (!r->authed) { /* asked the core: read nothing until it answers */
			r->suspended = true;
			MHD_suspend_connection(mc);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (r->status) { /* decided already: drop the rest */
			*upload_data_size = 0;
			return MHD_YES;
		}
		if (r->body.len + *upload_data_size > (size_t)a->conf->max_body) {
			char m[120];
			snprintf(m, sizeof m, "the body is larger than %lld bytes", a->conf->max_body);
			sbuf_free(&r->body);
			sbuf_init(&r->body);
			*upload_data_size = 0;
			http_api_mhd_answer_error(r, 413, m, NULL);
			return respond(r);
		}
		sbuf_add(&r->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->status) /* decided before, or answered after the core */
		return respond(r);
	if (r->recall) { /* the headers' call again, after the resume: not the end of the body */
		r->recall = false;
		return MHD_YES;
	}
	if (r->phase != RP_READING || !r->authed) /* still waiting (a spurious call) */
		return MHD_YES;
	if (a->stopping) {
		http_api_mhd_answer_error(r, 503, "the connection is stopping, try again later", NULL);
		return respond(r);
	}
	authorized(r, r->account, r->throughput);
	if (r->status)
		return respond(r);
	r->suspended = true;
	MHD_suspend_connection(mc);
	return MHD_YES;
}
