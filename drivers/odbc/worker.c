/*
 * odbc worker: see worker.h.  Plain, linear ODBC code on a thread of its own:
 * connect when needed, run the job's statements in one transaction, commit,
 * and on any error roll back, drop the connection and report the driver's
 * SQLSTATE and message.  Long text columns are read with SQLGetData in a
 * loop (psqlODBC reports text as SQL_LONGVARCHAR of a huge size).  Strings
 * travel as SQL_C_CHAR in UTF-8: the connection strings of the tests ask
 * each driver for UTF-8 (MariaDB CHARSET=utf8mb4).
 */
#include "worker.h"

#include <inttypes.h>
#include <pthread.h>
#include <sql.h>
#include <sqlext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "batch.h"
#include "log.h"

const char *const odbc_param_names[ODBC_P_COUNT + 1] = {
    "key", "smspool_id", "status", "error", "sender", "recipient", "body", "connection", "kind", "batch", NULL,
};

struct odbc_worker {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct odbc_job *q[256]; /* a ring: the loop never has more than a few jobs out */
	int qhead, qlen;
	bool quit, cancel;
	struct chan *out;
	const struct odbc_plan *plan;
	SQLHENV env;
	SQLHDBC dbc;
	bool connected;
	SQLSMALLINT key_type;                                          /* SQL type of the take statement's key column */
	enum { DBMS_OTHER, DBMS_SQLITE, DBMS_MYSQL, DBMS_MSSQL } dbms; /* for transient(), param_type() */
	bool batch_off; /* the server refused a batched statement (no JSON_TABLE): portable path */
};

/* Retries of a statement run that met a lock conflict, and the first pause
 * (doubling): about 0.6 s of pauses, plus the driver's own lock waits. */
enum { TRANSIENT_RETRIES = 5, TRANSIENT_PAUSE_MS = 20 };

/* The SQLSTATE and native error of the last diagnostic read (diag), for
 * transient(): the worker is one thread. */
static _Thread_local char last_state[6];
static _Thread_local SQLINTEGER last_native;

/* Writes the first diagnostic record of handle into err as "SQLSTATE: text". */
static void diag(SQLSMALLINT type, SQLHANDLE h, const char *what, char *err, size_t cap, char sqlstate[6])
{
	SQLCHAR state[6] = "", text[256] = "";
	SQLINTEGER native = 0;
	SQLSMALLINT len = 0;
	if (!h || !SQL_SUCCEEDED(SQLGetDiagRec(type, h, 1, state, &native, text, sizeof text, &len)))
		strcpy((char *)state, "HY000");
	last_native = native;
	memcpy(last_state, state, 6);
	/* Drivers end messages with newlines; keep the log on one line. */
	for (char *p = (char *)text; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	snprintf(err, cap, "%s: %s %s", what, state, text[0] ? (char *)text : "(no message)");
	if (sqlstate)
		memcpy(sqlstate, state, 6);
}

static void disconnect(struct odbc_worker *w)
{
	if (w->dbc) {
		if (w->connected)
			SQLDisconnect(w->dbc);
		SQLFreeHandle(SQL_HANDLE_DBC, w->dbc);
	}
	w->dbc = NULL;
	w->connected = false;
}

static int connect_db(struct odbc_worker *w, struct odbc_job *job)
{
	if (w->connected)
		return 0;
	if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, w->env, &w->dbc))) {
		w->dbc = NULL;
		snprintf(job->err, sizeof job->err, "connect: cannot allocate an ODBC connection handle");
		return -1;
	}
	SQLSetConnectAttr(w->dbc, SQL_ATTR_LOGIN_TIMEOUT, (SQLPOINTER)(intptr_t)w->plan->login_timeout_s, 0);
	SQLSetConnectAttr(w->dbc, SQL_ATTR_CONNECTION_TIMEOUT, (SQLPOINTER)(intptr_t)w->plan->query_timeout_s, 0);
	SQLRETURN rc =
	    SQLDriverConnect(w->dbc, NULL, (SQLCHAR *)w->plan->connstr, SQL_NTS, NULL, 0, NULL, SQL_DRIVER_NOPROMPT);
	if (!SQL_SUCCEEDED(rc)) {
		diag(SQL_HANDLE_DBC, w->dbc, "connect", job->err, sizeof job->err, NULL);
		disconnect(w);
		return -1;
	}
	w->connected = true;
	if (!SQL_SUCCEEDED(SQLSetConnectAttr(w->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_OFF, 0))) {
		diag(SQL_HANDLE_DBC, w->dbc, "connect (manual commit)", job->err, sizeof job->err, NULL);
		disconnect(w);
		return -1;
	}
	SQLCHAR dbms[64] = "";
	SQLSMALLINT dlen = 0;
	SQLGetInfo(w->dbc, SQL_DBMS_NAME, dbms, sizeof dbms, &dlen);
	w->dbms = strcasecmp((char *)dbms, "SQLite") == 0                                              ? DBMS_SQLITE
	          : strcasecmp((char *)dbms, "MariaDB") == 0 || strcasecmp((char *)dbms, "MySQL") == 0 ? DBMS_MYSQL
	                                                                                               : DBMS_OTHER;
	log_info("odbc_connected", "conn=%s dbms=\"%s\"", w->plan->conn_name, (char *)dbms);
	return 0;
}

