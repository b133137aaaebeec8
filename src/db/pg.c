/* pg: see pg.h. */
#include "pg.h"

#include <stdio.h>
#include <string.h>

PGconn *pg_connect(const char *conninfo, const char *app_name, struct errbuf *err)
{
	const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
	const char *vals[] = {conninfo, app_name, "10", NULL};
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
