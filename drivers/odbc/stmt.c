/*
 * odbc stmt: see stmt.h.  One pass over the text, copying it into a buffer
 * of the same size (a `:name` only ever shrinks to `?`) and skipping what the
 * SQL of every dialect treats as quoted or commented.
 */
#include "stmt.h"

#include <stdlib.h>
#include <string.h>

static int name_char(char ch, int first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || (!first && ch >= '0' && ch <= '9');
}

/* Copies from text[i] to the end of a quoted run closed by q ('' doubles the
 * quote); returns the index after it, or -1 if it is never closed. */
static long copy_quoted(const char *text, size_t len, size_t i, char q, char *out, size_t *o)
{
	out[(*o)++] = text[i++];
	while (i < len) {
		char ch = text[i++];
		out[(*o)++] = ch;
		if (ch == q) {
			if (i < len && text[i] == q) {
				out[(*o)++] = text[i++];
				continue;
			}
			return (long)i;
		}
	}
	return -1;
}

int odbc_stmt_parse(const char *text, size_t len, const char *const *allowed, struct odbc_stmt *out, struct errbuf *err)
{
	memset(out, 0, sizeof *out);
	if (len == 0)
		return errbuf_set(err, "empty statement");
	if (len > ODBC_STMT_MAX_LEN)
		return errbuf_set(err, "statement longer than %d bytes", ODBC_STMT_MAX_LEN);
	if (memchr(text, '\0', len))
		return errbuf_set(err, "statement contains a NUL byte");
	char *buf = xmalloc(len + 1);
	size_t o = 0, i = 0;
	while (i < len) {
		char ch = text[i];
		if (ch == '\'' || ch == '"' || ch == '`') {
			long next = copy_quoted(text, len, i, ch, buf, &o);
			if (next < 0) {
				free(buf);
				return errbuf_set(err, "unterminated %c quote at byte %zu", ch, i);
			}
			i = (size_t)next;
		} else if (ch == '-' && i + 1 < len && text[i + 1] == '-') {
			while (i < len && text[i] != '\n')
				buf[o++] = text[i++];
		} else if (ch == '/' && i + 1 < len && text[i + 1] == '*') {
			const char *end = NULL;
			for (size_t j = i + 2; j + 1 < len; j++)
				if (text[j] == '*' && text[j + 1] == '/') {
					end = text + j + 2;
					break;
				}
			if (!end) {
				free(buf);
				return errbuf_set(err, "unterminated comment at byte %zu", i);
			}
			size_t n = (size_t)(end - (text + i));
			memcpy(buf + o, text + i, n);
			o += n;
			i += n;
		} else if (ch == ':' && i + 1 < len && text[i + 1] == ':') {
			buf[o++] = text[i++];
			buf[o++] = text[i++];
		} else if (ch == ':' && i + 1 < len && name_char(text[i + 1], 1)) {
			size_t start = ++i;
			while (i < len && name_char(text[i], 0))
				i++;
			size_t n = i - start;
			int idx = -1;
			for (int k = 0; allowed && allowed[k]; k++)
				if (strlen(allowed[k]) == n && memcmp(allowed[k], text + start, n) == 0) {
					idx = k;
					break;
				}
			if (idx < 0) {
				free(buf);
				return errbuf_set(err, "unknown parameter :%.*s", (int)(n > 40 ? 40 : n), text + start);
			}
			if (out->nparams == ODBC_STMT_MAX_PARAMS) {
				free(buf);
				return errbuf_set(err, "more than %d parameters", ODBC_STMT_MAX_PARAMS);
			}
			out->param[out->nparams++] = idx;
			buf[o++] = '?';
		} else if (ch == '?') {
			free(buf);
			return errbuf_set(err, "a bare ? at byte %zu: name parameters (:name)", i);
		} else {
			buf[o++] = text[i++];
		}
	}
	buf[o] = '\0';
	out->sql = buf;
	return 0;
}

void odbc_stmt_free(struct odbc_stmt *s)
{
	free(s->sql);
	memset(s, 0, sizeof *s);
}

int odbc_stmt_uses(const struct odbc_stmt *s, int idx)
{
	for (int i = 0; i < s->nparams; i++)
		if (s->param[i] == idx)
			return 1;
	return 0;
}
