/*
 * addr: "host:port" as settings write it, and socket addresses.  The one
 * parser for every listen address and peer setting (SMPP, HTTP API and
 * callbacks, UCP, the link).  Pure, no resolver: numeric conversions only.
 */
#ifndef SMSPOOL_NET_ADDR_H
#define SMSPOOL_NET_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#include "util.h"

/* Splits "host:port" or "[v6]:port" into host (capacity cap, without the
 * brackets) and *port, which must lie in min_port..65535 (0 for a listen
 * address where 0 means any free port, 1 for a peer).  Returns 0 or -1. */
MUST_CHECK int net_addr_split(const char *s, char *host, size_t cap, int *port, int min_port);

/* A numeric host (IPv4 or IPv6) and port as a socket address.  Returns 0,
 * or -1 when host is not numeric. */
MUST_CHECK int net_addr_numeric(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len);

/* "host:port", or "[host]:port" when host holds a colon, into out. */
void net_addr_format(const char *host, int port, char *out, size_t cap);

/* The numeric address of sa into ip (capacity cap, "" if not IP) and its
 * port into *port. */
void net_addr_from_sockaddr(const struct sockaddr *sa, char *ip, size_t cap, int *port);

#endif
