/* sbuf: see sbuf.h. */
#include "sbuf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void sbuf_init(struct sbuf *b)
{
	b->cap = 256;
	b->len = 0;
	b->buf = xmalloc(b->cap);
	b->buf[0] = '\0';
}

void sbuf_free(struct sbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

void sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	b->buf[0] = '\0';
}

static void grow(struct sbuf *b, size_t need)
{
	if (b->len + need + 1 <= b->cap)
		return;
	while (b->len + need + 1 > b->cap)
		b->cap *= 2;
	b->buf = xrealloc(b->buf, b->cap);
}

void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	grow(b, n);
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void sbuf_adds(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sbuf_arr_begin(struct sbuf *b)
{
	sbuf_add(b, "{", 1);
}

static void comma(struct sbuf *b)
{
	if (b->len && b->buf[b->len - 1] != '{')
		sbuf_add(b, ",", 1);
}

void sbuf_arr_text(struct sbuf *b, const char *s)
{
	comma(b);
	if (!s) {
		sbuf_add(b, "NULL", 4);
		return;
	}
	grow(b, 2 * strlen(s) + 2);
	b->buf[b->len++] = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			b->buf[b->len++] = '\\';
		b->buf[b->len++] = *s;
	}
	b->buf[b->len++] = '"';
	b->buf[b->len] = '\0';
}

void sbuf_arr_int(struct sbuf *b, int64_t v)
{
	comma(b);
	sbuf_printf(b, "%" PRId64, v);
}

void sbuf_arr_end(struct sbuf *b)
{
	sbuf_add(b, "}", 1);
}
