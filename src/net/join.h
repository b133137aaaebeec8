/*
 * net join: the parts of a concatenated submit held by a server session
 * (smpp-server, ucp-server) until their set is complete, so that they
 * become ONE outbox message.  Protocol-free: the driver reads the
 * concatenation (UDH IE 0x00/0x08, SAR TLVs) and says what a held request
 * is (its sequence number or TRN, its command or operation, its own meta).
 * Pure: no I/O, no clock of its own (the caller passes now_ms); the bytes
 * are joined by codec/reasm.c, this file adds what a server must answer:
 * every held request leaves in exactly one set.
 *
 * Contract:
 * - A set is keyed by (destination, source, reference, total), per holder
 *   (a server keeps one holder per session, so a set split across two
 *   sessions is not joined).
 * - Every part added leaves through net_join_poll in a set that is
 *   COMPLETE (answer after commit), or EXPIRED/EVICTED (answer with an
 *   error so that the client resends); a duplicate part is held too and
 *   answered with its set.
 * - At most max_parts requests are held; one more is refused with -ENOBUFS.
 * - Receipt bookkeeping: a joined message's submission carries the number
 *   of parts the client submitted (client_parts, stored in
 *   outbox.client_parts; its client_ref stays the client's own), so that
 *   the report of the one outbox message goes out once per part.
 */
#ifndef SMSPOOL_NET_JOIN_H
#define SMSPOOL_NET_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/reasm.h"
#include "util.h"

/* The UDH udh/len without its concatenation IEs, into out (capacity
 * UDH_MAX_LEN + 1).  Returns its length, 0 when no IE is left. */
size_t net_join_udh_strip(const uint8_t *udh, size_t len, uint8_t *out);

/* The number of reports a message gets whose outbox.client_parts (0 for
 * NULL) is client_parts: that number for 1..255, else 1. */
unsigned net_join_receipts(int client_parts);

struct net_join_held {
	unsigned part;         /* its sequence number in the set, 1..total */
	uint32_t pdu_seq, cmd; /* of the request to answer (SMPP sequence/command, UCP TRN/OT) */
	void *meta;            /* the caller's, freed by its meta_free */
	struct net_join_held *next;
};

struct net_join_set {
	struct reasm_msg *msg;        /* status, the joined bytes */
	struct net_join_held **parts; /* every held request of the set, by part */
	size_t n;
};

struct net_join;

struct net_join *net_join_new(size_t max_parts, uint64_t timeout_ms, void (*meta_free)(void *));
/* Frees j and everything it holds (unanswered: call only when the client
 * is gone). */
void net_join_free(struct net_join *j);

/* Holds part seq of set (ref, total).  Returns 0, -ENOBUFS (max_parts
 * held), -EINVAL or -EMSGSIZE (reasm_add's refusals).  meta is taken over
 * on 0 only. */
MUST_CHECK int net_join_add(struct net_join *j, const char *dst, const char *src, unsigned ref, unsigned total,
                            unsigned seq, uint32_t pdu_seq, uint32_t cmd, const uint8_t *data, size_t len, void *meta,
                            uint64_t now_ms);

/* The next finished set (complete, or expired / evicted with parts
 * missing), or NULL.  Caller frees it with net_join_set_free. */
struct net_join_set *net_join_poll(struct net_join *j, uint64_t now_ms);
/* Moves every incomplete set to the poll queue as EXPIRED. */
void net_join_flush(struct net_join *j);
size_t net_join_held_count(const struct net_join *j);
void net_join_set_free(struct net_join *j, struct net_join_set *set);

#endif