/* Whether the last error was a lock conflict with another session, which
 * the same statements will get past once that session has committed:
 * serialization failures and deadlocks (40001, PostgreSQL 40P01), lock not
 * available (55P03), SQLite's SQLITE_BUSY / SQLITE_LOCKED once its busy
 * timeout ran out (an application writing or reading at that moment), and
 * MariaDB's lock wait timeout and deadlock.  The transaction was rolled
 * back: the run is done again on the same connection, not counted as the
 * database being away (which would put the connection down and send every
 * write it held into backoff). */
static bool transient(const struct odbc_worker *w)
{
	if (strcmp(last_state, "40001") == 0 || strcmp(last_state, "40P01") == 0 || strcmp(last_state, "55P03") == 0)
		return true;
	if (w->dbms == DBMS_SQLITE)
		return last_native == 5 || last_native == 6;
	if (w->dbms == DBMS_MYSQL)
		return last_native == 1205 || last_native == 1213;
	return false;
}

static void pause_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static SQLHSTMT new_stmt(struct odbc_worker *w, struct odbc_job *job)
{
	SQLHSTMT st = NULL;
	if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, w->dbc, &st))) {
		diag(SQL_HANDLE_DBC, w->dbc, "statement handle", job->err, sizeof job->err, NULL);
		return NULL;
	}
	if (w->plan->query_timeout_s > 0)
		SQLSetStmtAttr(st, SQL_ATTR_QUERY_TIMEOUT, (SQLPOINTER)(intptr_t)w->plan->query_timeout_s, 0);
	return st;
}

static int end_tran(struct odbc_worker *w, struct odbc_job *job, bool commit)
{
	if (SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, w->dbc, commit ? SQL_COMMIT : SQL_ROLLBACK)))
		return 0;
	if (commit)
		diag(SQL_HANDLE_DBC, w->dbc, "commit", job->err, sizeof job->err, NULL);
	return -1;
}

/* Reads column col of the current row as text; *out NULL for SQL NULL.
 * *len receives the byte length (a NUL inside shows as len > strlen). */
