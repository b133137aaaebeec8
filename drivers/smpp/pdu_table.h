/*
 * pdu_table: the SMPP commands and TLVs described once, for the codec
 * (pdu.c) and its text form (pdu_fields.c): each command as the list of
 * its mandatory fields in wire order, each known TLV with the value lengths
 * the specification allows.  Private to drivers/smpp/pdu*.c.
 */
#ifndef SMSPOOL_SMPP_PDU_TABLE_H
#define SMSPOOL_SMPP_PDU_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpp/pdu.h"

enum smpp_pdu_field_kind {
	FK_CSTR,      /* C-Octet string, NUL-terminated on the wire */
	FK_U8,        /* one octet */
	FK_SM,        /* sm_length + short_message */
	FK_DESTS,     /* number_of_dests + dest_address[] (submit_multi) */
	FK_UNSUCCESS, /* no_unsuccess + unsuccess_sme[] (submit_multi_resp) */
};

struct smpp_pdu_field_desc {
	const char *name; /* spec name, also the struct member name */
	uint8_t kind;
	bool hex;        /* FK_U8 shown as 0xNN, as the spec treats it as bits */
	uint8_t max;     /* FK_CSTR: octets allowed including the NUL */
	uint32_t status; /* FK_CSTR: what to answer when it is longer */
	size_t off;
	size_t size;
};

struct smpp_pdu_command_desc {
	uint32_t id;
	const char *name;
	const struct smpp_pdu_field_desc *fields;
	size_t nfields;
};

/* A TLV the table knows, with the value lengths the specification allows. */
struct smpp_pdu_tlv_desc {
	uint16_t tag;
	const char *name;
	uint16_t min, max;
};

/* The description of a command_id / a command's spec name / a TLV tag / a
 * TLV's spec name; NULL when unknown. */
const struct smpp_pdu_command_desc *smpp_pdu_table_command(uint32_t command_id);
const struct smpp_pdu_command_desc *smpp_pdu_table_command_named(const char *name);
const struct smpp_pdu_tlv_desc *smpp_pdu_table_tlv(uint16_t tag);
const struct smpp_pdu_tlv_desc *smpp_pdu_table_tlv_named(const char *name);

#endif
