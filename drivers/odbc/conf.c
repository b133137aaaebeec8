/*
 * odbc conf: the settings of an odbc connection (connections.settings of
 * type "odbc"), their check, and the plan the worker runs: each statement
 * (the default layout's, or the one a setting gives) parsed once into `?`
 * text and parameter order, and the ODBC connection string.  No ODBC, no
 * I/O: the worker does the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odbc/batch.h"
#include "odbc/odbc.h"
#include "odbc/schema.h"
#include "util.h"

const struct setting odbc_conf_settings[] = {
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
     "states written back into the outgoing table (sent needs accounts.report_sent)",
     .choices = "sent|delivered|undelivered|expired|rejected|failed"},
    SETTINGS_END,
};

static const char *const final_states[] = {"sent", "delivered", "undelivered", "expired", "rejected", "failed"};

/* Parameter names each statement may use (NULL-terminated, in odbc_param
 * order so that the parser's index is the enum value). */
static const char *const take_params[] = {"", "", "", "", "", "", "", "", "", "batch", NULL};
static const char *const row_params[] = {"key", "smspool_id", "status", "error", NULL};
static const char *const insert_params[] = {"",          "smspool_id", "",           "",     "sender",
                                            "recipient", "body",       "connection", "kind", NULL};

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

void odbc_conf_plan_free(struct odbc_plan *p)
{
	odbc_stmt_free(&p->take), odbc_stmt_free(&p->taken), odbc_stmt_free(&p->status), odbc_stmt_free(&p->insert);
	odbc_stmt_free(&p->sent);
	for (int k = 0; k < ODBC_OP_KINDS; k++) {
		free(p->batch_sql[k]);
		p->batch_sql[k] = NULL;
	}
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
		odbc_conf_plan_free(p);
		return errbuf_set(err, "taken_statement, status_statement and sent_statement must use :key");
	}
	if (!conf->taken_statement)
		p->batch_sql[ODBC_OP_TAKEN] = odbc_batch_sql(o, ODBC_OP_TAKEN);
	if (!conf->status_statement)
		p->batch_sql[ODBC_OP_STATUS] = odbc_batch_sql(o, ODBC_OP_STATUS);
	if (!conf->sent_statement)
		p->batch_sql[ODBC_OP_SENT] = odbc_batch_sql(o, ODBC_OP_SENT);
	return 0;
}

int odbc_conf_check(const void *vconf, struct errbuf *err)
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
	odbc_conf_plan_free(&p);
	return 0;
}

int odbc_conf_plan(const struct odbc_conf *conf, struct odbc_plan *p, struct errbuf *err)
{
	if (plan_build(conf, p, err))
		return -1;
	p->connstr = xstrdup(conf->connection_string ? conf->connection_string : "");
	if (conf->dsn)
		connstr_add(&p->connstr, "DSN", conf->dsn);
	if (conf->username)
		connstr_add(&p->connstr, "UID", conf->username);
	if (conf->password)
		connstr_add(&p->connstr, "PWD", conf->password);
	p->batch = (int)conf->batch;
	p->query_timeout_s = (int)conf->query_timeout_s;
	p->login_timeout_s = (int)conf->login_timeout_s;
	return 0;
}

bool odbc_conf_wants_state(const struct odbc_conf *conf, const char *state)
{
	for (size_t i = 0; i < json_array_size(conf->status_updates); i++) {
		const char *v = json_string_value(json_array_get(conf->status_updates, i));
		if (v && strcmp(v, state) == 0)
			return true;
	}
	return false;
}
