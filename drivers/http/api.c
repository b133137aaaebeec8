/*
 * api: the HTTP send API, connection type "http-api": applications that
 * cannot reach the database send with
 *   POST {base_path}/messages      (JSON, a JSON batch, or form fields)
 *   GET  {base_path}/messages/{id} (the state of one of the account's messages)
 * authenticated by HTTP basic with an account's system_id and password.
 *
 * Layers, kept apart:
 * - pure: api_req.c (paths, bodies → submissions, ISO 8601), api_json.c
 *   (answers, status mapping), api_auth.c (basic credentials, login cache,
 *   token bucket); tested and fuzzed without a socket;
 * - request state machine: one `enum req_phase` per request, changed only
 *   by req_set(), which logs every transition at debug:
 *     READING (headers) -> AUTH (core_authenticate asked; skipped on a
 *     cache hit) -> READING (the body, only once authenticated) -> SUBMIT
 *     (core_submit per message) or QUERY (core_query) -> DONE (answer
 *     decided);
 *   an error at any step goes straight to DONE.  The credentials are
 *   checked as soon as the headers are in, before a byte of the body is
 *   read (the connection is suspended meanwhile, so a client that waits for
 *   100-continue sends nothing): a stranger's body costs no memory and no
 *   parsing;
 * - transport: libmicrohttpd in external epoll mode on the loop thread
 *   (libevent watches its epoll descriptor and timeout, as callback.c does);
 *   a request that waits for the core is suspended and resumed with its
 *   answer.
 *
 * Ownership and answers:
 * - Every core call is a `struct pend` keyed by its token.  A request lives
 *   until MHD is done with its connection AND every pend of it is answered,
 *   so an answer never finds freed memory; a client is answered only from
 *   authenticated() / submitted() / queried() — after the outbox row is
 *   committed.
 * - Passwords: handed to core_authenticate (which copies them) and wiped at
 *   once; the login cache keeps a SHA-256 only (api_auth.h).
 * - stop(): the listening socket is closed, new requests on open
 *   connections get 503, every pend is waited for (the core answers each),
 *   the answers are flushed (bounded), then core_stopped().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "driver.h"
#include "http/api_auth.h"
#include "http/api_json.h"
#include "http/api_req.h"
#include "listen_addr.h"
#include "log.h"
#include "net/addr.h"
#include "net/httpd.h"
#include "policy.h"
#include "sbuf.h"
#include "util.h"

enum {
	PEND_BUCKETS = 256,
	TICK_MS = 50,
	LISTEN_RETRY_MS = 5000,
	FLUSH_MAX_MS = 1000, /* on stop, for answers still being written */
	RETRY_AFTER_TEMPORARY_S = 5,
	RETRY_AFTER_THROTTLED_S = 1,
};

/* ---- settings ---- */

struct api_conf {
	char *listen, *base_path;
	long long max_body, max_connections, max_connections_per_address, auth_cache_s, header_timeout_s;
	bool tls;
	char *tls_cert_file, *tls_key_file;
};

#define O(f) offsetof(struct api_conf, f)
static const struct setting api_settings[] = {
    {"listen", SETTING_STRING, O(listen), false, false, 0, 0, "\"127.0.0.1:8081\"",
     "address:port to accept HTTP requests on (port 0: any free port, shown in connection_state)"},
    {"base_path", SETTING_STRING, O(base_path), false, false, 0, 0, "\"/api/v1\"",
     "path prefix of the API: POST {base_path}/messages, GET {base_path}/messages/{id}"},
    {"max_body", SETTING_INT, O(max_body), false, true, 256, 64 * 1024 * 1024, "65536",
     "largest request body in bytes; a larger one is answered 413"},
    {"max_connections", SETTING_INT, O(max_connections), false, true, 1, 100000, "256",
     "HTTP connections at once; more are refused at accept"},
    {"max_connections_per_address", SETTING_INT, O(max_connections_per_address), false, true, 0, 100000, "64",
     "connections at once from one remote address (0: no limit); more are closed at accept"},
    {"header_timeout_s", SETTING_INT, O(header_timeout_s), false, true, 1, 300, "10",
     "seconds a connection has to send a request's line and headers, from its start or from the previous "
     "answer; a slower one (slowloris) is closed"},
    {"auth_cache_s", SETTING_INT, O(auth_cache_s), false, true, 0, 3600, "60",
     "seconds a successful login is remembered (by a SHA-256 of account, password and peer address); 0 = ask "
     "the database every time"},
    {"tls", SETTING_BOOL, O(tls), false, false, 0, 0, "false", "speak HTTPS (needs tls_cert_file and tls_key_file)"},
    {"tls_cert_file", SETTING_STRING, O(tls_cert_file), false, false, 0, 0, NULL,
     "server certificate chain (PEM), with tls"},
    {"tls_key_file", SETTING_STRING, O(tls_key_file), false, false, 0, 0, NULL, "private key (PEM), with tls"},
    SETTINGS_END,
};
#undef O

