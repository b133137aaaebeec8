/*
 * libFuzzer target for the EMI/UCP codec.  Any input is treated as a byte
 * stream: the framer must cut it into frames that lie inside it, the same
 * way whether it arrives whole or in pieces; each frame must decode or be
 * refused with an EC; a frame that decodes with a good checksum and LEN
 * must re-encode to the very same octets and decode again to the same
 * fields; the field helpers (IRA hex, XSer, alphanumeric OAdC, SCTS) must
 * accept or refuse every field without misbehaving.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ucp/data.h"
#include "ucp/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ucp_frame f1, f2;
static uint8_t enc[UCP_FRAME_MAX];
static char fields1[UCP_FIELDS_MAX], fields2[UCP_FIELDS_MAX];

static void helpers(const struct ucp_frame *f)
{
	static uint8_t oct[UCP_FRAME_MAX / 2 + 1];
	struct ucp_xser x;
	char alpha[512];
	int64_t t;
	for (size_t i = 0; i < f->nfields; i++) {
		const struct ucp_str *s = &f->f[i];
		int n = ucp_data_ira_decode(s->p, s->len, oct, sizeof oct);
		if (n > (int)(s->len / 2))
			abort();
		if (ucp_data_xser_parse(s->p, s->len, &x) == 0 && x.udh_len > sizeof x.udh)
			abort();
		if (ucp_data_oadc_alpha_decode(s->p, s->len, alpha, sizeof alpha) == 0 && strlen(alpha) >= sizeof alpha)
			abort();
		if (ucp_data_scts_parse(s->p, s->len, &t) == 0) {
			char back[13];
			ucp_data_scts_format(t, back);
			int64_t t2;
			if (ucp_data_scts_parse(back, 12, &t2) != 0 || t2 != t)
				abort();
		}
	}
}

static void one_frame(const uint8_t *buf, size_t len)
{
	struct ucp_error err;
	if (ucp_frame_decode(buf, len, &f1, &err) != 0) {
		if ((err.ec != 2 && err.ec != 3) || err.reason[0] == '\0')
			abort();
		return;
	}
	if (ucp_frame_fields(&f1, fields1, sizeof fields1) < 0)
		abort();
	helpers(&f1);
	const uint8_t *ck = buf + len - 3;
	bool upper = !(ck[0] >= 'a' && ck[0] <= 'f') && !(ck[1] >= 'a' && ck[1] <= 'f');
	if (!f1.checksum_ok || !f1.len_ok || !upper)
		return;
	size_t elen;
	if (ucp_frame_encode(&f1, enc, sizeof enc, &elen, NULL) != 0)
		abort();
	if (elen != len || memcmp(enc, buf, len) != 0)
		abort();
	if (ucp_frame_decode(enc, elen, &f2, &err) != 0)
		abort();
	if (ucp_frame_fields(&f2, fields2, sizeof fields2) < 0 || strcmp(fields1, fields2) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Whole: every frame the framer finds lies inside the input. */
	size_t pos = 0, frames = 0, skip, flen;
	size_t starts[64];
	for (;;) {
		enum ucp_scan r = ucp_frame_scan(data + pos, size - pos, &skip, &flen);
		if (skip > size - pos)
			abort();
		if (r != UCP_SCAN_FRAME) {
			pos += skip;
			if (r == UCP_SCAN_OVERSIZE)
				continue;
			break;
		}
		if (flen < 2 || flen > size - pos - skip)
			abort();
		if (frames < 64)
			starts[frames] = pos + skip;
		frames++;
		one_frame(data + pos + skip, flen);
		pos += skip + flen;
	}
	/* Also the whole input as one frame. */
	one_frame(data, size);

	/* In pieces of 7 octets, as a transport would see it: the same frames
	 * at the same places. */
	size_t have = 0, base = 0, seen = 0;
	while (have < size) {
		have = have + 7 < size ? have + 7 : size;
		for (;;) {
			enum ucp_scan r = ucp_frame_scan(data + base, have - base, &skip, &flen);
			base += skip;
			if (r != UCP_SCAN_FRAME)
				break;
			if (seen < 64 && seen < frames && starts[seen] != base)
				abort();
			seen++;
			base += flen;
		}
	}
	if (seen != frames)
		abort();

	/* The link layer's framing: units tile the input; those that are
	 * frames are the framer's frames. */
	size_t at = 0, nf = 0;
	while (at < size) {
		long u = ucp_frame_link(data + at, size - at, NULL);
		if (u == 0 || u > (long)(size - at))
			break;
		if (ucp_frame_is_frame(data + at, (size_t)u)) {
			if (nf < 64 && nf < frames && starts[nf] != at)
				abort();
			nf++;
		}
		at += (size_t)u;
	}
	if (nf != frames)
		abort();
	return 0;
}
