/*
 * EMI/UCP frame codec (CMG EMI-UCP Interface 3.5 and 4.x): bytes <-> struct
 * ucp_frame, no I/O, no allocation.  A frame is
 *   STX TRN/LEN/O|R/OT/field/field/.../checksum ETX
 * where LEN counts the octets between STX and ETX and the checksum is the
 * sum of the octets from TRN to the last '/' modulo 256 in two hex digits.
 *
 * Contract:
 * - ucp_frame_scan finds frames in a byte stream: it discards what comes
 *   before an STX, restarts at a new STX that arrives before the ETX, and
 *   never asks the caller to buffer more than UCP_FRAME_MAX octets.
 * - ucp_frame_decode MUST NOT read outside [buf, buf + len) for any input.
 *   It rejects (with the EC a receiver answers, struct ucp_error) a frame
 *   whose header is unreadable (EC 02), whose operation is not one of 01,
 *   30, 31, 51-58, 60, 61 (EC 03), whose result is neither A nor N or whose
 *   field count is not the operation's (EC 02).  A wrong checksum or LEN
 *   does NOT make decoding fail: the frame decodes with checksum_ok/len_ok
 *   false, so that the caller can print it and answer EC 01 / EC 02.
 * - Decoded fields borrow the input buffer (struct ucp_str); they are only
 *   valid while it is.
 * - ucp_frame_encode computes LEN and the checksum; it refuses (never
 *   truncates) a field holding '/', a byte outside printable IRA (0x20-0x7E)
 *   or a frame longer than LEN's five digits allow.
 * - Fields are named as in the specification (AdC, OAdC, ... XSer); the
 *   message field is reported as NMsg, AMsg or TMsg according to MT.
 */
#ifndef SMSPOOL_UCP_FRAME_H
#define SMSPOOL_UCP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "util.h"

#define UCP_STX 0x02
#define UCP_ETX 0x03
/* LEN has five digits: the text between STX and ETX is at most 99999. */
#define UCP_LEN_MAX 99999u
#define UCP_FRAME_MAX (UCP_LEN_MAX + 2u)
#define UCP_MAX_FIELDS 33 /* the 5x series */
/* Enough for ucp_frame_fields on any frame the decoder accepts. */
#define UCP_FIELDS_MAX (3u * UCP_FRAME_MAX + 4096u)

/* Field positions, in wire order, per operation layout. */
enum ucp01_field { UCP01_AdC, UCP01_OAdC, UCP01_AC, UCP01_MT, UCP01_Msg, UCP01_COUNT };
enum ucp30_field {
	UCP30_AdC,
	UCP30_OAdC,
	UCP30_AC,
	UCP30_NRq,
	UCP30_NAd,
	UCP30_NPID,
	UCP30_DD,
	UCP30_DDT,
	UCP30_VP,
	UCP30_AMsg,
	UCP30_COUNT
};
enum ucp31_field { UCP31_AdC, UCP31_PID, UCP31_COUNT };
enum ucp5x_field {
	UCP5X_AdC,
	UCP5X_OAdC,
	UCP5X_AC,
	UCP5X_NRq,
	UCP5X_NAdC,
	UCP5X_NT,
	UCP5X_NPID,
	UCP5X_LRq,
	UCP5X_LRAd,
	UCP5X_LPID,
	UCP5X_DD,
	UCP5X_DDT,
	UCP5X_VP,
	UCP5X_RPID,
	UCP5X_SCTS,
	UCP5X_Dst,
	UCP5X_Rsn,
	UCP5X_DSCTS,
	UCP5X_MT,
	UCP5X_NB,
	UCP5X_Msg,
	UCP5X_MMS,
	UCP5X_PR,
	UCP5X_DCs,
	UCP5X_MCLs,
	UCP5X_RPI,
	UCP5X_CPg,
	UCP5X_RPLy,
	UCP5X_OTOA,
	UCP5X_HPLMN,
	UCP5X_XSer,
	UCP5X_RES4,
	UCP5X_RES5,
	UCP5X_COUNT
};
/* 60 and 61 share the first ten; 60 ends OPID RES1, 61 RES1 RES2. */
enum ucp6x_field {
	UCP6X_OAdC,
	UCP6X_OTON,
	UCP6X_ONPI,
	UCP6X_STYP,
	UCP6X_PWD,
	UCP6X_NPWD,
	UCP6X_VERS,
	UCP6X_LAdC,
	UCP6X_LTON,
	UCP6X_LNPI,
	UCP60_OPID,
	UCP60_RES1,
	UCP6X_COUNT
};
/* Results: ACK=A [MVP] SM (MVP in 30 and 5x only); NACK=N EC SM. */
enum ucp_result_field { UCPR_AN, UCPR_EC_OR_MVP, UCPR_SM3 };

/* A field: borrowed text, not NUL-terminated. */
struct ucp_str {
	const char *p;
	size_t len;
};

struct ucp_layout; /* private: the names of one operation's fields */

struct ucp_frame {
	unsigned trn;     /* 00..99 */
	unsigned len;     /* LEN as written */
	char o_r;         /* 'O' operation or 'R' result */
	unsigned ot;      /* operation type */
	uint8_t checksum; /* as written */
	bool checksum_ok, len_ok;
	bool ack, nack; /* results only: first field A / N */
	size_t nfields;
	struct ucp_str f[UCP_MAX_FIELDS];
	const struct ucp_layout *layout; /* set by decode; encode ignores it */
};