static int api_check(const void *p, struct errbuf *err)
{
	const struct api_conf *conf = p;
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[128];
	int port;
	if (listen_addr_parse(conf->listen, &ss, &sl, host, sizeof host, &port))
		return errbuf_set(err, "settings.listen: must be a numeric \"host:port\" (e.g. \"127.0.0.1:8081\", "
		                       "port 0..65535)");
	const char *b = conf->base_path;
	if (b[0] && (b[0] != '/' || b[strlen(b) - 1] == '/' || strlen(b) > 200 || strpbrk(b, "?#%% \t\r\n")))
		return errbuf_set(err, "settings.base_path: must be \"\" or start with / and not end with / (e.g. "
		                       "\"/api/v1\"), without ? # %% or spaces");
	if (conf->tls && (!conf->tls_cert_file || !conf->tls_key_file))
		return errbuf_set(err, "settings.tls_cert_file: tls needs tls_cert_file and tls_key_file");
	if (!conf->tls && (conf->tls_cert_file || conf->tls_key_file))
		return errbuf_set(err, "settings.tls_cert_file: only with tls true");
	return 0;
}

/* ---- state ---- */

enum req_phase { RP_READING, RP_AUTH, RP_SUBMIT, RP_QUERY, RP_DONE };
static const char *const phase_names[] = {"reading", "auth", "submit", "query", "done"};

struct api;

struct req {
	struct api *a;
	uint64_t id;
	struct MHD_Connection *mc; /* NULL once MHD is done with it */
	char *uri;                 /* raw, with the query string */
	char peer[INET6_ADDRSTRLEN];
	enum req_phase phase;
	enum http_api_route route;
	int64_t msg_id;
	bool started, suspended;
	struct sbuf body;
	uint8_t key[32];   /* of the login cache (api_auth.h), no secret */
	char *account;     /* once authenticated */
	double throughput; /* of account */
	bool authed;       /* account is set: the body may be read */
	bool recall;       /* resumed during the headers: MHD calls once more with no data */
	struct http_api_request rq;
	int npend; /* core calls not answered yet */
	/* the answer */
	int status;
	char *answer;
	int retry_after;       /* 0 = no Retry-After */
	const char *allow;     /* Allow header of a 405 */
	bool www_authenticate; /* 401 */
	char location[64];
	struct req *prev, *next; /* every live request */
};

/* A core call waiting for its answer. */
struct pend {
	uint64_t token;
	struct req *r;
	int item; /* submit: index into r->rq.items; -1 otherwise */
	struct pend *hnext;
};

struct api {
	struct conn *c;
	const struct api_conf *conf;
	struct MHD_Daemon *d;
	struct httpd *h; /* libmicrohttpd on the loop (net/httpd.h); NULL when not listening */
	struct event *tick_ev;
	char *cert_pem, *key_pem;
	char addr[300];
	uint64_t listen_retry_ms;
	struct req *reqs;
	int nreqs;
	uint64_t next_req_id;
	struct pend *pends[PEND_BUCKETS];
	int npend;
	uint64_t next_token;
	struct http_api_cache *cache;
	bool up, stopping, stopped;
	uint64_t flush_since_ms; /* 0 = not flushing yet */
	uint64_t warn_window_ms;
	int warn_count;
};

