/* utf8: see utf8.h. */
#include "codec/utf8.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "util.h"

int utf8_decode_next(const char *s, size_t len, size_t *pos, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s + *pos;
	size_t left = len - *pos;
	uint32_t c, min;
	size_t n;

	if (left == 0)
		return -EILSEQ;
	if (p[0] < 0x80) {
		*cp = p[0];
		*pos += 1;
		return 0;
	}
	if ((p[0] & 0xE0) == 0xC0) {
		n = 2;
		c = p[0] & 0x1F;
		min = 0x80;
	} else if ((p[0] & 0xF0) == 0xE0) {
		n = 3;
		c = p[0] & 0x0F;
		min = 0x800;
	} else if ((p[0] & 0xF8) == 0xF0) {
		n = 4;
		c = p[0] & 0x07;
		min = 0x10000;
	} else {
		return -EILSEQ; /* continuation byte or 0xF8..0xFF as a lead */
	}
	if (left < n)
		return -EILSEQ;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return -EILSEQ;
		c = (c << 6) | (p[i] & 0x3F);
	}
	/* Overlong forms would let two byte strings mean one text; surrogates
	 * are not characters and cannot be re-encoded as UTF-16. */
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return -EILSEQ;
	*cp = c;
	*pos += n;
	return 0;
}

size_t utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

int utf8_validate(const char *s, size_t len, size_t *bad_at)
{
	size_t pos = 0;
	uint32_t cp;

	while (pos < len) {
		if (utf8_decode_next(s, len, &pos, &cp) < 0) {
			if (bad_at)
				*bad_at = pos;
			return -EILSEQ;
		}
	}
	return 0;
}

static bool sanitize_keeps(uint32_t cp, unsigned flags)
{
	if (cp == '\n' || cp == '\r' || cp == '\t')
		return flags & UTF8_KEEP_NEWLINES;
	if (cp == 0x1F)
		return flags & UTF8_KEEP_US;
	return !(cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F));
}

char *utf8_sanitize(const char *s, unsigned flags)
{
	if (!s)
		return NULL;
	size_t len = strlen(s), pos = 0, o = 0;
	char *out = xmalloc(len * 4 + 1); /* each byte becomes at most "\xNN" */
	while (pos < len) {
		size_t at = pos;
		uint32_t cp;
		if (utf8_decode_next(s, len, &pos, &cp) < 0) {
			static const char hex[] = "0123456789ABCDEF";
			unsigned char b = (unsigned char)s[at];
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[b >> 4];
			out[o++] = hex[b & 15];
			pos = at + 1;
			continue;
		}
		if (sanitize_keeps(cp, flags)) {
			memcpy(out + o, s + at, pos - at);
			o += pos - at;
		}
	}
	out[o] = 0;
	return out;
}
