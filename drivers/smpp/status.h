/*
 * SMPP command_status values (v3.4 section 5.1.3, v5.0 section 4.7.6): their
 * names and what each one means for a queued message.
 *
 * Contract:
 * - smpp_status_name MUST return the v3.4 spelling for codes that v5.0
 *   renamed (0xC0..0xC4), because that is what most peers log; it returns
 *   NULL for a code it does not know (vendor codes 0x400..0x4FF included).
 * - smpp_status_classify MUST give exactly one class for every 32-bit value,
 *   so that every failed submit can be completed with a class.
 */
#ifndef SMSPOOL_SMPP_STATUS_H
#define SMSPOOL_SMPP_STATUS_H

#include <stdint.h>

enum smpp_status_code {
	SMPP_ESME_ROK = 0x00000000,
	SMPP_ESME_RINVMSGLEN = 0x00000001,
	SMPP_ESME_RINVCMDLEN = 0x00000002,
	SMPP_ESME_RINVCMDID = 0x00000003,
	SMPP_ESME_RINVBNDSTS = 0x00000004,
	SMPP_ESME_RALYBND = 0x00000005,
	SMPP_ESME_RINVPRTFLG = 0x00000006,
	SMPP_ESME_RINVREGDLVFLG = 0x00000007,
	SMPP_ESME_RSYSERR = 0x00000008,
	SMPP_ESME_RINVSRCADR = 0x0000000A,
	SMPP_ESME_RINVDSTADR = 0x0000000B,
	SMPP_ESME_RINVMSGID = 0x0000000C,
	SMPP_ESME_RBINDFAIL = 0x0000000D,
	SMPP_ESME_RINVPASWD = 0x0000000E,
	SMPP_ESME_RINVSYSID = 0x0000000F,
	SMPP_ESME_RCANCELFAIL = 0x00000011,
	SMPP_ESME_RREPLACEFAIL = 0x00000013,
	SMPP_ESME_RMSGQFUL = 0x00000014,
	SMPP_ESME_RINVSERTYP = 0x00000015,
	SMPP_ESME_RINVNUMDESTS = 0x00000033,
	SMPP_ESME_RINVDLNAME = 0x00000034,
	SMPP_ESME_RINVDESTFLAG = 0x00000040,
	SMPP_ESME_RINVSUBREP = 0x00000042,
	SMPP_ESME_RINVESMCLASS = 0x00000043,
	SMPP_ESME_RCNTSUBDL = 0x00000044,
	SMPP_ESME_RSUBMITFAIL = 0x00000045,
	SMPP_ESME_RINVSRCTON = 0x00000048,
	SMPP_ESME_RINVSRCNPI = 0x00000049,
	SMPP_ESME_RINVDSTTON = 0x00000050,
	SMPP_ESME_RINVDSTNPI = 0x00000051,
	SMPP_ESME_RINVSYSTYP = 0x00000053,
	SMPP_ESME_RINVREPFLAG = 0x00000054,
	SMPP_ESME_RINVNUMMSGS = 0x00000055,
	SMPP_ESME_RTHROTTLED = 0x00000058,
	SMPP_ESME_RINVSCHED = 0x00000061,
	SMPP_ESME_RINVEXPIRY = 0x00000062,
	SMPP_ESME_RINVDFTMSGID = 0x00000063,
	SMPP_ESME_RX_T_APPN = 0x00000064,
	SMPP_ESME_RX_P_APPN = 0x00000065,
	SMPP_ESME_RX_R_APPN = 0x00000066,
	SMPP_ESME_RQUERYFAIL = 0x00000067,
	SMPP_ESME_RINVOPTPARSTREAM = 0x000000C0, /* v5.0: ESME_RINVTLVSTREAM */
	SMPP_ESME_ROPTPARNOTALLWD = 0x000000C1,  /* v5.0: ESME_RTLVNOTALLWD */
	SMPP_ESME_RINVPARLEN = 0x000000C2,       /* v5.0: ESME_RINVTLVLEN */
	SMPP_ESME_RMISSINGOPTPARAM = 0x000000C3, /* v5.0: ESME_RMISSINGTLV */
	SMPP_ESME_RINVOPTPARAMVAL = 0x000000C4,  /* v5.0: ESME_RINVTLVVAL */
	SMPP_ESME_RDELIVERYFAILURE = 0x000000FE,
	SMPP_ESME_RUNKNOWNERR = 0x000000FF,
	SMPP_ESME_RSERTYPUNAUTH = 0x00000100,
	SMPP_ESME_RPROHIBITED = 0x00000101,
	SMPP_ESME_RSERTYPUNAVAIL = 0x00000102,
	SMPP_ESME_RSERTYPDENIED = 0x00000103,
	SMPP_ESME_RINVDCS = 0x00000104,
	SMPP_ESME_RINVSRCADDRSUBUNIT = 0x00000105,
	SMPP_ESME_RINVDSTADDRSUBUNIT = 0x00000106,
	SMPP_ESME_RINVBCASTFREQINT = 0x00000107,
	SMPP_ESME_RINVBCASTALIAS_NAME = 0x00000108,
	SMPP_ESME_RINVBCASTAREAFMT = 0x00000109,
	SMPP_ESME_RINVNUMBCAST_AREAS = 0x0000010A,
	SMPP_ESME_RINVBCASTCNTTYPE = 0x0000010B,
	SMPP_ESME_RINVBCASTMSGCLASS = 0x0000010C,
	SMPP_ESME_RBCASTFAIL = 0x0000010D,
	SMPP_ESME_RBCASTQUERYFAIL = 0x0000010E,
	SMPP_ESME_RBCASTCANCELFAIL = 0x0000010F,
	SMPP_ESME_RINVBCAST_REP = 0x00000110,
	SMPP_ESME_RINVBCASTSRVGRP = 0x00000111,
	SMPP_ESME_RINVBCASTCHANIND = 0x00000112,
};

/* What the outbox does with a message whose submit got this status. */
enum smpp_status_class {
	SMPP_STATUS_OK,        /* accepted */
	SMPP_STATUS_TEMPORARY, /* keep the message, retry later */
	SMPP_STATUS_THROTTLED, /* keep the message, slow the connection down, retry */
	SMPP_STATUS_PERMANENT, /* reject the message: resending cannot help */
};

/* Returns a static name such as "ESME_RTHROTTLED", or NULL if unknown. */
const char *smpp_status_name(uint32_t status);
/* The same, "unknown_status" if unknown: for logs. */
const char *smpp_status_text(uint32_t status);

/* Classifies any command_status.  Codes this table does not know (vendor
 * range 0x400..0x4FF, reserved values) are TEMPORARY: the outbox bounds the
 * retries, and losing a message to a code nobody documented is worse than a
 * few extra attempts.  Local failures that are not a command_status (response
 * timeout, connection lost) are the session's business and are temporary. */
enum smpp_status_class smpp_status_classify(uint32_t status);

/* "ok", "temporary", "throttled" or "permanent". */
const char *smpp_status_class_name(enum smpp_status_class cls);

#endif
