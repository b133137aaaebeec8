/*
 * odbc take: taking the foreign outgoing rows.  Every poll_ms (at once after
 * a full batch) the worker reads up to `batch` new rows (status NULL: taken
 * by a state column, never by an id watermark, so rows committed out of id
 * order are never skipped); each becomes an outbox row of the connection's
 * account through core_submit (client_ref = the row's key); once every
 * answer is in, one write job marks the rows taken (status 'queued',
 * smspool_id).  Cycles overlap: the next read runs while a batch is being
 * submitted and marked, and passes over the rows still held.  The account
 * has unique_client_ref (sql/015_odbc.sql, 024_odbc2.sql): a row taken again
 * after a crash between the two commits is refused with the id it already
 * has, and marked with that id — exactly once.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "odbc/odbc.h"
#include "util.h"

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

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

/* Reads new rows: at most one read out, at most ODBC_TAKES_MAX cycles held. */
void odbc_take_start(struct odbc *d)
{
	if (d->reading || d->ntakes >= ODBC_TAKES_MAX || (d->state != ODBC_UP && d->state != ODBC_CONNECTING))
		return;
	d->reading = true;
	struct odbc_job *job = xcalloc(1, sizeof *job);
	job->kind = ODBC_JOB_TAKE;
	skip_list(d, job);
	odbc_post(d, job);
}

/* What comes after a read or a finished cycle: the next read at once after a
 * full batch (overlapping the cycles still out), else after poll_ms. */
void odbc_take_next(struct odbc *d)
{
	if (d->state != ODBC_UP || d->reading || d->ntakes >= ODBC_TAKES_MAX)
		return;
	if (d->more && !d->throttled)
		odbc_take_start(d);
	else if (!evtimer_pending(d->timer, NULL))
		odbc_arm(d, d->conf->poll_ms);
}

static struct odbc_take *take_find(struct odbc *d, uint32_t gen)
{
	for (int t = 0; t < d->ntakes; t++)
		if (d->takes[t]->gen == gen)
			return d->takes[t];
	return NULL;
}

/* The cycle's mark is posted (or will not be): its keys leave unmarked and
 * the states that waited for it follow it (given back when down). */
static void take_release(struct odbc *d, struct odbc_take *t)
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
		if (d->state == ODBC_UP)
			odbc_write_push(d, &held[i]);
		else
			odbc_write_give_back(d, &held[i]);
	}
	free(held);
}

/* The cycle is over: its rows are marked (or left new, to be read again). */
static void take_end(struct odbc *d, struct odbc_take *t)
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
	odbc_take_next(d);
}

/* Every answer is in: one write job marks the cycle's rows taken. */
static void take_mark(struct odbc *d, struct odbc_take *t)
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
	odbc_post(d, job);
	take_release(d, t); /* after the mark in the worker's queue */
}

void odbc_take_rows(struct odbc *d, struct odbc_job *job)
{
	struct odbc_take *t = xcalloc(1, sizeof *t);
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
		odbc_take_next(d); /* the next read overlaps this cycle's submits and marks */
}

void odbc_take_submitted(struct conn *c, uint64_t token, const struct submit_result *res)
{
	struct odbc *d = conn_driver_data(c);
	uint32_t i = (uint32_t)token;
	struct odbc_take *t = take_find(d, (uint32_t)(token >> 32));
	if (!t || i >= (uint32_t)t->job->nrows || t->answers_due <= 0) {
		log_error("driver_contract", "conn=%s problem=\"unexpected submitted token\"", conn_name(c));
		return;
	}
	struct odbc_row *r = &t->job->rows[i];
	struct odbc_op *mk = &t->marks[i];
	enum submit_error error = res->error;
	const char *text = res->text;
	/* A key the account already has (unique_client_ref): the row was
	 * taken before, by the message that has the key. */
	bool dup = error == SUBMIT_INVALID && res->field == SUBMIT_FIELD_KEY && res->taken_id > 0;
	if ((error == SUBMIT_OK && res->message_id > 0) || dup) {
		int64_t id = dup ? res->taken_id : res->message_id;
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
	odbc_maybe_stopped(d); /* the last answer may be what a stop waits for */
}

void odbc_take_marked(struct odbc *d, struct odbc_job *job)
{
	job->nrows = 0;
	if (job->rc)
		odbc_fail(d, job->err);
	struct odbc_take *t = take_find(d, job->tag);
	if (t)
		take_end(d, t);
}

bool odbc_take_busy(const struct odbc *d)
{
	for (int t = 0; t < d->ntakes; t++)
		if (d->takes[t]->answers_due > 0)
			return true;
	return false;
}

void odbc_take_end_all(struct odbc *d)
{
	while (d->ntakes > 0)
		take_end(d, d->takes[0]);
}

void odbc_take_free_all(struct odbc *d)
{
	while (d->ntakes > 0) { /* none after a stop: this frees memory only */
		struct odbc_take *t = d->takes[--d->ntakes];
		for (int i = 0; i < t->nheld; i++) {
			account_event_free(t->held[i].owner);
			free(t->held[i].key), free(t->held[i].status), free(t->held[i].error);
		}
		free(t->held);
		odbc_job_free(t->job);
		free(t->marks), free(t->marked), free(t);
	}
}
