/*
 * Nokia FBUS version 2 framing: bytes <-> struct fbus_frame, no I/O, no
 * allocation.  As gnokii (Docs/protocol/nokia.txt) and Gammu (fbus2.c)
 * document it, a frame is
 *
 *   1E|1C  dst  src  type  len_hi len_lo  data[len]  [00 pad if len odd]  chk1 chk2
 *
 * chk1 is the XOR of the octets at even offsets, chk2 of those at odd
 * offsets (pad included), so the XOR of every 16-bit word of a good frame is
 * zero.  A data frame's last two data octets are FramesToGo (frames left in
 * this message, this one included) and the sequence octet (0x40 = first
 * frame of a message, low 3 bits = sequence number); everything before them
 * is the block, a piece of the message.  An acknowledgement (type 0x7F)
 * carries [acked type, acked seq & 0x0F] and nothing else.
 *
 * Contract:
 * - fbus_frame_decode decodes exactly one frame and MUST NOT read outside
 *   [buf, buf + len).  A frame whose checksums fail is decoded all the same
 *   (so that it can be shown) but returned as an error: it MUST be dropped
 *   and never acknowledged.
 * - The reader takes a byte stream in any slicing, skips garbage (the 0x55
 *   synchronisation burst, line noise, a half frame) and returns only frames
 *   whose checksums hold; after a bad frame it resynchronises on the next
 *   frame id octet after the bad frame's start.
 * - The assembler joins the blocks of a multi-frame message in order and
 *   refuses a missing or foreign frame, as Gammu does.
 */
#ifndef SMSPOOL_FBUS_FRAME_H
#define SMSPOOL_FBUS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define FBUS_FRAME_ID 0x1E      /* cable */
#define FBUS_FRAME_ID_IRDA 0x1C /* the same framing over IrDA */
#define FBUS_TYPE_ACK 0x7F
#define FBUS_DEV_PHONE 0x00
#define FBUS_DEV_PC 0x0C
#define FBUS_SYNC_OCTET 0x55
#define FBUS_HEADER_LEN 6
/* Largest data length accepted: phones send at most ~130; the bound only
 * stops a corrupt length from swallowing good frames for long. */
#define FBUS_DATA_MAX 512
#define FBUS_FRAME_MAX (FBUS_HEADER_LEN + FBUS_DATA_MAX + 1 + 2)
/* Octets of message per frame when sending (Gammu's and gnokii's choice). */
#define FBUS_BLOCK_MAX 120
/* Largest reassembled message. */
#define FBUS_MSG_MAX 4096
/* Enough for fbus_frame_fields on any frame. */
#define FBUS_FIELDS_MAX (2 * FBUS_DATA_MAX + 256)

struct fbus_frame {
	uint8_t frame_id, dst, src, type;
	uint16_t length; /* data octets, FramesToGo and seq included, pad excluded */
	uint8_t data[FBUS_DATA_MAX];
	uint8_t chk1, chk2;
	bool checksum_ok;
};

struct fbus_error {
	const char *what; /* "short", "frame_id", "length", "checksum" */
	char reason[96];
};

/* Decodes one whole frame (len octets, borrowed) into f.  Returns 0, or
 * -EBADMSG with err filled; on a checksum error f is complete too. */
MUST_CHECK int fbus_frame_decode(const uint8_t *buf, size_t len, struct fbus_frame *f, struct fbus_error *err);

/* Encodes f (length and data as given; pad and checksums computed) into out.
 * Returns the frame's length, or -ENOSPC / -EINVAL (length over the max). */
MUST_CHECK int fbus_frame_encode(const struct fbus_frame *f, uint8_t *out, size_t cap);

/* Fills f as a data frame carrying block (blen octets, borrowed). */
MUST_CHECK int fbus_frame_data(struct fbus_frame *f, uint8_t frame_id, uint8_t dst, uint8_t src, uint8_t type,
                               const uint8_t *block, size_t blen, uint8_t frames_to_go, uint8_t seq);
/* Fills f as the acknowledgement of a frame of type `type` with seq `seq`. */
void fbus_frame_ack(struct fbus_frame *f, uint8_t frame_id, uint8_t dst, uint8_t src, uint8_t type, uint8_t seq);

/* Accessors of a decoded data frame (length >= 2). */
static inline const uint8_t *fbus_frame_block(const struct fbus_frame *f)
{
	return f->data;
}
static inline size_t fbus_frame_block_len(const struct fbus_frame *f)
{
	return f->length >= 2 ? (size_t)f->length - 2 : 0;
}
static inline uint8_t fbus_frame_to_go(const struct fbus_frame *f)
{
	return f->length >= 2 ? f->data[f->length - 2] : 0;
}
static inline uint8_t fbus_frame_seq(const struct fbus_frame *f)
{
	return f->length >= 1 ? f->data[f->length - 1] : 0;
}

/* Writes "key=value;..." in the names of tests/vectors/fbus.tsv.  Returns the
 * length, or -ENOSPC. */
MUST_CHECK int fbus_frame_fields(const struct fbus_frame *f, char *out, size_t cap);
/* The fields of a frame that did not decode at all ("parse_error=..."). */
MUST_CHECK int fbus_error_fields(const struct fbus_error *err, char *out, size_t cap);

/* ---- stream reader ---- */

struct fbus_reader {
	uint8_t buf[2 * FBUS_FRAME_MAX];
	size_t len;
	int want_dst;          /* -1 = any; otherwise frames to others are skipped */
	unsigned long skipped; /* octets dropped while out of sync */
	unsigned long bad;     /* frames dropped for a bad checksum */
};

void fbus_reader_init(struct fbus_reader *r, int want_dst);
/* Takes as many of n octets as fit; returns how many it took. */
size_t fbus_reader_push(struct fbus_reader *r, const uint8_t *in, size_t n);
/* Returns 1 with the next good frame in f, 0 when more octets are needed. */
int fbus_reader_next(struct fbus_reader *r, struct fbus_frame *f);

/* ---- multi-frame messages ---- */

struct fbus_assembler {
	bool active;
	uint8_t type;
	uint8_t to_go; /* FramesToGo expected on the next frame */
	size_t len;
	uint8_t msg[FBUS_MSG_MAX];
};

/* Adds a data frame (not an ack).  Returns 1 when a.msg/a.len hold a whole
 * message of type a.type, 0 when more frames are due, -EBADMSG when the frame
 * does not continue the message under way (it is dropped and the assembler
 * reset), -EMSGSIZE when the message grows over FBUS_MSG_MAX. */
int fbus_assemble(struct fbus_assembler *a, const struct fbus_frame *f);

/* Number of frames a message of len octets takes (at least 1). */
static inline size_t fbus_frames_for(size_t len)
{
	return len == 0 ? 1 : (len + FBUS_BLOCK_MAX - 1) / FBUS_BLOCK_MAX;
}
/* Fills f with frame i of the message msg (len octets), with sequence number
 * seq_no (0..7; the first frame gets the 0x40 bit). */
MUST_CHECK int fbus_msg_frame(struct fbus_frame *f, uint8_t frame_id, uint8_t dst, uint8_t src, uint8_t type,
                              const uint8_t *msg, size_t len, size_t i, uint8_t seq_no);

#endif
