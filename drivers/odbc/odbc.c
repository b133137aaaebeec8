/*
 * odbc: another database's tables as a gateway (type `odbc`).
 *
 * Taking: every poll_ms the worker thread reads up to `batch` new rows (status
 * NULL) of the foreign outgoing table; each becomes an outbox row of the
 * connection's account through core_submit (client_ref = the row's key); once
 * every answer is in, one write job marks the rows taken (status 'queued',
 * smspool_id).  Cycles overlap: the next read runs while a batch is being
 * submitted and marked, and passes over the rows still held.  The account has
 * unique_client_ref (sql/015_odbc.sql, 024_odbc2.sql): a row taken again after
 * a crash between the two commits is refused with the id it already has, and
 * marked with that id — exactly once.
 * States: sent (accounts.report_sent) and final states reach the account as
 * report events (deliver()); each is written into the foreign row and
 * acknowledged only after that commit; a final state replaces a sent still
 * waiting, and a sent for a row whose mark is not posted yet waits for it.
 * Delivering: messages routed to this connection and inbound texts routed to
 * its account become rows of the foreign incoming table; a message counts as
 * sent once that row is committed.
 *
 * The loop side below is one state machine (enum odbc_state, odbc_enter):
 * DOWN (waiting to retry) → CONNECTING (the first read out) → UP (taking,
 * writing) → DOWN on any error, with backoff; STOPPING ends it.  All ODBC
 * calls are in worker.c, on the connection's own thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "hash.h"
#include "log.h"
#include "msg_parts.h"
#include "schema.h"
#include "util.h"
#include "worker.h"

struct odbc_conf {
	char *dsn, *connection_string, *username, *password, *account;
	char *outgoing_table, *incoming_table;
	char *take_statement, *taken_statement, *status_statement, *insert_statement, *sent_statement;
	long long poll_ms, batch, query_timeout_s, login_timeout_s, retry_min_ms, retry_max_ms;
	json_t *status_updates;
};

static const struct setting odbc_settings[] = {
    {"dsn", SETTING_STRING, offsetof(struct odbc_conf, dsn), false, false, 0, 0, NULL,
     "ODBC data source name (odbc.ini); or give connection_string"},
    {"connection_string", SETTING_STRING, offsetof(struct odbc_conf, connection_string), false, false, 0, 0, NULL,
     "full ODBC connection string, e.g. Driver=...;Server=...;Database=..."},
    {"username", SETTING_STRING, offsetof(struct odbc_conf, username), false, false, 0, 0, NULL, "user name (UID)"},
    {"password", SETTING_STRING, offsetof(struct odbc_conf, password), false, false, 0, 0, NULL, "password (PWD)"},
    {"account", SETTING_STRING, offsetof(struct odbc_conf, account), true, false, 0, 0, NULL,
     "smspool.accounts.system_id the taken rows are submitted as (give it unique_client_ref = true)"},
    {"outgoing_table", SETTING_STRING, offsetof(struct odbc_conf, outgoing_table), false, false, 0, 0,
     "\"sms_outgoing\"", "table the application writes messages into"},
    {"incoming_table", SETTING_STRING, offsetof(struct odbc_conf, incoming_table), false, false, 0, 0,
     "\"sms_incoming\"", "table smspool writes messages routed to this connection into"},
    {"take_statement", SETTING_STRING, offsetof(struct odbc_conf, take_statement), false, false, 0, 0, NULL,
     "SELECT returning id, recipient, body [, sender] of new rows (:batch)"},
    {"taken_statement", SETTING_STRING, offsetof(struct odbc_conf, taken_statement), false, false, 0, 0, NULL,
     "marks a row taken (:key, :smspool_id, :status, :error); must not touch rows already marked"},
    {"status_statement", SETTING_STRING, offsetof(struct odbc_conf, status_statement), false, false, 0, 0, NULL,
     "writes a final state (:key, :smspool_id, :status, :error)"},
    {"sent_statement", SETTING_STRING, offsetof(struct odbc_conf, sent_statement), false, false, 0, 0, NULL,
     "writes state sent (:key, :smspool_id, :status, :error); must not touch rows in another state than queued"},
    {"insert_statement", SETTING_STRING, offsetof(struct odbc_conf, insert_statement), false, false, 0, 0, NULL,
     "writes a message into the incoming table (:sender, :recipient, :body, :connection, :smspool_id, :kind)"},
    {"poll_ms", SETTING_INT, offsetof(struct odbc_conf, poll_ms), false, true, 10, 3600000, "1000",
     "how often the outgoing table is read when the last read found less than a batch"},
    {"batch", SETTING_INT, offsetof(struct odbc_conf, batch), false, true, 1, 10000, "500",
     "rows taken per read, and rows written per transaction"},
    {"query_timeout_s", SETTING_INT, offsetof(struct odbc_conf, query_timeout_s), false, true, 0, 3600, "30",
     "statement timeout (0 = none)"},
    {"login_timeout_s", SETTING_INT, offsetof(struct odbc_conf, login_timeout_s), false, true, 1, 600, "10",
     "connect timeout"},
    {"retry_min_ms", SETTING_INT, offsetof(struct odbc_conf, retry_min_ms), false, true, 10, 600000, "500",
     "first wait before connecting again after an error"},
    {"retry_max_ms", SETTING_INT, offsetof(struct odbc_conf, retry_max_ms), false, true, 10, 600000, "10000",
     "longest wait between attempts (the wait doubles)"},
    {"status_updates", SETTING_ARRAY, offsetof(struct odbc_conf, status_updates), false, false, 0, 0,
     "[\"sent\", \"delivered\", \"undelivered\", \"expired\", \"rejected\", \"failed\"]",
     "states written back into the outgoing table (sent needs accounts.report_sent)"},
    SETTINGS_END,
};

static const char *const final_states[] = {"sent", "delivered", "undelivered", "expired", "rejected", "failed"};

/* Parameter names each statement may use (NULL-terminated, in odbc_param
 * order so that the parser's index is the enum value). */
