/*
 * smpp join: the parts of a concatenated submit (UDH IE 0x00/0x08 in
 * esm_class 0x40, or the SAR TLVs) held by the SMPP server until the set is
 * complete, so that they become ONE outbox message.  Pure: no I/O, no clock
 * of its own (the caller passes now_ms); the bytes are joined by
 * codec/reasm.c, this file adds what a server must answer: every held PDU
 * (sequence number, command, the caller's meta) leaves in exactly one set.
 *
 * Contract:
 * - A set is keyed by (destination, source, reference, total), per holder
 *   (the server keeps one holder per session, so a set split across two
 *   sessions is not joined).
 * - Every part added leaves through smpp_join_poll in a set that is
 *   COMPLETE (answer after commit), or EXPIRED/EVICTED (answer with an
 *   error so that the client resends); a duplicate part is held too and
 *   answered with its set.
 * - At most max_parts PDUs are held; one more is refused with -ENOBUFS.
 * - Receipt bookkeeping: a joined message's submission carries the number
 *   of parts the client submitted (client_parts, stored in
 *   outbox.client_parts; its client_ref stays the client's own), so that
 *   the receipt of the one outbox message is sent N times, with the
 *   per-part ids "<outbox id>-<k>".
 */
#ifndef SMSPOOL_SMPP_JOIN_H
#define SMSPOOL_SMPP_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/reasm.h"
#include "smpp/pdu.h"
#include "util.h"

/* Where a submit stands in a concatenated set. */
struct smpp_join_info {
	bool multi; /* a part of a set of total >= 2 */
	unsigned ref, total, seq;
	size_t udh_len; /* octets of UDH at the start of the data (0: none) */
};

/* Reads the concatenation of a submit whose data (short_message or
 * message_payload) is d/n: the UDH's IE (when esm_class has 0x40), else
 * the SAR TLVs.  Returns 0, or -1 for a UDH that overruns the data or
 * concatenation values out of range (total 0, seq 0 or > total). */
MUST_CHECK int smpp_join_info(const struct smpp_pdu *p, const uint8_t *d, size_t n, struct smpp_join_info *out);

/* The UDH udh/len without its concatenation IEs, into out (capacity
 * UDH_MAX_LEN + 1).  Returns its length, 0 when no IE is left. */
size_t smpp_join_udh_strip(const uint8_t *udh, size_t len, uint8_t *out);

/* The number of receipts a message gets whose outbox.client_parts (0 for
 * NULL) is client_parts: that number for 1..255, else 1. */
unsigned smpp_join_receipts(int client_parts);

struct smpp_join_held {
	unsigned part;         /* its sequence number in the set, 1..total */
	uint32_t pdu_seq, cmd; /* of the submit to answer */
	void *meta;            /* the caller's, freed by its meta_free */
	struct smpp_join_held *next;
};

struct smpp_join_set {
	struct reasm_msg *msg;         /* status, the joined bytes */
	struct smpp_join_held **parts; /* every held PDU of the set, by part */
	size_t n;
};

struct smpp_join;

struct smpp_join *smpp_join_new(size_t max_parts, uint64_t timeout_ms, void (*meta_free)(void *));
/* Frees j and everything it holds (unanswered: call only when the client
 * is gone). */
void smpp_join_free(struct smpp_join *j);

/* Holds one part.  Returns 0, -ENOBUFS (max_parts held), -EINVAL or
 * -EMSGSIZE (reasm_add's refusals).  meta is taken over on 0 only. */
MUST_CHECK int smpp_join_add(struct smpp_join *j, const char *dst, const char *src, const struct smpp_join_info *info,
                             uint32_t pdu_seq, uint32_t cmd, const uint8_t *data, size_t len, void *meta,
                             uint64_t now_ms);

/* The next finished set (complete, or expired / evicted with parts
 * missing), or NULL.  Caller frees it with smpp_join_set_free. */
struct smpp_join_set *smpp_join_poll(struct smpp_join *j, uint64_t now_ms);
/* Moves every incomplete set to the poll queue as EXPIRED. */
void smpp_join_flush(struct smpp_join *j);
size_t smpp_join_held_count(const struct smpp_join *j);
void smpp_join_set_free(struct smpp_join *j, struct smpp_join_set *set);

#endif
