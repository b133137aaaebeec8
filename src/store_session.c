/* store_session: a store lane's database connection.  At connect it sets up
 * the daemon session, takes the instance lock (lane 0: two live daemons must
 * never share a name), LISTENs, catches up on the revocations missed while
 * disconnected, prepares the statements the other store files execute by
 * name (the two tables below) and, the first time, gives back what a dead
 * predecessor claimed.  A lost connection is noticed by store_session_lost;
 * reconnecting is the thread's (store.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/access_versions.h"
#include "db/pg.h"
#include "log.h"
#include "store_internal.h"
#include "util.h"

/* The statements every lane prepares (a failure is a failed connect). */
static const struct {
	const char *name, *sql;
} prepared[] = {
    {"write",
     "SELECT smspool.record_results($1, $2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], "
     "$8::text[], $9::int[], $10::boolean[]), (SELECT count(*) FROM smspool.record_reports($11::text[], "
     "$12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[]))"},
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
    {"submit_ro", "SELECT idx, id, error_class, error, error_column, error_state, taken_id FROM smspool.submit("
                  "$1, $2::text[], $3::text[], $4::text[], "
                  "$5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::boolean[], $11::boolean[], "
                  "$12::int[], $13::timestamptz[], $14::timestamptz[], $15::text[], $16::int[])"},
    {"submit_cp", "SELECT idx, id, error_class, error, error_column, error_state, taken_id FROM smspool.submit("
                  "$1, $2::text[], $3::text[], $4::text[], "
                  "$5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::boolean[], $11::boolean[], "
                  "$12::int[], $13::timestamptz[], $14::timestamptz[], $15::text[], $16::int[], $17::int[])"},
    {"submit", "SELECT idx, id, error_class, error, error_column, error_state, taken_id FROM smspool.submit("
               "$1, $2::text[], $3::text[], $4::text[], "
               "$5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::boolean[], $11::boolean[], "
               "$12::int[], $13::timestamptz[], $14::timestamptz[], $15::text[])"},
    {"events_claim", "SELECT * FROM smspool.account_events_claim($1, $2::text[], $3)"},
    {"events_done", "SELECT smspool.account_events_done($1::bigint[], $2::boolean[])"},
    {"query", "SELECT id, status, recipient, sender, client_ref, connection_used, parts, error_class, error_code, "
              "error_text, extract(epoch FROM created_at)::bigint AS created_s, "
              "extract(epoch FROM sent_at)::bigint AS sent_s, extract(epoch FROM done_at)::bigint AS done_s "
              "FROM smspool.outbox WHERE id = $1 AND account = $2"},
};

void store_session_disconnect(struct store *s)
{
	if (s->pg)
		PQfinish(s->pg);
	s->pg = NULL;
}

bool store_session_lost(struct store *s)
{
	return !s->pg || PQstatus(s->pg) != CONNECTION_OK;
}

/* Gives back every message still claimed under this instance name: at
 * start (a predecessor died holding them) and at a clean stop (claimed, but
 * never handed to a connection). */
int store_session_release_claims(PGconn *pg, const char *instance, bool never_sent, const char *event,
                                 struct errbuf *err)
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

static int prepare_all(struct store *s, PGconn *pg, struct errbuf *err);

static void revoke_missed(void *arg, const char *account)
{
	struct store *s = arg;
	char q[80];
	log_info("store_revocation_missed", "account=%s", log_quote(account, q, sizeof q));
	chan_put(s->out, TO_LOOP_REVOKED, xstrdup(account));
}

void store_session_forget_heard(struct store *s)
{
	for (int i = 0; i < s->nheard; i++)
		free(s->heard[i]);
	free(s->heard);
	s->heard = NULL;
	s->nheard = 0;
	s->heard_all = false;
}

/* Reads every account's access version on a session that already LISTENs
 * (a later change comes as a NOTIFY); after a reconnect, the accounts whose
 * version changed, or that are gone, since the last read are revoked: their
 * NOTIFY came while nobody listened.  A schema without access_version (an
 * older database) only loses this catch-up. */
int store_session_resync(struct store *s, PGconn *pg, bool reconnect, struct errbuf *err)
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
	store_session_forget_heard(s);
	return 0;
}

/* How long a starting daemon waits for its instance lock (see below). */
#define INSTANCE_LOCK_WAIT_MS 10000

static int setup_session(struct store *s, PGconn *pg, bool first, struct errbuf *err)
{
	if (pg_daemon_session(pg, err))
		return -1;
	if (s->lane != 0)
		return prepare_all(s, pg, err);
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
	if (store_session_resync(s, pg, true, err))
		return -1;
	if (prepare_all(s, pg, err))
		return -1;
	if (first) {
		/* Whatever a dead predecessor of ours held is ours to send now. */
		if (store_session_release_claims(pg, s->cfg->instance, false, "store_reclaim", err))
			return -1;
	}
	return 0;
}

static int prepare_all(struct store *s, PGconn *pg, struct errbuf *err)
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
	/* Claim at submit (048): without it, submissions are inserted queued. */
	r = PQprepare(pg, "submit_claim",
	              "SELECT * FROM smspool.submit_claim($1, $2::text[], $3::int, $4, $5::text[], $6::text[], "
	              "$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[], $13::boolean[], "
	              "$14::boolean[], $15::int[], $16::timestamptz[], $17::timestamptz[], $18::text[], $19::int[], "
	              "$20::int[])",
	              0, NULL);
	s->has_submit_claim = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	return 0;
}

int store_session_connect(struct store *s, bool first, struct errbuf *err)
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
