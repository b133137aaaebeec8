/* EMI/UCP settings and their checks: see conf.h. */
#include "ucp/conf.h"

#include <stdio.h>
#include <string.h>

#include "net/addr.h"
#include "net/dialer_conf.h"
#include "net/listen_conf.h"
#include "ucp/sm.h"

#define O(f) offsetof(struct ucp_conf, f)
const struct setting ucp_conf_settings[] = {
    DIALER_CONF_PEER_SETTINGS(struct ucp_conf, "SMSC host name or address", "SMSC TCP port"),
    {"version", SETTING_STRING, O(version), false, false, 0, 0, "\"4.0\"",
     "EMI version: 3.5 (operations 01/30/31) or 4.0 … 4.6 (5x series: 51/52/53)", .choices = "3.5|4.0|4.5|4.6"},
    {"login", SETTING_STRING, O(login), false, false, 0, 0, NULL,
     "OAdC of the op 60 session login; absent = no login (operators that authorise by IP)"},
    {"password", SETTING_STRING, O(password), false, false, 0, 0, "\"\"", "PWD of the op 60 login"},
    {"oton", SETTING_INT, O(oton), false, true, 0, 9, "6", "OTON of the login (6 abbreviated)"},
    {"onpi", SETTING_INT, O(onpi), false, true, 0, 9, "5", "ONPI of the login (5 private)"},
    {"styp", SETTING_INT, O(styp), false, true, 1, 6, "1", "STYP of the login (1 open session)"},
    {"vers", SETTING_STRING, O(vers), false, false, 0, 0, "\"0100\"", "VERS of the login"},
    {"window", SETTING_INT, O(window), false, true, 1, 100, "100",
     "operations outstanding at once (TRN 00-99 allow at most 100)"},
    {"keepalive_s", SETTING_INT, O(keepalive_s), false, true, 0, 3600, "60",
     "send op 31 after this many idle seconds (0 = never)"},
    {"response_timeout_s", SETTING_INT, O(response_timeout_s), false, true, 1, 3600, "30",
     "seconds to wait for a result; the message is then retried"},
    DIALER_CONF_RECONNECT_SETTINGS(struct ucp_conf, "1000", "60000"),
    {"request_reports", SETTING_BOOL, O(request_reports), false, false, 0, 0, "true",
     "ask for delivery notifications (NRq) when the message wants a report"},
    {"notification_type", SETTING_INT, O(notification_type), false, true, 1, 7, "3",
     "NT: 1 delivery, 2 non-delivery, 4 buffered, sums allowed"},
    {"npid", SETTING_STRING, O(npid), false, false, 0, 0, "\"\"",
     "NPID of notifications (0539 = over this session), \"\" = the SMSC's default"},
    {"throttle_pause_ms", SETTING_INT, O(throttle_pause_ms), false, true, 0, 600000, "1000",
     "pause after a NACK 04 (operation not allowed: over the agreed rate)"},
    {"reasm_timeout_s", SETTING_INT, O(reasm_timeout_s), false, true, 1, 86400, "120",
     "store what arrived of a long inbound text after this long"},
    DIALER_CONF_TLS_SETTINGS(struct ucp_conf, "speak EMI over TLS", "SMSC"),
    {"sender_ton", SETTING_STRING, O(sender_ton), false, false, 0, 0, "\"auto\"",
     "OAdC/OTOA of the sender: auto (+digits as OTOA 1139, digits bare, names as 5039), international (digits "
     "as 1139), alphanumeric (everything as 5039), unknown (digits bare, + as 00)",
     .choices = "auto|international|alphanumeric|unknown"},
    {"amsg_charset", SETTING_STRING, O(amsg_charset), false, false, 0, 0, "\"gsm\"",
     "what MT=3 texts carry in IRA, both ways: gsm (GSM default-alphabet codes, the standard) or latin1 (as some "
     "SMSCs do)",
     .choices = "gsm|latin1"},
    SETTINGS_END,
};
#undef O

