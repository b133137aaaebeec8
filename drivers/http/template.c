/* template: see template.h.  A compiled template is an array of segments,
 * each a literal run or a (variable, filter) pair. */
#include "http/template.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/utf8.h"
#include "msg.h"

static const char *const var_names[HV_COUNT] = {
    [HV_RECIPIENT] = "recipient",
    [HV_SENDER] = "sender",
    [HV_TEXT] = "text",
    [HV_ID] = "id",
    [HV_CLIENT_REF] = "client_ref",
    [HV_ENCODING] = "encoding",
    [HV_PARTS] = "parts",
    [HV_PART] = "part",
    [HV_PART_HEX] = "part_hex",
    [HV_UDH_HEX] = "udh_hex",
    [HV_VALID_UNTIL] = "valid_until",
    [HV_VALID_UNTIL_ISO] = "valid_until_iso",
    [HV_WANT_REPORT] = "want_report",
    [HV_CALLBACK_URL] = "callback_url",
    [HV_ATTEMPT] = "attempt",
    [HV_USERNAME] = "username",
    [HV_PASSWORD] = "password",
    [HV_TOKEN] = "token",
    [HV_CODING] = "coding",
};

static const char *const filter_names[HF_COUNT] = {
    [HF_NONE] = "none", [HF_URL] = "url", [HF_JSON] = "json",
    [HF_XML] = "xml",   [HF_HEX] = "hex", [HF_UCS2HEX] = "ucs2hex",
};

struct seg {
	const char *lit; /* into http_tpl.src; NULL for a placeholder */
	size_t len;
	enum http_var var;
	enum http_filter filter;
};

struct http_tpl {
	char *src; /* a copy with `{{` still in place; literals point into it */
	struct seg *segs;
	size_t n, cap;
};

const char *http_var_name(enum http_var v)
{
	return v < HV_COUNT ? var_names[v] : "?";
}

const char *http_filter_name(enum http_filter f)
{
	return f < HF_COUNT ? filter_names[f] : "?";
}

int http_filter_from_name(const char *name, size_t len)
{
	for (int f = 0; f < HF_COUNT; f++)
		if (strlen(filter_names[f]) == len && memcmp(filter_names[f], name, len) == 0)
			return f;
	return -1;
}

static int var_from_name(const char *name, size_t len)
{
	for (int v = 0; v < HV_COUNT; v++)
		if (strlen(var_names[v]) == len && memcmp(var_names[v], name, len) == 0)
			return v;
	return -1;
}

static void push(struct http_tpl *t, struct seg s)
{
	if (s.lit && s.len == 0)
		return;
	/* Adjacent literals merge (they are contiguous in src unless split by `{{`). */
	if (s.lit && t->n && t->segs[t->n - 1].lit && t->segs[t->n - 1].lit + t->segs[t->n - 1].len == s.lit) {
		t->segs[t->n - 1].len += s.len;
		return;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 8;
		t->segs = xrealloc(t->segs, t->cap * sizeof *t->segs);
	}
	t->segs[t->n++] = s;
}

static bool ident_start(char ch)
{
	return isalpha((unsigned char)ch) || ch == '_';
}

static bool ident_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

