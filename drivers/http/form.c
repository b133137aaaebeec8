/* form: see form.h. */
#include "http/form.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

char *http_form_unescape(const char *s, size_t len, int plus)
{
	char *out = xmalloc(len + 1), *o = out;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (ch == '%') {
			int hi = i + 2 < len ? hex_digit(s[i + 1]) : -1;
			int lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (ch == '+' && plus) {
			*o++ = ' ';
		} else if (ch == '\0') {
			free(out);
			return NULL;
		} else {
			*o++ = ch;
		}
	}
	*o = 0;
	return out;
}

int http_form_parse(const char *s, size_t len, struct http_form *f, struct errbuf *err)
{
	struct http_form add = {0};
	size_t i = 0;
	while (i < len) {
		size_t e = i;
		while (e < len && s[e] != '&')
			e++;
		if (e > i) {
			if (f->n + add.n >= HTTP_FORM_MAX_FIELDS) {
				http_form_free(&add);
				return errbuf_set(err, "more than %d fields", HTTP_FORM_MAX_FIELDS);
			}
			size_t eq = i;
			while (eq < e && s[eq] != '=')
				eq++;
			char *name = http_form_unescape(s + i, eq - i, 1);
			char *value = eq < e ? http_form_unescape(s + eq + 1, e - eq - 1, 1) : xstrdup("");
			if (!name || !value) {
				free(name);
				free(value);
				http_form_free(&add);
				return errbuf_set(err, "bad percent-encoding in field %zu", f->n + add.n + 1);
			}
			add.kv = xrealloc(add.kv, (add.n + 1) * sizeof *add.kv);
			add.kv[add.n++] = (struct http_kv){name, value};
		}
		i = e + 1;
	}
	if (add.n) {
		f->kv = xrealloc(f->kv, (f->n + add.n) * sizeof *f->kv);
		memcpy(f->kv + f->n, add.kv, add.n * sizeof *add.kv);
		f->n += add.n;
	}
	free(add.kv);
	return 0;
}

const char *http_form_get(const struct http_form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->kv[i].name, name) == 0)
			return f->kv[i].value;
	return NULL;
}

void http_form_free(struct http_form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->kv[i].name);
		free(f->kv[i].value);
	}
	free(f->kv);
	f->kv = NULL;
	f->n = 0;
}

void http_form_media_type(const char *ct, char *out, size_t cap)
{
	size_t n = 0;
	for (; ct && *ct && *ct != ';' && n + 1 < cap; ct++)
		if (*ct != ' ' && *ct != '\t')
			out[n++] = (char)tolower((unsigned char)*ct);
	out[n] = 0;
}
