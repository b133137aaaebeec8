/* send: `smspool send --to N --text T [--from S] [--connection C]` — inserts
 * one outbox row, exactly as an application would, and prints its id. */
#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "db/pg.h"

static int usage(int rc)
{
	fprintf(rc ? stderr : stdout,
	        "usage: smspool send --to NUMBER --text TEXT [--from SENDER] [--connection NAME]\n"
	        "                    [--ref CLIENT_REF] [--no-report]\n\n"
	        "Queues one message (an INSERT into smspool.outbox) and prints its id.\n");
	return rc;
}

int cli_send(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"to", required_argument, 0, 't'},   {"text", required_argument, 0, 'x'},
	    {"from", required_argument, 0, 'f'}, {"connection", required_argument, 0, 'c'},
	    {"ref", required_argument, 0, 'r'},  {"no-report", no_argument, 0, 'n'},
	    {"help", no_argument, 0, 'h'},       {0, 0, 0, 0},
	};
	const char *to = NULL, *text = NULL, *from = NULL, *conn = NULL, *ref = NULL, *report = "true";
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			to = optarg;
			break;
		case 'x':
			text = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 'c':
			conn = optarg;
			break;
		case 'r':
			ref = optarg;
			break;
		case 'n':
			report = "false";
			break;
		case 'h':
			return usage(0);
		default:
			return usage(2);
		}
	}
	if (!to || !text || optind != argc)
		return usage(2);
	struct config cfg;
	if (cli_config(&cfg))
		return 1;
	PGconn *c = cli_connect(&cfg);
	config_free(&cfg);
	if (!c)
		return 1;
	const char *params[] = {to, text, from, conn, ref, report};
	struct errbuf err;
	PGresult *r =
	    pg_query(c,
	             "INSERT INTO smspool.outbox (recipient, body, sender, connection, client_ref, want_report) "
	             "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
	             6, params, &err);
	if (!r) {
		fprintf(stderr, "smspool: %s\n", err.msg);
		PQfinish(c);
		return 1;
	}
	printf("%s\n", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return 0;
}