static void stop_progress(struct api *a);

static const char *cname(const struct api *a)
{
	return conn_name(a->c);
}

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
static struct pend *pend_take(struct api *a, uint64_t token)
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

/* ---- MHD plumbing ---- */

/* Runs MHD soon from the loop (never from inside an MHD callback). */
static void kick(struct api *a)
{
	httpd_kick(a->h);
}

/* ---- requests ---- */

static void req_set(struct req *r, enum req_phase to, const char *why)
{
	log_debug("http_api_request", "conn=%s req=%" PRIu64 " from=%s to=%s why=\"%s\"", cname(r->a), r->id,
	          phase_names[r->phase], phase_names[to], why);
	r->phase = to;
}

static void req_free(struct req *r)
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
static void req_release_if_done(struct req *r)
{
	if (!r->mc && r->npend == 0)
		req_free(r);
}

/* Decides the answer (body is taken over) and resumes the connection if it
 * waits. */
static void answer(struct req *r, int status, char *body)
{
	free(r->answer);
	r->answer = body;
	r->status = status;
	req_set(r, RP_DONE, "answered");
	if (r->suspended && r->mc) {
		r->suspended = false;
		MHD_resume_connection(r->mc);
		kick(r->a);
	}
}

static void answer_error(struct req *r, int status, const char *msg, const char *field)
{
	if (status >= 400 && status != 503 && warn_ok(r->a)) {
		char q1[300], q2[300];
		log_info("http_api_refused", "conn=%s req=%" PRIu64 " peer=%s account=%s path=%s status=%d error=%s",
		         cname(r->a), r->id, r->peer, r->account ? r->account : "-", log_quote(r->uri, q1, sizeof q1),
		         status, log_quote(msg, q2, sizeof q2));
	}
	if (status == 401)
		r->www_authenticate = true;
	if (status == 503 && !r->retry_after)
		r->retry_after = RETRY_AFTER_TEMPORARY_S;
	answer(r, status, http_api_error_json(msg, field));
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

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *mc)
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

static void completed_cb(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;
	if (!r)
		return;
	*con_cls = NULL;
	r->mc = NULL;
	r->suspended = false;
	if (r->npend)
		log_debug("http_api_client_gone", "conn=%s req=%" PRIu64 " waiting=%d", cname(r->a), r->id, r->npend);
	req_release_if_done(r);
}

/* The answer to a POST once every message is decided. */
static void finish_post(struct req *r)
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
		         cname(r->a), r->id, r->peer, r->account ? r->account : "-", status,
		         log_quote(r->rq.items[0].err.msg, q, sizeof q));
	}
	answer(r, status, body);
}

/* The request is authenticated as account: hand it to the core. */
static void authorized(struct req *r, const char *account, double throughput)
{
	struct api *a = r->a;
	if (r->route == API_ROUTE_MESSAGE) {
		req_set(r, RP_QUERY, "authenticated");
		uint64_t token = pend_add(a, r, -1);
		core_query(a->c, account, r->msg_id, token);
		return;
	}
	struct http_api_error err = {0};
	const char *ct =
	    r->mc ? MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE) : NULL;
	if (http_api_parse(ct, r->body.buf ? r->body.buf : "", r->body.len, &r->rq, &err)) {
		answer_error(r, err.status, err.msg, err.field);
		return;
	}
	req_set(r, RP_SUBMIT, "parsed");
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
		finish_post(r);
}

/* The login is good: the body may be read now. */
static void set_account(struct req *r, const char *account, double throughput)
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
		answer_error(r, 401, "authentication required: HTTP basic with the account's system_id and password",
		             NULL);
		return;
	case API_CRED_BEARER:
		answer_error(r, 401,
		             "Bearer tokens are not supported: use HTTP basic with the account's system_id and "
		             "password",
		             NULL);
		return;
	case API_CRED_BAD:
		answer_error(r, 401, "unreadable credentials: use HTTP basic with the account's system_id and password",
		             NULL);
		return;
	}
	http_api_cache_key(user, pass, r->peer, r->key);
	const struct http_api_cache_entry *hit = http_api_cache_get(a->cache, r->key, now_mono_ms());
	if (hit) {
		http_api_secret_free(pass);
		free(user);
		set_account(r, hit->account, hit->throughput);
		return;
	}
	req_set(r, RP_AUTH, "credentials");
	uint64_t token = pend_add(a, r, -1);
	core_authenticate(a->c, user, pass, r->peer[0] ? r->peer : NULL, token);
	http_api_secret_free(pass);
	free(user);
}

