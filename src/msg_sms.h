/*
 * msg_sms: between the core's messages and SMS TPDUs, for the drivers that
 * hand TPDUs to a modem or a phone (at, fbus).  Outbound: a message
 * becomes SMS-SUBMIT TPDUs (src/codec/sms.c splits and encodes, with
 * concatenation headers for long texts).  Inbound: payload octets become an
 * inbound's body or hex payload, and an SMS-STATUS-REPORT a report whose
 * remote id is the one msg_sms_part_id gave the part.
 */
#ifndef SMSPOOL_MSG_SMS_H
#define SMSPOOL_MSG_SMS_H

#include "codec/sms.h"
#include "codec/tpdu.h"
#include "errbuf.h"
#include "msg.h"
#include "util.h"

/* The one decoding of a message's hex payload and UDH columns and split
 * into parts, for every driver that splits itself (at, fbus, the SMPP and
 * UCP clients, http's multipart "parts").
 * Splits m (body, or hex payload and udh when its encoding is binary) into
 * the parts of sp (sp->parts new, the caller frees them), national shift
 * tables langs for texts, concatenation reference concat_ref (low 8 bits).
 * Returns the number of parts, or -1 with err set. */
int msg_sms_split(const struct msg *m, uint32_t langs, unsigned concat_ref, struct sms_split *sp, struct errbuf *err);

/* The SUBMIT TPDUs of m, a new array of *n_parts the caller frees: TP-SRR
 * when m wants a report, relative validity (4 days, or what is left of
 * m's), flash / message class in the DCS, the SMSC field from smsc (NULL:
 * empty, the device's own).  NULL with err set when m cannot be sent (bad
 * recipient or smsc, unencodable text, bad hex). */
struct tpdu *msg_sms_submits(const struct msg *m, const char *smsc, int *n_parts, struct errbuf *err);

/* The remote id of a part: "MR/<last 8 digits of the recipient>" -- what a
 * status report carries back (TP-MR, TP-RA); an MR alone wraps after 256
 * messages.  New string. */
char *msg_sms_part_id(int mr, const char *recipient);

/* New uppercase hex text of the n octets at d: the one way a binary payload
 * or a UDH is written (inbox, outbox, templates). */
char *msg_sms_hex(const uint8_t *d, size_t n);

/* Sets in->payload to the n octets at d in hex and in->encoding "binary". */
void msg_sms_inbound_binary(struct inbound *in, const uint8_t *d, size_t n);

/* Sets in->body and in->encoding ("gsm7", "ucs2") from payload octets of
 * alphabet al, or in->payload (hex) and "binary". */
void msg_sms_inbound_text(struct inbound *in, enum tpdu_alphabet al, const uint8_t *d, size_t n);

/* A single received text t (SMS-DELIVER) into in: parts 1, its text
 * (msg_sms_inbound_text), its UDH in hex when keep_udh (not for a part
 * handed over alone: its concatenation header is spent), the SMSC time. */
void msg_sms_inbound_deliver(struct inbound *in, const struct tpdu *t, bool keep_udh);

/* A new report from a decoded SMS-STATUS-REPORT: state from TP-ST's class,
 * error_code the TP-ST in hex. */
struct report *msg_sms_report(const struct tpdu *t);

#endif
