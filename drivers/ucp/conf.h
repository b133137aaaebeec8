/*
 * EMI/UCP settings: the client (connections.settings of type "ucp") and the
 * server ("ucp-server"), as typed tables beside the structs they fill, and
 * their checks.  No I/O here.
 *
 * Contract:
 * - the checks MUST refuse what the sessions cannot honour (an unknown
 *   version, a login longer than OAdC's 16 digits, a listen address that is
 *   not host:port, TLS without certificate and key, reconnect_min_ms above
 *   reconnect_max_ms) with a message naming the key, and MUST NOT do I/O.
 */
#ifndef SMSPOOL_UCP_CONF_H
#define SMSPOOL_UCP_CONF_H

#include <jansson.h>
#include <stdbool.h>

#include "errbuf.h"
#include "settings.h"
#include "util.h"

struct ucp_conf {
	char *host;
	long long port;
	json_t *backup_hosts; /* ["host:port", ...] */
	char *version;        /* "3.5" (01/30/31 only) or "4.0" … "4.6" (5x series) */
	char *login;          /* OAdC of op 60; NULL/"" = no session management (IP-authorised) */
	char *password;
	long long oton, onpi, styp;
	char *vers; /* VERS of op 60 */
	long long window, keepalive_s, response_timeout_s;
	long long reconnect_min_ms, reconnect_max_ms;
	bool request_reports;
	long long notification_type; /* NT: 1 delivery, 2 non-delivery, 4 buffered; 3 = 1+2, 7 all */
	char *npid;                  /* NPID of notifications, "" = none */
	long long throttle_pause_ms;
	long long reasm_timeout_s;
	bool tls;
	char *tls_ca_file;
	bool tls_verify;
	char *sender_ton;   /* "auto", "international", "alphanumeric", "unknown" (sm.h) */
	char *amsg_charset; /* "gsm" (MT=3 carries GSM codes) or "latin1" */
};

struct ucp_server_conf {
	char *listen; /* "host:port"; port 0 = any free port */
	bool tls;
	char *tls_cert_file, *tls_key_file;
	long long max_sessions, max_per_address, login_timeout_s, inactivity_timeout_s, response_timeout_s, window;
	long long reassembly_timeout_s, reassembly_max_parts; /* multipart submits joined */
};

extern const struct setting ucp_conf_settings[];
extern const struct setting ucp_server_conf_settings[];

MUST_CHECK int ucp_conf_check(const void *conf, struct errbuf *err);
MUST_CHECK int ucp_server_conf_check(const void *conf, struct errbuf *err);

/* The sender_ton setting (checked) as its enum value. */
int ucp_conf_sender_ton(const struct ucp_conf *conf);
/* True when MT=3 texts carry Latin-1 octets (amsg_charset "latin1"). */
bool ucp_conf_latin1(const struct ucp_conf *conf);

/* True for version 3.5: submits by op 01 (texts) and 30, no 5x series. */
bool ucp_conf_is_v35(const struct ucp_conf *conf);

#endif
