/*
 * SMPP client settings (connections.settings of type "smpp") and the pure
 * helpers that turn them into PDU fields: addresses with their TON/NPI, the
 * data_coding of a text, the peer list.  No I/O here.
 *
 * Contract:
 * - smpp_conf_check MUST refuse every combination the session cannot honour
 *   (unknown enum words, a field longer than SMPP allows, TLV-based options
 *   on SMPP 3.3, reconnect_min_ms > reconnect_max_ms) with a message naming
 *   the key, and MUST NOT do I/O.
 * - smpp_conf_address never fails on an address the outbox accepts
 *   (digits with an optional "+", or up to 11 GSM characters).
 */
#ifndef SMSPOOL_SMPP_CONF_H
#define SMSPOOL_SMPP_CONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "settings.h"
#include "util.h"

enum smpp_long_mode { SMPP_LONG_UDH, SMPP_LONG_SAR, SMPP_LONG_PAYLOAD };

struct smpp_conf {
	char *host;
	long long port;
	char *system_id, *password, *system_type;
	char *interface_version; /* "3.3", "3.4", "5.0" */
	char *bind_mode;         /* "transceiver", "transmitter+receiver" */
	json_t *backup_hosts;    /* ["host:port", ...] */
	char *address_range;
	long long source_ton, source_npi, dest_ton, dest_npi; /* -1: automatic */
	long long enquire_link_s, response_timeout_s;
	long long reconnect_min_ms, reconnect_max_ms;
	long long default_data_coding; /* 0, 1, 3 */
	bool gsm_packed;
	char *national_languages; /* "none", "auto", or "turkish,spanish,…" */
	char *receipt_ids;        /* "auto", "same", "dec2hex", "dec2hex_lower", "hex2dec" */
	char *data_coding_0;      /* "gsm7", "latin1", "ascii": how inbound data_coding 0 reads */
	char *long_mode;          /* "udh", "sar", "payload" */
	bool request_reports;
	long long throttle_pause_ms;
	long long reasm_timeout_s;
	bool tls;
	char *tls_ca_file;
	bool tls_verify;
};

extern const struct setting smpp_conf_settings[];

/* Validates a parsed conf (borrowed).  Returns 0 or -1 with err set. */
MUST_CHECK int smpp_conf_check(const void *conf, struct errbuf *err);

/* The interface_version octet for the bind: 0x33, 0x34 or 0x50. */
uint8_t smpp_conf_version(const struct smpp_conf *conf);
enum smpp_long_mode smpp_conf_long_mode(const struct smpp_conf *conf);
/* The national shift tables texts may use (an SMS_LANG_BIT() mask). */
uint32_t smpp_conf_langs(const struct smpp_conf *conf);
/* True for bind_mode "transmitter+receiver" (two sessions). */
bool smpp_conf_split_binds(const struct smpp_conf *conf);

/* Fills an SMPP address from an outbox address (borrowed): a leading "+"
 * is dropped; TON/NPI are the configured ones (ton_set/npi_set >= 0) or
 * chosen: "+digits" international/ISDN (1/1), digits unknown/ISDN (0/1),
 * anything else alphanumeric (5/0).  out has capacity cap. */
void smpp_conf_address(const char *addr, long long ton_set, long long npi_set, char *out, size_t cap, uint8_t *ton,
                       uint8_t *npi);

#endif