int http_tpl_compile(const char *src, enum http_filter def, const char *what, struct http_tpl **out, struct errbuf *err)
{
	struct http_tpl *t = xcalloc(1, sizeof *t);
	t->src = xstrdup(src);
	const char *p = t->src, *lit = p;
	while (*p) {
		if (*p != '{') {
			p++;
			continue;
		}
		if (p[1] == '{') { /* `{{` → `{` */
			push(t, (struct seg){lit, (size_t)(p - lit) + 1, 0, 0});
			p += 2;
			lit = p;
			continue;
		}
		if (!ident_start(p[1])) {
			p++;
			continue;
		}
		const char *name = p + 1, *q = name;
		while (ident_char(*q))
			q++;
		if (*q != '}' && *q != '|') {
			p++; /* `{word ...` that is not a placeholder: literal */
			continue;
		}
		int var = var_from_name(name, (size_t)(q - name));
		if (var < 0) {
			errbuf_set(err, "%s: unknown placeholder {%.*s}", what, (int)(q - name), name);
			goto fail;
		}
		int filter = (int)def;
		if (*q == '|') {
			const char *f = q + 1, *fe = f;
			while (ident_char(*fe))
				fe++;
			if (*fe != '}') {
				errbuf_set(err, "%s: placeholder {%.*s|… is not closed by }", what, (int)(q - name),
				           name);
				goto fail;
			}
			filter = http_filter_from_name(f, (size_t)(fe - f));
			if (filter < 0) {
				errbuf_set(
				    err,
				    "%s: unknown filter \"%.*s\" in {%.*s|%.*s} (url, json, xml, hex, ucs2hex, none)",
				    what, (int)(fe - f), f, (int)(q - name), name, (int)(fe - f), f);
				goto fail;
			}
			q = fe;
		}
		push(t, (struct seg){lit, (size_t)(p - lit), 0, 0});
		push(t, (struct seg){NULL, 0, (enum http_var)var, (enum http_filter)filter});
		p = q + 1;
		lit = p;
	}
	push(t, (struct seg){lit, (size_t)(p - lit), 0, 0});
	*out = t;
	return 0;
fail:
	http_tpl_free(t);
	*out = NULL;
	return -1;
}

void http_tpl_free(struct http_tpl *t)
{
	if (!t)
		return;
	free(t->segs);
	free(t->src);
	free(t);
}

bool http_tpl_uses(const struct http_tpl *t, enum http_var v)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (!t->segs[i].lit && t->segs[i].var == v)
			return true;
	return false;
}

static const char hexd[] = "0123456789ABCDEF";

static void add_hex_octet(struct sbuf *out, unsigned o)
{
	char h[2] = {hexd[(o >> 4) & 15], hexd[o & 15]};
	sbuf_add(out, h, 2);
}

int http_filter_apply(enum http_filter f, const char *s, size_t n, struct sbuf *out, struct errbuf *err)
{
	switch (f) {
	case HF_NONE:
	case HF_COUNT:
		sbuf_add(out, s, n);
		return 0;
	case HF_URL:
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)s[i];
			if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
				sbuf_add(out, (const char *)&ch, 1);
			} else {
				sbuf_add(out, "%", 1);
				add_hex_octet(out, ch);
			}
		}
		return 0;
	case HF_JSON:
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)s[i];
			switch (ch) {
			case '"':
				sbuf_adds(out, "\\\"");
				break;
			case '\\':
				sbuf_adds(out, "\\\\");
				break;
			case '\n':
				sbuf_adds(out, "\\n");
				break;
			case '\r':
				sbuf_adds(out, "\\r");
				break;
			case '\t':
				sbuf_adds(out, "\\t");
				break;
			default:
				if (ch < 0x20 || ch == 0x7F)
					sbuf_printf(out, "\\u%04X", ch);
				else
					sbuf_add(out, (const char *)&ch, 1);
			}
		}
		return 0;
	case HF_XML:
		for (size_t i = 0; i < n; i++) {
			switch (s[i]) {
			case '&':
				sbuf_adds(out, "&amp;");
				break;
			case '<':
				sbuf_adds(out, "&lt;");
				break;
			case '>':
				sbuf_adds(out, "&gt;");
				break;
			case '"':
				sbuf_adds(out, "&quot;");
				break;
			case '\'':
				sbuf_adds(out, "&apos;");
				break;
			default:
				sbuf_add(out, s + i, 1);
			}
		}
		return 0;
	case HF_HEX:
		for (size_t i = 0; i < n; i++)
			add_hex_octet(out, (unsigned char)s[i]);
		return 0;
	case HF_UCS2HEX: {
		size_t pos = 0;
		while (pos < n) {
			uint32_t cp;
			if (utf8_decode_next(s, n, &pos, &cp))
				return errbuf_set(err, "ucs2hex: invalid UTF-8 at offset %zu", pos);
			if (cp >= 0x10000) {
				uint32_t v = cp - 0x10000;
				unsigned hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);
				add_hex_octet(out, hi >> 8);
				add_hex_octet(out, hi & 0xFF);
				add_hex_octet(out, lo >> 8);
				add_hex_octet(out, lo & 0xFF);
			} else {
				add_hex_octet(out, cp >> 8);
				add_hex_octet(out, cp & 0xFF);
			}
		}
		return 0;
	}
	}
	return 0;
}

