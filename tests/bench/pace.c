/*
 * bench pace: the paced producer of the latency phase.  Inserts RATE rows per
 * second for SECONDS, one row per transaction (autocommit INSERT), spread
 * over CONNS libpq connections in nonblocking mode so that a slow commit
 * does not hold back the schedule:
 *
 *   INSERT INTO smspool.outbox (recipient, body) VALUES ('+15550000001', 'lat <seq>')
 *
 *   pace -d CONNINFO [-r RATE] [-s SECONDS] [-c CONNS] -o OUTFILE
 *
 * OUTFILE gets one line per committed row: "<seq> <start_us> <commit_us>",
 * microseconds since the epoch when the INSERT was sent and when its commit
 * was acknowledged.  The sink (sink -L) writes "<seq> <arrival_us>" for the
 * submit_sm that carries the same text; run.sh joins the two.
 * Prints: rows, late (rows sent more than 1 ms behind schedule), rate.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdbool.h>

#include "netbuf.h"

struct slot {
	PGconn *c;
	bool busy;
	uint64_t seq, start;
};

int main(int argc, char **argv)
{
	const char *conninfo = NULL, *outfile = NULL;
	unsigned rate = 1000, secs = 30, nconn = 8;
	int opt;
	while ((opt = getopt(argc, argv, "d:r:s:c:o:")) != -1) {
		switch (opt) {
		case 'd':
			conninfo = optarg;
			break;
		case 'r':
			rate = (unsigned)atoi(optarg);
			break;
		case 's':
			secs = (unsigned)atoi(optarg);
			break;
		case 'c':
			nconn = (unsigned)atoi(optarg);
			break;
		case 'o':
			outfile = optarg;
			break;
		default:
			fprintf(stderr, "usage: pace -d CONNINFO [-r RATE] [-s SECONDS] [-c CONNS] -o OUTFILE\n");
			return 2;
		}
	}
	if (!conninfo || !outfile || !rate || !nconn)
		return 2;
	FILE *out = fopen(outfile, "w");
	if (!out) {
		perror(outfile);
		return 1;
	}
	struct slot *sl = calloc(nconn, sizeof *sl);
	for (unsigned i = 0; i < nconn; i++) {
		sl[i].c = PQconnectdb(conninfo);
		if (PQstatus(sl[i].c) != CONNECTION_OK) {
			fprintf(stderr, "pace: %s", PQerrorMessage(sl[i].c));
			return 1;
		}
		PQsetnonblocking(sl[i].c, 1);
	}
	uint64_t total = (uint64_t)rate * secs, next = 0, done = 0, late = 0, failed = 0;
	uint64_t t0 = mono_us() + 100000, rt0 = now_us() + 100000;
	char sql[256];
	struct pollfd *pf = calloc(nconn, sizeof *pf);
	while (done + failed < total) {
		uint64_t now = mono_us();
		/* send every row that is due, on idle connections */
		while (next < total && t0 + next * 1000000u / rate <= now) {
			unsigned k;
			for (k = 0; k < nconn && sl[k].busy; k++)
				;
			if (k == nconn)
				break;
			if (now - (t0 + next * 1000000u / rate) > 1000)
				late++;
			snprintf(sql, sizeof sql,
			         "INSERT INTO smspool.outbox (recipient, body) VALUES ('+15550000001', 'lat %" PRIu64
			         "')",
			         next);
			sl[k].seq = next;
			sl[k].start = rt0 + (mono_us() - t0);
			if (!PQsendQuery(sl[k].c, sql)) {
				fprintf(stderr, "pace: %s", PQerrorMessage(sl[k].c));
				return 1;
			}
			PQflush(sl[k].c);
			sl[k].busy = true;
			next++;
		}
		int timeout = 1;
		if (next < total) {
			uint64_t due = t0 + next * 1000000u / rate;
			now = mono_us();
			timeout = due > now ? (int)((due - now + 999) / 1000) : 0;
		} else {
			timeout = 100;
		}
		for (unsigned i = 0; i < nconn; i++) {
			pf[i].fd = PQsocket(sl[i].c);
			pf[i].events = sl[i].busy ? POLLIN : 0;
		}
		poll(pf, nconn, timeout);
		for (unsigned i = 0; i < nconn; i++) {
			if (!sl[i].busy || !(pf[i].revents & POLLIN))
				continue;
			PQconsumeInput(sl[i].c);
			while (!PQisBusy(sl[i].c)) {
				PGresult *r = PQgetResult(sl[i].c);
				if (!r) {
					sl[i].busy = false;
					break;
				}
				if (PQresultStatus(r) == PGRES_COMMAND_OK) {
					uint64_t t = rt0 + (mono_us() - t0);
					fprintf(out, "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", sl[i].seq, sl[i].start,
					        t);
					done++;
				} else {
					if (failed++ < 5)
						fprintf(stderr, "pace: %s", PQresultErrorMessage(r));
				}
				PQclear(r);
			}
		}
	}
	fclose(out);
	double el = (double)(mono_us() - t0) / 1e6;
	printf("rows=%" PRIu64 " failed=%" PRIu64 " late=%" PRIu64 " seconds=%.2f rate=%.0f\n", done, failed, late, el,
	       el > 0 ? (double)done / el : 0);
	return failed ? 1 : 0;
}
