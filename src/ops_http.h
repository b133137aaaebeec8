/*
 * ops_http: the daemon's operations endpoint on `metrics_listen` — Prometheus
 * text on /metrics, JSON health on /health, the HTML status page on /.
 *
 * It runs on libmicrohttpd's own thread (MHD_USE_INTERNAL_POLLING_THREAD),
 * never on the loop: it reads the metrics' atomics (metrics.h) and asks the
 * database on a connection of its own (ops_sql.h), so a slow scrape or a slow
 * database cannot delay a message.  Read-only: every method but GET and HEAD
 * is refused.
 *
 * /health answers 200 when the database is reachable and every enabled
 * connection of this daemon is up (a disabled or removed one is
 * intentionally down), 503 otherwise; the JSON body says why.
 */
#ifndef SMSPOOL_OPS_HTTP_H
#define SMSPOOL_OPS_HTTP_H

#include "config.h"
#include "errbuf.h"

struct ops_http;

/* Starts listening on cfg->metrics_listen (which must be set); logs
 * ops_http_listening with the address and port actually bound.  NULL with
 * err set when it cannot listen.  cfg is borrowed for the server's life. */
struct ops_http *ops_http_start(const struct config *cfg, struct errbuf *err);
void ops_http_stop(struct ops_http *h);

#endif
