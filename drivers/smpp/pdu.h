/*
 * SMPP PDU codec (v3.3, v3.4, v5.0): bytes <-> struct smpp_pdu, no I/O, no
 * allocation.  The session layer frames the stream with smpp_pdu_frame,
 * decodes each PDU with smpp_pdu_decode and sends what smpp_pdu_encode
 * produces.
 *
 * Contract:
 * - smpp_pdu_decode MUST NOT read outside [buf, buf + len) for any input,
 *   and MUST reject every malformed PDU with the command_status a receiver
 *   should answer (struct smpp_pdu_error); after a rejection the contents
 *   of pdu are unspecified and MUST NOT be used.
 * - A decoded pdu owns copies of all mandatory fields; TLV values are NOT
 *   copied: pdu->tlvs[i].value (and pdu->known.message_payload) borrow the
 *   input buffer and are valid only while it is.
 * - TLVs are kept in wire order, unknown tags included, and re-encoded in
 *   that order, so decode + encode gives back the same bytes.
 * - A response that arrives header-only (command_length 16) decodes with
 *   body_absent set; the encoder writes such a response header-only too.
 * - smpp_pdu_encode MUST refuse (never truncate) a field longer than the
 *   specification allows, and never write more than cap octets.
 * - The struct is flat: every command uses the members named after its
 *   mandatory fields in the specification and leaves the others zero.
 */
#ifndef SMSPOOL_SMPP_PDU_H
#define SMSPOOL_SMPP_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "util.h"

/* Largest command_length accepted.  Real PDUs stay below 2 KiB; the limit
 * only has to be generous for message_payload while stopping a corrupt
 * length from making the transport buffer megabytes. */
#define SMPP_PDU_MAX_LEN 65536u
#define SMPP_PDU_HEADER_LEN 16u
#define SMPP_PDU_MAX_TLVS 64   /* more is treated as a malformed TLV stream */
#define SMPP_PDU_MAX_DESTS 255 /* number_of_dests / no_unsuccess is one octet */
#define SMPP_PDU_SM_MAX 254    /* sm_length upper bound (v3.4 5.2.21) */
/* Enough for smpp_pdu_fields on any PDU the decoder accepts. */
#define SMPP_PDU_FIELDS_MAX (3 * SMPP_PDU_MAX_LEN + 16384)

#define SMPP_RESP_BIT 0x80000000u

enum smpp_command_id {
	SMPP_GENERIC_NACK = 0x80000000,
	SMPP_BIND_RECEIVER = 0x00000001,
	SMPP_BIND_RECEIVER_RESP = 0x80000001,
	SMPP_BIND_TRANSMITTER = 0x00000002,
	SMPP_BIND_TRANSMITTER_RESP = 0x80000002,
	SMPP_QUERY_SM = 0x00000003,
	SMPP_QUERY_SM_RESP = 0x80000003,
	SMPP_SUBMIT_SM = 0x00000004,
	SMPP_SUBMIT_SM_RESP = 0x80000004,
	SMPP_DELIVER_SM = 0x00000005,
	SMPP_DELIVER_SM_RESP = 0x80000005,
	SMPP_UNBIND = 0x00000006,
	SMPP_UNBIND_RESP = 0x80000006,
	SMPP_REPLACE_SM = 0x00000007,
	SMPP_REPLACE_SM_RESP = 0x80000007,
	SMPP_CANCEL_SM = 0x00000008,
	SMPP_CANCEL_SM_RESP = 0x80000008,
	SMPP_BIND_TRANSCEIVER = 0x00000009,
	SMPP_BIND_TRANSCEIVER_RESP = 0x80000009,
	SMPP_OUTBIND = 0x0000000B,
	SMPP_ENQUIRE_LINK = 0x00000015,
	SMPP_ENQUIRE_LINK_RESP = 0x80000015,
	SMPP_SUBMIT_MULTI = 0x00000021,
	SMPP_SUBMIT_MULTI_RESP = 0x80000021,
	SMPP_ALERT_NOTIFICATION = 0x00000102,
	SMPP_DATA_SM = 0x00000103,
	SMPP_DATA_SM_RESP = 0x80000103,
	SMPP_BROADCAST_SM = 0x00000111,
	SMPP_BROADCAST_SM_RESP = 0x80000111,
	SMPP_QUERY_BROADCAST_SM = 0x00000112,
	SMPP_QUERY_BROADCAST_SM_RESP = 0x80000112,
	SMPP_CANCEL_BROADCAST_SM = 0x00000113,
	SMPP_CANCEL_BROADCAST_SM_RESP = 0x80000113,
};

