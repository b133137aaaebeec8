/*
 * api_json: the pure answer side of the HTTP send API: error bodies, the
 * state of a message, the result of a submission, and how the core's
 * answers map onto HTTP statuses.  No I/O; tested by tests/unit/test_http_api.c.
 *
 * Every body is a JSON object.  Errors are {"error": "…"} with "field" when
 * the error is about one field of the request.
 */
#ifndef SMSPOOL_HTTP_API_JSON_H
#define SMSPOOL_HTTP_API_JSON_H

#include "driver.h"
#include "http/api_req.h"
#include "msg.h"

/* {"error": msg, "field": field} (field omitted when NULL or "").  Returns
 * a new string. */
char *http_api_error_json(const char *msg, const char *field);

/* {"id", "status", "to", "from", "client_ref", "parts", "connection",
 * "error": {"class", "code", "text"} | null, "created_at", "sent_at",
 * "done_at"}: times in ISO 8601 UTC, null when not yet.  Returns a new
 * string. */
char *http_api_status_json(const struct message_status *st);

/* The answer to a POST once every item is decided: *status is 201 when all
 * were accepted; for a single message its own status; for a batch 207 when
 * the outcomes differ, else the status they share.  Returns a new string:
 * {"id": …, "status": "queued"} or an error (single), {"messages": [...]}
 * (batch, input order). */
char *http_api_result_json(const struct http_api_request *r, int *status);

/* The status of a submitted() answer (borrowed): 201, 400 (invalid), 403
 * (the account is disabled or unknown: SUBMIT_FIELD_ACCOUNT), 429
 * (throttled), 503 (temporary). */
int http_api_submit_status(const struct submit_result *res);

/* The API field of a refused field, e.g. "to"; NULL when the API has none. */
const char *http_api_field_of(enum submit_field field);

#endif
