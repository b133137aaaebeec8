/* store_internal: what the store's files share (the rest of the daemon sees
 * store.h only).  The store is split by job: store.c runs the thread (its
 * channel, the dispatch of what the loop sends, the wait between rounds, the
 * stop), store_session.c the database connection (prepared statements, the
 * instance lock, reclaiming and revocation catch-up at connect),
 * store_write.c what the loop hands over to be written (results, reports,
 * inbound texts, connection states) and the acknowledgements after commit,
 * store_server.c the server side (logins, submissions, account events,
 * status queries), store_maint.c the main writer's periodic duties
 * (configuration, leases, heartbeat, partitions, maintenance).  Everything
 * here runs on one store thread, on that thread's struct store. */
#ifndef SMSPOOL_STORE_INTERNAL_H
#define SMSPOOL_STORE_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "chan.h"
#include "claimer.h"
#include "config.h"
#include "msg.h"
#include "sbuf.h"
#include "store.h"
#include "util.h"

enum {
	WRITE_MAX = 2000,        /* results or reports per statement */
	EVENTS_MAX = 1000,       /* account events per claim */
	POLL_MS = 1000,          /* fallback poll when no NOTIFY comes */
	HEARTBEAT_MS = 5000,     /* smspool.daemons.heartbeat_at */
	EXPIRE_MS = 60000,       /* ends waits for reports that never came */
	RECONNECT_MAX_MS = 5000, /* reconnect backoff ceiling */
	LINGER_MS = 2,           /* a small batch waits this long for company */
	LINGER_MAX = 200,        /* a batch this big goes at once */
};

struct store {
	pthread_t thread;
	const struct config *cfg;
	int lane; /* 0: the main writer (see store.h); STORE_LANE_AUTH: logins only; others write results and
	            reports only */
	struct chan in;
	struct chan *out;
	PGconn *pg;

	/* Work not yet written; kept across reconnects. */
	struct msg_list results;
	struct inbound *inb_head, **inb_tail;
	int inb_len;
	struct report *rep_head, **rep_tail;
	int rep_len;
	uint64_t writes_since_ms; /* when the oldest unwritten result or report came */
	struct store_conn_state **states;
	int nstates;
	int write_limit;                              /* 0, or rows per statement while narrowing a refused row */
	uint64_t write_backoff_ms, write_retry_at_ms; /* after a transient error */

	/* Server side: authentications, submissions, account events. */
	struct store_auth *auth_head;
	struct submission *sub_head, **sub_tail;
	int sub_len;
	struct store_event_done *done_head;
	struct store_query *query_head;
	struct store_accounts *accounts;
	/* Claim at submit (store.h, struct store_direct): the room lent by the
	 * loop and its connections; the ids a submit_claim held whose commit
	 * went unanswered (given back at the next connection). */
	int claim_room;
	struct claim_demand *claim_conns;
	int64_t *claim_unsure;
	int nclaim_unsure;
	bool has_submit_claim; /* the schema has smspool.submit_claim (048) */
	uint64_t events_claimed_total, next_event_poll_ms;
	bool wake_events;

	/* Every account's access_version as last read (main writer only):
	 * what changed while no NOTIFY could come is revoked at reconnect. */
	struct access_versions *versions;
	char **heard; /* the accounts revoked by NOTIFY since then */
	int nheard;
	bool heard_all; /* a NOTIFY for every account came */

	bool reload;   /* re-read the configuration */
	bool stopping; /* TO_STORE_STOP received */
	uint64_t next_heartbeat_ms, next_expire_ms, next_renew_ms, next_hold_ms;
	uint64_t lease_ms; /* smspool.config lease_s, read with the configuration */
	struct sbuf a[16]; /* array parameters, reused */
};

/* store.c: the array parameters s->a[0..n-1], emptied and opened / closed. */
void store_arrays_reset(struct store *s, int n);
void store_arrays_end(struct store *s, int n);

/* store_session.c: the connection and what is set up on it. */
int store_session_connect(struct store *s, bool first, struct errbuf *err);
void store_session_disconnect(struct store *s);
bool store_session_lost(struct store *s);
int store_session_release_claims(PGconn *pg, const char *instance, bool never_sent, const char *event,
                                 struct errbuf *err);
int store_session_resync(struct store *s, PGconn *pg, bool reconnect, struct errbuf *err);
void store_session_forget_heard(struct store *s);

/* store_write.c: results and reports, inbound texts, connection states.
 * Each returns -1 when the connection is lost (what was not written is
 * kept), 0 otherwise. */
int store_write_results(struct store *s);
int store_write_inbound(struct store *s);
int store_write_states(struct store *s);
/* Acknowledge (committed or not) and free a list. */
void store_write_ack_inbound(struct store *s, struct inbound *list, bool committed);
void store_write_ack_reports(struct store *s, struct report *list, bool committed);

/* store_server.c: the server side. */
int store_server_work(struct store *s, uint64_t now);
int store_server_auth(struct store *s);
void store_server_fail_requests(struct store *s);
int64_t store_server_events_room(const struct store *s);
/* Claim at submit: the rows of a submit_claim whose commit went unanswered
 * are given back to the queue (-1: connection lost); the room not used is
 * given back to the loop once no submission is left. */
int store_server_release_unsure(struct store *s);
void store_server_room_back(struct store *s);

/* store_maint.c: the main writer's duties. */
int store_maint_load_config(struct store *s, struct errbuf *err);
int store_maint_work(struct store *s, uint64_t now);

#endif
