/* claimer: see claimer.h. */
#include "claimer.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/pg.h"
#include "db/pg_values.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "sbuf.h"
#include "store.h"
#include "util.h"

enum {
	CLAIM_MAX = 1000,        /* rows per claim statement */
	POLL_MS = 1000,          /* fallback poll when no NOTIFY comes */
	RECONNECT_MAX_MS = 5000, /* reconnect backoff ceiling */
	/* Busy: rows came within IDLE_AFTER_MS, claim again every
	 * BUSY_POLL_MS; producers do not NOTIFY meanwhile (see 021_part.sql). */
	BUSY_POLL_MS = 1,
	IDLE_AFTER_MS = 5,
	/* After the waiting flag is set: claim again as the transactions then
	 * in progress end, asked every INFLIGHT_POLL_MS, for INFLIGHT_MAX_MS. */
	INFLIGHT_POLL_MS = 2,
	INFLIGHT_MAX_MS = 1000,
};

struct claimer {
	pthread_t thread;
	const struct config *cfg;
	struct chan in;
	struct chan *out;
	PGconn *pg;
	struct claim_demand *demand;
	uint64_t claimed_total;
	bool wake; /* a NOTIFY or a full batch says: claim again now */
	bool stopping;
	bool waiting;          /* our row is in claimer_waiting: producers NOTIFY */
	uint64_t last_rows_ms; /* the last claim that returned rows */
	char *inflight;        /* xid8[] text: transactions that may hide rows */
	uint64_t inflight_check_ms, inflight_end_ms;
	uint64_t next_poll_ms;
	uint64_t reconnect_at_ms; /* after a connection that could not claim */
	/* Rows of a claim whose COMMIT went unanswered (the connection was
	 * lost): held back until a new connection says whether it committed. */
	struct msg_list unsure;
	struct sbuf conns;
};

void claim_demand_free(struct claim_demand *d)
{
	if (!d)
		return;
	for (int i = 0; i < d->nconns; i++)
		free(d->conns[i]);
	free(d->conns);
	free(d);
}

struct chan *claimer_chan(struct claimer *c)
{
	return &c->in;
}

/* Sets or clears our row in claimer_waiting.  A failure leaves the flag as
 * it was in the database as far as we know: the fallback poll still claims. */
