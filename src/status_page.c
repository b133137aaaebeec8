/* status_page: the HTML status page at / of the operations endpoint.  One
 * self-contained page (inline CSS and SVG, no script, no external asset)
 * that reloads itself every few seconds with a meta refresh.  It shows every
 * connection of every daemon as the database records them, this daemon's
 * live figures (window in use) beside its own rows, the rate of messages
 * accepted per connection over the last ten minutes as a small line chart,
 * failures of the last hour, the queue and the daemons' heartbeats.
 * Read-only: it answers GET and nothing in it changes anything.
 * Every value that comes from the database or a peer is HTML-escaped. */
#include "status_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_VIEWS = 256 };

static void esc(struct sbuf *o, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<':
			sbuf_adds(o, "&lt;");
			break;
		case '>':
			sbuf_adds(o, "&gt;");
			break;
		case '&':
			sbuf_adds(o, "&amp;");
			break;
		case '"':
			sbuf_adds(o, "&quot;");
			break;
		case '\'':
			sbuf_adds(o, "&#39;");
			break;
		default:
			sbuf_add(o, s, 1);
		}
	}
}

static const char *css =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.2em;color:#222;background:#fafafa}"
    "h1{font-size:1.3em;margin:0 0 .2em}h2{font-size:1.05em;margin:1.4em 0 .4em}"
    "table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:.25em .6em;"
    "text-align:left;vertical-align:middle}th{background:#eee}.num{text-align:right}"
    ".st-up{color:#176f2c;font-weight:600}.st-connecting{color:#a66b00;font-weight:600}"
    ".st-down,.st-error{color:#b00020;font-weight:600}.st-disabled,.st-stopping{color:#777}"
    ".ok{color:#176f2c}.bad{color:#b00020}.small{color:#666;font-size:.9em}"
    ".summary span{display:inline-block;margin-right:1.5em}";

/* A polyline of OPS_RATE_BUCKETS points, oldest left; y = messages/s. */
static void chart(struct sbuf *o, const double *rate)
{
	double max = 0;
	for (int i = 0; i < OPS_RATE_BUCKETS; i++)
		if (rate[i] > max)
			max = rate[i];
	const int w = 160, h = 32;
	sbuf_printf(o, "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", w, h, w,
	            h);
	sbuf_printf(o, "<title>messages/s per 30 s over the last %d minutes, peak %.1f</title>",
	            OPS_RATE_BUCKETS * OPS_RATE_BUCKET_S / 60, max);
	sbuf_printf(o,
	            "<rect width=\"%d\" height=\"%d\" fill=\"#f3f6fb\"/><polyline fill=\"none\" stroke=\"#2a62c9\" "
	            "stroke-width=\"1.5\" points=\"",
	            w, h);
	for (int i = 0; i < OPS_RATE_BUCKETS; i++) {
		double v = rate[OPS_RATE_BUCKETS - 1 - i]; /* bucket 0 is the newest */
		double x = (double)i * (w - 2) / (OPS_RATE_BUCKETS - 1) + 1;
		double y = max > 0 ? h - 2 - v / max * (h - 4) : h - 2;
		sbuf_printf(o, "%.1f,%.1f ", x, y);
	}
	sbuf_adds(o, "\"/></svg>");
}

static void rates_of(const struct ops_page_data *p, const char *conn, double *rate)
{
	memset(rate, 0, sizeof(double) * OPS_RATE_BUCKETS);
	for (int i = 0; p->rates && i < PQntuples(p->rates); i++) {
		if (strcmp(PQgetvalue(p->rates, i, 0), conn))
			continue;
		int b = atoi(PQgetvalue(p->rates, i, 1));
		if (b >= 0 && b < OPS_RATE_BUCKETS)
			rate[b] = atof(PQgetvalue(p->rates, i, 2)) / OPS_RATE_BUCKET_S;
	}
}

static long errors_of(const struct ops_page_data *p, const char *conn)
{
	for (int i = 0; p->errors && i < PQntuples(p->errors); i++)
		if (strcmp(PQgetvalue(p->errors, i, 0), conn) == 0)
			return atol(PQgetvalue(p->errors, i, 1));
	return 0;
}

static void connections(struct sbuf *o, const struct ops_page_data *p, const char *instance,
                        const struct metrics_conn_view *v, int nv)
{
	sbuf_adds(o, "<h2>Connections</h2><table id=\"connections\"><tr><th>connection</th><th>type</th>"
	             "<th>daemon</th><th>state</th><th>detail</th><th>since</th><th>window in use</th>"
	             "<th>messages/s (10 min)</th><th>errors (1 h)</th></tr>");
	for (int i = 0; p->conns && i < PQntuples(p->conns); i++) {
		const char *name = PQgetvalue(p->conns, i, 0), *type = PQgetvalue(p->conns, i, 1);
		bool enabled = PQgetvalue(p->conns, i, 2)[0] == 't';
		const char *inst = PQgetvalue(p->conns, i, 4), *state = PQgetvalue(p->conns, i, 5);
		const char *detail = PQgetvalue(p->conns, i, 6);
		if (!*state)
			state = enabled ? "not started" : "disabled";
		else if (!enabled && strcmp(state, "down") == 0)
			state = "disabled";
		const char *cls = strcmp(state, "not started") == 0 ? "down" : state;
		sbuf_adds(o, "<tr class=\"conn\" data-connection=\"");
		esc(o, name);
		sbuf_adds(o, "\" data-instance=\"");
		esc(o, inst);
		sbuf_adds(o, "\" data-state=\"");
		esc(o, state);
		sbuf_adds(o, "\"><td>");
		esc(o, name);
		sbuf_adds(o, "</td><td>");
		esc(o, type);
		sbuf_adds(o, "</td><td>");
		esc(o, *inst ? inst : "—");
		sbuf_adds(o, "</td><td class=\"st-");
		esc(o, cls);
		sbuf_adds(o, "\">");
		esc(o, state);
		sbuf_adds(o, "</td><td class=\"small\">");
		esc(o, detail);
		if (*inst)
			sbuf_printf(o, "</td><td class=\"num\">%s s", PQgetvalue(p->conns, i, 7));
		else
			sbuf_adds(o, "</td><td class=\"num\">—");
		sbuf_adds(o, "</td><td class=\"num window\">");
		/* Live only for this daemon's own connections. */
		const struct metrics_conn_view *mine = NULL;
		for (int j = 0; j < nv && strcmp(inst, instance) == 0; j++)
			if (strcmp(v[j].name, name) == 0 && v[j].present)
				mine = &v[j];
		if (mine)
			sbuf_printf(o, "%d / %d", mine->in_use, mine->window);
		else
			sbuf_printf(o, "— / %s", PQgetvalue(p->conns, i, 3));
		sbuf_adds(o, "</td><td>");
		double rate[OPS_RATE_BUCKETS];
		rates_of(p, name, rate);
		chart(o, rate);
		sbuf_printf(o, " <span class=\"small rate\">%.1f/s</span></td>", rate[0]);
		sbuf_printf(o, "<td class=\"num errors\">%ld</td></tr>", errors_of(p, name));
	}
	sbuf_adds(o, "</table>");
}

