/*
 * oauth: OAuth 2.0 client-credentials tokens (RFC 6749 section 4.4) for the
 * http connection's `auth = "oauth2"`.  A token is fetched from
 * oauth_token_url through the connection's libcurl loop (nothing blocks),
 * kept until shortly before it expires, refreshed in the background once
 * it is in its last minute (or last half, for short lifetimes), and dropped
 * when the provider answers 401 to it.
 *
 * Contract:
 * - http_oauth_token never blocks: READY with the token, PENDING (a fetch
 *   is running; the ready callback follows), or FAILED (the last fetch
 *   failed less than OAUTH_RETRY_MS ago: the token endpoint is not hammered
 *   at the window's rate).
 * - The ready callback runs once per fetch, with the token or an error.
 * - The client secret never appears in a log line or an error text.
 * - http_oauth_parse is pure: the endpoint's JSON answer → token and
 *   lifetime (expires_in absent = 3600 s), or an error quoting the
 *   endpoint's error / error_description.
 */
#ifndef SMSPOOL_HTTP_OAUTH_H
#define SMSPOOL_HTTP_OAUTH_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "http/http.h"
#include "net/curl_loop.h"
#include "util.h"

#define OAUTH_RETRY_MS 2000

enum http_oauth_status { OAUTH_READY, OAUTH_PENDING, OAUTH_FAILED };

struct http_oauth;

typedef void (*http_oauth_ready_fn)(void *arg, const char *token, const char *error);

/* Checks the oauth_* settings of an oauth2 connection (no I/O). */
MUST_CHECK int http_oauth_check(const struct http_conf *conf, struct errbuf *err);
struct http_oauth *http_oauth_new(const struct http_conf *conf, struct curl_loop *cl, const char *conn_name,
                                  http_oauth_ready_fn ready, void *arg);
/* Frees o, cancelling a fetch in flight (its callback does not run). */
void http_oauth_free(struct http_oauth *o);

/* The current token (borrowed until the next call), starting a fetch when
 * there is none or it is due for refresh.  *error (may be NULL) gets the
 * last error with OAUTH_FAILED. */
enum http_oauth_status http_oauth_token(struct http_oauth *o, const char **token, const char **error);
/* The provider refused token (401): forget it if it is still the current one. */
void http_oauth_invalidate(struct http_oauth *o, const char *token);
/* From the curl loop's done callback: true if easy was o's (then handled). */
bool http_oauth_done(struct http_oauth *o, CURL *easy, CURLcode result);

/* Parses a token endpoint's answer (status, body).  Returns 0 with a new
 * *token and *expires_in_s, or -1 with err. */
MUST_CHECK int http_oauth_parse(long status, const char *body, size_t len, char **token, long *expires_in_s,
                                struct errbuf *err);

#endif
