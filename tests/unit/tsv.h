/*
 * tsv: a small reader for the test vector files in tests/vectors (see its
 * README): one header line, tab-separated columns, `key=value;...` fields
 * with percent-encoded values.  Header-only with static functions so that
 * each unit test stays a single .c file.  Files are read from
 * $SMSPOOL_VECTORS, default tests/vectors (tests run from the repo root).
 * Allocation failure aborts (these are tests).
 */
#ifndef SMSPOOL_TESTS_TSV_H
#define SMSPOOL_TESTS_TSV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TSV_MAX_COLS 16

struct tsv_row {
	char *col[TSV_MAX_COLS];
};

struct tsv {
	char *buf; /* the whole file, cut in place */
	size_t n_cols;
	char *head[TSV_MAX_COLS];
	size_t n_rows;
	struct tsv_row *rows;
};

/* Loads $SMSPOOL_VECTORS/name.  Returns 0, or -1 (and prints why). */
static inline int tsv_load(const char *name, struct tsv *t)
{
	const char *dir = getenv("SMSPOOL_VECTORS");
	char path[1024];
	memset(t, 0, sizeof *t);
	snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "tests/vectors", name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "tsv: cannot open %s\n", path);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	t->buf = malloc((size_t)sz + 1);
	if (!t->buf || fread(t->buf, 1, (size_t)sz, f) != (size_t)sz)
		abort();
	fclose(f);
	t->buf[sz] = '\0';

	size_t cap = 64;
	t->rows = calloc(cap, sizeof *t->rows);
	if (!t->rows)
		abort();
	char *line = t->buf;
	int first = 1;
	while (line && *line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (nl && nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (*line) {
			char *cols[TSV_MAX_COLS] = {0};
			size_t n = 0;
			for (char *c = line; c && n < TSV_MAX_COLS; n++) {
				cols[n] = c;
				c = strchr(c, '\t');
				if (c)
					*c++ = '\0';
			}
			if (first) {
				memcpy(t->head, cols, sizeof cols);
				t->n_cols = n;
				first = 0;
			} else {
				if (t->n_rows == cap) {
					cap *= 2;
					t->rows = realloc(t->rows, cap * sizeof *t->rows);
					if (!t->rows)
						abort();
				}
				memcpy(t->rows[t->n_rows++].col, cols, sizeof cols);
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

static inline void tsv_free(struct tsv *t)
{
	free(t->buf);
	free(t->rows);
	memset(t, 0, sizeof *t);
}

/* The value in column `name` of row i ("" for a short row).  A missing
 * column means the vector file changed shape: abort rather than test
 * nothing. */
static inline const char *tsv_get(const struct tsv *t, size_t i, const char *name)
{
	for (size_t c = 0; c < t->n_cols; c++)
		if (strcmp(t->head[c], name) == 0)
			return t->rows[i].col[c] ? t->rows[i].col[c] : "";
	fprintf(stderr, "tsv: no column %s\n", name);
	abort();
}

static inline int tsv_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes n bytes of in into out (capacity cap, NUL-terminated).
 * Returns the decoded length, or -1 on a bad escape or overflow. */
static inline long tsv_pct_decode_n(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = tsv_hexval(in[i + 1]), lo = tsv_hexval(in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return (long)o;
}

static inline long tsv_pct_decode(const char *in, char *out, size_t cap)
{
	return tsv_pct_decode_n(in, strlen(in), out, cap);
}

/* Finds key in a `key=value;key=value` string and percent-decodes its value
 * into out.  Returns the value length, or -1 when the key is absent. */
static inline long tsv_field(const char *fields, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	const char *p = fields;
	while (p && *p) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=')
			return tsv_pct_decode_n(p + klen + 1, n - klen - 1, out, cap);
		p = end ? end + 1 : NULL;
	}
	return -1;
}

/* The integer value of a field (decimal, or hex with 0x), or def. */
static inline long tsv_field_long(const char *fields, const char *key, long def)
{
	char buf[64];
	if (tsv_field(fields, key, buf, sizeof buf) < 0)
		return def;
	return strtol(buf, NULL, 0);
}

/* Decodes a hex string into out (capacity cap).  Returns the octet count, or
 * -1. */
static inline long tsv_hex(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = strlen(hex);
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = tsv_hexval(hex[2 * i]), lo = tsv_hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

#endif
