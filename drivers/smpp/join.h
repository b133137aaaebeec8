/*
 * smpp join: what is SMPP in joining the parts of a concatenated submit
 * (UDH IE 0x00/0x08 in esm_class 0x40, or the SAR TLVs) into ONE outbox
 * message: reading the concatenation of a PDU.  The holder itself (parts
 * held per session, answered in exactly one set, the cap, the expiry) is
 * net/join.h's, shared with the ucp-server; the smpp_join_* names below
 * are its names in the SMPP server.
 *
 * Receipt bookkeeping: a joined message's submission carries the number
 * of parts the client submitted (client_parts, stored in
 * outbox.client_parts; its client_ref stays the client's own), so that
 * the receipt of the one outbox message is sent N times, with the
 * per-part ids "<outbox id>-<k>".
 */
#ifndef SMSPOOL_SMPP_JOIN_H
#define SMSPOOL_SMPP_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/reasm.h"
#include "net/join.h"
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

/* The holder (net/join.h) under the SMPP server's names. */
#define smpp_join net_join
#define smpp_join_held net_join_held
#define smpp_join_set net_join_set
#define smpp_join_udh_strip net_join_udh_strip
#define smpp_join_new net_join_new
#define smpp_join_free net_join_free
#define smpp_join_poll net_join_poll
#define smpp_join_flush net_join_flush
#define smpp_join_held_count net_join_held_count
#define smpp_join_set_free net_join_set_free

#define smpp_join_receipts net_join_receipts

/* Holds one part (net_join_add with the set's place from info). */
MUST_CHECK static inline int smpp_join_add(struct net_join *j, const char *dst, const char *src,
                                           const struct smpp_join_info *info, uint32_t pdu_seq, uint32_t cmd,
                                           const uint8_t *data, size_t len, void *meta, uint64_t now_ms)
{
	return net_join_add(j, dst, src, info->ref, info->total, info->seq, pdu_seq, cmd, data, len, meta, now_ms);
}

#endif
