/* ops_sql: see ops_sql.h.  A lost connection is retried at the next
 * question (at most once per cache period); a statement_timeout keeps a slow
 * database from holding the HTTP thread for long. */
#include "ops_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct ops_sql {
	char *conninfo;
	PGconn *pg;
	struct metrics_db m;
	uint64_t m_at, page_at, tried_at;
	struct ops_page_data page;
};

struct ops_sql *ops_sql_new(const char *conninfo)
{
	struct ops_sql *q = xcalloc(1, sizeof *q);
	q->conninfo = xstrdup(conninfo);
	return q;
}

static void clear_unmatched(struct metrics_db *m)
{
	for (int i = 0; i < m->nunmatched; i++)
		free(m->unmatched_conn[i]);
	free(m->unmatched_conn);
	free(m->unmatched);
	m->unmatched_conn = NULL;
	m->unmatched = NULL;
	m->nunmatched = 0;
}

static void clear_page(struct ops_page_data *p)
{
	PQclear(p->conns);
	PQclear(p->rates);
	PQclear(p->errors);
	PQclear(p->failures);
	PQclear(p->daemons);
	memset(p, 0, sizeof *p);
}

void ops_sql_free(struct ops_sql *q)
{
	if (!q)
		return;
	clear_unmatched(&q->m);
	clear_page(&q->page);
	if (q->pg)
		PQfinish(q->pg);
	free(q->conninfo);
	free(q);
}

/* Connected, or false with why in err (capacity cap). */
static bool ensure(struct ops_sql *q, char *err, size_t cap)
{
	if (q->pg && PQstatus(q->pg) == CONNECTION_OK)
		return true;
	if (q->pg) {
		PQfinish(q->pg);
		q->pg = NULL;
	}
	const char *keys[] = {"dbname", "application_name", "connect_timeout", "options", NULL};
	const char *vals[] = {q->conninfo, "smspool-ops", "3", "-c statement_timeout=3000", NULL};
	q->pg = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(q->pg) != CONNECTION_OK) {
		snprintf(err, cap, "%s", PQerrorMessage(q->pg));
		char *nl = strchr(err, '\n');
		if (nl)
			*nl = '\0';
		PQfinish(q->pg);
		q->pg = NULL;
		return false;
	}
	return true;
}

static PGresult *ask(struct ops_sql *q, const char *sql)
{
	PGresult *r = PQexec(q->pg, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	PQclear(r);
	return NULL;
}

const struct metrics_db *ops_sql_metrics(struct ops_sql *q)
{
	uint64_t now = now_mono_ms();
	if (q->m_at && now - q->m_at < OPS_SQL_METRICS_MS) {
		q->m.age_s = (double)(now - q->m_at) / 1000.0;
		return &q->m;
	}
	q->m_at = now;
	q->m.age_s = 0;
	char err[256];
	clear_unmatched(&q->m);
	q->m.reachable = false;
	if (!ensure(q, err, sizeof err))
		return &q->m;
	PGresult *r =
	    ask(q, "SELECT count(*) FILTER (WHERE q.claimed_by IS NULL), "
	           "count(*) FILTER (WHERE q.claimed_by IS NOT NULL), "
	           "coalesce(extract(epoch FROM now() - min(o.created_at) FILTER (WHERE q.claimed_by IS NULL)),"
	           " 0)::float8 "
	           "FROM smspool.queue q JOIN smspool.outbox o ON o.id = q.message_id");
	if (!r)
		return &q->m;
	q->m.queue_depth = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	q->m.queue_sending = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	q->m.oldest_queued_s = strtod(PQgetvalue(r, 0, 2), NULL);
	if (q->m.oldest_queued_s < 0)
		q->m.oldest_queued_s = 0;
	PQclear(r);
	r = ask(q, "SELECT connection, count(*) FROM smspool.reports WHERE message_id IS NULL GROUP BY 1 ORDER BY 1");
	if (!r)
		return &q->m;
	int n = PQntuples(r);
	q->m.unmatched_conn = xcalloc((size_t)n + 1, sizeof *q->m.unmatched_conn);
	q->m.unmatched = xcalloc((size_t)n + 1, sizeof *q->m.unmatched);
	for (int i = 0; i < n; i++) {
		q->m.unmatched_conn[i] = xstrdup(PQgetvalue(r, i, 0));
		q->m.unmatched[i] = strtoll(PQgetvalue(r, i, 1), NULL, 10);
	}
	q->m.nunmatched = n;
	PQclear(r);
	q->m.reachable = true;
	return &q->m;
}

const struct ops_page_data *ops_sql_page(struct ops_sql *q)
{
	uint64_t now = now_mono_ms();
	if (q->page_at && now - q->page_at < OPS_SQL_PAGE_MS)
		return &q->page;
	q->page_at = now;
	clear_page(&q->page);
	if (!ensure(q, q->page.error, sizeof q->page.error))
		return &q->page;
	q->page.conns = ask(q, "SELECT c.name, c.type, c.enabled, c.\"window\", coalesce(s.instance, ''), "
	                       "coalesce(s.state, ''), coalesce(s.detail, ''), "
	                       "coalesce(round(extract(epoch FROM now() - s.since))::bigint, 0) "
	                       "FROM smspool.connections c LEFT JOIN smspool.connection_state s ON s.name = c.name "
	                       "ORDER BY c.name, s.instance");
	/* Messages accepted by the peer per 30 s over the last 10 minutes; the
	 * created_at bound lets the BRIN index skip the history. */
	q->page.rates = ask(q, "SELECT connection_used, floor(extract(epoch FROM now() - sent_at) / 30)::int AS b, "
	                       "count(*) FROM smspool.outbox WHERE created_at > now() - interval '1 hour' "
	                       "AND sent_at > now() - interval '10 minutes' AND connection_used IS NOT NULL "
	                       "GROUP BY 1, 2");
	q->page.errors = ask(q, "SELECT connection_used, count(*) FROM smspool.outbox "
	                        "WHERE created_at > now() - interval '2 hours' AND done_at > now() - interval '1 hour' "
	                        "AND status IN ('failed', 'rejected', 'undelivered', 'expired') GROUP BY 1");
	q->page.failures = ask(q, "SELECT id, coalesce(connection_used, ''), status, coalesce(error_class, ''), "
	                          "coalesce(error_code, ''), coalesce(error_text, ''), "
	                          "to_char(done_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
	                          "FROM smspool.outbox WHERE created_at > now() - interval '1 day' "
	                          "AND status IN ('failed', 'rejected', 'undelivered', 'expired') "
	                          "AND done_at IS NOT NULL ORDER BY done_at DESC LIMIT 10");
	q->page.daemons = ask(q, "SELECT instance, coalesce(host, ''), coalesce(pid::text, ''), "
	                         "round(extract(epoch FROM now() - heartbeat_at))::bigint, "
	                         "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
	                         "FROM smspool.daemons ORDER BY instance");
	if (!q->page.conns) {
		snprintf(q->page.error, sizeof q->page.error, "%s", PQerrorMessage(q->pg));
		char *nl = strchr(q->page.error, '\n');
		if (nl)
			*nl = '\0';
	}
	return &q->page;
}

bool ops_sql_admin_auth(struct ops_sql *q, const char *user, const char *pass, const char *peer)
{
	char err[256];
	if (!ensure(q, err, sizeof err))
		return false;
	const char *params[] = {user, pass, peer};
	PGresult *r = PQexecParams(q->pg, "SELECT smspool.admin_auth($1, $2, $3)", 3, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return ok;
}
