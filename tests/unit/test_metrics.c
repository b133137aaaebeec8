/* The Prometheus text exposition format (version 0.0.4) as metrics_text.c
 * writes it, and metrics.c's families as a scraper parses them: label values
 * escaped, histogram buckets cumulative with +Inf equal to _count, every
 * sample line "name{labels} value" with a # TYPE before its family, and the
 * hooks counting what they are told.  Also metrics_listen in the config. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "driver.h"
#include "metrics.h"

static void label_escaping(void **state)
{
	(void)state;
	struct sbuf b;
	sbuf_init(&b);
	metrics_text_label(&b, "a\"b\\c\nd");
	assert_string_equal(b.buf, "a\\\"b\\\\c\\nd");
	sbuf_reset(&b);
	metrics_text_label(&b, NULL);
	assert_true(b.len == 0);
	sbuf_free(&b);
}

static void head_and_samples(void **state)
{
	(void)state;
	struct sbuf b;
	sbuf_init(&b);
	metrics_text_head(&b, "x_total", "counter", "Things\\counted\nhere.");
	metrics_text_sample(&b, "x_total", "connection=\"a\"", 42);
	metrics_text_sample(&b, "x_total", "", 0.25);
	metrics_text_sample(&b, "x_total", NULL, NAN);
	metrics_text_sample(&b, "x_total", "", INFINITY);
	metrics_text_sample(&b, "x_total", "", -INFINITY);
	metrics_text_sample(&b, "x_total", "", 1796285938);
	assert_string_equal(b.buf, "# HELP x_total Things\\\\counted\\nhere.\n"
	                           "# TYPE x_total counter\n"
	                           "x_total{connection=\"a\"} 42\n"
	                           "x_total 0.25\n"
	                           "x_total NaN\n"
	                           "x_total +Inf\n"
	                           "x_total -Inf\n"
	                           "x_total 1796285938\n");
	sbuf_free(&b);
}

static void histogram_is_cumulative(void **state)
{
	(void)state;
	struct sbuf b;
	sbuf_init(&b);
	const double bounds[] = {0.005, 0.1, 1};
	const uint64_t counts[] = {2, 0, 3, 1}; /* per bucket; the last is above 1 */
	metrics_text_histogram(&b, "lat_seconds", "connection=\"e\"", bounds, 3, counts, 4.5);
	assert_string_equal(b.buf, "lat_seconds_bucket{connection=\"e\",le=\"0.005\"} 2\n"
	                           "lat_seconds_bucket{connection=\"e\",le=\"0.1\"} 2\n"
	                           "lat_seconds_bucket{connection=\"e\",le=\"1\"} 5\n"
	                           "lat_seconds_bucket{connection=\"e\",le=\"+Inf\"} 6\n"
	                           "lat_seconds_sum{connection=\"e\"} 4.5\n"
	                           "lat_seconds_count{connection=\"e\"} 6\n");
	sbuf_reset(&b);
	metrics_text_histogram(&b, "rows", "", bounds, 3, counts, 7);
	assert_non_null(strstr(b.buf, "rows_bucket{le=\"+Inf\"} 6\nrows_sum 7\nrows_count 6\n"));
	sbuf_free(&b);
}

/* The value of the sample line that starts with prefix (name{labels}). */
static double value_of(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = text; p && *p;) {
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	fail_msg("no sample %s in:\n%s", prefix, text);
	return -1;
}

/* Every line is a comment or "name[{...}] value"; every sample's family has
 * had its # TYPE line. */
static void assert_well_formed(const char *text)
{
	char typed[64][96];
	int ntyped = 0;
	const char *p = text;
	while (*p) {
		const char *e = strchr(p, '\n');
		assert_non_null(e);
		char line[1024];
		size_t n = (size_t)(e - p) < sizeof line - 1 ? (size_t)(e - p) : sizeof line - 1;
		memcpy(line, p, n);
		line[n] = 0;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_true(ntyped < 64);
			sscanf(line + 7, "%95s", typed[ntyped++]);
		} else if (line[0] != '#') {
			size_t nl = strcspn(line, "{ ");
			assert_true(nl > 0);
			bool found = false;
			for (int i = 0; i < ntyped && !found; i++) {
				size_t tl = strlen(typed[i]);
				found =
				    strncmp(line, typed[i], tl) == 0 &&
				    (nl == tl || strcmp(line + tl, "") == 0 || strncmp(line + tl, "_bucket", 7) == 0 ||
				     strncmp(line + tl, "_sum", 4) == 0 || strncmp(line + tl, "_count", 6) == 0);
			}
			if (!found)
				fail_msg("sample without # TYPE: %s", line);
			const char *sp = strrchr(line, ' ');
			assert_non_null(sp);
			char *end;
			strtod(sp + 1, &end);
			if (*end && strcmp(sp + 1, "+Inf") && strcmp(sp + 1, "NaN"))
				fail_msg("bad value in: %s", line);
		}
		p = e + 1;
	}
}

