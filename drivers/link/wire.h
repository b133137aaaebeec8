/*
 * link wire: what the two sides of the native link share on top of the
 * session layer (src/net/link.h): the framing callback, sending a frame,
 * the error frames, and heartbeats.
 */
#ifndef SMSPOOL_LINK_WIRE_H
#define SMSPOOL_LINK_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "link/frame.h"
#include "net/link.h"

/* link_ops.frame: the length prefix (the session layer enforces max_frame). */
long link_wire_frame(const uint8_t *buf, size_t len, struct errbuf *err);
/* Encodes and sends f.  Returns 0, or -1 when the link refuses it. */
int link_wire_send(struct link *l, const link_frame_t *f);
/* Sends error{code, text} and closes the session once it is written. */
void link_wire_error(struct link *l, const char *code, const char *text);
/* link_ops.on_bad_stream's last word: error{"too_big", reason} (the link
 * then closes the session). */
void link_wire_too_big(struct link *l, const char *reason);
/* Sends heartbeat{seq} (ack false: link_ops.on_keepalive) or its
 * heartbeat_ack (ack true).  Returns 0, or -1 when the link refuses it. */
int link_wire_heartbeat(struct link *l, uint64_t seq, bool ack);
/* Whether this side offers client_ids (State.client_id, 047): yes, unless
 * the environment says SMSPOOL_LINK_CLIENT_IDS=0 (for tests: a peer that
 * does not know them). */
bool link_wire_client_ids(void);

#endif
