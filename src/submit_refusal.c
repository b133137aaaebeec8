/*
 * submit_refusal: the database's refusal of a submission as a struct
 * submit_result (see submit_refusal.h).  Tables, not text: the column names
 * are those of smspool.outbox, the error classes those of smspool.submit().
 */
#include "submit_refusal.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static const struct {
	const char *column;
	enum submit_field field;
} columns[] = {
    {"recipient", SUBMIT_FIELD_RECIPIENT},
    {"sender", SUBMIT_FIELD_SENDER},
    {"body", SUBMIT_FIELD_BODY},
    {"payload", SUBMIT_FIELD_PAYLOAD},
    {"udh", SUBMIT_FIELD_UDH},
    {"encoding", SUBMIT_FIELD_DATA_CODING},
    {"valid_until", SUBMIT_FIELD_VALIDITY},
    {"send_after", SUBMIT_FIELD_SCHEDULE},
    {"priority", SUBMIT_FIELD_PRIORITY},
    {"msg_class", SUBMIT_FIELD_MSG_CLASS},
    {"want_report", SUBMIT_FIELD_REPORT},
    {"report_on", SUBMIT_FIELD_REPORT},
    {"client_parts", SUBMIT_FIELD_PARTS},
    {"connection", SUBMIT_FIELD_CONNECTION},
    {"account", SUBMIT_FIELD_ACCOUNT},
    {"client_ref", SUBMIT_FIELD_KEY},
    {"idempotency_key", SUBMIT_FIELD_KEY},
};

/* The unique constraint of the idempotency keys (sql/032, 040), which
 * names no column. */
#define KEY_CONSTRAINT "outbox.idempotency_key: already used"

enum submit_field submit_field_of_column(const char *column)
{
	if (!column)
		return SUBMIT_FIELD_NONE;
	for (size_t i = 0; i < ARRAY_LEN(columns); i++)
		if (strcmp(columns[i].column, column) == 0)
			return columns[i].field;
	return SUBMIT_FIELD_NONE;
}

const char *submit_field_column(enum submit_field f)
{
	for (size_t i = 0; i < ARRAY_LEN(columns); i++)
		if (columns[i].field == f)
			return columns[i].column;
	return "";
}

void submit_refusal_of_row(struct submit_result *res, const char *id, const char *error_class, const char *text,
                           const char *column, const char *state, const char *taken_id)
{
	*res = (struct submit_result){.error = SUBMIT_INVALID, .text = text};
	(void)state; /* the class and column say enough; the state is for the log */
	if (!error_class) {
		res->message_id = id ? strtoll(id, NULL, 10) : 0;
		res->error = SUBMIT_OK;
		res->text = NULL;
		return;
	}
	if (strcmp(error_class, "throttled") == 0)
		res->error = SUBMIT_THROTTLED;
	else if (strcmp(error_class, "temporary") == 0)
		res->error = SUBMIT_TEMPORARY;
	res->field = submit_field_of_column(column);
	if (strcmp(error_class, "forbidden") == 0)
		res->field = SUBMIT_FIELD_ACCOUNT;
	if (taken_id) {
		res->taken_id = strtoll(taken_id, NULL, 10);
		res->field = SUBMIT_FIELD_KEY;
	}
}

void submit_refusal_of_error(struct submit_result *res, const char *sqlstate, const char *column,
                             const char *constraint, const char *text)
{
	*res = (struct submit_result){.error = SUBMIT_TEMPORARY, .text = text};
	if (!sqlstate || (strncmp(sqlstate, "22", 2) != 0 && strncmp(sqlstate, "23", 2) != 0))
		return;
	res->error = SUBMIT_INVALID;
	res->field = submit_field_of_column(column);
	if (res->field == SUBMIT_FIELD_NONE && constraint && strcmp(constraint, KEY_CONSTRAINT) == 0)
		res->field = SUBMIT_FIELD_KEY;
}

void submit_refusal_of_pg(struct submit_result *res, const PGresult *r)
{
	submit_refusal_of_error(
	    res, PQresultErrorField(r, PG_DIAG_SQLSTATE), PQresultErrorField(r, PG_DIAG_COLUMN_NAME),
	    PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME), PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
}
