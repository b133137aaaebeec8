/* store: see store.h.  One thread, one libpq connection, linear code. */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/access_versions.h"
#include "db/pg.h"
#include "db/pg_values.h"
#include "driver.h"
#include "log.h"
#include "metrics.h"
#include "sbuf.h"
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

void store_config_free(struct store_config *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n; i++) {
		free(c->rows[i].name);
		free(c->rows[i].type);
		free(c->rows[i].settings);
		free(c->rows[i].redirect_to);
	}
	free(c->rows);
	free(c);
}

void store_leases_free(struct store_leases *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l);
}

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

struct chan *store_chan(struct store *s)
{
	return &s->in;
}

/* ---- connection ---- */

static const struct {
	const char *name, *sql;
} prepared[] = {
    {"write",
     "SELECT smspool.record_results($1, $2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], "
     "$8::text[], $9::int[]), (SELECT count(*) FROM smspool.record_reports($10::text[], $11::text[], $12::text[], "
     "$13::text[], $14::text[]))"},
    {"inbound", "SELECT smspool.record_inbound($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
                "$6::text[], $7::text[], $8::int[], $9::timestamptz[], $10::text[])"},
    {"config", "SELECT (to_jsonb(c) || jsonb_build_object('exclusive', smspool.connection_exclusive(c.type, "
               "c.exclusive), 'here', c.daemons IS NULL OR $1 = ANY (c.daemons)))::text "
               "FROM smspool.connections c ORDER BY name"},
    {"hold", "SELECT name FROM smspool.hold_connections($1, make_interval(secs => $2::float8 / 1000))"},
    {"config_hold", "SELECT coalesce(smspool.config_int('no_route_hold_s'), 10), "
                    "coalesce(smspool.config_int('lease_s'), 60)"},
    {"renew", "SELECT smspool.renew_leases($1)"},
    {"rematch", "SELECT smspool.rematch_reports()"},
    {"maintain", "SELECT smspool.maintain($1)"},
    {"heartbeat", "INSERT INTO smspool.daemons (instance, pid, host, started_at, heartbeat_at) "
                  "VALUES ($1, $2, $3, now(), now()) ON CONFLICT (instance) DO UPDATE "
                  "SET pid = EXCLUDED.pid, host = EXCLUDED.host, heartbeat_at = now()"},
    {"conn_state", "INSERT INTO smspool.connection_state (name, instance, state, detail, since, updated_at) "
                   "VALUES ($1, $2, $3, $4, now(), now()) ON CONFLICT (name, instance) DO UPDATE "
                   "SET state = EXCLUDED.state, detail = EXCLUDED.detail, updated_at = now(), "
                   "since = CASE WHEN smspool.connection_state.state = EXCLUDED.state "
                   "THEN smspool.connection_state.since ELSE now() END"},
};

/* The server side's statements: prepared when the schema has them (a
 * database without accounts still runs every client-side connection). */
static const struct {
	const char *name, *sql;
} prepared_server[] = {
    {"auth", "SELECT ok, reason, max_binds, throughput FROM smspool.account_auth($1, $2, $3)"},
    {"auth_addr", "SELECT ok, reason, max_binds, throughput, system_id FROM smspool.account_auth_address($1)"},
    {"auth_cert", "SELECT ok, reason, max_binds, throughput FROM smspool.account_auth_cert($1, $2)"},
    {"submit_ro", "SELECT idx, id, error_class, error FROM smspool.submit($1, $2::text[], $3::text[], $4::text[], "
                  "$5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::boolean[], $11::boolean[], "
                  "$12::int[], $13::timestamptz[], $14::timestamptz[], $15::text[], $16::int[])"},
    {"submit_cp", "SELECT idx, id, error_class, error FROM smspool.submit($1, $2::text[], $3::text[], $4::text[], "
                  "$5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::boolean[], $11::boolean[], "
                  "$12::int[], $13::timestamptz[], $14::timestamptz[], $15::text[], $16::int[], $17::int[])"},
    {"submit", "SELECT idx, id, error_class, error FROM smspool.submit($1, $2::text[], $3::text[], $4::text[], "
               "$5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::boolean[], $11::boolean[], "
               "$12::int[], $13::timestamptz[], $14::timestamptz[], $15::text[])"},
    {"events_claim", "SELECT * FROM smspool.account_events_claim($1, $2::text[], $3)"},
    {"events_done", "SELECT smspool.account_events_done($1::bigint[], $2::boolean[])"},
    {"query", "SELECT id, status, recipient, sender, client_ref, connection_used, parts, error_class, error_code, "
              "error_text, extract(epoch FROM created_at)::bigint AS created_s, "
              "extract(epoch FROM sent_at)::bigint AS sent_s, extract(epoch FROM done_at)::bigint AS done_s "
              "FROM smspool.outbox WHERE id = $1 AND account = $2"},
};

static void disconnect(struct store *s)
{
	if (s->pg)
		PQfinish(s->pg);
	s->pg = NULL;
}

static bool is_connection_error(struct store *s)
{
	return !s->pg || PQstatus(s->pg) != CONNECTION_OK;
}

