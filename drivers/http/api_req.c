/* api_req: see api_req.h.  A message arrives as JSON values or form strings;
 * both are first sorted into one `struct msg_in` (a value per known field,
 * typed), then one function builds the submission from it, so that both
 * bodies follow exactly the same rules. */
#include "http/api_req.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/utf8.h"
#include "http/form.h"

enum ftype { FT_STR, FT_INT, FT_BOOL };

enum field {
	F_TO,
	F_TEXT,
	F_FROM,
	F_CLIENT_REF,
	F_ENCODING,
	F_PAYLOAD,
	F_UDH,
	F_PRIORITY,
	F_REPORT,
	F_SEND_AFTER,
	F_VALID_UNTIL,
	F_FLASH,
	F_CLASS,
	F_COUNT
};

static const struct {
	const char *name;
	enum ftype type;
} fields[F_COUNT] = {
    [F_TO] = {"to", FT_STR},
    [F_TEXT] = {"text", FT_STR},
    [F_FROM] = {"from", FT_STR},
    [F_CLIENT_REF] = {"client_ref", FT_STR},
    [F_ENCODING] = {"encoding", FT_STR},
    [F_PAYLOAD] = {"payload", FT_STR},
    [F_UDH] = {"udh", FT_STR},
    [F_PRIORITY] = {"priority", FT_INT},
    [F_REPORT] = {"report", FT_BOOL},
    [F_SEND_AFTER] = {"send_after", FT_STR},
    [F_VALID_UNTIL] = {"valid_until", FT_STR},
    [F_FLASH] = {"flash", FT_BOOL},
    [F_CLASS] = {"class", FT_INT},
};

/* Longest accepted string per field, in bytes: generous, only a bound. */
#define STR_MAX 4096

struct fval {
	bool present;
	const char *str; /* borrowed from the JSON value or the form */
	long long num;
	bool b;
};

struct msg_in {
	struct fval v[F_COUNT];
};

