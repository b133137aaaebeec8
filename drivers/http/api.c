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
 * - request state machine (api_mhd.c): one `enum req_phase` per request,
 *   changed only by http_api_mhd_req_set(), which logs every transition at
 *   debug:
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
 *   once; the login cache keeps a SHA-256 only (api_auth.h), and forgets an
 *   account's logins when its access changes (account_revoked).
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
#include "http/api.h"
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

/* ---- settings ---- */

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

static void stop_progress(struct api *a);

/* ---- the core's answers ---- */

/* Takes the pending request of token and frees its pend: the prologue of every answer of the
 * core. NULL when the token is unknown (already answered). *item, when wanted, gets the item. */
static struct req *take_req(struct api *a, uint64_t token, int *item)
{
	struct pend *p = http_api_mhd_pend_take(a, token);
	if (!p)
		return NULL;
	struct req *r = p->r;
	if (item)
		*item = p->item;
	free(p);
	return r;
}

static void api_authenticated(struct conn *c, uint64_t token, const struct account_info *account, const char *reason)
{
	struct api *a = conn_driver_data(c);
	struct req *r = take_req(a, token, NULL);
	if (!r)
		return;
	if (!r->mc) {
		http_api_mhd_release(r);
		goto out;
	}
	if (account && a->stopping) {
		http_api_mhd_answer_error(r, 503, "the connection is stopping, try again later", NULL);
		goto out;
	}
	if (account) {
		http_api_cache_put(a->cache, r->key, account, now_mono_ms(), (uint64_t)a->conf->auth_cache_s * 1000);
		http_api_mhd_set_account(r, account->name, account->throughput);
		http_api_mhd_req_set(r, RP_READING, "authenticated");
		if (r->suspended) { /* now read the body */
			r->suspended = false;
			r->recall = true;
			MHD_resume_connection(r->mc);
			httpd_kick(a->h);
		}
		goto out;
	}
	char q[200];
	log_info("http_api_auth_refused", "conn=%s req=%" PRIu64 " peer=%s reason=%s", http_api_cname(a), r->id,
	         r->peer, log_quote(reason ? reason : "refused", q, sizeof q));
	switch (auth_refusal_of(reason)) {
	case AUTH_DISABLED:
	case AUTH_ADDRESS:
		http_api_mhd_answer_error(r, 403, "this account may not send here (disabled, or not from this address)",
		                          NULL);
		break;
	case AUTH_UNAVAILABLE:
		http_api_mhd_answer_error(r, 503, "authentication is not possible now, try again later", NULL);
		break;
	case AUTH_BLOCKED:
	case AUTH_BUSY:
		r->retry_after = POLICY_BLOCK_MIN_MS / 1000;
		http_api_mhd_answer_error(r, 429, "too many logins from this address, try again later", NULL);
		break;
	default: /* an unknown account and a wrong password: the same answer */
		http_api_mhd_answer_error(r, 401, "wrong account or password", NULL);
		break;
	}
out:
	if (a->stopping)
		stop_progress(a);
}

static void api_submitted(struct conn *c, uint64_t token, const struct submit_result *res)
{
	struct api *a = conn_driver_data(c);
	int item;
	struct req *r = take_req(a, token, &item);
	if (!r)
		return;
	struct http_api_item *it = &r->rq.items[item];
	int status = http_api_submit_status(res);
	int64_t message_id = res->message_id;
	const char *text = res->text;
	if (status == 201) {
		it->id = message_id;
		log_debug("http_api_submitted", "conn=%s req=%" PRIu64 " account=%s id=%" PRId64, http_api_cname(a),
		          r->id, r->account, message_id);
	} else {
		it->err.status = status;
		const char *field = http_api_field_of(res->field);
		snprintf(it->err.field, sizeof it->err.field, "%s", field ? field : "");
		snprintf(it->err.msg, sizeof it->err.msg, "%s",
		         status == 503   ? "the message cannot be stored now, try again later"
		         : status == 429 ? "the account is over its limit, try again later"
		         : text          ? text
		                         : "refused");
	}
	if (r->npend == 0) {
		if (r->mc)
			http_api_mhd_finish_post(r);
		http_api_mhd_release(r);
	}
	if (a->stopping)
		stop_progress(a);
}

