/*
 * addr: the one "host:port" parser and socket address helpers (see addr.h).
 */
#include "net/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int net_addr_split(const char *s, char *host, size_t cap, int *port, int min_port)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	if (!colon || colon == s || !colon[1])
		return -1;
	const char *h = s, *he = colon;
	if (*h == '[') {
		if (he - h < 3 || he[-1] != ']')
			return -1;
		h++;
		he--;
	}
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (*end || colon[1] < '0' || colon[1] > '9' || p < min_port || p > 65535 || he == h || (size_t)(he - h) >= cap)
		return -1;
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = 0;
	*port = (int)p;
	return 0;
}

int net_addr_numeric(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (port < 0 || port > 65535)
		return -1;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof *a4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof *a6;
		return 0;
	}
	return -1;
}

void net_addr_format(const char *host, int port, char *out, size_t cap)
{
	snprintf(out, cap, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

void net_addr_from_sockaddr(const struct sockaddr *sa, char *ip, size_t cap, int *port)
{
	ip[0] = 0;
	*port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a4->sin_addr, ip, (socklen_t)cap);
		*port = ntohs(a4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a6->sin6_addr, ip, (socklen_t)cap);
		*port = ntohs(a6->sin6_port);
	}
}
