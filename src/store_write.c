/* store_write: what the loop hands over to be written.  Results and reports
 * go in one statement, hence one transaction (a receipt commits with the
 * result it answers); inbound texts in another; connection states one row
 * each.  Nothing is acknowledged before it is committed, nothing is dropped
 * for an error of the database: kept for the reconnect, retried after a
 * backoff, or narrowed down to the refused row, which is degraded. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/pg.h"
#include "log.h"
#include "metrics.h"
#include "sbuf.h"
#include "store_internal.h"
#include "util.h"

/* Prepends an acknowledgement for (conn_id, token) unless no one waits for it. */
static void ack_push(struct store_ack **head, uint64_t conn_id, uint64_t token, bool committed)
{
	if (!token)
		return;
	struct store_ack *a = xcalloc(1, sizeof *a);
	a->conn_id = conn_id;
	a->token = token;
	a->committed = committed;
	a->next = *head;
	*head = a;
}

void store_settled_free(struct store_settled *list)
{
	for (struct store_settled *n; list; list = n)
		n = list->next, free(list);
}

/* Frees a batch of results, telling the loop which window slots they free. */
static void settle(struct store *s, struct msg_list *batch)
{
	struct store_settled *head = NULL;
	struct msg *m;
	while ((m = msg_list_pop(batch))) {
		if (m->slot_conn) {
			struct store_settled *e = head;
			while (e && e->conn_id != m->slot_conn)
				e = e->next;
			if (!e) {
				e = xcalloc(1, sizeof *e);
				e->conn_id = m->slot_conn;
				e->next = head;
				head = e;
			}
			e->n += m->slots > 0 ? m->slots : 1;
		}
		msg_free(m);
	}
	if (head)
		chan_put(s->out, TO_LOOP_SETTLED, head);
}

/* Acknowledges (committed or not) and frees a list of inbound texts. */
void store_write_ack_inbound(struct store *s, struct inbound *list, bool committed)
{
	struct store_ack *head = NULL;
	for (struct inbound *next; list; list = next) {
		next = list->next;
		ack_push(&head, list->conn_id, list->token, committed);
		inbound_free(list);
	}
	if (head)
		chan_put(s->out, TO_LOOP_ACKS, head);
}

/* The same for a list of reports. */
void store_write_ack_reports(struct store *s, struct report *list, bool committed)
{
	struct store_ack *head = NULL;
	for (struct report *next; list; list = next) {
		next = list->next;
		ack_push(&head, list->conn_id, list->token, committed);
		report_free(list);
	}
	if (head)
		chan_put(s->out, TO_LOOP_ACKS, head);
}

/* Puts a batch back at the head of what is still to write, in order. */
static void unwrite(struct store *s, struct msg_list *batch, struct report *reps, struct report *last, int nrep)
{
	msg_list_concat(batch, &s->results);
	s->results = *batch;
	if (reps) {
		last->next = s->rep_head;
		s->rep_head = reps;
		if (!last->next)
			s->rep_tail = &last->next;
		s->rep_len += nrep;
	}
}

/* A row that the database refused on its own: strip, step by step, what
 * came from the peer until it fits (first the error code and text, then the
 * remote ids).  A sent result is never thrown away: at worst it is written
 * as sent without its ids, so that it is not sent again.  Returns false
 * when nothing is left to strip. */
static bool degrade_result(struct msg *m, const char *why)
{
	char note[320];
	snprintf(note, sizeof note, "the store refused this result: %.200s", why);
	if (m->error_code || (m->error_text && strncmp(m->error_text, "the store refused", 17) != 0)) {
		free(m->error_code);
		free(m->error_text);
		m->error_code = NULL;
		m->error_text = xstrdup(note);
		return true;
	}
	if (m->remote_ids) {
		free(m->remote_ids);
		m->remote_ids = NULL;
		return true;
	}
	return false;
}

