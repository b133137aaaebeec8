/* fields: see fields.h. */
#include "http/fields.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec/sms.h"
#include "codec/utf8.h"
#include "http/jsonptr.h"
#include "http/rule.h"

enum target { T_REMOTE_ID, T_STATE, T_ERROR_CODE, T_TEXT, T_SENDER, T_RECIPIENT, T_COUNT };

static const char *const target_names[T_COUNT] = {"remote_id", "state", "error_code", "text", "sender", "recipient"};
static const size_t target_max[T_COUNT] = {255, 64, 64, 65536, 64, 64};

static const char *const report_states[] = {"delivered", "undelivered", "expired", "rejected",
                                            "deleted",   "accepted",    "enroute", "unknown"};
static const struct {
	const char *word, *state;
} receipt_words[] = {
    {"DELIVRD", "delivered"}, {"UNDELIV", "undelivered"}, {"EXPIRED", "expired"}, {"REJECTD", "rejected"},
    {"DELETED", "deleted"},   {"ACCEPTD", "accepted"},    {"ENROUTE", "enroute"}, {"UNKNOWN", "unknown"},
};

struct http_fields {
	enum http_fields_kind kind;
	char *src[T_COUNT]; /* NULL = not mapped */
	json_t *state_map;  /* value → state, or NULL */
};

static int target_of(const char *name)
{
	for (int t = 0; t < T_COUNT; t++)
		if (strcmp(target_names[t], name) == 0)
			return t;
	return -1;
}

static bool allowed(enum http_fields_kind kind, int t)
{
	if (kind == HTTP_FIELDS_REPORT)
		return t == T_REMOTE_ID || t == T_STATE || t == T_ERROR_CODE || t == T_TEXT;
	return t == T_SENDER || t == T_RECIPIENT || t == T_TEXT;
}

static const char *known_state(const char *s)
{
	for (size_t i = 0; i < sizeof report_states / sizeof *report_states; i++)
		if (strcasecmp(report_states[i], s) == 0)
			return report_states[i];
	return NULL;
}

int http_fields_compile(enum http_fields_kind kind, const json_t *map, const json_t *state_map, const char *setting,
                        struct http_fields **out, struct errbuf *err)
{
	struct http_fields *f = xcalloc(1, sizeof *f);
	f->kind = kind;
	if (kind == HTTP_FIELDS_REPORT) {
		f->src[T_REMOTE_ID] = xstrdup("id");
		f->src[T_STATE] = xstrdup("status");
		f->src[T_ERROR_CODE] = xstrdup("error_code");
	} else {
		f->src[T_SENDER] = xstrdup("from");
		f->src[T_RECIPIENT] = xstrdup("to");
		f->src[T_TEXT] = xstrdup("text");
	}
	const char *key;
	json_t *v;
	if (map) {
		json_object_foreach((json_t *)map, key, v)
		{
			int t = target_of(key);
			if (t < 0 || !allowed(kind, t)) {
				errbuf_set(err, "settings.%s: unknown field \"%s\" (%s)", setting, key,
				           kind == HTTP_FIELDS_REPORT ? "remote_id, state, error_code, text"
				                                      : "sender, recipient, text");
				goto fail;
			}
			if (json_is_null(v)) {
				free(f->src[t]);
				f->src[t] = NULL;
				continue;
			}
			if (!json_is_string(v) || !*json_string_value(v)) {
				errbuf_set(err, "settings.%s.%s: must be a field name or a JSON pointer", setting, key);
				goto fail;
			}
			const char *s = json_string_value(v);
			if (s[0] == '/' && !jsonptr_valid(s)) {
				errbuf_set(err, "settings.%s.%s: \"%s\" is not a valid JSON pointer", setting, key, s);
				goto fail;
			}
			free(f->src[t]);
			f->src[t] = xstrdup(s);
		}
	}
	int need[2] = {kind == HTTP_FIELDS_REPORT ? T_REMOTE_ID : T_SENDER,
	               kind == HTTP_FIELDS_REPORT ? T_STATE : T_TEXT};
	for (int i = 0; i < 2; i++)
		if (!f->src[need[i]]) {
			errbuf_set(err, "settings.%s.%s: is required", setting, target_names[need[i]]);
			goto fail;
		}
	if (state_map) {
		json_object_foreach((json_t *)state_map, key, v)
		{
			if (!json_is_string(v) || !known_state(json_string_value(v))) {
				errbuf_set(err,
				           "settings.report_state_map.%s: must be one of delivered, undelivered, "
				           "expired, rejected, deleted, accepted, enroute, unknown",
				           key);
				goto fail;
			}
		}
		f->state_map = json_incref((json_t *)state_map);
	}
	*out = f;
	return 0;
fail:
	http_fields_free(f);
	*out = NULL;
	return -1;
}

void http_fields_free(struct http_fields *f)
{
	if (!f)
		return;
	for (int t = 0; t < T_COUNT; t++)
		free(f->src[t]);
	json_decref(f->state_map);
	free(f);
}

