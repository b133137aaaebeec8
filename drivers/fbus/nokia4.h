/*
 * nokia4: the Nokia DCT4 messages (6310/6510 class, Gammu's "6510" module)
 * that differ from the DCT3 ones in nokia.h; bytes <-> structs, no I/O.
 * A DCT4 phone answers the model query (D1) as a DCT3 one does, so the
 * driver asks that first and picks the family from the model code
 * (nokia4_is_dct4) or from its `family` setting.
 *
 *   1B  00 01 00 00 41                 get IMEI          -> 1B .. 01 .. IMEI at 10
 *   02  00 01 00 14 LOC 00             get SMS centre    -> 02 .. 15 ST(4) .. NBLOCKS(13) blocks from 14
 *                                                           (82 LEN 02 .. SMSC field at +4)
 *   02  00 01 00 02 00 00 00 55 55 F   send an SMS       -> 02 .. 03 .. ERR(8) .. MR(10)
 *   02  .. 04 ..                       an SMS arrived    (not read: receiving is DCT3 only)
 *
 * F, the DCT4 SMS frame: 01 02 LEN FO MR PID DCS 00 NBLOCKS, then blocks of
 * ID and length (header included): 82 number (01 recipient in a 12-octet
 * slot: digits, TOA, BCD; 02 SMS centre: octets, TOA, BCD), 08 validity
 * (relative), 80 user data (octets, UDL, UD).  The SMS itself is encoded
 * by the shared TPDU codec; this file moves its fields into the frame.
 *
 * Contract: decoders check every offset against the length; a message this
 * layer does not know is NOKIA_UNKNOWN, never a crash.
 */
#ifndef SMSPOOL_FBUS_NOKIA4_H
#define SMSPOOL_FBUS_NOKIA4_H

#include <stdbool.h>

#include "fbus/nokia.h"

#define NOKIA4_TYPE_PHONE 0x1B

/* True for the model codes of DCT4 phones ("NPE-4" 6310, "NPL-1" 6310i,
 * "NPM-9" 6510 ...). */
bool nokia4_is_dct4(const char *model_code);

void nokia4_req_get_imei(struct nokia_req *r);
void nokia4_req_get_smsc(struct nokia_req *r, uint8_t location);
/* An SMS-SUBMIT in the DCT4 frame (t->smsc "" lets the phone choose).
 * Returns 0, or -EINVAL with err. */
MUST_CHECK int nokia4_req_send_sms(struct nokia_req *r, const struct tpdu *t, struct errbuf *err);

/* Like nokia_decode, for a DCT4 phone: NOKIA_MODEL (D2, shared), NOKIA_IMEI,
 * NOKIA_SMSC / NOKIA_SMSC_ERROR, NOKIA_SENT / NOKIA_SEND_ERROR, and
 * NOKIA_INCOMING without its SMS (an "SMS arrived" notice). */
MUST_CHECK int nokia4_decode(uint8_t type, const uint8_t *msg, size_t len, struct nokia_reply *out, struct errbuf *err);

#endif
