/* store_server: the server side's database work (SMPP server, HTTP API,
 * link): logins checked by the database, submissions written in one
 * statement per account, account events (reports, inbound texts) claimed
 * for the sessions that can take them and marked done, and status queries.
 * Every request gets an answer on the loop's channel, "database unavailable"
 * when the connection is away (store_server_fail_requests). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/pg.h"
#include "db/pg_values.h"
#include "driver.h"
#include "log.h"
#include "metrics.h"
#include "sbuf.h"
#include "store_internal.h"
#include "submit_refusal.h"
#include "util.h"

void store_auth_free(struct store_auth *a)
{
	if (!a)
		return;
	if (a->password)
		explicit_bzero(a->password, strlen(a->password));
	free(a->account);
	free(a->password);
	free(a->peer);
	free(a);
}

void store_query_free(struct store_query *q)
{
	if (!q)
		return;
	free(q->account);
	message_status_free(q->answer);
	free(q);
}

void store_accounts_free(struct store_accounts *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->n; i++)
		free(a->names[i]);
	free(a->names);
	free(a);
}

static void auth_answer(struct store *s, struct store_auth *a, struct account_info *info, const char *reason)
{
	struct store_auth_result *res = xcalloc(1, sizeof *res);
	res->conn_id = a->conn_id;
	res->token = a->token;
	res->info = info;
	res->reason = reason ? xstrdup(reason) : NULL;
	chan_put(s->out, TO_LOOP_AUTH, res);
}

/* Passwords are checked by the database (crypt), one statement each:
 * binds are rare and each costs a hash anyway.  An empty account name is a
 * login by the peer's address alone (account_auth_address); an account
 * without a password one by a client certificate (account_auth_cert). */
int store_server_auth(struct store *s)
{
	while (s->auth_head) {
		struct store_auth *a = s->auth_head;
		const char *params[] = {a->account, a->password, a->peer};
		bool by_addr = a->account[0] == '\0' && !a->password;
		/* An account without a password: the driver checked a client
		 * certificate of it (mutual TLS, 034_link.sql). */
		bool by_cert = a->account[0] != '\0' && !a->password;
		const char *cparams[] = {a->account, a->peer};
		PGresult *r = by_addr   ? PQexecPrepared(s->pg, "auth_addr", 1, params + 2, NULL, NULL, 0)
		              : by_cert ? PQexecPrepared(s->pg, "auth_cert", 2, cparams, NULL, NULL, 0)
		                        : PQexecPrepared(s->pg, "auth", 3, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
			struct errbuf err;
			pg_result_error(r, s->pg, &err);
			PQclear(r);
			if (store_session_lost(s))
				return -1;
			log_error("store_auth_failed", "account=%s error=\"%s\"", a->account, err.msg);
			auth_answer(s, a, NULL, "authentication unavailable");
		} else {
			struct account_info *info = NULL;
			if (PQgetvalue(r, 0, 0)[0] == 't') {
				info = xcalloc(1, sizeof *info);
				info->name = xstrdup(by_addr ? PQgetvalue(r, 0, 4) : a->account);
				info->max_binds = PQgetisnull(r, 0, 2) ? 0 : atoi(PQgetvalue(r, 0, 2));
				info->throughput = PQgetisnull(r, 0, 3) ? 0 : atof(PQgetvalue(r, 0, 3));
			}
			auth_answer(s, a, info, PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1));
			PQclear(r);
		}
		s->auth_head = a->next;
		store_auth_free(a);
	}
	return 0;
}

static void submit_answer_result(struct store *s, struct submission *sub, const struct submit_result *r)
{
	struct store_submit_result *res = xcalloc(1, sizeof *res);
	res->conn_id = sub->conn_id;
	res->token = sub->token;
	res->message_id = r->message_id;
	res->error = r->error;
	res->field = r->field;
	res->taken_id = r->taken_id;
	res->text = r->text ? xstrdup(r->text) : NULL;
	chan_put(s->out, TO_LOOP_SUBMITTED, res);
}

/* A refusal that names no field (the database away, no answer). */
static void submit_answer(struct store *s, struct submission *sub, int error, const char *text)
{
	struct submit_result r = {.error = (enum submit_error)error, .text = text};
	submit_answer_result(s, sub, &r);
}

static void format_ts(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%d %H:%M:%S+00", &tm);
}

/* Claim at submit: the submissions in params (17, as submit() takes them)
 * through smspool.submit_claim, with the room the loop lent.  The claimed
 * rows go to the loop (TO_LOOP_DIRECT) only once the statement has
 * committed: its rows arrive before the commit, so an error or a lost
 * connection after them is waited for.  Lost there, the commit may have
 * happened: their ids are kept and given back at the next connection
 * (store_server_release_unsure) rather than renewed for the daemon's life.
 * Returns the statement's result, or the error that ended it. */