static void api_queried(struct conn *c, uint64_t token, const struct message_status *st)
{
	struct api *a = conn_driver_data(c);
	struct req *r = take_req(a, token, NULL);
	if (!r)
		return;
	if (r->mc) {
		if (st)
			http_api_mhd_answer(r, 200, http_api_status_json(st));
		else
			http_api_mhd_answer_error(r, 404, "no such message", NULL);
	}
	http_api_mhd_release(r);
	if (a->stopping)
		stop_progress(a);
}

/* The account's access changed in the database (password, enabled,
 * allowed_addresses, ...; "" = every account): HTTP has no session to end,
 * but its cached logins are forgotten, so that the next request is
 * authenticated by the database again and old credentials are refused at
 * once rather than after auth_cache_s (a login the database answers
 * across the change is asked again by the core: auth_revoke).  A request
 * already authenticated is answered as it goes (its submissions are
 * checked by smspool.submit, which refuses a disabled account). */
static void api_account_revoked(struct conn *c, const char *account)
{
	struct api *a = conn_driver_data(c);
	char q[80];
	if (!a)
		return;
	int n = http_api_cache_forget(a->cache, account);
	log_info("http_api_revoked", "conn=%s account=%s logins=%d reason=\"account changed\"", http_api_cname(a),
	         *account ? log_quote(account, q, sizeof q) : "*", n);
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
			http_api_mhd_answer(r, 503,
			                    http_api_error_json("the connection is stopping, try again later", NULL));
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
	    .name = http_api_cname(a),
	    .addr = (struct sockaddr *)&ss,
	    .tls = conf->tls,
	    .cert_pem = a->cert_pem,
	    .key_pem = a->key_pem,
	    .max_connections = (unsigned)conf->max_connections,
	    .max_per_address = (unsigned)conf->max_connections_per_address,
	    .timeout_s = 30,
	    .header_timeout_s = (unsigned)conf->header_timeout_s,
	    .handler = http_api_mhd_handler,
	    .completed = http_api_mhd_completed,
	    .uri_log = http_api_mhd_uri,
	    .cls = a,
	};
	char why[200];
	a->h = httpd_start(conn_event_base(a->c), &o, why, sizeof why);
	if (!a->h) {
		snprintf(detail, sizeof detail, "cannot listen on %s: %s; retry in %d ms", conf->listen, why,
		         LISTEN_RETRY_MS);
		char q[600];
		log_warn("http_api_listen_failed", "conn=%s detail=%s", http_api_cname(a),
		         log_quote(detail, q, sizeof q));
		core_conn_state(a->c, CONN_CONNECTING, detail);
		a->listen_retry_ms = now_mono_ms() + LISTEN_RETRY_MS;
		return;
	}
	a->d = httpd_mhd(a->h);
	int real = httpd_port(a->h) ? httpd_port(a->h) : port;
	net_addr_format(host, real, a->addr, sizeof a->addr);
	snprintf(detail, sizeof detail, "listening on %s%s base_path=%s", a->addr, conf->tls ? " (https)" : "",
	         conf->base_path[0] ? conf->base_path : "/");
	log_info("http_api_listening", "conn=%s addr=%s tls=%s base_path=%s", http_api_cname(a), a->addr,
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
	if (!a->stopping || a->stopped || a->pends.n > 0)
		return;
	uint64_t now = now_mono_ms();
	if (!a->flush_since_ms)
		a->flush_since_ms = now;
	if (current_connections(a) > 0 && now - a->flush_since_ms < FLUSH_MAX_MS)
		return; /* the tick comes back */
	a->stopped = true;
	event_del(a->tick_ev);
	stop_daemon(a);
	log_info("http_api_stopped", "conn=%s", http_api_cname(a));
	core_conn_state(a->c, CONN_DOWN, "stopped");
	core_stopped(a->c);
}

static void api_stop(struct conn *c)
{
	struct api *a = conn_driver_data(c);
	log_info("http_api_stopping", "conn=%s requests=%d waiting=%d", http_api_cname(a), a->nreqs, a->pends.n);
	a->stopping = true;
	if (a->d) {
		MHD_socket s = MHD_quiesce_daemon(a->d);
		if (s != MHD_INVALID_SOCKET)
			close(s);
		httpd_kick(a->h);
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
	tokens_clear(&a->pends, free);
	while (a->reqs) { /* ... except those the core never answered */
		a->reqs->npend = 0;
		a->reqs->mc = NULL;
		http_api_mhd_req_free(a->reqs);
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
    .account_revoked = api_account_revoked,
};
