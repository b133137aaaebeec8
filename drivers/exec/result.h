/*
 * result: what a send program's end means for its message.  Pure.
 *
 * The contract (README, "External application"):
 * - exit status 0: sent.  The remote id is the first line of stdout, or,
 *   with id_json_pointer, that value of stdout parsed as JSON; when there
 *   is none (or it is not a clean single line) our own id is used.
 * - an exit status listed in temporary_exit_codes: temporary (retried).
 * - any other exit status: rejected, with stderr's first line as the text.
 * - killed at the timeout, or by a signal (a crash): temporary, because
 *   whether the message left is unknown (delivery is at-least-once).
 * Texts and ids are cut to a line, to valid UTF-8 without control
 * characters, so that whatever a program prints can be stored.
 */
#ifndef SMSPOOL_EXEC_RESULT_H
#define SMSPOOL_EXEC_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "util.h"

struct exec_result_conf {
	const long long *temporary_codes;
	size_t ntemporary;
	const char *id_json_pointer; /* NULL: the first line of stdout */
};

/* How the program ended and what it wrote (borrowed). */
struct exec_end {
	int wait_status; /* as from waitpid */
	bool timed_out;
	const char *out, *err;
	size_t out_len, err_len;
};

struct exec_verdict {
	enum msg_outcome outcome; /* MSG_SENT, MSG_TEMPORARY or MSG_REJECTED */
	char *remote_id;          /* SENT: new, or NULL = none given (use our own) */
	char code[32];            /* "exit:3", "signal:9", "timeout" */
	char *text;               /* not SENT: new */
};

void exec_result_map(const struct exec_result_conf *conf, const struct exec_end *end, struct exec_verdict *v);

/* Batch mode: one line of the program's stdout naming one message's
 * outcome, {"id": 42, "remote_id": "X1"} (sent) or {"id": 42, "error":
 * "text", "temporary": true} (temporary when true, else rejected).
 * Returns 0 with *id and v filled, or -1 when the line is not such an
 * object (then it is ignored). */
MUST_CHECK int exec_result_batch_line(const char *line, size_t n, int64_t *id, struct exec_verdict *v);
void exec_verdict_clear(struct exec_verdict *v);

/* The first line of s (n bytes) as a new string of at most max bytes of
 * valid UTF-8 with control characters and invalid bytes replaced by '?'
 * and surrounding blanks trimmed ("" when empty). */
char *exec_first_line(const char *s, size_t n, size_t max);

#endif
