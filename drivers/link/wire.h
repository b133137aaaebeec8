/*
 * link wire: what the two sides of the native link share on top of the
 * session layer (src/net/link.h): the framing callback, sending a frame,
 * and the error frame that ends a session.
 */
#ifndef SMSPOOL_LINK_WIRE_H
#define SMSPOOL_LINK_WIRE_H

#include "link/frame.h"
#include "net/link.h"

/* link_ops.frame: the length prefix (the session layer enforces max_frame). */
long link_wire_frame(const uint8_t *buf, size_t len, struct errbuf *err);
/* Encodes and sends f.  Returns 0, or -1 when the link refuses it. */
int link_wire_send(struct link *l, const link_frame_t *f);
/* Sends error{code, text} and closes the session once it is written. */
void link_wire_error(struct link *l, const char *code, const char *text);

#endif
