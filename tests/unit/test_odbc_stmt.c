/* odbc statements with :named parameters, and the default layout: what is a
 * parameter and what is not (quotes, comments, casts), every refusal names
 * its problem, the default statements parse and bind what they must, and
 * table names are the only thing put into SQL text (identifiers only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "odbc/schema.h"
#include "odbc/stmt.h"
#include "odbc/worker.h"

static const char *const names[] = {"key", "smspool_id", "status", "error", NULL};

static struct odbc_stmt parse_ok(const char *text)
{
	struct odbc_stmt s;
	struct errbuf err = {""};
	if (odbc_stmt_parse(text, strlen(text), names, &s, &err))
		fail_msg("parse \"%s\": %s", text, err.msg);
	return s;
}

static void parse_err(const char *text, size_t len, const char *want)
{
	struct odbc_stmt s;
	struct errbuf err = {""};
	assert_int_equal(odbc_stmt_parse(text, len, names, &s, &err), -1);
	if (!strstr(err.msg, want))
		fail_msg("\"%s\": error \"%s\" does not say \"%s\"", text, err.msg, want);
	assert_null(s.sql);
}

static void named_parameters_become_marks(void **state)
{
	(void)state;
	struct odbc_stmt s = parse_ok("UPDATE t SET status = :status, e = :error WHERE id = :key AND x = :key");
	assert_string_equal(s.sql, "UPDATE t SET status = ?, e = ? WHERE id = ? AND x = ?");
	assert_int_equal(s.nparams, 4);
	assert_int_equal(s.param[0], 2);
	assert_int_equal(s.param[1], 3);
	assert_int_equal(s.param[2], 0);
	assert_int_equal(s.param[3], 0);
	assert_true(odbc_stmt_uses(&s, 0));
	assert_false(odbc_stmt_uses(&s, 1));
	odbc_stmt_free(&s);
}

static void quoted_and_commented_text_is_left_alone(void **state)
{
	(void)state;
	const char *cases[][2] = {
	    {"SELECT ':key', \"a:key\", `b:key` FROM t", "SELECT ':key', \"a:key\", `b:key` FROM t"},
	    {"SELECT 'it''s :key' FROM t WHERE id = :key", "SELECT 'it''s :key' FROM t WHERE id = ?"},
	    {"SELECT 1 -- :key ?\nFROM t WHERE id=:key", "SELECT 1 -- :key ?\nFROM t WHERE id=?"},
	    {"SELECT /* :key ? */ x FROM t", "SELECT /* :key ? */ x FROM t"},
	    {"SELECT x::text, :key::bigint FROM t", "SELECT x::text, ?::bigint FROM t"},
	    {"SELECT ':' || x, a : b FROM t", "SELECT ':' || x, a : b FROM t"},
	    {"SELECT 1 -- comment at the end", "SELECT 1 -- comment at the end"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct odbc_stmt s = parse_ok(cases[i][0]);
		assert_string_equal(s.sql, cases[i][1]);
		odbc_stmt_free(&s);
	}
	/* a name ends at the first character that cannot be in one */
	struct odbc_stmt s = parse_ok("SELECT :key+1, (:status)");
	assert_string_equal(s.sql, "SELECT ?+1, (?)");
	odbc_stmt_free(&s);
}

static void refusals_name_the_problem(void **state)
{
	(void)state;
	parse_err("SELECT :nope", 12, "unknown parameter :nope");
	parse_err("SELECT :key9x", 13, "unknown parameter :key9x");
	parse_err("SELECT * FROM t WHERE id = ?", 28, "bare ?");
	parse_err("SELECT 'abc", 11, "unterminated ' quote");
	parse_err("SELECT \"abc", 11, "unterminated \" quote");
	parse_err("SELECT `abc", 11, "unterminated ` quote");
	parse_err("SELECT /* x", 11, "unterminated comment");
	parse_err("", 0, "empty");
	parse_err("SELECT 1\0:key", 13, "NUL");
	char *big = malloc(ODBC_STMT_MAX_LEN + 2);
	memset(big, ' ', ODBC_STMT_MAX_LEN + 1);
	big[ODBC_STMT_MAX_LEN + 1] = '\0';
	parse_err(big, ODBC_STMT_MAX_LEN + 1, "longer than");
	/* more parameters than can be bound */
	char many[1024] = "SELECT ";
	for (int i = 0; i <= ODBC_STMT_MAX_PARAMS; i++)
		strcat(many, ":key,");
	strcat(many, "1");
	parse_err(many, strlen(many), "more than");
	free(big);
}