static const char *const take_params[] = {"", "", "", "", "", "", "", "", "", "batch", NULL};
static const char *const row_params[] = {"key", "smspool_id", "status", "error", NULL};
static const char *const insert_params[] = {"",          "smspool_id", "",           "",     "sender",
                                            "recipient", "body",       "connection", "kind", NULL};

enum odbc_state { ODBC_DOWN, ODBC_CONNECTING, ODBC_UP, ODBC_STOPPING };
static const char *const odbc_state_names[] = {"down", "connecting", "up", "stopping"};

enum { OWNER_MSG = 1, OWNER_EVENT };

/* One take cycle: the rows of one read, submitted, then marked taken. */
struct take {
	struct odbc_job *job;  /* the rows */
	struct odbc_op *marks; /* one per row; kind 0 = not answered/no mark */
	bool *marked;
	int answers_due;
	uint32_t gen;
	bool keys_held; /* its keys are in odbc.unmarked */
	/* States "sent" of its rows that came before its mark was posted: they
	 * wait, so that the mark is written first (see push_op). */
	struct odbc_op *held;
	int nheld, capheld;
};
/* Cycles held at once: reading the next batch overlaps submitting and
 * marking the previous one.  Writes out at once: the next batch of states
 * waits in the worker's queue, not on a round trip through the loop. */
enum { TAKES_MAX = 2, WRITES_MAX = 2 };

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct odbc {
	struct conn *c;
	const struct odbc_conf *conf;
	struct odbc_plan plan;
	struct odbc_worker *w;
	struct chan results;
	struct event *chan_ev, *timer;
	enum odbc_state state;
	int backoff_ms;
	bool attached;
	int jobs_out;
	/* Taking: cycles of read → submits → mark, overlapping (a read skips
	 * the rows of the cycles still held). */
	bool reading; /* a take job is out */
	struct take *takes[TAKES_MAX];
	int ntakes;
	uint32_t take_gen;
	struct hash *unmarked; /* key -> struct take, of the rows whose mark is not posted yet */
	bool more;             /* the last read was a full batch */
	bool throttled;        /* a submit was refused for now: wait poll_ms */
	/* Writes waiting for the worker: messages and events, in order. */
	struct odbc_op *pend;
	int npend, cappend;
	int writes_out;
};

static void odbc_enter(struct odbc *d, enum odbc_state s, const char *detail);
static void maybe_stopped(struct odbc *d);

/* An error of the foreign database: down, unless already down or stopping. */
static void fail(struct odbc *d, const char *err)
{
	if (d->state == ODBC_UP || d->state == ODBC_CONNECTING)
		odbc_enter(d, ODBC_DOWN, err);
}

static void arm(struct odbc *d, long long ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
	evtimer_add(d->timer, &tv);
}

static void post(struct odbc *d, struct odbc_job *job)
{
	d->jobs_out++;
	odbc_worker_post(d->w, job);
}

/* ---- writes: messages routed here, events of the account ---- */

