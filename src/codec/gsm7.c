/*
 * gsm7: see gsm7.h.  Character lookups go through the tables in
 * gsm7_tables.c: a direct index for decoding and a binary search over the
 * sorted reverse tables for encoding.
 */
#include "codec/gsm7.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec/gsm7_tables.h"
#include "codec/utf8.h"

#define GSM7_REPLACEMENT 0xFFFD

const char *gsm7_lang_name(int lang)
{
	if (lang < 0 || lang >= GSM7_LANG_COUNT)
		return NULL;
	return gsm7_tables_langs[lang].name;
}

int gsm7_lang_from_name(const char *name)
{
	for (int i = 0; i < GSM7_LANG_COUNT; i++)
		if (strcasecmp(name, gsm7_tables_langs[i].name) == 0)
			return i;
	return -EINVAL;
}

bool gsm7_lang_has_lock(int lang)
{
	return lang >= 0 && lang < GSM7_LANG_COUNT && gsm7_tables_langs[lang].lock != NULL;
}

static int gsm7_rev_find(const struct gsm7_tables_rev *rev, size_t n, uint32_t cp)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rev[mid].cp == cp)
			return rev[mid].septet;
		if (rev[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int gsm7_char_encode(uint32_t cp, int lock, int shift, uint8_t out[2])
{
	if (!gsm7_lang_has_lock(lock) || shift < 0 || shift >= GSM7_LANG_COUNT || cp > 0xFFFF)
		return 0;
	const struct gsm7_tables_lang *l = &gsm7_tables_langs[lock];
	int s = gsm7_rev_find(l->lock_rev, l->lock_rev_len, cp);
	if (s >= 0) {
		out[0] = (uint8_t)s;
		return 1;
	}
	const struct gsm7_tables_lang *sh = &gsm7_tables_langs[shift];
	s = gsm7_rev_find(sh->shift_rev, sh->shift_rev_len, cp);
	if (s >= 0) {
		out[0] = GSM7_ESC;
		out[1] = (uint8_t)s;
		return 2;
	}
	return 0;
}

int gsm7_from_utf8(const char *utf8, size_t len, int lock, int shift, uint8_t *septets, size_t cap, size_t *n_out,
                   struct errbuf *err)
{
	size_t pos = 0, n = 0;

	*n_out = 0;
	if (!gsm7_lang_has_lock(lock) || shift < 0 || shift >= GSM7_LANG_COUNT) {
		errbuf_set(err, "bad national language lock=%d shift=%d", lock, shift);
		return -EINVAL;
	}
	while (pos < len) {
		uint32_t cp;
		uint8_t sep[2];
		size_t at = pos;
		if (utf8_decode_next(utf8, len, &pos, &cp) < 0) {
			errbuf_set(err, "invalid UTF-8 at byte %zu", at);
			return -EILSEQ;
		}
		int k = gsm7_char_encode(cp, lock, shift, sep);
		if (k == 0) {
			errbuf_set(err, "character U+%04X at byte %zu has no GSM 7-bit code", (unsigned)cp, at);
			return -EINVAL;
		}
		if (septets) {
			if (n + (size_t)k > cap) {
				errbuf_set(err, "septet buffer too small (%zu)", cap);
				return -ENOSPC;
			}
			memcpy(septets + n, sep, (size_t)k);
		}
		n += (size_t)k;
	}
	*n_out = n;
	return 0;
}

/* Appends cp to out if it fits with room left for the final NUL. */
static int gsm7_put(char *out, size_t cap, size_t *o, uint32_t cp)
{
	char buf[4];
	size_t k = utf8_encode(cp, buf);

	if (*o + k + 1 > cap)
		return -ENOSPC;
	memcpy(out + *o, buf, k);
	*o += k;
	return 0;
}

int gsm7_to_utf8(const uint8_t *septets, size_t n, int lock, int shift, char *out, size_t cap, size_t *out_len)
{
	size_t o = 0;

	if (out_len)
		*out_len = 0;
	if (cap == 0)
		return -ENOSPC;
	out[0] = '\0';
	if (!gsm7_lang_has_lock(lock) || shift < 0 || shift >= GSM7_LANG_COUNT)
		return -EINVAL;
	const uint16_t *lt = gsm7_tables_langs[lock].lock;
	const uint16_t *st = gsm7_tables_langs[shift].shift;
	for (size_t i = 0; i < n; i++) {
		uint32_t cp;
		if (septets[i] > 0x7F)
			return -EINVAL;
		if (septets[i] == GSM7_ESC) {
			if (i + 1 == n)
				break; /* a dangling escape carries no character */
			uint8_t c = septets[++i];
			if (c > 0x7F)
				return -EINVAL;
			if (c == GSM7_ESC)
				cp = ' '; /* 23.038: reserved second escape, display a space */
			else if (st[c])
				cp = st[c];
			else
				cp = lt[c] ? lt[c] : GSM7_REPLACEMENT; /* 23.038 6.2.1.1 */
		} else {
			cp = lt[septets[i]] ? lt[septets[i]] : GSM7_REPLACEMENT;
		}
		if (gsm7_put(out, cap, &o, cp) < 0) {
			out[o] = '\0';
			return -ENOSPC;
		}
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return 0;
}

size_t gsm7_packed_len(size_t n_septets, unsigned fill_bits)
{
	return (n_septets * 7 + fill_bits + 7) / 8;
}

int gsm7_pack(const uint8_t *septets, size_t n, unsigned fill_bits, bool cr_pad, uint8_t *out, size_t cap,
              size_t *out_len)
{
	if (fill_bits > 6)
		return -EINVAL;
	size_t olen = gsm7_packed_len(n, fill_bits);
	if (olen > cap)
		return -ENOSPC;
	memset(out, 0, olen);
	for (size_t i = 0; i < n; i++) {
		if (septets[i] > 0x7F)
			return -EINVAL;
		size_t bit = fill_bits + 7 * i;
		unsigned sh = bit % 8;
		out[bit / 8] |= (uint8_t)(septets[i] << sh);
		if (sh > 1)
			out[bit / 8 + 1] |= (uint8_t)(septets[i] >> (8 - sh));
	}
	size_t used = fill_bits + 7 * n;
	if (cr_pad && olen * 8 - used == 7)
		out[olen - 1] |= (uint8_t)(GSM7_CR << 1);
	if (out_len)
		*out_len = olen;
	return 0;
}

int gsm7_unpack(const uint8_t *packed, size_t len, size_t n_septets, unsigned fill_bits, uint8_t *septets, size_t cap)
{
	if (fill_bits > 6)
		return -EINVAL;
	if (gsm7_packed_len(n_septets, fill_bits) > len)
		return -EMSGSIZE;
	if (n_septets > cap)
		return -ENOSPC;
	for (size_t i = 0; i < n_septets; i++) {
		size_t bit = fill_bits + 7 * i;
		unsigned sh = bit % 8;
		unsigned v = packed[bit / 8] >> sh;
		if (sh > 1)
			v |= (unsigned)packed[bit / 8 + 1] << (8 - sh);
		septets[i] = (uint8_t)(v & 0x7F);
	}
	return 0;
}

int gsm7_to_8bit(const uint8_t *septets, size_t n, bool latin1, uint8_t *out, size_t cap)
{
	size_t ucap = 3 * n + 1, ulen = 0;
	char *u = malloc(ucap);
	int rc = -1;
	if (!u || gsm7_to_utf8(septets, n, 0, 0, u, ucap, &ulen))
		goto out;
	size_t pos = 0, o = 0;
	uint32_t cp;
	while (pos < ulen) {
		if (utf8_decode_next(u, ulen, &pos, &cp) || cp >= (latin1 ? 0x100u : 0x80u) || o >= cap)
			goto out;
		out[o++] = (uint8_t)cp;
	}
	rc = (int)o;
out:
	free(u);
	return rc;
}
