/*
 * fuzz_http_template: arbitrary templates and values.  Byte 0 picks the
 * default filter; the rest is "template NUL value".  Compilation either
 * fails with a message or succeeds; expansion of a compiled template never
 * crashes, and every filter keeps its promise: url output is only
 * unreserved characters and %XX, json output has no raw control character
 * or unescaped quote, xml output no raw < > " ', hex/ucs2hex only hex digits.
 */
#include <assert.h>
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_filter(enum http_filter f, const char *v)
{
	struct sbuf b;
	sbuf_init(&b);
	struct errbuf err;
	if (http_filter_apply(f, v, strlen(v), &b, &err) == 0) {
		for (size_t i = 0; i < b.len; i++) {
			unsigned char ch = (unsigned char)b.buf[i];
			switch (f) {
			case HF_URL:
				if (ch == '%') {
					assert(i + 2 < b.len);
					assert(isxdigit((unsigned char)b.buf[i + 1]) &&
					       isxdigit((unsigned char)b.buf[i + 2]));
					i += 2;
				} else
					assert(isalnum(ch) || strchr("-._~", ch));
				break;
			case HF_JSON:
				assert(ch >= 0x20 && ch != 0x7F);
				if (ch == '"')
					assert(i > 0 && b.buf[i - 1] == '\\');
				break;
			case HF_XML:
				assert(!strchr("<>\"'", ch));
				break;
			case HF_HEX:
			case HF_UCS2HEX:
				assert(isxdigit(ch));
				break;
			default:
				break;
			}
		}
		if (f == HF_HEX)
			assert(b.len == 2 * strlen(v));
	} else {
		assert(f == HF_UCS2HEX);
	}
	sbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum http_filter def = (enum http_filter)(data[0] % HF_COUNT);
	char *buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = 0;
	const char *src = buf;
	size_t sl = strlen(src);
	const char *val = sl + 1 < size - 1 ? src + sl + 1 : "";
	const char *vals[HV_COUNT];
	for (int i = 0; i < HV_COUNT; i++)
		vals[i] = (i % 3 == 0) ? val : (i % 3 == 1 ? NULL : "fixed");

	struct http_tpl *t = NULL;
	struct errbuf err;
	if (http_tpl_compile(src, def, "fuzz", &t, &err) == 0) {
		assert(t);
		struct sbuf b;
		sbuf_init(&b);
		(void)!http_tpl_expand(t, vals, &b, &err);
		sbuf_free(&b);
		http_tpl_free(t);
	} else {
		assert(t == NULL && err.msg[0]);
	}
	for (int f = 0; f < HF_COUNT; f++)
		check_filter((enum http_filter)f, val);
	free(buf);
	return 0;
}
