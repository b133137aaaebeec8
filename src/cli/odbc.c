/*
 * odbc: `smspool odbc schema --dialect D [--outgoing T] [--incoming T]`
 * prints the DDL of the default layout of an odbc connection's foreign tables
 * (drivers/odbc/schema.c), to be run in the application's database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "odbc/schema.h"

static void odbc_usage(FILE *f)
{
	fputs(
	    "usage: smspool odbc schema --dialect postgres|mariadb|sqlite|mssql [--outgoing TABLE] [--incoming TABLE]\n"
	    "\n"
	    "Prints the CREATE statements of the default layout of an odbc connection: the table the\n"
	    "application writes messages into (default sms_outgoing) and the table smspool writes\n"
	    "messages routed to the connection into (default sms_incoming).\n",
	    f);
}

int cli_odbc(int argc, char **argv)
{
	const char *dialect = NULL, *outgoing = "sms_outgoing", *incoming = "sms_incoming";
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		odbc_usage(stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "schema") != 0) {
		odbc_usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char **dst = strcmp(argv[i], "--dialect") == 0    ? &dialect
		                   : strcmp(argv[i], "--outgoing") == 0 ? &outgoing
		                   : strcmp(argv[i], "--incoming") == 0 ? &incoming
		                                                        : NULL;
		if (strcmp(argv[i], "--help") == 0) {
			odbc_usage(stdout);
			return 0;
		}
		if (!dst || i + 1 >= argc) {
			odbc_usage(stderr);
			return 2;
		}
		*dst = argv[++i];
	}
	if (!dialect) {
		fprintf(stderr, "smspool odbc schema: --dialect is required (postgres, mariadb, sqlite or mssql)\n");
		return 2;
	}
	char *ddl = odbc_schema_ddl(dialect, outgoing, incoming);
	if (!ddl) {
		fprintf(stderr,
		        "smspool odbc schema: unknown dialect \"%s\" or a table name that is not an identifier\n",
		        dialect);
		return 2;
	}
	fputs(ddl, stdout);
	free(ddl);
	return 0;
}