static PGresult *submit_claim(struct store *s, const char *const params[17])
{
	struct claim_demand *cd = s->claim_conns;
	struct sbuf conns;
	sbuf_init(&conns);
	sbuf_arr_begin(&conns);
	for (int i = 0; i < cd->nconns; i++)
		sbuf_arr_text(&conns, cd->conns[i]);
	sbuf_arr_end(&conns);
	char budget[16];
	snprintf(budget, sizeof budget, "%d", s->claim_room);
	const char *p[20] = {s->cfg->instance, conns.buf, budget};
	for (int i = 0; i < 17; i++)
		p[i + 3] = params[i];
	PGresult *out = NULL;
	if (PQsendQueryPrepared(s->pg, "submit_claim", 20, p, NULL, NULL, 0)) {
		for (PGresult *r; (r = PQgetResult(s->pg));) {
			if (!out || (PQresultStatus(out) == PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_TUPLES_OK)) {
				/* the first result, or an error after the rows (the
				 * commit refused, the connection lost) */
				if (out && PQresultStatus(out) == PGRES_TUPLES_OK) {
					struct msg_list lost = {0};
					claim_rows_to_msgs(out, &lost);
					if (PQstatus(s->pg) != CONNECTION_OK && lost.len) {
						s->claim_unsure =
						    xrealloc(s->claim_unsure, (size_t)(s->nclaim_unsure + lost.len) *
						                                  sizeof *s->claim_unsure);
						for (struct msg *m = lost.head; m; m = m->next)
							s->claim_unsure[s->nclaim_unsure++] = m->id;
						log_warn("store_submit_claim_commit_unknown", "messages=%d", lost.len);
					}
					while (lost.len)
						msg_free(msg_list_pop(&lost));
				}
				PQclear(out);
				out = r;
			} else {
				PQclear(r);
			}
		}
	}
	sbuf_free(&conns);
	if (!out)
		return PQmakeEmptyPGresult(s->pg, PGRES_FATAL_ERROR);
	if (PQresultStatus(out) != PGRES_TUPLES_OK)
		return out;
	struct store_direct *d = xcalloc(1, sizeof *d);
	claim_rows_to_msgs(out, &d->msgs);
	int n = d->msgs.len;
	if (n == 0) {
		free(d);
		return out;
	}
	s->claim_room = s->claim_room > n ? s->claim_room - n : 0;
	d->room_back = n;
	metrics_claimed_at_submit(n);
	log_debug("store_submit_claimed", "messages=%d", n);
	chan_put(s->out, TO_LOOP_DIRECT, d);
	return out;
}

void store_server_room_back(struct store *s)
{
	if (s->claim_room <= 0)
		return;
	struct store_direct *d = xcalloc(1, sizeof *d);
	d->room_back = s->claim_room;
	s->claim_room = 0;
	chan_put(s->out, TO_LOOP_DIRECT, d);
}

int store_server_release_unsure(struct store *s)
{
	if (!s->nclaim_unsure)
		return 0;
	struct sbuf ids;
	sbuf_init(&ids);
	sbuf_arr_begin(&ids);
	for (int i = 0; i < s->nclaim_unsure; i++)
		sbuf_arr_int(&ids, s->claim_unsure[i]);
	sbuf_arr_end(&ids);
	const char *params[] = {s->cfg->instance, ids.buf};
	struct errbuf err;
	/* Never handed to a connection: the attempt does not count (as at a
	 * clean stop, store_session_release_claims). */
	PGresult *r = pg_query(s->pg,
	                       "WITH q AS (UPDATE smspool.queue SET due_at = now(), claimed_by = NULL "
	                       "WHERE message_id = ANY ($2::bigint[]) AND claimed_by = $1 RETURNING message_id) "
	                       "UPDATE smspool.outbox o SET status = 'queued', attempts = greatest(o.attempts - 1, 0) "
	                       "FROM q WHERE o.id = q.message_id AND o.status = 'sending'",
	                       2, params, &err);
	sbuf_free(&ids);
	if (!r) {
		if (store_session_lost(s))
			return -1;
		log_warn("store_submit_claim_release_failed", "messages=%d error=\"%s\"", s->nclaim_unsure, err.msg);
	} else {
		log_info("store_submit_claim_released", "messages=%d committed=%s", s->nclaim_unsure, PQcmdTuples(r));
		PQclear(r);
	}
	free(s->claim_unsure);
	s->claim_unsure = NULL;
	s->nclaim_unsure = 0;
	return 0;
}

