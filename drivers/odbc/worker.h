/*
 * odbc worker: the thread of one odbc connection, the only place where ODBC
 * is called (every ODBC call may block).  The loop posts jobs; the worker
 * runs them in order, one transaction each, and hands each job back through
 * a chan (eventfd) that the loop watches.  A job carries ownership both ways.
 * The worker keeps one ODBC connection; any error drops it, and the next job
 * connects again.
 */
#ifndef SMSPOOL_ODBC_WORKER_H
#define SMSPOOL_ODBC_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "chan.h"
#include "stmt.h"

/* Parameter names that the statements may use (index = enum value). */
enum odbc_param {
	ODBC_P_KEY,        /* the foreign row's key, as text */
	ODBC_P_SMSPOOL_ID, /* smspool's outbox id (or inbox id of an inbound text) */
	ODBC_P_STATUS,     /* smspool's state name */
	ODBC_P_ERROR,      /* error text, NULL when none */
	ODBC_P_SENDER,
	ODBC_P_RECIPIENT,
	ODBC_P_BODY,
	ODBC_P_CONNECTION, /* this connection's name */
	ODBC_P_KIND,       /* "message" (routed to this connection) or "inbound" */
	ODBC_P_BATCH,      /* rows taken at most per poll */
	ODBC_P_COUNT
};
extern const char *const odbc_param_names[ODBC_P_COUNT + 1];

enum odbc_job_kind { ODBC_JOB_TAKE, ODBC_JOB_WRITE };
enum odbc_op_kind { ODBC_OP_TAKEN, ODBC_OP_STATUS, ODBC_OP_INSERT, ODBC_OP_SENT, ODBC_OP_KINDS };

/* What the statements are, once parsed (owned by the driver, read by the
 * worker). */
struct odbc_plan {
	char *connstr; /* a secret: never logged */
	struct odbc_stmt take, taken, status, insert, sent;
	/* Per kind, the batched form of the default taken, status and sent
	 * statements for MariaDB/MySQL (batch.h), NULL when the settings give
	 * the statement. */
	char *batch_sql[ODBC_OP_KINDS];
	int batch;
	int query_timeout_s, login_timeout_s;
	const char *conn_name;
};

/* A row of the take statement: text columns, NULL when SQL NULL. */
struct odbc_row {
	char *key, *recipient, *sender, *body;
	const char *bad; /* why it cannot be submitted (static text), or NULL */
};

/* One statement execution of a write job. */
struct odbc_op {
	enum odbc_op_kind kind;
	char *key, *status, *error;      /* TAKEN, STATUS, SENT */
	char *sender, *recipient, *body; /* INSERT */
	const char *row_kind;            /* INSERT: "message" or "inbound" */
	int64_t smspool_id;
	void *owner; /* the loop's (a msg or an event) */
	int owner_kind;
	/* Result: 0 done, 1 refused by the database for this row (data error:
	 * result_text says why), -1 not done (the job failed or was cancelled). */
	int result;
	char result_text[320];
};

struct odbc_job {
	enum odbc_job_kind kind;
	/* WRITE: the operations, in order. */
	struct odbc_op *ops;
	int nops;
	/* TAKE: the rows read; skip: keys (sorted, strcmp) of rows still being
	 * taken by earlier reads, passed over so that reads can overlap. */
	struct odbc_row *rows;
	int nrows;
	char **skip;
	int nskip;
	uint32_t tag; /* the loop's, carried back untouched */
	/* Result: 0 ok, -1 failed (err says why), -2 cancelled before it ran. */
	int rc;
	char err[320];
};

struct odbc_worker;

/* Starts the thread.  Finished jobs go to out with kind 0.  plan and out must
 * outlive the worker. */
struct odbc_worker *odbc_worker_start(const struct odbc_plan *plan, struct chan *out);
/* Hands job to the worker (ownership goes with it until it comes back). */
void odbc_worker_post(struct odbc_worker *w, struct odbc_job *job);
/* Jobs not yet started come back with rc -2 from now on. */
void odbc_worker_cancel(struct odbc_worker *w);
/* Ends the thread and frees w.  Call only when no job is out: the worker is
 * then idle and the join does not wait. */
void odbc_worker_stop(struct odbc_worker *w);
/* Frees a job and everything it holds except ops[].owner. */
void odbc_job_free(struct odbc_job *job);

#endif
