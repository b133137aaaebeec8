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

/* Runs the daemon until SIGTERM/SIGINT; returns the exit status. */
int spool_run(struct config *cfg);

#endif