static int get_text(SQLHSTMT st, SQLUSMALLINT col, char **out, size_t *len_out)
{
	size_t cap = 256, len = 0;
	char *buf = xmalloc(cap);
	*out = NULL;
	for (;;) {
		size_t avail = cap - len;
		SQLLEN ind = 0;
		SQLRETURN rc = SQLGetData(st, col, SQL_C_CHAR, buf + len, (SQLLEN)avail, &ind);
		if (rc == SQL_NO_DATA)
			break;
		if (!SQL_SUCCEEDED(rc)) {
			free(buf);
			return -1;
		}
		if (ind == SQL_NULL_DATA) {
			free(buf);
			return 0;
		}
		if (ind == SQL_NO_TOTAL || (size_t)ind >= avail) {
			len += avail - 1; /* the buffer is full but for the NUL */
			size_t need = ind == SQL_NO_TOTAL ? cap * 2 : len + (size_t)ind - (avail - 1) + 1;
			cap = need > cap * 2 ? need : cap * 2;
			buf = xrealloc(buf, cap);
			continue;
		}
		len += (size_t)ind;
		break;
	}
	buf[len] = '\0';
	*out = buf;
	*len_out = len;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_take(struct odbc_worker *w, struct odbc_job *job)
{
	const struct odbc_stmt *s = &w->plan->take;
	SQLHSTMT st = new_stmt(w, job);
	if (!st)
		return -1;
	int ret = -1;
	/* Rows still being taken come first (the statement orders by key):
	 * read past them. */
	SQLINTEGER batch = w->plan->batch + job->nskip;
	SQLLEN batch_ind = 0;
	SQLSetStmtAttr(st, SQL_ATTR_MAX_ROWS, (SQLPOINTER)(intptr_t)batch, 0);
	for (int i = 0; i < s->nparams; i++) /* only :batch is allowed here */
		SQLBindParameter(st, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_SLONG, SQL_INTEGER, 0, 0, &batch, 0,
		                 &batch_ind);
	if (!SQL_SUCCEEDED(SQLExecDirect(st, (SQLCHAR *)s->sql, SQL_NTS))) {
		diag(SQL_HANDLE_STMT, st, "take statement", job->err, sizeof job->err, NULL);
		goto out;
	}
	SQLSMALLINT ncols = 0;
	SQLNumResultCols(st, &ncols);
	int col[4] = {0, 0, 0, 0}; /* key, recipient, sender, body */
	static const char *const names[4] = {"id", "recipient", "sender", "body"};
	for (SQLSMALLINT i = 1; i <= ncols; i++) {
		SQLCHAR name[128] = "";
		SQLSMALLINT nlen = 0, type = 0, digits = 0, nullable = 0;
		SQLULEN size = 0;
		if (!SQL_SUCCEEDED(SQLDescribeCol(st, (SQLUSMALLINT)i, name, sizeof name, &nlen, &type, &size, &digits,
		                                  &nullable)))
			continue;
		for (int k = 0; k < 4; k++)
			if (!col[k] && strcasecmp((char *)name, names[k]) == 0) {
				col[k] = i;
				if (k == 0)
					w->key_type = type;
			}
	}
	for (int k = 0; k < 4; k++)
		if (!col[k] && k != 2) {
			snprintf(job->err, sizeof job->err,
			         "take statement: its result has no column \"%s\" (it needs id, "
			         "recipient, body and may have sender)",
			         names[k]);
			goto out;
		}
	job->rows = xcalloc((size_t)w->plan->batch, sizeof *job->rows);
	while (job->nrows < w->plan->batch) {
		SQLRETURN rc = SQLFetch(st);
		if (rc == SQL_NO_DATA)
			break;
		if (!SQL_SUCCEEDED(rc)) {
			diag(SQL_HANDLE_STMT, st, "take statement (fetch)", job->err, sizeof job->err, NULL);
			goto out;
		}
		struct odbc_row *r = &job->rows[job->nrows++];
		char **dst[4] = {&r->key, &r->recipient, &r->sender, &r->body};
		/* Columns in ascending order: some drivers read forward only. */
		int order[4] = {0, 1, 2, 3};
		for (int a = 0; a < 4; a++)
			for (int b = a + 1; b < 4; b++)
				if (col[order[b]] < col[order[a]]) {
					int t = order[a];
					order[a] = order[b];
					order[b] = t;
				}
		for (int a = 0; a < 4; a++) {
			int k = order[a];
			if (!col[k])
				continue;
			size_t len = 0;
			if (get_text(st, (SQLUSMALLINT)col[k], dst[k], &len)) {
				diag(SQL_HANDLE_STMT, st, "take statement (read)", job->err, sizeof job->err, NULL);
				goto out;
			}
			if (*dst[k] && strlen(*dst[k]) != len)
				r->bad = "the row contains a NUL character";
		}
		if (!r->key)
			r->bad = "the row's id is NULL";
		else if (job->nskip && bsearch(&r->key, job->skip, (size_t)job->nskip, sizeof *job->skip, cmp_key)) {
			free(r->key), free(r->recipient), free(r->sender), free(r->body);
			memset(r, 0, sizeof *r);
			job->nrows--;
		}
	}
	ret = 0;
out:
	SQLCloseCursor(st);
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	/* End the read transaction (PostgreSQL would hold its snapshot). */
	if (end_tran(w, job, ret == 0) && ret == 0)
		ret = -1;
	return ret;
}

static bool numeric_type(SQLSMALLINT t)
{
	return t == SQL_BIGINT || t == SQL_INTEGER || t == SQL_SMALLINT || t == SQL_TINYINT || t == SQL_NUMERIC ||
	       t == SQL_DECIMAL;
}

/* Binds a text (NULL = SQL NULL) as parameter n. */
static SQLRETURN bind_text(SQLHSTMT st, SQLUSMALLINT n, const char *v, SQLLEN *ind, SQLSMALLINT sqltype)
{
	size_t len = v ? strlen(v) : 0;
	*ind = v ? (SQLLEN)len : SQL_NULL_DATA;
	SQLULEN size = len ? len : 1;
	if (numeric_type(sqltype))
		size = 20;
	return SQLBindParameter(st, n, SQL_PARAM_INPUT, SQL_C_CHAR, sqltype, size, 0, (SQLPOINTER)(v ? v : ""),
	                        (SQLLEN)len, ind);
}

/* The text a parameter takes for op (NULL = SQL NULL). */
static const char *op_text(const struct odbc_worker *w, const struct odbc_op *op, enum odbc_param p)
{
	switch (p) {
	case ODBC_P_KEY:
		return op->key;
	case ODBC_P_STATUS:
		return op->status;
	case ODBC_P_ERROR:
		return op->error;
	case ODBC_P_SENDER:
		return op->sender;
	case ODBC_P_RECIPIENT:
		return op->recipient;
	case ODBC_P_BODY:
		return op->body;
	case ODBC_P_CONNECTION:
		return w->plan->conn_name;
	case ODBC_P_KIND:
		return op->row_kind;
	case ODBC_P_SMSPOOL_ID:
	case ODBC_P_BATCH:
	case ODBC_P_COUNT:
		break;
	}
	return NULL;
}

/* The SQL type a parameter is bound as: the key's column type, else text.
 * SQL Server (untested here) gets SQL_WVARCHAR: a VARCHAR parameter would be
 * converted to the database's code page, losing what it cannot hold (most
 * of Unicode) before it reaches an NVARCHAR column; as SQL_WVARCHAR the
 * driver converts the UTF-8 buffer to UTF-16. */
static SQLSMALLINT param_type(const struct odbc_worker *w, enum odbc_param p)
{
	if (p == ODBC_P_KEY && w->key_type)
		return w->key_type;
	return w->dbms == DBMS_MSSQL ? SQL_WVARCHAR : SQL_VARCHAR;
}

static void exec_failed(SQLHSTMT st, const struct odbc_op *op, struct odbc_job *job, char sqlstate[6])
{
	const char *what = op->kind == ODBC_OP_INSERT  ? "insert statement"
	                   : op->kind == ODBC_OP_TAKEN ? "taken statement"
	                   : op->kind == ODBC_OP_SENT  ? "sent statement"
	                                               : "status statement";
	diag(SQL_HANDLE_STMT, st, what, job->err, sizeof job->err, sqlstate);
}

/* Executes one operation with its statement (prepared on st). */
static int exec_op(struct odbc_worker *w, SQLHSTMT st, const struct odbc_stmt *s, struct odbc_op *op,
                   struct odbc_job *job, char sqlstate[6])
{
	SQLLEN ind[ODBC_STMT_MAX_PARAMS];
	int64_t id = op->smspool_id;
	SQLLEN id_ind = op->smspool_id > 0 ? 0 : SQL_NULL_DATA;
	SQLFreeStmt(st, SQL_RESET_PARAMS);
	for (int i = 0; i < s->nparams; i++) {
		SQLUSMALLINT n = (SQLUSMALLINT)(i + 1);
		enum odbc_param p = (enum odbc_param)s->param[i];
		SQLRETURN rc;
		if (p == ODBC_P_SMSPOOL_ID)
			rc = SQLBindParameter(st, n, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0, &id, 0, &id_ind);
		else
			rc = bind_text(st, n, op_text(w, op, p), &ind[i], param_type(w, p));
		if (!SQL_SUCCEEDED(rc)) {
			diag(SQL_HANDLE_STMT, st, "bind", job->err, sizeof job->err, sqlstate);
			return -1;
		}
	}
	SQLRETURN rc = SQLExecute(st);
	if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) {
		exec_failed(st, op, job, sqlstate);
		return -1;
	}
	SQLFreeStmt(st, SQL_CLOSE);
	return 0;
}

