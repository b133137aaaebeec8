/*
 * SMPP delivery receipt text (v3.4 Appendix B), as carried in the
 * short_message of a deliver_sm with esm_class 0x04:
 *
 *   id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm
 *   stat:DDDDDDD err:E text:...
 *
 * Appendix B is informative, so SMSCs vary.  Contract:
 * - smpp_receipt_parse MUST accept keys in any case and order, a missing
 *   field (its has_ flag stays false), unknown key:value words (skipped),
 *   and extra spaces; "text:" runs to the end of the input.
 * - It MUST reject input without an "id:" field (not a receipt) and any
 *   value longer than its buffer, and MUST never read past len.
 * - Ids MAY be decimal in the text and hexadecimal in submit_sm_resp (or the
 *   reverse): compare them with smpp_receipt_id_equal, never with strcmp.
 */
#ifndef SMSPOOL_SMPP_RECEIPT_H
#define SMSPOOL_SMPP_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Final or intermediate state of a message, from the stat: word or from the
 * message_state TLV. */
enum smpp_receipt_state {
	SMPP_RECEIPT_UNKNOWN,      /* UNKNOWN, or a stat word we do not know */
	SMPP_RECEIPT_DELIVERED,    /* DELIVRD */
	SMPP_RECEIPT_UNDELIVERED,  /* UNDELIV */
	SMPP_RECEIPT_EXPIRED,      /* EXPIRED */
	SMPP_RECEIPT_REJECTED,     /* REJECTD */
	SMPP_RECEIPT_DELETED,      /* DELETED: removed by the SMSC, never delivered */
	SMPP_RECEIPT_INTERMEDIATE, /* ACCEPTD, ENROUTE: not final yet */
};

struct smpp_receipt {
	bool has_id, has_sub, has_dlvrd, has_submit_date, has_done_date, has_stat, has_err, has_text;
	char id[66]; /* message_id is at most 65 octets with its NUL */
	char sub[16];
	char dlvrd[16];
	char submit_date[16]; /* YYMMDDhhmm, some SMSCs add ss */
	char done_date[16];
	char stat[16];
	char err[16];
	char text[256];
	enum smpp_receipt_state state; /* from stat; UNKNOWN when stat is missing */
};

/* Parses len octets of text (no NUL needed) into r (caller-owned, fully
 * overwritten).  Returns 0, or -EINVAL if this is not a receipt or a value
 * does not fit. */
MUST_CHECK int smpp_receipt_parse(const char *text, size_t len, struct smpp_receipt *r);

/* Writes the Appendix B text for r into out (capacity cap, NUL-terminated)
 * in the standard order.  Absent fields get the usual defaults (sub 001,
 * dlvrd 001 if delivered else 000, err 000, empty dates/text); text is
 * truncated to the 20 characters Appendix B allows.  Returns the length, or
 * -ENOSPC. */
MUST_CHECK int smpp_receipt_format(const struct smpp_receipt *r, char *out, size_t cap);

/* Maps a stat word (any case, 7-letter or spelled out) to a state. */
enum smpp_receipt_state smpp_receipt_state_from_stat(const char *stat);
/* Maps a message_state value (TLV 0x0427, query_sm_resp) to a state. */
enum smpp_receipt_state smpp_receipt_state_from_message_state(uint8_t message_state);
/* "delivered", "undelivered", "expired", "rejected", "deleted",
 * "intermediate" or "unknown". */
const char *smpp_receipt_state_name(enum smpp_receipt_state state);
/* True for every state after which no further receipt is expected. */
bool smpp_receipt_state_is_final(enum smpp_receipt_state state);

/* True if two message ids name the same message: equal ignoring case, or one
 * written in decimal and the other in hexadecimal with the same value (ids of
 * up to 16 hex digits). */
bool smpp_receipt_id_equal(const char *a, const char *b);

#endif