int http_tpl_expand(const struct http_tpl *t, const char *const vals[HV_COUNT], struct sbuf *out, struct errbuf *err)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct seg *s = &t->segs[i];
		if (s->lit) {
			sbuf_add(out, s->lit, s->len);
			continue;
		}
		const char *v = vals[s->var] ? vals[s->var] : "";
		struct errbuf e2;
		if (http_filter_apply(s->filter, v, strlen(v), out, &e2))
			return errbuf_set(err, "{%s|%s}: %.200s", var_names[s->var], filter_names[s->filter], e2.msg);
	}
	return 0;
}

int http_tpl_headers_compile(const json_t *obj, enum http_filter def, const char *what, struct http_tpl_headers *h,
                             struct errbuf *err)
{
	memset(h, 0, sizeof *h);
	if (!obj)
		return 0;
	const char *key;
	json_t *v;
	h->v = xcalloc(json_object_size(obj) + 1, sizeof *h->v);
	json_object_foreach((json_t *)obj, key, v)
	{
		if (!*key || strpbrk(key, ": \r\n\t"))
			return errbuf_set(err, "%s: \"%s\" is not a header name", what, key);
		if (!json_is_string(v))
			return errbuf_set(err, "%s.%s: must be a string template", what, key);
		char name[96];
		snprintf(name, sizeof name, "%.30s.%.60s", what, key);
		struct http_tpl_header *ht = &h->v[h->n++];
		ht->name = xstrdup(key);
		if (http_tpl_compile(json_string_value(v), def, name, &ht->tpl, err))
			return -1;
	}
	return 0;
}

void http_tpl_headers_free(struct http_tpl_headers *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		http_tpl_free(h->v[i].tpl);
	}
	free(h->v);
	memset(h, 0, sizeof *h);
}

void http_tpl_vals_fill(struct http_tpl_vals *vs, const struct msg *m, const char *encoding, int parts, int part)
{
	memset(vs, 0, sizeof *vs);
	vs->v[HV_RECIPIENT] = m->recipient;
	vs->v[HV_SENDER] = m->sender;
	vs->v[HV_TEXT] = m->body;
	snprintf(vs->num[0], sizeof vs->num[0], "%" PRId64, m->id);
	vs->v[HV_ID] = vs->num[0];
	vs->v[HV_CLIENT_REF] = m->client_ref;
	vs->v[HV_ENCODING] = encoding;
	snprintf(vs->num[1], sizeof vs->num[1], "%d", parts);
	vs->v[HV_PARTS] = vs->num[1];
	snprintf(vs->num[2], sizeof vs->num[2], "%d", part);
	vs->v[HV_PART] = vs->num[2];
	vs->v[HV_PART_HEX] = m->payload;
	vs->v[HV_UDH_HEX] = m->udh;
	if (m->valid_until_s) {
		snprintf(vs->num[3], sizeof vs->num[3], "%" PRId64, m->valid_until_s);
		vs->v[HV_VALID_UNTIL] = vs->num[3];
		time_t t = (time_t)m->valid_until_s;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(vs->num[4], sizeof vs->num[4], "%Y-%m-%dT%H:%M:%SZ", &tm);
		vs->v[HV_VALID_UNTIL_ISO] = vs->num[4];
	}
	vs->v[HV_WANT_REPORT] = m->want_report ? "1" : "0";
	snprintf(vs->num[5], sizeof vs->num[5], "%d", m->attempts);
	vs->v[HV_ATTEMPT] = vs->num[5];
	/* Kannel's numbering, which other gateways share: 0 GSM 7-bit, 1 8-bit, 2 UCS-2. */
	vs->v[HV_CODING] = encoding && !strcmp(encoding, "ucs2")     ? "2"
	                   : encoding && !strcmp(encoding, "binary") ? "1"
	                                                             : "0";
}
