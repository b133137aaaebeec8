/* api_json: see api_json.h. */
#include "http/api_json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		abort(); /* allocation failure, as everywhere */
	return s;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *error_obj(const char *msg, const char *field)
{
	json_t *j = json_object();
	json_object_set_new(j, "error", json_string(msg ? msg : "error"));
	if (field && *field)
		json_object_set_new(j, "field", json_string(field));
	return j;
}

char *http_api_error_json(const char *msg, const char *field)
{
	return dump(error_obj(msg, field));
}

static json_t *time_or_null(int64_t t)
{
	if (t <= 0)
		return json_null();
	char buf[32];
	http_api_iso8601_format(t, buf, sizeof buf);
	return json_string(buf);
}

char *http_api_status_json(const struct message_status *st)
{
	json_t *j = json_object();
	json_object_set_new(j, "id", json_integer(st->id));
	json_object_set_new(j, "status", str_or_null(st->status));
	json_object_set_new(j, "to", str_or_null(st->recipient));
	json_object_set_new(j, "from", str_or_null(st->sender));
	json_object_set_new(j, "client_ref", str_or_null(st->client_ref));
	json_object_set_new(j, "parts", json_integer(st->parts));
	json_object_set_new(j, "connection", str_or_null(st->connection_used));
	if (st->error_class || st->error_code || st->error_text) {
		json_t *e = json_object();
		json_object_set_new(e, "class", str_or_null(st->error_class));
		json_object_set_new(e, "code", str_or_null(st->error_code));
		json_object_set_new(e, "text", str_or_null(st->error_text));
		json_object_set_new(j, "error", e);
	} else {
		json_object_set_new(j, "error", json_null());
	}
	json_object_set_new(j, "created_at", time_or_null(st->created_s));
	json_object_set_new(j, "sent_at", time_or_null(st->sent_s));
	json_object_set_new(j, "done_at", time_or_null(st->done_s));
	return dump(j);
}

static json_t *item_json(const struct http_api_item *it)
{
	if (it->err.status)
		return error_obj(it->err.msg, it->err.field);
	return json_pack("{sIss}", "id", (json_int_t)it->id, "status", "queued");
}

char *http_api_result_json(const struct http_api_request *r, int *status)
{
	if (!r->batch) {
		const struct http_api_item *it = &r->items[0];
		*status = it->err.status ? it->err.status : 201;
		return dump(item_json(it));
	}
	int common = -1;
	json_t *arr = json_array();
	for (int i = 0; i < r->n; i++) {
		int st = r->items[i].err.status ? r->items[i].err.status : 201;
		common = common == -1 || common == st ? st : 207;
		json_array_append_new(arr, item_json(&r->items[i]));
	}
	*status = common < 0 ? 201 : common;
	json_t *j = json_object();
	json_object_set_new(j, "messages", arr);
	return dump(j);
}

int http_api_submit_status(enum submit_error e, int64_t message_id, const char *text)
{
	switch (e) {
	case SUBMIT_OK:
		return message_id > 0 ? 201 : 503;
	case SUBMIT_INVALID:
		return text && strncmp(text, "outbox.account:", 15) == 0 ? 403 : 400;
	case SUBMIT_THROTTLED:
		return 429;
	case SUBMIT_TEMPORARY:
		return 503;
	}
	return 503;
}

const char *http_api_field_of(const char *db_text)
{
	static const struct {
		const char *column, *field;
	} map[] = {
	    {"recipient", "to"},
	    {"sender", "from"},
	    {"body", "text"},
	    {"client_ref", "client_ref"},
	    {"encoding", "encoding"},
	    {"payload", "payload"},
	    {"udh", "udh"},
	    {"priority", "priority"},
	    {"want_report", "report"},
	    {"send_after", "send_after"},
	    {"valid_until", "valid_until"},
	    {"flash", "flash"},
	    {"msg_class", "class"},
	};
	if (!db_text || strncmp(db_text, "outbox.", 7) != 0)
		return NULL;
	const char *col = db_text + 7, *colon = strchr(col, ':');
	if (!colon)
		return NULL;
	size_t n = (size_t)(colon - col);
	for (size_t i = 0; i < ARRAY_LEN(map); i++)
		if (strlen(map[i].column) == n && strncmp(map[i].column, col, n) == 0)
			return map[i].field;
	return NULL;
}
