/*
 * nokia: the Nokia DCT3 messages (6110/3310/5110 class, Gammu's and gnokii's
 * "6110" family) that an SMS gateway needs, carried in FBUS messages: bytes
 * <-> structs, no I/O, no allocation.
 *
 * Every message starts with the DCT3 header 00 01 00 and an operation octet:
 *   D1 00 01 00 03 00                  get model and firmware  -> D2 ... "V 05.24\n27-02-00\nNSE-3\n..."
 *   40 00 01 66 00                     get IMEI                -> 40 00 01 66 00 "490154203237518" 00
 *   02 00 01 00 33 64 LOC              get SMS centre LOC      -> 02 .. 34 (number at 21) / 35
 *   02 00 01 00 01 02 00 LAYOUT        send an SMS-SUBMIT      -> 02 .. 02 00 MR  /  02 .. 03 .. ERR
 *   14 00 01 00 36 64                  SIM SMS status          -> 14 .. 37 (size 7, used 10, unread 11) / 38
 *   02 00 01 00 07 02 LOC 01 64        read SMS at LOC         -> 14 .. 08 STATE .. .. BOX LAYOUT / 09 ERR
 *   14 00 01 00 0A 02 LOC              delete SMS at LOC       -> 14 .. 0B / 0C ERR
 *   (phone) 02 00 01 00 10 .. .. LAYOUT  an SMS arrived (also stored)
 *
 * LAYOUT is the DCT3 fixed layout of an SMS (Gammu PHONE_SMSDeliver /
 * Submit / StatusReport): the SMSC field in a 12-octet slot at 0, the TP
 * first octet at 12, then TP fields at fixed offsets, addresses in 12-octet
 * slots, the user data last.  This file converts between that layout and a
 * plain 27.005 PDU (SMSC field + TPDU), so that the SMS itself is encoded
 * and decoded by the shared codec src/codec/tpdu.c.
 *
 * Contract: decoders check every offset against the length and never read
 * outside the message; a reply that does not match its operation is
 * NOKIA_UNKNOWN, never a crash.
 */
#ifndef SMSPOOL_FBUS_NOKIA_H
#define SMSPOOL_FBUS_NOKIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/tpdu.h"
#include "errbuf.h"
#include "util.h"

#define NOKIA_TYPE_SMS 0x02
#define NOKIA_TYPE_SECURITY 0x40
#define NOKIA_TYPE_SMS_MEMORY 0x14
#define NOKIA_TYPE_ID_REQ 0xD1
#define NOKIA_TYPE_ID_REPLY 0xD2
#define NOKIA_REQ_MAX 200
#define NOKIA_LAYOUT_SLOT 12

/* A request: the FBUS message type and its octets. */
struct nokia_req {
	uint8_t type;
	uint8_t data[NOKIA_REQ_MAX];
	size_t len;
};

/* r = a request of FBUS type `type` with the len octets d. */
void nokia_req_set(struct nokia_req *r, uint8_t type, const uint8_t *d, size_t len);
void nokia_req_get_model(struct nokia_req *r);
/* 40 00 01 64 01: service commands (type 40, the IMEI among them) on. */
void nokia_req_enable_security(struct nokia_req *r);
void nokia_req_get_imei(struct nokia_req *r);
void nokia_req_get_smsc(struct nokia_req *r, uint8_t location);
void nokia_req_sms_status(struct nokia_req *r);
void nokia_req_read_sms(struct nokia_req *r, uint8_t location);
void nokia_req_delete_sms(struct nokia_req *r, uint8_t location);
/* An SMS-SUBMIT (t->type TPDU_SUBMIT; t->smsc the centre, or "" to let the
 * phone use its own).  Returns 0, or -EINVAL with err (a field the layout
 * cannot hold). */
MUST_CHECK int nokia_req_send_sms(struct nokia_req *r, const struct tpdu *t, struct errbuf *err);

enum nokia_kind {
	NOKIA_UNKNOWN = 0,
	NOKIA_MODEL,            /* model, version, date */
	NOKIA_IMEI,             /* imei */
	NOKIA_SMSC,             /* smsc */
	NOKIA_SMSC_ERROR,       /* no SMS centre at that location */
	NOKIA_SENT,             /* mr */
	NOKIA_SEND_ERROR,       /* error */
	NOKIA_SMS_STATUS,       /* sim_size, used, unread */
	NOKIA_SMS_STATUS_ERROR, /* no PIN / SIM not ready */
	NOKIA_SMS,              /* location (when read), state, sms */
	NOKIA_SMS_READ_ERROR,   /* error: 02 bad location, 07 empty, 0C no access */
	NOKIA_INCOMING,         /* an SMS arrived: sms */
	NOKIA_DELETED,
	NOKIA_DELETE_ERROR, /* error */
	NOKIA_SECURITY_ON,  /* the answer to an enable of service commands */
	NOKIA_FOLDER,       /* DCT4 folder status: n_locs, locs */
};

#define NOKIA_FOLDER_MAX 256

struct nokia_reply {
	enum nokia_kind kind;
	char model[16], version[16], date[16];
	char imei[20];
	char smsc[TPDU_ADDR_MAX];
	uint8_t mr, error, state, box;
	unsigned sim_size, used, unread;
	struct tpdu sms; /* NOKIA_SMS, NOKIA_INCOMING: decoded by the shared codec */
	unsigned n_locs; /* NOKIA_FOLDER: the locations used (at most NOKIA_FOLDER_MAX kept) */
	uint16_t locs[NOKIA_FOLDER_MAX];
};

/* Decodes the message msg (len octets, the reassembled FBUS message) of
 * FBUS type `type`.  Returns 0 (out->kind NOKIA_UNKNOWN for a message this
 * layer does not know), or -EBADMSG with err when a known reply is
 * malformed, its SMS included. */
MUST_CHECK int nokia_decode(uint8_t type, const uint8_t *msg, size_t len, struct nokia_reply *out, struct errbuf *err);

/* The number of an SMSC field (octets incl. TOA, TOA, BCD) of at most
 * avail octets, "+" first for an international one; "" when empty. */
void nokia_smsc_number(const uint8_t *f, size_t avail, char *out, size_t cap);

/* A bounded octet writer: what does not fit sets full instead. */
struct nokia_out {
	uint8_t *p;
	size_t cap, n;
	bool full;
};
void nokia_out_put(struct nokia_out *o, const uint8_t *src, size_t len);

/* The PDU of t (an SMS-SUBMIT, with an SMSC field) as both phone families
 * send it, into pdu (cap octets, *n used).  Returns 0 or -EINVAL with err. */
MUST_CHECK int nokia_submit_pdu(const struct tpdu *t, uint8_t *pdu, size_t cap, size_t *n, struct errbuf *err);

/* LAYOUT -> 27.005 PDU (SMSC field + TPDU) in out; *n its length.  Returns 0
 * or -EBADMSG. */
MUST_CHECK int nokia_layout_to_pdu(const uint8_t *lay, size_t len, uint8_t *out, size_t cap, size_t *n,
                                   struct errbuf *err);
/* 27.005 PDU -> LAYOUT.  Returns 0, -EINVAL (not representable) or -EBADMSG. */
MUST_CHECK int nokia_pdu_to_layout(const uint8_t *pdu, size_t len, uint8_t *out, size_t cap, size_t *n,
                                   struct errbuf *err);

#endif
