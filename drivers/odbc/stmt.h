/*
 * odbc stmt: SQL statements with named parameters (`:name`), as the settings
 * of an odbc connection give them.  Parsing turns each `:name` outside
 * quotes and comments into `?` and records the names in order, so that the
 * values are bound with SQLBindParameter and never spliced into SQL text.
 * Pure: no ODBC, no I/O.
 */
#ifndef SMSPOOL_ODBC_STMT_H
#define SMSPOOL_ODBC_STMT_H

#include "errbuf.h"
#include "util.h"

#define ODBC_STMT_MAX_PARAMS 32
#define ODBC_STMT_MAX_LEN 8192

struct odbc_stmt {
	char *sql; /* the text with `?` for each parameter (owned) */
	int nparams;
	int param[ODBC_STMT_MAX_PARAMS]; /* per `?`, its index in the allowed names */
};

/* Parses text.  allowed: the parameter names this statement may use (NULL
 * terminated).  Recognised and copied as they are: '…' strings ('' inside),
 * "…" and `…` identifiers, -- and / * * / comments, and `::` (a PostgreSQL
 * cast).  Refused with err set: an unknown :name, a bare `?` (positional
 * parameters cannot be bound by name), an unterminated quote or comment,
 * more than ODBC_STMT_MAX_PARAMS parameters, a text longer than
 * ODBC_STMT_MAX_LEN or containing a NUL (len counts the bytes).  On success
 * out owns a new text; free it with odbc_stmt_free. */
MUST_CHECK int odbc_stmt_parse(const char *text, size_t len, const char *const *allowed, struct odbc_stmt *out,
                               struct errbuf *err);
void odbc_stmt_free(struct odbc_stmt *s);
/* Whether the statement binds parameter number idx of its allowed list. */
int odbc_stmt_uses(const struct odbc_stmt *s, int idx);

#endif
