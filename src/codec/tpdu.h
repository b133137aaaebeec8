/*
 * tpdu: the SMS transfer protocol data units of 3GPP TS 23.040 that a
 * terminal exchanges with a modem or phone — SMS-DELIVER, SMS-SUBMIT and
 * SMS-STATUS-REPORT — optionally preceded by the SMSC address field of
 * 27.005 PDU mode.  Shared by the AT and FBUS drivers.
 *
 * Contract:
 * - Pure: bytes <-> struct tpdu, no I/O, no allocation; buffers belong to the
 *   caller.  A decoder never crashes on hostile input: every length is
 *   checked against the buffer, and a malformed unit is an error with a
 *   reason in err (and a short code in tpdu_error_code form, see below).
 * - User data is kept as it was on the air: ud/ud_len is the complete TP-UD
 *   (UDH included), udl the TP-UDL.  The decoder also splits it into the
 *   UDH (udh, with its UDHL octet) and the payload: for GSM 7-bit the
 *   unpacked septets after the header and fill bits, otherwise the octets
 *   after the header.  tpdu_text() turns the payload into UTF-8.
 * - The encoder writes what the struct says (first octet rebuilt from the
 *   flags; addresses, times and VP from their fields; ud/udl verbatim), so
 *   decode then encode gives back the same octets for every well-formed
 *   unit.
 * - Addresses are text: "+digits" for TON international, plain digits (and
 *   * # a b c) otherwise, UTF-8 for alphanumeric (TON 101) addresses.
 * - Times are kept as their fields (two-digit year, time zone in signed
 *   quarter hours, with a separate sign flag so that "-00" survives).
 */
#ifndef SMSPOOL_CODEC_TPDU_H
#define SMSPOOL_CODEC_TPDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "util.h"

#define TPDU_UD_MAX 140
#define TPDU_ADDR_MAX 48 /* 20 digits, '+', or 11 alphanumeric septets in UTF-8 */
/* SMSC (12) + the largest TPDU: a STATUS-REPORT with TP-PI, TP-PID,
 * TP-DCS and 140 octets of TP-UD (173; a SUBMIT has at most 164). */
#define TPDU_MAX_LEN 185
/* Big enough for tpdu_fields() of any decodable unit. */
#define TPDU_FIELDS_MAX 4096

/* TP-MTI, as on the wire for the MS side (23.040 9.2.3.1). */
enum tpdu_type {
	TPDU_DELIVER = 0,
	TPDU_SUBMIT = 1,
	TPDU_STATUS_REPORT = 2,
};

enum tpdu_vpf {
	TPDU_VP_NONE = 0,
	TPDU_VP_ENHANCED = 1,
	TPDU_VP_RELATIVE = 2,
	TPDU_VP_ABSOLUTE = 3,
};

enum tpdu_alphabet {
	TPDU_GSM7 = 0,
	TPDU_8BIT = 1,
	TPDU_UCS2 = 2,
};

/* Decode flags. */
#define TPDU_WITH_SMSC 0x1 /* the input starts with the 27.005 SMSC field */
/* What real networks and modems send and a driver should still take: octets
 * after the user data are ignored, a non-decimal digit in a time stamp
 * reads as 0.  Without it both are errors (decode then encode gives back
 * the input exactly). */
#define TPDU_LENIENT 0x2

struct tpdu_addr {
	char text[TPDU_ADDR_MAX]; /* "" for an empty address */
	uint8_t toa;              /* type of address, e.g. 0x91 */
};

struct tpdu_time {
	uint8_t year, month, day, hour, minute, second; /* year: two digits */
	bool tz_negative;
	uint8_t tz_quarters; /* absolute value, 0..79 */
};

struct tpdu {
	/* The 27.005 SMSC field; present only with TPDU_WITH_SMSC. */
	bool has_smsc;
	struct tpdu_addr smsc; /* text "" = length 0, "use the stored SMSC" */

