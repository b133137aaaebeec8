/*
 * SMPP PDU codec.  Each command is described once, as a list of its
 * mandatory fields in wire order (smpp_pdu_commands below); decode, encode,
 * the key=value dump and the key=value parser all walk that same list, so
 * adding a command is one table row and the four directions cannot disagree.
 * Every read goes through struct pdu_reader, which checks the bounds first.
 */
#include "smpp/pdu.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/kv.h"
#include "smpp/receipt.h"
#include "smpp/status.h"

enum field_kind {
	FK_CSTR,      /* C-Octet string, NUL-terminated on the wire */
	FK_U8,        /* one octet */
	FK_SM,        /* sm_length + short_message */
	FK_DESTS,     /* number_of_dests + dest_address[] (submit_multi) */
	FK_UNSUCCESS, /* no_unsuccess + unsuccess_sme[] (submit_multi_resp) */
};

struct field_desc {
	const char *name; /* spec name, also the struct member name */
	uint8_t kind;
	bool hex;        /* FK_U8 shown as 0xNN, as the spec treats it as bits */
	uint8_t max;     /* FK_CSTR: octets allowed including the NUL */
	uint32_t status; /* FK_CSTR: what to answer when it is longer */
	size_t off;
	size_t size;
};

#define MEMBER(f) offsetof(struct smpp_pdu, f), sizeof(((struct smpp_pdu *)0)->f)
#define CSTR(f, max, st)                                                                                               \
	{                                                                                                              \
#f, FK_CSTR, false, max, st, MEMBER(f)                                                                 \
	}
#define U8(f)                                                                                                          \
	{                                                                                                              \
#f, FK_U8, false, 0, 0, MEMBER(f)                                                                      \
	}
#define X8(f)                                                                                                          \
	{                                                                                                              \
#f, FK_U8, true, 0, 0, MEMBER(f)                                                                       \
	}
#define SM                                                                                                             \
	{                                                                                                              \
		"sm_length", FK_SM, false, 0, 0, MEMBER(sm_length)                                                     \
	}
#define DESTS                                                                                                          \
	{                                                                                                              \
		"number_of_dests", FK_DESTS, false, 0, 0, MEMBER(number_of_dests)                                      \
	}
#define UNSUCCESS                                                                                                      \
	{                                                                                                              \
		"no_unsuccess", FK_UNSUCCESS, false, 0, 0, MEMBER(no_unsuccess)                                        \
	}

#define SRC21 U8(source_addr_ton), U8(source_addr_npi), CSTR(source_addr, 21, SMPP_ESME_RINVSRCADR)
#define DST21 U8(dest_addr_ton), U8(dest_addr_npi), CSTR(destination_addr, 21, SMPP_ESME_RINVDSTADR)
#define SERVICE_TYPE CSTR(service_type, 6, SMPP_ESME_RINVSERTYP)
#define MESSAGE_ID CSTR(message_id, 65, SMPP_ESME_RINVMSGID)
#define SCHED CSTR(schedule_delivery_time, 17, SMPP_ESME_RINVSCHED), CSTR(validity_period, 17, SMPP_ESME_RINVEXPIRY)

static const struct field_desc f_bind[] = {
    CSTR(system_id, 16, SMPP_ESME_RINVSYSID),
    CSTR(password, 9, SMPP_ESME_RINVPASWD),
    CSTR(system_type, 13, SMPP_ESME_RINVSYSTYP),
    X8(interface_version),
    X8(addr_ton),
    X8(addr_npi),
    CSTR(address_range, 41, SMPP_ESME_RBINDFAIL),
};
static const struct field_desc f_bind_resp[] = {CSTR(system_id, 16, SMPP_ESME_RINVSYSID)};
static const struct field_desc f_outbind[] = {
    CSTR(system_id, 16, SMPP_ESME_RINVSYSID),
    CSTR(password, 9, SMPP_ESME_RINVPASWD),
};
static const struct field_desc f_message_id[] = {MESSAGE_ID};
static const struct field_desc f_sm[] = {
    SERVICE_TYPE,
    SRC21,
    DST21,
    X8(esm_class),
    X8(protocol_id),
    X8(priority_flag),
    SCHED,
    X8(registered_delivery),
    U8(replace_if_present_flag),
    X8(data_coding),
    U8(sm_default_msg_id),
    SM,
};
static const struct field_desc f_submit_multi[] = {
    SERVICE_TYPE,
    SRC21,
    DESTS,
    X8(esm_class),
    X8(protocol_id),
    X8(priority_flag),
    SCHED,
    X8(registered_delivery),
    U8(replace_if_present_flag),
    X8(data_coding),
    U8(sm_default_msg_id),
    SM,
};
static const struct field_desc f_submit_multi_resp[] = {MESSAGE_ID, UNSUCCESS};
static const struct field_desc f_data_sm[] = {
    SERVICE_TYPE,
    U8(source_addr_ton),
    U8(source_addr_npi),
    CSTR(source_addr, 65, SMPP_ESME_RINVSRCADR),
    U8(dest_addr_ton),
    U8(dest_addr_npi),
    CSTR(destination_addr, 65, SMPP_ESME_RINVDSTADR),
    X8(esm_class),
    X8(registered_delivery),
    X8(data_coding),
};
static const struct field_desc f_query_sm[] = {MESSAGE_ID, SRC21};
static const struct field_desc f_query_sm_resp[] = {
    MESSAGE_ID,
    CSTR(final_date, 17, SMPP_ESME_RINVCMDLEN),
    U8(message_state),
    U8(error_code),
};
static const struct field_desc f_cancel_sm[] = {SERVICE_TYPE, MESSAGE_ID, SRC21, DST21};
static const struct field_desc f_replace_sm[] = {
    MESSAGE_ID, SRC21, SCHED, X8(registered_delivery), U8(sm_default_msg_id), SM,
};
static const struct field_desc f_alert_notification[] = {
    U8(source_addr_ton), U8(source_addr_npi), CSTR(source_addr, 65, SMPP_ESME_RINVSRCADR),
    U8(esme_addr_ton),   U8(esme_addr_npi),   CSTR(esme_addr, 65, SMPP_ESME_RINVDSTADR),
};
static const struct field_desc f_broadcast_sm[] = {
    SERVICE_TYPE,          SRC21, MESSAGE_ID, X8(priority_flag), SCHED, U8(replace_if_present_flag), X8(data_coding),
    U8(sm_default_msg_id),
};
static const struct field_desc f_query_broadcast_sm[] = {MESSAGE_ID, SRC21};
static const struct field_desc f_cancel_broadcast_sm[] = {SERVICE_TYPE, MESSAGE_ID, SRC21};

