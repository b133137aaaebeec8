/*
 * FBUS v2 framing (see frame.h for the layout and the contract).  The
 * decoder checks the frame id, then the length against the octets present,
 * then the two XOR checksums; the reader applies the same checks to a
 * stream and, on any failure, drops one octet and looks for the next frame
 * id, which is how a receiver regains sync after noise or a lost octet.
 */
#include "fbus/frame.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void fbus_checksums(const uint8_t *buf, size_t n, uint8_t *c1, uint8_t *c2)
{
	uint8_t a = 0, b = 0;
	for (size_t i = 0; i < n; i++) {
		if (i % 2)
			b ^= buf[i];
		else
			a ^= buf[i];
	}
	*c1 = a;
	*c2 = b;
}

static int fbus_fail(struct fbus_error *err, const char *what, const char *reason)
{
	if (err) {
		err->what = what;
		snprintf(err->reason, sizeof err->reason, "%s", reason);
	}
	return -EBADMSG;
}

/* Total octets of a frame whose data length is len. */
static size_t fbus_frame_size(size_t len)
{
	return FBUS_HEADER_LEN + len + (len % 2) + 2;
}

static bool fbus_is_frame_id(uint8_t b)
{
	return b == FBUS_FRAME_ID || b == FBUS_FRAME_ID_IRDA;
}

int fbus_frame_decode(const uint8_t *buf, size_t len, struct fbus_frame *f, struct fbus_error *err)
{
	if (len < FBUS_HEADER_LEN + 2)
		return fbus_fail(err, "short", "shorter than a frame header");
	if (!fbus_is_frame_id(buf[0]))
		return fbus_fail(err, "frame_id", "frame id is not 1E or 1C");
	size_t dlen = (size_t)buf[4] << 8 | buf[5];
	if (dlen > FBUS_DATA_MAX)
		return fbus_fail(err, "length", "length over the maximum");
	if (fbus_frame_size(dlen) != len)
		return fbus_fail(err, "length", "length mismatch");
	if (dlen < 2)
		return fbus_fail(err, "length", "length below 2");
	memset(f, 0, sizeof *f);
	f->frame_id = buf[0];
	f->dst = buf[1];
	f->src = buf[2];
	f->type = buf[3];
	f->length = (uint16_t)dlen;
	memcpy(f->data, buf + FBUS_HEADER_LEN, dlen);
	f->chk1 = buf[len - 2];
	f->chk2 = buf[len - 1];
	uint8_t c1, c2;
	fbus_checksums(buf, len - 2, &c1, &c2);
	f->checksum_ok = c1 == f->chk1 && c2 == f->chk2;
	if (!f->checksum_ok)
		return fbus_fail(err, "checksum", "checksum mismatch");
	return 0;
}

int fbus_frame_encode(const struct fbus_frame *f, uint8_t *out, size_t cap)
{
	if (f->length > FBUS_DATA_MAX)
		return -EINVAL;
	size_t n = fbus_frame_size(f->length);
	if (n > cap)
		return -ENOSPC;
	out[0] = f->frame_id;
	out[1] = f->dst;
	out[2] = f->src;
	out[3] = f->type;
	out[4] = (uint8_t)(f->length >> 8);
	out[5] = (uint8_t)f->length;
	memcpy(out + FBUS_HEADER_LEN, f->data, f->length);
	if (f->length % 2)
		out[FBUS_HEADER_LEN + f->length] = 0;
	fbus_checksums(out, n - 2, &out[n - 2], &out[n - 1]);
	return (int)n;
}

int fbus_frame_data(struct fbus_frame *f, uint8_t frame_id, uint8_t dst, uint8_t src, uint8_t type,
                    const uint8_t *block, size_t blen, uint8_t frames_to_go, uint8_t seq)
{
	if (blen + 2 > FBUS_DATA_MAX)
		return -EINVAL;
	memset(f, 0, sizeof *f);
	f->frame_id = frame_id;
	f->dst = dst;
	f->src = src;
	f->type = type;
	f->length = (uint16_t)(blen + 2);
	if (blen)
		memcpy(f->data, block, blen);
	f->data[blen] = frames_to_go;
	f->data[blen + 1] = seq;
	f->checksum_ok = true;
	return 0;
}

void fbus_frame_ack(struct fbus_frame *f, uint8_t frame_id, uint8_t dst, uint8_t src, uint8_t type, uint8_t seq)
{
	memset(f, 0, sizeof *f);
	f->frame_id = frame_id;
	f->dst = dst;
	f->src = src;
	f->type = FBUS_TYPE_ACK;
	f->length = 2;
	f->data[0] = type;
	f->data[1] = seq & 0x0F;
	f->checksum_ok = true;
}

/* Appends to out at *pos; returns -1 once the buffer is full. */
__attribute__((format(printf, 4, 5))) static int fbus_put(char *out, size_t cap, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out + *pos, cap - *pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *pos)
		return -1;
	*pos += (size_t)n;
	return 0;
}