static void failures(struct sbuf *o, const struct ops_page_data *p)
{
	sbuf_adds(o, "<h2>Recent failures</h2>");
	if (!p->failures || PQntuples(p->failures) == 0) {
		sbuf_adds(o, "<p id=\"failures\" class=\"small\">none in the last day</p>");
		return;
	}
	sbuf_adds(o, "<table id=\"failures\"><tr><th>id</th><th>connection</th><th>status</th><th>class</th>"
	             "<th>code</th><th>error</th><th>at (UTC)</th></tr>");
	for (int i = 0; i < PQntuples(p->failures); i++) {
		sbuf_adds(o, "<tr class=\"failure\">");
		for (int c = 0; c < 7; c++) {
			sbuf_adds(o, c == 0 ? "<td class=\"num\">" : "<td>");
			esc(o, PQgetvalue(p->failures, i, c));
			sbuf_adds(o, "</td>");
		}
		sbuf_adds(o, "</tr>");
	}
	sbuf_adds(o, "</table>");
}

static void daemons(struct sbuf *o, const struct ops_page_data *p)
{
	sbuf_adds(o, "<h2>Daemons</h2><table id=\"daemons\"><tr><th>instance</th><th>host</th><th>pid</th>"
	             "<th>last heartbeat</th><th>started (UTC)</th></tr>");
	for (int i = 0; p->daemons && i < PQntuples(p->daemons); i++) {
		long age = atol(PQgetvalue(p->daemons, i, 3));
		sbuf_adds(o, "<tr class=\"daemon\" data-instance=\"");
		esc(o, PQgetvalue(p->daemons, i, 0));
		sbuf_adds(o, "\"><td>");
		esc(o, PQgetvalue(p->daemons, i, 0));
		sbuf_adds(o, "</td><td>");
		esc(o, PQgetvalue(p->daemons, i, 1));
		sbuf_adds(o, "</td><td class=\"num\">");
		esc(o, PQgetvalue(p->daemons, i, 2));
		/* A heartbeat older than a minute: that daemon is likely gone. */
		sbuf_printf(o, "</td><td class=\"num %s\">%ld s ago</td><td>", age > 60 ? "bad" : "ok", age);
		esc(o, PQgetvalue(p->daemons, i, 4));
		sbuf_adds(o, "</td></tr>");
	}
	sbuf_adds(o, "</table>");
}

void status_page_render(struct sbuf *o, const char *instance, const struct ops_page_data *p,
                        const struct metrics_db *db, int refresh_s)
{
	struct metrics_conn_view *v = calloc(MAX_VIEWS, sizeof *v);
	int nv = v ? metrics_conn_views(v, MAX_VIEWS) : 0;
	if (nv > MAX_VIEWS)
		nv = MAX_VIEWS;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%d %H:%M:%S", &tm);
	sbuf_printf(o,
	            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	            "<meta http-equiv=\"refresh\" content=\"%d\"><title>smspool ",
	            refresh_s);
	esc(o, instance);
	sbuf_printf(o, "</title><style>%s</style></head><body><h1>smspool status</h1>", css);
	sbuf_adds(o, "<p class=\"small\">as seen by daemon <b id=\"instance\">");
	esc(o, instance);
	sbuf_printf(o, "</b> at %s UTC; this page reloads every %d s</p>", now, refresh_s);
	if (p->error[0] || !db->reachable) {
		sbuf_adds(o, "<p id=\"db-error\" class=\"bad\">database not reachable: ");
		esc(o, p->error[0] ? p->error : "no answer");
		sbuf_adds(o, "</p>");
	}
	sbuf_printf(o,
	            "<h2>Queue</h2><p class=\"summary\"><span>queued: <b id=\"queue-depth\">%lld</b></span>"
	            "<span>being sent: <b id=\"queue-sending\">%lld</b></span>"
	            "<span>oldest queued: <b id=\"queue-oldest\">%.0f s</b></span></p>",
	            (long long)db->queue_depth, (long long)db->queue_sending, db->oldest_queued_s);
	connections(o, p, instance, v, nv);
	failures(o, p);
	daemons(o, p);
	sbuf_adds(o, "<p class=\"small\">Also: <a href=\"/metrics\">/metrics</a> (Prometheus), "
	             "<a href=\"/health\">/health</a> (JSON).</p></body></html>\n");
	free(v);
}
