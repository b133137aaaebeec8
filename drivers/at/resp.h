/*
 * at_resp: the parameters of 27.007/27.005 answer lines ("+CMGS: 17",
 * "+CMTI: \"SM\",3", "+CSCA: \"+44...\",145") and the +CMS ERROR table.
 * Pure string work, no I/O.
 */
#ifndef SMSPOOL_AT_RESP_H
#define SMSPOOL_AT_RESP_H

#include <stdbool.h>
#include <stddef.h>

#include "codec/tpdu.h"
#include "errbuf.h"

#define AT_RESP_MAX_PARAMS 16
#define AT_RESP_PARAM_LEN 64

struct at_resp {
	char name[24];                                 /* "+CMGS" (what comes before the colon), "" if none */
	int n;                                         /* parameters */
	char v[AT_RESP_MAX_PARAMS][AT_RESP_PARAM_LEN]; /* unquoted, "" when empty */
	bool quoted[AT_RESP_MAX_PARAMS];
};

/* Splits "NAME: a,\"b\",,c" into name and parameters (quotes removed,
 * commas inside quotes kept).  Returns 0, or -1 for a line without a
 * colon.  Overlong values are cut, extra parameters dropped. */
int at_resp_parse(const char *line, struct at_resp *out);
/* Parameter i as an integer; def when absent, empty or not a number. */
long at_resp_int(const struct at_resp *r, int i, long def);
/* True when the line starts with name followed by a colon. */
bool at_resp_is(const char *line, const char *name);

/* Decodes the PDU line of +CMT/+CDS/+CMGR/+CMGL whose header gave
 * `length` (TPDU octets, SMSC excluded).  Modems differ on whether the SMSC
 * field is there (some leave it out of +CDS), so the octet count decides:
 * exactly `length` octets means no SMSC field.  Lenient (TPDU_LENIENT).
 * Returns 0 or -EBADMSG with err set. */
int at_resp_pdu(const char *hex, long length, struct tpdu *t, struct errbuf *err);

/* What a +CMS ERROR means for the message being sent. */
enum at_cms_class {
	AT_CMS_TEMPORARY,      /* network or modem state: try again later */
	AT_CMS_INVALID_NUMBER, /* the recipient cannot be reached: rejected */
	AT_CMS_PERMANENT,      /* this message can never go: rejected */
	AT_CMS_BAD_PDU,        /* our PDU was refused: failed (a bug or unsupported feature) */
};

/* The 27.005 3.2.5 / 24.011 E-2 / 23.040 9.2.3.22 name of a +CMS ERROR
 * code ("network out of order"), or "unknown". */
const char *at_cms_name(int code);
enum at_cms_class at_cms_class(int code);
/* "temporary", "invalid-number", "permanent", "bad-pdu". */
const char *at_cms_class_name(enum at_cms_class c);
/* The range a code belongs to: "RP-cause (24.011 E-2)", "TP-FCS (23.040
 * 9.2.3.22)", "ME/TA (27.005 3.2.5)" or "manufacturer". */
const char *at_cms_range(int code);

#endif
