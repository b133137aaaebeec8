/*
 * link frame: the codec of the native link between smspool instances
 * (drivers/link/FORMAT.md).  A frame is a 4-byte big-endian length and a
 * Protocol Buffers message (link.proto, compiled by protoc-c at build time):
 * the schema library, not hand-written field layouts, so that the format can
 * grow fields that older peers ignore.
 *
 * Pure: no I/O.  The decoder checks, beyond what protobuf-c does, every rule
 * the protocol depends on (a frame body is set, strings are UTF-8, numbers
 * are in range, lists are bounded), so that a session never sees a frame it
 * cannot use.  Fuzzed by tests/fuzz/fuzz_link_frame.c.
 */
#ifndef SMSPOOL_LINK_FRAME_H
#define SMSPOOL_LINK_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "errbuf.h"
#include "link.pb-c.h"
#include "util.h"

enum {
	LINK_VERSION = 1,                 /* raised when a change cannot be ignored */
	LINK_HEADER = 4,                  /* the length prefix */
	LINK_MAX_FRAME_DEFAULT = 4 << 20, /* bytes after the prefix */
	LINK_MAX_ITEMS = 10000,           /* messages, results, states per frame */
};

typedef Smspool__Link__Frame link_frame_t;

/* For the session layer's framing: given len bytes at buf, the length of the
 * whole frame that starts there (prefix included), 0 when more bytes are
 * needed, -1 when its length exceeds max_frame (the session ends). */
long link_frame_length(const uint8_t *buf, size_t len, size_t max_frame);

/* Decodes one whole frame (prefix and body, len bytes, borrowed).  Returns a
 * new frame (link_frame_free) or NULL with err set: a length that does not
 * match, a body protobuf-c refuses, or a rule of the protocol broken. */
link_frame_t *link_frame_decode(const uint8_t *buf, size_t len, size_t max_frame, struct errbuf *err);

/* Encodes f with its prefix into a new buffer (caller frees); *len gets its
 * length. */
uint8_t *link_frame_encode(const link_frame_t *f, size_t *len);

void link_frame_free(link_frame_t *f);

/* The frame's type as FORMAT.md names it (hello, batch, ...). */
const char *link_frame_type(const link_frame_t *f);

/* Prints the frame as key=value lines (smspool decode link). */
void link_frame_print(const link_frame_t *f, FILE *out);

#endif
