/*
 * api_req: the pure request side of the HTTP send API (connection type
 * http-api): the path of a request, its body (JSON or form fields) turned
 * into submissions, ISO 8601 times.  No I/O; fuzzed by
 * tests/fuzz/fuzz_http_api.c, tested by tests/unit/test_http_api.c.
 *
 * Contract:
 * - http_api_route MUST accept only `{base}/messages` and
 *   `{base}/messages/{id}` (id 1..2^63-1 in decimal, no sign, no leading
 *   zero); anything else is API_ROUTE_NONE.
 * - http_api_parse MUST either fill out (one item per message, in input
 *   order) or fail with a status (400, 413 for more than HTTP_API_BATCH_MAX
 *   messages, 415) and a message; it never keeps a pointer into body.  An
 *   item of a batch that is wrong on its own gets its own error (status and
 *   field) and the other items stay valid; a single message that is wrong
 *   fails the whole request.
 * - A field the API does not know is an error naming it.  Everything the
 *   database validates anyway (address syntax, GSM alphabet, part count) is
 *   left to it: its message reaches the client unchanged.
 * - http_api_iso8601 accepts YYYY-MM-DD[T ]hh:mm[:ss[.fraction]] followed by
 *   Z or an offset ±hh[:mm] (a time zone is required), from 1970-01-01 UTC
 *   to year 9999.
 */
#ifndef SMSPOOL_HTTP_API_REQ_H
#define SMSPOOL_HTTP_API_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "util.h"

#define HTTP_API_BATCH_MAX 1000

/* An error to answer: HTTP status, message, and the field it is about
 * ("" when it is about none). */
struct http_api_error {
	int status;
	char msg[256];
	char field[32];
};

enum http_api_route { API_ROUTE_NONE, API_ROUTE_MESSAGES, API_ROUTE_MESSAGE };

/* Which resource path (without query string, borrowed) names under base
 * (e.g. "/api/v1", no trailing slash).  *id is set for API_ROUTE_MESSAGE. */
enum http_api_route http_api_route(const char *base, const char *path, int64_t *id);

/* One message of a request: a submission to hand to the core, or the reason
 * why it is not one (err.status != 0). */
struct http_api_item {
	struct submission *sub; /* owned until handed to core_submit; NULL on error */
	struct http_api_error err;
	int64_t id; /* the outbox id, once submitted */
};

struct http_api_request {
	struct http_api_item *items; /* owned */
	int n;
	bool batch; /* a JSON array or {"messages": [...]}: answered per item */
};

/* Parses a request body of content_type (the header, may be NULL; borrowed)
 * into out (zeroed by the caller).  Returns 0, or -1 with err set (out is
 * then empty).  Submissions have no account yet. */
MUST_CHECK int http_api_parse(const char *content_type, const char *body, size_t len, struct http_api_request *out,
                              struct http_api_error *err);
void http_api_request_free(struct http_api_request *r);

/* Parses an ISO 8601 time (see above) into unix seconds.  Returns 0 or -1. */
MUST_CHECK int http_api_iso8601(const char *s, int64_t *out);
/* Formats unix seconds as "YYYY-MM-DDThh:mm:ssZ" (out: 21 bytes or more). */
void http_api_iso8601_format(int64_t t, char *out, size_t cap);

#endif