/* Executes n operations of one kind in one SQLExecute with arrays of
 * parameters (column-wise), which a driver may send in one round trip
 * (MariaDB's bulk protocol).  A driver without parameter arrays gets them
 * one by one. */
static int exec_ops(struct odbc_worker *w, SQLHSTMT st, const struct odbc_stmt *s, struct odbc_op *ops, int n,
                    struct odbc_job *job, char sqlstate[6])
{
	if (n == 1 || s->nparams == 0 ||
	    !SQL_SUCCEEDED(SQLSetStmtAttr(st, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)(intptr_t)n, 0))) {
		for (int i = 0; i < n; i++)
			if (exec_op(w, st, s, &ops[i], job, sqlstate))
				return -1;
		return 0;
	}
	int ret = -1;
	void *bufs[ODBC_STMT_MAX_PARAMS] = {0};
	SQLLEN *inds[ODBC_STMT_MAX_PARAMS] = {0};
	SQLSetStmtAttr(st, SQL_ATTR_PARAM_BIND_TYPE, (SQLPOINTER)SQL_PARAM_BIND_BY_COLUMN, 0);
	SQLFreeStmt(st, SQL_RESET_PARAMS);
	for (int i = 0; i < s->nparams; i++) {
		enum odbc_param p = (enum odbc_param)s->param[i];
		SQLUSMALLINT pn = (SQLUSMALLINT)(i + 1);
		inds[i] = xcalloc((size_t)n, sizeof(SQLLEN));
		SQLRETURN rc;
		if (p == ODBC_P_SMSPOOL_ID) {
			int64_t *ids = xcalloc((size_t)n, sizeof *ids);
			bufs[i] = ids;
			for (int k = 0; k < n; k++) {
				ids[k] = ops[k].smspool_id;
				inds[i][k] = ops[k].smspool_id > 0 ? 0 : SQL_NULL_DATA;
			}
			rc = SQLBindParameter(st, pn, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0, ids,
			                      sizeof *ids, inds[i]);
		} else {
			size_t width = 1;
			for (int k = 0; k < n; k++) {
				const char *v = op_text(w, &ops[k], p);
				if (v && strlen(v) + 1 > width)
					width = strlen(v) + 1;
			}
			char *buf = xcalloc((size_t)n, width);
			bufs[i] = buf;
			for (int k = 0; k < n; k++) {
				const char *v = op_text(w, &ops[k], p);
				inds[i][k] = v ? (SQLLEN)strlen(v) : SQL_NULL_DATA;
				if (v)
					memcpy(buf + (size_t)k * width, v, strlen(v) + 1);
			}
			SQLSMALLINT type = param_type(w, p);
			SQLULEN size = numeric_type(type) ? 20 : width - 1;
			rc = SQLBindParameter(st, pn, SQL_PARAM_INPUT, SQL_C_CHAR, type, size ? size : 1, 0, buf,
			                      (SQLLEN)width, inds[i]);
		}
		if (!SQL_SUCCEEDED(rc)) {
			diag(SQL_HANDLE_STMT, st, "bind", job->err, sizeof job->err, sqlstate);
			goto out;
		}
	}
	SQLRETURN rc = SQLExecute(st);
	if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) {
		exec_failed(st, &ops[0], job, sqlstate);
		goto out;
	}
	SQLFreeStmt(st, SQL_CLOSE);
	ret = 0;
