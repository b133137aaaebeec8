/*
 * curl_loop: libcurl's multi-socket API driven by a libevent loop, shared by
 * every driver that speaks through libcurl (http, email).
 *
 * CURLMOPT_SOCKETFUNCTION maps curl's sockets to libevent events and
 * CURLMOPT_TIMERFUNCTION to one timer; nothing blocks.  When a transfer has
 * ended, done() is called with its easy handle (still added to the multi
 * handle: the callee removes and cleans it up, or reuses it).  after() runs
 * once after every batch of socket or timer actions, e.g. to finish a stop.
 * The multi handle keeps connections alive between transfers.
 */
#ifndef SMSPOOL_NET_CURL_LOOP_H
#define SMSPOOL_NET_CURL_LOOP_H

#include <stdbool.h>

#include <curl/curl.h>
#include <event2/event.h>

typedef void (*curl_loop_done_fn)(void *arg, CURL *easy, CURLcode result);
typedef void (*curl_loop_after_fn)(void *arg);

struct curl_loop;

/* curl_global_init, once per process (thread-safe). */
void curl_loop_global_init(void);
/* A new multi handle on base.  after may be NULL. */
struct curl_loop *curl_loop_new(struct event_base *base, curl_loop_done_fn done, curl_loop_after_fn after, void *arg);
CURLM *curl_loop_multi(struct curl_loop *l);
/* Adds e and lets curl start it.  Returns 0 or -1 (the message in err). */
int curl_loop_add(struct curl_loop *l, CURL *e, char *err, size_t cap);
/* Cleans up the multi handle (remove every easy handle first) and frees l. */
void curl_loop_free(struct curl_loop *l);

/* The options every driver's transfer has, once: no signals, the whole and the connect
 * timeouts (ms), TLS verification of the peer and its host name, and the CA file (NULL:
 * the system's). */
void curl_loop_easy_common(CURL *e, long timeout_ms, long connect_timeout_ms, bool tls_verify, const char *ca_file);

#endif
