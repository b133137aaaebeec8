/*
 * spool: the loop thread's core.  It holds the connections (one driver
 * instance each), routes claimed messages to them within their windows and
 * throughput limits, gathers completions, inbound texts and reports into
 * batches for the store thread, and applies configuration changes without a
 * restart.  Nothing here blocks.
 */
#ifndef SMSPOOL_SPOOL_H
#define SMSPOOL_SPOOL_H

#include "config.h"
#include "errbuf.h"

/* Holds SIGTERM, SIGINT and SIGHUP back from the start of `smspool run` until
 * spool_run's loop handles them: a stop asked during start-up (reading the
 * configuration, checking the schema, connecting) is then a clean stop once
 * the loop runs, not death by the default action (exit status 143).  Threads
 * started meanwhile inherit the mask, so signals reach the loop thread. */
void spool_hold_signals(void);

/* Runs the daemon until SIGTERM/SIGINT; returns the exit status. */
int spool_run(struct config *cfg);

#endif