static void finish_op(struct odbc *d, struct odbc_op *op, int result, const char *text)
{
	if (op->owner_kind == OWNER_MSG) {
		struct msg *m = op->owner;
		if (result == 0) {
			struct errbuf err;
			int parts = msg_parts(m, NULL, &err);
			msg_set_sent_own_ids(m, parts > 0 ? parts : 1, 'O');
		} else if (result == 1) {
			msg_set_failed(m, MSG_REJECTED, "odbc", text);
		} else if (result == -2) {
			msg_set_failed(m, MSG_RELEASE, NULL, NULL); /* it never reached the database */
		} else {
			msg_set_failed(m, MSG_TEMPORARY, "odbc", text && *text ? text : "foreign database unavailable");
		}
		core_complete(d->c, m);
	} else if (op->owner_kind == OWNER_EVENT) {
		struct account_event *ev = op->owner;
		/* A row refused for its data will never be written: drop it, logged. */
		if (result == 1)
			log_warn("odbc_event_refused", "conn=%s event=%" PRId64 " error=\"%s\"", conn_name(d->c),
			         ev->id, text);
		core_event_done(d->c, ev, result >= 0);
		account_event_free(ev);
	}
	op->owner = NULL;
}

static void flush_writes(struct odbc *d)
{
	if (d->writes_out >= WRITES_MAX || d->npend == 0 || d->state != ODBC_UP)
		return;
	int n = d->npend < d->plan.batch ? d->npend : d->plan.batch;
	struct odbc_job *job = xcalloc(1, sizeof *job);
	job->kind = ODBC_JOB_WRITE;
	job->ops = xcalloc((size_t)n, sizeof *job->ops);
	memcpy(job->ops, d->pend, (size_t)n * sizeof *job->ops);
	job->nops = n;
	memmove(d->pend, d->pend + n, (size_t)(d->npend - n) * sizeof *d->pend);
	d->npend -= n;
	d->writes_out++;
	post(d, job);
}

/* A final state supersedes a sent still waiting for the worker (reports
 * often come with the sent): the sent's event is done without a write. */
static bool supersede(struct odbc *d, const struct odbc_op *op)
{
	if (op->kind != ODBC_OP_STATUS || op->smspool_id <= 0)
		return false;
	for (int i = d->npend - 1; i >= 0; i--) {
		struct odbc_op *p = &d->pend[i];
		if (p->kind == ODBC_OP_SENT && p->smspool_id == op->smspool_id && strcmp(p->key, op->key) == 0) {
			finish_op(d, p, 0, NULL);
			free(p->key), free(p->status), free(p->error);
			*p = *op;
			return true;
		}
	}
	return false;
}

static void push_op(struct odbc *d, const struct odbc_op *op)
{
	/* A "sent" for a row whose mark is not posted yet (its cycle still waits
	 * for answers: a row taken again after an error, whose message was
	 * already sent) waits for that mark: the sent statement only touches
	 * rows marked queued, so written first it would be lost and the row
	 * would show queued until its final state. */
	struct take *t = op->kind == ODBC_OP_SENT && op->key ? hash_get(d->unmarked, op->key) : NULL;
	if (t) {
		if (t->nheld == t->capheld) {
			t->capheld = t->capheld ? t->capheld * 2 : 8;
			t->held = xrealloc(t->held, (size_t)t->capheld * sizeof *t->held);
		}
		t->held[t->nheld++] = *op;
		return;
	}
	if (supersede(d, op)) {
		flush_writes(d);
		return;
	}
	if (d->npend == d->cappend) {
		d->cappend = d->cappend ? d->cappend * 2 : 64;
		d->pend = xrealloc(d->pend, (size_t)d->cappend * sizeof *d->pend);
	}
	d->pend[d->npend++] = *op;
	flush_writes(d);
}

/* Gives back what waits for the worker (not sent: released / not done). */
static void drop_pending(struct odbc *d)
{
	for (int i = 0; i < d->npend; i++) {
		struct odbc_op *op = &d->pend[i];
		finish_op(d, op, -2, NULL);
		free(op->key), free(op->status), free(op->error), free(op->sender), free(op->recipient), free(op->body);
	}
	d->npend = 0;
}

static void odbc_submit(struct conn *c, struct msg *m)
{
	struct odbc *d = conn_driver_data(c);
	if (!m->body) {
		msg_set_failed(m, MSG_FAILED, "odbc", "binary messages cannot be written into a table");
		core_complete(c, m);
		return;
	}
	if (d->state != ODBC_UP) {
		msg_set_failed(m, MSG_RELEASE, NULL, NULL);
		core_complete(c, m);
		return;
	}
	struct odbc_op op = {.kind = ODBC_OP_INSERT, .owner = m, .owner_kind = OWNER_MSG, .row_kind = "message"};
	op.sender = m->sender ? xstrdup(m->sender) : NULL;
	op.recipient = xstrdup(m->recipient);
	op.body = xstrdup(m->body);
	op.smspool_id = m->id;
	push_op(d, &op);
}

