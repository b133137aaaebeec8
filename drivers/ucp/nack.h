/*
 * EMI/UCP error codes (the EC of a negative result) with their spec names,
 * and what a client does with a message the SMSC refused with each: the
 * one documented table (README, "EMI/UCP") of which codes are retried.
 */
#ifndef SMSPOOL_UCP_NACK_H
#define SMSPOOL_UCP_NACK_H

enum ucp_nack_class {
	UCP_NACK_RETRY,    /* transient: sent again later with backoff */
	UCP_NACK_THROTTLE, /* the SMSC asks us to slow down: retried later */
	UCP_NACK_REJECT,   /* the message is refused for good */
};

enum ucp_ec {
	UCP_EC_CHECKSUM = 1,
	UCP_EC_SYNTAX = 2,
	UCP_EC_NOT_SUPPORTED = 3,
	UCP_EC_NOT_ALLOWED = 4,
	UCP_EC_ADC_INVALID = 6,
	UCP_EC_AUTH = 7,
	UCP_EC_DEFERRED_NOT_ALLOWED = 18,
	UCP_EC_TIME_PERIOD = 22,
	UCP_EC_MT_NOT_SUPPORTED = 23,
	UCP_EC_TOO_LONG = 24,
};

struct submit_result;

/* The specification's name of ec, or NULL when the code is unknown. */
const char *ucp_nack_name(unsigned ec);
/* The class of ec; unknown codes are retried. */
enum ucp_nack_class ucp_nack_class(unsigned ec);
/* "retry", "throttle", "reject". */
const char *ucp_nack_class_name(enum ucp_nack_class c);
/* The EC a ucp-server answers a submission the core refused with
 * (borrowed), by a table of the field refused; 0 for one committed. */
unsigned ucp_nack_of_submit(const struct submit_result *res);

#endif
