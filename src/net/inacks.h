/*
 * inacks: what an SMSC client (SMPP, UCP) sent us and must answer only after
 * the database committed it: deliveries and reports are handed to the core
 * with a token, and the token's answer (acked) sends the responses.  A long
 * inbound text is reassembled here and its parts are answered together,
 * once the whole is committed.
 *
 * A reference names a protocol frame to answer: the session (NULL for a
 * driver of one session), its generation at the time (a response never
 * goes to a later session), the sequence number and the operation.
 */
#ifndef SMSPOOL_NET_INACKS_H
#define SMSPOOL_NET_INACKS_H

#include <stddef.h>
#include <stdint.h>

#include "codec/reasm.h"
#include "msg.h"
#include "net/tokens.h"

struct inacks_ref {
	void *sess;
	uint64_t gen;
	uint32_t seq, op;
};

/* The frames answered together for one token. */
struct inacks_acc {
	size_t n, cap;
	struct inacks_ref *refs;
};

struct inacks_set;

struct inacks {
	struct tokens t;
	struct reasm *reasm;
	struct inacks_set *sets;
	const char *conn; /* for the reassembler's keys */
};

void inacks_init(struct inacks *ia, const char *conn, size_t max_sets, uint64_t reasm_timeout_ms);
/* Frees what is held (nothing is answered). */
void inacks_free(struct inacks *ia);

/* One frame answered alone; returns its token. */
uint64_t inacks_one(struct inacks *ia, struct inacks_ref r);

/* A part (seq of total, reference ref) of a long text of kind (the text's
 * alphabet, given back by inacks_poll) from sender to recipient: held for
 * reassembly, answered with the whole.  Returns 0, or -1 when the
 * reassembler refuses it (the caller takes it as a text of its own). */
int inacks_part(struct inacks *ia, unsigned kind, const char *sender, const char *recipient, unsigned ref,
                unsigned total, unsigned seq, const uint8_t *data, size_t len, struct inacks_ref r);

/* The next finished (or timed out) long text, or NULL: *in gets a new
 * inbound with sender, recipient and parts set (the caller sets its text
 * from the returned set's data, frees the set with reasm_msg_free and hands
 * *in to the core with *token, 0 when none of its frames waits). */
struct reasm_msg *inacks_poll(struct inacks *ia, struct inbound **in, unsigned *kind, uint64_t *token);

/* The frames of token (the caller answers them and frees with
 * inacks_acc_free), or NULL. */
struct inacks_acc *inacks_take(struct inacks *ia, uint64_t token);
void inacks_acc_free(struct inacks_acc *a);

/* Tokens not answered by the core yet; long texts still incomplete. */
int inacks_waiting(const struct inacks *ia);
size_t inacks_partial(const struct inacks *ia);

#endif