/* Gives back every message still claimed under this instance name: at
 * start (a predecessor died holding them) and at a clean stop (claimed, but
 * never handed to a connection). */
static int release_claims(PGconn *pg, const char *instance, bool never_sent, const char *event, struct errbuf *err)
{
	/* At a clean stop the messages were never handed to a connection: their
	 * attempt does not count.  At start, a dead predecessor may have sent
	 * them: the attempt stays counted. */
	const char *p1[] = {instance, never_sent ? "1" : "0"};
	PGresult *r =
	    pg_query(pg,
	             "WITH q AS (UPDATE smspool.queue SET due_at = now(), claimed_by = NULL "
	             "WHERE claimed_by = $1 RETURNING message_id) "
	             "UPDATE smspool.outbox o SET status = 'queued', attempts = greatest(o.attempts - $2::int, 0) "
	             "FROM q WHERE o.id = q.message_id AND o.status = 'sending'",
	             2, p1, err);
	if (!r)
		return -1;
	if (atoi(PQcmdTuples(r)) > 0)
		log_info(event, "instance=%s messages=%s", instance, PQcmdTuples(r));
	PQclear(r);
	r = pg_query(pg, "SELECT to_regproc('smspool.account_events_release') IS NOT NULL", 0, NULL, err);
	if (!r)
		return -1;
	bool has_events = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!has_events)
		return 0;
	r = pg_query(pg, "SELECT smspool.account_events_release($1)", 1, p1, err);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

static int prepare_all(PGconn *pg, struct errbuf *err);

static void revoke_missed(void *arg, const char *account)
{
	struct store *s = arg;
	char q[80];
	log_info("store_revocation_missed", "account=%s", log_quote(account, q, sizeof q));
	chan_put(s->out, TO_LOOP_REVOKED, xstrdup(account));
}

/* Reads every account's access version on a session that already LISTENs
 * (a later change comes as a NOTIFY); after a reconnect, the accounts whose
 * version changed, or that are gone, since the last read are revoked: their
 * NOTIFY came while nobody listened.  A schema without access_version (an
 * older database) only loses this catch-up. */
static void forget_heard(struct store *s)
{
	for (int i = 0; i < s->nheard; i++)
		free(s->heard[i]);
	free(s->heard);
	s->heard = NULL;
	s->nheard = 0;
	s->heard_all = false;
}

static int resync_revocations(struct store *s, PGconn *pg, bool reconnect, struct errbuf *err)
{
	struct errbuf e;
	struct access_versions *cur = access_versions_load(pg, &e);
	if (!cur) {
		if (PQstatus(pg) != CONNECTION_OK) {
			errbuf_set(err, "%s", e.msg);
			return -1;
		}
		log_warn("store_no_access_versions", "error=\"%s\"", e.msg);
		return 0;
	}
	if (reconnect && s->versions) {
		int n = access_versions_diff(s->versions, cur, revoke_missed, s);
		if (n)
			log_info("store_revocations_resynced", "accounts=%d", n);
	} else {
		/* connected: what was heard is revoked; a change whose NOTIFY is
		 * still unread keeps its old version (the next reconnect sees it) */
		access_versions_keep(cur, s->versions, s->heard, s->nheard, s->heard_all);
	}
	access_versions_free(s->versions);
	s->versions = cur;
	forget_heard(s);
	return 0;
}

/* How long a starting daemon waits for its instance lock (see below). */
#define INSTANCE_LOCK_WAIT_MS 10000