enum smpp_tlv_tag {
	SMPP_TLV_DEST_ADDR_SUBUNIT = 0x0005,
	SMPP_TLV_DEST_NETWORK_TYPE = 0x0006,
	SMPP_TLV_DEST_BEARER_TYPE = 0x0007,
	SMPP_TLV_DEST_TELEMATICS_ID = 0x0008,
	SMPP_TLV_SOURCE_ADDR_SUBUNIT = 0x000D,
	SMPP_TLV_SOURCE_NETWORK_TYPE = 0x000E,
	SMPP_TLV_SOURCE_BEARER_TYPE = 0x000F,
	SMPP_TLV_SOURCE_TELEMATICS_ID = 0x0010,
	SMPP_TLV_QOS_TIME_TO_LIVE = 0x0017,
	SMPP_TLV_PAYLOAD_TYPE = 0x0019,
	SMPP_TLV_ADDITIONAL_STATUS_INFO_TEXT = 0x001D,
	SMPP_TLV_RECEIPTED_MESSAGE_ID = 0x001E,
	SMPP_TLV_MS_MSG_WAIT_FACILITIES = 0x0030,
	SMPP_TLV_PRIVACY_INDICATOR = 0x0201,
	SMPP_TLV_SOURCE_SUBADDRESS = 0x0202,
	SMPP_TLV_DEST_SUBADDRESS = 0x0203,
	SMPP_TLV_USER_MESSAGE_REFERENCE = 0x0204,
	SMPP_TLV_USER_RESPONSE_CODE = 0x0205,
	SMPP_TLV_SOURCE_PORT = 0x020A,
	SMPP_TLV_DESTINATION_PORT = 0x020B,
	SMPP_TLV_SAR_MSG_REF_NUM = 0x020C,
	SMPP_TLV_LANGUAGE_INDICATOR = 0x020D,
	SMPP_TLV_SAR_TOTAL_SEGMENTS = 0x020E,
	SMPP_TLV_SAR_SEGMENT_SEQNUM = 0x020F,
	SMPP_TLV_SC_INTERFACE_VERSION = 0x0210,
	SMPP_TLV_CALLBACK_NUM_PRES_IND = 0x0302,
	SMPP_TLV_CALLBACK_NUM_ATAG = 0x0303,
	SMPP_TLV_NUMBER_OF_MESSAGES = 0x0304,
	SMPP_TLV_CALLBACK_NUM = 0x0381,
	SMPP_TLV_DPF_RESULT = 0x0420,
	SMPP_TLV_SET_DPF = 0x0421,
	SMPP_TLV_MS_AVAILABILITY_STATUS = 0x0422,
	SMPP_TLV_NETWORK_ERROR_CODE = 0x0423,
	SMPP_TLV_MESSAGE_PAYLOAD = 0x0424,
	SMPP_TLV_DELIVERY_FAILURE_REASON = 0x0425,
	SMPP_TLV_MORE_MESSAGES_TO_SEND = 0x0426,
	SMPP_TLV_MESSAGE_STATE = 0x0427,
	SMPP_TLV_CONGESTION_STATE = 0x0428,
	SMPP_TLV_USSD_SERVICE_OP = 0x0501,
	SMPP_TLV_BROADCAST_CHANNEL_INDICATOR = 0x0600,
	SMPP_TLV_BROADCAST_CONTENT_TYPE = 0x0601,
	SMPP_TLV_BROADCAST_CONTENT_TYPE_INFO = 0x0602,
	SMPP_TLV_BROADCAST_MESSAGE_CLASS = 0x0603,
	SMPP_TLV_BROADCAST_REP_NUM = 0x0604,
	SMPP_TLV_BROADCAST_FREQUENCY_INTERVAL = 0x0605,
	SMPP_TLV_BROADCAST_AREA_IDENTIFIER = 0x0606,
	SMPP_TLV_BROADCAST_ERROR_STATUS = 0x0607,
	SMPP_TLV_BROADCAST_AREA_SUCCESS = 0x0608,
	SMPP_TLV_BROADCAST_END_TIME = 0x0609,
	SMPP_TLV_BROADCAST_SERVICE_GROUP = 0x060A,
	SMPP_TLV_BILLING_IDENTIFICATION = 0x060B,
	SMPP_TLV_SOURCE_NETWORK_ID = 0x060D,
	SMPP_TLV_DEST_NETWORK_ID = 0x060E,
	SMPP_TLV_SOURCE_NODE_ID = 0x060F,
	SMPP_TLV_DEST_NODE_ID = 0x0610,
	SMPP_TLV_DEST_ADDR_NP_RESOLUTION = 0x0611,
	SMPP_TLV_DEST_ADDR_NP_INFORMATION = 0x0612,
	SMPP_TLV_DEST_ADDR_NP_COUNTRY = 0x0613,
	SMPP_TLV_DISPLAY_TIME = 0x1201,
	SMPP_TLV_SMS_SIGNAL = 0x1203,
	SMPP_TLV_MS_VALIDITY = 0x1204,
	SMPP_TLV_ALERT_ON_MESSAGE_DELIVERY = 0x130C,
	SMPP_TLV_ITS_REPLY_TYPE = 0x1380,
	SMPP_TLV_ITS_SESSION_INFO = 0x1383,
};