__attribute__((format(printf, 4, 5))) static int set_err(struct http_api_error *err, int status, const char *field,
                                                         const char *fmt, ...)
{
	err->status = status;
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

static int field_index(const char *name)
{
	for (int i = 0; i < F_COUNT; i++)
		if (strcmp(fields[i].name, name) == 0)
			return i;
	return -1;
}

/* A name safe to echo in a message (printable ASCII, shortened). */
static void echo_name(const char *name, char *out, size_t cap)
{
	size_t n = 0;
	for (; *name && n + 4 < cap; name++)
		out[n++] = (unsigned char)*name >= 0x20 && (unsigned char)*name < 0x7f && *name != '"' ? *name : '?';
	if (*name && n + 4 <= cap) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = 0;
}

static int unknown_field(const char *name, struct http_api_error *err)
{
	char e[40];
	echo_name(name, e, sizeof e);
	return set_err(err, 400, e,
	               "unknown field \"%s\" (known: to, text, from, client_ref, encoding, payload, udh, priority, "
	               "report, send_after, valid_until, flash, class)",
	               e);
}

/* ---- routes ---- */

enum http_api_route http_api_route(const char *base, const char *path, int64_t *id)
{
	size_t bl = strlen(base);
	if (strncmp(path, base, bl) != 0)
		return API_ROUTE_NONE;
	path += bl;
	if (strncmp(path, "/messages", 9) != 0)
		return API_ROUTE_NONE;
	path += 9;
	if (*path == 0)
		return API_ROUTE_MESSAGES;
	if (*path != '/')
		return API_ROUTE_NONE;
	path++;
	if (*path < '1' || *path > '9')
		return API_ROUTE_NONE;
	int64_t v = 0;
	for (; *path; path++) {
		if (*path < '0' || *path > '9' || v > (INT64_MAX - (*path - '0')) / 10)
			return API_ROUTE_NONE;
		v = v * 10 + (*path - '0');
	}
	*id = v;
	return API_ROUTE_MESSAGE;
}

/* ---- ISO 8601 ---- */

static int num(const char **p, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		*out = *out * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

int http_api_iso8601(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec = 0;
	const char *p = s;
	if (num(&p, 4, &y) || *p++ != '-' || num(&p, 2, &mo) || *p++ != '-' || num(&p, 2, &d))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (num(&p, 2, &h) || *p++ != ':' || num(&p, 2, &mi))
		return -1;
	if (*p == ':') {
		p++;
		if (num(&p, 2, &sec))
			return -1;
		if (*p == '.' || *p == ',') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			for (int n = 0; isdigit((unsigned char)*p); p++)
				if (++n > 9)
					return -1;
		}
	}
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	if (sec == 60) /* a leap second: the next second is as good */
		sec = 59;
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
		if (num(&p, 2, &oh))
			return -1;
		if (*p == ':')
			p++;
		if (*p && num(&p, 2, &om))
			return -1;
		if (oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return -1; /* a time zone is required */
	}
	if (*p)
		return -1;
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	if (t < 0)
		return -1;
	*out = t;
	return 0;
}

void http_api_iso8601_format(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%s", "");
}

/* ---- building a submission ---- */

static bool is_hex(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n % 2)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

static struct submission *build(const struct msg_in *in, struct http_api_error *err)
{
	const struct fval *v = in->v;
	for (int i = 0; i < F_COUNT; i++)
		if (v[i].present && fields[i].type == FT_STR && strlen(v[i].str) > STR_MAX)
			return set_err(err, 400, fields[i].name, "%s: longer than %d bytes", fields[i].name, STR_MAX),
			       NULL;
	if (!v[F_TO].present || !*v[F_TO].str)
		return set_err(err, 400, "to", "to: required, the recipient's number (e.g. \"+15551234567\")"), NULL;
	const char *enc = v[F_ENCODING].present ? v[F_ENCODING].str : "auto";
	if (strcmp(enc, "auto") && strcmp(enc, "gsm7") && strcmp(enc, "ucs2") && strcmp(enc, "binary"))
		return set_err(err, 400, "encoding", "encoding: must be auto, gsm7, ucs2 or binary"), NULL;
	bool binary = strcmp(enc, "binary") == 0;
	if (binary) {
		if (v[F_TEXT].present)
			return set_err(err, 400, "text",
			               "text: not allowed with encoding \"binary\" (the data goes in payload, as hex)"),
			       NULL;
		if (!v[F_PAYLOAD].present || !is_hex(v[F_PAYLOAD].str))
			return set_err(
			           err, 400, "payload",
			           "payload: required with encoding \"binary\": a non-empty even-length hex string"),
			       NULL;
		if (v[F_UDH].present && !is_hex(v[F_UDH].str))
			return set_err(err, 400, "udh", "udh: must be a non-empty even-length hex string"), NULL;
	} else {
		if (!v[F_TEXT].present)
			return set_err(err, 400, "text", "text: required, the message text"), NULL;
		if (v[F_PAYLOAD].present)
			return set_err(err, 400, "payload", "payload: only with encoding \"binary\""), NULL;
		if (v[F_UDH].present)
			return set_err(err, 400, "udh", "udh: only with encoding \"binary\""), NULL;
	}
	if (v[F_PRIORITY].present && (v[F_PRIORITY].num < 0 || v[F_PRIORITY].num > 9))
		return set_err(err, 400, "priority", "priority: must be an integer 0 to 9"), NULL;
	if (v[F_CLASS].present && (v[F_CLASS].num < 0 || v[F_CLASS].num > 3))
		return set_err(err, 400, "class", "class: must be an integer 0 to 3"), NULL;
	int64_t send_after = 0, valid_until = 0;
	if (v[F_SEND_AFTER].present && http_api_iso8601(v[F_SEND_AFTER].str, &send_after))
		return set_err(err, 400, "send_after",
		               "send_after: must be an ISO 8601 time with a time zone, e.g. \"2030-01-02T03:04:05Z\""),
		       NULL;
	if (v[F_VALID_UNTIL].present && http_api_iso8601(v[F_VALID_UNTIL].str, &valid_until))
		return set_err(err, 400, "valid_until",
		               "valid_until: must be an ISO 8601 time with a time zone, e.g. \"2030-01-02T03:04:05Z\""),
		       NULL;
	struct submission *s = xcalloc(1, sizeof *s);
	s->recipient = xstrdup(v[F_TO].str);
	s->sender = v[F_FROM].present ? xstrdup(v[F_FROM].str) : NULL;
	s->body = binary ? NULL : xstrdup(v[F_TEXT].str);
	s->payload = binary ? xstrdup(v[F_PAYLOAD].str) : NULL;
	s->udh = binary && v[F_UDH].present ? xstrdup(v[F_UDH].str) : NULL;
	s->encoding = xstrdup(enc);
	s->client_ref = v[F_CLIENT_REF].present ? xstrdup(v[F_CLIENT_REF].str) : NULL;
	s->priority = v[F_PRIORITY].present ? (int)v[F_PRIORITY].num : 0;
	s->want_report = v[F_REPORT].present ? v[F_REPORT].b : true;
	s->flash = v[F_FLASH].present && v[F_FLASH].b;
	s->msg_class = v[F_CLASS].present ? (int)v[F_CLASS].num : -1;
	s->send_after_s = send_after;
	s->valid_until_s = valid_until;
	return s;
}

/* ---- JSON ---- */

static struct submission *from_json(const json_t *obj, struct http_api_error *err)
{
	if (!json_is_object(obj))
		return set_err(err, 400, NULL, "a message must be a JSON object"), NULL;
	struct msg_in in;
	memset(&in, 0, sizeof in);
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val)
	{
		int i = field_index(key);
		if (i < 0)
			return unknown_field(key, err), NULL;
		if (json_is_null(val))
			continue; /* the same as absent */
		struct fval *f = &in.v[i];
		switch (fields[i].type) {
		case FT_STR:
			if (!json_is_string(val))
				return set_err(err, 400, key, "%s: must be a string", key), NULL;
			f->str = json_string_value(val);
			break;
		case FT_INT:
			if (!json_is_integer(val))
				return set_err(err, 400, key, "%s: must be an integer", key), NULL;
			f->num = json_integer_value(val);
			break;
		case FT_BOOL:
			if (!json_is_boolean(val))
				return set_err(err, 400, key, "%s: must be true or false", key), NULL;
			f->b = json_is_true(val);
			break;
		}
		f->present = true;
	}
	return build(&in, err);
}

