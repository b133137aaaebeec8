/*
 * httpd: one libmicrohttpd daemon on the core's libevent loop (its epoll
 * descriptor watched for reading, its timeout as a timer), shared by every
 * HTTP server of smspool (the send API, the callback listener).  MHD runs
 * only from the loop, never from inside one of its own callbacks: a caller
 * that resumed a connection asks for a run with httpd_kick().
 *
 * Limits every listener gets: connections in all and per remote address,
 * an idle timeout, a deadline for the request line and headers (against
 * slowloris: a client that sends a byte now and then is never idle, so the
 * idle timeout alone would keep it for ever), and with TLS a floor of TLS
 * 1.2.
 */
#ifndef SMSPOOL_NET_HTTPD_H
#define SMSPOOL_NET_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <microhttpd.h>

struct httpd_opts {
	const char *name;            /* for logs (copied) */
	const struct sockaddr *addr; /* numeric, port 0 = a free one */
	bool tls;
	const char *cert_pem, *key_pem; /* with tls; borrowed until httpd_free */
	unsigned max_connections;
	unsigned max_per_address; /* 0 = no limit */
	unsigned timeout_s;       /* an idle connection is closed after this */
	/* The request line and headers must be in within this many seconds of
	 * the connection's start or of its previous answer, else the connection
	 * is closed; 0 = HTTPD_HEADER_TIMEOUT_S. */
	unsigned header_timeout_s;
	MHD_AccessHandlerCallback handler;
	MHD_RequestCompletedCallback completed;                                  /* may be NULL */
	void *(*uri_log)(void *cls, const char *uri, struct MHD_Connection *mc); /* may be NULL */
	void *cls;                                                               /* of the three callbacks */
};

enum { HTTPD_HEADER_TIMEOUT_S = 10 };

struct httpd;

/* Starts listening.  Returns the daemon, or NULL with err (capacity cap)
 * saying why (libmicrohttpd's last message when it gave one). */
struct httpd *httpd_start(struct event_base *base, const struct httpd_opts *o, char *err, size_t cap);
struct MHD_Daemon *httpd_mhd(struct httpd *h);
/* The port really listened on. */
int httpd_port(struct httpd *h);
/* Runs MHD soon, from the loop. */
void httpd_kick(struct httpd *h);
/* Runs MHD now (only from the loop, outside MHD callbacks: e.g. on stop). */
void httpd_run(struct httpd *h);
/* Reads a PEM file (certificate or key, at most 1 MiB) into a new string,
 * or NULL. */
char *httpd_read_pem(const char *path);
/* Stops MHD and frees everything (NULL is fine). */
void httpd_free(struct httpd *h);

#endif
