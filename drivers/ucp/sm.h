/*
 * EMI/UCP short messages: between an outbox message part (or an account
 * event) and the fields of a 5x operation (01/30 for version 3.5), both
 * ways.  Pure: no I/O; strings are fixed buffers the frame borrows.
 *
 * Conventions (the README's EMI/UCP section repeats them):
 * - Addresses: an outbox "+<digits>" is written "00<digits>" in AdC and
 *   read back so; a numeric sender "+<digits>" is OAdC <digits> with OTOA
 *   1139, an alphanumeric one the 7-bit packed OAdC with OTOA 5039.
 * - GSM texts go as MT=3: AMsg is the IRA hex of the GSM default alphabet
 *   codes, one per octet (as Kannel writes and reads them); UCS-2 and
 *   binary go as MT=4 with NB and XSer 02 (DCS); a UDH travels in XSer 01.
 * - Read back: MT=2 digits; MT=3 GSM codes (octets above 0x7F: Latin-1);
 *   MT=4 by the XSer DCS (UCS-2, else binary).
 */
#ifndef SMSPOOL_UCP_SM_H
#define SMSPOOL_UCP_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/sms.h"
#include "errbuf.h"
#include "ucp/frame.h"
#include "util.h"

#define UCP_SM_DATA_MAX 1024 /* octets of one message field we accept */

/* The fields of one 5x operation we write (the rest stay empty). */
struct ucp_sm {
	char adc[40], oadc[40], otoa[5];
	char nrq[2], nt[2], npid[5];
	char vp[11];
	char scts[13], dst[2], rsn[4], dscts[13];
	char mt[2], nb[6];
	char msg[2 * UCP_SM_DATA_MAX + 1];
	char pr[2], mcls[2];
	char xser[2 * (2 + 255 + 3) + 1];
};

/* Clears sm. */
void ucp_sm_reset(struct ucp_sm *sm);
/* Points f (op ot, 'O', TRN trn) at sm: 33 fields for the 5x series; for
 * ot 01 (AdC OAdC AC MT Msg) and 30 (AdC OAdC AC NRq NAd NPID DD DDT VP
 * AMsg) the fields those have. */
void ucp_sm_frame(struct ucp_sm *sm, unsigned trn, unsigned ot, struct ucp_frame *f);

/* Outbox address -> AdC ("+49…" -> "0049…").  Returns 0 or -EINVAL (empty,
 * or longer than 16 digits). */
MUST_CHECK int ucp_sm_adc(const char *addr, char *out, size_t cap);
/* Sender -> OAdC and OTOA (see above; NULL/"" -> both empty).  Returns 0 or
 * -EINVAL (an alphanumeric sender with no GSM form or over 11 characters). */
MUST_CHECK int ucp_sm_oadc(const char *sender, struct ucp_sm *sm);

/* The client's sender_ton setting: how OAdC/OTOA are chosen. */
enum ucp_sender_ton {
	UCP_TON_AUTO,          /* as ucp_sm_oadc */
	UCP_TON_INTERNATIONAL, /* a numeric sender ("+" optional) as OTOA 1139 */
	UCP_TON_ALPHANUMERIC,  /* any sender as OTOA 5039, digits too */
	UCP_TON_UNKNOWN,       /* a numeric sender without OTOA ("+" written "00") */
};
/* The sender_ton setting's values, in enum order. */
extern const char *const ucp_sender_ton_names[4];
/* ucp_sm_oadc with ton: a sender the override cannot take (an
 * alphanumeric one for INTERNATIONAL or UNKNOWN) is taken as AUTO. */
MUST_CHECK int ucp_sm_oadc_ton(const char *sender, enum ucp_sender_ton ton, struct ucp_sm *sm);
/* An address field as the outbox writes it (new string): OTOA 5039 decoded,
 * OTOA 1139 or a leading "00" as "+<digits>", else unchanged.  otoa may be
 * NULL. */
char *ucp_sm_addr_in(const struct ucp_str *addr, const struct ucp_str *otoa);

/* The message of one part: MT, NB, Msg, XSer, MCLs.  msg_class -1 = none.
 * Returns 0 or -EINVAL. */
MUST_CHECK int ucp_sm_set_part(struct ucp_sm *sm, const struct sms_split *sp, const struct sms_part *pt, int msg_class);
/* The same with latin1: an MT=3 message carries Latin-1 octets in IRA
 * (SMSCs that expect them instead of GSM codes); -EINVAL when a character
 * has none. */
MUST_CHECK int ucp_sm_set_part_cs(struct ucp_sm *sm, const struct sms_split *sp, const struct sms_part *pt,
                                  int msg_class, bool latin1);
/* Deferred delivery of op 30 or 5x: DD = 1 with DDT (DDMMYYhhmm) as unix
 * seconds into *unix_s.  Returns 1 when deferred, 0 when not (DD empty or
 * 0), -1 when DD/DDT are malformed. */
int ucp_sm_deferred(const struct ucp_frame *f, int64_t *unix_s);
/* A UTF-8 text that fits one MT=3 message (notification texts): AMsg. */
void ucp_sm_set_text(struct ucp_sm *sm, const char *utf8);

/* A message field read back. */
struct ucp_sm_in {
	uint8_t data[UCP_SM_DATA_MAX]; /* GSM codes, digits, UCS-2 or binary octets */
	size_t len;
	enum { UCP_TEXT_DIGITS, UCP_TEXT_GSM, UCP_TEXT_UCS2, UCP_TEXT_BINARY, UCP_TEXT_LATIN1 } kind;
	uint8_t udh[256]; /* XSer 01, UDHL included */
	size_t udh_len;
	int dcs;       /* XSer 02, -1 none */
	int msg_class; /* MCLs or from the DCS, -1 none */
};
/* Reads the message of op 01, 30 or 5x.  Returns 0, or the EC to answer
 * (02 syntax, 23 message type not supported, 24 too long) with err set. */
unsigned ucp_sm_read(const struct ucp_frame *f, struct ucp_sm_in *in, struct errbuf *err);
/* The text of in without UDH as the outbox/inbox write it: *body (UTF-8)
 * or *payload (hex), and *encoding, each new (see smpp_wire_text). */
void ucp_sm_text(const struct ucp_sm_in *in, char **body, char **payload, char **encoding);
/* The same for the octets d/n of kind (a ucp_sm_in kind): the text of
 * joined parts. */
void ucp_sm_text_of(int kind, const uint8_t *d, size_t n, char **body, char **payload, char **encoding);

#endif
