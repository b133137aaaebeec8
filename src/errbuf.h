/*
 * errbuf: a fixed buffer that carries one human-readable error message from
 * the place that detects a problem to the place that reports it.  No
 * allocation, so it is safe to use in decoders and on error paths.
 */
#ifndef SMSPOOL_ERRBUF_H
#define SMSPOOL_ERRBUF_H

#include <stddef.h>

struct errbuf {
	char msg[256];
};

/* Formats into err (may be NULL: the message is dropped). Always returns -1
 * so that callers can write `return errbuf_set(err, "...")`. */
__attribute__((format(printf, 2, 3))) int errbuf_set(struct errbuf *err, const char *fmt, ...);

#endif