out:
	SQLFreeStmt(st, SQL_RESET_PARAMS);
	SQLSetStmtAttr(st, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)1, 0);
	for (int i = 0; i < s->nparams; i++)
		free(bufs[i]), free(inds[i]);
	return ret;
}

/* Runs ops[0..n) of one kind as the one batched statement of batch.h on
 * *bst (prepared here once).  Returns 0 done, -1 failed (job->err and
 * sqlstate set), 1 not done and nothing written: take the portable path
 * (a key that is no integer, or a server without JSON_TABLE, which then
 * keeps the portable path: a failed statement leaves MariaDB's
 * transaction as it was). */
static int exec_batch(struct odbc_worker *w, SQLHSTMT *bst, struct odbc_op *ops, int n, struct odbc_job *job,
                      char sqlstate[6])
{
	char *json = odbc_batch_json(ops, n);
	if (!json)
		return 1;
	int ret = -1;
	char err[320];
	if (!*bst) {
		*bst = new_stmt(w, job);
		if (!*bst)
			goto out;
		if (!SQL_SUCCEEDED(SQLPrepare(*bst, (SQLCHAR *)w->plan->batch_sql[ops[0].kind], SQL_NTS))) {
			diag(SQL_HANDLE_STMT, *bst, "prepare (batched)", err, sizeof err, sqlstate);
			goto refused;
		}
	}
	SQLLEN len = (SQLLEN)strlen(json);
	if (!SQL_SUCCEEDED(SQLBindParameter(*bst, 1, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_LONGVARCHAR, (SQLULEN)len, 0,
	                                    json, len, &len))) {
		diag(SQL_HANDLE_STMT, *bst, "bind", job->err, sizeof job->err, sqlstate);
		goto out;
	}
	SQLRETURN rc = SQLExecute(*bst);
	SQLFreeStmt(*bst, SQL_RESET_PARAMS);
	if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) {
		diag(SQL_HANDLE_STMT, *bst, "batched statement", err, sizeof err, sqlstate);
		if (strncmp(sqlstate, "42", 2) == 0)
			goto refused;
		exec_failed(*bst, &ops[0], job, sqlstate);
		goto out;
	}
	SQLFreeStmt(*bst, SQL_CLOSE);
	ret = 0;
	goto out;
