/*
 * fuzz_exec_line: arbitrary bytes as one line of an exec receiver's stdout.
 * Parsing either fails with a message and leaves nothing allocated, returns
 * 1 (blank), or yields exactly one inbound text (with sender, recipient and
 * text or hex payload) or one report (with remote id and a known state),
 * whose strings hold no NUL and whose id is valid JSON.
 */
#include <assert.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exec_line l;
	struct errbuf err = {""};
	int rc = exec_line_parse((const char *)data, size, &l, &err);
	if (rc < 0) {
		assert(err.msg[0]);
		assert(!l.in && !l.rep && !l.id);
		return 0;
	}
	if (rc == 1) {
		assert(!l.in && !l.rep);
		return 0;
	}
	assert(rc == 0);
	if (l.kind == EXEC_LINE_INBOUND) {
		assert(l.in && !l.rep);
		assert(l.in->sender && l.in->sender[0] && l.in->recipient && l.in->recipient[0]);
		assert(!l.in->body != !l.in->payload);
		if (l.in->payload)
			assert(strlen(l.in->payload) % 2 == 0);
		assert(l.in->parts >= 1 && l.in->parts <= 255);
	} else {
		assert(l.rep && !l.in);
		assert(l.rep->remote_id && l.rep->remote_id[0] && l.rep->state);
	}
	if (l.id) {
		json_t *v = json_loads(l.id, JSON_DECODE_ANY, NULL);
		assert(v && (json_is_string(v) || json_is_integer(v)));
		json_decref(v);
	}
	exec_line_clear(&l);
	return 0;
}
