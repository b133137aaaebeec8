/* store_maint: the main writer's (lane 0) duties besides writing: reading
 * the configuration (at connect and on NOTIFY smspool_config, from the
 * thread's round) and, each on its own timer in store_maint_work, holding
 * the leases of exclusive connections, renewing the claims' leases, the
 * heartbeat (which also rematches late receipts), the partitions' upkeep
 * and smspool.maintain.  store_maint_work runs the server side's work
 * (store_server.c) and the revocation catch-up (store_session.c) first. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/pg.h"
#include "log.h"
#include "store_internal.h"
#include "util.h"

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

static char *json_text_dup(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

int store_maint_load_config(struct store *s, struct errbuf *err)
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
		return reconnect || store_session_lost(s) ? -1 : 0;
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
		return store_session_lost(s) ? -1 : 0;
	/* Receipts stored at the very moment another daemon committed their
	 * message as sent are matched here (see smspool.rematch_reports). */
	r = PQexecPrepared(s->pg, "rematch", 0, NULL, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (ok && atoi(PQgetvalue(r, 0, 0)) > 0)
		log_info("store_rematched", "reports=%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return ok || !store_session_lost(s) ? 0 : -1;
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
	return !ok && store_session_lost(s) ? -1 : 0;
}

/* The main writer's own duties: the server side, the heartbeat (which also
 * matches late reports) and the end of report waits that ran out. */
int store_maint_work(struct store *s, uint64_t now)
{
	if (store_server_work(s, now))
		return -1;
	if (s->nheard) { /* what was just revoked is no news after a reconnect */
		struct errbuf err;
		if (store_session_resync(s, s->pg, false, &err))
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
		if (!ok && store_session_lost(s))
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
		if (!ok && store_session_lost(s))
			return -1;
		s->next_expire_ms = now + EXPIRE_MS;
	}
	return 0;
}
