/*
 * EMI/UCP error codes.  Names are those of the EMI-UCP Interface 4.x
 * specification (section "Error codes").  The class says what the client
 * does with a message refused with that code; the reasoning per code is in
 * the comment beside it and the README repeats the table.
 */
#include "ucp/nack.h"

#include <stddef.h>

#include "driver.h"

#include "util.h"

struct nack_row {
	unsigned ec;
	const char *name;
	enum ucp_nack_class cls;
};

static const struct nack_row rows[] = {
    {1, "Checksum error", UCP_NACK_RETRY}, /* the frame was damaged on the way */
    {2, "Syntax error", UCP_NACK_REJECT},
    {3, "Operation not supported by system", UCP_NACK_REJECT},
    {4, "Operation not allowed", UCP_NACK_THROTTLE}, /* operators send it when over the agreed rate */
    {5, "Call barring active", UCP_NACK_REJECT},
    {6, "AdC invalid", UCP_NACK_REJECT},
    {7, "Authentication failure", UCP_NACK_RETRY}, /* the session, not the message: retried after login */
    {8, "Legitimisation code for all calls, failure", UCP_NACK_REJECT},
    {9, "GA not valid", UCP_NACK_REJECT},
    {10, "Repetition not allowed", UCP_NACK_REJECT},
    {11, "Legitimisation code for repetition, failure", UCP_NACK_REJECT},
    {12, "Priority call not allowed", UCP_NACK_REJECT},
    {13, "Legitimisation code for priority call, failure", UCP_NACK_REJECT},
    {14, "Urgent message not allowed", UCP_NACK_REJECT},
    {15, "Legitimisation code for urgent message, failure", UCP_NACK_REJECT},
    {16, "Reverse charging not allowed", UCP_NACK_REJECT},
    {17, "Legitimisation code for reverse charging, failure", UCP_NACK_REJECT},
    {18, "Deferred delivery not allowed", UCP_NACK_REJECT},
    {19, "New AC not valid", UCP_NACK_REJECT},
    {20, "New legitimisation code not valid", UCP_NACK_REJECT},
    {21, "Standard text not valid", UCP_NACK_REJECT},
    {22, "Time period not valid", UCP_NACK_REJECT},
    {23, "Message type not supported by system", UCP_NACK_REJECT},
    {24, "Message too long", UCP_NACK_REJECT},
    {25, "Requested standard text not valid", UCP_NACK_REJECT},
    {26, "Message type not valid for the pager type", UCP_NACK_REJECT},
    {27, "Message not found in SMSC", UCP_NACK_REJECT},
    {30, "Subscriber hang-up", UCP_NACK_RETRY},
    {31, "Fax group not supported", UCP_NACK_REJECT},
    {32, "Fax message type not supported", UCP_NACK_REJECT},
    {33, "Address already in list (60 series)", UCP_NACK_REJECT},
    {34, "Address not in list (60 series)", UCP_NACK_REJECT},
    {35, "List full, cannot add address to list (60 series)", UCP_NACK_REJECT},
    {36, "RPID already in use", UCP_NACK_REJECT},
    {37, "Delivery in progress", UCP_NACK_RETRY},
    {38, "Message forwarded", UCP_NACK_REJECT},
};

static const struct nack_row *find(unsigned ec)
{
	for (size_t i = 0; i < ARRAY_LEN(rows); i++)
		if (rows[i].ec == ec)
			return &rows[i];
	return NULL;
}

const char *ucp_nack_name(unsigned ec)
{
	const struct nack_row *r = find(ec);
	return r ? r->name : NULL;
}

enum ucp_nack_class ucp_nack_class(unsigned ec)
{
	const struct nack_row *r = find(ec);
	return r ? r->cls : UCP_NACK_RETRY;
}

const char *ucp_nack_class_name(enum ucp_nack_class c)
{
	switch (c) {
	case UCP_NACK_THROTTLE:
		return "throttle";
	case UCP_NACK_REJECT:
		return "reject";
	case UCP_NACK_RETRY:
	default:
		return "retry";
	}
}

unsigned ucp_nack_of_submit(const struct submit_result *res)
{
	/* The field the database refused, by the spec's codes: the AdC has its
	 * own (06), the validity period and the deferred delivery time theirs
	 * (22, 18), the text's length (24) and its type (23); the rest of a
	 * message the spec has no code for is a syntax error (02).  An account
	 * disabled since its login fails authentication (07). */
	static const unsigned by_field[] = {
	    [SUBMIT_FIELD_NONE] = UCP_EC_SYNTAX,
	    [SUBMIT_FIELD_RECIPIENT] = UCP_EC_ADC_INVALID,
	    [SUBMIT_FIELD_SENDER] = UCP_EC_SYNTAX,
	    [SUBMIT_FIELD_BODY] = UCP_EC_TOO_LONG,
	    [SUBMIT_FIELD_PAYLOAD] = UCP_EC_TOO_LONG,
	    [SUBMIT_FIELD_UDH] = UCP_EC_SYNTAX,
	    [SUBMIT_FIELD_DATA_CODING] = UCP_EC_MT_NOT_SUPPORTED,
	    [SUBMIT_FIELD_VALIDITY] = UCP_EC_TIME_PERIOD,
	    [SUBMIT_FIELD_SCHEDULE] = UCP_EC_DEFERRED_NOT_ALLOWED,
	    [SUBMIT_FIELD_PRIORITY] = UCP_EC_SYNTAX,
	    [SUBMIT_FIELD_MSG_CLASS] = UCP_EC_SYNTAX,
	    [SUBMIT_FIELD_REPORT] = UCP_EC_SYNTAX,
	    [SUBMIT_FIELD_PARTS] = UCP_EC_TOO_LONG,
	    [SUBMIT_FIELD_CONNECTION] = UCP_EC_NOT_ALLOWED,
	    [SUBMIT_FIELD_ACCOUNT] = UCP_EC_AUTH,
	    [SUBMIT_FIELD_KEY] = UCP_EC_SYNTAX,
	};
	switch (res->error) {
	case SUBMIT_OK:
		return res->message_id > 0 ? 0 : UCP_EC_NOT_ALLOWED;
	case SUBMIT_THROTTLED: /* operators send 04 when over the agreed rate */
	case SUBMIT_TEMPORARY:
		return UCP_EC_NOT_ALLOWED;
	case SUBMIT_INVALID:
		break;
	}
	return (size_t)res->field < ARRAY_LEN(by_field) && by_field[res->field] ? by_field[res->field] : UCP_EC_SYNTAX;
}
