/*
 * store: the thread that writes to the database.  Plain, linear SQL: it
 * waits on its LISTEN socket (configuration, account events) and its
 * channel, and writes results, reports and inbound texts in batches — one
 * statement per batch, never one round trip per message.  Claims are the
 * claimer thread's (claimer.h).
 * It survives the loss of PostgreSQL: it reconnects with backoff and keeps
 * what it has not written yet.
 */
#ifndef SMSPOOL_STORE_H
#define SMSPOOL_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "chan.h"
#include "config.h"
#include "msg.h"

/* Items the loop sends to the store (chan_item.kind). */
enum {
	TO_STORE_RESULTS = 1, /* struct msg list: completed messages */
	TO_STORE_INBOUND,     /* struct inbound list */
	TO_STORE_REPORTS,     /* struct report list */
	TO_STORE_CONN_STATE,  /* struct store_conn_state */
	TO_STORE_RELOAD,      /* NULL: read the configuration again */
	TO_STORE_STOP,        /* NULL: write what is left, then stop */
	TO_STORE_AUTH,        /* struct store_auth list */
	TO_STORE_SUBMIT,      /* struct submission list */
	TO_STORE_ACCOUNTS,    /* struct store_accounts: who can take events now */
	TO_STORE_EVENTS_DONE, /* struct store_event_done list */
	TO_STORE_QUERY,       /* struct store_query list */
	TO_STORE_CLAIM_ROOM,  /* struct claim_demand (claimer.h): room for the submissions that follow */
};

/* Items the store sends to the loop. */
enum {
	TO_LOOP_CLAIMED = 100,   /* struct msg list */
	TO_LOOP_ACKS,            /* struct store_ack list */
	TO_LOOP_CONFIG,          /* struct store_config */
	TO_LOOP_STOPPED,         /* NULL: the store thread has ended */
	TO_LOOP_FATAL,           /* char *: a reason to stop the daemon */
	TO_LOOP_AUTH,            /* struct store_auth_result list */
	TO_LOOP_SUBMITTED,       /* struct store_submit_result list */
	TO_LOOP_EVENTS,          /* struct account_event list */
	TO_LOOP_QUERIED,         /* struct store_query list, answered */
	TO_LOOP_SETTLED,         /* struct store_settled list: results committed */
	TO_LOOP_CLAIMER_STOPPED, /* NULL: the claimer thread has ended (claimer.h) */
	TO_LOOP_LEASES,          /* struct store_leases: the exclusive connections held */
	TO_LOOP_REVOKED,         /* char *: an account whose sessions end ("" = every account) */
	TO_LOOP_DIRECT,          /* struct store_direct: messages claimed at submit */
};

/* Claim at submit (struct submission.claim_now): the loop lends the main
 * writer room for want messages (TO_STORE_CLAIM_ROOM, a struct claim_demand
 * whose conns are the connections it can send on) before it posts the
 * submissions; the writer inserts up to that many of them already claimed
 * (smspool.submit_claim) and hands them back here, and gives back the room
 * it did not use once it has no submission left.  Claimed messages never
 * count in the claimer's claims_seen. */
struct store_direct {
	struct msg_list msgs; /* claimed, to be sent */
	int room_back;        /* room given back: len of msgs + what went unused */
};

struct store_conn_state {
	char *name, *state, *detail;
};

struct store_ack {
	uint64_t conn_id, token;
	bool committed;
	struct store_ack *next;
};

/* n results of connection conn_id are committed (or given up): the window
 * slots they held are free again. */
struct store_settled {
	uint64_t conn_id;
	int n;
	struct store_settled *next;
};
void store_settled_free(struct store_settled *list);

/* An account asking to authenticate (server-side connections). */
struct store_auth {
	uint64_t conn_id, token;
	char *account, *password, *peer;
	struct store_auth *next;
};
void store_auth_free(struct store_auth *a); /* wipes the password */

struct store_auth_result {
	uint64_t conn_id, token;
	struct account_info *info; /* NULL: refused */
	char *reason;
	struct store_auth_result *next;
};

struct store_submit_result {
	uint64_t conn_id, token;
	int64_t message_id; /* 0: not accepted */
	int error;          /* enum submit_error */
	int field;          /* enum submit_field */
	int64_t taken_id;   /* SUBMIT_FIELD_KEY: the message that has the key */
	char *text;
	struct store_submit_result *next;
};

/* The accounts that have a session able to take events, and how many events
 * the loop can take now (claims_seen as in struct store_demand). */
struct store_accounts {
	int n;
	char **names;
	int want;
	uint64_t claims_seen;
};
void store_accounts_free(struct store_accounts *a);

/* A question about one message of an account, and its answer. */
struct store_query {
	uint64_t conn_id, token;
	char *account;
	int64_t message_id;
	struct message_status *answer; /* NULL: not found or not answered */
	struct store_query *next;
};
void store_query_free(struct store_query *q);

struct store_event_done {
	int64_t id;
	bool delivered;
	struct store_event_done *next;
};

struct store_conn_row {
	char *name, *type, *settings; /* settings: JSON text */
	bool enabled;
	bool exclusive;    /* held by one daemon at a time (smspool.connection_owners) */
	bool here;         /* connections.daemons allows this instance */
	char *redirect_to; /* maintenance: its traffic goes through this one (NULL: none) */
	double throughput; /* 0 = unlimited */
	int window;
};

struct store_config {
	int n;
	struct store_conn_row *rows;
	int no_route_hold_s; /* smspool.config no_route_hold_s */
};
void store_config_free(struct store_config *c);

/* The exclusive connections this instance holds (smspool.hold_connections),
 * valid until deadline_ms (now_mono_ms clock): past it, unless a newer
 * store_leases came, the loop stops them; margin_ms later their lease may
 * go to another daemon, so by then they must be closed. */
struct store_leases {
	int n;
	char **names;
	uint64_t deadline_ms, margin_ms;
};
void store_leases_free(struct store_leases *l);

struct store;

/* Connects and starts a store thread.  Lane 0 is the main writer: it takes
 * the instance lock, gives back the claims a dead predecessor with the same
 * instance name left behind, and writes everything.  Lanes 1.. only write
 * results and reports, each on its own connection, so that the database
 * works on several batches at once; they must stop before lane 0, whose
 * stop gives back every claim still held.  STORE_LANE_AUTH checks logins
 * only (TO_STORE_AUTH), on a connection of its own: a login costs a bcrypt
 * hash in the database, and a flood of them must never delay the submits,
 * inbound texts and acknowledgements the other lanes write.  NULL with err
 * set when the database cannot be used. */
#define STORE_LANE_AUTH (-1)
struct store *store_start(const struct config *cfg, struct chan *to_loop, int lane, struct errbuf *err);
struct chan *store_chan(struct store *s);
/* Waits for the thread (after TO_STORE_STOP) and frees it. */
void store_join(struct store *s);

#endif