/* One optional parameter.  value is borrowed (see the contract above). */
struct smpp_tlv {
	uint16_t tag;
	uint16_t len;
	const uint8_t *value;
};

/* The commonly used TLVs, parsed by the decoder (first occurrence wins).
 * Output only: the encoder writes pdu->tlvs and ignores this. */
struct smpp_pdu_known {
	bool has_message_payload, has_sar_msg_ref_num, has_sar_total_segments, has_sar_segment_seqnum,
	    has_receipted_message_id, has_message_state, has_network_error_code, has_sc_interface_version,
	    has_user_message_reference, has_source_port, has_destination_port, has_congestion_state,
	    has_ms_availability_status, has_payload_type, has_more_messages_to_send, has_delivery_failure_reason;
	const uint8_t *message_payload; /* borrowed */
	uint16_t message_payload_len;
	uint16_t sar_msg_ref_num;
	uint8_t sar_total_segments, sar_segment_seqnum;
	char receipted_message_id[66]; /* trailing NUL optional on the wire */
	uint8_t message_state;
	uint8_t network_error_type; /* 1 ANSI-136, 2 IS-95, 3 GSM, ... */
	uint16_t network_error_code;
	uint8_t sc_interface_version;
	uint16_t user_message_reference;
	uint16_t source_port, destination_port;
	uint8_t congestion_state;
	uint8_t ms_availability_status, payload_type, more_messages_to_send, delivery_failure_reason;
};

/* One destination of submit_multi: an SME address (dest_flag 1) or a
 * distribution list name (dest_flag 2). */
struct smpp_pdu_dest {
	uint8_t dest_flag;
	uint8_t dest_addr_ton, dest_addr_npi;
	char destination_addr[21];
	char dl_name[21];
};

/* One failed destination in submit_multi_resp. */
struct smpp_pdu_unsuccess {
	uint8_t dest_addr_ton, dest_addr_npi;
	char destination_addr[21];
	uint32_t error_status_code;
};

struct smpp_pdu {
	uint32_t command_length; /* set by decode and encode; encode ignores the input value */
	uint32_t command_id;
	uint32_t command_status;
	uint32_t sequence_number;
	bool body_absent; /* a response sent with the header only */

	/* bind_*, outbind, bind_*_resp */
	char system_id[16];
	char password[9];
	char system_type[13];
	uint8_t interface_version;
	uint8_t addr_ton, addr_npi;
	char address_range[41];

	/* message commands */
	char service_type[6];
	uint8_t source_addr_ton, source_addr_npi;
	char source_addr[65];
	uint8_t dest_addr_ton, dest_addr_npi;
	char destination_addr[65];
	uint8_t esm_class, protocol_id, priority_flag;
	char schedule_delivery_time[17];
	char validity_period[17];
	uint8_t registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id;
	uint8_t sm_length;
	uint8_t short_message[SMPP_PDU_SM_MAX];
	char message_id[65];
	char final_date[17];
	uint8_t message_state, error_code;
	uint8_t esme_addr_ton, esme_addr_npi;
	char esme_addr[65];

	/* submit_multi, submit_multi_resp */
	uint8_t number_of_dests;
	struct smpp_pdu_dest dest_address[SMPP_PDU_MAX_DESTS];
	uint8_t no_unsuccess;
	struct smpp_pdu_unsuccess unsuccess_sme[SMPP_PDU_MAX_DESTS];

