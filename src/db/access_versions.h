/*
 * access_versions: what the store holds of every account's access_version
 * (038_core), to catch up on the revocations (NOTIFY
 * smspool_account_revoked) it could not hear while its connection was down.
 * A NOTIFY is delivered only to a session that is listening when it is
 * sent; after a reconnect, every account whose version differs from the one
 * read before, or that is gone, is revoked as if its NOTIFY had come.
 */
#ifndef SMSPOOL_DB_ACCESS_VERSIONS_H
#define SMSPOOL_DB_ACCESS_VERSIONS_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "errbuf.h"

struct access_versions {
	int n;
	char **names;        /* sorted by strcmp */
	long long *versions; /* of names[i] */
};

/* Reads every account's version (the session must already LISTEN, so that
 * a change after this read comes as a NOTIFY); NULL with err set on
 * failure. */
struct access_versions *access_versions_load(PGconn *pg, struct errbuf *err);
/* Calls revoke(arg, name) for every account of old whose version differs
 * in cur or that cur lacks; returns how many. */
int access_versions_diff(const struct access_versions *old, const struct access_versions *cur,
                         void (*revoke)(void *arg, const char *name), void *arg);
/* After NOTIFYs of the accounts names (count n; all = "" came): cur takes
 * old's version for every other account old has, so that a change whose
 * NOTIFY is still unread stays visible to the next diff. */
void access_versions_keep(struct access_versions *cur, const struct access_versions *old, char *const *names, int n,
                          bool all);
void access_versions_free(struct access_versions *v);

#endif