static bool wants_state(const struct odbc_conf *conf, const char *state)
{
	for (size_t i = 0; i < json_array_size(conf->status_updates); i++) {
		const char *v = json_string_value(json_array_get(conf->status_updates, i));
		if (v && strcmp(v, state) == 0)
			return true;
	}
	return false;
}

static void odbc_deliver(struct conn *c, struct account_event *ev)
{
	struct odbc *d = conn_driver_data(c);
	if (d->state != ODBC_UP) {
		core_event_done(c, ev, false);
		account_event_free(ev);
		return;
	}
	struct odbc_op op = {.owner = ev, .owner_kind = OWNER_EVENT};
	if (ev->kind == ACCOUNT_EVENT_REPORT) {
		if (!ev->client_ref || !ev->state || !wants_state(d->conf, ev->state)) {
			core_event_done(c, ev, true); /* nothing to write */
			account_event_free(ev);
			return;
		}
		op.kind = strcmp(ev->state, "sent") == 0 ? ODBC_OP_SENT : ODBC_OP_STATUS;
		op.key = xstrdup(ev->client_ref);
		op.status = xstrdup(ev->state);
		op.error = ev->error_code ? xstrdup(ev->error_code) : NULL;
		op.smspool_id = ev->message_id;
	} else {
		op.kind = ODBC_OP_INSERT;
		op.row_kind = "inbound";
		op.sender = ev->sender ? xstrdup(ev->sender) : NULL;
		op.recipient = ev->recipient ? xstrdup(ev->recipient) : NULL;
		op.body = ev->body ? xstrdup(ev->body) : NULL;
		op.smspool_id = ev->message_id;
	}
	push_op(d, &op);
}

static void write_done(struct odbc *d, struct odbc_job *job)
{
	d->writes_out--;
	for (int i = 0; i < job->nops; i++)
		finish_op(d, &job->ops[i], job->rc == -2 ? -2 : job->ops[i].result,
		          job->ops[i].result == 1 ? job->ops[i].result_text : job->err);
	if (job->rc == -1)
		fail(d, job->err);
	else
		flush_writes(d);
}

/* ---- taking ---- */

/* Keys of every row a cycle still holds, sorted: the next read skips them. */
static void skip_list(struct odbc *d, struct odbc_job *job)
{
	int n = 0;
	for (int t = 0; t < d->ntakes; t++)
		n += d->takes[t]->job->nrows;
	job->skip = xcalloc((size_t)(n ? n : 1), sizeof *job->skip);
	for (int t = 0; t < d->ntakes; t++)
		for (int i = 0; i < d->takes[t]->job->nrows; i++)
			if (d->takes[t]->job->rows[i].key)
				job->skip[job->nskip++] = xstrdup(d->takes[t]->job->rows[i].key);
	qsort(job->skip, (size_t)job->nskip, sizeof *job->skip, cmp_key);
}

/* Reads new rows: at most one read out, at most TAKES_MAX cycles held. */
static void take_start(struct odbc *d)
{
	if (d->reading || d->ntakes >= TAKES_MAX || (d->state != ODBC_UP && d->state != ODBC_CONNECTING))
		return;
	d->reading = true;
	struct odbc_job *job = xcalloc(1, sizeof *job);
	job->kind = ODBC_JOB_TAKE;
	skip_list(d, job);
	post(d, job);
}

/* What comes after a read or a finished cycle: the next read at once after a
 * full batch (overlapping the cycles still out), else after poll_ms. */
static void take_next(struct odbc *d)
{
	if (d->state != ODBC_UP || d->reading || d->ntakes >= TAKES_MAX)
		return;
	if (d->more && !d->throttled)
		take_start(d);
	else if (!evtimer_pending(d->timer, NULL))
		arm(d, d->conf->poll_ms);
}

static struct take *take_find(struct odbc *d, uint32_t gen)
{
	for (int t = 0; t < d->ntakes; t++)
		if (d->takes[t]->gen == gen)
			return d->takes[t];
	return NULL;
}

/* The cycle's mark is posted (or will not be): its keys leave unmarked and
 * the states that waited for it follow it (given back when down). */