/* Writes the submissions of one account (the first pending one's) in one
 * statement; answers each.  Returns -1 on a lost connection. */
static int do_submit_account(struct store *s)
{
	const char *account = s->sub_head->account;
	struct submission *batch[WRITE_MAX];
	int n = 0;
	struct submission **pp = &s->sub_head;
	while (*pp && n < WRITE_MAX) {
		struct submission *sub = *pp;
		if (strcmp(sub->account, account) == 0) {
			*pp = sub->next;
			sub->next = NULL;
			batch[n++] = sub;
			s->sub_len--;
		} else {
			pp = &sub->next;
		}
	}
	s->sub_tail = &s->sub_head;
	while (*s->sub_tail)
		s->sub_tail = &(*s->sub_tail)->next;

	store_arrays_reset(s, 16);
	bool report_on = false;    /* only then the 16-argument submit() */
	bool client_parts = false; /* only then the 17-argument one */
	bool claim_now = false;    /* submit_claim(), within the loop's room */
	for (int i = 0; i < n; i++) {
		struct submission *sub = batch[i];
		claim_now = claim_now || sub->claim_now;
		char ts1[40], ts2[40];
		if (sub->send_after_s)
			format_ts(sub->send_after_s, ts1, sizeof ts1);
		if (sub->valid_until_s)
			format_ts(sub->valid_until_s, ts2, sizeof ts2);
		sbuf_arr_text(&s->a[0], sub->recipient);
		sbuf_arr_text(&s->a[1], sub->sender);
		sbuf_arr_text(&s->a[2], sub->body);
		sbuf_arr_text(&s->a[3], sub->payload);
		sbuf_arr_text(&s->a[4], sub->udh);
		sbuf_arr_text(&s->a[5], sub->encoding ? sub->encoding : "auto");
		sbuf_arr_text(&s->a[6], sub->client_ref);
		sbuf_arr_int(&s->a[7], sub->priority);
		sbuf_arr_text(&s->a[8], sub->want_report ? "t" : "f");
		sbuf_arr_text(&s->a[9], sub->flash ? "t" : "f");
		if (sub->msg_class >= 0)
			sbuf_arr_int(&s->a[10], sub->msg_class);
		else
			sbuf_arr_text(&s->a[10], NULL);
		sbuf_arr_text(&s->a[11], sub->send_after_s ? ts1 : NULL);
		sbuf_arr_text(&s->a[12], sub->valid_until_s ? ts2 : NULL);
		sbuf_arr_text(&s->a[13], sub->idempotency_key);
		if (sub->want_report && sub->report_on > 0) {
			sbuf_arr_int(&s->a[14], sub->report_on);
			report_on = true;
		} else {
			sbuf_arr_text(&s->a[14], NULL);
		}
		if (sub->client_parts > 0) {
			sbuf_arr_int(&s->a[15], sub->client_parts);
			client_parts = true;
		} else {
			sbuf_arr_text(&s->a[15], NULL);
		}
	}
	store_arrays_end(s, 16);
	const char *params[17] = {account};
	for (int i = 0; i < 16; i++)
		params[i + 1] = s->a[i].buf;
	const char *stmt = client_parts ? "submit_cp" : report_on ? "submit_ro" : "submit";
	PGresult *r = claim_now && s->claim_room > 0 && s->has_submit_claim && s->claim_conns && !s->stopping
	                  ? submit_claim(s, params)
	                  : PQexecPrepared(s->pg, stmt,
	                                   client_parts ? 17
	                                   : report_on  ? 16
	                                                : 15,
	                                   params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		struct errbuf err;
		pg_result_error(r, s->pg, &err);
		/* A statement that failed as a whole refuses its one submission
		 * for the reason the error names (submit() answers the rules of
		 * each row itself; this is a rule it does not catch); a batch,
		 * or any other error, is told to try again. */
		struct submit_result one;
		submit_refusal_of_pg(&one, r);
		if (n != 1 || one.error != SUBMIT_INVALID)
			one = (struct submit_result){.error = SUBMIT_TEMPORARY, .text = "database unavailable"};
		else
			one.text = err.msg;
		PQclear(r);
		bool lost = store_session_lost(s);
		/* Whether a lost statement committed is unknown: the client is told
		 * to try again (at-least-once, as everywhere). */
		log_error("store_submit_failed", "account=%s messages=%d error=\"%s\"", account, n, err.msg);
		for (int i = 0; i < n; i++) {
			submit_answer_result(
			    s, batch[i],
			    lost ? &(struct submit_result){.error = SUBMIT_TEMPORARY, .text = "database unavailable"}
			         : &one);
			submission_free(batch[i]);
		}
		return lost ? -1 : 0;
	}
	bool *answered = xcalloc((size_t)n, sizeof *answered);
	for (int row = 0; row < PQntuples(r); row++) {
		int idx = atoi(PQgetvalue(r, row, 0)) - 1;
		if (idx < 0 || idx >= n || answered[idx])
			continue;
		answered[idx] = true;
		const char *col[7];
		for (int k = 1; k < 7; k++)
			col[k] = PQgetisnull(r, row, k) ? NULL : PQgetvalue(r, row, k);
		struct submit_result res;
		submit_refusal_of_row(&res, col[1], col[2], col[3] ? col[3] : col[2], col[4], col[5], col[6]);
		if (res.error == SUBMIT_OK && res.message_id <= 0)
			res = (struct submit_result){.error = SUBMIT_TEMPORARY, .text = "no id from the database"};
		submit_answer_result(s, batch[idx], &res);
	}
	PQclear(r);
	log_debug("store_submitted", "account=%s messages=%d", account, n);
	for (int i = 0; i < n; i++) {
		if (!answered[i])
			submit_answer(s, batch[i], SUBMIT_TEMPORARY, "no answer from the database");
		submission_free(batch[i]); /* account points into batch[0]: not used after this */
	}
	free(answered);
	return 0;
}