/* The daemon's threads as they use the metrics: the HTTP thread scrapes
 * while the loop creates the first connection and counts, and a store
 * thread times its statements.  Checked for data races by the TSan build
 * (make TSAN=1): the scrape once read the start time, which the loop's
 * first metrics_conn_get sets, outside the lock.  Runs before any other
 * test calls metrics_conn_get, so that this one is the first. */
struct scraper {
	int renders;
	_Atomic int stop;
};

static void *scrape_main(void *arg)
{
	struct scraper *k = arg;
	struct sbuf b;
	sbuf_init(&b);
	while (!k->stop || k->renders < 2) {
		sbuf_reset(&b);
		metrics_render(&b, "inst", NULL);
		k->renders++;
	}
	sbuf_free(&b);
	return NULL;
}

static void *statements_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		metrics_stmt(METRICS_STMT_INBOUND, metrics_now_ns(), 10);
	return NULL;
}

static void scrape_while_writing(void **state)
{
	(void)state;
	struct scraper k = {0};
	pthread_t reader, writer;
	assert_int_equal(pthread_create(&reader, NULL, scrape_main, &k), 0);
	assert_int_equal(pthread_create(&writer, NULL, statements_main, NULL), 0);
	struct metrics_conn *mc = metrics_conn_get("race", "loopback");
	struct msg m = {.id = 1, .attempts = 1, .outcome = MSG_SENT};
	for (int i = 0; i < 1000; i++) {
		metrics_conn_state(mc, i % 2 ? CONN_UP : CONN_CONNECTING, "detail");
		metrics_conn_submit(mc, &m);
		metrics_conn_complete(mc, &m);
		metrics_conn_window(mc, i % 7, 10);
	}
	pthread_join(writer, NULL);
	k.stop = 1;
	pthread_join(reader, NULL);
	struct sbuf b;
	sbuf_init(&b);
	metrics_render(&b, "inst", NULL);
	assert_well_formed(b.buf);
	assert_true(value_of(b.buf, "smspool_connection_submits_total{connection=\"race\"}") == 1000);
	assert_true(value_of(b.buf, "smspool_db_statement_rows_count{statement=\"inbound\"}") == 1000);
	assert_true(value_of(b.buf, "smspool_start_time_seconds") > 0);
	sbuf_free(&b);
	metrics_free_all();
}

static void hooks_count(void **state)
{
	(void)state;
	struct metrics_conn *mc = metrics_conn_get("emu \"1\"", "emulator");
	metrics_conn_state(mc, CONN_UP, "fine");
	struct msg m = {.id = 1, .attempts = 1};
	for (int i = 0; i < 3; i++) {
		metrics_conn_submit(mc, &m);
		m.outcome = i == 2 ? MSG_THROTTLED : MSG_SENT;
		metrics_conn_complete(mc, &m);
	}
	m.attempts = 2;
	metrics_conn_submit(mc, &m);
	m.outcome = MSG_RELEASE;
	metrics_conn_complete(mc, &m);
	metrics_conn_report(mc);
	metrics_conn_inbound(mc);
	metrics_conn_window(mc, 3, 50);
	metrics_stmt(METRICS_STMT_WRITE, metrics_now_ns(), 150);
	metrics_db_reconnect();
	char *names[] = {"emu \"1\""};
	int64_t unmatched[] = {7};
	struct metrics_db db = {.reachable = true,
	                        .queue_depth = 12,
	                        .oldest_queued_s = 3.5,
	                        .nunmatched = 1,
	                        .unmatched_conn = names,
	                        .unmatched = unmatched};
	struct sbuf b;
	sbuf_init(&b);
	metrics_render(&b, "inst", &db);
	assert_well_formed(b.buf);
	const char *L = "{connection=\"emu \\\"1\\\"\"";
	char name[300];
#define V(metric, suffix) (snprintf(name, sizeof name, "%s%s%s", metric, L, suffix), value_of(b.buf, name))
	assert_true(V("smspool_connection_submits_total", "}") == 4);
	assert_true(V("smspool_connection_retries_total", "}") == 1);
	assert_true(V("smspool_connection_results_total", ",class=\"sent\"}") == 2);
	assert_true(V("smspool_connection_results_total", ",class=\"release\"}") == 1);
	assert_true(V("smspool_connection_throttled_total", ",source=\"peer\"}") == 1);
	assert_true(V("smspool_connection_up", "}") == 1);
	assert_true(V("smspool_connection_window_in_use", "}") == 3);
	assert_true(V("smspool_connection_reports_received_total", "}") == 1);
	assert_true(V("smspool_connection_inbound_total", "}") == 1);
	/* A released message never reached the peer: 3 latencies, not 4. */
	assert_true(V("smspool_connection_send_latency_seconds_count", "}") == 3);
	assert_true(V("smspool_connection_send_latency_seconds_bucket", ",le=\"+Inf\"}") == 3);
	assert_true(V("smspool_reports_unmatched", "}") == 7);
	assert_true(value_of(b.buf, "smspool_db_statement_rows_bucket{statement=\"write\",le=\"100\"}") == 0);
	assert_true(value_of(b.buf, "smspool_db_statement_rows_bucket{statement=\"write\",le=\"200\"}") == 1);
	assert_true(value_of(b.buf, "smspool_db_reconnects_total") == 1);
	assert_true(value_of(b.buf, "smspool_queue_depth") == 12);
	assert_true(value_of(b.buf, "smspool_queue_oldest_age_seconds") == 3.5);
	assert_non_null(strstr(b.buf, "smspool_build_info{version=\""));

	/* Re-enabled while the old instance still stops: still present. */
	struct metrics_conn *again = metrics_conn_get("emu \"1\"", "emulator");
	assert_ptr_equal(again, mc);
	metrics_conn_gone(mc);
	struct metrics_conn_view v1[2];
	assert_int_equal(metrics_conn_views(v1, 2), 1);
	assert_true(v1[0].present);
	/* Stopped and not replaced: intentionally down, and says so. */
	metrics_conn_gone(mc);
	sbuf_reset(&b);
	metrics_render(&b, "inst", NULL);
	assert_true(V("smspool_connection_up", "}") == 0);
	assert_true(V("smspool_connection_state", ",state=\"disabled\"}") == 1);
	assert_true(V("smspool_connection_submits_total", "}") == 4); /* counters survive */
	struct metrics_conn_view v[4];
	assert_int_equal(metrics_conn_views(v, 4), 1);
	assert_false(v[0].present);
	assert_int_equal(v[0].submits, 4);
	sbuf_free(&b);
	metrics_free_all();
}

