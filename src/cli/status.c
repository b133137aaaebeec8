/* status: `smspool status` — connections, their state per daemon, and the
 * depth of the queue, as the database sees them. */
#include <libpq-fe.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "db/pg.h"

int cli_status(int argc, char **argv)
{
	if (cli_wants_help(argc, argv) || argc > 1) {
		fprintf(argc > 1 && !cli_wants_help(argc, argv) ? stderr : stdout,
		        "usage: smspool status\n\nPrints every connection with its type, whether it is enabled, "
		        "its state in each daemon and the number of queued messages forced onto it (for an exclusive "
		        "connection, the daemon holding it; standby: held by another), then what "
		        "connections report about themselves (last errors), the daemons and the queue.\n");
		return cli_wants_help(argc, argv) ? 0 : 2;
	}
	struct config cfg;
	if (cli_config(&cfg))
		return 1;
	PGconn *c = cli_connect(&cfg);
	config_free(&cfg);
	if (!c)
		return 1;
	struct errbuf err;
	PGresult *r = pg_query(c,
	                       "SELECT c.name, c.type, c.enabled, "
	                       "coalesce((SELECT string_agg(s.instance || ':' || s.state, ',' ORDER BY s.instance) "
	                       "  FROM smspool.connection_state s WHERE s.name = c.name), '-'), "
	                       "(SELECT count(*) FROM smspool.queue q WHERE q.connection = c.name), "
	                       "(SELECT string_agg('  ' || s.instance || ': ' || s.detail, E'\\n' ORDER BY s.instance) "
	                       "  FROM smspool.connection_state s WHERE s.name = c.name AND s.detail <> '' "
	                       "  AND s.state <> 'standby'), "
	                       "CASE WHEN smspool.connection_exclusive(c.type, c.exclusive) THEN "
	                       "  coalesce((SELECT 'held by ' || o.instance || ', lease ends in ' || "
	                       "  greatest(round(extract(epoch FROM o.lease_until - now()), 1), 0) || ' s' "
	                       "  FROM smspool.connection_owners o WHERE o.name = c.name AND o.lease_until > now()), "
	                       "  'exclusive, held by no daemon') END, "
	                       "array_to_string(c.daemons, ',') "
	                       "FROM smspool.connections c ORDER BY c.name",
	                       0, NULL, &err);
	if (!r) {
		fprintf(stderr, "smspool: %s\n", err.msg);
		PQfinish(c);
		return 1;
	}
	printf("%-20s %-12s %-8s %-30s %s\n", "CONNECTION", "TYPE", "ENABLED", "STATE", "QUEUED");
	for (int i = 0; i < PQntuples(r); i++) {
		printf("%-20s %-12s %-8s %-30s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		       PQgetvalue(r, i, 2)[0] == 't' ? "yes" : "no", PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
		if (!PQgetisnull(r, i, 6)) /* an exclusive connection: which daemon holds it (022_ha.sql) */
			printf("  owner: %s\n", PQgetvalue(r, i, 6));
		if (!PQgetisnull(r, i, 7))
			printf("  daemons: %s\n", PQgetvalue(r, i, 7));
		if (!PQgetisnull(r, i, 5)) /* what the driver says: a modem's signal, a peer's error ... */
			printf("%s\n", PQgetvalue(r, i, 5));
	}
	PQclear(r);
	/* What a connection reports about itself (last error, mails kept unparsed…). */
	r = pg_query(c,
	             "SELECT name, instance, detail FROM smspool.connection_state "
	             "WHERE coalesce(detail, '') <> '' AND NOT (state = 'down' AND detail = 'stopped') "
	             "ORDER BY name, instance",
	             0, NULL, &err);
	if (r) {
		for (int i = 0; i < PQntuples(r); i++)
			printf("%s  %s@%s: %s\n", i ? "" : "\nproblems:\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
			       PQgetvalue(r, i, 2));
		PQclear(r);
	}
	r = pg_query(c,
	             "SELECT (SELECT count(*) FROM smspool.queue), "
	             "(SELECT count(*) FROM smspool.queue WHERE claimed_by IS NULL AND due_at <= now()), "
	             "(SELECT count(*) FROM smspool.queue WHERE claimed_by IS NOT NULL), "
	             "(SELECT string_agg(instance || ' pid ' || pid || ' seen ' || "
	             " round(extract(epoch FROM now() - heartbeat_at)) || 's ago', ', ') FROM smspool.daemons)",
	             0, NULL, &err);
	if (r) {
		printf("\nqueue: %s messages (%s due, %s being sent)\ndaemons: %s\n", PQgetvalue(r, 0, 0),
		       PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetisnull(r, 0, 3) ? "none" : PQgetvalue(r, 0, 3));
		PQclear(r);
	}
	PQfinish(c);
	return 0;
}
