/* line: see line.h.  Every field is checked before anything is allocated
 * for the core, so a bad line costs one error and nothing else. */
#include "exec/line.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *const report_states[] = {"delivered", "undelivered", "expired", "rejected",
                                            "deleted",   "accepted",    "enroute", "unknown"};

static const char *const inbound_keys[] = {"type",    "id",  "from",  "to",        "text",
                                           "payload", "udh", "parts", "timestamp", "encoding"};
static const char *const report_keys[] = {"type", "id", "remote_id", "state", "error_code", "text"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7F)
			return true;
	return false;
}

/* A string field: absent (NULL, ok), or a string of min..max bytes. */
static int get_str(json_t *o, const char *key, size_t min, size_t max, bool no_ctl, const char **out,
                   struct errbuf *err)
{
	*out = NULL;
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return errbuf_set(err, "%s: must be a string", key);
	size_t n = json_string_length(v);
	if (n < min || n > max)
		return errbuf_set(err, "%s: must be %zu to %zu bytes long", key, min, max);
	if (no_ctl && has_ctl(json_string_value(v)))
		return errbuf_set(err, "%s: must not contain control characters", key);
	*out = json_string_value(v);
	return 0;
}

static bool is_hex(const char *s)
{
	size_t n = strlen(s);
	if (n % 2)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int parse_inbound(json_t *o, struct exec_line *out, struct errbuf *err)
{
	const char *from, *to, *text, *payload, *udh, *enc;
	if (get_str(o, "from", 1, 32, true, &from, err) || get_str(o, "to", 1, 32, true, &to, err) ||
	    get_str(o, "text", 0, 1 << 20, false, &text, err) ||
	    get_str(o, "payload", 0, 1 << 20, false, &payload, err) || get_str(o, "udh", 0, 512, false, &udh, err) ||
	    get_str(o, "encoding", 1, 16, true, &enc, err))
		return -1;
	if (!from || !to)
		return errbuf_set(err, "an inbound text needs from and to");
	if (!text == !payload)
		return errbuf_set(err, "an inbound text needs either text or payload (hex)");
	if (payload && !is_hex(payload))
		return errbuf_set(err, "payload: must be hex digits, two per octet");
	if (udh && !is_hex(udh))
		return errbuf_set(err, "udh: must be hex digits, two per octet");
	for (const char *p = enc; p && *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return errbuf_set(err, "encoding: must be a name such as gsm7, ucs2 or binary");
	json_t *parts = json_object_get(o, "parts"), *ts = json_object_get(o, "timestamp");
	if (parts && (!json_is_integer(parts) || json_integer_value(parts) < 1 || json_integer_value(parts) > 255))
		return errbuf_set(err, "parts: must be an integer from 1 to 255");
	if (ts && (!json_is_integer(ts) || json_integer_value(ts) < 0 || json_integer_value(ts) > 253402300799LL))
		return errbuf_set(err, "timestamp: must be unix seconds (an integer)");
	struct inbound *in = xcalloc(1, sizeof *in);
	in->sender = xstrdup(from);
	in->recipient = xstrdup(to);
	in->body = dup_or_null(text);
	in->payload = dup_or_null(payload);
	in->udh = dup_or_null(udh);
	in->encoding = enc ? xstrdup(enc) : payload ? xstrdup("binary") : NULL;
	in->parts = parts ? (int)json_integer_value(parts) : 1;
	in->smsc_ts_s = ts ? (int64_t)json_integer_value(ts) : 0;
	out->in = in;
	return 0;
}

static int parse_report(json_t *o, struct exec_line *out, struct errbuf *err)
{
	const char *rid, *state, *code, *text;
	if (get_str(o, "remote_id", 1, 200, true, &rid, err) || get_str(o, "state", 1, 32, true, &state, err) ||
	    get_str(o, "error_code", 0, 64, true, &code, err) || get_str(o, "text", 0, 4096, false, &text, err))
		return -1;
	if (!rid || !state)
		return errbuf_set(err, "a report needs remote_id and state");
	if (!in_list(state, report_states, ARRAY_LEN(report_states)))
		return errbuf_set(err,
		                  "state: \"%.32s\" is not one of delivered, undelivered, expired, rejected, "
		                  "deleted, accepted, enroute, unknown",
		                  state);
	struct report *r = xcalloc(1, sizeof *r);
	r->remote_id = xstrdup(rid);
	r->state = xstrdup(state);
	r->error_code = dup_or_null(code);
	r->text = dup_or_null(text);
	out->rep = r;
	return 0;
}

int exec_line_parse(const char *line, size_t len, struct exec_line *out, struct errbuf *err)
{
	memset(out, 0, sizeof *out);
	if (len && line[len - 1] == '\r')
		len--;
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len)
		return 1;
	json_error_t jerr;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return errbuf_set(err, "not JSON: %.120s (column %d)", jerr.text, jerr.column);
	int rc = -1;
	if (!json_is_object(o)) {
		errbuf_set(err, "must be a JSON object");
		goto out;
	}
	const char *type;
	if (get_str(o, "type", 1, 16, true, &type, err))
		goto out;
	if (!type) {
		errbuf_set(err, "type: required (inbound or report)");
		goto out;
	}
	bool inbound = !strcmp(type, "inbound");
	if (!inbound && strcmp(type, "report")) {
		errbuf_set(err, "type: \"%.16s\" is not inbound or report", type);
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (inbound ? !in_list(key, inbound_keys, ARRAY_LEN(inbound_keys))
		            : !in_list(key, report_keys, ARRAY_LEN(report_keys))) {
			errbuf_set(err, "unknown key \"%.40s\" in a%s %s line", key, inbound ? "n" : "", type);
			goto out;
		}
	}
	json_t *id = json_object_get(o, "id");
	if (id) {
		if (json_is_string(id)) {
			size_t n = json_string_length(id);
			if (n < 1 || n > 200 || memchr(json_string_value(id), 0, n)) {
				errbuf_set(err, "id: must be a string of 1 to 200 characters or an integer");
				goto out;
			}
		} else if (!json_is_integer(id)) {
			errbuf_set(err, "id: must be a string of 1 to 200 characters or an integer");
			goto out;
		}
	}
	out->kind = inbound ? EXEC_LINE_INBOUND : EXEC_LINE_REPORT;
	if (inbound ? parse_inbound(o, out, err) : parse_report(o, out, err))
		goto out;
	if (id) {
		out->id = json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
		if (!out->id)
			abort();
	}
	rc = 0;
out:
	json_decref(o);
	if (rc)
		exec_line_clear(out);
	return rc;
}

void exec_line_clear(struct exec_line *out)
{
	free(out->id);
	inbound_free(out->in);
	report_free(out->rep);
	memset(out, 0, sizeof *out);
}
