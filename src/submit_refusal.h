/*
 * submit_refusal: why the database refused a submission, decided once.
 *
 * smspool.submit() (sql/042_submit_refusal.sql) answers each element with
 * structured columns besides its text: error_column (the outbox column the
 * rule is about, from the error's COLUMN or its CHECK constraint), the
 * SQLSTATE, and taken_id (the message that already has the idempotency key).
 * A statement that fails as a whole has the same facts in its PGresult
 * (PG_DIAG_COLUMN_NAME, PG_DIAG_SQLSTATE, PG_DIAG_CONSTRAINT_NAME).  This file
 * turns either into a struct submit_result (drivers/driver.h); drivers map
 * its (error, field) to their protocol's code with a table.  No caller reads
 * the error text: it is passed on for logs only.
 */
#ifndef SMSPOOL_SUBMIT_REFUSAL_H
#define SMSPOOL_SUBMIT_REFUSAL_H

#include <libpq-fe.h>

#include "driver.h"

/* The field of an outbox column name (NULL or unknown: SUBMIT_FIELD_NONE). */
enum submit_field submit_field_of_column(const char *column);
/* The outbox column of a field ("recipient", ...; "" for SUBMIT_FIELD_NONE),
 * for logs and for answers that name the field. */
const char *submit_field_column(enum submit_field f);

/* One answer row of smspool.submit(): id, error_class, error, error_column,
 * error_state, taken_id as text (NULL = SQL NULL).  res->text borrows text. */
void submit_refusal_of_row(struct submit_result *res, const char *id, const char *error_class, const char *text,
                           const char *column, const char *state, const char *taken_id);
/* A statement that failed as a whole, from its error fields: a data or
 * integrity error (SQLSTATE classes 22, 23) is SUBMIT_INVALID with the
 * field of column (or of constraint), anything else SUBMIT_TEMPORARY.
 * res->text borrows text. */
void submit_refusal_of_error(struct submit_result *res, const char *sqlstate, const char *column,
                             const char *constraint, const char *text);
/* The same from a failed PGresult (borrowed; res->text points into it). */
void submit_refusal_of_pg(struct submit_result *res, const PGresult *r);

#endif