static enum MHD_Result ahc(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
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
			answer_error(r, 404,
			             "no such path (the API has POST {base}/messages and GET {base}/messages/{id})",
			             NULL);
			return respond(r);
		}
		const char *want = r->route == API_ROUTE_MESSAGES ? "POST" : "GET";
		if (strcmp(method, want) != 0) {
			char m[160];
			snprintf(m, sizeof m, "method %.40s is not allowed here (use %s)", method, want);
			r->allow = want;
			answer_error(r, 405, m, NULL);
			return respond(r);
		}
		const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > (unsigned long long)a->conf->max_body) {
			char m[120];
			snprintf(m, sizeof m, "the body is larger than %lld bytes", a->conf->max_body);
			answer_error(r, 413, m, NULL);
			return respond(r);
		}
		if (a->stopping) {
			answer_error(r, 503, "the connection is stopping, try again later", NULL);
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
			answer_error(r, 413, m, NULL);
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
		answer_error(r, 503, "the connection is stopping, try again later", NULL);
		return respond(r);
	}
	authorized(r, r->account, r->throughput);
	if (r->status)
		return respond(r);
	r->suspended = true;
	MHD_suspend_connection(mc);
	return MHD_YES;
}

/* ---- the core's answers ---- */

static void api_authenticated(struct conn *c, uint64_t token, const struct account_info *account, const char *reason)
{
	struct api *a = conn_driver_data(c);
	struct pend *p = pend_take(a, token);
	if (!p)
		return;
	struct req *r = p->r;
	free(p);
	if (!r->mc) {
		req_release_if_done(r);
		goto out;
	}
	if (account && a->stopping) {
		answer_error(r, 503, "the connection is stopping, try again later", NULL);
		goto out;
	}
	if (account) {
		http_api_cache_put(a->cache, r->key, account, now_mono_ms(), (uint64_t)a->conf->auth_cache_s * 1000);
		set_account(r, account->name, account->throughput);
		req_set(r, RP_READING, "authenticated");
		if (r->suspended) { /* now read the body */
			r->suspended = false;
			r->recall = true;
			MHD_resume_connection(r->mc);
			kick(a);
		}
		goto out;
	}
	char q[200];
	log_info("http_api_auth_refused", "conn=%s req=%" PRIu64 " peer=%s reason=%s", cname(a), r->id, r->peer,
	         log_quote(reason ? reason : "refused", q, sizeof q));
	switch (auth_refusal_of(reason)) {
	case AUTH_DISABLED:
	case AUTH_ADDRESS:
		answer_error(r, 403, "this account may not send here (disabled, or not from this address)", NULL);
		break;
	case AUTH_UNAVAILABLE:
		answer_error(r, 503, "authentication is not possible now, try again later", NULL);
		break;
	case AUTH_BLOCKED:
	case AUTH_BUSY:
		r->retry_after = POLICY_BLOCK_MIN_MS / 1000;
		answer_error(r, 429, "too many logins from this address, try again later", NULL);
		break;
	default: /* an unknown account and a wrong password: the same answer */
		answer_error(r, 401, "wrong account or password", NULL);
		break;
	}
out:
	if (a->stopping)
		stop_progress(a);
}

