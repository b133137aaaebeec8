/* ops_http: see ops_http.h.  One internal MHD thread serves every request in
 * turn; the database connection of ops_sql is used only by that thread, so
 * it needs no lock. */
#include "ops_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "http/api_auth.h"
#include "listen_addr.h"
#include "log.h"
#include "metrics.h"
#include "net/addr.h"
#include "notify.h"
#include "ops_sql.h"
#include "sbuf.h"
#include "status_page.h"
#include "util.h"

enum { PAGE_REFRESH_S = 5, MAX_CONNS = 256, AUTH_CACHE_MS = 60000 };

struct ops_http {
	const struct config *cfg;
	struct MHD_Daemon *d;
	struct ops_sql *sql;
	struct http_api_cache *logins; /* successful admin logins (metrics_auth) */
	char last_error[256];
};

static const char *const state_names[] = {"down", "connecting", "up", "stopping"};

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	struct ops_http *h = cls;
	vsnprintf(h->last_error, sizeof h->last_error, fmt, ap);
	size_t n = strlen(h->last_error);
	while (n && (h->last_error[n - 1] == '\n' || h->last_error[n - 1] == ' '))
		h->last_error[--n] = 0;
	char q[300];
	log_debug("ops_http_mhd", "message=%s", log_quote(h->last_error, q, sizeof q));
}