refused: /* a syntax error or unknown function: this server has no JSON_TABLE */
	log_info("odbc_batch_off", "conn=%s error=\"%s\"", w->plan->conn_name, err);
	w->batch_off = true;
	ret = 1;
out:
	free(json);
	return ret;
}

static const struct odbc_stmt *op_stmt(const struct odbc_plan *p, enum odbc_op_kind k)
{
	return k == ODBC_OP_TAKEN    ? &p->taken
	       : k == ODBC_OP_STATUS ? &p->status
	       : k == ODBC_OP_SENT   ? &p->sent
	                             : &p->insert;
}

/* Whether a SQLSTATE is about the data of one row (22 data exception, 23
 * integrity constraint): that row is refused, the others may go. */
static bool row_error(const char *state)
{
	return strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0;
}

/* Runs ops[from, to) in one transaction.  Returns 0, or -1 with job->err and
 * sqlstate set (rolled back). */
static int run_ops_once(struct odbc_worker *w, struct odbc_job *job, int from, int to, char sqlstate[6])
{
	SQLHSTMT st[ODBC_OP_KINDS] = {NULL}, bst[ODBC_OP_KINDS] = {NULL};
	int ret = -1;
	strcpy(sqlstate, "HY000");
	last_state[0] = '\0';
	last_native = 0;
	for (int i = from; i < to; i++) {
		struct odbc_op *op = &job->ops[i];
		const struct odbc_stmt *s = op_stmt(w->plan, op->kind);
		int n = 1; /* the run of operations of the same kind */
		while (i + n < to && job->ops[i + n].kind == op->kind)
			n++;
		int brc = 1; /* MariaDB/MySQL: the run as one statement (batch.h) */
		if (n > 1 && w->dbms == DBMS_MYSQL && !w->batch_off && w->plan->batch_sql[op->kind] &&
		    numeric_type(w->key_type))
			brc = exec_batch(w, &bst[op->kind], op, n, job, sqlstate);
		if (brc < 0)
			goto out;
		if (brc == 1) {
			if (!st[op->kind]) {
				st[op->kind] = new_stmt(w, job);
				if (!st[op->kind])
					goto out;
				if (!SQL_SUCCEEDED(SQLPrepare(st[op->kind], (SQLCHAR *)s->sql, SQL_NTS))) {
					diag(SQL_HANDLE_STMT, st[op->kind], "prepare", job->err, sizeof job->err,
					     sqlstate);
					goto out;
				}
			}
			if (exec_ops(w, st[op->kind], s, op, n, job, sqlstate))
				goto out;
		}
		i += n - 1;
	}
	ret = 0;
out:
	for (int k = 0; k < ODBC_OP_KINDS; k++) {
		if (st[k])
			SQLFreeHandle(SQL_HANDLE_STMT, st[k]);
		if (bst[k])
			SQLFreeHandle(SQL_HANDLE_STMT, bst[k]);
	}
	if (ret == 0 && end_tran(w, job, true)) {
		strcpy(sqlstate, "08000"); /* a failed commit: its fate is unknown */
		ret = -1;
	}
	if (ret)
		end_tran(w, job, false);
	return ret;
}