static void api_submitted(struct conn *c, uint64_t token, int64_t message_id, enum submit_error error, const char *text)
{
	struct api *a = conn_driver_data(c);
	struct pend *p = pend_take(a, token);
	if (!p)
		return;
	struct req *r = p->r;
	struct http_api_item *it = &r->rq.items[p->item];
	free(p);
	int status = http_api_submit_status(error, message_id, text);
	if (status == 201) {
		it->id = message_id;
		log_debug("http_api_submitted", "conn=%s req=%" PRIu64 " account=%s id=%" PRId64, cname(a), r->id,
		          r->account, message_id);
	} else {
		it->err.status = status;
		const char *field = http_api_field_of(text);
		snprintf(it->err.field, sizeof it->err.field, "%s", field ? field : "");
		snprintf(it->err.msg, sizeof it->err.msg, "%s",
		         status == 503   ? "the message cannot be stored now, try again later"
		         : status == 429 ? "the account is over its limit, try again later"
		         : text          ? text
		                         : "refused");
	}
	if (r->npend == 0) {
		if (r->mc)
			finish_post(r);
		req_release_if_done(r);
	}
	if (a->stopping)
		stop_progress(a);
}

static void api_queried(struct conn *c, uint64_t token, const struct message_status *st)
{
	struct api *a = conn_driver_data(c);
	struct pend *p = pend_take(a, token);
	if (!p)
		return;
	struct req *r = p->r;
	free(p);
	if (r->mc) {
		if (st)
			answer(r, 200, http_api_status_json(st));
		else
			answer_error(r, 404, "no such message", NULL);
	}
	req_release_if_done(r);
	if (a->stopping)
		stop_progress(a);
}

/* ---- listening ---- */

static void stop_daemon(struct api *a)
{
	if (!a->d)
		return;
	/* Whatever still waits is answered 503 before MHD lets it go. */
	for (struct req *r = a->reqs; r; r = r->next)
		if (r->suspended && r->mc) {
			r->retry_after = RETRY_AFTER_TEMPORARY_S;
			answer(r, 503, http_api_error_json("the connection is stopping, try again later", NULL));
		}
	httpd_run(a->h);
	httpd_free(a->h);
	a->h = NULL;
	a->d = NULL;
}

/* Starts MHD; reports CONN_UP, or CONN_CONNECTING and retries from the tick. */
static void api_listen(struct api *a)
{
	const struct api_conf *conf = a->conf;
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[128], detail[500];
	int port;
	if (listen_addr_parse(conf->listen, &ss, &sl, host, sizeof host, &port))
		return; /* check() refused it already */
	struct httpd_opts o = {
	    .name = cname(a),
	    .addr = (struct sockaddr *)&ss,
	    .tls = conf->tls,
	    .cert_pem = a->cert_pem,
	    .key_pem = a->key_pem,
	    .max_connections = (unsigned)conf->max_connections,
	    .max_per_address = (unsigned)conf->max_connections_per_address,
	    .timeout_s = 30,
	    .header_timeout_s = (unsigned)conf->header_timeout_s,
	    .handler = ahc,
	    .completed = completed_cb,
	    .uri_log = uri_cb,
	    .cls = a,
	};
	char why[200];
	a->h = httpd_start(conn_event_base(a->c), &o, why, sizeof why);
	if (!a->h) {
		snprintf(detail, sizeof detail, "cannot listen on %s: %s; retry in %d ms", conf->listen, why,
		         LISTEN_RETRY_MS);
		char q[600];
		log_warn("http_api_listen_failed", "conn=%s detail=%s", cname(a), log_quote(detail, q, sizeof q));
		core_conn_state(a->c, CONN_CONNECTING, detail);
		a->listen_retry_ms = now_mono_ms() + LISTEN_RETRY_MS;
		return;
	}
	a->d = httpd_mhd(a->h);
	int real = httpd_port(a->h) ? httpd_port(a->h) : port;
	snprintf(a->addr, sizeof a->addr, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, real);
	snprintf(detail, sizeof detail, "listening on %s%s base_path=%s", a->addr, conf->tls ? " (https)" : "",
	         conf->base_path[0] ? conf->base_path : "/");
	log_info("http_api_listening", "conn=%s addr=%s tls=%s base_path=%s", cname(a), a->addr,
	         conf->tls ? "yes" : "no", conf->base_path[0] ? conf->base_path : "/");
	a->up = true;
	core_conn_state(a->c, CONN_UP, detail);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api *a = arg;
	if (a->stopping) {
		stop_progress(a);
		return;
	}
	if (!a->up && now_mono_ms() >= a->listen_retry_ms)
		api_listen(a);
}

