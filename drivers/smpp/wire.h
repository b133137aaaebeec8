/*
 * SMPP helpers shared by the client (client.c) and the server (server.c)
 * sessions: what a data_coding means, text octets -> UTF-8, addresses as
 * the outbox writes them, and clearing a PDU before encoding.  Pure: no I/O.
 *
 * Contract:
 * - smpp_wire_text never fails: octets that are no valid text in the
 *   alphabet become hex payload with encoding "binary".
 * - Returned strings are new (the caller frees them).
 */
#ifndef SMSPOOL_SMPP_WIRE_H
#define SMSPOOL_SMPP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "smpp/pdu.h"

enum smpp_alphabet { SMPP_ALPHA_GSM, SMPP_ALPHA_ASCII, SMPP_ALPHA_LATIN1, SMPP_ALPHA_UCS2, SMPP_ALPHA_BINARY };

/* The alphabet of a data_coding (SMPP 5.2.19 and 3GPP 23.038 coding groups). */
enum smpp_alphabet smpp_wire_alphabet(uint8_t dc);
/* The same, with data_coding 0 read as dc0 (the data_coding_0 setting:
 * "gsm7", "latin1" or "ascii"; NULL or anything else: GSM 7-bit), since
 * SMSCs differ in what their default alphabet is. */
enum smpp_alphabet smpp_wire_alphabet_dc0(uint8_t dc, const char *dc0);

/* The national language tables of a GSM text from its UDH (IE 0x25 locking
 * shift, 0x24 single shift; 3GPP 23.038 Annex A), each 0 (the default
 * alphabet) when absent or unknown.  lock is 0 for a language without a
 * locking-shift table (Spanish). */
void smpp_wire_langs(const uint8_t *udh, size_t len, int *lock, int *shift);

/* Decodes n octets at d (borrowed) in alphabet a.  GSM is one septet per
 * octet; octets above 0x7F make it Latin-1.  Sets *body (UTF-8) or *payload
 * (hex), and *encoding ("gsm7", "ascii", "latin1", "ucs2" or "binary"), each
 * new; the one not set is left alone. */
void smpp_wire_text(enum smpp_alphabet a, const uint8_t *d, size_t n, char **body, char **payload, char **encoding);
/* The same, with GSM septets read through the national language tables
 * lock and shift (smpp_wire_langs). */
void smpp_wire_text_lang(enum smpp_alphabet a, int lock, int shift, const uint8_t *d, size_t n, char **body,
                         char **payload, char **encoding);

/* An SMPP address as the outbox writes it (new string): "+digits" for TON 1
 * (international) when the address is all digits, else unchanged. */
char *smpp_wire_address_in(uint8_t ton, const char *addr);

/* The link layer's framing (net/link.h link_frame_fn) for SMPP: the
 * command_length of the PDU at buf once 4 octets are there, or -1 with err
 * set when it is below 16 or above SMPP_PDU_MAX_LEN. */
long smpp_wire_frame(const uint8_t *buf, size_t len, struct errbuf *err);

/* Clears what a PDU to encode may use (the submit_multi arrays are big and
 * never used for encoding here) and sets its command and sequence number. */
void smpp_wire_pdu_reset(struct smpp_pdu *p, uint32_t command_id, uint32_t seq);

#endif
