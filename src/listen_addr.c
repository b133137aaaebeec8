/* listen_addr: see listen_addr.h. */
#include "listen_addr.h"

#include <netdb.h>
#include <stdlib.h>
#include <string.h>

int listen_addr_parse(const char *listen, struct sockaddr_storage *ss, socklen_t *len, char *host, size_t hcap,
                      int *port)
{
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	if (!colon || colon == listen || !colon[1])
		return -1;
	const char *h = listen;
	size_t hl = (size_t)(colon - listen);
	if (h[0] == '[') {
		if (hl < 3 || h[hl - 1] != ']')
			return -1;
		h++;
		hl -= 2;
	}
	if (hl >= hcap)
		return -1;
	memcpy(host, h, hl);
	host[hl] = 0;
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (*end || p < 0 || p > 65535)
		return -1;
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	*port = (int)p;
	return 0;
}