/* ---- stop ---- */

static int current_connections(struct api *a)
{
	const union MHD_DaemonInfo *i = a->d ? MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS) : NULL;
	return i ? (int)i->num_connections : 0;
}

/* Waits for every core answer, then (bounded) for the answers to be
 * written, then stops. */
static void stop_progress(struct api *a)
{
	if (!a->stopping || a->stopped || a->npend > 0)
		return;
	uint64_t now = now_mono_ms();
	if (!a->flush_since_ms)
		a->flush_since_ms = now;
	if (current_connections(a) > 0 && now - a->flush_since_ms < FLUSH_MAX_MS)
		return; /* the tick comes back */
	a->stopped = true;
	event_del(a->tick_ev);
	stop_daemon(a);
	log_info("http_api_stopped", "conn=%s", cname(a));
	core_conn_state(a->c, CONN_DOWN, "stopped");
	core_stopped(a->c);
}

static void api_stop(struct conn *c)
{
	struct api *a = conn_driver_data(c);
	log_info("http_api_stopping", "conn=%s requests=%d waiting=%d", cname(a), a->nreqs, a->npend);
	a->stopping = true;
	if (a->d) {
		MHD_socket s = MHD_quiesce_daemon(a->d);
		if (s != MHD_INVALID_SOCKET)
			close(s);
		kick(a);
	}
	core_conn_state(c, CONN_STOPPING, "answering the requests in flight");
	stop_progress(a);
}

/* ---- open / close ---- */

static int api_open(struct conn *c)
{
	const struct api_conf *conf = conn_conf(c);
	struct api *a = xcalloc(1, sizeof *a);
	a->c = c;
	a->conf = conf;
	if (conf->tls) {
		char q[300];
		a->cert_pem = httpd_read_pem(conf->tls_cert_file);
		a->key_pem = httpd_read_pem(conf->tls_key_file);
		if (!a->cert_pem || !a->key_pem) {
			log_error("http_api_tls", "conn=%s error=\"cannot read the certificate or key\" file=%s",
			          conn_name(c),
			          log_quote(!a->cert_pem ? conf->tls_cert_file : conf->tls_key_file, q, sizeof q));
			free(a->cert_pem);
			free(a->key_pem);
			free(a);
			return -1;
		}
	}
	a->cache = xcalloc(1, sizeof *a->cache);
	struct event_base *base = conn_event_base(c);
	a->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, a);
	struct timeval tv = {0, TICK_MS * 1000};
	event_add(a->tick_ev, &tv);
	conn_set_driver_data(c, a);
	api_listen(a);
	return 0;
}

static void api_close(struct conn *c)
{
	struct api *a = conn_driver_data(c);
	if (!a)
		return;
	stop_daemon(a); /* frees every request through completed_cb ... */
	for (int i = 0; i < PEND_BUCKETS; i++)
		for (struct pend *p = a->pends[i], *n; p; p = n) {
			n = p->hnext;
			free(p);
		}
	while (a->reqs) { /* ... except those the core never answered */
		a->reqs->npend = 0;
		a->reqs->mc = NULL;
		req_free(a->reqs);
	}
	http_api_cache_clear(a->cache);
	free(a->cache);
	event_free(a->tick_ev);
	if (a->key_pem) {
		memset(a->key_pem, 0, strlen(a->key_pem));
		free(a->key_pem);
	}
	free(a->cert_pem);
	free(a);
	conn_set_driver_data(c, NULL);
}

const struct driver_ops http_api_driver = {
    .name = "http-api",
    .caps = CAP_LISTEN,
    .settings = api_settings,
    .conf_size = sizeof(struct api_conf),
    .check = api_check,
    .open = api_open,
    .stop = api_stop,
    .close = api_close,
    .authenticated = api_authenticated,
    .submitted = api_submitted,
    .queried = api_queried,
};
