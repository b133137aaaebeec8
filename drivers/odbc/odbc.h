/*
 * odbc driver internals, shared by its files: odbc.c (the driver's entry
 * points, the connection's state machine, the worker's results), conf.c
 * (settings, their check, the statements built from them), take.c (taking
 * the foreign outgoing rows: read, submit, mark) and write.c (writes into
 * the foreign database: messages routed here, inbound texts and states).
 * All of it runs on the loop; every ODBC call is in worker.c, on the
 * connection's own thread.
 */
#ifndef SMSPOOL_ODBC_ODBC_H
#define SMSPOOL_ODBC_ODBC_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "chan.h"
#include "driver.h"
#include "hash.h"
#include "settings.h"
#include "worker.h"

struct odbc_conf {
	char *dsn, *connection_string, *username, *password, *account;
	char *outgoing_table, *incoming_table;
	char *take_statement, *taken_statement, *status_statement, *insert_statement, *sent_statement;
	long long poll_ms, batch, query_timeout_s, login_timeout_s, retry_min_ms, retry_max_ms;
	json_t *status_updates;
};

enum odbc_state { ODBC_DOWN, ODBC_CONNECTING, ODBC_UP, ODBC_STOPPING };

/* What an odbc_op's owner is. */
enum { ODBC_OWNER_MSG = 1, ODBC_OWNER_EVENT };

/* One take cycle: the rows of one read, submitted, then marked taken. */
struct odbc_take {
	struct odbc_job *job;  /* the rows */
	struct odbc_op *marks; /* one per row; kind 0 = not answered/no mark */
	bool *marked;
	int answers_due;
	uint32_t gen;
	bool keys_held; /* its keys are in odbc.unmarked */
	/* States "sent" of its rows that came before its mark was posted: they
	 * wait, so that the mark is written first (see odbc_write_push). */
	struct odbc_op *held;
	int nheld, capheld;
};

/* Cycles held at once: reading the next batch overlaps submitting and
 * marking the previous one.  Writes out at once: the next batch of states
 * waits in the worker's queue, not on a round trip through the loop. */
enum { ODBC_TAKES_MAX = 2, ODBC_WRITES_MAX = 2 };

struct odbc {
	struct conn *c;
	const struct odbc_conf *conf;
	struct odbc_plan plan;
	struct odbc_worker *w;
	struct chan results;
	struct event *chan_ev, *timer;
	struct event *flush_ev; /* made active to write what the callbacks of this turn pushed */
	enum odbc_state state;
	int backoff_ms;
	bool attached;
	int jobs_out;
	/* Taking: cycles of read → submits → mark, overlapping (a read skips
	 * the rows of the cycles still held). */
	bool reading; /* a take job is out */
	struct odbc_take *takes[ODBC_TAKES_MAX];
	int ntakes;
	uint32_t take_gen;
	struct hash *unmarked; /* key -> struct odbc_take, of the rows whose mark is not posted yet */
	bool more;             /* the last read was a full batch */
	bool throttled;        /* a submit was refused for now: wait poll_ms */
	/* Writes waiting for the worker: messages and events, in order. */
	struct odbc_op *pend;
	int npend, cappend;
	int writes_out;
};

/* odbc.c */
/* An error of the foreign database: down, unless already down or stopping. */
void odbc_fail(struct odbc *d, const char *err);
void odbc_arm(struct odbc *d, long long ms);
/* Hands a job to the worker, counted until its result comes back. */
void odbc_post(struct odbc *d, struct odbc_job *job);
/* Ends a stop once nothing is out any more. */
void odbc_maybe_stopped(struct odbc *d);

/* conf.c */
extern const struct setting odbc_conf_settings[];
int odbc_conf_check(const void *vconf, struct errbuf *err);
/* Parses the statements and builds the connection string of conf into p. */
int odbc_conf_plan(const struct odbc_conf *conf, struct odbc_plan *p, struct errbuf *err);
void odbc_conf_plan_free(struct odbc_plan *p);
/* Whether state is one of status_updates. */
bool odbc_conf_wants_state(const struct odbc_conf *conf, const char *state);

/* take.c */
/* Reads new rows: at most one read out, at most ODBC_TAKES_MAX cycles held. */
void odbc_take_start(struct odbc *d);
/* The next read at once after a full batch, else after poll_ms. */
void odbc_take_next(struct odbc *d);
/* The result of a take job (rows read, state UP): a new cycle. */
void odbc_take_rows(struct odbc *d, struct odbc_job *job);
/* The result of a mark job (its tag is the cycle's). */
void odbc_take_marked(struct odbc *d, struct odbc_job *job);
/* Whether a cycle still waits for submit answers. */
bool odbc_take_busy(const struct odbc *d);
/* Ends every cycle (at the end of a stop). */
void odbc_take_end_all(struct odbc *d);
/* Frees every cycle without acting on it (close). */
void odbc_take_free_all(struct odbc *d);
void odbc_take_submitted(struct conn *c, uint64_t token, const struct submit_result *res);

/* write.c */
/* Queues a write; written (with what else comes in this turn) as soon as a
 * write slot is free.  A sent for a row whose mark is not posted waits for
 * it; a final state replaces a sent still waiting. */
void odbc_write_push(struct odbc *d, const struct odbc_op *op);
/* Gives an op back without writing it (released / event not done). */
void odbc_write_give_back(struct odbc *d, struct odbc_op *op);
/* Gives back everything waiting for a write slot. */
void odbc_write_drop_pending(struct odbc *d);
/* The result of a write job. */
void odbc_write_done(struct odbc *d, struct odbc_job *job);
void odbc_write_flush_cb(evutil_socket_t fd, short what, void *arg);
void odbc_write_submit(struct conn *c, struct msg *m);
void odbc_write_deliver(struct conn *c, struct account_event *ev);

#endif
