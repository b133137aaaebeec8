/* SMPP server settings and pure session helpers: see server_conf.h. */
#include "smpp/server_conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/addr.h"
#include "policy.h"
#include "smpp/receipt.h"
#include "smpp/status.h"

#define O(f) offsetof(struct smpp_server_conf, f)
const struct setting smpp_server_conf_settings[] = {
    {"listen", SETTING_STRING, O(listen), false, false, 0, 0, "\"127.0.0.1:2775\"",
     "address:port to accept ESMEs on (port 0: any free port, logged)"},
    {"tls", SETTING_BOOL, O(tls), false, false, 0, 0, "false", "listen speaks SMPP over TLS"},
    {"tls_listen", SETTING_STRING, O(tls_listen), false, false, 0, 0, NULL,
     "a second address:port that speaks SMPP over TLS"},
    {"tls_cert_file", SETTING_STRING, O(tls_cert_file), false, false, 0, 0, NULL,
     "server certificate chain (PEM), for tls or tls_listen"},
    {"tls_key_file", SETTING_STRING, O(tls_key_file), false, false, 0, 0, NULL, "private key (PEM) of tls_cert_file"},
    {"system_id", SETTING_STRING, O(system_id), false, false, 0, 0, "\"smspool\"",
     "our system_id in bind_resp (at most 15 characters)"},
    {"interface_version", SETTING_STRING, O(interface_version), false, false, 0, 0, "\"3.4\"",
     "highest SMPP version spoken: 3.3, 3.4 or 5.0 (binds of every version are accepted)", .choices = "3.3|3.4|5.0"},
    {"data_coding_0", SETTING_STRING, O(data_coding_0), false, false, 0, 0, "\"gsm7\"",
     "what data_coding 0 means in submitted texts (ESMEs differ): gsm7 (GSM 03.38), latin1 or ascii",
     .choices = "gsm7|latin1|ascii"},
    {"max_sessions", SETTING_INT, O(max_sessions), false, true, 1, 100000, "1000",
     "TCP sessions at once; more are closed at accept"},
    {"max_sessions_per_address", SETTING_INT, O(max_sessions_per_address), false, true, 0, 100000, "250",
     "TCP sessions at once from one remote address (0: no limit); more are closed at accept"},
    {"bind_timeout_s", SETTING_INT, O(bind_timeout_s), false, true, 1, 3600, "30",
     "close a session that has not bound within this many seconds"},
    {"max_pending", SETTING_INT, O(max_pending), false, true, 1, 100000, "100",
     "submits of one session waiting for the database; more are answered ESME_RTHROTTLED"},
    {"reassembly_timeout_s", SETTING_INT, O(reassembly_timeout_s), false, true, 1, 3600, "60",
     "parts of a concatenated submit wait this long for the rest of their set; then each held part is "
     "answered ESME_RSUBMITFAIL (nothing stored), so that the client resends"},
    {"reassembly_max_parts", SETTING_INT, O(reassembly_max_parts), false, true, 1, 10000, "100",
     "parts of concatenated submits one session may hold; more are answered ESME_RMSGQFUL"},
    {"enquire_link_s", SETTING_INT, O(enquire_link_s), false, true, 1, 3600, "30",
     "send enquire_link after this many idle seconds"},
    {"inactivity_timeout_s", SETTING_INT, O(inactivity_timeout_s), false, true, 1, 86400, "120",
     "close a session that sends nothing (or reads nothing) for this long"},
    {"response_timeout_s", SETTING_INT, O(response_timeout_s), false, true, 1, 3600, "30",
     "seconds to wait for deliver_sm_resp, enquire_link_resp and unbind_resp"},
    {"window", SETTING_INT, O(window), false, true, 1, 10000, "10", "deliver_sm outstanding per session"},
    {"max_pdu_len", SETTING_INT, O(max_pdu_len), false, true, 64, 65536, "16384",
     "largest command_length accepted; a longer PDU closes the session"},
    SETTINGS_END,
};
#undef O

