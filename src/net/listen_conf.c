/* listen_conf: the shared listen/TLS settings check (see listen_conf.h). */
#include "net/listen_conf.h"

#include "net/addr.h"

int listen_conf_check(const char *listen, bool tls, const char *cert_file, const char *key_file, struct errbuf *err)
{
	char host[256];
	int port;
	if (!listen || net_addr_split(listen, host, sizeof host, &port, 0))
		return errbuf_set(err, "settings.listen: must be \"host:port\" (port 0..65535)");
	if (tls && (!cert_file || !key_file))
		return errbuf_set(err, "settings.tls_cert_file: tls needs tls_cert_file and tls_key_file");
	if (!tls && (cert_file || key_file))
		return errbuf_set(err, "settings.tls_cert_file: only with tls true");
	return 0;
}