static void take_release(struct odbc *d, struct take *t)
{
	if (t->keys_held) {
		for (int i = 0; i < t->job->nrows; i++) {
			const char *key = t->job->rows[i].key;
			if (key && hash_get(d->unmarked, key) == t)
				hash_remove(d->unmarked, key);
		}
		t->keys_held = false;
	}
	int n = t->nheld;
	struct odbc_op *held = t->held;
	t->held = NULL;
	t->nheld = t->capheld = 0;
	for (int i = 0; i < n; i++) {
		if (d->state == ODBC_UP) {
			push_op(d, &held[i]);
		} else {
			finish_op(d, &held[i], -2, NULL);
			free(held[i].key), free(held[i].status), free(held[i].error);
		}
	}
	free(held);
}

/* The cycle is over: its rows are marked (or left new, to be read again). */
static void take_end(struct odbc *d, struct take *t)
{
	take_release(d, t);
	for (int i = 0; i < t->job->nrows; i++) {
		struct odbc_op *mk = &t->marks[i];
		free(mk->key), free(mk->status), free(mk->error);
	}
	odbc_job_free(t->job);
	free(t->marks);
	free(t->marked);
	for (int k = 0; k < d->ntakes; k++)
		if (d->takes[k] == t) {
			memmove(&d->takes[k], &d->takes[k + 1], (size_t)(d->ntakes - k - 1) * sizeof *d->takes);
			d->ntakes--;
			break;
		}
	free(t);
	take_next(d);
}

/* Every answer is in: one write job marks the cycle's rows taken. */
static void take_mark(struct odbc *d, struct take *t)
{
	int n = 0;
	for (int i = 0; i < t->job->nrows; i++)
		n += t->marked[i];
	if (n == 0 || d->state != ODBC_UP) {
		take_end(d, t);
		return;
	}
	struct odbc_job *job = xcalloc(1, sizeof *job);
	job->kind = ODBC_JOB_WRITE;
	job->ops = xcalloc((size_t)n, sizeof *job->ops);
	for (int i = 0, k = 0; i < t->job->nrows; i++)
		if (t->marked[i]) {
			job->ops[k++] = t->marks[i];
			memset(&t->marks[i], 0, sizeof t->marks[i]);
		}
	job->nops = n;
	job->nrows = -1; /* tells a mark apart from a write */
	job->tag = t->gen;
	post(d, job);
	take_release(d, t); /* after the mark in the worker's queue */
}

static void take_rows(struct odbc *d, struct odbc_job *job)
{
	struct take *t = xcalloc(1, sizeof *t);
	d->takes[d->ntakes++] = t;
	t->job = job;
	int n = job->nrows;
	t->marks = xcalloc((size_t)(n ? n : 1), sizeof *t->marks);
	t->marked = xcalloc((size_t)(n ? n : 1), sizeof *t->marked);
	t->gen = ++d->take_gen;
	d->more = n == d->plan.batch;
	if (!d->attached && d->state == ODBC_UP) {
		/* Events are written by key: only once a read has told the key's type. */
		core_account_attach(d->c, d->conf->account);
		d->attached = true;
	}
	for (int i = 0; i < n; i++) {
		struct odbc_row *r = &job->rows[i];
		if (r->bad) {
			if (r->key) {
				t->marks[i] = (struct odbc_op){.kind = ODBC_OP_TAKEN,
				                               .key = xstrdup(r->key),
				                               .status = xstrdup("failed"),
				                               .error = xstrdup(r->bad)};
				t->marked[i] = true;
			}
			log_warn("odbc_row_refused", "conn=%s key=%s reason=\"%s\"", conn_name(d->c),
			         r->key ? r->key : "NULL", r->bad);
			continue;
		}
		struct submission *s = xcalloc(1, sizeof *s);
		s->account = xstrdup(d->conf->account);
		s->recipient = r->recipient ? xstrdup(r->recipient) : xstrdup("");
		s->sender = r->sender && *r->sender ? xstrdup(r->sender) : NULL;
		s->body = r->body ? xstrdup(r->body) : xstrdup("");
		s->encoding = xstrdup("auto");
		s->client_ref = xstrdup(r->key);
		s->want_report = true;
		s->msg_class = -1;
		t->answers_due++;
		hash_put(d->unmarked, r->key, t);
		t->keys_held = true;
		core_submit(d->c, s, ((uint64_t)t->gen << 32) | (uint32_t)i);
	}
	if (t->answers_due == 0)
		take_mark(d, t);
	else
		take_next(d); /* the next read overlaps this cycle's submits and marks */
}