struct command_desc {
	uint32_t id;
	const char *name;
	const struct field_desc *fields;
	size_t nfields;
};

#define CMD(id, name, f)                                                                                               \
	{                                                                                                              \
		id, name, f, ARRAY_LEN(f)                                                                              \
	}
#define CMD0(id, name)                                                                                                 \
	{                                                                                                              \
		id, name, NULL, 0                                                                                      \
	}

static const struct command_desc smpp_pdu_commands[] = {
    CMD0(SMPP_GENERIC_NACK, "generic_nack"),
    CMD(SMPP_BIND_RECEIVER, "bind_receiver", f_bind),
    CMD(SMPP_BIND_RECEIVER_RESP, "bind_receiver_resp", f_bind_resp),
    CMD(SMPP_BIND_TRANSMITTER, "bind_transmitter", f_bind),
    CMD(SMPP_BIND_TRANSMITTER_RESP, "bind_transmitter_resp", f_bind_resp),
    CMD(SMPP_QUERY_SM, "query_sm", f_query_sm),
    CMD(SMPP_QUERY_SM_RESP, "query_sm_resp", f_query_sm_resp),
    CMD(SMPP_SUBMIT_SM, "submit_sm", f_sm),
    CMD(SMPP_SUBMIT_SM_RESP, "submit_sm_resp", f_message_id),
    CMD(SMPP_DELIVER_SM, "deliver_sm", f_sm),
    CMD(SMPP_DELIVER_SM_RESP, "deliver_sm_resp", f_message_id),
    CMD0(SMPP_UNBIND, "unbind"),
    CMD0(SMPP_UNBIND_RESP, "unbind_resp"),
    CMD(SMPP_REPLACE_SM, "replace_sm", f_replace_sm),
    CMD0(SMPP_REPLACE_SM_RESP, "replace_sm_resp"),
    CMD(SMPP_CANCEL_SM, "cancel_sm", f_cancel_sm),
    CMD0(SMPP_CANCEL_SM_RESP, "cancel_sm_resp"),
    CMD(SMPP_BIND_TRANSCEIVER, "bind_transceiver", f_bind),
    CMD(SMPP_BIND_TRANSCEIVER_RESP, "bind_transceiver_resp", f_bind_resp),
    CMD(SMPP_OUTBIND, "outbind", f_outbind),
    CMD0(SMPP_ENQUIRE_LINK, "enquire_link"),
    CMD0(SMPP_ENQUIRE_LINK_RESP, "enquire_link_resp"),
    CMD(SMPP_SUBMIT_MULTI, "submit_multi", f_submit_multi),
    CMD(SMPP_SUBMIT_MULTI_RESP, "submit_multi_resp", f_submit_multi_resp),
    CMD(SMPP_ALERT_NOTIFICATION, "alert_notification", f_alert_notification),
    CMD(SMPP_DATA_SM, "data_sm", f_data_sm),
    CMD(SMPP_DATA_SM_RESP, "data_sm_resp", f_message_id),
    CMD(SMPP_BROADCAST_SM, "broadcast_sm", f_broadcast_sm),
    CMD(SMPP_BROADCAST_SM_RESP, "broadcast_sm_resp", f_message_id),
    CMD(SMPP_QUERY_BROADCAST_SM, "query_broadcast_sm", f_query_broadcast_sm),
    CMD(SMPP_QUERY_BROADCAST_SM_RESP, "query_broadcast_sm_resp", f_message_id),
    CMD(SMPP_CANCEL_BROADCAST_SM, "cancel_broadcast_sm", f_cancel_broadcast_sm),
    CMD0(SMPP_CANCEL_BROADCAST_SM_RESP, "cancel_broadcast_sm_resp"),
};

/* Known TLVs with the value lengths the specification allows; a known tag
 * outside its range is answered with ESME_RINVPARLEN. */
