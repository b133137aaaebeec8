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
 * Authentication (callback_auth): token_header, token_query, basic, hmac
 * (HMAC-SHA256 of the body, or of query "\n" body when there is a query
 * string, hex in a header), twilio (X-Twilio-Signature), vonage_jwt (signed
 * webhooks) or vonage_sig (the SMS API's sig parameter); see sig.h.  Every
 * comparison is constant-time.  What a signature does not cover is not read
 * (a vonage_jwt request's query string is ignored).  "none", or a
 * callback_secret still CHANGE_ME, is refused by http_cb_check unless
 * allow_insecure_callbacks is set.  A report's stored text is the request
 * (query fields re-encoded, then the body) without the token.
 * Many reports in one request (report_list, or a JSON array as the body,
 * as Infobip posts them): each is mapped by report_fields and handed to the
 * core with a token of its own; the request is answered 200 only when
 * every one was committed, 503 when any was not, 400 (nothing stored) when
 * any does not map.
 * TLS: callback_tls_cert_file and callback_tls_key_file (TLS 1.2 or later).
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
