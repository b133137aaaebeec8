/*
 * smpp_pdu_vectors: what the SMPP PDU codec's two unit tests share: the
 * vectors of tests/vectors/smpp.tsv (loaded once per test program, in
 * order), hex and key=value field helpers, and a decode that must succeed.
 * Header-only with static inline functions, included once by
 * test_smpp_pdu.c (one test per vector) and test_smpp_pdu_cases.c (the
 * hand-written cases); cmocka.h comes first.
 *
 * Run from the repository root, or set SMSPOOL_VECTORS to the vectors dir.
 */
#ifndef SMSPOOL_TEST_SMPP_PDU_VECTORS_H
#define SMSPOOL_TEST_SMPP_PDU_VECTORS_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp/pdu.h"
#include "util.h"

struct vector {
	char *id, *version, *kind, *hex, *fields, *expect;
};

static struct vector *vectors;
static size_t nvectors;

static inline const struct vector *find_vector(const char *id)
{
	for (size_t i = 0; i < nvectors; i++)
		if (!strcmp(vectors[i].id, id))
			return &vectors[i];
	fail_msg("vector %s not found", id);
	return NULL;
}

/* Decodes hex into a new buffer; *len gets its length. */
static inline uint8_t *unhex(const char *hex, size_t *len)
{
	size_t cap = strlen(hex) / 2;
	uint8_t *b = xmalloc(cap);
	int n = hex_decode(hex, b, cap);
	assert_true(n >= 0);
	*len = (size_t)n;
	return b;
}

/* Splits "k=v;k=v" in place; drops `note` (commentary, not a field). */
static inline size_t split_fields(char *s, char **keys, char **vals, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *tok = strtok_r(s, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(tok, '=');
		assert_non_null(eq);
		*eq = '\0';
		if (!strcmp(tok, "note"))
			continue;
		assert_true(n < max);
		keys[n] = tok;
		vals[n] = eq + 1;
		n++;
	}
	return n;
}

/* Compares two field lists key by key, in order, reporting the first
 * difference. */
static inline void assert_fields_equal(const char *id, const char *want, const char *got)
{
	enum { MAXF = 256 };
	char *w = xstrdup(want), *g = xstrdup(got);
	char *wk[MAXF], *wv[MAXF], *gk[MAXF], *gv[MAXF];
	size_t nw = split_fields(w, wk, wv, MAXF), ng = split_fields(g, gk, gv, MAXF);
	for (size_t i = 0; i < nw || i < ng; i++) {
		if (i >= nw)
			fail_msg("%s: extra field %s=%s", id, gk[i], gv[i]);
		if (i >= ng)
			fail_msg("%s: missing field %s=%s", id, wk[i], wv[i]);
		if (strcmp(wk[i], gk[i]) || strcmp(wv[i], gv[i]))
			fail_msg("%s: field %zu: want %s=%s, got %s=%s", id, i, wk[i], wv[i], gk[i], gv[i]);
	}
	free(w);
	free(g);
}

static inline struct smpp_pdu *decode_ok(const uint8_t *buf, size_t len)
{
	struct smpp_pdu *pdu = xmalloc(sizeof *pdu);
	struct smpp_pdu_error err;
	int rc = smpp_pdu_decode(buf, len, pdu, &err);
	if (rc)
		fail_msg("decode failed: status 0x%08X reason %s", err.status, err.reason);
	return pdu;
}

static inline int load_vectors(void)
{
	const char *dir = getenv("SMSPOOL_VECTORS");
	char path[4096];
	snprintf(path, sizeof path, "%s/smpp.tsv", dir && *dir ? dir : "tests/vectors");
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "cannot open %s: %s (run from the repository root or set SMSPOOL_VECTORS)\n", path,
		        strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool header = true;
	while ((n = getline(&line, &cap, f)) > 0) {
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (header || !n) {
			header = false;
			continue;
		}
		char *col[8] = {0};
		char *p = line;
		for (int i = 0; i < 8; i++) {
			col[i] = p;
			char *tab = p ? strchr(p, '\t') : NULL;
			if (tab)
				*tab = '\0';
			p = tab ? tab + 1 : NULL;
		}
		if (!col[5]) {
			fprintf(stderr, "%s: short line %s\n", path, line);
			fclose(f);
			free(line);
			return -1;
		}
		vectors = xrealloc(vectors, (nvectors + 1) * sizeof *vectors);
		vectors[nvectors++] = (struct vector){xstrdup(col[0]), xstrdup(col[1]), xstrdup(col[2]),
		                                      xstrdup(col[3]), xstrdup(col[4]), xstrdup(col[5])};
	}
	free(line);
	fclose(f);
	return nvectors ? 0 : -1;
}

#endif