static int do_events_done(struct store *s)
{
	store_arrays_reset(s, 2);
	int n = 0;
	for (struct store_event_done *d = s->done_head; d; d = d->next, n++) {
		sbuf_arr_int(&s->a[0], d->id);
		sbuf_arr_text(&s->a[1], d->delivered ? "t" : "f");
	}
	store_arrays_end(s, 2);
	const char *params[] = {s->a[0].buf, s->a[1].buf};
	PGresult *r = PQexecPrepared(s->pg, "events_done", 2, params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	if (!ok && store_session_lost(s))
		return -1;
	if (!ok)
		log_error("store_events_done_failed", "events=%d (they return when their lease ends)", n);
	while (s->done_head) {
		struct store_event_done *d = s->done_head;
		s->done_head = d->next;
		free(d);
	}
	return 0;
}

static char *opt_dup(PGresult *r, int row, const char *col)
{
	return pg_field_dup(r, row, PQfnumber(r, col));
}

static int64_t opt_epoch(PGresult *r, int row, const char *col)
{
	int c = PQfnumber(r, col);
	return c >= 0 && !PQgetisnull(r, row, c) ? pg_epoch_parse(PQgetvalue(r, row, c)) : 0;
}

/* How many account events the loop has room for now (0: none, or no account). */
int64_t store_server_events_room(const struct store *s)
{
	const struct store_accounts *a = s->accounts;
	if (!a || a->n == 0)
		return 0;
	int64_t room = (int64_t)a->want - (int64_t)(s->events_claimed_total - a->claims_seen);
	return room > 0 ? room : 0;
}

static int claim_events(struct store *s)
{
	struct store_accounts *a = s->accounts;
	int64_t room = store_server_events_room(s);
	if (room <= 0)
		return 0;
	if (room > EVENTS_MAX)
		room = EVENTS_MAX;
	store_arrays_reset(s, 1);
	for (int i = 0; i < a->n; i++)
		sbuf_arr_text(&s->a[0], a->names[i]);
	store_arrays_end(s, 1);
	char limit[16];
	snprintf(limit, sizeof limit, "%d", (int)room);
	const char *params[] = {s->cfg->instance, s->a[0].buf, limit};
	PGresult *r = PQexecPrepared(s->pg, "events_claim", 3, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		struct errbuf err;
		pg_result_error(r, s->pg, &err);
		PQclear(r);
		s->wake_events = false;
		if (store_session_lost(s))
			return -1;
		log_error("store_events_claim_failed", "error=\"%s\"", err.msg);
		return 0;
	}
	struct account_event *head = NULL, **tail = &head;
	int n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		struct account_event *e = xcalloc(1, sizeof *e);
		e->id = strtoll(PQgetvalue(r, i, PQfnumber(r, "id")), NULL, 10);
		e->account = opt_dup(r, i, "account");
		char *kind = opt_dup(r, i, "kind");
		e->kind = kind && strcmp(kind, "inbound") == 0 ? ACCOUNT_EVENT_INBOUND : ACCOUNT_EVENT_REPORT;
		free(kind);
		char *mid = opt_dup(r, i, "message_id");
		e->message_id = mid ? strtoll(mid, NULL, 10) : 0;
		free(mid);
		e->client_ref = opt_dup(r, i, "client_ref");
		char *cp = opt_dup(r, i, "client_parts");
		e->client_parts = cp ? atoi(cp) : 0;
		free(cp);
		e->state = opt_dup(r, i, "state");
		e->error_code = opt_dup(r, i, "error_code");
		e->part_status = opt_dup(r, i, "part_status");
		e->idempotency_key = opt_dup(r, i, "idempotency_key");
		e->submitted_s = opt_epoch(r, i, "submitted_at");
		e->done_s = opt_epoch(r, i, "done_at");
		e->sender = opt_dup(r, i, "sender");
		e->recipient = opt_dup(r, i, "recipient");
		e->body = opt_dup(r, i, "body");
		e->payload = opt_dup(r, i, "payload");
		e->udh = opt_dup(r, i, "udh");
		e->encoding = opt_dup(r, i, "encoding");
		*tail = e;
		tail = &e->next;
	}
	PQclear(r);
	s->events_claimed_total += (uint64_t)n;
	if (head)
		chan_put(s->out, TO_LOOP_EVENTS, head);
	s->wake_events = n == room;
	return 0;
}

