/* ucs2: see ucs2.h. */
#include "codec/ucs2.h"

#include <errno.h>
#include <string.h>

#include "codec/utf8.h"

int ucs2_from_utf8(const char *utf8, size_t len, uint8_t *out, size_t cap, size_t *n_octets, struct errbuf *err)
{
	size_t pos = 0, o = 0;

	*n_octets = 0;
	while (pos < len) {
		uint32_t cp;
		size_t at = pos;
		if (utf8_decode_next(utf8, len, &pos, &cp) < 0) {
			errbuf_set(err, "invalid UTF-8 at byte %zu", at);
			return -EILSEQ;
		}
		uint16_t u[2];
		size_t k = 1;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			u[0] = (uint16_t)(0xD800 | (cp >> 10));
			u[1] = (uint16_t)(0xDC00 | (cp & 0x3FF));
			k = 2;
		} else {
			u[0] = (uint16_t)cp;
		}
		if (out) {
			if (o + 2 * k > cap) {
				errbuf_set(err, "UCS-2 buffer too small (%zu)", cap);
				return -ENOSPC;
			}
			for (size_t i = 0; i < k; i++) {
				out[o + 2 * i] = (uint8_t)(u[i] >> 8);
				out[o + 2 * i + 1] = (uint8_t)(u[i] & 0xFF);
			}
		}
		o += 2 * k;
	}
	*n_octets = o;
	return 0;
}

int ucs2_to_utf8(const uint8_t *in, size_t len, char *out, size_t cap, size_t *out_len)
{
	size_t o = 0;

	if (out_len)
		*out_len = 0;
	if (cap == 0)
		return -ENOSPC;
	out[0] = '\0';
	if (len % 2)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 2) {
		uint32_t cp = (uint32_t)in[i] << 8 | in[i + 1];
		if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < len) {
			uint32_t lo = (uint32_t)in[i + 2] << 8 | in[i + 3];
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			}
		}
		if (cp >= 0xD800 && cp <= 0xDFFF)
			cp = 0xFFFD; /* unpaired surrogate: not encodable in UTF-8 */
		char buf[4];
		size_t k = utf8_encode(cp, buf);
		if (o + k + 1 > cap) {
			out[o] = '\0';
			return -ENOSPC;
		}
		memcpy(out + o, buf, k);
		o += k;
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return 0;
}
