/*
 * fuzz_http_fields: a callback request as the provider could send it, mapped
 * onto a report and an inbound text.  Byte 0 picks the body type (JSON,
 * form) and the mapping (field names or JSON pointers); the rest is
 * "query NUL body".  Mapping never crashes; what it builds is valid UTF-8,
 * within the length limits, with a known report state.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/utf8.h"
#include "http/fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const maps[][2] = {
    {NULL, NULL},
    {"{\"remote_id\": \"/data/id\", \"state\": \"/data/status\", \"error_code\": \"/err/0\", \"text\": \"t\"}",
     "{\"sender\": \"/from\", \"recipient\": \"/to/0\", \"text\": \"/m/text\"}"},
    {"{\"remote_id\": \"MessageSid\", \"state\": \"MessageStatus\", \"error_code\": \"ErrorCode\"}",
     "{\"sender\": \"From\", \"recipient\": \"To\", \"text\": \"Body\"}"},
};

static void valid(const char *s, size_t max)
{
	if (!s)
		return;
	size_t n = strlen(s);
	assert(n <= max);
	assert(utf8_validate(s, n, NULL) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 70000)
		return 0;
	int sel = data[0];
	const char *const *m = maps[(sel >> 1) % 3];
	char *buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = 0;
	const char *qs = buf;
	size_t ql = strlen(qs);
	const char *body = ql + 1 < size - 1 ? qs + ql + 1 : "";
	size_t bl = ql + 1 < size - 1 ? size - 1 - ql - 1 : 0;

	json_t *rmap = m[0] ? json_loads(m[0], 0, NULL) : NULL, *imap = m[1] ? json_loads(m[1], 0, NULL) : NULL;
	json_t *states = (sel & 8) ? json_loads("{\"1\": \"delivered\", \"2\": \"undelivered\"}", 0, NULL) : NULL;
	struct http_fields *rf, *inf;
	struct errbuf err;
	assert(http_fields_compile(HTTP_FIELDS_REPORT, rmap, states, "report_fields", &rf, &err) == 0);
	assert(http_fields_compile(HTTP_FIELDS_INBOUND, imap, NULL, "inbound_fields", &inf, &err) == 0);

	struct http_form query = {0}, form = {0};
	json_t *json = NULL;
	(void)!http_form_parse(qs, ql, &query, &err);
	if (sel & 1)
		json = json_loadb(body, bl, JSON_REJECT_DUPLICATES, NULL);
	else
		(void)!http_form_parse(body, bl, &form, &err);
	struct http_cb_input in = {&query, &form, json, body, bl};

	struct report *r = NULL;
	if (http_fields_report(rf, &in, &r, &err) == 0) {
		assert(r->remote_id && *r->remote_id && r->state);
		valid(r->remote_id, 255);
		valid(r->error_code, 64);
		valid(r->text, 65536);
		assert(strcmp(http_fields_state(rf, "delivered"), "") != 0);
		report_free(r);
	} else {
		assert(err.msg[0]);
	}
	struct inbound *ib = NULL;
	if (http_fields_inbound(inf, &in, &ib, &err) == 0) {
		assert(ib->sender && *ib->sender && ib->body && ib->recipient);
		valid(ib->sender, 64);
		valid(ib->recipient, 64);
		valid(ib->body, 65536);
		assert(ib->parts >= 1);
		inbound_free(ib);
	}
	http_form_free(&query);
	http_form_free(&form);
	json_decref(json);
	json_decref(rmap);
	json_decref(imap);
	json_decref(states);
	http_fields_free(rf);
	http_fields_free(inf);
	free(buf);
	return 0;
}