/* Why a frame was rejected, and what a receiver answers. */
struct ucp_error {
	unsigned ec;      /* 01 checksum, 02 syntax, 03 operation not supported */
	bool header_read; /* trn, o_r and ot below are valid */
	unsigned trn, ot;
	char o_r;
	char reason[160];
};

enum ucp_scan { UCP_SCAN_MORE = 0, UCP_SCAN_FRAME = 1, UCP_SCAN_OVERSIZE = 2 };

/* Looks at the len octets of a stream (borrowed).  *skip is always set to
 * the octets to discard first (noise before an STX, an unfinished frame cut
 * by a new STX, or an oversize one).  Returns UCP_SCAN_FRAME with the frame
 * at buf + *skip, *frame_len octets from STX to ETX; UCP_SCAN_MORE when no
 * whole frame is there yet; UCP_SCAN_OVERSIZE when more than UCP_FRAME_MAX
 * octets came without an ETX (they are in *skip: the caller logs). */
enum ucp_scan ucp_frame_scan(const uint8_t *buf, size_t len, size_t *skip, size_t *frame_len);

/* The same rules as a framing callback of the link layer (net/link.h
 * link_frame_fn) for the len octets at buf: the length of the unit that
 * starts at buf[0], which is either a frame (STX ... ETX) or a run of noise
 * (octets before an STX, or an unfinished frame cut by a new STX) that the
 * owner discards because it does not start with STX and end with ETX; 0
 * when more input is needed (also for one octet of noise alone, so that
 * a run of noise comes as one unit once more is there); UCP_FRAME_MAX + 1 (too long for any link
 * whose max_frame is UCP_FRAME_MAX) when no ETX came within UCP_FRAME_MAX.
 * Never fails (err is not used). */
long ucp_frame_link(const uint8_t *buf, size_t len, struct errbuf *err);
/* True when buf/len (a unit from ucp_frame_link) is a frame, not noise. */
bool ucp_frame_is_frame(const uint8_t *buf, size_t len);
/* True when noise is only line ends and blanks (some SMSCs end frames with
 * CR LF): skipped without complaint. */
bool ucp_frame_is_blank(const uint8_t *buf, size_t len);

/* Decodes one frame of len octets, STX and ETX included.  f and err are
 * caller-owned and overwritten.  Returns 0 or -EBADMSG with err filled. */
MUST_CHECK int ucp_frame_decode(const uint8_t *buf, size_t len, struct ucp_frame *f, struct ucp_error *err);

/* Encodes trn, o_r, ot and the nfields fields of f into out (capacity cap),
 * STX and ETX included; sets *out_len.  Returns 0, -EINVAL (bad header
 * value or field, err says which) or -ENOSPC. */
MUST_CHECK int ucp_frame_encode(const struct ucp_frame *f, uint8_t *out, size_t cap, size_t *out_len,
                                struct errbuf *err);

/* Number of data fields of an operation (o_r 'O'), or of its result ('R',
 * ack true/false); 0 when the operation is not supported. */
size_t ucp_frame_field_count(char o_r, unsigned ot, bool ack);
/* Spec name of field i of that layout ("AdC"); for the message field the
 * name follows mt ('2' NMsg, '3' AMsg, '4' TMsg, otherwise Msg).  NULL when
 * out of range. */
const char *ucp_frame_field_name(char o_r, unsigned ot, bool ack, size_t i, char mt);

/* Field i of f as a NUL-terminated copy in out (capacity cap); "" when i is
 * out of range.  Returns the length, or -ENOSPC (out holds a prefix). */
int ucp_frame_get(const struct ucp_frame *f, size_t i, char *out, size_t cap);
/* True when field i exists and equals s. */
bool ucp_frame_is(const struct ucp_frame *f, size_t i, const char *s);

/* Writes the frame as the vectors' `fields` column: "TRN=..;LEN=..;OR=..;
 * OT=..;checksum=..;checksum_ok=..;len_ok=..;<fields>;<decoded helpers>",
 * values percent-encoded (tests/vectors/README.md).  Decoded helpers:
 * AMsg_decoded (MT 3 or op 30), PWD_decoded (60/61), OAdC_decoded (OTOA
 * 5039).  Returns the length, or -ENOSPC (UCP_FIELDS_MAX always suffices). */
MUST_CHECK int ucp_frame_fields(const struct ucp_frame *f, char *out, size_t cap);
/* The same for a rejected frame: "parse_error=<reason>". */
MUST_CHECK int ucp_frame_error_fields(const struct ucp_error *e, char *out, size_t cap);

/* For `smspool decode ucp`: decodes buf (STX/ETX added when missing) into
 * out (capacity UCP_FIELDS_MAX) as the fields above, plus error=<reason>
 * and answer_EC=<EC> for a frame a receiver refuses.  Returns 0, or 1 for
 * such a frame.  (print.c) */
int ucp_frame_print(const uint8_t *buf, size_t len, char *out, size_t cap);

/* The reverse of ucp_frame_fields, one key at a time, for tests and tools:
 * TRN, OR, OT must come first, then the data fields in wire order by their
 * names (the message field by NMsg/AMsg/TMsg/Msg); derived keys (LEN,
 * checksum, checksum_ok, len_ok, *_decoded) are accepted and ignored.
 * value must outlive f (it is borrowed).  Returns 0 or -EINVAL. */
MUST_CHECK int ucp_frame_set_field(struct ucp_frame *f, const char *key, const char *value, struct errbuf *err);

#endif
