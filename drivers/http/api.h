/*
 * api: what drivers/http/api.c (the http-api connection: settings,
 * listening, the core's answers, stop) and drivers/http/api_mhd.c (each
 * request as libmicrohttpd hands it: the request state machine) share.
 * Private to those two files; see api.c for the design.
 */
#ifndef SMSPOOL_HTTP_API_H
#define SMSPOOL_HTTP_API_H

#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "driver.h"
#include "http/api_auth.h"
#include "http/api_req.h"
#include "sbuf.h"

enum {
	PEND_BUCKETS = 256,
	TICK_MS = 50,
	LISTEN_RETRY_MS = 5000,
	FLUSH_MAX_MS = 1000, /* on stop, for answers still being written */
	RETRY_AFTER_TEMPORARY_S = 5,
	RETRY_AFTER_THROTTLED_S = 1,
};

struct api_conf {
	char *listen, *base_path;
	long long max_body, max_connections, max_connections_per_address, auth_cache_s, header_timeout_s;
	bool tls;
	char *tls_cert_file, *tls_key_file;
};

enum req_phase { RP_READING, RP_AUTH, RP_SUBMIT, RP_QUERY, RP_DONE };

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

static inline const char *http_api_cname(const struct api *a)
{
	return conn_name(a->c);
}

/* ---- api_mhd.c ---- */

/* libmicrohttpd's callbacks (net/httpd.h httpd_opts): the URI log creates
 * the request, the handler runs its state machine, completed lets MHD's
 * side of it go. */
void *http_api_mhd_uri(void *cls, const char *uri, struct MHD_Connection *mc);
enum MHD_Result http_api_mhd_handler(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                                     const char *version, const char *upload_data, size_t *upload_data_size,
                                     void **con_cls);
void http_api_mhd_completed(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode toe);

/* Unlinks the pend of token (NULL when none); the caller frees it. */
struct pend *http_api_mhd_pend_take(struct api *a, uint64_t token);
/* Changes r's phase, logged at debug. */
void http_api_mhd_req_set(struct req *r, enum req_phase to, const char *why);
/* Frees r and unlinks it from its api. */
void http_api_mhd_req_free(struct req *r);
/* Frees r when neither MHD nor the core needs it any more. */
void http_api_mhd_release(struct req *r);
/* Decides r's answer (body is taken over) and resumes r if it waits. */
void http_api_mhd_answer(struct req *r, int status, char *body);
/* The same with a JSON error body; refusals are logged (rate-limited). */
void http_api_mhd_answer_error(struct req *r, int status, const char *msg, const char *field);
/* The answer to a POST once every message is decided. */
void http_api_mhd_finish_post(struct req *r);
/* The login is good: the body may be read now. */
void http_api_mhd_set_account(struct req *r, const char *account, double throughput);

#endif
