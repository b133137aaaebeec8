/* dialer_conf: the shared client connection settings and checks (see
 * dialer_conf.h). */
#include "net/dialer_conf.h"

#include <stdio.h>
#include <string.h>

#include "net/addr.h"

int dialer_conf_check(const struct dialer_conf *dc, struct errbuf *err)
{
	if (dc->reconnect_min_ms > dc->reconnect_max_ms)
		return errbuf_set(err, "settings.reconnect_min_ms: must not exceed reconnect_max_ms");
	if (dc->backup_hosts) {
		for (size_t i = 0; i < json_array_size(dc->backup_hosts); i++) {
			const json_t *v = json_array_get(dc->backup_hosts, i);
			char host[256];
			int port;
			if (!json_is_string(v) || net_addr_split(json_string_value(v), host, sizeof host, &port, 1))
				return errbuf_set(err, "settings.backup_hosts[%zu]: must be a string \"host:port\"", i);
		}
	}
	if (!dc->tls && dc->tls_ca_file)
		return errbuf_set(err, "settings.tls_ca_file: only with tls true");
	return 0;
}

size_t dialer_conf_peer_count(const struct dialer_conf *dc)
{
	return 1 + (dc->backup_hosts ? json_array_size(dc->backup_hosts) : 0);
}

int dialer_conf_peer(const struct dialer_conf *dc, size_t i, char *host, size_t cap, int *port)
{
	if (i == 0) {
		if (!dc->host || strlen(dc->host) >= cap)
			return -1;
		snprintf(host, cap, "%s", dc->host);
		*port = (int)dc->port;
		return 0;
	}
	const json_t *v = dc->backup_hosts ? json_array_get(dc->backup_hosts, i - 1) : NULL;
	if (!json_is_string(v))
		return -1;
	return net_addr_split(json_string_value(v), host, cap, port, 1);
}
