/*
 * odbc write: what goes into the foreign database besides the marks of a
 * take.  Messages routed to this connection and inbound texts routed to its
 * account become rows of the incoming table (a message counts as sent once
 * that row is committed); states of the account's messages (report events:
 * sent with accounts.report_sent, and the final ones) are written into the
 * foreign outgoing row, and each event is acknowledged only after that
 * commit.  Writes wait in `pend`, in order; what the callbacks of one loop
 * turn push (a claim of events comes as one batch) goes out together, as
 * soon as a write slot is free, as one job of at most `batch` operations,
 * grouped by kind so that each kind is one execution with parameter arrays
 * (see worker.c).  A final state replaces a sent still waiting; a sent for
 * a row whose mark is not posted yet waits for that mark (take.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg_parts.h"
#include "odbc/odbc.h"
#include "util.h"

static void op_free(struct odbc_op *op)
{
	free(op->key), free(op->status), free(op->error), free(op->sender), free(op->recipient), free(op->body);
	op->key = op->status = op->error = op->sender = op->recipient = op->body = NULL;
}

/* Tells the owner of op how its write went: 0 written, 1 refused for its
 * data (text says why), -1 not written (the database failed), -2 never
 * reached the database. */
static void finish_op(struct odbc *d, struct odbc_op *op, int result, const char *text)
{
	if (op->owner_kind == ODBC_OWNER_MSG) {
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
	} else if (op->owner_kind == ODBC_OWNER_EVENT) {
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

void odbc_write_give_back(struct odbc *d, struct odbc_op *op)
{
	finish_op(d, op, -2, NULL);
	op_free(op);
}

/* The order of the kinds in a job: each kind is one execution (worker.c
 * runs a run of one kind with parameter arrays).  Sent before the final
 * states: a final state of the same row written first would stay anyway
 * (the sent statement only touches queued rows), but the sent would be a
 * wasted write. */
static int kind_rank(enum odbc_op_kind k)
{
	switch (k) {
	case ODBC_OP_TAKEN:
		return 0;
	case ODBC_OP_SENT:
		return 1;
	case ODBC_OP_STATUS:
		return 2;
	case ODBC_OP_INSERT:
	case ODBC_OP_KINDS:
		break;
	}
	return 3;
}

/* Posts the first n pending operations as one job, grouped by kind (in
 * their order within a kind). */
static void post_writes(struct odbc *d, int n)
{
	struct odbc_job *job = xcalloc(1, sizeof *job);
	job->kind = ODBC_JOB_WRITE;
	job->ops = xcalloc((size_t)n, sizeof *job->ops);
	int k = 0;
	for (int rank = 0; rank < 4; rank++)
		for (int i = 0; i < n; i++)
			if (kind_rank(d->pend[i].kind) == rank)
				job->ops[k++] = d->pend[i];
	job->nops = n;
	memmove(d->pend, d->pend + n, (size_t)(d->npend - n) * sizeof *d->pend);
	d->npend -= n;
	d->writes_out++;
	odbc_post(d, job);
}

/* With both slots free, a big turn (a claim of events) goes as two halves:
 * the events of the first are acknowledged, and the next ones claimed,
 * while the second is being written, so that the worker is not idle for
 * the round trip through the database (the core holds a bounded number of
 * events out at once). */
enum { SPLIT_MIN = 200 };

static void flush_writes(struct odbc *d)
{
	while (d->writes_out < ODBC_WRITES_MAX && d->npend > 0 && d->state == ODBC_UP) {
		int n = d->npend < d->plan.batch ? d->npend : d->plan.batch;
		if (d->writes_out == 0 && n >= SPLIT_MIN)
			n = (n + 1) / 2;
		post_writes(d, n);
	}
}

/* Runs once the callbacks of this loop turn are done: everything they
 * pushed goes out in one job rather than the first one alone. */
void odbc_write_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	flush_writes(arg);
}

static void flush_soon(struct odbc *d)
{
	if (d->writes_out < ODBC_WRITES_MAX)
		event_active(d->flush_ev, EV_TIMEOUT, 0);
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
			op_free(p);
			*p = *op;
			return true;
		}
	}
	return false;
}

void odbc_write_push(struct odbc *d, const struct odbc_op *op)
{
	/* A "sent" for a row whose mark is not posted yet (its cycle still waits
	 * for answers: a row taken again after an error, whose message was
	 * already sent) waits for that mark: the sent statement only touches
	 * rows marked queued, so written first it would be lost and the row
	 * would show queued until its final state. */
	struct odbc_take *t = op->kind == ODBC_OP_SENT && op->key ? hash_get(d->unmarked, op->key) : NULL;
	if (t) {
		if (t->nheld == t->capheld) {
			t->capheld = t->capheld ? t->capheld * 2 : 8;
			t->held = xrealloc(t->held, (size_t)t->capheld * sizeof *t->held);
		}
		t->held[t->nheld++] = *op;
		return;
	}
	if (!supersede(d, op)) {
		if (d->npend == d->cappend) {
			d->cappend = d->cappend ? d->cappend * 2 : 64;
			d->pend = xrealloc(d->pend, (size_t)d->cappend * sizeof *d->pend);
		}
		d->pend[d->npend++] = *op;
	}
	flush_soon(d);
}

void odbc_write_drop_pending(struct odbc *d)
{
	for (int i = 0; i < d->npend; i++)
		odbc_write_give_back(d, &d->pend[i]);
	d->npend = 0;
}

void odbc_write_submit(struct conn *c, struct msg *m)
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
	struct odbc_op op = {.kind = ODBC_OP_INSERT, .owner = m, .owner_kind = ODBC_OWNER_MSG, .row_kind = "message"};
	op.sender = m->sender ? xstrdup(m->sender) : NULL;
	op.recipient = xstrdup(m->recipient);
	op.body = xstrdup(m->body);
	op.smspool_id = m->id;
	odbc_write_push(d, &op);
}

void odbc_write_deliver(struct conn *c, struct account_event *ev)
{
	struct odbc *d = conn_driver_data(c);
	if (d->state != ODBC_UP) {
		core_event_done(c, ev, false);
		account_event_free(ev);
		return;
	}
	struct odbc_op op = {.owner = ev, .owner_kind = ODBC_OWNER_EVENT};
	if (ev->kind == ACCOUNT_EVENT_REPORT) {
		if (!ev->client_ref || !ev->state || !odbc_conf_wants_state(d->conf, ev->state)) {
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
	odbc_write_push(d, &op);
}

void odbc_write_done(struct odbc *d, struct odbc_job *job)
{
	d->writes_out--;
	for (int i = 0; i < job->nops; i++)
		finish_op(d, &job->ops[i], job->rc == -2 ? -2 : job->ops[i].result,
		          job->ops[i].result == 1 ? job->ops[i].result_text : job->err);
	if (job->rc == -1)
		odbc_fail(d, job->err);
	else
		flush_soon(d);
}
