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
};

struct link_server_conf {
	char *listen; /* "host:port"; port 0 = any free port */
	bool tls;
	char *tls_cert_file, *tls_key_file;
	long long max_sessions, max_per_address, hello_timeout_s, inactivity_timeout_s, response_timeout_s, window;
	long long max_frame, batch;
};

extern const struct setting link_conf_settings[];
extern const struct setting link_server_conf_settings[];

MUST_CHECK int link_conf_check(const void *conf, struct errbuf *err);
MUST_CHECK int link_server_conf_check(const void *conf, struct errbuf *err);

/* Number of peers: host:port first, then backup_hosts in order. */
size_t link_conf_peer_count(const struct link_conf *conf);
/* Peer i: host into host (capacity cap), *port.  Returns 0 or -1. */
int link_conf_peer(const struct link_conf *conf, size_t i, char *host, size_t cap, int *port);

#endif
