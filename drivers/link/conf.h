/*
 * link settings: the client ("link", a sending connection towards another
 * smspool) and the server ("link-server", accepting other smspools as
 * accounts), as typed tables beside the structs they fill, and their checks.
 * No I/O here.
 */
#ifndef SMSPOOL_LINK_CONF_H
#define SMSPOOL_LINK_CONF_H

#include <jansson.h>
#include <stdbool.h>

#include "errbuf.h"
#include "settings.h"
#include "util.h"

struct link_conf {
	char *host;
	long long port;
	json_t *backup_hosts; /* ["host:port", ...] */
	char *account, *password;
	long long window, batch, flush_ms;
	long long keepalive_s, response_timeout_s, reconnect_min_ms, reconnect_max_ms, max_frame;
	bool tls;
	char *tls_ca_file;
	bool tls_verify;
	char *tls_cert, *tls_key; /* mutual TLS: the certificate this side presents */
};

struct link_server_conf {
	char *listen; /* "host:port"; port 0 = any free port */
	bool tls;
	char *tls_cert_file, *tls_key_file;
	char *tls_client_ca_file;    /* mutual TLS: CAs of the client certificates */
	json_t *tls_client_accounts; /* {"<CN>" or "sha256:<hex>": "<account>", ...} */
	long long max_sessions, max_per_address, hello_timeout_s, inactivity_timeout_s, response_timeout_s, window;
	long long max_frame, batch;
};

extern const struct setting link_conf_settings[];
extern const struct setting link_server_conf_settings[];

MUST_CHECK int link_conf_check(const void *conf, struct errbuf *err);
MUST_CHECK int link_server_conf_check(const void *conf, struct errbuf *err);

/* The account that the certificate of subject name cn and SHA-256
 * fingerprint sha256 (hex) logs in as, by conf->tls_client_accounts (a
 * fingerprint first, then the name); NULL when none. */
const char *link_server_conf_cert_account(const struct link_server_conf *conf, const char *cn, const char *sha256);

#endif