static void odbc_submitted(struct conn *c, uint64_t token, int64_t message_id, enum submit_error error,
                           const char *text)
{
	struct odbc *d = conn_driver_data(c);
	uint32_t i = (uint32_t)token;
	struct take *t = take_find(d, (uint32_t)(token >> 32));
	if (!t || i >= (uint32_t)t->job->nrows || t->answers_due <= 0) {
		log_error("driver_contract", "conn=%s problem=\"unexpected submitted token\"", conn_name(c));
		return;
	}
	struct odbc_row *r = &t->job->rows[i];
	struct odbc_op *mk = &t->marks[i];
	const char *dup = text ? strstr(text, "already taken as message ") : NULL;
	if (error == SUBMIT_OK || (error == SUBMIT_INVALID && dup)) {
		int64_t id =
		    error == SUBMIT_OK ? message_id : strtoll(dup + strlen("already taken as message "), NULL, 10);
		*mk = (struct odbc_op){
		    .kind = ODBC_OP_TAKEN, .key = xstrdup(r->key), .status = xstrdup("queued"), .smspool_id = id};
		t->marked[i] = true;
		if (error != SUBMIT_OK)
			log_info("odbc_taken_again", "conn=%s key=%s message=%" PRId64, conn_name(c), r->key, id);
	} else if (error == SUBMIT_INVALID) {
		*mk = (struct odbc_op){.kind = ODBC_OP_TAKEN,
		                       .key = xstrdup(r->key),
		                       .status = xstrdup("failed"),
		                       .error = xstrdup(text ? text : "invalid")};
		t->marked[i] = true;
	} else {
		d->throttled = true; /* left new: taken again at a later read, after poll_ms */
	}
	if (--t->answers_due == 0)
		take_mark(d, t);
	maybe_stopped(d); /* the last answer may be what a stop waits for */
}

/* ---- results from the worker ---- */

static void maybe_stopped(struct odbc *d)
{
	if (d->state != ODBC_STOPPING || !d->w || d->jobs_out > 0)
		return;
	for (int t = 0; t < d->ntakes; t++)
		if (d->takes[t]->answers_due > 0)
			return;
	while (d->ntakes > 0)
		take_end(d, d->takes[0]);
	odbc_worker_stop(d->w);
	d->w = NULL;
	core_stopped(d->c);
}

static void on_results(evutil_socket_t fd, short what, void *arg)
{
	struct odbc *d = arg;
	for (struct chan_item *it = chan_take_all(&d->results), *nx; it; it = nx) {
		nx = it->next;
		struct odbc_job *job = it->ptr;
		free(it);
		d->jobs_out--;
		switch (job->kind) {
		case ODBC_JOB_TAKE:
			d->reading = false;
			if (job->rc) {
				fail(d, job->err);
				odbc_job_free(job);
			} else if (d->state == ODBC_STOPPING || d->state == ODBC_DOWN) {
				odbc_job_free(job);
			} else {
				if (d->state == ODBC_CONNECTING)
					odbc_enter(d, ODBC_UP, NULL);
				take_rows(d, job);
			}
			break;
		case ODBC_JOB_WRITE:
			if (job->nrows == -1) { /* the marks of a take */
				job->nrows = 0;
				if (job->rc)
					fail(d, job->err);
				struct take *t = take_find(d, job->tag);
				if (t)
					take_end(d, t);
			} else {
				write_done(d, job);
			}
			odbc_job_free(job);
			break;
		}
	}
	maybe_stopped(d);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct odbc *d = arg;
	switch (d->state) {
	case ODBC_DOWN:
		odbc_enter(d, ODBC_CONNECTING, NULL);
		break;
	case ODBC_UP:
		d->throttled = false;
		take_start(d);
		break;
	case ODBC_CONNECTING:
	case ODBC_STOPPING:
		break;
	}
}