static int parse_json(const char *body, size_t len, struct http_api_request *out, struct http_api_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return set_err(err, 400, NULL, "broken JSON at line %d column %d: %.160s", jerr.line, jerr.column,
		               jerr.text);
	json_t *list = NULL;
	if (json_is_array(root)) {
		list = root;
	} else if (json_object_get(root, "messages")) {
		const char *key;
		json_t *val;
		json_object_foreach(root, key, val)
		{
			if (strcmp(key, "messages") != 0) {
				unknown_field(key, err);
				json_decref(root);
				return -1;
			}
		}
		list = json_object_get(root, "messages");
		if (!json_is_array(list)) {
			json_decref(root);
			return set_err(err, 400, "messages", "messages: must be an array of message objects");
		}
	}
	if (!list) {
		struct submission *s = from_json(root, err);
		json_decref(root);
		if (!s)
			return -1;
		out->items = xcalloc(1, sizeof *out->items);
		out->items[0].sub = s;
		out->n = 1;
		return 0;
	}
	size_t n = json_array_size(list);
	if (n == 0) {
		json_decref(root);
		return set_err(err, 400, "messages", "the batch is empty");
	}
	if (n > HTTP_API_BATCH_MAX) {
		json_decref(root);
		return set_err(err, 413, "messages", "a batch holds at most %d messages (got %zu)", HTTP_API_BATCH_MAX,
		               n);
	}
	out->batch = true;
	out->items = xcalloc(n, sizeof *out->items);
	out->n = (int)n;
	for (size_t i = 0; i < n; i++)
		out->items[i].sub = from_json(json_array_get(list, i), &out->items[i].err);
	json_decref(root);
	return 0;
}