#define O(f) offsetof(struct ucp_server_conf, f)
const struct setting ucp_server_conf_settings[] = {
    LISTEN_CONF_SETTINGS(struct ucp_server_conf, "\"127.0.0.1:3000\"",
                         "address:port to accept EMI clients on (port 0: any free port, logged)",
                         "listen speaks EMI over TLS"),
    {"max_sessions", SETTING_INT, O(max_sessions), false, true, 1, 100000, "1000", "TCP sessions at once"},
    {"max_per_address", SETTING_INT, O(max_per_address), false, true, 0, 100000, "0",
     "TCP sessions at once from one address (0 = no limit)"},
    {"login_timeout_s", SETTING_INT, O(login_timeout_s), false, true, 1, 3600, "30",
     "close a session that has not logged in (op 60) after this long"},
    {"inactivity_timeout_s", SETTING_INT, O(inactivity_timeout_s), false, true, 1, 86400, "300",
     "close a session that sends nothing for this long"},
    {"response_timeout_s", SETTING_INT, O(response_timeout_s), false, true, 1, 3600, "30",
     "seconds to wait for the client's result of an op 52/53"},
    {"window", SETTING_INT, O(window), false, true, 1, 100, "10", "op 52/53 outstanding per session"},
    {"reassembly_timeout_s", SETTING_INT, O(reassembly_timeout_s), false, true, 1, 3600, "60",
     "parts of a multipart submit (UDH in XSer 01) wait this long for the rest of their set; then each held "
     "part is answered NACK 04 (nothing stored), so that the client resends"},
    {"reassembly_max_parts", SETTING_INT, O(reassembly_max_parts), false, true, 1, 10000, "100",
     "parts of multipart submits one session may hold; more are answered NACK 04"},
    SETTINGS_END,
};
#undef O

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (s && strcmp(s, *set) == 0)
			return true;
	return false;
}

bool ucp_conf_is_v35(const struct ucp_conf *conf)
{
	return strcmp(conf->version, "3.5") == 0;
}

int ucp_conf_check(const void *p, struct errbuf *err)
{
	const struct ucp_conf *conf = p;
	static const char *const versions[] = {"3.5", "4.0", "4.5", "4.6", NULL};
	if (!conf->host || !*conf->host)
		return errbuf_set(err, "settings.host: must not be empty");
	if (!one_of(conf->version, versions))
		return errbuf_set(err, "settings.version: must be 3.5, 4.0, 4.5 or 4.6");
	if (conf->login && strlen(conf->login) > 16)
		return errbuf_set(err, "settings.login: at most 16 characters (OAdC)");
	if (conf->login)
		for (const unsigned char *c = (const unsigned char *)conf->login; *c; c++)
			if (*c < 0x20 || *c > 0x7E || *c == '/')
				return errbuf_set(err, "settings.login: printable ASCII without '/' (OAdC)");
	if (strlen(conf->password) > 64)
		return errbuf_set(err, "settings.password: at most 64 characters");
	for (const unsigned char *c = (const unsigned char *)conf->password; *c; c++)
		if (*c < 0x20 || *c > 0x7E)
			return errbuf_set(err, "settings.password: printable ASCII only");
	if (strlen(conf->vers) != 4 || strspn(conf->vers, "0123456789") != 4)
		return errbuf_set(err, "settings.vers: four digits");
	if (*conf->npid && (strlen(conf->npid) != 4 || strspn(conf->npid, "0123456789") != 4))
		return errbuf_set(err, "settings.npid: four digits or \"\"");
	struct dialer_conf dc = DIALER_CONF_OF(conf);
	if (dialer_conf_check(&dc, err))
		return -1;
	if (ucp_conf_sender_ton(conf) < 0)
		return errbuf_set(err, "settings.sender_ton: must be auto, international, alphanumeric or unknown");
	static const char *const charsets[] = {"gsm", "latin1", NULL};
	if (!one_of(conf->amsg_charset, charsets))
		return errbuf_set(err, "settings.amsg_charset: must be gsm or latin1");
	return 0;
}

int ucp_conf_sender_ton(const struct ucp_conf *conf)
{
	for (int i = 0; i < 4; i++)
		if (conf->sender_ton && strcmp(conf->sender_ton, ucp_sender_ton_names[i]) == 0)
			return i;
	return -1;
}

bool ucp_conf_latin1(const struct ucp_conf *conf)
{
	return conf->amsg_charset && strcmp(conf->amsg_charset, "latin1") == 0;
}

int ucp_server_conf_check(const void *p, struct errbuf *err)
{
	const struct ucp_server_conf *conf = p;
	return listen_conf_check(conf->listen, conf->tls, conf->tls_cert_file, conf->tls_key_file, err);
}