int smpp_server_conf_check(const void *p, struct errbuf *err)
{
	const struct smpp_server_conf *conf = p;
	char host[256];
	int port;
	if (net_addr_split(conf->listen, host, sizeof host, &port, 0))
		return errbuf_set(err, "settings.listen: must be \"host:port\" (port 0..65535)");
	if (conf->tls_listen && net_addr_split(conf->tls_listen, host, sizeof host, &port, 0))
		return errbuf_set(err, "settings.tls_listen: must be \"host:port\" (port 0..65535)");
	if ((conf->tls || conf->tls_listen) && (!conf->tls_cert_file || !conf->tls_key_file))
		return errbuf_set(err,
		                  "settings.tls_cert_file: tls and tls_listen need tls_cert_file and tls_key_file");
	if (!conf->tls && !conf->tls_listen && (conf->tls_cert_file || conf->tls_key_file))
		return errbuf_set(err, "settings.tls_cert_file: only with tls true or tls_listen");
	if (!conf->system_id || !*conf->system_id || strlen(conf->system_id) > 15)
		return errbuf_set(err, "settings.system_id: 1 to 15 characters");
	if (strcmp(conf->interface_version, "3.3") && strcmp(conf->interface_version, "3.4") &&
	    strcmp(conf->interface_version, "5.0"))
		return errbuf_set(err, "settings.interface_version: must be 3.3, 3.4 or 5.0");
	/* smpp_wire_alphabet_dc0 reads any other word as gsm7: refused here, not misread. */
	if (strcmp(conf->data_coding_0, "gsm7") && strcmp(conf->data_coding_0, "latin1") &&
	    strcmp(conf->data_coding_0, "ascii"))
		return errbuf_set(err, "settings.data_coding_0: must be gsm7, latin1 or ascii");
	return 0;
}

uint8_t smpp_server_conf_version(const struct smpp_server_conf *conf)
{
	if (strcmp(conf->interface_version, "3.3") == 0)
		return 0x33;
	if (strcmp(conf->interface_version, "5.0") == 0)
		return 0x50;
	return 0x34;
}

/* n decimal digits at s into *v.  Returns 0 or -1. */
static int digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int smpp_time_parse(const char *s, int64_t now_s, int64_t *out_s)
{
	*out_s = 0;
	if (!s || !*s)
		return 0;
	if (strlen(s) != 16)
		return -EINVAL;
	int yy, mo, dd, hh, mi, ss, t, nn;
	if (digits(s, 2, &yy) || digits(s + 2, 2, &mo) || digits(s + 4, 2, &dd) || digits(s + 6, 2, &hh) ||
	    digits(s + 8, 2, &mi) || digits(s + 10, 2, &ss) || digits(s + 12, 1, &t) || digits(s + 13, 2, &nn))
		return -EINVAL;
	char p = s[15];
	if (p == 'R') {
		if (hh > 23 || mi > 59 || ss > 59)
			return -EINVAL;
		int64_t d = (int64_t)yy * 365 * 86400 + (int64_t)mo * 30 * 86400 + (int64_t)dd * 86400 +
		            (int64_t)hh * 3600 + mi * 60 + ss;
		*out_s = now_s + d;
		return 0;
	}
	if ((p != '+' && p != '-') || mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 59 ||
	    nn > 48)
		return -EINVAL;
	struct tm tm = {0};
	tm.tm_year = 100 + yy;
	tm.tm_mon = mo - 1;
	tm.tm_mday = dd;
	tm.tm_hour = hh;
	tm.tm_min = mi;
	tm.tm_sec = ss;
	time_t local = timegm(&tm);
	if (tm.tm_mday != dd) /* 31 February and the like */
		return -EINVAL;
	int64_t off = (int64_t)nn * 15 * 60;
	*out_s = (int64_t)local + (p == '+' ? -off : off);
	return 0;
}

uint32_t smpp_server_bind_status(const char *reason)
{
	switch (auth_refusal_of(reason)) {
	case AUTH_WRONG_PASSWORD:
		return SMPP_ESME_RINVPASWD;
	case AUTH_UNKNOWN_ACCOUNT:
		return SMPP_ESME_RINVSYSID;
	default:
		return SMPP_ESME_RBINDFAIL;
	}
}

