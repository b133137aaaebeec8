/*
 * listen_conf: the settings every server connection over the link layer
 * (ucp-server, link-server) has, once: the listen address and server TLS
 * (certificate chain and key).  The driver's conf struct keeps the fields
 * under these names; the table macro expands to its settings rows (with
 * the driver's default address and wording), one check serves every
 * driver.  No I/O here.
 */
#ifndef SMSPOOL_NET_LISTEN_CONF_H
#define SMSPOOL_NET_LISTEN_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "errbuf.h"
#include "settings.h"
#include "util.h"

/* Rows listen, tls, tls_cert_file, tls_key_file of conf struct T. */
#define LISTEN_CONF_SETTINGS(T, listen_def, listen_text, tls_text)                                                     \
	{"listen", SETTING_STRING, offsetof(T, listen), false, false, 0, 0, listen_def, listen_text},                  \
	    {"tls", SETTING_BOOL, offsetof(T, tls), false, false, 0, 0, "false", tls_text},                            \
	    {"tls_cert_file",                                                                                          \
	     SETTING_STRING,                                                                                           \
	     offsetof(T, tls_cert_file),                                                                               \
	     false,                                                                                                    \
	     false,                                                                                                    \
	     0,                                                                                                        \
	     0,                                                                                                        \
	     NULL,                                                                                                     \
	     "server certificate chain (PEM), with tls"},                                                              \
	{                                                                                                              \
		"tls_key_file", SETTING_STRING, offsetof(T, tls_key_file), false, false, 0, 0, NULL,                   \
		    "private key (PEM) of tls_cert_file"                                                               \
	}

/* listen is "host:port" (port 0..65535); tls has a certificate and a key,
 * and they come only with tls. */
MUST_CHECK int listen_conf_check(const char *listen, bool tls, const char *cert_file, const char *key_file,
                                 struct errbuf *err);

#endif