/* run_ops_once, again after a lock conflict (transient()): it was rolled
 * back, so running it again cannot write anything twice. */
static int run_ops(struct odbc_worker *w, struct odbc_job *job, int from, int to, char sqlstate[6])
{
	for (int attempt = 0;; attempt++) {
		int rc = run_ops_once(w, job, from, to, sqlstate);
		if (rc == 0 || attempt == TRANSIENT_RETRIES || !transient(w))
			return rc;
		log_debug("odbc_retry", "conn=%s attempt=%d error=\"%s\"", w->plan->conn_name, attempt + 1, job->err);
		pause_ms(TRANSIENT_PAUSE_MS << attempt);
	}
}

static int run_write(struct odbc_worker *w, struct odbc_job *job)
{
	char state[6];
	if (run_ops(w, job, 0, job->nops, state) == 0) {
		for (int i = 0; i < job->nops; i++)
			job->ops[i].result = 0;
		return 0;
	}
	if (!row_error(state) || job->nops == 1) {
		if (row_error(state)) {
			job->ops[0].result = 1;
			snprintf(job->ops[0].result_text, sizeof job->ops[0].result_text, "%s", job->err);
			job->err[0] = '\0';
			return 0;
		}
		return -1;
	}
	/* One row's data was refused: each row again in its own transaction. */
	for (int i = 0; i < job->nops; i++) {
		if (run_ops(w, job, i, i + 1, state) == 0) {
			job->ops[i].result = 0;
		} else if (row_error(state)) {
			job->ops[i].result = 1;
			snprintf(job->ops[i].result_text, sizeof job->ops[i].result_text, "%s", job->err);
		} else {
			return -1; /* the rest stay "not done" */
		}
	}
	job->err[0] = '\0';
	return 0;
}