uint32_t smpp_server_submit_status(const struct submit_result *res)
{
	/* The field refused, by its meaning in SMPP 3.4 section 5.1.3. */
	static const uint32_t by_field[] = {
	    [SUBMIT_FIELD_NONE] = SMPP_ESME_RSUBMITFAIL,       [SUBMIT_FIELD_RECIPIENT] = SMPP_ESME_RINVDSTADR,
	    [SUBMIT_FIELD_SENDER] = SMPP_ESME_RINVSRCADR,      [SUBMIT_FIELD_BODY] = SMPP_ESME_RINVMSGLEN,
	    [SUBMIT_FIELD_PAYLOAD] = SMPP_ESME_RINVMSGLEN,     [SUBMIT_FIELD_UDH] = SMPP_ESME_RINVMSGLEN,
	    [SUBMIT_FIELD_DATA_CODING] = SMPP_ESME_RINVMSGLEN, [SUBMIT_FIELD_VALIDITY] = SMPP_ESME_RINVEXPIRY,
	    [SUBMIT_FIELD_SCHEDULE] = SMPP_ESME_RINVSCHED,     [SUBMIT_FIELD_PRIORITY] = SMPP_ESME_RINVPRTFLG,
	    [SUBMIT_FIELD_MSG_CLASS] = SMPP_ESME_RINVESMCLASS, [SUBMIT_FIELD_REPORT] = SMPP_ESME_RINVREGDLVFLG,
	    [SUBMIT_FIELD_PARTS] = SMPP_ESME_RINVMSGLEN,       [SUBMIT_FIELD_CONNECTION] = SMPP_ESME_RSUBMITFAIL,
	    [SUBMIT_FIELD_ACCOUNT] = SMPP_ESME_RSUBMITFAIL,    [SUBMIT_FIELD_KEY] = SMPP_ESME_RSUBMITFAIL,
	};
	switch (res->error) {
	case SUBMIT_OK:
		return res->message_id > 0 ? SMPP_ESME_ROK : SMPP_ESME_RSYSERR;
	case SUBMIT_THROTTLED:
		return SMPP_ESME_RTHROTTLED;
	case SUBMIT_TEMPORARY:
		/* The database cannot take it now: the spec's temporary
		 * application error, which ESMEs (Kannel too) resend; ESME_RSYSERR
		 * is kept for a fault of the server itself. */
		return SMPP_ESME_RX_T_APPN;
	case SUBMIT_INVALID:
		break;
	}
	return (size_t)res->field < ARRAY_LEN(by_field) && by_field[res->field] ? by_field[res->field]
	                                                                        : SMPP_ESME_RSUBMITFAIL;
}

static const struct {
	const char *state, *stat;
	uint8_t message_state;
} states[] = {
    {"delivered", "DELIVRD", 2}, {"undelivered", "UNDELIV", 5}, {"failed", "UNDELIV", 5},
    {"expired", "EXPIRED", 3},   {"rejected", "REJECTD", 8},    {"deleted", "DELETED", 4},
    {"cancelled", "DELETED", 4}, {"accepted", "ACCEPTD", 6},    {"enroute", "ENROUTE", 1},
};

const char *smpp_server_stat_word(const char *state)
{
	for (size_t i = 0; state && i < ARRAY_LEN(states); i++)
		if (strcmp(state, states[i].state) == 0)
			return states[i].stat;
	return "UNKNOWN";
}

uint8_t smpp_server_message_state(const char *state)
{
	for (size_t i = 0; state && i < ARRAY_LEN(states); i++)
		if (strcmp(state, states[i].state) == 0)
			return states[i].message_state;
	return 7; /* UNKNOWN */
}

static void date10(int64_t s, char *out, size_t cap)
{
	if (s <= 0) {
		snprintf(out, cap, "%s", "");
		return;
	}
	time_t t = (time_t)s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, cap, "%y%m%d%H%M", &tm);
}

int smpp_server_receipt_text(const struct account_event *ev, char *out, size_t cap)
{
	return smpp_server_receipt_text_id(ev, NULL, out, cap);
}

int smpp_server_receipt_text_id(const struct account_event *ev, const char *id, char *out, size_t cap)
{
	struct smpp_receipt r = {0};
	r.has_id = r.has_sub = r.has_dlvrd = r.has_submit_date = r.has_done_date = r.has_stat = r.has_err = true;
	r.has_text = true;
	if (id)
		snprintf(r.id, sizeof r.id, "%s", id);
	else
		snprintf(r.id, sizeof r.id, "%lld", (long long)ev->message_id);
	snprintf(r.sub, sizeof r.sub, "001");
	bool delivered = ev->state && strcmp(ev->state, "delivered") == 0;
	snprintf(r.dlvrd, sizeof r.dlvrd, "%s", delivered ? "001" : "000");
	date10(ev->submitted_s, r.submit_date, sizeof r.submit_date);
	date10(ev->done_s ? ev->done_s : ev->submitted_s, r.done_date, sizeof r.done_date);
	snprintf(r.stat, sizeof r.stat, "%s", smpp_server_stat_word(ev->state));
	/* err: three digits (Appendix B); codes that are not short decimals
	 * (e.g. "0x0000000B") are not the network's and read 000. */
	const char *e = ev->error_code;
	bool dec = e && *e && strlen(e) <= 3;
	for (const char *q = e; dec && *q; q++)
		dec = isdigit((unsigned char)*q);
	snprintf(r.err, sizeof r.err, "%03d", dec ? atoi(e) : 0);
	return smpp_receipt_format(&r, out, cap);
}