static const struct tlv_desc {
	uint16_t tag;
	const char *name;
	uint16_t min, max;
} smpp_pdu_tlvs[] = {
    {SMPP_TLV_DEST_ADDR_SUBUNIT, "dest_addr_subunit", 1, 1},
    {SMPP_TLV_DEST_NETWORK_TYPE, "dest_network_type", 1, 1},
    {SMPP_TLV_DEST_BEARER_TYPE, "dest_bearer_type", 1, 1},
    {SMPP_TLV_DEST_TELEMATICS_ID, "dest_telematics_id", 2, 2},
    {SMPP_TLV_SOURCE_ADDR_SUBUNIT, "source_addr_subunit", 1, 1},
    {SMPP_TLV_SOURCE_NETWORK_TYPE, "source_network_type", 1, 1},
    {SMPP_TLV_SOURCE_BEARER_TYPE, "source_bearer_type", 1, 1},
    /* v3.4 gives 1 octet in one table and 2 in another. */
    {SMPP_TLV_SOURCE_TELEMATICS_ID, "source_telematics_id", 1, 2},
    {SMPP_TLV_QOS_TIME_TO_LIVE, "qos_time_to_live", 4, 4},
    {SMPP_TLV_PAYLOAD_TYPE, "payload_type", 1, 1},
    {SMPP_TLV_ADDITIONAL_STATUS_INFO_TEXT, "additional_status_info_text", 0, 256},
    {SMPP_TLV_RECEIPTED_MESSAGE_ID, "receipted_message_id", 0, 65},
    {SMPP_TLV_MS_MSG_WAIT_FACILITIES, "ms_msg_wait_facilities", 1, 1},
    {SMPP_TLV_PRIVACY_INDICATOR, "privacy_indicator", 1, 1},
    {SMPP_TLV_SOURCE_SUBADDRESS, "source_subaddress", 2, 23},
    {SMPP_TLV_DEST_SUBADDRESS, "dest_subaddress", 2, 23},
    {SMPP_TLV_USER_MESSAGE_REFERENCE, "user_message_reference", 2, 2},
    {SMPP_TLV_USER_RESPONSE_CODE, "user_response_code", 1, 1},
    {SMPP_TLV_SOURCE_PORT, "source_port", 2, 2},
    {SMPP_TLV_DESTINATION_PORT, "destination_port", 2, 2},
    {SMPP_TLV_SAR_MSG_REF_NUM, "sar_msg_ref_num", 2, 2},
    {SMPP_TLV_LANGUAGE_INDICATOR, "language_indicator", 1, 1},
    {SMPP_TLV_SAR_TOTAL_SEGMENTS, "sar_total_segments", 1, 1},
    {SMPP_TLV_SAR_SEGMENT_SEQNUM, "sar_segment_seqnum", 1, 1},
    {SMPP_TLV_SC_INTERFACE_VERSION, "sc_interface_version", 1, 1},
    {SMPP_TLV_CALLBACK_NUM_PRES_IND, "callback_num_pres_ind", 1, 1},
    {SMPP_TLV_CALLBACK_NUM_ATAG, "callback_num_atag", 0, 65},
    {SMPP_TLV_NUMBER_OF_MESSAGES, "number_of_messages", 1, 1},
    {SMPP_TLV_CALLBACK_NUM, "callback_num", 4, 19},
    {SMPP_TLV_DPF_RESULT, "dpf_result", 1, 1},
    {SMPP_TLV_SET_DPF, "set_dpf", 1, 1},
    {SMPP_TLV_MS_AVAILABILITY_STATUS, "ms_availability_status", 1, 1},
    {SMPP_TLV_NETWORK_ERROR_CODE, "network_error_code", 3, 3},
    {SMPP_TLV_MESSAGE_PAYLOAD, "message_payload", 0, 65535},
    {SMPP_TLV_DELIVERY_FAILURE_REASON, "delivery_failure_reason", 1, 1},
    {SMPP_TLV_MORE_MESSAGES_TO_SEND, "more_messages_to_send", 1, 1},
    {SMPP_TLV_MESSAGE_STATE, "message_state", 1, 1},
    {SMPP_TLV_CONGESTION_STATE, "congestion_state", 1, 1},
    {SMPP_TLV_USSD_SERVICE_OP, "ussd_service_op", 1, 1},
    {SMPP_TLV_BROADCAST_CHANNEL_INDICATOR, "broadcast_channel_indicator", 1, 1},
    {SMPP_TLV_BROADCAST_CONTENT_TYPE, "broadcast_content_type", 3, 3},
    {SMPP_TLV_BROADCAST_CONTENT_TYPE_INFO, "broadcast_content_type_info", 0, 255},
    {SMPP_TLV_BROADCAST_MESSAGE_CLASS, "broadcast_message_class", 1, 1},
    {SMPP_TLV_BROADCAST_REP_NUM, "broadcast_rep_num", 2, 2},
    {SMPP_TLV_BROADCAST_FREQUENCY_INTERVAL, "broadcast_frequency_interval", 3, 3},
    {SMPP_TLV_BROADCAST_AREA_IDENTIFIER, "broadcast_area_identifier", 0, 100},
    {SMPP_TLV_BROADCAST_ERROR_STATUS, "broadcast_error_status", 4, 4},
    {SMPP_TLV_BROADCAST_AREA_SUCCESS, "broadcast_area_success", 1, 1},
    {SMPP_TLV_BROADCAST_END_TIME, "broadcast_end_time", 0, 17},
    {SMPP_TLV_BROADCAST_SERVICE_GROUP, "broadcast_service_group", 0, 255},
    {SMPP_TLV_BILLING_IDENTIFICATION, "billing_identification", 0, 1024},
    {SMPP_TLV_SOURCE_NETWORK_ID, "source_network_id", 0, 65},
    {SMPP_TLV_DEST_NETWORK_ID, "dest_network_id", 0, 65},
    {SMPP_TLV_SOURCE_NODE_ID, "source_node_id", 6, 6},
    {SMPP_TLV_DEST_NODE_ID, "dest_node_id", 6, 6},
    {SMPP_TLV_DEST_ADDR_NP_RESOLUTION, "dest_addr_np_resolution", 1, 1},
    {SMPP_TLV_DEST_ADDR_NP_INFORMATION, "dest_addr_np_information", 10, 10},
    {SMPP_TLV_DEST_ADDR_NP_COUNTRY, "dest_addr_np_country", 5, 5},
    {SMPP_TLV_DISPLAY_TIME, "display_time", 1, 1},
    {SMPP_TLV_SMS_SIGNAL, "sms_signal", 2, 2},
    {SMPP_TLV_MS_VALIDITY, "ms_validity", 1, 4},
    {SMPP_TLV_ALERT_ON_MESSAGE_DELIVERY, "alert_on_message_delivery", 0, 1},
    {SMPP_TLV_ITS_REPLY_TYPE, "its_reply_type", 1, 1},
    {SMPP_TLV_ITS_SESSION_INFO, "its_session_info", 2, 2},
};

static const struct command_desc *pdu_command(uint32_t id)
{
	for (size_t i = 0; i < ARRAY_LEN(smpp_pdu_commands); i++)
		if (smpp_pdu_commands[i].id == id)
			return &smpp_pdu_commands[i];
	return NULL;
}

static const struct tlv_desc *pdu_tlv(uint16_t tag)
{
	for (size_t i = 0; i < ARRAY_LEN(smpp_pdu_tlvs); i++)
		if (smpp_pdu_tlvs[i].tag == tag)
			return &smpp_pdu_tlvs[i];
	return NULL;
}

const char *smpp_pdu_command_name(uint32_t command_id)
{
	const struct command_desc *c = pdu_command(command_id);
	return c ? c->name : NULL;
}

int smpp_pdu_command_id(const char *name, uint32_t *command_id)
{
	for (size_t i = 0; i < ARRAY_LEN(smpp_pdu_commands); i++)
		if (strcmp(smpp_pdu_commands[i].name, name) == 0) {
			*command_id = smpp_pdu_commands[i].id;
			return 0;
		}
	return -EINVAL;
}

