/*
 * listen_addr: a listen setting ("host:port", "[v6]:port", numeric, port 0
 * = any free one) as a socket address, for the HTTP send API and the
 * operations endpoint; the parsing is net/addr.c's.
 */
#ifndef SMSPOOL_LISTEN_ADDR_H
#define SMSPOOL_LISTEN_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Fills ss/len, the host part (without brackets, capacity hcap) and the port
 * (0..65535, 0 = any free port).  Returns 0, or -1 on a malformed address. */
int listen_addr_parse(const char *listen, struct sockaddr_storage *ss, socklen_t *len, char *host, size_t hcap,
                      int *port);

#endif
