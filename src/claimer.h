/*
 * claimer: the thread that claims queued messages for the loop.  It has a
 * database connection of its own and LISTENs for new messages on it, so a
 * claim starts the moment a row commits instead of waiting behind the
 * store's writes, and claims and writes run in the database side by side.
 * Producers NOTIFY only while it waits (smspool.claimer_waiting, set after
 * a few empty claims in a row, cleared when it claims rows): while rows come
 * it claims again every millisecond on its own, so that concurrent INSERTs
 * do not queue on PostgreSQL's notify lock (sql/021_part.sql).
 */
#ifndef SMSPOOL_CLAIMER_H
#define SMSPOOL_CLAIMER_H

#include <stdint.h>

#include "chan.h"
#include "config.h"

/* Items the loop sends to the claimer (chan_item.kind). */
enum {
	TO_CLAIMER_DEMAND = 200, /* struct claim_demand */
	TO_CLAIMER_STOP,         /* NULL: claim no more, then end */
};

/* How many messages the loop can take now, for which connections.
 * claims_seen: the number of claimed messages the loop had received when it
 * computed want, so that the claimer does not claim twice for the same room. */
struct claim_demand {
	int want;
	uint64_t claims_seen;
	int nconns;
	char **conns;
};
void claim_demand_free(struct claim_demand *d);

struct claimer;
struct pg_result;
struct msg_list;

/* The rows of smspool.claim() (or of smspool.submit_claim(), whose rows
 * with idx set are its submit answers and are skipped), as claimed messages
 * appended to list (new, the caller's).  The one decoding of a claimed row. */
void claim_rows_to_msgs(struct pg_result *r, struct msg_list *list);

/* Starts the thread; it connects on its own, and reconnects with backoff.
 * Claimed messages go to to_loop as TO_LOOP_CLAIMED (struct msg_list); after
 * TO_CLAIMER_STOP the last item it sends is TO_LOOP_CLAIMER_STOPPED. */
struct claimer *claimer_start(const struct config *cfg, struct chan *to_loop);
struct chan *claimer_chan(struct claimer *c);
/* Waits for the thread (after TO_CLAIMER_STOP) and frees it. */
void claimer_join(struct claimer *c);

#endif
