/* SMPP client settings: see conf.h. */
#include "smpp/conf.h"

#include "codec/langs.h"
#include "codec/sms.h"
#include "net/addr.h"
#include "net/dialer_conf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define O(f) offsetof(struct smpp_conf, f)
const struct setting smpp_conf_settings[] = {
    {"host", SETTING_STRING, O(host), true, false, 0, 0, NULL, "SMSC host name or address"},
    {"port", SETTING_INT, O(port), false, true, 1, 65535, "2775", "SMSC port"},
    {"system_id", SETTING_STRING, O(system_id), true, false, 0, 0, NULL, "bind system_id (at most 15 characters)"},
    {"password", SETTING_STRING, O(password), false, false, 0, 0, "\"\"", "bind password (at most 8 characters)"},
    {"system_type", SETTING_STRING, O(system_type), false, false, 0, 0, "\"\"",
     "bind system_type (at most 12 characters)"},
    {"interface_version", SETTING_STRING, O(interface_version), false, false, 0, 0, "\"3.4\"",
     "SMPP version: 3.3, 3.4 or 5.0", .choices = "3.3|3.4|5.0"},
    {"bind_mode", SETTING_STRING, O(bind_mode), false, false, 0, 0, "\"transceiver\"",
     "transceiver (one session) or transmitter+receiver (two sessions)", .choices = "transceiver|transmitter+receiver"},
    {"backup_hosts", SETTING_ARRAY, O(backup_hosts), false, false, 0, 0, NULL,
     "further SMSCs as \"host:port\", tried in turn after host:port"},
    {"address_range", SETTING_STRING, O(address_range), false, false, 0, 0, "\"\"",
     "bind address_range (at most 40 characters)"},
    {"source_ton", SETTING_INT, O(source_ton), false, true, -1, 255, "-1",
     "source_addr_ton; -1 = automatic (1 for +digits, 0 for digits, 5 for letters)"},
    {"source_npi", SETTING_INT, O(source_npi), false, true, -1, 255, "-1",
     "source_addr_npi; -1 = automatic (1 for digits, 0 for letters)"},
    {"dest_ton", SETTING_INT, O(dest_ton), false, true, -1, 255, "-1",
     "dest_addr_ton; -1 = automatic (1 for +digits, 0 for digits)"},
    {"dest_npi", SETTING_INT, O(dest_npi), false, true, -1, 255, "-1", "dest_addr_npi; -1 = automatic (1)"},
    {"enquire_link_s", SETTING_INT, O(enquire_link_s), false, true, 1, 3600, "30",
     "send enquire_link after this many idle seconds"},
    {"response_timeout_s", SETTING_INT, O(response_timeout_s), false, true, 1, 3600, "30",
     "seconds to wait for any response (bind, submit, enquire_link, unbind)"},
    {"reconnect_min_ms", SETTING_INT, O(reconnect_min_ms), false, true, 10, 3600000, "1000",
     "first reconnect delay; doubles after each failure"},
    {"reconnect_max_ms", SETTING_INT, O(reconnect_max_ms), false, true, 10, 3600000, "60000",
     "longest reconnect delay"},
    {"default_data_coding", SETTING_INT, O(default_data_coding), false, true, 0, 3, "0",
     "data_coding of texts that fit GSM: 0 GSM 03.38, 1 IA5/ASCII, 3 Latin-1 (others go as UCS-2, 8)",
     .choices = "0|1|3"},
    {"data_coding_0", SETTING_STRING, O(data_coding_0), false, false, 0, 0, "\"gsm7\"",
     "what data_coding 0 means in received texts (SMSCs differ): gsm7 (GSM 03.38), latin1 or ascii",
     .choices = "gsm7|latin1|ascii"},
    {"gsm_packed", SETTING_BOOL, O(gsm_packed), false, false, 0, 0, "false",
     "GSM texts as packed septets (most SMSCs want one septet per octet)"},
    {"national_languages", SETTING_STRING, O(national_languages), false, false, 0, 0, "\"none\"",
     "GSM 7-bit national shift tables texts may use when they save parts: none, auto, or names (turkish,spanish)"},
    {"receipt_ids", SETTING_STRING, O(receipt_ids), false, false, 0, 0, "\"auto\"",
     "how receipt ids relate to submit_sm_resp ids: auto (learned from the ids seen), same, dec2hex, "
     "dec2hex_lower (receipts decimal, responses hex), hex2dec",
     .choices = "auto|same|dec2hex|dec2hex_lower|hex2dec"},
    {"long_mode", SETTING_STRING, O(long_mode), false, false, 0, 0, "\"udh\"",
     "long texts: udh (esm_class 0x40), sar (sar_* TLVs) or payload (one PDU, message_payload)",
     .choices = "udh|sar|payload"},
    {"request_reports", SETTING_BOOL, O(request_reports), false, false, 0, 0, "true",
     "ask for delivery receipts for messages that want a report"},
    {"throttle_pause_ms", SETTING_INT, O(throttle_pause_ms), false, true, 0, 600000, "1000",
     "pause of submits after ESME_RTHROTTLED"},
    {"reasm_timeout_s", SETTING_INT, O(reasm_timeout_s), false, true, 1, 86400, "60",
     "how long parts of an inbound long text wait for the others"},
    {"tls", SETTING_BOOL, O(tls), false, false, 0, 0, "false", "SMPP over TLS"},
    {"tls_ca_file", SETTING_STRING, O(tls_ca_file), false, false, 0, 0, NULL,
     "CA certificates (PEM) that verify the SMSC; default: the system's"},
    {"tls_verify", SETTING_BOOL, O(tls_verify), false, false, 0, 0, "true",
     "verify the SMSC's certificate and host name"},
    SETTINGS_END,
};
#undef O

