/*
 * odbc batch: the status write-backs of one job as one statement on
 * MariaDB/MySQL.  Parameter arrays (worker.c) still run the statement once
 * per row on the server; for the default taken, sent and status statements
 * (those of the default layout, the key column an integer) a MariaDB 10.6+
 * or MySQL 8 server gets instead one
 *   UPDATE t JOIN JSON_TABLE(?, '$[*]' COLUMNS (...)) j ON t.id = j.k SET ...
 * whose one parameter is a JSON array of the rows.  Other engines (SQLite,
 * PostgreSQL through psqlODBC, SQL Server) and statements given in the
 * settings keep the portable path.  Pure: no ODBC, no I/O.
 */
#ifndef SMSPOOL_ODBC_BATCH_H
#define SMSPOOL_ODBC_BATCH_H

#include "util.h"
#include "worker.h"

/* The batched form (new text) of the default statement of kind (TAKEN,
 * STATUS or SENT) for table outgoing, or NULL for another kind. */
char *odbc_batch_sql(const char *outgoing, enum odbc_op_kind kind);
/* The JSON parameter (new text) for ops[0..n) of one kind: an array of
 * {"k": key, "s": status, "i": smspool_id, "e": error}, NULL members left
 * out (JSON_TABLE gives NULL for a missing path).  A key that appears twice
 * is written once, as the rows' statements would leave it: the first of the
 * conditional TAKEN and SENT (their WHERE passes over a row marked), the
 * last of STATUS.  NULL when a key is not a plain integer (the caller then
 * takes the portable path), or when a text is not valid UTF-8. */
char *odbc_batch_json(const struct odbc_op *ops, int n);

#endif
