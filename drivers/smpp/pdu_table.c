/*
 * pdu_table: the SMPP commands and TLVs, each described once (see
 * pdu_table.h).  Adding a command is one row here; decode, encode, the
 * key=value dump and the key=value parser all walk the same rows, so the
 * four directions cannot disagree.
 */
#include "smpp/pdu_table.h"

#include <string.h>

#include "smpp/status.h"

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

static const struct smpp_pdu_field_desc f_bind[] = {
    CSTR(system_id, 16, SMPP_ESME_RINVSYSID),
    CSTR(password, 9, SMPP_ESME_RINVPASWD),
    CSTR(system_type, 13, SMPP_ESME_RINVSYSTYP),
    X8(interface_version),
    X8(addr_ton),
    X8(addr_npi),
    CSTR(address_range, 41, SMPP_ESME_RBINDFAIL),
};
static const struct smpp_pdu_field_desc f_bind_resp[] = {CSTR(system_id, 16, SMPP_ESME_RINVSYSID)};
static const struct smpp_pdu_field_desc f_outbind[] = {
    CSTR(system_id, 16, SMPP_ESME_RINVSYSID),
    CSTR(password, 9, SMPP_ESME_RINVPASWD),
};
static const struct smpp_pdu_field_desc f_message_id[] = {MESSAGE_ID};
static const struct smpp_pdu_field_desc f_sm[] = {
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
static const struct smpp_pdu_field_desc f_submit_multi[] = {
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
static const struct smpp_pdu_field_desc f_submit_multi_resp[] = {MESSAGE_ID, UNSUCCESS};
static const struct smpp_pdu_field_desc f_data_sm[] = {
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
static const struct smpp_pdu_field_desc f_query_sm[] = {MESSAGE_ID, SRC21};
static const struct smpp_pdu_field_desc f_query_sm_resp[] = {
    MESSAGE_ID,
    CSTR(final_date, 17, SMPP_ESME_RINVCMDLEN),
    U8(message_state),
    U8(error_code),
};
static const struct smpp_pdu_field_desc f_cancel_sm[] = {SERVICE_TYPE, MESSAGE_ID, SRC21, DST21};
static const struct smpp_pdu_field_desc f_replace_sm[] = {
    MESSAGE_ID, SRC21, SCHED, X8(registered_delivery), U8(sm_default_msg_id), SM,
};
static const struct smpp_pdu_field_desc f_alert_notification[] = {
    U8(source_addr_ton), U8(source_addr_npi), CSTR(source_addr, 65, SMPP_ESME_RINVSRCADR),
    U8(esme_addr_ton),   U8(esme_addr_npi),   CSTR(esme_addr, 65, SMPP_ESME_RINVDSTADR),
};
static const struct smpp_pdu_field_desc f_broadcast_sm[] = {
    SERVICE_TYPE,          SRC21, MESSAGE_ID, X8(priority_flag), SCHED, U8(replace_if_present_flag), X8(data_coding),
    U8(sm_default_msg_id),
};
static const struct smpp_pdu_field_desc f_query_broadcast_sm[] = {MESSAGE_ID, SRC21};
static const struct smpp_pdu_field_desc f_cancel_broadcast_sm[] = {SERVICE_TYPE, MESSAGE_ID, SRC21};

#define CMD(id, name, f)                                                                                               \
	{                                                                                                              \
		id, name, f, ARRAY_LEN(f)                                                                              \
	}
#define CMD0(id, name)                                                                                                 \
	{                                                                                                              \
		id, name, NULL, 0                                                                                      \
	}

static const struct smpp_pdu_command_desc commands[] = {
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
static const struct smpp_pdu_tlv_desc tlvs[] = {
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

const struct smpp_pdu_command_desc *smpp_pdu_table_command(uint32_t command_id)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if (commands[i].id == command_id)
			return &commands[i];
	return NULL;
}

const struct smpp_pdu_command_desc *smpp_pdu_table_command_named(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

const struct smpp_pdu_tlv_desc *smpp_pdu_table_tlv(uint16_t tag)
{
	for (size_t i = 0; i < ARRAY_LEN(tlvs); i++)
		if (tlvs[i].tag == tag)
			return &tlvs[i];
	return NULL;
}

const struct smpp_pdu_tlv_desc *smpp_pdu_table_tlv_named(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(tlvs); i++)
		if (strcmp(tlvs[i].name, name) == 0)
			return &tlvs[i];
	return NULL;
}
