/*
 * callback: the HTTP server of an http connection that takes delivery
 * reports (report_path) and inbound texts (inbound_path) from the provider.
 *
 * libmicrohttpd runs in external epoll mode on the loop thread: libevent
 * watches MHD's epoll descriptor and its timeout, so nothing blocks and no
 * thread is added.  A request that maps to a report or an inbound text is
 * handed to the core with a token and its MHD connection is suspended; it
 * is answered 200 only from http_cb_acked(…, committed=true), 503 when the
 * commit failed (the provider sends again).  Bad requests get a JSON error:
 * 400 (unreadable), 401/403 (authentication), 404, 405, 413 (body over
 * HTTP_CB_MAX_BODY), 415, 503 while stopping.
 * Authentication (callback_auth): token_header, token_query, basic, or hmac
 * = HMAC-SHA256 of the body as received (empty for GET), hex in a header;
 * every comparison is constant-time (auth.c).  A report's stored text is the
 * request (query fields re-encoded, then the body) without the token.
 */
#ifndef SMSPOOL_HTTP_CALLBACK_H
#define SMSPOOL_HTTP_CALLBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "driver.h"
#include "errbuf.h"
#include "http/http.h"
#include "util.h"

struct http_cb;

/* Checks the callback settings (no I/O). */
MUST_CHECK int http_cb_check(const struct http_conf *conf, struct errbuf *err);
/* Starts listening on conf->listen.  Returns a new server or NULL with err. */
struct http_cb *http_cb_start(struct conn *c, const struct http_conf *conf, struct errbuf *err);
void http_cb_acked(struct http_cb *s, uint64_t token, bool committed);
/* Requests waiting for the core's commit. */
int http_cb_waiting(const struct http_cb *s);
/* From now on new requests are answered 503. */
void http_cb_quiesce(struct http_cb *s);
/* Answers what still waits with 503, closes every connection, frees s. */
void http_cb_stop(struct http_cb *s);

#endif