static enum MHD_Result reply(struct MHD_Connection *mc, unsigned status, const char *type, struct sbuf *body)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(body->len, body->buf ? body->buf : (void *)"", MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* The page carries no script; forbid any, and any framing. */
	MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	enum MHD_Result rc = MHD_queue_response(mc, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* The health verdict and its reasons. */
static unsigned health(struct ops_http *h, struct sbuf *out)
{
	const struct metrics_db *db = ops_sql_metrics(h->sql);
	json_t *o = json_object(), *conns = json_array(), *problems = json_array();
	json_object_set_new(o, "instance", json_string(h->cfg->instance));
	json_object_set_new(o, "database", json_pack("{s:b}", "reachable", db->reachable));
	if (!db->reachable)
		json_array_append_new(problems, json_string("database not reachable"));
	if (!notify_is_ready())
		json_array_append_new(problems, json_string("daemon starting: connections not started yet"));
	struct metrics_conn_view *v = xcalloc(MAX_CONNS, sizeof *v);
	int n = metrics_conn_views(v, MAX_CONNS);
	if (n > MAX_CONNS)
		n = MAX_CONNS;
	for (int i = 0; i < n; i++) {
		const char *st = v[i].present ? state_names[v[i].state & 3] : "disabled";
		bool fine = !v[i].present || v[i].state == CONN_UP;
		json_array_append_new(conns, json_pack("{s:s,s:s,s:s,s:s,s:b}", "name", v[i].name, "type", v[i].type,
		                                       "state", st, "detail", v[i].detail, "ok", fine));
		if (!fine) {
			char why[512];
			snprintf(why, sizeof why, "connection %s is %s%s%s", v[i].name, st, v[i].detail[0] ? ": " : "",
			         v[i].detail);
			json_array_append_new(problems, json_string(why));
		}
	}
	free(v);
	bool ok = json_array_size(problems) == 0;
	json_object_set_new(o, "status", json_string(ok ? "ok" : "fail"));
	json_object_set_new(o, "connections", conns);
	json_object_set_new(o, "problems", problems);
	char *text = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	sbuf_adds(out, text);
	sbuf_adds(out, "\n");
	free(text);
	json_decref(o);
	return ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
}

/* With metrics_auth = admin: a basic login of an account with the admin
 * flag (smspool.admin_auth), remembered for a minute by the HTTP send API's
 * login cache (keyed by a hash of account, password and peer). */
static bool authorized(struct ops_http *h, struct MHD_Connection *mc)
{
	if (!h->cfg->metrics_auth)
		return true;
	char *user = NULL, *pass = NULL, peer[64] = "";
	const char *authz = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (http_api_basic(authz, &user, &pass) != API_CRED_OK)
		return false;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	int port;
	if (ci && ci->client_addr)
		net_addr_from_sockaddr(ci->client_addr, peer, sizeof peer, &port);
	uint8_t key[32];
	http_api_cache_key(user, pass, peer, key);
	uint64_t now = now_mono_ms();
	bool ok = http_api_cache_get(h->logins, key, now) != NULL;
	if (!ok && ops_sql_admin_auth(h->sql, user, pass, peer[0] ? peer : NULL)) {
		struct account_info a = {.name = user};
		http_api_cache_put(h->logins, key, &a, now, AUTH_CACHE_MS);
		ok = true;
	}
	if (!ok) {
		char q[100];
		log_warn("ops_http_login_refused", "account=%s peer=%s", log_quote(user, q, sizeof q), peer);
	}
	free(user);
	http_api_secret_free(pass);
	return ok;
}

static enum MHD_Result ahc(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                           const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct ops_http *h = cls;
	struct sbuf body;
	sbuf_init(&body);
	enum MHD_Result rc;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		sbuf_adds(&body, "read-only: GET or HEAD\n");
		struct MHD_Response *r = MHD_create_response_from_buffer(body.len, body.buf, MHD_RESPMEM_MUST_COPY);
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
		rc = MHD_queue_response(mc, MHD_HTTP_METHOD_NOT_ALLOWED, r);
		MHD_destroy_response(r);
	} else if (strcmp(url, "/health") && !authorized(h, mc)) {
		sbuf_adds(&body, "login required: an account with the admin flag\n");
		struct MHD_Response *r = MHD_create_response_from_buffer(body.len, body.buf, MHD_RESPMEM_MUST_COPY);
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"smspool\"");
		rc = MHD_queue_response(mc, MHD_HTTP_UNAUTHORIZED, r);
		MHD_destroy_response(r);
	} else if (strcmp(url, "/metrics") == 0) {
		metrics_render(&body, h->cfg->instance, ops_sql_metrics(h->sql));
		rc = reply(mc, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &body);
	} else if (strcmp(url, "/health") == 0) {
		unsigned st = health(h, &body);
		rc = reply(mc, st, "application/json", &body);
	} else if (strcmp(url, "/") == 0) {
		status_page_render(&body, h->cfg->instance, ops_sql_page(h->sql), ops_sql_metrics(h->sql),
		                   PAGE_REFRESH_S);
		rc = reply(mc, MHD_HTTP_OK, "text/html; charset=utf-8", &body);
	} else {
		sbuf_adds(&body, "not found: try /, /metrics or /health\n");
		rc = reply(mc, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", &body);
	}
	sbuf_free(&body);
	return rc;
}

struct ops_http *ops_http_start(const struct config *cfg, struct errbuf *err)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[128];
	int port;
	if (!cfg->metrics_listen || listen_addr_parse(cfg->metrics_listen, &ss, &sl, host, sizeof host, &port)) {
		errbuf_set(err, "metrics_listen: not a listen address");
		return NULL;
	}
	struct ops_http *h = xcalloc(1, sizeof *h);
	h->cfg = cfg;
	h->sql = ops_sql_new(cfg->database);
	h->logins = xcalloc(1, sizeof *h->logins);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, ahc, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, h,
	                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_LISTENING_ADDRESS_REUSE,
	                        (unsigned)1, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT,
	                        (unsigned)10, MHD_OPTION_END);
	if (!h->d) {
		errbuf_set(err, "cannot listen on %s: %s", cfg->metrics_listen,
		           h->last_error[0] ? h->last_error : strerror(errno));
		ops_sql_free(h->sql);
		free(h->logins);
		free(h);
		return NULL;
	}
	const union MHD_DaemonInfo *pi = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	int real = pi && pi->port ? pi->port : port;
	char addr[300];
	net_addr_format(host, real, addr, sizeof addr);
	log_info("ops_http_listening", "addr=%s paths=/,/metrics,/health auth=%s", addr,
	         cfg->metrics_auth ? "admin" : "none");
	return h;
}

void ops_http_stop(struct ops_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	ops_sql_free(h->sql);
	http_api_cache_clear(h->logins);
	free(h->logins);
	free(h);
}