const char *http_fields_state(const struct http_fields *f, const char *value)
{
	if (f->state_map) {
		json_t *m = json_object_get(f->state_map, value);
		const char *s = json_is_string(m) ? known_state(json_string_value(m)) : NULL;
		return s ? s : "unknown";
	}
	const char *s = known_state(value);
	if (s)
		return s;
	for (size_t i = 0; i < sizeof receipt_words / sizeof *receipt_words; i++)
		if (strcasecmp(receipt_words[i].word, value) == 0)
			return receipt_words[i].state;
	return "unknown";
}

/* The value of target t as a new string, NULL when absent.  Sets *bad when
 * present but unusable. */
static char *lookup(const struct http_fields *f, int t, const struct http_cb_input *in, struct errbuf *err, bool *bad)
{
	const char *src = f->src[t];
	*bad = false;
	if (!src)
		return NULL;
	char *val = NULL;
	if (src[0] == '/') {
		if (in->json) {
			json_t *j = jsonptr_get(in->json, src);
			val = j ? jsonptr_scalar_text(j) : NULL;
			if (j && !val && !json_is_null(j)) {
				*bad = true;
				errbuf_set(err, "field %s (%s) must be a string or a number", src, target_names[t]);
				return NULL;
			}
		}
	} else {
		if (json_is_object(in->json)) {
			json_t *j = json_object_get(in->json, src);
			val = j ? jsonptr_scalar_text(j) : NULL;
			if (j && !val && !json_is_null(j)) {
				*bad = true;
				errbuf_set(err, "field \"%s\" (%s) must be a string or a number", src, target_names[t]);
				return NULL;
			}
		}
		const char *v = NULL;
		if (!val && in->form)
			v = http_form_get(in->form, src);
		if (!val && !v && in->query)
			v = http_form_get(in->query, src);
		if (!val && v)
			val = xstrdup(v);
	}
	if (!val)
		return NULL;
	size_t len = strlen(val);
	if (utf8_validate(val, len, NULL)) {
		*bad = true;
		errbuf_set(err, "field \"%s\" (%s) is not valid UTF-8", src, target_names[t]);
	} else if (len > target_max[t]) {
		*bad = true;
		errbuf_set(err, "field \"%s\" (%s) is longer than %zu bytes", src, target_names[t], target_max[t]);
	}
	if (*bad) {
		free(val);
		return NULL;
	}
	return val;
}

static int need(char *v, bool bad, const struct http_fields *f, int t, struct errbuf *err)
{
	if (bad)
		return -1;
	if (!v || !*v)
		return errbuf_set(err, "missing field \"%s\" (%s)", f->src[t], target_names[t]);
	return 0;
}

int http_fields_report(const struct http_fields *f, const struct http_cb_input *in, struct report **out,
                       struct errbuf *err)
{
	bool b1, b2, b3 = false, b4 = false;
	char *rid = lookup(f, T_REMOTE_ID, in, err, &b1);
	if (need(rid, b1, f, T_REMOTE_ID, err)) {
		free(rid);
		return -1;
	}
	char *st = lookup(f, T_STATE, in, err, &b2);
	if (need(st, b2, f, T_STATE, err)) {
		free(rid);
		free(st);
		return -1;
	}
	char *code = lookup(f, T_ERROR_CODE, in, err, &b3);
	char *text = b3 ? NULL : lookup(f, T_TEXT, in, err, &b4);
	if (b3 || b4) {
		free(rid);
		free(st);
		free(code);
		return -1;
	}
	if (!text && in->raw && utf8_validate(in->raw, in->raw_len, NULL) == 0)
		text = http_excerpt(in->raw, in->raw_len, 1000);
	struct report *r = xcalloc(1, sizeof *r);
	r->remote_id = rid;
	r->state = xstrdup(http_fields_state(f, st));
	r->error_code = code;
	r->text = text;
	free(st);
	*out = r;
	return 0;
}

int http_fields_inbound(const struct http_fields *f, const struct http_cb_input *in, struct inbound **out,
                        struct errbuf *err)
{
	bool b1, b2, b3 = false;
	char *snd = lookup(f, T_SENDER, in, err, &b1);
	if (need(snd, b1, f, T_SENDER, err)) {
		free(snd);
		return -1;
	}
	char *text = lookup(f, T_TEXT, in, err, &b2);
	if (b2 || !text) {
		if (!b2)
			errbuf_set(err, "missing field \"%s\" (text)", f->src[T_TEXT]);
		free(snd);
		return -1;
	}
	char *rcp = lookup(f, T_RECIPIENT, in, err, &b3);
	if (b3) {
		free(snd);
		free(text);
		return -1;
	}
	struct inbound *ib = xcalloc(1, sizeof *ib);
	ib->sender = snd;
	ib->recipient = rcp ? rcp : xstrdup("");
	ib->body = text;
	struct sms_split_opts opts = {.encoding = SMS_ENC_AUTO};
	struct sms_split sp = {0};
	if (sms_count_parts(text, strlen(text), &opts, &sp, NULL) == 0) {
		ib->encoding = xstrdup(sms_encoding_name(sp.encoding));
		ib->parts = (int)sp.n_parts;
	} else {
		ib->encoding = xstrdup("ucs2");
		ib->parts = 1;
	}
	*out = ib;
	return 0;
}