int fbus_frame_fields(const struct fbus_frame *f, char *out, size_t cap)
{
	size_t pos = 0;
	if (cap == 0)
		return -ENOSPC;
	out[0] = '\0';
	if (fbus_put(out, cap, &pos,
	             "frame_id=%02X;dst=%02X;src=%02X;msg_type=%02X;length=%u;padding=%u;chk1=%02X;chk2=%02X;"
	             "checksum_ok=%d",
	             f->frame_id, f->dst, f->src, f->type, f->length, f->length % 2u, f->chk1, f->chk2,
	             f->checksum_ok ? 1 : 0) < 0)
		return -ENOSPC;
	if (f->type == FBUS_TYPE_ACK) {
		if (fbus_put(out, cap, &pos, ";ack_of_type=%02X;ack_seq=%02X", f->data[0], f->data[1]) < 0)
			return -ENOSPC;
		return (int)pos;
	}
	size_t blen = fbus_frame_block_len(f);
	if (pos + 7 + 2 * blen + 1 > cap)
		return -ENOSPC;
	memcpy(out + pos, ";block=", 7);
	pos += 7;
	hex_encode(f->data, blen, out + pos);
	pos += 2 * blen;
	uint8_t seq = fbus_frame_seq(f);
	if (fbus_put(out, cap, &pos, ";frames_to_go=%u;seq=%02X;first_block=%d;seq_no=%u", fbus_frame_to_go(f), seq,
	             (seq & 0x40) ? 1 : 0, seq & 0x07u) < 0)
		return -ENOSPC;
	return (int)pos;
}

int fbus_error_fields(const struct fbus_error *err, char *out, size_t cap)
{
	int n = snprintf(out, cap, "parse_error=%s", err->reason);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* ---- stream reader ---- */

void fbus_reader_init(struct fbus_reader *r, int want_dst)
{
	memset(r, 0, sizeof *r);
	r->want_dst = want_dst;
}

size_t fbus_reader_push(struct fbus_reader *r, const uint8_t *in, size_t n)
{
	size_t room = sizeof r->buf - r->len;
	if (n > room)
		n = room;
	memcpy(r->buf + r->len, in, n);
	r->len += n;
	return n;
}

static void fbus_reader_drop(struct fbus_reader *r, size_t n)
{
	memmove(r->buf, r->buf + n, r->len - n);
	r->len -= n;
}

int fbus_reader_next(struct fbus_reader *r, struct fbus_frame *f)
{
	for (;;) {
		size_t skip = 0;
		while (skip < r->len && !fbus_is_frame_id(r->buf[skip]))
			skip++;
		if (skip) {
			r->skipped += skip;
			fbus_reader_drop(r, skip);
		}
		if (r->len < FBUS_HEADER_LEN)
			return 0;
		size_t dlen = (size_t)r->buf[4] << 8 | r->buf[5];
		bool plausible = dlen >= 2 && dlen <= FBUS_DATA_MAX && (r->want_dst < 0 || r->buf[1] == r->want_dst);
		if (plausible) {
			size_t n = fbus_frame_size(dlen);
			if (r->len < n)
				return 0;
			struct fbus_error err;
			if (fbus_frame_decode(r->buf, n, f, &err) == 0) {
				fbus_reader_drop(r, n);
				return 1;
			}
			r->bad++;
		}
		/* Not a frame after all: resynchronise one octet further. */
		r->skipped++;
		fbus_reader_drop(r, 1);
	}
}

/* ---- multi-frame messages ---- */

int fbus_assemble(struct fbus_assembler *a, const struct fbus_frame *f)
{
	uint8_t seq = fbus_frame_seq(f), to_go = fbus_frame_to_go(f);
	if (seq & 0x40) {
		a->active = true;
		a->type = f->type;
		a->len = 0;
	} else if (!a->active || f->type != a->type || to_go != a->to_go) {
		a->active = false;
		return -EBADMSG;
	}
	size_t blen = fbus_frame_block_len(f);
	if (a->len + blen > sizeof a->msg) {
		a->active = false;
		return -EMSGSIZE;
	}
	memcpy(a->msg + a->len, fbus_frame_block(f), blen);
	a->len += blen;
	if (to_go <= 1) {
		a->active = false;
		return 1;
	}
	a->to_go = (uint8_t)(to_go - 1);
	return 0;
}

int fbus_msg_frame(struct fbus_frame *f, uint8_t frame_id, uint8_t dst, uint8_t src, uint8_t type, const uint8_t *msg,
                   size_t len, size_t i, uint8_t seq_no)
{
	size_t nframes = fbus_frames_for(len);
	if (i >= nframes || nframes > 255)
		return -EINVAL;
	size_t off = i * FBUS_BLOCK_MAX;
	size_t blen = len - off < FBUS_BLOCK_MAX ? len - off : FBUS_BLOCK_MAX;
	uint8_t seq = (uint8_t)((seq_no & 0x07) | (i == 0 ? 0x40 : 0));
	return fbus_frame_data(f, frame_id, dst, src, type, msg ? msg + off : NULL, blen, (uint8_t)(nframes - i), seq);
}
