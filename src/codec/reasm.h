/*
 * reasm: reassembly of inbound concatenated SMS parts.  A pure data
 * structure: no I/O, no clock of its own (the caller passes now_ms, from a
 * monotonic clock), no knowledge of encodings (a part's payload is opaque
 * bytes, e.g. unpacked septets or UCS-2 octets, so that an escape sequence
 * or surrogate pair split by a foreign sender survives the join).
 *
 * Contract:
 * - A set is keyed by (connection id, originator, reference, total).  Parts
 *   may arrive in any order; a duplicate sequence number is ignored (the
 *   first copy wins).
 * - Nothing is ever dropped: every set leaves through reasm_poll, either
 *   COMPLETE, or EXPIRED (timeout_ms after its first part) / EVICTED (the
 *   oldest set, when a new one would exceed max_sets) with the parts that
 *   did arrive.  The caller MUST call reasm_poll after each reasm_add and
 *   periodically, and reasm_flush at shutdown, and store what it gets.
 * - Memory is bounded by max_sets pending sets of at most 255 parts of at
 *   most REASM_PART_MAX octets, plus whatever the caller leaves unpolled.
 * - Allocation failure aborts (util.h).
 */
#ifndef SMSPOOL_CODEC_REASM_H
#define SMSPOOL_CODEC_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define REASM_MAX_PARTS 255
#define REASM_PART_MAX 1024

struct reasm;

struct reasm_part {
	const char *conn_id;    /* borrowed; copied if a new set starts */
	const char *originator; /* borrowed; copied if a new set starts */
	unsigned ref;           /* 8- or 16-bit concatenation reference */
	unsigned total;         /* 1..255 */
	unsigned seq;           /* 1..total */
	const uint8_t *data;    /* borrowed; copied */
	size_t len;             /* <= REASM_PART_MAX */
};

enum reasm_add_result {
	REASM_ADDED,     /* stored, set still incomplete */
	REASM_DUPLICATE, /* this sequence number was already there; ignored */
	REASM_COMPLETED, /* the set is complete and waits in reasm_poll */
};

enum reasm_status {
	REASM_COMPLETE,
	REASM_EXPIRED, /* timed out with parts missing */
	REASM_EVICTED, /* pushed out by max_sets with parts missing */
};

struct reasm_msg_part {
	bool present;
	size_t off, len; /* where the part's bytes are in reasm_msg.data */
};

/* A finished set; the caller owns it and frees it with reasm_msg_free. */
struct reasm_msg {
	struct reasm_msg *next; /* internal queue link */
	enum reasm_status status;
	char *conn_id;
	char *originator;
	unsigned ref, total, received;
	uint64_t first_ms; /* when its first part arrived */
	uint8_t *data;     /* the received parts joined in sequence order */
	size_t len;
	struct reasm_msg_part *parts; /* total entries, index seq-1 */
};

/* Returns a new reassembler (caller frees with reasm_free).  max_sets >= 1. */
struct reasm *reasm_new(size_t max_sets, uint64_t timeout_ms);
/* Frees r with everything still pending or unpolled; call reasm_flush and
 * drain reasm_poll first to keep them. */
void reasm_free(struct reasm *r);

/* Adds one part.  *res (may be NULL) says what happened.  Returns 0, or
 * -EINVAL for a bad part (NULL strings, total/seq out of range), -EMSGSIZE
 * when len > REASM_PART_MAX. */
MUST_CHECK int reasm_add(struct reasm *r, const struct reasm_part *p, uint64_t now_ms, enum reasm_add_result *res);

/* Expires sets older than the timeout, then returns the next finished set
 * (completed, expired or evicted, oldest first), or NULL.  Caller owns it. */
struct reasm_msg *reasm_poll(struct reasm *r, uint64_t now_ms);

/* Moves every pending set to the poll queue as EXPIRED (shutdown). */
void reasm_flush(struct reasm *r);

/* Number of incomplete sets held. */
size_t reasm_pending(const struct reasm *r);

void reasm_msg_free(struct reasm_msg *m);

#endif