static bool degrade_report(struct report *r)
{
	if (r->text || r->error_code) {
		free(r->text);
		free(r->error_code);
		r->text = r->error_code = NULL;
		return true;
	}
	return false;
}

/* Traces the submits that went through a maintenance redirect
 * (smspool.redirected_outbound).  After the results: a trace that cannot be
 * written is logged, never a reason to write the results again. */
static void write_redirected(struct store *s, const struct msg_list *batch)
{
	int n = 0;
	for (struct msg *m = batch->head; m; m = m->next)
		n += m->redirected_from && m->conn_used && m->outcome != MSG_RELEASE;
	if (!n)
		return;
	store_arrays_reset(s, 4);
	for (struct msg *m = batch->head; m; m = m->next) {
		if (!m->redirected_from || !m->conn_used || m->outcome == MSG_RELEASE)
			continue;
		sbuf_arr_int(&s->a[0], m->id);
		sbuf_arr_text(&s->a[1], m->redirected_from);
		sbuf_arr_text(&s->a[2], m->conn_used);
		sbuf_arr_text(&s->a[3], msg_outcome_name(m->outcome));
	}
	store_arrays_end(s, 4);
	const char *params[] = {s->a[0].buf, s->a[1].buf, s->a[2].buf, s->a[3].buf};
	PGresult *r =
	    PQexecParams(s->pg,
	                 "INSERT INTO smspool.redirected_outbound (message_id, from_connection, to_connection, "
	                 "outcome) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])",
	                 4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		log_warn("store_redirected_failed", "messages=%d error=\"%s\"", n, PQresultErrorMessage(r));
	PQclear(r);
}

/* Writes up to s->write_limit results and reports in one statement, hence
 * one transaction: a report and the result it answers commit together.
 * Nothing is ever dropped for an error of the database:
 * - a lost connection, a read-only or stopping server: everything is kept
 *   for after the reconnect (returns -1);
 * - a transient error (deadlock, timeout, a lock held by an application,
 *   disk full): everything is kept and tried again after a backoff;
 * - a data error: the batch is halved until the one refused row is alone;
 *   that row is then degraded (degrade_result/degrade_report) and written.
 * Returns 0 otherwise. */
int store_write_results(struct store *s)
{
	int limit = s->write_limit ? s->write_limit : WRITE_MAX;
	struct msg_list batch = {0};
	while (s->results.len && batch.len < limit)
		msg_list_push(&batch, msg_list_pop(&s->results));
	int rep_limit = s->write_limit ? limit - batch.len : WRITE_MAX;
	struct report *reps = s->rep_head, *last = NULL;
	int nrep = 0;
	for (struct report *r = s->rep_head; r && nrep < rep_limit; r = r->next)
		last = r, nrep++;
	if (last) {
		s->rep_head = last->next;
		if (!s->rep_head)
			s->rep_tail = &s->rep_head;
		last->next = NULL;
		s->rep_len -= nrep;
	} else {
		reps = NULL;
	}

	store_arrays_reset(s, 15);
	for (struct msg *m = batch.head; m; m = m->next) {
		char retry[16];
		snprintf(retry, sizeof retry, "%d", m->retry_after_s);
		sbuf_arr_int(&s->a[0], m->id);
		sbuf_arr_text(&s->a[1], msg_outcome_name(m->outcome));
		sbuf_arr_text(&s->a[2], m->conn_used);
		sbuf_arr_text(&s->a[3], m->remote_ids);
		sbuf_arr_int(&s->a[4], m->parts);
		sbuf_arr_text(&s->a[5], m->error_code);
		sbuf_arr_text(&s->a[6], m->error_text);
		sbuf_arr_text(&s->a[7], m->retry_after_s >= 0 ? retry : NULL);
		sbuf_arr_text(&s->a[8], m->report_by_id ? "t" : "f");
	}
	for (struct report *r = reps; r; r = r->next) {
		sbuf_arr_text(&s->a[9], r->conn);
		sbuf_arr_text(&s->a[10], r->remote_id);
		sbuf_arr_text(&s->a[11], r->state);
		sbuf_arr_text(&s->a[12], r->error_code);
		sbuf_arr_text(&s->a[13], r->text);
		if (r->message_id > 0)
			sbuf_arr_int(&s->a[14], r->message_id);
		else
			sbuf_arr_text(&s->a[14], NULL);
	}
	store_arrays_end(s, 15);
	const char *params[16] = {s->cfg->instance};
	for (int i = 0; i < 15; i++)
		params[i + 1] = s->a[i].buf;
	uint64_t t0 = now_mono_ms(), t0_ns = metrics_now_ns();
	PGresult *r = PQexecPrepared(s->pg, "write", 16, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		PQclear(r);
		metrics_stmt(METRICS_STMT_WRITE, t0_ns, batch.len + nrep);
		s->write_backoff_ms = 0;
		if (s->write_limit && batch.len + nrep <= 1)
			s->write_limit = 0; /* the refused row is behind us */
		log_debug("store_written", "results=%d reports=%d ms=%" PRIu64, batch.len, nrep, now_mono_ms() - t0);
		write_redirected(s, &batch);
		settle(s, &batch);
		store_write_ack_reports(s, reps, true);
		return 0;
	}
	struct errbuf err;
	pg_result_error(r, s->pg, &err);
	enum pg_error_kind kind = pg_error_kind(r, s->pg);
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	char sqlstate[8];
	snprintf(sqlstate, sizeof sqlstate, "%s", state ? state : "");
	PQclear(r);
	if (kind == PG_ERR_RECONNECT) {
		unwrite(s, &batch, reps, last, nrep);
		log_warn("store_write_reconnect", "sqlstate=%s error=\"%s\"", sqlstate, err.msg);
		return -1;
	}
	if (kind == PG_ERR_TRANSIENT) {
		s->write_backoff_ms = s->write_backoff_ms ? s->write_backoff_ms * 2 : 100;
		if (s->write_backoff_ms > RECONNECT_MAX_MS)
			s->write_backoff_ms = RECONNECT_MAX_MS;
		s->write_retry_at_ms = now_mono_ms() + s->write_backoff_ms;
		log_warn("store_write_retry", "results=%d reports=%d sqlstate=%s retry_ms=%" PRIu64 " error=\"%s\"",
		         batch.len, nrep, sqlstate, s->write_backoff_ms, err.msg);
		unwrite(s, &batch, reps, last, nrep);
		return 0;
	}
	/* A row locked by someone else (an application's long transaction):
	 * narrow it down like a data error, then let that row wait at the end
	 * of the line while the others are written. */
	if (kind == PG_ERR_LOCKED && batch.len + nrep == 1) {
		s->write_limit = 0;
		log_warn("store_write_locked", "message=%" PRId64 " error=\"%s\"", batch.len ? batch.head->id : 0,
		         err.msg);
		if (!s->results.len && !s->rep_len) {
			s->write_backoff_ms = RECONNECT_MAX_MS;
			s->write_retry_at_ms = now_mono_ms() + s->write_backoff_ms;
		}
		msg_list_concat(&s->results, &batch);
		if (reps) {
			*s->rep_tail = reps;
			s->rep_tail = &last->next;
			s->rep_len += nrep;
		}
		return 0;
	}
	/* A data error: narrow it down to the row, then degrade that row. */
	if (batch.len + nrep > 1) {
		s->write_limit = (batch.len + nrep) / 2;
		log_warn("store_write_split", "results=%d reports=%d next=%d sqlstate=%s error=\"%s\"", batch.len, nrep,
		         s->write_limit, sqlstate, err.msg);
		unwrite(s, &batch, reps, last, nrep);
		return 0;
	}
	s->write_limit = 1;
	bool again = batch.len ? degrade_result(batch.head, err.msg) : degrade_report(reps);
	if (batch.len)
		log_error("store_result_refused", "message=%" PRId64 " outcome=%s sqlstate=%s error=\"%s\" action=%s",
		          batch.head->id, msg_outcome_name(batch.head->outcome), sqlstate, err.msg,
		          again ? "degraded" : "given_up");
	else
		log_error("store_report_refused", "conn=%s sqlstate=%s error=\"%s\" action=%s", reps->conn, sqlstate,
		          err.msg, again ? "degraded" : "refused_to_peer");
	if (again) {
		unwrite(s, &batch, reps, last, nrep);
		return 0;
	}
	/* Nothing left to strip and still refused: cannot happen with the
	 * schema as it is; the message returns when its lease ends and the
	 * peer sends the report again. */
	s->write_limit = 0;
	settle(s, &batch);
	store_write_ack_reports(s, reps, false);
	return 0;
}

int store_write_inbound(struct store *s)
{
	struct inbound *list = s->inb_head, *last = NULL;
	int n = 0;
	for (struct inbound *in = list; in && n < WRITE_MAX; in = in->next)
		last = in, n++;
	s->inb_head = last->next;
	if (!s->inb_head)
		s->inb_tail = &s->inb_head;
	last->next = NULL;
	s->inb_len -= n;

	store_arrays_reset(s, 10);
	for (struct inbound *in = list; in; in = in->next) {
		char ts[32] = "";
		if (in->smsc_ts_s) {
			time_t t = (time_t)in->smsc_ts_s;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S+00", &tm);
		}
		sbuf_arr_text(&s->a[0], in->conn);
		sbuf_arr_text(&s->a[1], in->sender);
		sbuf_arr_text(&s->a[2], in->recipient);
		sbuf_arr_text(&s->a[3], in->body);
		sbuf_arr_text(&s->a[4], in->payload);
		sbuf_arr_text(&s->a[5], in->udh);
		sbuf_arr_text(&s->a[6], in->encoding);
		sbuf_arr_int(&s->a[7], in->parts > 0 ? in->parts : 1);
		sbuf_arr_text(&s->a[8], in->smsc_ts_s ? ts : NULL);
		sbuf_arr_text(&s->a[9], in->key);
	}
	store_arrays_end(s, 10);
	const char *params[10];
	for (int i = 0; i < 10; i++)
		params[i] = s->a[i].buf;
	uint64_t t0_ns = metrics_now_ns();
	PGresult *r = PQexecPrepared(s->pg, "inbound", 10, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		struct errbuf err;
		pg_result_error(r, s->pg, &err);
		PQclear(r);
		if (store_session_lost(s)) {
			last->next = s->inb_head;
			s->inb_head = list;
			if (!last->next)
				s->inb_tail = &last->next;
			s->inb_len += n;
			return -1;
		}
		/* Refused (a constraint, a full disk): the peer is told no and
		 * sends again later; nothing is acknowledged that is not stored. */
		log_error("store_inbound_refused", "messages=%d error=\"%s\"", n, err.msg);
		store_write_ack_inbound(s, list, false);
		return 0;
	}
	PQclear(r);
	metrics_stmt(METRICS_STMT_INBOUND, t0_ns, n);
	log_debug("store_inbound", "messages=%d", n);
	store_write_ack_inbound(s, list, true);
	return 0;
}

int store_write_states(struct store *s)
{
	while (s->nstates) {
		struct store_conn_state *st = s->states[0];
		const char *params[] = {st->name, s->cfg->instance, st->state, st->detail};
		struct errbuf err;
		PGresult *r = PQexecPrepared(s->pg, "conn_state", 4, params, NULL, NULL, 0);
		bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			pg_result_error(r, s->pg, &err);
		PQclear(r);
		if (!ok && store_session_lost(s))
			return -1;
		if (!ok)
			log_warn("store_conn_state_failed", "conn=%s error=\"%s\"", st->name, err.msg);
		free(st->name);
		free(st->state);
		free(st->detail);
		free(st);
		memmove(s->states, s->states + 1, (size_t)--s->nstates * sizeof *s->states);
	}
	return 0;
}
