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

int http_api_submit_status(const struct submit_result *res)
{
	switch (res->error) {
	case SUBMIT_OK:
		return res->message_id > 0 ? 201 : 503;
	case SUBMIT_INVALID:
		return res->field == SUBMIT_FIELD_ACCOUNT ? 403 : 400;
	case SUBMIT_THROTTLED:
		return 429;
	case SUBMIT_TEMPORARY:
		return 503;
	}
	return 503;
}

const char *http_api_field_of(enum submit_field field)
{
	/* The request's JSON names of the fields (README, "HTTP send API"). */
	static const char *const names[] = {
	    [SUBMIT_FIELD_RECIPIENT] = "to",
	    [SUBMIT_FIELD_SENDER] = "from",
	    [SUBMIT_FIELD_BODY] = "text",
	    [SUBMIT_FIELD_PAYLOAD] = "payload",
	    [SUBMIT_FIELD_UDH] = "udh",
	    [SUBMIT_FIELD_DATA_CODING] = "encoding",
	    [SUBMIT_FIELD_VALIDITY] = "valid_until",
	    [SUBMIT_FIELD_SCHEDULE] = "send_after",
	    [SUBMIT_FIELD_PRIORITY] = "priority",
	    [SUBMIT_FIELD_MSG_CLASS] = "class",
	    [SUBMIT_FIELD_REPORT] = "report",
	    [SUBMIT_FIELD_KEY] = "client_ref",
	};
	return (size_t)field < ARRAY_LEN(names) ? names[field] : NULL;
}