	size_t tlv_count;
	struct smpp_tlv tlvs[SMPP_PDU_MAX_TLVS];
	struct smpp_pdu_known known;
};

/* Why a PDU was rejected and what to answer. */
struct smpp_pdu_error {
	uint32_t status;          /* command_status for the answer, e.g. ESME_RINVCMDLEN */
	bool header_read;         /* command_id and sequence_number below are valid */
	uint32_t command_id;      /* of the offending PDU */
	uint32_t sequence_number; /* to echo in the answer */
	/* true: answer generic_nack (header unusable, unknown command, or the
	 * PDU was itself a response); false: answer command_id|0x80000000. */
	bool generic_nack;
	char reason[160];
};

/* Framing for a byte stream.  Looks at the len octets at buf (borrowed):
 * returns 1 with *pdu_len set when a whole PDU is there (it may be followed
 * by more data), 0 when more octets are needed (*pdu_len is the total
 * needed so far: 16 until the length is readable, then command_length), or
 * -EBADMSG with err filled (ESME_RINVCMDLEN) as soon as command_length is
 * below 16 or above SMPP_PDU_MAX_LEN: the stream cannot be resynchronised. */
MUST_CHECK int smpp_pdu_frame(const uint8_t *buf, size_t len, size_t *pdu_len, struct smpp_pdu_error *err);

/* Decodes exactly one PDU of len octets (command_length must equal len).
 * pdu and err are caller-owned and overwritten.  Returns 0, or -EBADMSG
 * with err filled. */
MUST_CHECK int smpp_pdu_decode(const uint8_t *buf, size_t len, struct smpp_pdu *pdu, struct smpp_pdu_error *err);

/* Encodes pdu into out (capacity cap) and sets *out_len.  command_length
 * is computed, the input value is not read.  Returns 0, -EINVAL (unknown
 * command, a field too long, a TLV without value) or -ENOSPC, with err (may
 * be NULL) saying why. */
MUST_CHECK int smpp_pdu_encode(const struct smpp_pdu *pdu, uint8_t *out, size_t cap, size_t *out_len,
                               struct errbuf *err);

/* Appends a TLV (value borrowed, must outlive the encode).  Returns 0 or
 * -ENOSPC when SMPP_PDU_MAX_TLVS are already there. */
MUST_CHECK int smpp_pdu_add_tlv(struct smpp_pdu *pdu, uint16_t tag, const void *value, uint16_t len);
/* First TLV with this tag, or NULL. */
const struct smpp_tlv *smpp_pdu_find_tlv(const struct smpp_pdu *pdu, uint16_t tag);

/* Spec names: "submit_sm", "sar_msg_ref_num"; NULL when unknown. */
const char *smpp_pdu_command_name(uint32_t command_id);
MUST_CHECK int smpp_pdu_command_id(const char *name, uint32_t *command_id);
const char *smpp_pdu_tlv_name(uint16_t tag);

/* The text form (pdu_fields.c).
 * Writes the PDU as the vectors' `fields` column does:
 * "key=value;key=value", values percent-encoded (tests/vectors/README.md),
 * including parsed dlr_* keys for delivery receipts.  out has capacity cap
 * (SMPP_PDU_FIELDS_MAX always suffices).  Returns the length or -ENOSPC. */
MUST_CHECK int smpp_pdu_fields(const struct smpp_pdu *pdu, char *out, size_t cap);
/* The same for a rejected PDU: "error_status=0x...;reason=...". */
MUST_CHECK int smpp_pdu_fields_error(const struct smpp_pdu_error *e, char *out, size_t cap);

/* Where smpp_pdu_fields_set keeps TLV values it decodes from hex.  The
 * caller owns data; the pdu borrows from it. */
struct smpp_pdu_arena {
	uint8_t *data;
	size_t cap;
	size_t used;
};

/* The reverse of smpp_pdu_fields, one key at a time: sets the member that
 * key names from its (already percent-decoded) value.  command_id must come
 * before body fields; tlv.* keys append TLVs in call order; `command` sets
 * command_id or must agree with it.  Keys that are derived on output
 * (command_length, tlv_tags, dlr_*, note) are accepted and ignored, unknown
 * keys are an error.  Returns 0 or -EINVAL. */
MUST_CHECK int smpp_pdu_fields_set(struct smpp_pdu *pdu, const char *key, const char *value,
                                   struct smpp_pdu_arena *arena, struct errbuf *err);

#endif