static bool set_waiting(struct claimer *c, bool waiting)
{
	if (c->waiting == waiting)
		return true;
	const char *params[] = {c->cfg->instance, waiting ? "t" : "f"};
	PGresult *r = PQexecPrepared(c->pg, "wait", 2, params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (ok) {
		c->waiting = waiting;
		log_debug("store_claimer_waiting", "waiting=%d", waiting);
	} else {
		struct errbuf err;
		pg_result_error(r, c->pg, &err);
		log_warn("store_claimer_wait_failed", "waiting=%d error=\"%s\"", waiting, err.msg);
	}
	PQclear(r);
	return ok;
}

/* in_flight(NULL): the transactions in progress now; in_flight(xids): those
 * still in progress.  Returns a malloc'd xid8[] text, NULL on error. */
static char *in_flight(struct claimer *c, const char *xids)
{
	const char *params[] = {xids};
	PGresult *r = PQexecPrepared(c->pg, "in_flight", 1, params, NULL, NULL, 0);
	char *out = NULL;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		out = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return out;
}

/* Going to sleep: set the flag, so that producers NOTIFY from now on; the
 * transactions in progress now may have read it unset and commit rows after
 * our last claim: claim once more now, and again as they end. */
static void go_waiting(struct claimer *c, uint64_t now)
{
	if (!set_waiting(c, true))
		return;
	free(c->inflight);
	c->inflight = in_flight(c, NULL);
	if (c->inflight && strcmp(c->inflight, "{}") == 0) {
		free(c->inflight);
		c->inflight = NULL;
	}
	c->inflight_check_ms = now + INFLIGHT_POLL_MS;
	c->inflight_end_ms = now + INFLIGHT_MAX_MS;
	c->wake = true;
}

/* While transactions that began before the flag was set run: when some of
 * them have ended, claim again. */
static void check_in_flight(struct claimer *c, uint64_t now)
{
	if (!c->inflight || now < c->inflight_check_ms)
		return;
	char *left = in_flight(c, c->inflight);
	if (!left || strcmp(left, c->inflight) != 0)
		c->wake = true;
	free(c->inflight);
	c->inflight = left;
	if (c->inflight && (strcmp(c->inflight, "{}") == 0 || now >= c->inflight_end_ms)) {
		free(c->inflight);
		c->inflight = NULL;
	}
	c->inflight_check_ms = now + INFLIGHT_POLL_MS;
}

static int claimer_connect(struct claimer *c, struct errbuf *err)
{
	PGconn *pg = pg_connect(c->cfg->database, "smspool-claim", err);
	if (!pg)
		return -1;
	if (pg_daemon_session(pg, err)) {
		PQfinish(pg);
		return -1;
	}
	static const char *const stmts[][2] = {
	    {"claim", "SELECT * FROM smspool.claim($1, $2::text[], $3)"},
	    {"wait", "SELECT smspool.claimer_wait($1, $2)"},
	    {"in_flight", "SELECT smspool.claimer_in_flight($1::xid8[])::text"},
	};
	bool ok = true;
	for (size_t i = 0; ok && i < sizeof stmts / sizeof stmts[0]; i++) {
		PGresult *r = PQprepare(pg, stmts[i][0], stmts[i][1], 0, NULL);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			pg_result_error(r, pg, err);
		PQclear(r);
	}
	if (ok && pg_exec(pg, "LISTEN smspool_outbox", err))
		ok = false;
	if (!ok) {
		PQfinish(pg);
		return -1;
	}
	c->pg = pg;
	c->wake = true; /* rows may have come while we were away */
	/* a row left by our previous run (killed while waiting) goes; we are
	 * busy until a few claims come back empty */
	c->waiting = true;
	set_waiting(c, false);
	c->last_rows_ms = now_mono_ms();
	free(c->inflight);
	c->inflight = NULL;
	return 0;
}

static void take_items(struct claimer *c)
{
	for (struct chan_item *it = chan_take_all(&c->in), *next; it; it = next) {
		next = it->next;
		if (it->kind == TO_CLAIMER_DEMAND) {
			claim_demand_free(c->demand);
			c->demand = it->ptr;
		} else if (it->kind == TO_CLAIMER_STOP) {
			c->stopping = true;
		}
		free(it);
	}
}

static int claim_room(struct claimer *c)
{
	if (!c->demand || c->stopping)
		return 0;
	int64_t room = (int64_t)c->demand->want - (int64_t)(c->claimed_total - c->demand->claims_seen);
	if (room <= 0 || c->demand->nconns == 0)
		return 0;
	return room > CLAIM_MAX ? CLAIM_MAX : (int)room;
}

void claim_rows_to_msgs(PGresult *r, struct msg_list *list)
{
	int n = PQntuples(r);
	int c_idx = PQfnumber(r, "idx"); /* submit_claim(): its answers have idx set */
	int c_id = PQfnumber(r, "id"), c_rcpt = PQfnumber(r, "recipient"), c_snd = PQfnumber(r, "sender"),
	    c_body = PQfnumber(r, "body"), c_pay = PQfnumber(r, "payload"), c_udh = PQfnumber(r, "udh"),
	    c_enc = PQfnumber(r, "encoding"), c_prio = PQfnumber(r, "priority"), c_rep = PQfnumber(r, "want_report"),
	    c_flash = PQfnumber(r, "flash"), c_cls = PQfnumber(r, "msg_class"), c_valid = PQfnumber(r, "valid_until"),
	    c_ref = PQfnumber(r, "client_ref"), c_att = PQfnumber(r, "attempts"), c_conn = PQfnumber(r, "connection"),
	    c_rc = PQfnumber(r, "route_connections"), c_rp = PQfnumber(r, "route_positions"),
	    c_rw = PQfnumber(r, "route_weights"), c_held = PQfnumber(r, "remote_ids"),
	    c_hconn = PQfnumber(r, "connection_used");
	for (int i = 0; i < n; i++) {
		if (c_idx >= 0 && !PQgetisnull(r, i, c_idx))
			continue;
		struct msg *m = xcalloc(1, sizeof *m);
		m->id = strtoll(PQgetvalue(r, i, c_id), NULL, 10);
		m->recipient = pg_field_dup(r, i, c_rcpt);
		m->sender = pg_field_dup(r, i, c_snd);
		m->body = pg_field_dup(r, i, c_body);
		m->payload = pg_field_dup(r, i, c_pay);
		m->udh = pg_field_dup(r, i, c_udh);
		m->encoding = pg_field_dup(r, i, c_enc);
		m->client_ref = pg_field_dup(r, i, c_ref);
		m->forced_conn = pg_field_dup(r, i, c_conn);
		m->held_ids = pg_field_dup(r, i, c_held);
		m->held_conn = pg_field_dup(r, i, c_hconn);
		m->priority = c_prio >= 0 ? atoi(PQgetvalue(r, i, c_prio)) : 0;
		m->want_report = c_rep >= 0 && PQgetvalue(r, i, c_rep)[0] == 't';
		m->flash = c_flash >= 0 && PQgetvalue(r, i, c_flash)[0] == 't';
		m->msg_class = c_cls >= 0 && !PQgetisnull(r, i, c_cls) ? atoi(PQgetvalue(r, i, c_cls)) : -1;
		m->valid_until_s =
		    c_valid >= 0 && !PQgetisnull(r, i, c_valid) ? pg_epoch_parse(PQgetvalue(r, i, c_valid)) : 0;
		m->attempts = c_att >= 0 ? atoi(PQgetvalue(r, i, c_att)) : 1;
		m->retry_after_s = -1;
		if (!m->encoding)
			m->encoding = xstrdup("auto");
		char **conn_v = NULL, **pos_v = NULL, **w_v = NULL;
		int nc = c_rc >= 0 && !PQgetisnull(r, i, c_rc) ? pg_array_parse(PQgetvalue(r, i, c_rc), &conn_v) : 0;
		int np = c_rp >= 0 && !PQgetisnull(r, i, c_rp) ? pg_array_parse(PQgetvalue(r, i, c_rp), &pos_v) : 0;
		int nw = c_rw >= 0 && !PQgetisnull(r, i, c_rw) ? pg_array_parse(PQgetvalue(r, i, c_rw), &w_v) : 0;
		if (nc) {
			m->route = xcalloc((size_t)nc, sizeof *m->route);
			for (int k = 0; k < nc; k++) {
				m->route[k].conn = conn_v[k];
				conn_v[k] = NULL;
				m->route[k].position = k < np ? atoi(pos_v[k]) : 0;
				m->route[k].weight = k < nw ? atoi(w_v[k]) : 1;
			}
			m->nroute = nc;
		}
		pg_strv_free(conn_v, nc);
		pg_strv_free(pos_v, np);
		pg_strv_free(w_v, nw);
		msg_list_push(list, m);
	}
}

/* BEGIN and the claim in one round trip (a pipeline; the COMMIT still waits
 * for the rows, see claim()): while single rows arrive the claimer claims
 * every millisecond, and each round trip waits for the backend to be
 * scheduled on a busy machine.  Returns the claim's result, or the first
 * failure (BEGIN's; NULL when nothing came back: a lost connection). */
static PGresult *begin_claim(PGconn *pg, const char *const params[3])
{
	if (!PQenterPipelineMode(pg))
		return NULL;
	PGresult *out = NULL;
	if (PQsendQueryParams(pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) &&
	    PQsendQueryPrepared(pg, "claim", 3, params, NULL, NULL, 0) && PQpipelineSync(pg)) {
		/* BEGIN's result, the claim's (each followed by a NULL), the sync */
		for (int nulls = 0; nulls <= 2;) {
			PGresult *r = PQgetResult(pg);
			if (!r) {
				if (PQstatus(pg) != CONNECTION_OK)
					break;
				nulls++;
				continue;
			}
			ExecStatusType st = PQresultStatus(r);
			if (st == PGRES_PIPELINE_SYNC) {
				PQclear(r);
				break;
			}
			if (!out && st != PGRES_COMMAND_OK)
				out = r;
			else
				PQclear(r);
		}
	}
	PQexitPipelineMode(pg);
	return out;
}

/* Claims up to want rows and hands them to the loop.  Returns how many, or
 * -1 on a lost connection. */
static int claim(struct claimer *c, int want)
{
	struct claim_demand *d = c->demand;
	sbuf_reset(&c->conns);
	sbuf_arr_begin(&c->conns);
	for (int i = 0; i < d->nconns; i++)
		sbuf_arr_text(&c->conns, d->conns[i]);
	sbuf_arr_end(&c->conns);
	char limit[16];
	snprintf(limit, sizeof limit, "%d", want);
	const char *params[] = {c->cfg->instance, c->conns.buf, limit};
	uint64_t t0 = now_mono_ms(), t0_ns = metrics_now_ns();
	/* The claim commits only once its rows are here (a transaction of its
	 * own): a connection lost while the claim runs or its rows travel (a
	 * server restart) rolls it back.  In autocommit such a claim could
	 * commit unseen, and renew_leases would keep its rows "sending" for
	 * this daemon's whole life (e2e 91).  A COMMIT whose answer is lost may
	 * have committed or not: its rows wait until the next connection tells
	 * (confirm_unsure), then those it committed are handed on, never kept
	 * back, and the others, still queued, are left to a later claim. */
	PGresult *r = begin_claim(c->pg, params);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		struct errbuf err;
		pg_result_error(r, c->pg, &err);
		/* A read-only server (a standby after a failover): a new
		 * connection may reach the primary. */
		bool reconnect = pg_error_kind(r, c->pg) == PG_ERR_RECONNECT;
		PQclear(r);
		if (reconnect)
			return -1;
		PQclear(PQexec(c->pg, "ROLLBACK"));
		/* Wait for the next poll: a broken claim must not spin. */
		c->wake = false;
		log_error("store_claim_failed", "error=\"%s\"", err.msg);
		return 0;
	}
	struct msg_list list = {0};
	claim_rows_to_msgs(r, &list);
	PQclear(r);
	r = PQexec(c->pg, "COMMIT");
	bool committed = PQresultStatus(r) == PGRES_COMMAND_OK;
	bool lost = !committed && PQstatus(c->pg) != CONNECTION_OK;
	if (!committed && !lost) {
		/* refused at commit, connection alive: rolled back, nothing held */
		struct errbuf err;
		pg_result_error(r, c->pg, &err);
		PQclear(r);
		for (struct msg *m; (m = msg_list_pop(&list));)
			msg_free(m);
		c->wake = false;
		log_error("store_claim_failed", "error=\"%s\"", err.msg);
		return 0;
	}
	PQclear(r);
	if (lost) {
		/* It may have committed or not (a server that ends the session
		 * while the claim waits for its COMMIT rolls it back: a failover,
		 * e2e 51).  Sending rows whose claim did not commit would send
		 * them twice once they are claimed again: the next connection
		 * asks first (confirm_unsure). */
		log_warn("store_claim_commit_unknown", "messages=%d", list.len);
		msg_list_concat(&c->unsure, &list);
		return -1;
	}
	int n = list.len;
	metrics_stmt(METRICS_STMT_CLAIM, t0_ns, n);
	if (n) {
		struct msg_list *out = xmalloc(sizeof *out);
		*out = list;
		c->claimed_total += (uint64_t)n;
		chan_put(c->out, TO_LOOP_CLAIMED, out);
		log_debug("store_claimed", "messages=%d want=%d ms=%" PRIu64, n, want, now_mono_ms() - t0);
	}
	c->wake = n == want; /* a full batch: there may be more right now */
	return n;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* On a new connection, before any claim: of the rows of a claim whose
 * COMMIT went unanswered, those this instance holds (sending, claimed by
 * us) were claimed by it: no other claim of ours can hold them, since a
 * claim never returns a row we hold and none ran since.  They go to the
 * loop.  The others were not claimed (rolled back, or the server that
 * committed it is gone and its successor never saw it): they are still
 * queued, for a later claim, and are dropped here.  Returns 0, or -1 when
 * the question could not be asked (the rows wait for the next connection). */
static int confirm_unsure(struct claimer *c)
{
	struct sbuf ids;
	sbuf_init(&ids);
	sbuf_arr_begin(&ids);
	for (struct msg *m = c->unsure.head; m; m = m->next)
		sbuf_arr_int(&ids, m->id);
	sbuf_arr_end(&ids);
	const char *params[] = {ids.buf, c->cfg->instance};
	struct errbuf err;
	PGresult *r = pg_query(c->pg,
	                       "SELECT q.message_id FROM smspool.queue q "
	                       "JOIN smspool.outbox o ON o.id = q.message_id AND o.status = 'sending' "
	                       "WHERE q.message_id = ANY ($1::bigint[]) AND q.claimed_by = $2",
	                       2, params, &err);
	sbuf_free(&ids);
	if (!r) {
		log_warn("store_claim_confirm_failed", "messages=%d error=\"%s\"", c->unsure.len, err.msg);
		return -1;
	}
	int nc = PQntuples(r);
	int64_t *held = xcalloc((size_t)nc + 1, sizeof *held);
	for (int i = 0; i < nc; i++)
		held[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
	PQclear(r);
	qsort(held, (size_t)nc, sizeof *held, cmp_id);
	struct msg_list ok = {0};
	int dropped = 0;
	for (struct msg *m; (m = msg_list_pop(&c->unsure));) {
		int64_t id = m->id;
		if (bsearch(&id, held, (size_t)nc, sizeof *held, cmp_id)) {
			msg_list_push(&ok, m);
		} else {
			msg_free(m);
			dropped++;
		}
	}
	free(held);
	log_info("store_claim_confirmed", "committed=%d not_committed=%d", ok.len, dropped);
	if (ok.len) {
		struct msg_list *out = xmalloc(sizeof *out);
		*out = ok;
		c->claimed_total += (uint64_t)ok.len;
		chan_put(c->out, TO_LOOP_CLAIMED, out);
	}
	return 0;
}

static int read_notifies(struct claimer *c)
{
	if (!PQconsumeInput(c->pg))
		return -1;
	PGnotify *n;
	while ((n = PQnotifies(c->pg))) {
		c->wake = true;
		PQfreemem(n);
	}
	return 0;
}

static void disconnect(struct claimer *c, const char *why)
{
	log_warn("store_claim_connection_lost", "error=\"%s\"", why);
	PQfinish(c->pg);
	c->pg = NULL;
}

static void *claimer_main(void *arg)
{
	struct claimer *c = arg;
	uint64_t backoff = 100;
	for (;;) {
		take_items(c);
		if (c->stopping)
			break;
		if (!c->pg) {
			struct errbuf err;
			uint64_t t = now_mono_ms();
			if (t < c->reconnect_at_ms) { /* the last connection was refused work: wait */
				struct pollfd p = {.fd = chan_fd(&c->in), .events = POLLIN};
				poll(&p, 1, (int)(c->reconnect_at_ms - t));
				continue;
			}
			if (claimer_connect(c, &err) == 0) {
				c->reconnect_at_ms = 0;
				if (backoff != 100 || c->claimed_total)
					metrics_db_reconnect();
			} else {
				log_warn("store_claim_reconnect_failed", "retry_ms=%" PRIu64 " error=\"%s\"", backoff,
				         err.msg);
				struct pollfd p = {.fd = chan_fd(&c->in), .events = POLLIN};
				poll(&p, 1, (int)backoff);
				backoff = backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff * 2;
				continue;
			}
		}
		if (c->unsure.len && confirm_unsure(c)) {
			disconnect(c, PQerrorMessage(c->pg));
			c->reconnect_at_ms = now_mono_ms() + backoff;
			backoff = backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff * 2;
			continue;
		}
		uint64_t now = now_mono_ms();
		int room = claim_room(c);
		if (room > 0 && (c->wake || now >= c->next_poll_ms)) {
			int n = claim(c, room);
			if (n < 0) {
				/* Connected, yet of no use (a read-only server): the
				 * next connection waits, doubling up to 5 s. */
				disconnect(c, PQerrorMessage(c->pg));
				c->reconnect_at_ms = now_mono_ms() + backoff;
				backoff = backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff * 2;
				continue;
			}
			backoff = 100;
			now = now_mono_ms();
			if (n > 0) {
				c->last_rows_ms = now;
				set_waiting(c, false);
			} else if (!c->waiting && now - c->last_rows_ms >= IDLE_AFTER_MS) {
				go_waiting(c, now);
			}
			c->next_poll_ms = now + (c->waiting ? POLL_MS : BUSY_POLL_MS);
		}
		check_in_flight(c, now_mono_ms());
		if (read_notifies(c)) {
			disconnect(c, PQerrorMessage(c->pg));
			continue;
		}
		int timeout = POLL_MS;
		now = now_mono_ms();
		if (c->wake && claim_room(c) > 0)
			timeout = 0;
		else if (c->next_poll_ms > now && c->next_poll_ms - now < (uint64_t)timeout)
			timeout = (int)(c->next_poll_ms - now);
		if (c->inflight && timeout > 0)
			timeout = c->inflight_check_ms <= now                      ? 0
			          : c->inflight_check_ms - now < (uint64_t)timeout ? (int)(c->inflight_check_ms - now)
			                                                           : timeout;
		struct pollfd p[2] = {{.fd = chan_fd(&c->in), .events = POLLIN},
		                      {.fd = PQsocket(c->pg), .events = POLLIN}};
		if (timeout > 0 && poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
	}
	if (c->pg) {
		set_waiting(c, false); /* producers need not wake a daemon that is gone */
		PQfinish(c->pg);
	}
	c->pg = NULL;
	free(c->inflight);
	c->inflight = NULL;
	/* never handed on: if their claim committed, the stop's release gives
	 * them back (store_session_release_claims) */
	for (struct msg *m; (m = msg_list_pop(&c->unsure));)
		msg_free(m);
	chan_put(c->out, TO_LOOP_CLAIMER_STOPPED, NULL);
	return NULL;
}

struct claimer *claimer_start(const struct config *cfg, struct chan *to_loop)
{
	struct claimer *c = xcalloc(1, sizeof *c);
	c->cfg = cfg;
	c->out = to_loop;
	sbuf_init(&c->conns);
	chan_init(&c->in);
	if (pthread_create(&c->thread, NULL, claimer_main, c) != 0)
		abort();
	return c;
}

void claimer_join(struct claimer *c)
{
	pthread_join(c->thread, NULL);
	take_items(c);
	claim_demand_free(c->demand);
	sbuf_free(&c->conns);
	chan_destroy(&c->in);
	free(c);
}
