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
 *
 * What every such client does with its peer's texts is here too, once
 * (inacks_text, inacks_drain, inacks_acked): a part of a long text held
 * for reassembly, a whole text handed to the core with a token, long texts
 * finished (or timed out) handed over from the tick, and the answers sent
 * through the driver once the core says whether the database committed
 * them, to frames whose session still lives.  The driver keeps its
 * protocol: reading its frames, the alphabets (ops->text) and its answer
 * (ops->answer).
 */
#ifndef SMSPOOL_NET_INACKS_H
#define SMSPOOL_NET_INACKS_H

#include <stdbool.h>
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
struct conn;

/* The driver's side (arg: the driver's client). */
struct inacks_ops {
	const char *log_prefix; /* <prefix>_inbound, _report, _ack_dropped, _partial_text */
	/* Whether r's frame may still be answered (its session lives). */
	bool (*live)(void *arg, const struct inacks_ref *r);
	/* Answers r's frame: committed, or not (the peer sends it again). */
	void (*answer)(void *arg, const struct inacks_ref *r, bool committed);
	/* Sets in's text (body or payload, and encoding) from the octets d/n
	 * of kind (the caller's number: alphabet, language tables). */
	void (*text)(void *arg, unsigned kind, const uint8_t *d, size_t n, struct inbound *in);
};

struct inacks {
	struct tokens t;
	struct reasm *reasm;
	struct inacks_set *sets;
	const char *conn; /* for the reassembler's keys */
	struct conn *c;
	const struct inacks_ops *ops;
	void *arg;
};

/* A text the peer delivered, or a part of a long one (total > 1). */
struct inacks_text {
	char *sender, *recipient; /* taken */
	unsigned kind;            /* for ops->text */
	const uint8_t *data;      /* the text (no UDH), as ops->text reads it */
	size_t len;
	const uint8_t *udh; /* kept with the text (as hex) when not NULL */
	size_t udh_len;
	unsigned ref, total, seq; /* a long text's reference, parts, this part's number */
	int64_t smsc_ts_s;        /* 0: unknown */
};

void inacks_init(struct inacks *ia, struct conn *c, const struct inacks_ops *ops, void *arg, size_t max_sets,
                 uint64_t reasm_timeout_ms);
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

/* t from frame r: a part held for reassembly (answered with the whole,
 * which inacks_drain hands over), or a text of its own handed to the core
 * now (a part the reassembler refuses too). */
void inacks_text(struct inacks *ia, struct inacks_text *t, struct inacks_ref r);
/* A report from frame r: its text (the octets d/n, kept as printable
 * ASCII; none when d is NULL) set, handed to the core, answered after
 * commit. */
void inacks_report(struct inacks *ia, struct report *rep, const uint8_t *d, size_t n, struct inacks_ref r);
/* Hands every finished (or timed out) long text to the core (the tick). */
void inacks_drain(struct inacks *ia);
/* The core's answer for token (driver_ops acked): each of its frames
 * answered through ops->answer while ops->live. */
void inacks_acked(struct inacks *ia, uint64_t token, bool committed);

/* At the end of a stop: logs (<prefix>_stop_unanswered) what was never
 * answered (deliveries not committed yet, parts of long texts), which the
 * peer sends again. */
void inacks_stopped(const struct inacks *ia);

/* Tokens not answered by the core yet; long texts still incomplete. */
int inacks_waiting(const struct inacks *ia);
size_t inacks_partial(const struct inacks *ia);

#endif
