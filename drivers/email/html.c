/* html: see html.h.  One pass over the bytes; white space is collected as
 * "pending" (a space or a line break) and written only before the next
 * visible character, so the result has no leading, trailing or doubled
 * white space. */
#include "email/html.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec/utf8.h"
#include "sbuf.h"

enum pending { PEND_NONE, PEND_SPACE, PEND_LINE, PEND_PARA };

struct out {
	struct sbuf b;
	enum pending pend;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->b.len > 0 && o->pend != PEND_NONE)
		sbuf_adds(&o->b, o->pend == PEND_PARA ? "\n\n" : o->pend == PEND_LINE ? "\n" : " ");
	o->pend = PEND_NONE;
	sbuf_add(&o->b, s, n);
}

static void pend(struct out *o, enum pending p)
{
	if (p > o->pend)
		o->pend = p;
}

static const struct {
	const char *name;
	uint32_t cp;
} entities[] = {
    {"amp", '&'},     {"lt", '<'},       {"gt", '>'},       {"quot", '"'},      {"apos", '\''},    {"nbsp", 0xA0},
    {"euro", 0x20AC}, {"copy", 0xA9},    {"reg", 0xAE},     {"hellip", 0x2026}, {"ndash", 0x2013}, {"mdash", 0x2014},
    {"laquo", 0xAB},  {"raquo", 0xBB},   {"auml", 0xE4},    {"ouml", 0xF6},     {"uuml", 0xFC},    {"Auml", 0xC4},
    {"Ouml", 0xD6},   {"Uuml", 0xDC},    {"szlig", 0xDF},   {"eacute", 0xE9},   {"egrave", 0xE8},  {"agrave", 0xE0},
    {"ccedil", 0xE7}, {"rsquo", 0x2019}, {"lsquo", 0x2018}, {"rdquo", 0x201D},  {"ldquo", 0x201C},
};

/* Decodes the entity at s (s[0] == '&'); returns its length or 0. */
static size_t entity(const char *s, size_t n, uint32_t *cp)
{
	size_t i = 1;
	if (i < n && s[i] == '#') {
		i++;
		int base = 10;
		if (i < n && (s[i] == 'x' || s[i] == 'X'))
			base = 16, i++;
		uint32_t v = 0;
		size_t start = i;
		while (i < n && i - start < 8 &&
		       (base == 16 ? isxdigit((unsigned char)s[i]) : isdigit((unsigned char)s[i]))) {
			int d = isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10);
			v = v * (uint32_t)base + (uint32_t)d;
			i++;
		}
		if (i == start || v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
			return 0;
		*cp = v;
		return i < n && s[i] == ';' ? i + 1 : i;
	}
	for (size_t k = 0; k < sizeof entities / sizeof entities[0]; k++) {
		size_t l = strlen(entities[k].name);
		if (l + 1 < n && memcmp(s + 1, entities[k].name, l) == 0 && s[1 + l] == ';') {
			*cp = entities[k].cp;
			return l + 2;
		}
	}
	return 0;
}

static bool tag_is(const char *name, size_t len, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == len && strncasecmp(name, *list, len) == 0)
			return true;
	return false;
}

static const char *const para_tags[] = {"p",  "div", "table", "ul",         "ol",  "h1", "h2", "h3",
                                        "h4", "h5",  "h6",    "blockquote", "pre", "hr", NULL};
static const char *const line_tags[] = {"br", "tr", "li", "dt", "dd", "title", NULL};
static const char *const skip_tags[] = {"script", "style", "head", NULL};

/* Finds "</name" (any case) from s; returns its offset or n. */
static size_t find_close(const char *s, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i + 2 + len <= n; i++)
		if (s[i] == '<' && s[i + 1] == '/' && strncasecmp(s + i + 2, name, len) == 0)
			return i;
	return n;
}

char *email_html_to_text(const char *s, size_t n)
{
	struct out o = {{0}, PEND_NONE};
	sbuf_init(&o.b);
	size_t i = 0;
	while (i < n) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '<') {
			if (i + 3 < n && memcmp(s + i, "<!--", 4) == 0) {
				const char *end = memmem(s + i + 4, n - i - 4, "-->", 3);
				i = end ? (size_t)(end - s) + 3 : n;
				continue;
			}
			size_t j = i + 1;
			bool closing = j < n && s[j] == '/';
			if (closing)
				j++;
			size_t name = j;
			while (j < n && (isalnum((unsigned char)s[j])))
				j++;
			size_t nlen = j - name;
			if (nlen == 0 && !closing && (j >= n || s[j] != '!')) { /* a lone '<' is text */
				put(&o, "<", 1);
				i++;
				continue;
			}
			const char *gt = memchr(s + j, '>', n - j);
			size_t after = gt ? (size_t)(gt - s) + 1 : n;
			if (tag_is(s + name, nlen, para_tags))
				pend(&o, PEND_PARA);
			else if (tag_is(s + name, nlen, line_tags))
				pend(&o, PEND_LINE);
			else if (tag_is(s + name, nlen, skip_tags) && !closing) {
				size_t close = find_close(s + after, n - after, s + name, nlen);
				after += close;
			} else
				pend(&o, PEND_NONE);
			i = after;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f') {
			pend(&o, PEND_SPACE);
			i++;
			continue;
		}
		if (ch == '&') {
			uint32_t cp;
			size_t l = entity(s + i, n - i, &cp);
			if (l) {
				if (cp == 0xA0 || cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) {
					pend(&o, PEND_SPACE);
				} else {
					char u[4];
					put(&o, u, utf8_encode(cp, u));
				}
				i += l;
				continue;
			}
		}
		size_t pos = i;
		uint32_t cp;
		if (utf8_decode_next(s, n, &pos, &cp) == 0) {
			if (cp >= 0x20 && cp != 0x7F)
				put(&o, s + i, pos - i);
			i = pos;
		} else {
			i++; /* invalid byte: dropped (the caller gave UTF-8) */
		}
	}
	sbuf_add(&o.b, "", 0);
	return o.b.buf;
}
