/* pg: see pg.h. */
#include "pg.h"

#include <stdio.h>
#include <string.h>

PGconn *pg_connect(const char *conninfo, const char *app_name, struct errbuf *err)
{
	/* Keepalives: a database host that vanishes (a failover, a cut cable)
	 * is noticed within about a minute instead of the kernel's two hours. */
	const char *keys[] = {"dbname",          "application_name",    "connect_timeout",  "keepalives",
	                      "keepalives_idle", "keepalives_interval", "keepalives_count", NULL};
	const char *vals[] = {conninfo, app_name, "10", "1", "30", "10", "3", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
		msg[strcspn(msg, "\n")] = '\0';
		errbuf_set(err, "cannot connect to the database: %s", msg);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, NULL, NULL);
	return c;
}

int pg_result_error(const PGresult *r, PGconn *c, struct errbuf *err)
{
	const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
	if (!primary) {
		char msg[256];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
		msg[strcspn(msg, "\n")] = '\0';
		return errbuf_set(err, "%s", *msg ? msg : "database error");
	}
	if (detail)
		return errbuf_set(err, "%s (%s)", primary, detail);
	return errbuf_set(err, "%s", primary);
}

int pg_exec(PGconn *c, const char *sql, struct errbuf *err)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = 0;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = pg_result_error(r, c, err);
	PQclear(r);
	return rc;
}

PGresult *pg_query(PGconn *c, const char *sql, int nparams, const char *const *params, struct errbuf *err)
{
	PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_result_error(r, c, err);
		PQclear(r);
		return NULL;
	}
	return r;
}

enum pg_error_kind pg_sqlstate_kind(const char *st)
{
	if (!st || strlen(st) != 5)
		return PG_ERR_TRANSIENT;
	/* A read-only server (a standby after a failover) or one shutting down:
	 * retrying here is pointless; a new connection may reach the primary
	 * (multi-host conninfo with target_session_attrs=read-write). */
	if (strncmp(st, "08", 2) == 0 || strcmp(st, "25006") == 0 || strcmp(st, "57P01") == 0 ||
	    strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0)
		return PG_ERR_RECONNECT;
	if (strcmp(st, "55P03") == 0)
		return PG_ERR_LOCKED;
	/* data exception, integrity violation, raise_exception from our own
	 * functions: the same rows will be refused again */
	if (strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0 || strncmp(st, "P0", 2) == 0)
		return PG_ERR_DATA;
	return PG_ERR_TRANSIENT;
}

enum pg_error_kind pg_error_kind(const PGresult *r, PGconn *c)
{
	if (!c || PQstatus(c) != CONNECTION_OK)
		return PG_ERR_RECONNECT;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	/* "no partition of relation … found for row" is a check violation
	 * without a constraint (a CHECK names its own): the row is good, its
	 * partition is not made yet (032_part: partitions_ahead() runs on the
	 * elected daemon's heartbeat).  Retried, never refused. */
	if (state && strcmp(state, "23514") == 0 && !PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME))
		return PG_ERR_TRANSIENT;
	return pg_sqlstate_kind(state);
}

int pg_daemon_session(PGconn *c, struct errbuf *err)
{
	/* client_connection_check_interval (PostgreSQL 14+): the backend of a
	 * daemon that died ends its statement within a second and lets go of
	 * the daemon's locks (its instance lock among them). */
	/* plan_cache_mode: the daemon runs the same few statements (and the
	 * plpgsql inside its functions) thousands of times a second on
	 * partitioned tables, where a custom plan is made again at each call;
	 * their generic plans prune partitions at run time and are as good
	 * (make bench: claim of a few rows 2.2 -> 1.2 ms, INSERT -> wire p50
	 * 5.8 -> 3.3 ms, lifecycle +20%). */
	return pg_exec(c,
	               "SET plan_cache_mode = force_generic_plan; "
	               "SET lock_timeout = '5s'; SET statement_timeout = '120s'; "
	               "SET idle_in_transaction_session_timeout = '60s'; "
	               "SELECT set_config('client_connection_check_interval', '1000', false) "
	               "WHERE current_setting('server_version_num')::int >= 140000",
	               err);
}
