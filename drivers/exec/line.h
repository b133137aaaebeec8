/*
 * line: one line of the receiver program's stdout, a JSON object that is an
 * inbound text or a delivery report.  Pure (jansson only); fuzzed by
 * tests/fuzz/fuzz_exec_line.c.
 *
 *   {"type": "inbound", "id": "m-17", "from": "+4917612345678", "to": "12345",
 *    "text": "Hello", "timestamp": 1764547200}
 *   {"type": "report", "id": 18, "remote_id": "X42", "state": "delivered",
 *    "error_code": "000", "text": "id:X42 stat:DELIVRD"}
 *
 * Inbound: from, to (1..32 characters, no control characters), text, or
 * payload (hex) with an optional udh (hex); encoding (a short name; binary
 * with a payload), parts (1..255), timestamp (unix seconds).  Report:
 * remote_id (1..200), state (delivered, undelivered, expired, rejected,
 * deleted, accepted, enroute, unknown), error_code, text.  Both: id (a
 * string of 1..200 characters or an integer), echoed in the acknowledgement
 * and used to recognise a line sent again.  Unknown keys are errors, so a
 * misspelt field is not silently lost.
 */
#ifndef SMSPOOL_EXEC_LINE_H
#define SMSPOOL_EXEC_LINE_H

#include <stddef.h>

#include "errbuf.h"
#include "msg.h"
#include "util.h"

enum exec_line_kind { EXEC_LINE_INBOUND, EXEC_LINE_REPORT };

struct exec_line {
	enum exec_line_kind kind;
	char *id;           /* the object's id as compact JSON ("\"m-17\"", "18"), or NULL */
	struct inbound *in; /* INBOUND: new, owned */
	struct report *rep; /* REPORT: new, owned */
};

/* Parses line (len bytes, without the newline; a final \r is ignored).
 * Returns 0 with *out filled, 1 for a blank line (nothing to do), or -1 with
 * err saying what is wrong (and *out empty). */
MUST_CHECK int exec_line_parse(const char *line, size_t len, struct exec_line *out, struct errbuf *err);
/* Frees what out holds (whatever was not taken: set fields to NULL to take them). */
void exec_line_clear(struct exec_line *out);

#endif
