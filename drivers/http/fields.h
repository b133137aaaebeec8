/*
 * fields: maps a callback request (query string, form or JSON body) onto a
 * delivery report or an inbound text, as the connection's settings say.
 * Pure; fuzzed by tests/fuzz/fuzz_http_fields.c.
 *
 * A mapping is a JSON object target → source.  A source starting with "/"
 * is a JSON pointer into a JSON body; any other source is a field name,
 * looked up in a JSON body's top level, then the form body, then the query
 * string.  Targets:
 * - report: remote_id (required), state (required), error_code, text
 *   (default: the raw request, abridged).  state goes through state_map
 *   ({"1": "delivered", …}); without a map, report state names and the
 *   SMPP receipt words (DELIVRD, UNDELIV, …) are understood.  A value that
 *   maps to nothing is stored as "unknown" (a report is never dropped).
 * - inbound: sender (required), text (required), recipient.
 * Every value stored must be valid UTF-8 without NUL and within its length
 * limit; otherwise the request is refused with an error naming the field.
 */
#ifndef SMSPOOL_HTTP_FIELDS_H
#define SMSPOOL_HTTP_FIELDS_H

#include <jansson.h>
#include <stddef.h>

#include "errbuf.h"
#include "http/form.h"
#include "msg.h"
#include "util.h"

enum http_fields_kind { HTTP_FIELDS_REPORT, HTTP_FIELDS_INBOUND };

struct http_fields;

/* What one callback request brought; every member borrowed, may be NULL. */
struct http_cb_input {
	const struct http_form *query, *form;
	const json_t *json;
	const char *raw; /* query string and body as received, for report text */
	size_t raw_len;
};

/* Compiles a mapping (NULL = the default one) and, for reports, a state
 * map (may be NULL).  Returns 0 and a new mapping, or -1 naming the setting. */
MUST_CHECK int http_fields_compile(enum http_fields_kind kind, const json_t *map, const json_t *state_map,
                                   const char *setting, struct http_fields **out, struct errbuf *err);
void http_fields_free(struct http_fields *f);

/* Builds a new report / inbound from in.  Returns 0, or -1 with err holding
 * a message for the peer (it is answered 400). */
MUST_CHECK int http_fields_report(const struct http_fields *f, const struct http_cb_input *in, struct report **out,
                                  struct errbuf *err);
MUST_CHECK int http_fields_inbound(const struct http_fields *f, const struct http_cb_input *in, struct inbound **out,
                                   struct errbuf *err);

/* Maps a state value through f's state map (see above); returns a static
 * string. */
const char *http_fields_state(const struct http_fields *f, const char *value);

#endif
