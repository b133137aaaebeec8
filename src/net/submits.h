/*
 * submits: the bookkeeping of an SMSC client (SMPP, UCP) for messages in
 * flight.  A message lent by the core's submit() is sent as one operation
 * per part; it is completed exactly once, after the answer (or the local
 * failure: timeout, lost session) of its last part: sent with every part's
 * remote id, or failed by the first error, classed by the driver's table;
 * a failed message carries the ids of its parts that were accepted, which
 * the database keeps for the next attempt (parts already held count as
 * answered: the driver sends only the others).
 */
#ifndef SMSPOOL_NET_SUBMITS_H
#define SMSPOOL_NET_SUBMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "driver.h"

/* How the driver classes a protocol error code. */
struct submits_class {
	enum msg_outcome outcome; /* MSG_REJECTED, MSG_TEMPORARY or MSG_RELEASE (throttled) */
	char code[16];            /* stored as the message's error code */
	const char *name;         /* static */
};

struct submits {
	struct conn *c;
	const char *proto; /* for log lines: "smpp", "ucp" */
	void (*classify)(uint32_t err, struct submits_class *out);
	int64_t throttle_pause_ms; /* a throttled message waits this before its retry */
	int nparts;                /* parts in flight */
};

/* A message in flight. */
struct submits_msg {
	struct msg *m;
	int nparts, answered;
	char **ids;
	bool failed;
	uint32_t err;          /* of the first error; 0 for a local one */
	const char *local_err; /* static text of a local failure */
};

/* One operation (part) waiting for its answer. */
struct submits_part {
	struct submits_msg *sub;
	int idx;
	void *sess;    /* the driver's session, if it has several */
	uint32_t seq;  /* sequence number or TRN */
	char addr[40]; /* the recipient as sent, for ids that name it */
};

/* The ids of m's parts that an earlier attempt through connection conn got
 * accepted (msg.held_ids), when m has nparts parts now: copies into ids[i]
 * (NULL for a part to send).  Returns how many; 0 when none applies (another
 * connection, another split) or every part is held (sent again whole). */
int submits_held(const struct msg *m, const char *conn, int nparts, char **ids);

/* A message of nparts parts (>= 1). */
struct submits_msg *submits_msg_new(struct msg *m, int nparts);
/* Frees sub before anything of it was sent (the message stays the caller's). */
void submits_msg_drop(struct submits_msg *sub);
/* Part idx of sub, counted in flight. */
struct submits_part *submits_part_new(struct submits *s, struct submits_msg *sub, int idx);

/* Records p's answer and frees p: id (accepted), err (the peer's error code)
 * or local (a local failure, static text).  After the last part the
 * message is completed (core_complete). */
void submits_answer(struct submits *s, struct submits_part *p, const char *id, uint32_t err, const char *local);

/* Frees p without answering (at close, after a forced stop); the message is
 * freed with its last part. */
void submits_forget(struct submits_part *p);

#endif
