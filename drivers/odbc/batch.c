/*
 * odbc batch: see batch.h.
 */
#include "batch.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns of the JSON rows; the key is compared as an integer so that
 * MariaDB probes the primary key (a text key against a BIGINT id would be
 * compared as a double, row by row). */
#define BATCH_TABLE                                                                                                    \
	"JSON_TABLE(?, '$[*]' COLUMNS (k BIGINT PATH '$.k', s VARCHAR(20) PATH '$.s', i BIGINT PATH '$.i', "           \
	"e TEXT PATH '$.e')) j"

char *odbc_batch_sql(const char *o, enum odbc_op_kind kind)
{
	char *s = NULL;
	int rc = -1;
	switch (kind) {
	case ODBC_OP_TAKEN:
		rc = asprintf(&s,
		              "UPDATE %s t JOIN " BATCH_TABLE " ON t.id = j.k SET t.status = j.s, t.smspool_id = j.i, "
		              "t.error = j.e, t.updated_at = CURRENT_TIMESTAMP WHERE t.status IS NULL",
		              o);
		break;
	case ODBC_OP_STATUS:
		rc = asprintf(&s,
		              "UPDATE %s t JOIN " BATCH_TABLE " ON t.id = j.k SET t.status = j.s, t.smspool_id = j.i, "
		              "t.error = j.e, t.updated_at = CURRENT_TIMESTAMP",
		              o);
		break;
	case ODBC_OP_SENT:
		rc = asprintf(&s,
		              "UPDATE %s t JOIN " BATCH_TABLE " ON t.id = j.k SET t.status = j.s, t.smspool_id = j.i, "
		              "t.updated_at = CURRENT_TIMESTAMP WHERE t.status = 'queued'",
		              o);
		break;
	case ODBC_OP_INSERT:
	case ODBC_OP_KINDS:
		return NULL;
	}
	if (rc < 0)
		abort();
	return s;
}

static bool key_int(const char *key, long long *out)
{
	if (!key || !*key)
		return false;
	char *end = NULL;
	errno = 0;
	*out = strtoll(key, &end, 10);
	return errno == 0 && *end == '\0' && (key[0] == '-' || (key[0] >= '0' && key[0] <= '9'));
}

struct keyed {
	long long key;
	int idx;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->idx - y->idx;
}

/* Adds text as member name of r; false when it is no valid UTF-8. */
static bool set_text(json_t *r, const char *name, const char *text)
{
	if (!text)
		return true;
	json_t *v = json_string(text);
	return v && json_object_set_new(r, name, v) == 0;
}

char *odbc_batch_json(const struct odbc_op *ops, int n)
{
	struct keyed *ks = xcalloc((size_t)(n ? n : 1), sizeof *ks);
	bool *keep = xcalloc((size_t)(n ? n : 1), sizeof *keep);
	long long *keys = xcalloc((size_t)(n ? n : 1), sizeof *keys);
	char *out = NULL;
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		if (!key_int(ops[i].key, &keys[i]))
			goto done;
		ks[i] = (struct keyed){keys[i], i};
	}
	/* the one op of each key that the rows' statements would leave */
	bool last_wins = n > 0 && ops[0].kind == ODBC_OP_STATUS;
	qsort(ks, (size_t)n, sizeof *ks, cmp_keyed);
	for (int i = 0; i < n; i++) {
		bool first = i == 0 || ks[i - 1].key != ks[i].key;
		bool last = i == n - 1 || ks[i + 1].key != ks[i].key;
		if (last_wins ? last : first)
			keep[ks[i].idx] = true;
	}
	for (int i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		const struct odbc_op *op = &ops[i];
		json_t *r = json_object();
		json_array_append_new(a, r);
		json_object_set_new(r, "k", json_integer(keys[i]));
		if (op->smspool_id > 0)
			json_object_set_new(r, "i", json_integer(op->smspool_id));
		if (!set_text(r, "s", op->status) || !set_text(r, "e", op->error))
			goto done;
	}
	out = json_dumps(a, JSON_COMPACT);
	if (!out)
		abort();
done:
	json_decref(a);
	free(ks), free(keep), free(keys);
	return out;
}
