/*
 * access_versions: a sorted snapshot of (system_id, access_version) and the
 * comparison of two snapshots, a merge of two sorted lists (see the header
 * for why the store keeps one).
 */
#include "access_versions.h"

#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "util.h"

struct access_versions *access_versions_load(PGconn *pg, struct errbuf *err)
{
	/* COLLATE "C": the order of strcmp, which the merge relies on */
	PGresult *r =
	    pg_query(pg, "SELECT system_id, access_version FROM smspool.accounts ORDER BY system_id COLLATE \"C\"", 0,
	             NULL, err);
	if (!r)
		return NULL;
	struct access_versions *v = xcalloc(1, sizeof *v);
	v->n = PQntuples(r);
	v->names = xcalloc((size_t)v->n + 1, sizeof *v->names);
	v->versions = xcalloc((size_t)v->n + 1, sizeof *v->versions);
	for (int i = 0; i < v->n; i++) {
		v->names[i] = xstrdup(PQgetvalue(r, i, 0));
		v->versions[i] = strtoll(PQgetvalue(r, i, 1), NULL, 10);
	}
	PQclear(r);
	return v;
}

int access_versions_diff(const struct access_versions *old, const struct access_versions *cur,
                         void (*revoke)(void *arg, const char *name), void *arg)
{
	int n = 0, j = 0;
	for (int i = 0; old && i < old->n; i++) {
		int c = 1;
		while (cur && j < cur->n && (c = strcmp(cur->names[j], old->names[i])) < 0)
			j++;
		if (!cur || j >= cur->n || c != 0 || cur->versions[j] != old->versions[i]) {
			revoke(arg, old->names[i]);
			n++;
		}
	}
	return n;
}

static int find(const struct access_versions *v, const char *name)
{
	int lo = 0, hi = v->n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2, c = strcmp(v->names[mid], name);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

void access_versions_keep(struct access_versions *cur, const struct access_versions *old, char *const *names, int n,
                          bool all)
{
	if (all || !old)
		return;
	for (int i = 0; i < cur->n; i++) {
		bool heard = false;
		for (int k = 0; k < n && !heard; k++)
			heard = strcmp(names[k], cur->names[i]) == 0;
		int j = heard ? -1 : find(old, cur->names[i]);
		if (j >= 0)
			cur->versions[i] = old->versions[j];
	}
}

void access_versions_free(struct access_versions *v)
{
	if (!v)
		return;
	for (int i = 0; i < v->n; i++)
		free(v->names[i]);
	free(v->names);
	free(v->versions);
	free(v);
}