static void config_metrics_listen(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof path, "/tmp/smspool-test-metrics.%d", (int)getpid());
	const struct {
		const char *val, *want; /* want NULL: refused */
	} cases[] = {
	    {"9100", "127.0.0.1:9100"}, {"0.0.0.0:9100", "0.0.0.0:9100"}, {"[::1]:0", "[::1]:0"}, {"", NULL},
	    {"localhost:9100", NULL},   {"127.0.0.1:99999", NULL},        {"127.0.0.1:", NULL},
	};
	unsetenv("SMSPOOL_METRICS_LISTEN");
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "metrics_listen = %s\n", cases[i].val);
		fclose(f);
		setenv("SMSPOOL_CONF", path, 1);
		struct config cfg;
		struct errbuf err = {""};
		int rc = config_load(&cfg, &err);
		if (!*cases[i].val) {
			assert_int_equal(rc, 0);
			assert_null(cfg.metrics_listen); /* empty: off */
		} else if (cases[i].want) {
			assert_int_equal(rc, 0);
			assert_string_equal(cfg.metrics_listen, cases[i].want);
		} else {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(err.msg, "metrics_listen"));
		}
		config_free(&cfg);
	}
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "metrics_listen = 9100\n");
	fclose(f);
	setenv("SMSPOOL_METRICS_LISTEN", "127.0.0.1:1234", 1); /* the environment wins */
	struct config cfg;
	struct errbuf err;
	assert_int_equal(config_load(&cfg, &err), 0);
	assert_string_equal(cfg.metrics_listen, "127.0.0.1:1234");
	config_free(&cfg);
	unsetenv("SMSPOOL_METRICS_LISTEN");

	/* metrics_auth: none (default) or admin. */
	const char *auth[] = {"metrics_auth = admin\n", "metrics_auth = none\n", "metrics_auth = yes\n"};
	for (int i = 0; i < 3; i++) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(auth[i], f);
		fclose(f);
		struct errbuf aerr = {""};
		int rc = config_load(&cfg, &aerr);
		assert_int_equal(rc, i == 2 ? -1 : 0);
		if (i < 2)
			assert_int_equal(cfg.metrics_auth, i == 0);
		else
			assert_non_null(strstr(aerr.msg, "metrics_auth: must be none or admin"));
		config_free(&cfg);
	}
	unsetenv("SMSPOOL_CONF");
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(label_escaping),
	    cmocka_unit_test(head_and_samples),
	    cmocka_unit_test(histogram_is_cumulative),
	    cmocka_unit_test(scrape_while_writing),
	    cmocka_unit_test(hooks_count),
	    cmocka_unit_test(config_metrics_listen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