	enum tpdu_type type;
	uint8_t first_octet; /* as decoded; the encoder rebuilds it from the flags */
	/* SUBMIT: rd, vpf, srr; DELIVER: mms, lp, sri; STATUS-REPORT: mms, lp, srq.
	 * udhi for all; rp for SUBMIT and DELIVER. */
	bool rd, srr, udhi, rp, mms, lp, sri, srq;
	enum tpdu_vpf vpf;
	uint8_t mr;            /* SUBMIT and STATUS-REPORT */
	struct tpdu_addr addr; /* TP-DA (SUBMIT), TP-OA (DELIVER), TP-RA (STATUS-REPORT) */
	uint8_t pid, dcs;
	uint8_t vp_rel;            /* TPDU_VP_RELATIVE */
	struct tpdu_time vp_abs;   /* TPDU_VP_ABSOLUTE */
	uint8_t vp_enh[7];         /* TPDU_VP_ENHANCED, raw */
	struct tpdu_time scts, dt; /* DELIVER: scts; STATUS-REPORT: scts and dt */
	uint8_t st;                /* STATUS-REPORT: TP-ST */
	/* STATUS-REPORT: TP-PI and what it announces (PID, DCS, UDL present). */
	bool has_pi;
	uint8_t pi;

	/* Derived from dcs by the decoder (and by tpdu_dcs_info). */
	enum tpdu_alphabet alphabet;
	int msg_class; /* 0..3, or -1 for none */

	size_t udl;              /* TP-UDL: septets (GSM 7-bit, header included) or octets */
	uint8_t ud[TPDU_UD_MAX]; /* complete TP-UD as on the air */
	size_t ud_len;
	uint8_t udh[TPDU_UD_MAX]; /* the UDH with its UDHL octet; udh_len 0 = none */
	size_t udh_len;
	unsigned fill_bits;   /* GSM 7-bit: fill bits after the UDH */
	uint8_t payload[160]; /* septets (GSM 7-bit) or octets, UDH excluded */
	size_t payload_len;

	size_t tpdu_len; /* octets of the TPDU without the SMSC field (AT+CMGS <length>) */
};

/* Decodes len octets of buf into *out.  flags: TPDU_WITH_SMSC,
 * TPDU_LENIENT.  Returns 0, or -EBADMSG with err saying why; the
 * message starts with one of the short codes "truncated-user-data",
 * "trailing-octets", "truncated", "bad-address", "bad-udh", "bad-mti",
 * "bad-udl", "bad-time" then ": " and details. */
MUST_CHECK int tpdu_decode(const uint8_t *buf, size_t len, unsigned flags, struct tpdu *out, struct errbuf *err);

/* Encodes *t (with the SMSC field when t->has_smsc) into out (capacity
 * cap).  *len receives the total octet count, *tpdu_len (may be NULL) the
 * count without the SMSC field.  Returns 0, -EINVAL for a field that cannot
 * be encoded (err says which), -ENOSPC. */
MUST_CHECK int tpdu_encode(const struct tpdu *t, uint8_t *out, size_t cap, size_t *len, size_t *tpdu_len,
                           struct errbuf *err);

/* Sets addr from a number as users write it: "+digits" -> TOA 0x91,
 * "digits" -> 0x81, anything else of at most 11 GSM characters ->
 * alphanumeric 0xD0.  Returns 0 or -EINVAL. */
MUST_CHECK int tpdu_addr_set(struct tpdu_addr *addr, const char *number);

/* Fills alphabet and msg_class from a TP-DCS octet (23.038 clause 4). */
void tpdu_dcs_info(uint8_t dcs, enum tpdu_alphabet *alphabet, int *msg_class);

/* Relative VP octet -> minutes (23.040 9.2.3.12.1). */
unsigned tpdu_vp_minutes(uint8_t vp);
/* The smallest relative VP octet that covers minutes (capped at 63 weeks). */
uint8_t tpdu_vp_from_minutes(unsigned minutes);

/* The payload as UTF-8 (GSM 7-bit through the UDH's national shift tables,
 * UCS-2 as UTF-16BE); 8-bit data is -EINVAL.  out has cap bytes (481
 * always suffice); *out_len (may be NULL) receives the length. */
MUST_CHECK int tpdu_text(const struct tpdu *t, char *out, size_t cap, size_t *out_len);

/* Unix time (seconds, UTC) of a time field, years 00..89 being 2000..2089
 * and 90..99 1990..1999.  Returns -1 for an impossible date. */
int64_t tpdu_time_unix(const struct tpdu_time *tm);

/* Writes the fields of a decoded unit as "key=value;..." with the names and
 * percent-encoding of tests/vectors/sms-pdu.tsv.  Returns the length, or
 * -ENOSPC. */
MUST_CHECK int tpdu_fields(const struct tpdu *t, char *out, size_t cap);

/* The TP-ST class: 0 = delivered (0x00..0x1F), 1 = still trying
 * (0x20..0x3F), 2 = permanent error (0x40..0x5F, and reserved values),
 * 3 = temporary error, no more attempts (0x60..0x7F). */
int tpdu_status_class(uint8_t st);

#endif