/* The state machine: every transition, with what entering a state does. */
static void odbc_enter(struct odbc *d, enum odbc_state s, const char *detail)
{
	enum odbc_state from = d->state;
	d->state = s;
	log_debug("odbc_state", "conn=%s from=%s to=%s", conn_name(d->c), odbc_state_names[from], odbc_state_names[s]);
	switch (s) {
	case ODBC_DOWN: {
		evtimer_del(d->timer);
		if (d->attached) {
			core_account_detach(d->c, d->conf->account);
			d->attached = false;
		}
		drop_pending(d);
		char buf[400];
		snprintf(buf, sizeof buf, "foreign database: %s (retry in %d ms)", detail && *detail ? detail : "error",
		         d->backoff_ms);
		log_warn("odbc_down", "conn=%s error=\"%s\" retry_ms=%d", conn_name(d->c), detail ? detail : "",
		         d->backoff_ms);
		core_conn_state(d->c, CONN_DOWN, buf);
		arm(d, d->backoff_ms);
		d->backoff_ms =
		    d->backoff_ms * 2 > d->conf->retry_max_ms ? (int)d->conf->retry_max_ms : d->backoff_ms * 2;
		break;
	}
	case ODBC_CONNECTING: {
		if (from == ODBC_STOPPING)
			break;
		/* Up only once a read of the outgoing table worked: a database
		 * that accepts logins but refuses the statement is not up. */
		core_conn_state(d->c, CONN_CONNECTING, NULL);
		take_start(d); /* unless a read of before the error is still out: its answer will do */
		break;
	}
	case ODBC_UP:
		d->backoff_ms = (int)d->conf->retry_min_ms;
		log_info("odbc_up", "conn=%s", conn_name(d->c));
		core_conn_state(d->c, CONN_UP, NULL);
		break;
	case ODBC_STOPPING:
		evtimer_del(d->timer);
		odbc_worker_cancel(d->w);
		if (d->attached) {
			core_account_detach(d->c, d->conf->account);
			d->attached = false;
		}
		drop_pending(d);
		core_conn_state(d->c, CONN_STOPPING, NULL);
		break;
	}
}

/* ---- settings and life cycle ---- */

/* Appends key=value to a connection string; braces keep ; and } literal. */
static void connstr_add(char **s, const char *key, const char *val)
{
	size_t n = strlen(*s), vl = strlen(val);
	char *out = xmalloc(n + strlen(key) + 2 * vl + 8);
	char *p = out + sprintf(out, "%s%s%s={", *s, n && (*s)[n - 1] != ';' ? ";" : "", key);
	for (const char *v = val; *v; v++) {
		*p++ = *v;
		if (*v == '}')
			*p++ = '}';
	}
	strcpy(p, "};");
	free(*s);
	*s = out;
}

static void plan_free(struct odbc_plan *p)
{
	odbc_stmt_free(&p->take), odbc_stmt_free(&p->taken), odbc_stmt_free(&p->status), odbc_stmt_free(&p->insert);
	odbc_stmt_free(&p->sent);
	free(p->connstr);
	p->connstr = NULL;
}

static int plan_build(const struct odbc_conf *conf, struct odbc_plan *p, struct errbuf *err)
{
	memset(p, 0, sizeof *p);
	const char *o = conf->outgoing_table, *in = conf->incoming_table;
	if (!odbc_schema_ident_ok(o))
		return errbuf_set(err, "outgoing_table: must be an identifier (letters, digits, _; schema.table)");
	if (!odbc_schema_ident_ok(in))
		return errbuf_set(err, "incoming_table: must be an identifier (letters, digits, _; schema.table)");
	struct {
		const char *key, *given;
		char *(*def)(const char *);
		const char *table;
		const char *const *allowed;
		struct odbc_stmt *out;
	} st[] = {
	    {"take_statement", conf->take_statement, odbc_schema_take, o, take_params, &p->take},
	    {"taken_statement", conf->taken_statement, odbc_schema_taken, o, row_params, &p->taken},
	    {"status_statement", conf->status_statement, odbc_schema_status, o, row_params, &p->status},
	    {"insert_statement", conf->insert_statement, odbc_schema_insert, in, insert_params, &p->insert},
	    {"sent_statement", conf->sent_statement, odbc_schema_sent, o, row_params, &p->sent},
	};
	for (size_t i = 0; i < ARRAY_LEN(st); i++) {
		char *text = st[i].given ? xstrdup(st[i].given) : st[i].def(st[i].table);
		struct errbuf e;
		int rc = odbc_stmt_parse(text, strlen(text), st[i].allowed, st[i].out, &e);
		free(text);
		if (rc) {
			for (size_t k = 0; k < i; k++)
				odbc_stmt_free(st[k].out);
			return errbuf_set(err, "%s: %s", st[i].key, e.msg);
		}
	}
	if (!odbc_stmt_uses(&p->taken, ODBC_P_KEY) || !odbc_stmt_uses(&p->status, ODBC_P_KEY) ||
	    !odbc_stmt_uses(&p->sent, ODBC_P_KEY)) {
		plan_free(p);
		return errbuf_set(err, "taken_statement, status_statement and sent_statement must use :key");
	}
	return 0;
}

