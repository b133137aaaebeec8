/* listen_addr: see listen_addr.h.  A socket address from the one
 * host:port parser (net/addr.h). */
#include "listen_addr.h"

#include "net/addr.h"

int listen_addr_parse(const char *listen, struct sockaddr_storage *ss, socklen_t *len, char *host, size_t hcap,
                      int *port)
{
	if (!listen || net_addr_split(listen, host, hcap, port, 0))
		return -1;
	return net_addr_numeric(host, *port, ss, len);
}
