/* metrics: see metrics.h.  Counters are relaxed atomics written by one
 * thread each (or a few, for the statement histograms) and read by the HTTP
 * thread; a reader may see a histogram's buckets and sum a few events apart,
 * which Prometheus tolerates. */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#ifndef SMSPOOL_VERSION
#define SMSPOOL_VERSION "0.1.0"
#endif

typedef _Atomic uint64_t counter;

static inline void inc(counter *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}
static inline uint64_t get(counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Send latency (submit → the peer's answer) and statement latency, seconds. */
static const double lat_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
enum { LAT_N = ARRAY_LEN(lat_bounds) };
static const double row_bounds[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
enum { ROW_N = ARRAY_LEN(row_bounds) };

struct hist {
	counter b[LAT_N + 1];
	counter sum_ns;
};
struct rowhist {
	counter b[ROW_N + 1];
	counter sum;
};

struct metrics_conn {
	char *name, *type;
	char detail[256]; /* under lock */
	_Atomic int state, present, window, in_use;
	counter submits, retries, rate_limited, reports, inbound;
	counter outcomes[METRICS_OUTCOMES];
	struct hist latency;
	struct metrics_conn *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_conn *conns;
static struct hist stmt_lat[METRICS_STMT_N];
static struct rowhist stmt_rows[METRICS_STMT_N];
static counter db_reconnects;
static counter claimed_at_submit;
static const char *const stmt_names[METRICS_STMT_N] = {"claim", "write", "inbound"};
static const char *const state_names[] = {"down", "connecting", "up", "stopping"};
static time_t started_at;

uint64_t metrics_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void hist_add(struct hist *h, uint64_t ns)
{
	double s = (double)ns / 1e9;
	int i = 0;
	while (i < LAT_N && s > lat_bounds[i])
		i++;
	inc(&h->b[i], 1);
	inc(&h->sum_ns, ns);
}

struct metrics_conn *metrics_conn_get(const char *name, const char *type)
{
	pthread_mutex_lock(&lock);
	if (!started_at)
		started_at = time(NULL);
	struct metrics_conn *mc = conns;
	while (mc && strcmp(mc->name, name))
		mc = mc->next;
	if (!mc) {
		mc = xcalloc(1, sizeof *mc);
		mc->name = xstrdup(name);
		mc->type = xstrdup(type);
		/* Sorted by name: the exposition and the page list them in order. */
		struct metrics_conn **pp = &conns;
		while (*pp && strcmp((*pp)->name, name) < 0)
			pp = &(*pp)->next;
		mc->next = *pp;
		*pp = mc;
	} else if (strcmp(mc->type, type)) {
		free(mc->type);
		mc->type = xstrdup(type);
	}
	/* Counted: a connection re-enabled while its old instance is still
	 * stopping has two instances for a moment. */
	mc->present++;
	mc->state = 0;
	mc->detail[0] = '\0';
	pthread_mutex_unlock(&lock);
	return mc;
}

void metrics_conn_gone(struct metrics_conn *mc)
{
	pthread_mutex_lock(&lock);
	if (mc->present > 0 && --mc->present == 0) {
		mc->state = 0;
		mc->in_use = 0;
		snprintf(mc->detail, sizeof mc->detail, "%s", "stopped (disabled or removed)");
	}
	pthread_mutex_unlock(&lock);
}

void metrics_conn_state(struct metrics_conn *mc, int state, const char *detail)
{
	pthread_mutex_lock(&lock);
	mc->state = state;
	snprintf(mc->detail, sizeof mc->detail, "%s", detail ? detail : "");
	pthread_mutex_unlock(&lock);
}

void metrics_conn_submit(struct metrics_conn *mc, struct msg *m)
{
	inc(&mc->submits, 1);
	if (m->attempts > 1)
		inc(&mc->retries, 1);
	m->submitted_ns = metrics_now_ns();
}

void metrics_conn_complete(struct metrics_conn *mc, const struct msg *m)
{
	if ((unsigned)m->outcome < METRICS_OUTCOMES)
		inc(&mc->outcomes[m->outcome], 1);
	/* A message given back unsent never reached the peer: no latency. */
	if (m->submitted_ns && m->outcome != MSG_RELEASE)
		hist_add(&mc->latency, metrics_now_ns() - m->submitted_ns);
}

void metrics_conn_rate_limited(struct metrics_conn *mc)
{
	inc(&mc->rate_limited, 1);
}

void metrics_conn_window(struct metrics_conn *mc, int in_use, int window)
{
	mc->in_use = in_use;
	mc->window = window;
}

void metrics_conn_report(struct metrics_conn *mc)
{
	inc(&mc->reports, 1);
}

void metrics_conn_inbound(struct metrics_conn *mc)
{
	inc(&mc->inbound, 1);
}

void metrics_stmt(enum metrics_stmt k, uint64_t since_ns, int rows)
{
	if ((unsigned)k >= METRICS_STMT_N)
		return;
	hist_add(&stmt_lat[k], metrics_now_ns() - since_ns);
	int i = 0;
	while (i < ROW_N && rows > row_bounds[i])
		i++;
	inc(&stmt_rows[k].b[i], 1);
	inc(&stmt_rows[k].sum, rows > 0 ? (uint64_t)rows : 0);
}

void metrics_claimed_at_submit(int n)
{
	inc(&claimed_at_submit, n > 0 ? (uint64_t)n : 0);
}

void metrics_db_reconnect(void)
{
	inc(&db_reconnects, 1);
}

int metrics_conn_views(struct metrics_conn_view *v, int cap)
{
	int n = 0;
	pthread_mutex_lock(&lock);
	for (struct metrics_conn *mc = conns; mc; mc = mc->next, n++) {
		if (n >= cap)
			continue;
		struct metrics_conn_view *x = &v[n];
		snprintf(x->name, sizeof x->name, "%s", mc->name);
		snprintf(x->type, sizeof x->type, "%s", mc->type);
		snprintf(x->detail, sizeof x->detail, "%s", mc->detail);
		x->state = mc->state;
		x->present = mc->present > 0;
		x->window = mc->window;
		x->in_use = mc->in_use;
		x->submits = get(&mc->submits);
		x->sent = get(&mc->outcomes[MSG_SENT]);
		x->errors = 0;
		for (int o = MSG_TEMPORARY; o < METRICS_OUTCOMES; o++)
			if (o != MSG_RELEASE)
				x->errors += get(&mc->outcomes[o]);
	}
	pthread_mutex_unlock(&lock);
	return n;
}

static void hist_render(struct sbuf *out, const char *name, const char *labels, struct hist *h)
{
	uint64_t c[LAT_N + 1];
	for (int i = 0; i <= LAT_N; i++)
		c[i] = get(&h->b[i]);
	metrics_text_histogram(out, name, labels, lat_bounds, LAT_N, c, (double)get(&h->sum_ns) / 1e9);
}

/* Per connection: one family at a time, every connection in it. */
static void render_conns(struct sbuf *out)
{
	struct sbuf l;
	sbuf_init(&l);
#define EACH_CONN(body)                                                                                                \
	for (struct metrics_conn *mc = conns; mc; mc = mc->next) {                                                     \
		sbuf_reset(&l);                                                                                        \
		sbuf_adds(&l, "connection=\"");                                                                        \
		metrics_text_label(&l, mc->name);                                                                      \
		sbuf_adds(&l, "\"");                                                                                   \
		body;                                                                                                  \
	}
	metrics_text_head(out, "smspool_connection_info", "gauge", "A connection of this daemon (value 1), by type.");
	EACH_CONN({
		sbuf_adds(&l, ",type=\"");
		metrics_text_label(&l, mc->type);
		sbuf_adds(&l, "\"");
		metrics_text_sample(out, "smspool_connection_info", l.buf, 1);
	});
	metrics_text_head(out, "smspool_connection_up", "gauge",
	                  "1 while the connection is up, 0 otherwise (connecting, down, stopping, disabled).");
	EACH_CONN(metrics_text_sample(out, "smspool_connection_up", l.buf, mc->state == 2 && mc->present > 0));
	metrics_text_head(out, "smspool_connection_state", "gauge",
	                  "The connection's state: 1 for the current one of down, connecting, up, stopping, "
	                  "disabled.");
	EACH_CONN({
		size_t base = l.len;
		for (int s = 0; s < 5; s++) {
			l.len = base;
			l.buf[base] = '\0';
			sbuf_printf(&l, ",state=\"%s\"", s < 4 ? state_names[s] : "disabled");
			int cur = mc->present > 0 ? mc->state : 4;
			metrics_text_sample(out, "smspool_connection_state", l.buf, cur == s);
		}
	});
	metrics_text_head(out, "smspool_connection_window", "gauge", "The connection's window (messages in flight).");
	EACH_CONN(metrics_text_sample(out, "smspool_connection_window", l.buf, mc->window));
	metrics_text_head(out, "smspool_connection_window_in_use", "gauge",
	                  "Messages holding a window slot: submitted and not answered, or answered and not "
	                  "committed.");
	EACH_CONN(metrics_text_sample(out, "smspool_connection_window_in_use", l.buf, mc->in_use));
	metrics_text_head(out, "smspool_connection_submits_total", "counter", "Messages handed to the connection.");
	EACH_CONN(metrics_text_sample(out, "smspool_connection_submits_total", l.buf, (double)get(&mc->submits)));
	metrics_text_head(out, "smspool_connection_retries_total", "counter",
	                  "Submits of messages that had been tried before.");
	EACH_CONN(metrics_text_sample(out, "smspool_connection_retries_total", l.buf, (double)get(&mc->retries)));
	metrics_text_head(out, "smspool_connection_results_total", "counter",
	                  "Submit outcomes by class (sent, temporary, throttled, rejected, failed, no_route, "
	                  "release, expired).");
	EACH_CONN({
		size_t base = l.len;
		for (int o = 0; o < METRICS_OUTCOMES; o++) {
			if (o == MSG_NO_ROUTE)
				continue; /* decided before any connection */
			l.len = base;
			l.buf[base] = '\0';
			sbuf_printf(&l, ",class=\"%s\"", msg_outcome_name((enum msg_outcome)o));
			metrics_text_sample(out, "smspool_connection_results_total", l.buf,
			                    (double)get(&mc->outcomes[o]));
		}
	});
	metrics_text_head(out, "smspool_connection_throttled_total", "counter",
	                  "Throttling events: the peer asked to slow down (source=peer) or the connection "
	                  "waited for its throughput limit (source=limit).");
	EACH_CONN({
		size_t base = l.len;
		sbuf_adds(&l, ",source=\"peer\"");
		metrics_text_sample(out, "smspool_connection_throttled_total", l.buf,
		                    (double)get(&mc->outcomes[MSG_THROTTLED]));
		l.len = base;
		l.buf[base] = '\0';
		sbuf_adds(&l, ",source=\"limit\"");
		metrics_text_sample(out, "smspool_connection_throttled_total", l.buf, (double)get(&mc->rate_limited));
	});
	metrics_text_head(out, "smspool_connection_send_latency_seconds", "histogram",
	                  "From the submit to the peer's answer (accepted or refused).");
	EACH_CONN(hist_render(out, "smspool_connection_send_latency_seconds", l.buf, &mc->latency));
	metrics_text_head(out, "smspool_connection_reports_received_total", "counter",
	                  "Delivery reports received on the connection.");
	EACH_CONN(
	    metrics_text_sample(out, "smspool_connection_reports_received_total", l.buf, (double)get(&mc->reports)));
	metrics_text_head(out, "smspool_connection_inbound_total", "counter", "Inbound texts received.");
	EACH_CONN(metrics_text_sample(out, "smspool_connection_inbound_total", l.buf, (double)get(&mc->inbound)));
#undef EACH_CONN
	sbuf_free(&l);
}

void metrics_render(struct sbuf *out, const char *instance, const struct metrics_db *db)
{
	struct sbuf l;
	sbuf_init(&l);
	pthread_mutex_lock(&lock);
	render_conns(out);
	/* Set by the loop's first metrics_conn_get, under the lock: a scrape
	 * before any connection exists would race with it. */
	time_t start = started_at;
	pthread_mutex_unlock(&lock);

	metrics_text_head(out, "smspool_db_statement_seconds", "histogram",
	                  "Latency of the daemon's batch statements: claim, write (results and reports), inbound.");
	for (int k = 0; k < METRICS_STMT_N; k++) {
		sbuf_reset(&l);
		sbuf_printf(&l, "statement=\"%s\"", stmt_names[k]);
		hist_render(out, "smspool_db_statement_seconds", l.buf, &stmt_lat[k]);
	}
	metrics_text_head(out, "smspool_db_statement_rows", "histogram", "Rows carried (or claimed) per statement.");
	for (int k = 0; k < METRICS_STMT_N; k++) {
		sbuf_reset(&l);
		sbuf_printf(&l, "statement=\"%s\"", stmt_names[k]);
		uint64_t c[ROW_N + 1];
		for (int i = 0; i <= ROW_N; i++)
			c[i] = get(&stmt_rows[k].b[i]);
		metrics_text_histogram(out, "smspool_db_statement_rows", l.buf, row_bounds, ROW_N, c,
		                       (double)get(&stmt_rows[k].sum));
	}
	metrics_text_head(out, "smspool_db_reconnects_total", "counter",
	                  "Database connections re-established after a loss (store and claimer).");
	metrics_text_sample(out, "smspool_db_reconnects_total", "", (double)get(&db_reconnects));
	metrics_text_head(out, "smspool_claimed_at_submit_total", "counter",
	                  "Messages inserted already claimed by this daemon and sent without a claim (link batches).");
	metrics_text_sample(out, "smspool_claimed_at_submit_total", "", (double)get(&claimed_at_submit));
	if (db) {
		metrics_text_head(out, "smspool_db_up", "gauge", "1 when the database answered the last check.");
		metrics_text_sample(out, "smspool_db_up", "", db->reachable);
		if (db->reachable) {
			metrics_text_head(out, "smspool_queue_depth", "gauge",
			                  "Messages waiting in smspool.queue, not claimed (all daemons).");
			metrics_text_sample(out, "smspool_queue_depth", "", (double)db->queue_depth);
			metrics_text_head(out, "smspool_queue_sending", "gauge",
			                  "Messages of smspool.queue claimed by a daemon.");
			metrics_text_sample(out, "smspool_queue_sending", "", (double)db->queue_sending);
			metrics_text_head(out, "smspool_queue_oldest_age_seconds", "gauge",
			                  "Age of the oldest message waiting in the queue (0: none).");
			metrics_text_sample(out, "smspool_queue_oldest_age_seconds", "", db->oldest_queued_s);
			metrics_text_head(out, "smspool_reports_unmatched", "gauge",
			                  "Stored delivery reports not matched to a message, by connection.");
			for (int i = 0; i < db->nunmatched; i++) {
				sbuf_reset(&l);
				sbuf_adds(&l, "connection=\"");
				metrics_text_label(&l, db->unmatched_conn[i]);
				sbuf_adds(&l, "\"");
				metrics_text_sample(out, "smspool_reports_unmatched", l.buf, (double)db->unmatched[i]);
			}
		}
		metrics_text_head(out, "smspool_db_snapshot_age_seconds", "gauge",
		                  "Age of the cached database figures above (refreshed at most every few seconds).");
		metrics_text_sample(out, "smspool_db_snapshot_age_seconds", "", db->age_s);
	}
	metrics_text_head(out, "smspool_build_info", "gauge",
	                  "The daemon's version and instance name, as label daemon (value 1).");
	sbuf_reset(&l);
	sbuf_printf(&l, "version=\"%s\",daemon=\"", SMSPOOL_VERSION);
	metrics_text_label(&l, instance);
	sbuf_adds(&l, "\"");
	metrics_text_sample(out, "smspool_build_info", l.buf, 1);
	metrics_text_head(out, "smspool_start_time_seconds", "gauge", "When the daemon started, Unix seconds.");
	metrics_text_sample(out, "smspool_start_time_seconds", "", (double)start);
	sbuf_free(&l);
}

void metrics_free_all(void)
{
	pthread_mutex_lock(&lock);
	while (conns) {
		struct metrics_conn *mc = conns;
		conns = mc->next;
		free(mc->name);
		free(mc->type);
		free(mc);
	}
	pthread_mutex_unlock(&lock);
}