static int odbc_check(const void *vconf, struct errbuf *err)
{
	const struct odbc_conf *conf = vconf;
	if (!conf->dsn == !conf->connection_string)
		return errbuf_set(err, "give exactly one of dsn and connection_string");
	if (conf->dsn && (!*conf->dsn || strpbrk(conf->dsn, ";{}=")))
		return errbuf_set(err, "dsn: a data source name without ; { } =");
	if (!*conf->account)
		return errbuf_set(err, "account: must name an account");
	if (conf->retry_min_ms > conf->retry_max_ms)
		return errbuf_set(err, "retry_min_ms: must not exceed retry_max_ms");
	size_t i;
	json_t *v;
	json_array_foreach(conf->status_updates, i, v)
	{
		bool known = false;
		for (size_t k = 0; k < ARRAY_LEN(final_states); k++)
			known |= json_is_string(v) && strcmp(json_string_value(v), final_states[k]) == 0;
		if (!known)
			return errbuf_set(
			    err, "status_updates: each element must be one of sent, delivered, undelivered, expired, "
			         "rejected, failed");
	}
	struct odbc_plan p;
	if (plan_build(conf, &p, err))
		return -1;
	plan_free(&p);
	return 0;
}

static int odbc_open(struct conn *c)
{
	const struct odbc_conf *conf = conn_conf(c);
	struct odbc *d = xcalloc(1, sizeof *d);
	d->c = c;
	d->conf = conf;
	struct errbuf err;
	if (plan_build(conf, &d->plan, &err)) {
		log_error("odbc_config", "conn=%s error=\"%s\"", conn_name(c), err.msg);
		free(d);
		return -1;
	}
	d->plan.connstr = xstrdup(conf->connection_string ? conf->connection_string : "");
	if (conf->dsn)
		connstr_add(&d->plan.connstr, "DSN", conf->dsn);
	if (conf->username)
		connstr_add(&d->plan.connstr, "UID", conf->username);
	if (conf->password)
		connstr_add(&d->plan.connstr, "PWD", conf->password);
	d->plan.batch = (int)conf->batch;
	d->plan.query_timeout_s = (int)conf->query_timeout_s;
	d->plan.login_timeout_s = (int)conf->login_timeout_s;
	d->plan.conn_name = conn_name(c);
	d->backoff_ms = (int)conf->retry_min_ms;
	d->unmarked = hash_new();
	chan_init(&d->results);
	d->chan_ev = event_new(conn_event_base(c), chan_fd(&d->results), EV_READ | EV_PERSIST, on_results, d);
	d->timer = evtimer_new(conn_event_base(c), on_timer, d);
	event_add(d->chan_ev, NULL);
	d->w = odbc_worker_start(&d->plan, &d->results);
	conn_set_driver_data(c, d);
	d->state = ODBC_DOWN;
	odbc_enter(d, ODBC_CONNECTING, NULL);
	return 0;
}

static void odbc_stop(struct conn *c)
{
	struct odbc *d = conn_driver_data(c);
	if (d->state == ODBC_STOPPING)
		return;
	odbc_enter(d, ODBC_STOPPING, NULL);
	maybe_stopped(d);
}

static void odbc_close(struct conn *c)
{
	struct odbc *d = conn_driver_data(c);
	if (!d)
		return;
	if (d->w) /* closed without a stop: nothing may be out by the contract */
		odbc_worker_stop(d->w);
	event_free(d->chan_ev);
	event_free(d->timer);
	chan_destroy(&d->results);
	while (d->ntakes > 0) { /* none after a stop: this frees memory only */
		struct take *t = d->takes[--d->ntakes];
		for (int i = 0; i < t->nheld; i++) {
			account_event_free(t->held[i].owner);
			free(t->held[i].key), free(t->held[i].status), free(t->held[i].error);
		}
		free(t->held);
		odbc_job_free(t->job);
		free(t->marks), free(t->marked), free(t);
	}
	hash_free(d->unmarked, NULL);
	free(d->pend);
	plan_free(&d->plan);
	free(d);
	conn_set_driver_data(c, NULL);
}

const struct driver_ops odbc_driver = {
    .name = "odbc",
    .caps = CAP_SEND | CAP_RECEIVE,
    .settings = odbc_settings,
    .conf_size = sizeof(struct odbc_conf),
    .check = odbc_check,
    .open = odbc_open,
    .submit = odbc_submit,
    .stop = odbc_stop,
    .close = odbc_close,
    .submitted = odbc_submitted,
    .deliver = odbc_deliver,
};
