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
 *   02  .. 04 .. (frame at 10)         an SMS arrived    (the driver sweeps the inboxes)
 *   14  00 01 01 0C MEM FOLDER 0F 55 55 55   folder status  -> 14 .. 0D .. .. COUNT(2 at 6) LOC(2)... from 8
 *   14  00 01 00 02 MEM FOLDER LOC(2) 01 00  read an SMS    -> 14 .. 03 .. STATE(5) .. F at 14
 *                                                              (shorter: no SMS there)
 *   14  00 01 00 04 MEM FOLDER LOC(2) 0F 55  delete an SMS  -> 14 .. 05  /  14 .. 06 ERR
 *
 * DCT4 SMS memory: MEM 01 the SIM, 02 the phone; FOLDER 02 inbox, 03
 * outbox, 04.. the phone's other folders; 16-bit locations, which the
 * folder status lists (Gammu's N6510 GetSMSFolderStatus / GetSMSMessage /
 * DeleteSMSMessage).
 *
 * F, the DCT4 SMS frame: 01 02 LEN FO MR PID DCS 00 NBLOCKS, then blocks of
 * ID and length (header included): 82 number (01 recipient in a 12-octet
 * slot: digits, TOA, BCD; 02 SMS centre: octets, TOA, BCD), 08 validity
 * (relative), 80 user data (octets, UDL, UD).  A stored SMS read back is a
 * frame of the same kind: 00 SMS-DELIVER (LEN FO PID DCS SCTS(7) 55 55 55
 * NBLOCKS), 01 SMS-STATUS-REPORT (LEN FO MR ST DT(7) SCTS(7) NBLOCKS) or
 * 02 SMS-SUBMIT, then the blocks (82 01: the sender or recipient).  The SMS
 * itself is encoded and decoded by the shared TPDU codec; this file moves
 * its fields between the frame and a 27.005 PDU.
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

#define NOKIA4_MEM_SIM 0x01
#define NOKIA4_MEM_PHONE 0x02
#define NOKIA4_FOLDER_INBOX 0x02

void nokia4_req_folder_status(struct nokia_req *r, uint8_t mem, uint8_t folder);
void nokia4_req_read_sms(struct nokia_req *r, uint8_t mem, uint8_t folder, uint16_t location);
void nokia4_req_delete_sms(struct nokia_req *r, uint8_t mem, uint8_t folder, uint16_t location);

/* A DCT4 SMS frame (f, len octets) -> 27.005 PDU (SMSC field + TPDU) in
 * out; *n its length.  Returns 0 or -EBADMSG with err. */
MUST_CHECK int nokia4_frame_to_pdu(const uint8_t *f, size_t len, uint8_t *out, size_t cap, size_t *n,
                                   struct errbuf *err);

/* Like nokia_decode, for a DCT4 phone: NOKIA_MODEL (D2, shared), NOKIA_IMEI,
 * NOKIA_SMSC / NOKIA_SMSC_ERROR, NOKIA_SENT / NOKIA_SEND_ERROR, NOKIA_INCOMING
 * without its SMS (an "SMS arrived" notice), NOKIA_FOLDER, NOKIA_SMS (state,
 * sms) / NOKIA_SMS_READ_ERROR, NOKIA_DELETED / NOKIA_DELETE_ERROR. */
MUST_CHECK int nokia4_decode(uint8_t type, const uint8_t *msg, size_t len, struct nokia_reply *out, struct errbuf *err);

#endif
