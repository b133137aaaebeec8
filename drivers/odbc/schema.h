/*
 * odbc schema: the default layout of an odbc connection's foreign tables —
 * their DDL per dialect (`smspool odbc schema --dialect …`) and the default
 * statements built from the table names.  Pure text, no ODBC.
 */
#ifndef SMSPOOL_ODBC_SCHEMA_H
#define SMSPOOL_ODBC_SCHEMA_H

#include "errbuf.h"
#include "util.h"

/* The DDL creating both tables in dialect postgres, mariadb, sqlite or mssql
 * (new text), or NULL for an unknown dialect or a bad table name. */
char *odbc_schema_ddl(const char *dialect, const char *outgoing, const char *incoming);
/* Whether name is a plain (optionally schema-qualified) SQL identifier:
 * [A-Za-z_][A-Za-z0-9_]* with at most one dot.  Table names are the one
 * thing put into SQL text, so nothing else passes. */
int odbc_schema_ident_ok(const char *name);
/* The default statements (new texts) for the given tables. */
char *odbc_schema_take(const char *outgoing);
char *odbc_schema_taken(const char *outgoing);
char *odbc_schema_status(const char *outgoing);
/* State sent, only over queued: a final state written first stays. */
char *odbc_schema_sent(const char *outgoing);
char *odbc_schema_insert(const char *incoming);

#endif