static void free_rows(struct odbc_job *job)
{
	for (int i = 0; i < job->nrows; i++) {
		struct odbc_row *r = &job->rows[i];
		free(r->key), free(r->recipient), free(r->sender), free(r->body);
	}
	free(job->rows);
	job->rows = NULL;
	job->nrows = 0;
}

static void run_job(struct odbc_worker *w, struct odbc_job *job)
{
	for (int i = 0; i < job->nops; i++)
		job->ops[i].result = -1;
	job->rc = -1;
	if (connect_db(w, job))
		return;
	int rc = 0;
	switch (job->kind) {
	case ODBC_JOB_TAKE:
		/* A read that met a lock conflict is read again (nothing written). */
		for (int attempt = 0;; attempt++) {
			last_state[0] = '\0';
			last_native = 0;
			rc = run_take(w, job);
			if (rc == 0 || attempt == TRANSIENT_RETRIES || !transient(w))
				break;
			log_debug("odbc_retry", "conn=%s attempt=%d error=\"%s\"", w->plan->conn_name, attempt + 1,
			          job->err);
			free_rows(job);
			pause_ms(TRANSIENT_PAUSE_MS << attempt);
		}
		break;
	case ODBC_JOB_WRITE:
		rc = run_write(w, job);
		break;
	}
	job->rc = rc;
	if (rc)
		disconnect(w); /* the next job connects again: the database may be back */
}

static void *worker_main(void *arg)
{
	struct odbc_worker *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!w->quit && w->qlen == 0)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->qlen == 0) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		struct odbc_job *job = w->q[w->qhead];
		w->qhead = (w->qhead + 1) % (int)ARRAY_LEN(w->q);
		w->qlen--;
		bool cancel = w->cancel;
		pthread_mutex_unlock(&w->mu);
		if (cancel) {
			job->rc = -2;
			for (int i = 0; i < job->nops; i++)
				job->ops[i].result = -1;
		} else {
			uint64_t t0 = now_mono_ms();
			run_job(w, job);
			log_debug("odbc_job", "conn=%s kind=%s rows=%d ops=%d rc=%d ms=%" PRIu64, w->plan->conn_name,
			          job->kind == ODBC_JOB_TAKE ? "take" : "write", job->nrows, job->nops, job->rc,
			          now_mono_ms() - t0);
		}
		chan_put(w->out, 0, job);
	}
	disconnect(w);
	return NULL;
}

struct odbc_worker *odbc_worker_start(const struct odbc_plan *plan, struct chan *out)
{
	struct odbc_worker *w = xcalloc(1, sizeof *w);
	w->plan = plan;
	w->out = out;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &w->env)))
		abort(); /* only fails without memory */
	SQLSetEnvAttr(w->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
	if (pthread_create(&w->th, NULL, worker_main, w))
		abort();
	return w;
}

void odbc_worker_post(struct odbc_worker *w, struct odbc_job *job)
{
	pthread_mutex_lock(&w->mu);
	if (w->qlen == (int)ARRAY_LEN(w->q))
		abort(); /* the driver keeps at most a handful of jobs out */
	w->q[(w->qhead + w->qlen) % (int)ARRAY_LEN(w->q)] = job;
	w->qlen++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void odbc_worker_cancel(struct odbc_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->cancel = true;
	pthread_mutex_unlock(&w->mu);
}

void odbc_worker_stop(struct odbc_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	SQLFreeHandle(SQL_HANDLE_ENV, w->env);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void odbc_job_free(struct odbc_job *job)
{
	if (!job)
		return;
	for (int i = 0; i < job->nops; i++) {
		struct odbc_op *op = &job->ops[i];
		free(op->key), free(op->status), free(op->error);
		free(op->sender), free(op->recipient), free(op->body);
	}
	free(job->ops);
	free_rows(job);
	for (int i = 0; i < job->nskip; i++)
		free(job->skip[i]);
	free(job->skip);
	free(job);
}
