/*
 * listen_addr: "host:port" and "[v6]:port" listen addresses, parsed
 * numerically (AI_NUMERICHOST: never a resolver, so no I/O), shared by the
 * HTTP send API and the operations endpoint.
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
