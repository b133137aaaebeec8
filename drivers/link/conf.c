/* link settings and their checks: see conf.h. */
#include "link/conf.h"

#include <stdio.h>
#include <string.h>

#include "net/addr.h"
#include "net/dialer_conf.h"
#include "net/listen_conf.h"

#define O(f) offsetof(struct link_conf, f)
const struct setting link_conf_settings[] = {
    DIALER_CONF_PEER_SETTINGS(struct link_conf, "host name or address of the link-server",
                              "TCP port of the link-server"),
    {"account", SETTING_STRING, O(account), true, false, 0, 0, NULL,
     "account (smspool.accounts.system_id) on the server side"},
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
    SETTINGS_END,
};
#undef O

#define O(f) offsetof(struct link_server_conf, f)
const struct setting link_server_conf_settings[] = {
    LISTEN_CONF_SETTINGS(struct link_server_conf, "\"127.0.0.1:7788\"",
                         "address:port to accept links on (port 0: any free port, logged)", "links speak TLS"),
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
	if (!conf->account || !*conf->account)
		return errbuf_set(err, "settings.account: must not be empty");
	struct dialer_conf dc = DIALER_CONF_OF(conf);
	return dialer_conf_check(&dc, err);
}

int link_server_conf_check(const void *p, struct errbuf *err)
{
	const struct link_server_conf *conf = p;
	return listen_conf_check(conf->listen, conf->tls, conf->tls_cert_file, conf->tls_key_file, err);
}

size_t link_conf_peer_count(const struct link_conf *conf)
{
	struct dialer_conf dc = DIALER_CONF_OF(conf);
	return dialer_conf_peer_count(&dc);
}

int link_conf_peer(const struct link_conf *conf, size_t i, char *host, size_t cap, int *port)
{
	struct dialer_conf dc = DIALER_CONF_OF(conf);
	return dialer_conf_peer(&dc, i, host, cap, port);
}
