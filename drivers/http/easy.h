/*
 * easy: one libcurl easy handle as every request of an http connection
 * makes it (the provider's API and the OAuth token endpoint alike):
 * http/https only, no signals, the connection's timeouts, TLS checks, CA
 * bundle and proxy, the answer collected by write and any failure text in
 * errbuf (CURL_ERROR_SIZE).  priv is CURLOPT_PRIVATE.
 */
#ifndef SMSPOOL_HTTP_EASY_H
#define SMSPOOL_HTTP_EASY_H

#include <curl/curl.h>

#include "http/http.h"

/* A new easy handle for url with hdrs (borrowed until cleanup). */
CURL *http_easy_new(const struct http_conf *conf, const char *url, struct curl_slist *hdrs, void *priv, char *errbuf,
                    curl_write_callback write, void *wdata);
/* HTTP basic auth with user and password (borrowed until cleanup). */
void http_easy_basic(CURL *e, const char *user, const char *password);

#endif