/* While the database is away, clients waiting on a bind or a submit are
 * told at once to try again rather than left hanging. */
void store_server_fail_requests(struct store *s)
{
	while (s->auth_head) {
		struct store_auth *a = s->auth_head;
		s->auth_head = a->next;
		auth_answer(s, a, NULL, "database unavailable");
		store_auth_free(a);
	}
	while (s->sub_head) {
		struct submission *sub = s->sub_head;
		s->sub_head = sub->next;
		submit_answer(s, sub, SUBMIT_TEMPORARY, "database unavailable");
		submission_free(sub);
	}
	s->sub_tail = &s->sub_head;
	s->sub_len = 0;
	store_server_room_back(s);
	if (s->query_head) {
		chan_put(s->out, TO_LOOP_QUERIED, s->query_head);
		s->query_head = NULL;
	}
}

static int64_t opt_int(PGresult *r, int row, const char *col)
{
	int c = PQfnumber(r, col);
	return c >= 0 && !PQgetisnull(r, row, c) ? strtoll(PQgetvalue(r, row, c), NULL, 10) : 0;
}

/* Answers every pending question, one statement each (they are rare). */
static int do_queries(struct store *s)
{
	struct store_query *answered = NULL;
	while (s->query_head) {
		struct store_query *q = s->query_head;
		char id[24];
		snprintf(id, sizeof id, "%" PRId64, q->message_id);
		const char *params[] = {id, q->account};
		PGresult *r = PQexecPrepared(s->pg, "query", 2, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			PQclear(r);
			if (store_session_lost(s))
				break;
		} else {
			if (PQntuples(r) == 1) {
				struct message_status *st = xcalloc(1, sizeof *st);
				st->id = opt_int(r, 0, "id");
				st->status = opt_dup(r, 0, "status");
				st->recipient = opt_dup(r, 0, "recipient");
				st->sender = opt_dup(r, 0, "sender");
				st->client_ref = opt_dup(r, 0, "client_ref");
				st->connection_used = opt_dup(r, 0, "connection_used");
				st->parts = (int)opt_int(r, 0, "parts");
				st->error_class = opt_dup(r, 0, "error_class");
				st->error_code = opt_dup(r, 0, "error_code");
				st->error_text = opt_dup(r, 0, "error_text");
				st->created_s = opt_int(r, 0, "created_s");
				st->sent_s = opt_int(r, 0, "sent_s");
				st->done_s = opt_int(r, 0, "done_s");
				q->answer = st;
			}
			PQclear(r);
		}
		s->query_head = q->next;
		q->next = answered;
		answered = q;
	}
	if (answered)
		chan_put(s->out, TO_LOOP_QUERIED, answered);
	return s->query_head ? -1 : 0;
}

int store_server_work(struct store *s, uint64_t now)
{
	if (s->query_head && do_queries(s))
		return -1;
	if (s->auth_head && store_server_auth(s))
		return -1;
	if (store_server_release_unsure(s))
		return -1;
	while (s->sub_head)
		if (do_submit_account(s))
			return -1;
	store_server_room_back(s);
	if (s->done_head && do_events_done(s))
		return -1;
	if (s->accounts && !s->stopping && (s->wake_events || now >= s->next_event_poll_ms)) {
		s->next_event_poll_ms = now + POLL_MS;
		if (claim_events(s))
			return -1;
	}
	return 0;
}