const char *smpp_pdu_tlv_name(uint16_t tag)
{
	const struct tlv_desc *t = pdu_tlv(tag);
	return t ? t->name : NULL;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- decoding ---- */

struct pdu_reader {
	const uint8_t *buf;
	size_t pos, end;
	struct smpp_pdu_error *err;
};

__attribute__((format(printf, 3, 4))) static int pdu_fail(struct smpp_pdu_error *err, uint32_t status, const char *fmt,
                                                          ...)
{
	err->status = status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof err->reason, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static int rd_u8(struct pdu_reader *r, const char *name, uint8_t *v)
{
	if (r->pos >= r->end)
		return pdu_fail(r->err, SMPP_ESME_RINVCMDLEN, "PDU ends before %s", name);
	*v = r->buf[r->pos++];
	return 0;
}

/* Reads a C-Octet string of at most max octets (NUL included) into dst. */
static int rd_cstr(struct pdu_reader *r, const char *name, size_t max, uint32_t status, char *dst, size_t dst_size)
{
	if (max > dst_size)
		abort(); /* a table row larger than its member: a bug, not input */
	size_t avail = r->end - r->pos;
	size_t lim = avail < max ? avail : max;
	const uint8_t *nul = memchr(r->buf + r->pos, 0, lim);
	if (!nul) {
		if (avail < max)
			return pdu_fail(r->err, SMPP_ESME_RINVCMDLEN, "PDU ends inside %s (no NUL)", name);
		return pdu_fail(r->err, status, "%s longer than %zu octets", name, max - 1);
	}
	size_t n = (size_t)(nul - (r->buf + r->pos));
	memcpy(dst, r->buf + r->pos, n + 1);
	r->pos += n + 1;
	return 0;
}

static int rd_dests(struct pdu_reader *r, struct smpp_pdu *pdu)
{
	int rc = rd_u8(r, "number_of_dests", &pdu->number_of_dests);
	if (rc)
		return rc;
	if (pdu->number_of_dests == 0)
		return pdu_fail(r->err, SMPP_ESME_RINVNUMDESTS, "number_of_dests 0");
	for (unsigned i = 0; i < pdu->number_of_dests; i++) {
		struct smpp_pdu_dest *d = &pdu->dest_address[i];
		if ((rc = rd_u8(r, "dest_flag", &d->dest_flag)))
			return rc;
		if (d->dest_flag == 1) {
			if ((rc = rd_u8(r, "dest_addr_ton", &d->dest_addr_ton)) ||
			    (rc = rd_u8(r, "dest_addr_npi", &d->dest_addr_npi)) ||
			    (rc = rd_cstr(r, "destination_addr", 21, SMPP_ESME_RINVDSTADR, d->destination_addr,
			                  sizeof d->destination_addr)))
				return rc;
		} else if (d->dest_flag == 2) {
			if ((rc = rd_cstr(r, "dl_name", 21, SMPP_ESME_RINVDLNAME, d->dl_name, sizeof d->dl_name)))
				return rc;
		} else {
			return pdu_fail(r->err, SMPP_ESME_RINVDESTFLAG, "dest_flag %u", d->dest_flag);
		}
	}
	return 0;
}

static int rd_unsuccess(struct pdu_reader *r, struct smpp_pdu *pdu)
{
	int rc = rd_u8(r, "no_unsuccess", &pdu->no_unsuccess);
	if (rc)
		return rc;
	for (unsigned i = 0; i < pdu->no_unsuccess; i++) {
		struct smpp_pdu_unsuccess *u = &pdu->unsuccess_sme[i];
		if ((rc = rd_u8(r, "dest_addr_ton", &u->dest_addr_ton)) ||
		    (rc = rd_u8(r, "dest_addr_npi", &u->dest_addr_npi)) ||
		    (rc = rd_cstr(r, "destination_addr", 21, SMPP_ESME_RINVDSTADR, u->destination_addr,
		                  sizeof u->destination_addr)))
			return rc;
		if (r->end - r->pos < 4)
			return pdu_fail(r->err, SMPP_ESME_RINVCMDLEN, "PDU ends before error_status_code");
		u->error_status_code = get32(r->buf + r->pos);
		r->pos += 4;
	}
	return 0;
}

static int rd_field(struct pdu_reader *r, const struct field_desc *d, struct smpp_pdu *pdu)
{
	uint8_t *member = (uint8_t *)pdu + d->off;
	switch (d->kind) {
	case FK_CSTR:
		return rd_cstr(r, d->name, d->max, d->status, (char *)member, d->size);
	case FK_U8:
		return rd_u8(r, d->name, member);
	case FK_SM: {
		int rc = rd_u8(r, "sm_length", &pdu->sm_length);
		if (rc)
			return rc;
		if (pdu->sm_length > SMPP_PDU_SM_MAX)
			return pdu_fail(r->err, SMPP_ESME_RINVMSGLEN, "sm_length %u > %u", pdu->sm_length,
			                SMPP_PDU_SM_MAX);
		if (pdu->sm_length > r->end - r->pos)
			return pdu_fail(r->err, SMPP_ESME_RINVMSGLEN, "sm_length beyond PDU");
		memcpy(pdu->short_message, r->buf + r->pos, pdu->sm_length);
		r->pos += pdu->sm_length;
		return 0;
	}
	case FK_DESTS:
		return rd_dests(r, pdu);
	case FK_UNSUCCESS:
		return rd_unsuccess(r, pdu);
	}
	abort();
}

/* Fills pdu->known from one TLV whose length is already checked against
 * the table. */
static void pdu_known_tlv(struct smpp_pdu_known *k, const struct smpp_tlv *t)
{
	const uint8_t *v = t->value;
	switch (t->tag) {
	case SMPP_TLV_MESSAGE_PAYLOAD:
		if (!k->has_message_payload) {
			k->has_message_payload = true;
			k->message_payload = v;
			k->message_payload_len = t->len;
		}
		break;
#define KNOWN(tagv, field, expr)                                                                                       \
	case tagv:                                                                                                     \
		if (!k->has_##field) {                                                                                 \
			k->has_##field = true;                                                                         \
			k->field = (expr);                                                                             \
		}                                                                                                      \
		break;
		KNOWN(SMPP_TLV_SAR_MSG_REF_NUM, sar_msg_ref_num, get16(v))
		KNOWN(SMPP_TLV_SAR_TOTAL_SEGMENTS, sar_total_segments, v[0])
		KNOWN(SMPP_TLV_SAR_SEGMENT_SEQNUM, sar_segment_seqnum, v[0])
		KNOWN(SMPP_TLV_MESSAGE_STATE, message_state, v[0])
		KNOWN(SMPP_TLV_SC_INTERFACE_VERSION, sc_interface_version, v[0])
		KNOWN(SMPP_TLV_USER_MESSAGE_REFERENCE, user_message_reference, get16(v))
		KNOWN(SMPP_TLV_SOURCE_PORT, source_port, get16(v))
		KNOWN(SMPP_TLV_DESTINATION_PORT, destination_port, get16(v))
		KNOWN(SMPP_TLV_CONGESTION_STATE, congestion_state, v[0])
		KNOWN(SMPP_TLV_MS_AVAILABILITY_STATUS, ms_availability_status, v[0])
		KNOWN(SMPP_TLV_PAYLOAD_TYPE, payload_type, v[0])
		KNOWN(SMPP_TLV_MORE_MESSAGES_TO_SEND, more_messages_to_send, v[0])
		KNOWN(SMPP_TLV_DELIVERY_FAILURE_REASON, delivery_failure_reason, v[0])
#undef KNOWN
	case SMPP_TLV_NETWORK_ERROR_CODE:
		if (!k->has_network_error_code) {
			k->has_network_error_code = true;
			k->network_error_type = v[0];
			k->network_error_code = get16(v + 1);
		}
		break;
	case SMPP_TLV_RECEIPTED_MESSAGE_ID:
		if (!k->has_receipted_message_id) {
			/* The NUL is often left out on the wire; stop at the
			 * first one if there is one. */
			const uint8_t *nul = t->len ? memchr(v, 0, t->len) : NULL;
			size_t n = nul ? (size_t)(nul - v) : t->len;
			k->has_receipted_message_id = true;
			memcpy(k->receipted_message_id, v, n);
			k->receipted_message_id[n] = '\0';
		}
		break;
	default:
		break;
	}
}

static int rd_tlvs(struct pdu_reader *r, struct smpp_pdu *pdu)
{
	while (r->pos < r->end) {
		if (r->end - r->pos < 4)
			return pdu_fail(r->err, SMPP_ESME_RINVOPTPARSTREAM, "TLV header truncated (%zu octets left)",
			                r->end - r->pos);
		uint16_t tag = get16(r->buf + r->pos), len = get16(r->buf + r->pos + 2);
		r->pos += 4;
		if (len > r->end - r->pos)
			return pdu_fail(r->err, SMPP_ESME_RINVPARLEN, "TLV length beyond PDU");
		if (pdu->tlv_count == SMPP_PDU_MAX_TLVS)
			return pdu_fail(r->err, SMPP_ESME_RINVOPTPARSTREAM, "more than %d TLVs", SMPP_PDU_MAX_TLVS);
		const struct tlv_desc *td = pdu_tlv(tag);
		if (td && (len < td->min || len > td->max))
			return pdu_fail(r->err, SMPP_ESME_RINVPARLEN, "TLV %s length %u not in %u..%u", td->name, len,
			                td->min, td->max);
		struct smpp_tlv *t = &pdu->tlvs[pdu->tlv_count++];
		t->tag = tag;
		t->len = len;
		t->value = r->buf + r->pos;
		r->pos += len;
		if (td)
			pdu_known_tlv(&pdu->known, t);
	}
	return 0;
}

/* Header checks shared by framing and decoding.  len is what is buffered. */
static int pdu_check_length(uint32_t cl, struct smpp_pdu_error *err)
{
	if (cl < SMPP_PDU_HEADER_LEN)
		return pdu_fail(err, SMPP_ESME_RINVCMDLEN, "command_length %u < %u", cl, SMPP_PDU_HEADER_LEN);
	if (cl > SMPP_PDU_MAX_LEN)
		return pdu_fail(err, SMPP_ESME_RINVCMDLEN, "command_length %u > %u", cl, SMPP_PDU_MAX_LEN);
	return 0;
}

static void pdu_error_header(const uint8_t *buf, size_t len, struct smpp_pdu_error *err)
{
	memset(err, 0, sizeof *err);
	err->generic_nack = true; /* until the header is known to be sound */
	if (len >= SMPP_PDU_HEADER_LEN) {
		err->header_read = true;
		err->command_id = get32(buf + 4);
		err->sequence_number = get32(buf + 12);
	}
}

int smpp_pdu_frame(const uint8_t *buf, size_t len, size_t *pdu_len, struct smpp_pdu_error *err)
{
	pdu_error_header(buf, len, err);
	if (len < 4) {
		*pdu_len = SMPP_PDU_HEADER_LEN;
		return 0;
	}
	uint32_t cl = get32(buf);
	if (pdu_check_length(cl, err))
		return -EBADMSG;
	*pdu_len = cl;
	return len >= cl ? 1 : 0;
}

int smpp_pdu_decode(const uint8_t *buf, size_t len, struct smpp_pdu *pdu, struct smpp_pdu_error *err)
{
	memset(pdu, 0, sizeof *pdu);
	pdu_error_header(buf, len, err);
	if (len < 4)
		return pdu_fail(err, SMPP_ESME_RINVCMDLEN, "%zu octets, no command_length", len);
	uint32_t cl = get32(buf);
	/* The length is checked against what is there before its own bounds:
	 * a receiver learns first that the stream is out of step. */
	if (cl != len)
		return pdu_fail(err, SMPP_ESME_RINVCMDLEN, "command_length %u != %zu octets", cl, len);
	if (pdu_check_length(cl, err))
		return -EBADMSG;
	pdu->command_length = cl;
	pdu->command_id = get32(buf + 4);
	pdu->command_status = get32(buf + 8);
	pdu->sequence_number = get32(buf + 12);

	const struct command_desc *cmd = pdu_command(pdu->command_id);
	if (!cmd)
		return pdu_fail(err, SMPP_ESME_RINVCMDID, "unknown command_id");
	/* A broken request is answered by its own response; a broken response
	 * can only be answered by generic_nack. */
	err->generic_nack = (pdu->command_id & SMPP_RESP_BIT) != 0;

	struct pdu_reader r = {.buf = buf, .pos = SMPP_PDU_HEADER_LEN, .end = cl, .err = err};
	/* Responses in error usually come header-only (v3.4 4.1.2 and
	 * others); some peers do the same for deliver_sm_resp even on
	 * success.  Accept both and let the session judge. */
	if (cmd->nfields && (pdu->command_id & SMPP_RESP_BIT) && cl == SMPP_PDU_HEADER_LEN) {
		pdu->body_absent = true;
		return 0;
	}
	for (size_t i = 0; i < cmd->nfields; i++) {
		int rc = rd_field(&r, &cmd->fields[i], pdu);
		if (rc)
			return rc;
	}
	return rd_tlvs(&r, pdu);
}

/* ---- encoding ---- */

struct pdu_writer {
	uint8_t *out;
	size_t cap, len;
	bool overflow;
};

static void wr(struct pdu_writer *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	if (n)
		memcpy(w->out + w->len, p, n);
	w->len += n;
}

static void wr_u8(struct pdu_writer *w, uint8_t v)
{
	wr(w, &v, 1);
}

static void wr_u16(struct pdu_writer *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	wr(w, b, 2);
}

static void wr_u32(struct pdu_writer *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	wr(w, b, 4);
}

static int wr_cstr(struct pdu_writer *w, const char *name, const char *s, size_t size, size_t max, struct errbuf *err)
{
	size_t n = strnlen(s, size);
	if (n >= max)
		return errbuf_set(err, "%s longer than %zu octets", name, max - 1), -EINVAL;
	wr(w, s, n + 1);
	return 0;
}

static int wr_field(struct pdu_writer *w, const struct field_desc *d, const struct smpp_pdu *pdu, struct errbuf *err)
{
	const uint8_t *member = (const uint8_t *)pdu + d->off;
	int rc;
	switch (d->kind) {
	case FK_CSTR:
		return wr_cstr(w, d->name, (const char *)member, d->size, d->max, err);
	case FK_U8:
		wr_u8(w, *member);
		return 0;
	case FK_SM:
		if (pdu->sm_length > SMPP_PDU_SM_MAX)
			return errbuf_set(err, "sm_length %u > %u", pdu->sm_length, SMPP_PDU_SM_MAX), -EINVAL;
		wr_u8(w, pdu->sm_length);
		wr(w, pdu->short_message, pdu->sm_length);
		return 0;
	case FK_DESTS:
		if (pdu->number_of_dests == 0)
			return errbuf_set(err, "number_of_dests 0"), -EINVAL;
		wr_u8(w, pdu->number_of_dests);
		for (unsigned i = 0; i < pdu->number_of_dests; i++) {
			const struct smpp_pdu_dest *dd = &pdu->dest_address[i];
			wr_u8(w, dd->dest_flag);
			if (dd->dest_flag == 1) {
				wr_u8(w, dd->dest_addr_ton);
				wr_u8(w, dd->dest_addr_npi);
				rc = wr_cstr(w, "destination_addr", dd->destination_addr, sizeof dd->destination_addr,
				             21, err);
			} else if (dd->dest_flag == 2) {
				rc = wr_cstr(w, "dl_name", dd->dl_name, sizeof dd->dl_name, 21, err);
			} else {
				rc = (errbuf_set(err, "dest_flag %u", dd->dest_flag), -EINVAL);
			}
			if (rc)
				return rc;
		}
		return 0;
	case FK_UNSUCCESS:
		wr_u8(w, pdu->no_unsuccess);
		for (unsigned i = 0; i < pdu->no_unsuccess; i++) {
			const struct smpp_pdu_unsuccess *u = &pdu->unsuccess_sme[i];
			wr_u8(w, u->dest_addr_ton);
			wr_u8(w, u->dest_addr_npi);
			if ((rc = wr_cstr(w, "destination_addr", u->destination_addr, sizeof u->destination_addr, 21,
			                  err)))
				return rc;
			wr_u32(w, u->error_status_code);
		}
		return 0;
	}
	abort();
}

int smpp_pdu_encode(const struct smpp_pdu *pdu, uint8_t *out, size_t cap, size_t *out_len, struct errbuf *err)
{
	const struct command_desc *cmd = pdu_command(pdu->command_id);
	if (!cmd)
		return errbuf_set(err, "unknown command_id 0x%08X", pdu->command_id), -EINVAL;
	if (pdu->tlv_count > SMPP_PDU_MAX_TLVS)
		return errbuf_set(err, "tlv_count %zu > %d", pdu->tlv_count, SMPP_PDU_MAX_TLVS), -EINVAL;
	struct pdu_writer w = {.out = out, .cap = cap};
	wr_u32(&w, 0); /* command_length, patched below */
	wr_u32(&w, pdu->command_id);
	wr_u32(&w, pdu->command_status);
	wr_u32(&w, pdu->sequence_number);
	if (pdu->body_absent) {
		if (!(pdu->command_id & SMPP_RESP_BIT) || pdu->tlv_count)
			return errbuf_set(err, "only a response without TLVs can omit its body"), -EINVAL;
	} else {
		for (size_t i = 0; i < cmd->nfields; i++) {
			int rc = wr_field(&w, &cmd->fields[i], pdu, err);
			if (rc)
				return rc;
		}
		for (size_t i = 0; i < pdu->tlv_count; i++) {
			const struct smpp_tlv *t = &pdu->tlvs[i];
			if (t->len && !t->value)
				return errbuf_set(err, "TLV 0x%04X has no value", t->tag), -EINVAL;
			wr_u16(&w, t->tag);
			wr_u16(&w, t->len);
			wr(&w, t->value, t->len);
		}
	}
	if (w.overflow)
		return errbuf_set(err, "PDU does not fit in %zu octets", cap), -ENOSPC;
	if (w.len > SMPP_PDU_MAX_LEN)
		return errbuf_set(err, "PDU of %zu octets > %u", w.len, SMPP_PDU_MAX_LEN), -EINVAL;
	out[0] = (uint8_t)(w.len >> 24);
	out[1] = (uint8_t)(w.len >> 16);
	out[2] = (uint8_t)(w.len >> 8);
	out[3] = (uint8_t)w.len;
	*out_len = w.len;
	return 0;
}

int smpp_pdu_add_tlv(struct smpp_pdu *pdu, uint16_t tag, const void *value, uint16_t len)
{
	if (pdu->tlv_count >= SMPP_PDU_MAX_TLVS)
		return -ENOSPC;
	pdu->tlvs[pdu->tlv_count++] = (struct smpp_tlv){.tag = tag, .len = len, .value = value};
	return 0;
}

const struct smpp_tlv *smpp_pdu_find_tlv(const struct smpp_pdu *pdu, uint16_t tag)
{
	for (size_t i = 0; i < pdu->tlv_count; i++)
		if (pdu->tlvs[i].tag == tag)
			return &pdu->tlvs[i];
	return NULL;
}

/* ---- key=value dump ---- */

static void dump_field(struct kv *w, const struct field_desc *d, const struct smpp_pdu *pdu)
{
	const uint8_t *member = (const uint8_t *)pdu + d->off;
	char key[64];
	switch (d->kind) {
	case FK_CSTR:
		kv_str(w, d->name, (const char *)member);
		break;
	case FK_U8:
		if (d->hex)
			kv_fmt(w, d->name, "0x%02X", *member);
		else
			kv_fmt(w, d->name, "%u", *member);
		break;
	case FK_SM:
		kv_fmt(w, "sm_length", "%u", pdu->sm_length);
		kv_hex(w, "short_message_hex", pdu->short_message, pdu->sm_length);
		break;
	case FK_DESTS:
		kv_fmt(w, "number_of_dests", "%u", pdu->number_of_dests);
		for (unsigned i = 0; i < pdu->number_of_dests; i++) {
			const struct smpp_pdu_dest *dd = &pdu->dest_address[i];
			snprintf(key, sizeof key, "dest_address.%u.dest_flag", i + 1);
			kv_fmt(w, key, "%u", dd->dest_flag);
			if (dd->dest_flag == 1) {
				snprintf(key, sizeof key, "dest_address.%u.dest_addr_ton", i + 1);
				kv_fmt(w, key, "%u", dd->dest_addr_ton);
				snprintf(key, sizeof key, "dest_address.%u.dest_addr_npi", i + 1);
				kv_fmt(w, key, "%u", dd->dest_addr_npi);
				snprintf(key, sizeof key, "dest_address.%u.destination_addr", i + 1);
				kv_str(w, key, dd->destination_addr);
			} else {
				snprintf(key, sizeof key, "dest_address.%u.dl_name", i + 1);
				kv_str(w, key, dd->dl_name);
			}
		}
		break;
	case FK_UNSUCCESS:
		kv_fmt(w, "no_unsuccess", "%u", pdu->no_unsuccess);
		for (unsigned i = 0; i < pdu->no_unsuccess; i++) {
			const struct smpp_pdu_unsuccess *u = &pdu->unsuccess_sme[i];
			snprintf(key, sizeof key, "unsuccess_sme.%u.dest_addr_ton", i + 1);
			kv_fmt(w, key, "%u", u->dest_addr_ton);
			snprintf(key, sizeof key, "unsuccess_sme.%u.dest_addr_npi", i + 1);
			kv_fmt(w, key, "%u", u->dest_addr_npi);
			snprintf(key, sizeof key, "unsuccess_sme.%u.destination_addr", i + 1);
			kv_str(w, key, u->destination_addr);
			snprintf(key, sizeof key, "unsuccess_sme.%u.error_status_code", i + 1);
			kv_fmt(w, key, "0x%08X", u->error_status_code);
		}
		break;
	}
}

/* deliver_sm carrying an SMSC delivery receipt or an intermediate
 * notification (esm_class bits 5..2 = 0001 or 1000, v3.4 5.2.12). */
static void dump_receipt(struct kv *w, const struct smpp_pdu *pdu)
{
	if (pdu->command_id != SMPP_DELIVER_SM || pdu->body_absent)
		return;
	uint8_t type = pdu->esm_class & 0x3C;
	if (type != 0x04 && type != 0x20)
		return;
	const char *text = (const char *)pdu->short_message;
	size_t len = pdu->sm_length;
	if (!len && pdu->known.has_message_payload) {
		text = (const char *)pdu->known.message_payload;
		len = pdu->known.message_payload_len;
	}
	struct smpp_receipt r;
	if (smpp_receipt_parse(text, len, &r))
		return;
	if (r.has_id)
		kv_str(w, "dlr_id", r.id);
	if (r.has_sub)
		kv_str(w, "dlr_sub", r.sub);
	if (r.has_dlvrd)
		kv_str(w, "dlr_dlvrd", r.dlvrd);
	if (r.has_submit_date)
		kv_str(w, "dlr_submit_date", r.submit_date);
	if (r.has_done_date)
		kv_str(w, "dlr_done_date", r.done_date);
	if (r.has_stat)
		kv_str(w, "dlr_stat", r.stat);
	if (r.has_err)
		kv_str(w, "dlr_err", r.err);
	if (r.has_text)
		kv_str(w, "dlr_text", r.text);
}

int smpp_pdu_fields(const struct smpp_pdu *pdu, char *out, size_t cap)
{
	struct kv w = {.out = out, .cap = cap};
	if (cap)
		out[0] = '\0';
	const struct command_desc *cmd = pdu_command(pdu->command_id);
	kv_fmt(&w, "command_length", "%u", pdu->command_length);
	kv_fmt(&w, "command_id", "0x%08X", pdu->command_id);
	kv_fmt(&w, "command_status", "0x%08X", pdu->command_status);
	kv_fmt(&w, "sequence_number", "%u", pdu->sequence_number);
	kv_str(&w, "command", cmd ? cmd->name : "unknown");
	if (pdu->body_absent) {
		kv_str(&w, "body", "absent");
	} else if (cmd) {
		for (size_t i = 0; i < cmd->nfields; i++)
			dump_field(&w, &cmd->fields[i], pdu);
	}
	size_t n = pdu->tlv_count < SMPP_PDU_MAX_TLVS ? pdu->tlv_count : SMPP_PDU_MAX_TLVS;
	for (size_t i = 0; i < n; i++) {
		const struct smpp_tlv *t = &pdu->tlvs[i];
		const char *name = smpp_pdu_tlv_name(t->tag);
		char key[64];
		if (name)
			snprintf(key, sizeof key, "tlv.%s", name);
		else
			snprintf(key, sizeof key, "tlv.0x%04X", t->tag);
		kv_hex(&w, key, t->value, t->value ? t->len : 0);
	}
	if (n) {
		kv_key(&w, "tlv_tags");
		for (size_t i = 0; i < n; i++) {
			char tag[8];
			snprintf(tag, sizeof tag, "%s0x%04X", i ? "," : "", pdu->tlvs[i].tag);
			kv_raw(&w, tag, strlen(tag));
		}
	}
	dump_receipt(&w, pdu);
	return w.overflow ? -ENOSPC : (int)w.len;
}

int smpp_pdu_error_fields(const struct smpp_pdu_error *e, char *out, size_t cap)
{
	struct kv w = {.out = out, .cap = cap};
	if (cap)
		out[0] = '\0';
	kv_fmt(&w, "error_status", "0x%08X", e->status);
	kv_str(&w, "reason", e->reason);
	return w.overflow ? -ENOSPC : (int)w.len;
}

/* ---- key=value parser ---- */

/* Parses "0x..." as hex, anything else as decimal; the whole string must be
 * a number no larger than max. */
static int pdu_parse_uint(const char *s, uint32_t max, uint32_t *v)
{
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2, base = 16;
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, base);
	if (errno || *end || n > max)
		return -EINVAL;
	*v = (uint32_t)n;
	return 0;
}

static int set_tlv(struct smpp_pdu *pdu, const char *name, const char *value, struct smpp_pdu_arena *arena,
                   struct errbuf *err)
{
	uint32_t tag = 0;
	if (strncmp(name, "0x", 2) == 0) {
		if (pdu_parse_uint(name, 0xFFFF, &tag))
			return errbuf_set(err, "bad TLV tag %s", name), -EINVAL;
	} else {
		const struct tlv_desc *td = NULL;
		for (size_t i = 0; i < ARRAY_LEN(smpp_pdu_tlvs) && !td; i++)
			if (strcmp(smpp_pdu_tlvs[i].name, name) == 0)
				td = &smpp_pdu_tlvs[i];
		if (!td)
			return errbuf_set(err, "unknown TLV name %s", name), -EINVAL;
		tag = td->tag;
	}
	size_t hexlen = strlen(value);
	if (hexlen / 2 > 0xFFFF || !arena || hexlen / 2 > arena->cap - arena->used)
		return errbuf_set(err, "no room for TLV %s", name), -EINVAL;
	uint8_t *dst = arena->data + arena->used;
	int n = hex_decode(value, dst, arena->cap - arena->used);
	if (n < 0)
		return errbuf_set(err, "TLV %s: bad hex", name), -EINVAL;
	arena->used += (size_t)n;
	if (smpp_pdu_add_tlv(pdu, (uint16_t)tag, dst, (uint16_t)n))
		return errbuf_set(err, "more than %d TLVs", SMPP_PDU_MAX_TLVS), -EINVAL;
	return 0;
}

int smpp_pdu_set_field(struct smpp_pdu *pdu, const char *key, const char *value, struct smpp_pdu_arena *arena,
                       struct errbuf *err)
{
	uint32_t v;
	if (!strcmp(key, "command_length") || !strcmp(key, "tlv_tags") || !strcmp(key, "note") ||
	    !strncmp(key, "dlr_", 4))
		return 0;
	if (!strcmp(key, "command_id") || !strcmp(key, "command_status") || !strcmp(key, "sequence_number")) {
		if (pdu_parse_uint(value, UINT32_MAX, &v))
			return errbuf_set(err, "%s: bad number %s", key, value), -EINVAL;
		if (!strcmp(key, "command_id"))
			pdu->command_id = v;
		else if (!strcmp(key, "command_status"))
			pdu->command_status = v;
		else
			pdu->sequence_number = v;
		return 0;
	}
	if (!strcmp(key, "command")) {
		if (smpp_pdu_command_id(value, &v))
			return errbuf_set(err, "unknown command %s", value), -EINVAL;
		if (pdu->command_id && pdu->command_id != v)
			return errbuf_set(err, "command %s contradicts command_id 0x%08X", value, pdu->command_id),
			       -EINVAL;
		pdu->command_id = v;
		return 0;
	}
	if (!strcmp(key, "body")) {
		if (strcmp(value, "absent"))
			return errbuf_set(err, "body=%s: only absent is meaningful", value), -EINVAL;
		pdu->body_absent = true;
		return 0;
	}
	if (!strncmp(key, "tlv.", 4))
		return set_tlv(pdu, key + 4, value, arena, err);
	if (!strcmp(key, "short_message_hex")) {
		int n = hex_decode(value, pdu->short_message, sizeof pdu->short_message);
		if (n < 0)
			return errbuf_set(err, "short_message_hex: bad hex or longer than %u", SMPP_PDU_SM_MAX),
			       -EINVAL;
		pdu->sm_length = (uint8_t)n;
		return 0;
	}
	const struct command_desc *cmd = pdu_command(pdu->command_id);
	if (!cmd)
		return errbuf_set(err, "%s before a known command_id", key), -EINVAL;
	for (size_t i = 0; i < cmd->nfields; i++) {
		const struct field_desc *d = &cmd->fields[i];
		if (strcmp(d->name, key))
			continue;
		uint8_t *member = (uint8_t *)pdu + d->off;
		switch (d->kind) {
		case FK_CSTR:
			if (strlen(value) >= d->max)
				return errbuf_set(err, "%s longer than %u octets", key, d->max - 1), -EINVAL;
			strcpy((char *)member, value);
			return 0;
		case FK_U8:
		case FK_SM:
			if (pdu_parse_uint(value, 255, &v))
				return errbuf_set(err, "%s: bad octet %s", key, value), -EINVAL;
			*member = (uint8_t)v;
			return 0;
		default:
			return errbuf_set(err, "%s cannot be set from text yet", key), -EINVAL;
		}
	}
	return errbuf_set(err, "%s is not a field of %s", key, cmd->name), -EINVAL;
}
