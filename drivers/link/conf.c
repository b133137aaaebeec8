/* link settings and their checks: see conf.h. */
#include "link/conf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/addr.h"
#include "net/dialer_conf.h"
#include "net/listen_conf.h"

#define O(f) offsetof(struct link_conf, f)
const struct setting link_conf_settings[] = {
    DIALER_CONF_PEER_SETTINGS(struct link_conf, "host name or address of the link-server",
                              "TCP port of the link-server"),
    {"account", SETTING_STRING, O(account), false, false, 0, 0, NULL,
     "account (smspool.accounts.system_id) on the server side; may be left out with tls_cert (the server maps the "
     "certificate to its account)"},
    {"password", SETTING_STRING, O(password), false, false, 0, 0, "\"\"", "password of the account"},
    {"window", SETTING_INT, O(window), false, true, 1, 1024, "8", "batches outstanding at once"},
    {"batch", SETTING_INT, O(batch), false, true, 1, 10000, "200", "messages per batch at most"},
    {"flush_ms", SETTING_INT, O(flush_ms), false, true, 0, 10000, "0",
     "wait this long for a batch to fill before sending it (0 = send what the core handed over at once)"},
    {"keepalive_s", SETTING_INT, O(keepalive_s), false, true, 0, 3600, "30",
     "send a heartbeat after this many idle seconds (0 = never)"},
    {"response_timeout_s", SETTING_INT, O(response_timeout_s), false, true, 1, 3600, "60",
     "seconds to wait for a batch_ack or heartbeat_ack; the session is then dropped and the batch sent again"},
    DIALER_CONF_RECONNECT_SETTINGS(struct link_conf, "500", "30000"),
    {"max_frame", SETTING_INT, O(max_frame), false, true, 1024, 67108864, "4194304",
     "largest frame accepted (bytes); a larger one ends the session"},
    DIALER_CONF_TLS_SETTINGS(struct link_conf, "speak the link over TLS", "server"),
    {"tls_cert", SETTING_STRING, O(tls_cert), false, false, 0, 0, NULL,
     "client certificate chain (PEM) presented to the server (mutual TLS, instead of or beside the password); needs "
     "tls and tls_key"},
    {"tls_key", SETTING_STRING, O(tls_key), false, false, 0, 0, NULL, "private key (PEM) of tls_cert"},
    SETTINGS_END,
};
#undef O

#define O(f) offsetof(struct link_server_conf, f)
const struct setting link_server_conf_settings[] = {
    LISTEN_CONF_SETTINGS(struct link_server_conf, "\"127.0.0.1:7788\"",
                         "address:port to accept links on (port 0: any free port, logged)", "links speak TLS"),
    {"tls_client_ca_file", SETTING_STRING, O(tls_client_ca_file), false, false, 0, 0, NULL,
     "CA certificates (PEM) that client certificates must chain to (mutual TLS); needs tls and tls_client_accounts"},
    {"tls_client_accounts", SETTING_OBJECT, O(tls_client_accounts), false, false, 0, 0, NULL,
     "client certificate -> account: {\"<subject CN>\": \"account\", \"sha256:<fingerprint hex>\": \"account\"}; a "
     "trusted certificate found here logs in as that account without a password"},
    {"max_sessions", SETTING_INT, O(max_sessions), false, true, 1, 100000, "100", "links at once"},
    {"max_per_address", SETTING_INT, O(max_per_address), false, true, 0, 100000, "0",
     "links at once from one address (0 = no limit)"},
    {"hello_timeout_s", SETTING_INT, O(hello_timeout_s), false, true, 1, 3600, "30",
     "close a link that has not authenticated after this long"},
    {"inactivity_timeout_s", SETTING_INT, O(inactivity_timeout_s), false, true, 1, 86400, "300",
     "close a link that sends nothing for this long"},
    {"response_timeout_s", SETTING_INT, O(response_timeout_s), false, true, 1, 3600, "30",
     "seconds to wait for the ack of states or inbounds; they are then sent again later"},
    {"window", SETTING_INT, O(window), false, true, 1, 1024, "8", "states/inbounds frames outstanding per link"},
    {"batch", SETTING_INT, O(batch), false, true, 1, 10000, "500", "states or inbound texts per frame at most"},
    {"max_frame", SETTING_INT, O(max_frame), false, true, 1024, 67108864, "4194304",
     "largest frame accepted (bytes); a larger one ends the session with error too_big"},
    SETTINGS_END,
};
#undef O

int link_conf_check(const void *p, struct errbuf *err)
{
	const struct link_conf *conf = p;
	if (!conf->host || !*conf->host)
		return errbuf_set(err, "settings.host: must not be empty");
	if (conf->account && strlen(conf->account) > 128)
		return errbuf_set(err, "settings.account: at most 128 characters");
	if (strlen(conf->password) > 128)
		return errbuf_set(err, "settings.password: at most 128 characters");
	if ((!conf->account || !*conf->account) && !conf->tls_cert)
		return errbuf_set(err, "settings.account: must not be empty (or give tls_cert)");
	if (!conf->tls_cert != !conf->tls_key)
		return errbuf_set(err, "settings.tls_cert: tls_cert and tls_key go together");
	if (conf->tls_cert && !conf->tls)
		return errbuf_set(err, "settings.tls_cert: only with tls true");
	struct dialer_conf dc = DIALER_CONF_OF(conf);
	return dialer_conf_check(&dc, err);
}

int link_server_conf_check(const void *p, struct errbuf *err)
{
	const struct link_server_conf *conf = p;
	if (listen_conf_check(conf->listen, conf->tls, conf->tls_cert_file, conf->tls_key_file, err))
		return -1;
	if (!conf->tls_client_ca_file != !conf->tls_client_accounts)
		return errbuf_set(
		    err, "settings.tls_client_ca_file: tls_client_ca_file and tls_client_accounts go together");
	if (conf->tls_client_ca_file && !conf->tls)
		return errbuf_set(err, "settings.tls_client_ca_file: only with tls true");
	const char *k;
	json_t *v;
	json_object_foreach(conf->tls_client_accounts, k, v)
	{
		if (!*k || strlen(k) > 255)
			return errbuf_set(err, "settings.tls_client_accounts: a key is a subject CN or sha256:<hex>");
		if (!json_is_string(v) || !*json_string_value(v) || strlen(json_string_value(v)) > 128)
			return errbuf_set(err, "settings.tls_client_accounts.%s: must be an account name", k);
	}
	return 0;
}

/* Fingerprints compare in any case, with or without colons (as
 * `openssl x509 -fingerprint -sha256` prints them). */
static bool same_fingerprint(const char *conf, const char *hex)
{
	for (; *conf; conf++) {
		if (*conf == ':')
			continue;
		char a = *conf >= 'a' && *conf <= 'f' ? (char)(*conf - 'a' + 'A') : *conf;
		if (a != *hex++)
			return false;
	}
	return *hex == '\0';
}

const char *link_server_conf_cert_account(const struct link_server_conf *conf, const char *cn, const char *sha256)
{
	const char *k;
	json_t *v;
	if (*sha256)
		json_object_foreach(conf->tls_client_accounts, k, v)
		{
			if (strncasecmp(k, "sha256:", 7) == 0 && same_fingerprint(k + 7, sha256))
				return json_string_value(v);
		}
	if (!*cn || strncasecmp(cn, "sha256:", 7) == 0)
		return NULL;
	json_t *a = json_object_get(conf->tls_client_accounts, cn);
	return a ? json_string_value(a) : NULL;
}
