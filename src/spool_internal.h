/* spool_internal: what the spool's files share (not for drivers or the
 * rest of the daemon, which see spool.h and driver.h).  The spool is split
 * by job: spool.c runs the loop (the store's messages in, batches out, stop
 * and signals), spool_conn.c the connections' lifecycle under the
 * configuration and leases, spool_dispatch.c claimed messages to drivers and
 * what they hand back, spool_server.c the server side's account calls.  All
 * of it runs on the loop thread only. */
#ifndef SMSPOOL_SPOOL_INTERNAL_H
#define SMSPOOL_SPOOL_INTERNAL_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "bucket.h"
#include "chan.h"
#include "claimer.h"
#include "config.h"
#include "driver.h"
#include "metrics.h"
#include "msg.h"
#include "ops_http.h"
#include "store.h"

struct conn {
	struct core *core;
	uint64_t id;
	char *name, *type, *settings;
	const struct driver_ops *ops;
	void *conf, *drv;
	enum conn_state state;
	bool opened, stopping, stopped, broken;
	bool exclusive; /* held through a lease: stopped when it ends (store_leases) */
	int window;
	double throughput;    /* messages a second; <= 0: unlimited */
	struct bucket bucket; /* of throughput (src/bucket.c) */
	struct event *throttle_ev;
	int inflight;  /* handed to the driver, not completed */
	int unsettled; /* completed, result not committed yet: still in the window */
	struct msg_list pending;
	struct store_conn_row *replacement; /* opened once this one has stopped */
	struct metrics_conn *m;
	struct conn *next;
};

struct core {
	struct config *cfg;
	int no_route_hold_s; /* smspool.config: a message whose connections are all down waits this long */
	struct event_base *base;
	struct chan from_store;
	/* The writers (store.h): lanes[0] writes everything else too. */
	struct store *lanes[WRITE_CONNECTIONS_MAX];
	int nlanes, lanes_stopped;
	/* Logins only (STORE_LANE_AUTH): a flood of them never delays lane 0. */
	struct store *auth_lane;
	bool main_stop_sent;
	struct claimer *claimer;
	bool claimer_stopped;
	struct ops_http *ops;
	struct event *chan_ev, *flush_ev, *stats_ev, *grace_ev, *sig_ev[4];
	struct conn *conns;
	uint64_t next_conn_id, rng;
	struct msg_list results;
	struct inbound *inb_head, **inb_tail;
	struct report *rep_head, **rep_tail;
	uint64_t claims_seen;
	/* Claim at submit (store.h, struct store_direct): the room lent to the
	 * main writer and not given back yet, and the messages it claimed. */
	int direct_granted;
	uint64_t claimed_at_submit;
	int last_want;
	char *last_conns;
	bool stopping, stop_sent;
	uint64_t stat_sent, stat_failed, stat_in, stat_reports;

	/* High availability: the last configuration, and the exclusive
	 * connections this daemon holds until lease_deadline_ms. */
	struct store_config *config;
	struct store_leases *leases;
	struct event *lease_ev, *lease_force_ev;

	/* Server side. */
	struct auth *auth; /* the login front and account policy (auth.h, policy.h) */
	struct store_auth *auth_head;
	struct submission *sub_head, **sub_tail;
	struct store_event_done *done_head;
	struct store_query *query_head;
	struct attach *attached; /* accounts with a session able to take events */
	int nattached;
	bool accounts_changed;
	int events_out; /* handed to drivers, not yet done */
	uint64_t events_seen;
	int last_events_want;
};

struct attach {
	char *account;
	struct conn *conn;
	int refs;
};

/* spool.c */
struct chan *spool_main_chan(struct core *k);
void spool_wake(struct core *k);
void spool_clean(char **p, unsigned flags);

/* spool_conn.c: connections opened, replaced and stopped to match the
 * configuration and the leases. */
struct conn *spool_conn_by_id(struct core *k, uint64_t id);
struct conn *spool_conn_find(struct core *k, const char *name);
bool spool_conn_sends(const struct conn *c);
const char *spool_conn_redirect_of(struct core *k, const char *name);
void spool_conn_stop(struct conn *c, struct store_conn_row *replacement);
void spool_conn_free(struct conn *c);
void spool_conn_reap(struct core *k);
void spool_conn_apply_config(struct core *k, struct store_config *cfg);
void spool_conn_apply_leases(struct core *k, struct store_leases *l);
void spool_conn_lease_cb(evutil_socket_t fd, short what, void *arg);
void spool_conn_lease_force_cb(evutil_socket_t fd, short what, void *arg);

/* spool_dispatch.c: claimed messages to connections; completions, inbound
 * texts and reports back, batched to the store lanes. */
void spool_dispatch_release_pending(struct conn *c);
void spool_dispatch_throttle_cb(evutil_socket_t fd, short what, void *arg);
void spool_dispatch_conn(struct conn *c);
void spool_dispatch_route(struct core *k, struct msg *m);
void spool_dispatch_post_demand(struct core *k);
/* Lends the main writer room for up to n submissions marked claim_now that
 * are posted next (TO_STORE_CLAIM_ROOM). */
void spool_dispatch_post_claim_room(struct core *k, int n);
void spool_dispatch_post_results(struct core *k);
void spool_dispatch_post_reports(struct core *k);

/* spool_server.c: the server side (logins, submissions, account events). */
void spool_server_auth_ask(void *arg, uint64_t conn_id, uint64_t token, const char *account, const char *password,
                           const char *peer_addr);
void spool_server_detach_all(struct core *k, struct conn *c);
void spool_server_route_event(struct core *k, struct account_event *ev);
void spool_server_post_accounts(struct core *k);
void spool_server_auth_answer(void *arg, uint64_t conn_id, uint64_t token, const char *reason);
void spool_server_revoke_account(struct core *k, const char *account);

#endif
