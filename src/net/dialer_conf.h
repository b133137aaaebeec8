/*
 * dialer_conf: the connection settings every SMSC-style client (SMPP, UCP,
 * link) has, once: host, port and backup_hosts (the peers tried in turn),
 * the reconnect backoff and client TLS.  The driver's conf struct keeps the
 * fields under these names; the table macros below expand to its settings
 * rows (the driver gives its own wording and defaults), and one check and
 * one peer lookup serve every driver.  No I/O here.
 */
#ifndef SMSPOOL_NET_DIALER_CONF_H
#define SMSPOOL_NET_DIALER_CONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "errbuf.h"
#include "settings.h"
#include "util.h"

/* Rows host, port, backup_hosts of conf struct T. */
#define DIALER_CONF_PEER_SETTINGS(T, host_text, port_text)                                                             \
	{"host", SETTING_STRING, offsetof(T, host), true, false, 0, 0, NULL, host_text},                               \
	    {"port", SETTING_INT, offsetof(T, port), true, true, 1, 65535, NULL, port_text},                           \
	{                                                                                                              \
		"backup_hosts", SETTING_ARRAY, offsetof(T, backup_hosts), false, false, 0, 0, NULL,                    \
		    "[\"host:port\", ...] tried in turn after host:port when a session is lost"                        \
	}

/* Rows reconnect_min_ms, reconnect_max_ms of T, with their defaults. */
#define DIALER_CONF_RECONNECT_SETTINGS(T, min_def, max_def)                                                            \
	{"reconnect_min_ms",                                                                                           \
	 SETTING_INT,                                                                                                  \
	 offsetof(T, reconnect_min_ms),                                                                                \
	 false,                                                                                                        \
	 true,                                                                                                         \
	 10,                                                                                                           \
	 3600000,                                                                                                      \
	 min_def,                                                                                                      \
	 "first reconnect delay (doubles per failure, with jitter)"},                                                  \
	{                                                                                                              \
		"reconnect_max_ms", SETTING_INT, offsetof(T, reconnect_max_ms), false, true, 10, 3600000, max_def,     \
		    "longest reconnect delay"                                                                          \
	}

/* Rows tls, tls_ca_file, tls_verify of T; peer names the other side. */
#define DIALER_CONF_TLS_SETTINGS(T, tls_text, peer)                                                                    \
	{"tls", SETTING_BOOL, offsetof(T, tls), false, false, 0, 0, "false", tls_text},                                \
	    {"tls_ca_file",                                                                                            \
	     SETTING_STRING,                                                                                           \
	     offsetof(T, tls_ca_file),                                                                                 \
	     false,                                                                                                    \
	     false,                                                                                                    \
	     0,                                                                                                        \
	     0,                                                                                                        \
	     NULL,                                                                                                     \
	     "CA certificates (PEM) to verify the " peer "; default the system's"},                                    \
	{                                                                                                              \
		"tls_verify", SETTING_BOOL, offsetof(T, tls_verify), false, false, 0, 0, "true",                       \
		    "verify the " peer "'s certificate"                                                                \
	}

/* The fields of those settings, as the driver's conf holds them. */
struct dialer_conf {
	const char *host;
	long long port;
	const json_t *backup_hosts;
	long long reconnect_min_ms, reconnect_max_ms;
	bool tls;
	const char *tls_ca_file;
};

/* Fills a struct dialer_conf from a driver conf pointer p. */
#define DIALER_CONF_OF(p)                                                                                              \
	((struct dialer_conf){.host = (p)->host,                                                                       \
	                      .port = (p)->port,                                                                       \
	                      .backup_hosts = (p)->backup_hosts,                                                       \
	                      .reconnect_min_ms = (p)->reconnect_min_ms,                                               \
	                      .reconnect_max_ms = (p)->reconnect_max_ms,                                               \
	                      .tls = (p)->tls,                                                                         \
	                      .tls_ca_file = (p)->tls_ca_file})

/* The reconnect, backup_hosts and TLS checks (host is the driver's: it
 * checks it first). */
MUST_CHECK int dialer_conf_check(const struct dialer_conf *dc, struct errbuf *err);
/* Number of peers: host:port first, then backup_hosts in order. */
size_t dialer_conf_peer_count(const struct dialer_conf *dc);
/* Peer i (0 <= i < count): host copied into host (capacity cap), *port set.
 * Returns 0 or -1 (a host too long, a backup entry that is not "host:port"). */
MUST_CHECK int dialer_conf_peer(const struct dialer_conf *dc, size_t i, char *host, size_t cap, int *port);

#endif