static void default_statements_parse_and_bind_what_they_must(void **state)
{
	(void)state;
	const char *const take_names[] = {"", "", "", "", "", "", "", "", "", "batch", NULL};
	const char *const insert_names[] = {"",          "smspool_id", "",           "",     "sender",
	                                    "recipient", "body",       "connection", "kind", NULL};
	char *take = odbc_schema_take("sms_outgoing");
	char *taken = odbc_schema_taken("app.sms_outgoing");
	char *status = odbc_schema_status("sms_outgoing");
	char *insert = odbc_schema_insert("sms_incoming");
	struct odbc_stmt s;
	struct errbuf err = {""};
	assert_int_equal(odbc_stmt_parse(take, strlen(take), take_names, &s, &err), 0);
	assert_int_equal(s.nparams, 0);
	/* taken by the state column, never by an id watermark */
	assert_non_null(strstr(s.sql, "WHERE status IS NULL ORDER BY id"));
	odbc_stmt_free(&s);
	assert_int_equal(odbc_stmt_parse(taken, strlen(taken), names, &s, &err), 0);
	assert_int_equal(s.nparams, 4);
	assert_true(odbc_stmt_uses(&s, ODBC_P_KEY) && odbc_stmt_uses(&s, ODBC_P_SMSPOOL_ID));
	/* marking never overwrites a state a report already wrote */
	assert_non_null(strstr(s.sql, "UPDATE app.sms_outgoing SET") && strstr(s.sql, "AND status IS NULL"));
	odbc_stmt_free(&s);
	assert_int_equal(odbc_stmt_parse(status, strlen(status), names, &s, &err), 0);
	assert_null(strstr(s.sql, "status IS NULL"));
	odbc_stmt_free(&s);
	/* sent only over queued: a final state written first stays, a row not
	 * yet marked stays new (taken again after a crash between the commits) */
	char *sent = odbc_schema_sent("sms_outgoing");
	assert_int_equal(odbc_stmt_parse(sent, strlen(sent), names, &s, &err), 0);
	assert_true(odbc_stmt_uses(&s, ODBC_P_KEY) && odbc_stmt_uses(&s, ODBC_P_STATUS));
	assert_non_null(strstr(s.sql, "WHERE id = ? AND status = 'queued'"));
	odbc_stmt_free(&s);
	free(sent);
	assert_int_equal(odbc_stmt_parse(insert, strlen(insert), insert_names, &s, &err), 0);
	assert_int_equal(s.nparams, 5);
	assert_int_equal(s.param[0], ODBC_P_SENDER);
	assert_int_equal(s.param[1], ODBC_P_RECIPIENT);
	assert_int_equal(s.param[2], ODBC_P_BODY);
	assert_int_equal(s.param[3], ODBC_P_CONNECTION);
	assert_int_equal(s.param[4], ODBC_P_SMSPOOL_ID);
	odbc_stmt_free(&s);
	free(take), free(taken), free(status), free(insert);
	/* the names of the worker's table match the enum */
	assert_string_equal(odbc_param_names[ODBC_P_KEY], "key");
	assert_string_equal(odbc_param_names[ODBC_P_BATCH], "batch");
	assert_null(odbc_param_names[ODBC_P_COUNT]);
}

static void ddl_for_every_dialect(void **state)
{
	(void)state;
	const char *dialects[] = {"postgres", "mariadb", "sqlite", "mssql"};
	const char *cols[] = {"recipient",  "body",  "sender",     "client_ref", "status",
	                      "smspool_id", "error", "updated_at", "connection", "received_at"};
	for (size_t i = 0; i < 4; i++) {
		char *ddl = odbc_schema_ddl(dialects[i], "sms_outgoing", "sms_incoming");
		assert_non_null(ddl);
		assert_non_null(strstr(ddl, "CREATE TABLE sms_outgoing ("));
		assert_non_null(strstr(ddl, "CREATE TABLE sms_incoming ("));
		assert_non_null(strstr(ddl, "sms_outgoing_new"));
		for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
			if (!strstr(ddl, cols[k]))
				fail_msg("%s: no column %s", dialects[i], cols[k]);
		free(ddl);
	}
	char *ddl = odbc_schema_ddl("mariadb", "x", "y");
	assert_non_null(strstr(ddl, "utf8mb4")); /* 4-byte UTF-8 needs it */
	free(ddl);
	/* SQL Server: no filtered index (it breaks writers with QUOTED_IDENTIFIER
	 * or ANSI_NULLS off); Unicode columns for the texts */
	ddl = odbc_schema_ddl("mssql", "dbo.sms_outgoing", "dbo.sms_incoming");
	assert_non_null(strstr(ddl, "CREATE INDEX sms_outgoing_new ON dbo.sms_outgoing (status, id);"));
	assert_null(strstr(ddl, "WHERE"));
	assert_non_null(strstr(ddl, "body        NVARCHAR(MAX) NOT NULL"));
	/* says it has never run against a server */
	assert_non_null(strstr(ddl, "untested"));
	free(ddl);
	assert_null(odbc_schema_ddl("oracle", "a", "b"));
	assert_null(odbc_schema_ddl("sqlite", "a; DROP TABLE x", "b"));
}

static void identifiers_only(void **state)
{
	(void)state;
	const char *good[] = {"sms_outgoing", "app.sms_outgoing", "_t1", "T"};
	const char *bad[] = {"", "1t", "a.b.c", ".a", "a.", "a b", "a;", "a\"", "a'", "a-b", "a..b", NULL};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(odbc_schema_ident_ok(good[i]));
	for (size_t i = 0; bad[i]; i++)
		if (odbc_schema_ident_ok(bad[i]))
			fail_msg("\"%s\" accepted", bad[i]);
	assert_false(odbc_schema_ident_ok(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(named_parameters_become_marks),
	    cmocka_unit_test(quoted_and_commented_text_is_left_alone),
	    cmocka_unit_test(refusals_name_the_problem),
	    cmocka_unit_test(default_statements_parse_and_bind_what_they_must),
	    cmocka_unit_test(ddl_for_every_dialect),
	    cmocka_unit_test(identifiers_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