/* ---- form ---- */

static int parse_bool(const char *s, bool *b)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*b = true;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*b = false;
	else
		return -1;
	return 0;
}

static int parse_int(const char *s, long long *v)
{
	if (!*s || strlen(s) > 6)
		return -1;
	char *end;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return *end || errno || !(isdigit((unsigned char)s[0]) || s[0] == '-') ? -1 : 0;
}

static int parse_form(const char *body, size_t len, struct http_api_request *out, struct http_api_error *err)
{
	struct http_form f = {0};
	struct errbuf eb = {""};
	if (http_form_parse(body, len, &f, &eb))
		return set_err(err, 400, NULL, "the body is not valid form encoding: %.200s", eb.msg);
	struct msg_in in;
	memset(&in, 0, sizeof in);
	int rc = -1;
	for (size_t k = 0; k < f.n; k++) {
		const char *name = f.kv[k].name, *val = f.kv[k].value;
		if (utf8_validate(name, strlen(name), NULL) || utf8_validate(val, strlen(val), NULL)) {
			set_err(err, 400, NULL, "the form fields are not valid UTF-8");
			goto out;
		}
		int i = field_index(name);
		if (i < 0) {
			unknown_field(name, err);
			goto out;
		}
		struct fval *fv = &in.v[i];
		if (fv->present) {
			set_err(err, 400, name, "%s: given more than once", name);
			goto out;
		}
		fv->present = true;
		fv->str = val;
		if (fields[i].type == FT_INT && parse_int(val, &fv->num)) {
			set_err(err, 400, name, "%s: must be an integer", name);
			goto out;
		}
		if (fields[i].type == FT_BOOL && parse_bool(val, &fv->b)) {
			set_err(err, 400, name, "%s: must be true or false", name);
			goto out;
		}
	}
	struct submission *s = build(&in, err);
	if (s) {
		out->items = xcalloc(1, sizeof *out->items);
		out->items[0].sub = s;
		out->n = 1;
		rc = 0;
	}
out:
	http_form_free(&f);
	return rc;
}

/* ---- the body ---- */

int http_api_parse(const char *content_type, const char *body, size_t len, struct http_api_request *out,
                   struct http_api_error *err)
{
	memset(out, 0, sizeof *out);
	char mt[64];
	http_form_media_type(content_type, mt, sizeof mt);
	size_t ml = strlen(mt);
	bool json = strcmp(mt, "application/json") == 0 || (ml > 5 && strcmp(mt + ml - 5, "+json") == 0);
	bool form = strcmp(mt, "application/x-www-form-urlencoded") == 0;
	if (!json && !form)
		return set_err(err, 415, NULL,
		               "Content-Type must be application/json or application/x-www-form-urlencoded");
	if (len == 0)
		return set_err(err, 400, NULL, "the body is empty: send a message (to, text, ...)");
	size_t bad_at = 0;
	if (utf8_validate(body, len, &bad_at))
		return set_err(err, 400, NULL, "the body is not valid UTF-8 (at byte %zu)", bad_at);
	if (memchr(body, 0, len))
		return set_err(err, 400, NULL, "the body contains a NUL byte");
	return json ? parse_json(body, len, out, err) : parse_form(body, len, out, err);
}

void http_api_request_free(struct http_api_request *r)
{
	for (int i = 0; i < r->n; i++)
		if (r->items[i].sub)
			submission_free(r->items[i].sub);
	free(r->items);
	memset(r, 0, sizeof *r);
}
