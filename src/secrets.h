/*
 * secrets: connection secrets kept out of smspool.connections.  A top-level
 * string value of a connection's settings written as "${NAME}" is replaced,
 * when the daemon (or check-config) parses the settings, by the environment
 * variable NAME; "${file:/absolute/path}" by the content of that file (one
 * trailing newline dropped), e.g. {"password": "${file:/etc/smspool/smsc1.pw}"}.
 * Any other string is left as it is.  The table and the logs only ever hold
 * the reference; an unset variable or an unreadable file is an error naming
 * the key and the reference, never a value.  Secrets are read when the
 * connection is (re)started.
 */
#ifndef SMSPOOL_SECRETS_H
#define SMSPOOL_SECRETS_H

#include "errbuf.h"
#include "settings.h"
#include "util.h"

/* Returns new JSON text with the references replaced (caller frees), or
 * NULL with err set. */
char *secrets_expand(const char *json_text, struct errbuf *err);
/* settings_parse() of the expanded text: what the daemon and check-config use. */
MUST_CHECK int secrets_settings_parse(const struct setting *table, const char *json_text, void *conf,
                                      struct errbuf *err);

#endif
