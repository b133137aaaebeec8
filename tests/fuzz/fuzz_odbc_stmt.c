/*
 * fuzz_odbc_stmt: arbitrary statement texts from an odbc connection's
 * settings.  Parsing either fails with a message or succeeds; on success the
 * text only shrank, holds no NUL, has at least as many `?` as parameters
 * (more only inside quotes or comments), every parameter index is a valid
 * name, and a text without parameters parses again to itself.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "odbc/stmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"key", "smspool_id", "status", "error", "sender", "body", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct odbc_stmt s;
	struct errbuf err;
	err.msg[0] = '\0';
	if (odbc_stmt_parse((const char *)data, size, names, &s, &err)) {
		assert(err.msg[0] != '\0');
		assert(s.sql == NULL);
		return 0;
	}
	size_t len = strlen(s.sql);
	assert(len <= size);
	assert(memchr(data, '\0', size) == NULL);
	int marks = 0;
	for (size_t i = 0; i < len; i++)
		marks += s.sql[i] == '?';
	assert(marks >= s.nparams);
	for (int i = 0; i < s.nparams; i++)
		assert(s.param[i] >= 0 && s.param[i] < 6);
	if (s.nparams == 0) {
		struct odbc_stmt again;
		assert(odbc_stmt_parse(s.sql, len, names, &again, &err) == 0);
		assert(strcmp(again.sql, s.sql) == 0);
		odbc_stmt_free(&again);
	}
	odbc_stmt_free(&s);
	return 0;
}