static int setup_session(struct store *s, PGconn *pg, bool first, struct errbuf *err)
{
	if (pg_daemon_session(pg, err))
		return -1;
	if (s->lane != 0)
		return prepare_all(pg, err);
	/* The instance lock: two live daemons must never share a name, since a
	 * restarted daemon takes back every claim made under its name. */
	const char *p1[] = {s->cfg->instance};
	/* A daemon that just died (SIGKILL, a crash restarted at once by
	 * systemd) may still hold it for a moment: its backend lets go only
	 * when it notices the closed socket (client_connection_check_interval,
	 * pg_daemon_session), so the lock is tried for a while first. */
	uint64_t give_up = now_mono_ms() + INSTANCE_LOCK_WAIT_MS;
	for (bool logged = false;;) {
		PGresult *r =
		    pg_query(pg, "SELECT pg_try_advisory_lock(hashtext('smspool.instance'), hashtext($1))", 1, p1, err);
		if (!r)
			return -1;
		bool locked = PQgetvalue(r, 0, 0)[0] == 't';
		PQclear(r);
		if (locked)
			break;
		if (now_mono_ms() >= give_up)
			return errbuf_set(err, "another daemon with instance name \"%s\" is running on this database",
			                  s->cfg->instance);
		if (!logged)
			log_info("store_instance_lock_wait", "instance=%s wait_ms=%d", s->cfg->instance,
			         INSTANCE_LOCK_WAIT_MS);
		logged = true;
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (pg_exec(pg, "LISTEN smspool_config; LISTEN smspool_account_events; LISTEN smspool_account_revoked", err))
		return -1;
	if (resync_revocations(s, pg, true, err))
		return -1;
	if (prepare_all(pg, err))
		return -1;
	if (first) {
		/* Whatever a dead predecessor of ours held is ours to send now. */
		if (release_claims(pg, s->cfg->instance, false, "store_reclaim", err))
			return -1;
	}
	return 0;
}

static int prepare_all(PGconn *pg, struct errbuf *err)
{
	PGresult *r;
	for (size_t i = 0; i < ARRAY_LEN(prepared); i++) {
		r = PQprepare(pg, prepared[i].name, prepared[i].sql, 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			pg_result_error(r, pg, err);
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	for (size_t i = 0; i < ARRAY_LEN(prepared_server); i++) {
		r = PQprepare(pg, prepared_server[i].name, prepared_server[i].sql, 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			struct errbuf perr;
			pg_result_error(r, pg, &perr);
			log_warn("store_no_server_side", "statement=%s error=\"%s\"", prepared_server[i].name,
			         perr.msg);
		}
		PQclear(r);
	}
	return 0;
}

static int store_connect(struct store *s, bool first, struct errbuf *err)
{
	char app[32] = "smspool";
	if (s->lane == STORE_LANE_AUTH)
		snprintf(app, sizeof app, "smspool-auth");
	else if (s->lane > 0)
		snprintf(app, sizeof app, "smspool-write%d", s->lane + 1);
	PGconn *pg = pg_connect(s->cfg->database, app, err);
	if (!pg)
		return -1;
	if (setup_session(s, pg, first, err)) {
		PQfinish(pg);
		return -1;
	}
	s->pg = pg;
	s->reload = s->lane == 0;
	return 0;
}

/* ---- configuration ---- */

static char *json_text_dup(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static int load_config(struct store *s, struct errbuf *err)
{
	const char *p1[] = {s->cfg->instance};
	PGresult *r = PQexecPrepared(s->pg, "config", 1, p1, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_result_error(r, s->pg, err);
		PQclear(r);
		return -1;
	}
	struct store_config *c = xcalloc(1, sizeof *c);
	c->rows = xcalloc((size_t)PQntuples(r) + 1, sizeof *c->rows);
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *o = json_loads(PQgetvalue(r, i, 0), 0, NULL);
		if (!o)
			continue;
		struct store_conn_row *row = &c->rows[c->n++];
		row->name = json_text_dup(o, "name");
		row->type = json_text_dup(o, "type");
		row->enabled = json_is_true(json_object_get(o, "enabled"));
		row->exclusive = json_is_true(json_object_get(o, "exclusive"));
		row->here = json_is_true(json_object_get(o, "here"));
		row->redirect_to = json_text_dup(o, "redirect_to");
		json_t *set = json_object_get(o, "settings");
		row->settings = json_dumps(set ? set : json_object(), JSON_COMPACT | JSON_SORT_KEYS);
		json_t *tp = json_object_get(o, "throughput");
		row->throughput = json_is_number(tp) ? json_number_value(tp) : 0;
		json_t *w = json_object_get(o, "window");
		row->window = json_is_integer(w) ? (int)json_integer_value(w) : 10;
		if (!row->name || !row->type) {
			free(row->name);
			free(row->type);
			free(row->redirect_to);
			free(row->settings);
			c->n--;
		}
		json_decref(o);
	}
	PQclear(r);
	c->no_route_hold_s = 10;
	r = PQexecPrepared(s->pg, "config_hold", 0, NULL, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		c->no_route_hold_s = atoi(PQgetvalue(r, 0, 0));
		s->lease_ms = (uint64_t)atoi(PQgetvalue(r, 0, 1)) * 1000;
	}
	PQclear(r);
	chan_put(s->out, TO_LOOP_CONFIG, c);
	s->next_hold_ms = 0; /* which exclusive connections are ours may have changed */
	return 0;
}

/* Renews and takes the leases of exclusive connections (022_ha.sql has the
 * reasoning).  With L = lease_s: renewed every L/6, the database's lease
 * lasts 2L/3 from the renewal, and the loop stops them L/2 after this call
 * was SENT unless a newer answer came: the holder is always stopped L/6
 * before anyone else may take them, and a dead holder's connections move
 * within L (2L/3 + L/6 + the time to open). */
static int hold_connections(struct store *s, uint64_t now)
{
	uint64_t l = s->lease_ms ? s->lease_ms : 60000;
	char lease[32];
	snprintf(lease, sizeof lease, "%" PRIu64, l * 2 / 3);
	const char *params[] = {s->cfg->instance, lease};
	PGresult *r = PQexecPrepared(s->pg, "hold", 2, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_warn("store_hold_failed", "error=\"%s\"", PQresultErrorMessage(r));
		/* a read-only server (a standby after a failover) as a lost connection */
		bool reconnect = pg_error_kind(r, s->pg) == PG_ERR_RECONNECT;
		PQclear(r);
		return reconnect || is_connection_error(s) ? -1 : 0;
	}
	struct store_leases *h = xcalloc(1, sizeof *h);
	h->names = xcalloc((size_t)PQntuples(r) + 1, sizeof *h->names);
	for (int i = 0; i < PQntuples(r); i++)
		h->names[h->n++] = xstrdup(PQgetvalue(r, i, 0));
	PQclear(r);
	h->deadline_ms = now + l / 2;
	h->margin_ms = l / 6;
	chan_put(s->out, TO_LOOP_LEASES, h);
	uint64_t every = l / 6;
	s->next_hold_ms = now + (every < 200 ? 200 : every);
	return 0;
}

/* ---- writing ---- */

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
static void send_acks_inbound(struct store *s, struct inbound *list, bool committed)
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
static void send_acks_reports(struct store *s, struct report *list, bool committed)
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

static void reset_arrays(struct store *s, int n)
{
	for (int i = 0; i < n; i++) {
		sbuf_reset(&s->a[i]);
		sbuf_arr_begin(&s->a[i]);
	}
}

static void end_arrays(struct store *s, int n)
{
	for (int i = 0; i < n; i++)
		sbuf_arr_end(&s->a[i]);
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
	reset_arrays(s, 4);
	for (struct msg *m = batch->head; m; m = m->next) {
		if (!m->redirected_from || !m->conn_used || m->outcome == MSG_RELEASE)
			continue;
		sbuf_arr_int(&s->a[0], m->id);
		sbuf_arr_text(&s->a[1], m->redirected_from);
		sbuf_arr_text(&s->a[2], m->conn_used);
		sbuf_arr_text(&s->a[3], msg_outcome_name(m->outcome));
	}
	end_arrays(s, 4);
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

static int write_results_reports(struct store *s)
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

	reset_arrays(s, 13);
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
	}
	for (struct report *r = reps; r; r = r->next) {
		sbuf_arr_text(&s->a[8], r->conn);
		sbuf_arr_text(&s->a[9], r->remote_id);
		sbuf_arr_text(&s->a[10], r->state);
		sbuf_arr_text(&s->a[11], r->error_code);
		sbuf_arr_text(&s->a[12], r->text);
	}
	end_arrays(s, 13);
	const char *params[14] = {s->cfg->instance};
	for (int i = 0; i < 13; i++)
		params[i + 1] = s->a[i].buf;
	uint64_t t0 = now_mono_ms(), t0_ns = metrics_now_ns();
	PGresult *r = PQexecPrepared(s->pg, "write", 14, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		PQclear(r);
		metrics_stmt(METRICS_STMT_WRITE, t0_ns, batch.len + nrep);
		s->write_backoff_ms = 0;
		if (s->write_limit && batch.len + nrep <= 1)
			s->write_limit = 0; /* the refused row is behind us */
		log_debug("store_written", "results=%d reports=%d ms=%" PRIu64, batch.len, nrep, now_mono_ms() - t0);
		write_redirected(s, &batch);
		settle(s, &batch);
		send_acks_reports(s, reps, true);
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
	send_acks_reports(s, reps, false);
	return 0;
}

static int write_inbound(struct store *s)
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

	reset_arrays(s, 10);
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
	end_arrays(s, 10);
	const char *params[10];
	for (int i = 0; i < 10; i++)
		params[i] = s->a[i].buf;
	uint64_t t0_ns = metrics_now_ns();
	PGresult *r = PQexecPrepared(s->pg, "inbound", 10, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		struct errbuf err;
		pg_result_error(r, s->pg, &err);
		PQclear(r);
		if (is_connection_error(s)) {
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
		send_acks_inbound(s, list, false);
		return 0;
	}
	PQclear(r);
	metrics_stmt(METRICS_STMT_INBOUND, t0_ns, n);
	log_debug("store_inbound", "messages=%d", n);
	send_acks_inbound(s, list, true);
	return 0;
}

static int write_states(struct store *s)
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
		if (!ok && is_connection_error(s))
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

static int heartbeat(struct store *s)
{
	char pid[16], host[256] = "";
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	if (gethostname(host, sizeof host - 1)) {
	}
	const char *params[] = {s->cfg->instance, pid, host};
	PGresult *r = PQexecPrepared(s->pg, "heartbeat", 3, params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok)
		return is_connection_error(s) ? -1 : 0;
	/* Receipts stored at the very moment another daemon committed their
	 * message as sent are matched here (see smspool.rematch_reports). */
	r = PQexecPrepared(s->pg, "rematch", 0, NULL, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (ok && atoi(PQgetvalue(r, 0, 0)) > 0)
		log_info("store_rematched", "reports=%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return ok || !is_connection_error(s) ? 0 : -1;
}

/* ---- server side: accounts ---- */

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
static int do_auth(struct store *s)
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
			if (is_connection_error(s))
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

static void submit_answer(struct store *s, struct submission *sub, int64_t id, int error, const char *text)
{
	struct store_submit_result *res = xcalloc(1, sizeof *res);
	res->conn_id = sub->conn_id;
	res->token = sub->token;
	res->message_id = id;
	res->error = error;
	res->text = text ? xstrdup(text) : NULL;
	chan_put(s->out, TO_LOOP_SUBMITTED, res);
}

static void format_ts(int64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%d %H:%M:%S+00", &tm);
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

	reset_arrays(s, 16);
	bool report_on = false;    /* only then the 16-argument submit() */
	bool client_parts = false; /* only then the 17-argument one */
	for (int i = 0; i < n; i++) {
		struct submission *sub = batch[i];
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
	end_arrays(s, 16);
	const char *params[17] = {account};
	for (int i = 0; i < 16; i++)
		params[i + 1] = s->a[i].buf;
	const char *stmt = client_parts ? "submit_cp" : report_on ? "submit_ro" : "submit";
	PGresult *r = PQexecPrepared(s->pg, stmt, client_parts ? 17 : report_on ? 16 : 15, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		struct errbuf err;
		pg_result_error(r, s->pg, &err);
		PQclear(r);
		bool lost = is_connection_error(s);
		/* Whether a lost statement committed is unknown: the client is told
		 * to try again (at-least-once, as everywhere). */
		log_error("store_submit_failed", "account=%s messages=%d error=\"%s\"", account, n, err.msg);
		for (int i = 0; i < n; i++) {
			submit_answer(s, batch[i], 0, SUBMIT_TEMPORARY, "database unavailable");
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
		const char *cls = PQgetisnull(r, row, 2) ? NULL : PQgetvalue(r, row, 2);
		const char *text = PQgetisnull(r, row, 3) ? NULL : PQgetvalue(r, row, 3);
		if (!cls && !PQgetisnull(r, row, 1))
			submit_answer(s, batch[idx], strtoll(PQgetvalue(r, row, 1), NULL, 10), SUBMIT_OK, NULL);
		else if (cls && strcmp(cls, "throttled") == 0)
			submit_answer(s, batch[idx], 0, SUBMIT_THROTTLED, text);
		else
			submit_answer(s, batch[idx], 0, SUBMIT_INVALID, text ? text : cls);
	}
	PQclear(r);
	log_debug("store_submitted", "account=%s messages=%d", account, n);
	for (int i = 0; i < n; i++) {
		if (!answered[i])
			submit_answer(s, batch[i], 0, SUBMIT_TEMPORARY, "no answer from the database");
		submission_free(batch[i]); /* account points into batch[0]: not used after this */
	}
	free(answered);
	return 0;
}

static int do_events_done(struct store *s)
{
	reset_arrays(s, 2);
	int n = 0;
	for (struct store_event_done *d = s->done_head; d; d = d->next, n++) {
		sbuf_arr_int(&s->a[0], d->id);
		sbuf_arr_text(&s->a[1], d->delivered ? "t" : "f");
	}
	end_arrays(s, 2);
	const char *params[] = {s->a[0].buf, s->a[1].buf};
	PGresult *r = PQexecPrepared(s->pg, "events_done", 2, params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	if (!ok && is_connection_error(s))
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
static int64_t events_room(const struct store *s)
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
	int64_t room = events_room(s);
	if (room <= 0)
		return 0;
	if (room > EVENTS_MAX)
		room = EVENTS_MAX;
	reset_arrays(s, 1);
	for (int i = 0; i < a->n; i++)
		sbuf_arr_text(&s->a[0], a->names[i]);
	end_arrays(s, 1);
	char limit[16];
	snprintf(limit, sizeof limit, "%d", (int)room);
	const char *params[] = {s->cfg->instance, s->a[0].buf, limit};
	PGresult *r = PQexecPrepared(s->pg, "events_claim", 3, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		struct errbuf err;
		pg_result_error(r, s->pg, &err);
		PQclear(r);
		s->wake_events = false;
		if (is_connection_error(s))
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
static void fail_requests(struct store *s)
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
		submit_answer(s, sub, 0, SUBMIT_TEMPORARY, "database unavailable");
		submission_free(sub);
	}
	s->sub_tail = &s->sub_head;
	s->sub_len = 0;
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
			if (is_connection_error(s))
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

static int server_work(struct store *s, uint64_t now)
{
	if (s->query_head && do_queries(s))
		return -1;
	if (s->auth_head && do_auth(s))
		return -1;
	while (s->sub_head)
		if (do_submit_account(s))
			return -1;
	if (s->done_head && do_events_done(s))
		return -1;
	if (s->accounts && !s->stopping && (s->wake_events || now >= s->next_event_poll_ms)) {
		s->next_event_poll_ms = now + POLL_MS;
		if (claim_events(s))
			return -1;
	}
	return 0;
}

/* ---- the thread ---- */

static void take_items(struct store *s)
{
	for (struct chan_item *it = chan_take_all(&s->in), *next; it; it = next) {
		next = it->next;
		switch (it->kind) {
		case TO_STORE_RESULTS: {
			struct msg_list *l = it->ptr;
			if (!s->results.len && !s->rep_len)
				s->writes_since_ms = now_mono_ms();
			msg_list_concat(&s->results, l);
			free(l);
			break;
		}
		case TO_STORE_INBOUND:
			for (struct inbound *in = it->ptr, *nx; in; in = nx) {
				nx = in->next;
				in->next = NULL;
				*s->inb_tail = in;
				s->inb_tail = &in->next;
				s->inb_len++;
			}
			break;
		case TO_STORE_REPORTS:
			if (!s->results.len && !s->rep_len)
				s->writes_since_ms = now_mono_ms();
			for (struct report *r = it->ptr, *nx; r; r = nx) {
				nx = r->next;
				r->next = NULL;
				*s->rep_tail = r;
				s->rep_tail = &r->next;
				s->rep_len++;
			}
			break;
		case TO_STORE_CONN_STATE:
			s->states = xrealloc(s->states, (size_t)(s->nstates + 1) * sizeof *s->states);
			s->states[s->nstates++] = it->ptr;
			break;
		case TO_STORE_RELOAD:
			s->reload = true;
			break;
		case TO_STORE_STOP:
			s->stopping = true;
			break;
		case TO_STORE_AUTH:
			for (struct store_auth *a = it->ptr, *nx; a; a = nx) {
				nx = a->next;
				a->next = s->auth_head;
				s->auth_head = a;
			}
			break;
		case TO_STORE_SUBMIT:
			for (struct submission *sub = it->ptr, *nx; sub; sub = nx) {
				nx = sub->next;
				sub->next = NULL;
				*s->sub_tail = sub;
				s->sub_tail = &sub->next;
				s->sub_len++;
			}
			break;
		case TO_STORE_ACCOUNTS:
			store_accounts_free(s->accounts);
			s->accounts = it->ptr;
			break;
		case TO_STORE_QUERY:
			for (struct store_query *q = it->ptr, *nx; q; q = nx) {
				nx = q->next;
				q->next = s->query_head;
				s->query_head = q;
			}
			break;
		case TO_STORE_EVENTS_DONE:
			for (struct store_event_done *d = it->ptr, *nx; d; d = nx) {
				nx = d->next;
				d->next = s->done_head;
				s->done_head = d;
			}
			break;
		}
		free(it);
	}
}

static void read_notifies(struct store *s)
{
	if (!PQconsumeInput(s->pg))
		return;
	PGnotify *n;
	while ((n = PQnotifies(s->pg))) {
		if (strcmp(n->relname, "smspool_config") == 0)
			s->reload = true;
		else if (strcmp(n->relname, "smspool_account_events") == 0)
			s->wake_events = true;
		else if (strcmp(n->relname, "smspool_account_revoked") == 0) {
			chan_put(s->out, TO_LOOP_REVOKED, xstrdup(n->extra ? n->extra : ""));
			if (!n->extra || !*n->extra)
				s->heard_all = true;
			s->heard = xrealloc(s->heard, sizeof *s->heard * (size_t)(s->nheard + 1));
			s->heard[s->nheard++] = xstrdup(n->extra ? n->extra : "");
		}
		PQfreemem(n);
	}
}

/* How long a small batch of results and reports should still wait: a
 * result and the receipt that answers it come a moment apart, and one commit
 * for both instead of two leaves the WAL to the applications' INSERTs.  Only
 * while idle: a busy store batches by itself, since writes take longer than
 * the linger. */
static int linger_ms(struct store *s, uint64_t now)
{
	if (s->stopping || s->results.len + s->rep_len >= LINGER_MAX)
		return 0;
	uint64_t until = s->writes_since_ms + LINGER_MS;
	return until > now ? (int)(until - now) : 0;
}

/* The partitions of outbox, reports and inbox (sql/032_part.sql): made
 * ahead of need and retired, every partition_check_s by one daemon at a time
 * (partitions_ahead(true) answers NULL to the others and takes a session
 * advisory lock for the winner).  The retirement's steps are top-level
 * statements: DETACH ... CONCURRENTLY refuses a transaction block.  It waits
 * for the transactions that may still see the partition (short ones: the
 * daemons' and the producers'), never for a lock the hot path holds. */
static int partition_round(struct store *s)
{
	PGresult *r = PQexec(s->pg, "SELECT smspool.partitions_ahead(true)");
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	bool mine = ok && !PQgetisnull(r, 0, 0);
	if (!ok)
		log_error("store_partitions_failed", "error=\"%s\"", PQresultErrorMessage(r));
	else if (mine && atoi(PQgetvalue(r, 0, 0)) > 0)
		log_info("store_partitions_made", "partitions=%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	/* a DETACH waiting for a long transaction holds up this lane (heartbeat,
	 * server side) at most 10 s: cancelled, it is finished (FINALIZE) by a
	 * later round */
	char *timeout = NULL;
	if (mine) {
		r = PQexec(s->pg, "SELECT t.old, set_config('statement_timeout', '10s', false) "
		                  "FROM (SELECT current_setting('statement_timeout') AS old OFFSET 0) t");
		if (PQresultStatus(r) == PGRES_TUPLES_OK)
			timeout = xstrdup(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	for (int i = 0; mine && i < 8; i++) {
		r = PQexec(s->pg, "SELECT smspool.partition_next_step()");
		char *step =
		    PQresultStatus(r) == PGRES_TUPLES_OK && !PQgetisnull(r, 0, 0) ? xstrdup(PQgetvalue(r, 0, 0)) : NULL;
		PQclear(r);
		if (!step)
			break;
		r = PQexec(s->pg, step);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
		if (ok)
			log_info("store_partition_retired", "step=\"%s\"", step);
		else
			log_error("store_partition_failed", "step=\"%s\" error=\"%s\"", step, PQresultErrorMessage(r));
		PQclear(r);
		free(step);
		if (!ok)
			break;
	}
	if (timeout) {
		const char *p1[] = {timeout};
		PQclear(PQexecParams(s->pg, "SELECT set_config('statement_timeout', $1, false)", 1, NULL, p1, NULL,
		                     NULL, 0));
		free(timeout);
	}
	if (mine || !ok)
		PQclear(PQexec(s->pg, "SELECT pg_advisory_unlock(hashtext('smspool.partitions'))"));
	return !ok && is_connection_error(s) ? -1 : 0;
}

/* The main writer's own duties: the server side, the heartbeat (which also
 * matches late reports) and the end of report waits that ran out. */
static int main_work(struct store *s, uint64_t now)
{
	if (server_work(s, now))
		return -1;
	if (s->nheard) { /* what was just revoked is no news after a reconnect */
		struct errbuf err;
		if (resync_revocations(s, s->pg, false, &err))
			return -1;
	}
	/* What this daemon holds stays its own while it lives: leases are
	 * renewed three times per lease (smspool.renew_leases renews those
	 * past half their time). */
	if (now >= s->next_renew_ms) {
		const char *p1[] = {s->cfg->instance};
		PGresult *r = PQexecPrepared(s->pg, "renew", 1, p1, NULL, NULL, 0);
		bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
		PQclear(r);
		if (!ok && is_connection_error(s))
			return -1;
		uint64_t every = (s->lease_ms ? s->lease_ms : 60000) / 3;
		s->next_renew_ms = now + (every < 200 ? 200 : every);
	}
	if (!s->stopping && now >= s->next_hold_ms && hold_connections(s, now_mono_ms()))
		return -1;
	if (now >= s->next_heartbeat_ms) {
		if (heartbeat(s) || partition_round(s))
			return -1;
		s->next_heartbeat_ms = now + HEARTBEAT_MS;
	}
	if (now >= s->next_expire_ms) {
		/* smspool.maintain: one daemon at a time ends report waits,
		 * drops stale account events and gone daemons, and deletes a
		 * batch of what retention_days no longer keeps. */
		const char *p1[] = {s->cfg->instance};
		PGresult *r = PQexecPrepared(s->pg, "maintain", 1, p1, NULL, NULL, 0);
		bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
		if (ok && !PQgetisnull(r, 0, 0) &&
		    strcmp(PQgetvalue(r, 0, 0), "report_waits=0 account_events=0 daemons=0 messages=0 inbox=0") != 0)
			log_info("store_maintained", "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
		if (!ok && is_connection_error(s))
			return -1;
		s->next_expire_ms = now + EXPIRE_MS;
	}
	return 0;
}

/* One round of work while connected: returns -1 if the connection broke. */
static int work(struct store *s)
{
	uint64_t now = now_mono_ms();
	if (s->reload) {
		struct errbuf err;
		if (load_config(s, &err)) {
			if (is_connection_error(s))
				return -1;
			log_error("store_config_failed", "error=\"%s\"", err.msg);
		}
		s->reload = false;
	}
	if ((s->results.len || s->rep_len) && !linger_ms(s, now) && now >= s->write_retry_at_ms &&
	    write_results_reports(s))
		return -1;
	if (s->inb_len && write_inbound(s))
		return -1;
	if (s->nstates && write_states(s))
		return -1;
	if (s->lane == 0 && main_work(s, now))
		return -1;
	if (s->lane == STORE_LANE_AUTH && s->auth_head && do_auth(s))
		return -1;
	read_notifies(s);
	return 0;
}

/* Work other than results and reports: it never lingers. */
static bool other_writes(struct store *s)
{
	return s->inb_len || s->nstates || s->auth_head || s->sub_head || s->done_head || s->query_head;
}

static bool pending_writes(struct store *s)
{
	return s->results.len || s->rep_len || other_writes(s);
}

static void give_up_pending(struct store *s)
{
	if (s->results.len)
		log_warn("store_unwritten_results", "messages=%d (they return to the queue when their lease ends)",
		         s->results.len);
	while (s->results.len)
		msg_free(msg_list_pop(&s->results));
	send_acks_inbound(s, s->inb_head, false);
	send_acks_reports(s, s->rep_head, false);
	s->inb_head = NULL;
	s->rep_head = NULL;
	fail_requests(s);
	while (s->done_head) {
		struct store_event_done *d = s->done_head;
		s->done_head = d->next;
		free(d);
	}
}

static void *store_main(void *arg)
{
	struct store *s = arg;
	uint64_t backoff = 100, stop_deadline = 0, reconnect_at = 0;
	for (;;) {
		take_items(s);
		if (s->stopping && !stop_deadline)
			stop_deadline = now_mono_ms() + 10000;
		if (!s->pg) {
			struct errbuf err;
			uint64_t t = now_mono_ms();
			if (t < reconnect_at && !(s->stopping && t > stop_deadline)) {
				/* the last connection could not write (a read-only
				 * server): the next one waits, doubling up to 5 s */
				struct pollfd p = {.fd = chan_fd(&s->in), .events = POLLIN};
				poll(&p, 1, (int)(reconnect_at - t));
				take_items(s);
				continue;
			}
			if (store_connect(s, false, &err) == 0) {
				log_info("store_reconnected", "instance=%s", s->cfg->instance);
				metrics_db_reconnect();
			} else {
				log_warn("store_reconnect_failed", "retry_ms=%" PRIu64 " error=\"%s\"", backoff,
				         err.msg);
				fail_requests(s);
				if (s->stopping && now_mono_ms() > stop_deadline)
					break;
				struct pollfd p = {.fd = chan_fd(&s->in), .events = POLLIN};
				poll(&p, 1, (int)backoff);
				backoff = backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff * 2;
				continue;
			}
		}
		if (work(s)) {
			log_warn("store_connection_lost", "error=\"%s\"", PQerrorMessage(s->pg));
			disconnect(s);
			reconnect_at = now_mono_ms() + backoff;
			backoff = backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff * 2;
			continue;
		}
		backoff = 100;
		if (s->stopping && !pending_writes(s))
			break;
		if (s->stopping && now_mono_ms() > stop_deadline)
			break;
		int timeout = POLL_MS;
		uint64_t now = now_mono_ms();
		bool backing_off = (s->results.len || s->rep_len) && now < s->write_retry_at_ms;
		if (backing_off && s->write_retry_at_ms - now < (uint64_t)timeout)
			timeout = (int)(s->write_retry_at_ms - now);
		/* A due claim of events with no room left waits (wake_events stays set) for the loop's
		 * next accounts (room back, through s->in) or the tick, as the claimer does: no spin. */
		bool events_due = s->wake_events && events_room(s) > 0;
		if ((pending_writes(s) && !backing_off) || other_writes(s) || events_due)
			timeout = 0;
		int linger = linger_ms(s, now_mono_ms());
		if (linger && !other_writes(s) && !events_due)
			timeout = linger;
		struct pollfd p[2] = {{.fd = chan_fd(&s->in), .events = POLLIN},
		                      {.fd = PQsocket(s->pg), .events = POLLIN}};
		if (timeout > 0 && poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
	}
	if (pending_writes(s))
		give_up_pending(s);
	if (s->pg && s->lane == 0) {
		struct errbuf err;
		if (release_claims(s->pg, s->cfg->instance, true, "store_release", &err))
			log_warn("store_release_failed", "error=\"%s\"", err.msg);
		/* Every connection has stopped (the loop stops this lane last):
		 * the exclusive ones go to another daemon at its next renewal. */
		const char *p1[] = {s->cfg->instance};
		PGresult *r = pg_query(s->pg, "SELECT smspool.release_connections($1)", 1, p1, &err);
		if (!r)
			log_warn("store_release_failed", "error=\"%s\"", err.msg);
		else if (atoi(PQgetvalue(r, 0, 0)) > 0)
			log_info("store_released_connections", "instance=%s connections=%s", s->cfg->instance,
			         PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	disconnect(s);
	chan_put(s->out, TO_LOOP_STOPPED, s);
	return NULL;
}

struct store *store_start(const struct config *cfg, struct chan *to_loop, int lane, struct errbuf *err)
{
	struct store *s = xcalloc(1, sizeof *s);
	s->cfg = cfg;
	s->lane = lane;
	s->out = to_loop;
	s->inb_tail = &s->inb_head;
	s->rep_tail = &s->rep_head;
	s->sub_tail = &s->sub_head;
	for (size_t i = 0; i < ARRAY_LEN(s->a); i++)
		sbuf_init(&s->a[i]);
	chan_init(&s->in);
	if (store_connect(s, true, err)) {
		chan_destroy(&s->in);
		for (size_t i = 0; i < ARRAY_LEN(s->a); i++)
			sbuf_free(&s->a[i]);
		free(s);
		return NULL;
	}
	if (pthread_create(&s->thread, NULL, store_main, s) != 0)
		abort();
	return s;
}

void store_join(struct store *s)
{
	pthread_join(s->thread, NULL);
	take_items(s);
	while (s->results.len)
		msg_free(msg_list_pop(&s->results));
	for (struct inbound *in = s->inb_head, *n; in; in = n)
		n = in->next, inbound_free(in);
	for (struct report *r = s->rep_head, *n; r; r = n)
		n = r->next, report_free(r);
	for (int i = 0; i < s->nstates; i++) {
		free(s->states[i]->name);
		free(s->states[i]->state);
		free(s->states[i]->detail);
		free(s->states[i]);
	}
	free(s->states);
	store_accounts_free(s->accounts);
	access_versions_free(s->versions);
	forget_heard(s);
	while (s->auth_head) {
		struct store_auth *a = s->auth_head;
		s->auth_head = a->next;
		store_auth_free(a);
	}
	while (s->sub_head) {
		struct submission *sub = s->sub_head;
		s->sub_head = sub->next;
		submission_free(sub);
	}
	while (s->done_head) {
		struct store_event_done *d = s->done_head;
		s->done_head = d->next;
		free(d);
	}
	while (s->query_head) {
		struct store_query *q = s->query_head;
		s->query_head = q->next;
		store_query_free(q);
	}
	for (size_t i = 0; i < ARRAY_LEN(s->a); i++)
		sbuf_free(&s->a[i]);
	chan_destroy(&s->in);
	free(s);
}
