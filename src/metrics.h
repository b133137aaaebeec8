/*
 * metrics: the daemon's counters, gauges and histograms for /metrics, /health
 * and the status page (ops_http.h).
 *
 * Writers are the loop thread (per connection) and the store and claimer
 * threads (per statement); the reader is the HTTP server's own thread.  Every
 * value is a C11 atomic updated with relaxed ordering: one uncontended atomic
 * add per event on the hot path, no lock.  A lock guards only the list of
 * connections (taken when a connection is created or changes state, both
 * rare) and their state detail text.
 *
 * A connection's metrics are kept by name for the life of the process, so
 * that a connection restarted with new settings keeps counting (Prometheus
 * counters only grow).  A connection that is stopped and not replaced is
 * marked absent: it is intentionally down, not failing.  Presence is
 * counted (get +1, gone -1): while a re-enabled connection's old instance
 * is still stopping, both exist.
 */
#ifndef SMSPOOL_METRICS_H
#define SMSPOOL_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"
#include "sbuf.h"

enum metrics_stmt {
	METRICS_STMT_CLAIM,   /* claimer: smspool.claim */
	METRICS_STMT_WRITE,   /* store: results and reports */
	METRICS_STMT_INBOUND, /* store: inbound texts */
	METRICS_STMT_N
};

enum { METRICS_OUTCOMES = MSG_EXPIRED + 1 };

struct metrics_conn;

/* Monotonic nanoseconds, for the latency hooks. */
uint64_t metrics_now_ns(void);

/* ---- loop thread: one call per event ---- */

/* The metrics of connection name (created on first use, kept by name);
 * marks it present.  Never NULL; never freed before metrics_free_all(). */
struct metrics_conn *metrics_conn_get(const char *name, const char *type);
/* One instance of the connection is gone; with none left it is
 * intentionally down (stopped without a replacement). */
void metrics_conn_gone(struct metrics_conn *mc);
/* state: enum conn_state of driver.h; detail may be NULL (copied). */
void metrics_conn_state(struct metrics_conn *mc, int state, const char *detail);
/* A message handed to the driver: counts it (and a retry when it was tried
 * before) and stamps m for the send latency. */
void metrics_conn_submit(struct metrics_conn *mc, struct msg *m);
/* A message completed by the driver: its outcome and the latency. */
void metrics_conn_complete(struct metrics_conn *mc, const struct msg *m);
/* The connection waited for its throughput limit. */
void metrics_conn_rate_limited(struct metrics_conn *mc);
void metrics_conn_window(struct metrics_conn *mc, int in_use, int window);
void metrics_conn_report(struct metrics_conn *mc);
void metrics_conn_inbound(struct metrics_conn *mc);

/* ---- store and claimer threads ---- */

/* One statement of kind k took since_ns..now and carried rows rows. */
void metrics_stmt(enum metrics_stmt k, uint64_t since_ns, int rows);
void metrics_db_reconnect(void);
/* n messages were inserted already claimed (claim at submit, a link batch). */
void metrics_claimed_at_submit(int n);

/* ---- reader side (any thread) ---- */

/* What the database says, refreshed by ops_http at most every few seconds. */
struct metrics_db {
	bool reachable;
	int64_t queue_depth;    /* rows of smspool.queue not claimed */
	int64_t queue_sending;  /* rows of smspool.queue under a claim */
	double oldest_queued_s; /* age of the oldest unclaimed queued message, 0 = none */
	int nunmatched;         /* connections with unmatched reports below */
	char **unmatched_conn;  /* connection names */
	int64_t *unmatched;     /* stored reports not matched to a message */
	double age_s;           /* how old this snapshot is */
};

/* Appends the Prometheus text exposition (version 0.0.4) of every metric. */
void metrics_render(struct sbuf *out, const char *instance, const struct metrics_db *db);

/* One connection's state as the health check and the status page see it. */
struct metrics_conn_view {
	char name[128], type[32], detail[256];
	int state; /* enum conn_state */
	bool present;
	int window, in_use;
	uint64_t submits, sent, errors;
};
/* Copies up to cap connections' views into v; returns how many there are. */
int metrics_conn_views(struct metrics_conn_view *v, int cap);

/* Frees everything (at exit, when no thread writes any more). */
void metrics_free_all(void);

/* ---- the exposition format (metrics_text.c), pure ---- */

/* Writes a label value escaped as the text format wants (\\, \", \n). */
void metrics_text_label(struct sbuf *out, const char *value);
/* # HELP and # TYPE lines. */
void metrics_text_head(struct sbuf *out, const char *name, const char *type, const char *help);
/* One sample: name{labels} value, labels already formatted (may be ""). */
void metrics_text_sample(struct sbuf *out, const char *name, const char *labels, double value);
/* A histogram's _bucket, _sum and _count lines; counts[i] are per bucket
 * (not cumulative), counts[n] is the +Inf bucket. */
void metrics_text_histogram(struct sbuf *out, const char *name, const char *labels, const double *bounds, int n,
                            const uint64_t *counts, double sum);

#endif