static bool one_of(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(s, *words) == 0)
			return true;
	return false;
}

int smpp_conf_check(const void *p, struct errbuf *err)
{
	const struct smpp_conf *conf = p;
	static const char *const versions[] = {"3.3", "3.4", "5.0", NULL};
	static const char *const modes[] = {"transceiver", "transmitter+receiver", NULL};
	static const char *const longs[] = {"udh", "sar", "payload", NULL};
	if (!conf->host || !*conf->host)
		return errbuf_set(err, "settings.host: must not be empty");
	if (!conf->system_id || strlen(conf->system_id) > 15)
		return errbuf_set(err, "settings.system_id: at most 15 characters");
	if (strlen(conf->password) > 8)
		return errbuf_set(err, "settings.password: at most 8 characters");
	if (strlen(conf->system_type) > 12)
		return errbuf_set(err, "settings.system_type: at most 12 characters");
	if (strlen(conf->address_range) > 40)
		return errbuf_set(err, "settings.address_range: at most 40 characters");
	if (!one_of(conf->interface_version, versions))
		return errbuf_set(err, "settings.interface_version: must be 3.3, 3.4 or 5.0");
	if (!one_of(conf->bind_mode, modes))
		return errbuf_set(err, "settings.bind_mode: must be transceiver or transmitter+receiver");
	if (!one_of(conf->long_mode, longs))
		return errbuf_set(err, "settings.long_mode: must be udh, sar or payload");
	if (strcmp(conf->interface_version, "3.3") == 0 && strcmp(conf->long_mode, "udh") != 0)
		return errbuf_set(err, "settings.long_mode: %s needs TLVs, which SMPP 3.3 does not have",
		                  conf->long_mode);
	if (strcmp(conf->interface_version, "3.3") == 0 && strcmp(conf->bind_mode, "transceiver") == 0)
		return errbuf_set(err,
		                  "settings.bind_mode: SMPP 3.3 has no transceiver bind (use transmitter+receiver)");
	if (conf->default_data_coding == 2)
		return errbuf_set(err, "settings.default_data_coding: must be 0 (GSM), 1 (IA5) or 3 (Latin-1)");
	uint32_t langs;
	if (sms_langs_parse(conf->national_languages, &langs, err))
		return -1;
	static const char *const id_modes[] = {"auto", "same", "dec2hex", "dec2hex_lower", "hex2dec", NULL};
	if (!one_of(conf->receipt_ids, id_modes))
		return errbuf_set(err, "settings.receipt_ids: must be auto, same, dec2hex, dec2hex_lower or hex2dec");
	/* smpp_wire_alphabet_dc0 reads any other word as gsm7: refused here, not misread. */
	static const char *const dc0s[] = {"gsm7", "latin1", "ascii", NULL};
	if (!one_of(conf->data_coding_0, dc0s))
		return errbuf_set(err, "settings.data_coding_0: must be gsm7, latin1 or ascii");
	struct dialer_conf dc = DIALER_CONF_OF(conf);
	return dialer_conf_check(&dc, err);
}

uint32_t smpp_conf_langs(const struct smpp_conf *conf)
{
	uint32_t mask;
	return sms_langs_parse(conf->national_languages, &mask, NULL) ? SMS_LANGS_NONE : mask;
}

uint8_t smpp_conf_version(const struct smpp_conf *conf)
{
	if (strcmp(conf->interface_version, "3.3") == 0)
		return 0x33;
	if (strcmp(conf->interface_version, "5.0") == 0)
		return 0x50;
	return 0x34;
}

enum smpp_long_mode smpp_conf_long_mode(const struct smpp_conf *conf)
{
	if (strcmp(conf->long_mode, "sar") == 0)
		return SMPP_LONG_SAR;
	if (strcmp(conf->long_mode, "payload") == 0)
		return SMPP_LONG_PAYLOAD;
	return SMPP_LONG_UDH;
}

bool smpp_conf_split_binds(const struct smpp_conf *conf)
{
	return strcmp(conf->bind_mode, "transmitter+receiver") == 0;
}

void smpp_conf_address(const char *addr, long long ton_set, long long npi_set, char *out, size_t cap, uint8_t *ton,
                       uint8_t *npi)
{
	bool plus = addr[0] == '+';
	const char *a = plus ? addr + 1 : addr;
	bool digits = *a != 0;
	for (const char *p = a; *p; p++)
		digits &= isdigit((unsigned char)*p) != 0;
	uint8_t t = plus && digits ? 1 : digits ? 0 : 5;
	uint8_t n = digits ? 1 : 0;
	*ton = ton_set >= 0 ? (uint8_t)ton_set : t;
	*npi = npi_set >= 0 ? (uint8_t)npi_set : n;
	snprintf(out, cap, "%s", digits ? a : addr);
}
