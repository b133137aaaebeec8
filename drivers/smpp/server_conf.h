/*
 * SMPP server settings (connections.settings of type "smpp-server") and the
 * pure helpers of the server session: SMPP time strings, the command_status
 * that answers a refused bind or submit, and the delivery receipt of an
 * account event.  No I/O here.
 *
 * Contract:
 * - smpp_server_conf_check MUST refuse what the server cannot honour (a
 *   listen address that is not host:port, TLS without certificate and key,
 *   an unknown interface_version or data_coding_0, a system_id longer
 *   than 15) with a message naming the key, and MUST NOT do I/O (files
 *   are read by open()).
 * - smpp_time_parse accepts "" (none), the absolute form YYMMDDhhmmsstnnp
 *   (p '+' or '-': local time nn quarter hours ahead of / behind UTC) and the
 *   relative form YYMMDDhhmmss000R (added to now; a year is 365 days, a
 *   month 30), and refuses anything else.
 * - The status mappings never return ESME_ROK for a refusal.
 */
#ifndef SMSPOOL_SMPP_SERVER_CONF_H
#define SMSPOOL_SMPP_SERVER_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver.h"
#include "errbuf.h"
#include "msg.h"
#include "settings.h"
#include "util.h"

struct smpp_server_conf {
	char *listen;     /* "host:port"; port 0 = any free port */
	bool tls;         /* listen speaks TLS */
	char *tls_listen; /* a second listener that speaks TLS, or NULL */
	char *tls_cert_file, *tls_key_file;
	char *system_id;         /* ours, in bind_resp */
	char *interface_version; /* "3.3", "3.4", "5.0": the highest we speak */
	char *data_coding_0;     /* "gsm7", "latin1", "ascii": how submitted data_coding 0 reads */
	long long max_sessions, enquire_link_s, inactivity_timeout_s, response_timeout_s, window, max_pdu_len;
	long long max_sessions_per_address, bind_timeout_s, max_pending;
	long long reassembly_timeout_s, reassembly_max_parts; /* concatenated submits held (join.h) */
};

extern const struct setting smpp_server_conf_settings[];

/* Validates a parsed conf (borrowed).  Returns 0 or -1 with err set. */
MUST_CHECK int smpp_server_conf_check(const void *conf, struct errbuf *err);

/* 0x33, 0x34 or 0x50. */
uint8_t smpp_server_conf_version(const struct smpp_server_conf *conf);

/* Parses an SMPP time (see above) relative to now_s into *out_s (unix
 * seconds; 0 for ""). Returns 0 or -EINVAL. */
MUST_CHECK int smpp_time_parse(const char *s, int64_t now_s, int64_t *out_s);

/* The bind_resp status for a refused authentication with this reason (may
 * be NULL): ESME_RINVPASWD, ESME_RINVSYSID or ESME_RBINDFAIL. */
uint32_t smpp_server_bind_status(const char *reason);

/* The submit_sm_resp status for the core's answer (borrowed): a table by
 * the field refused, never by its text. */
uint32_t smpp_server_submit_status(const struct submit_result *res);

/* The stat word ("DELIVRD", "UNDELIV", ...) and message_state TLV value of
 * an account event state such as "delivered". */
const char *smpp_server_stat_word(const char *state);
uint8_t smpp_server_message_state(const char *state);

/* The Appendix B receipt text of a REPORT event (borrowed) into out
 * (capacity cap).  Returns the length or -ENOSPC. */
MUST_CHECK int smpp_server_receipt_text(const struct account_event *ev, char *out, size_t cap);
/* The same with the id id (NULL: the event's message id), e.g. the per-part
 * id "<message id>-<k>" of a joined message. */
MUST_CHECK int smpp_server_receipt_text_id(const struct account_event *ev, const char *id, char *out, size_t cap);

#endif
