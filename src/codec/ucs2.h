/*
 * ucs2: UTF-8 <-> the "UCS-2" of SMS (DCS 0x08, SMPP data_coding 8), which in
 * practice is UTF-16BE: characters beyond the BMP travel as surrogate pairs
 * (2 code units, 4 octets).
 *
 * Contract:
 * - Encoding rejects invalid UTF-8 (-EILSEQ); it never crashes on it.
 * - Decoding accepts what phones send: an unpaired surrogate becomes U+FFFD
 *   rather than an error, so a message split mid-pair by a foreign sender
 *   still decodes.  An odd octet count is an error (-EINVAL).
 * - No allocation; outputs go to caller-owned buffers.
 */
#ifndef SMSPOOL_CODEC_UCS2_H
#define SMSPOOL_CODEC_UCS2_H

#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "util.h"

/* UTF-8 -> UTF-16BE octets.  out may be NULL to only count; otherwise it has
 * cap octets.  *n_octets receives the octet count (2 per code unit).
 * Returns 0, -EILSEQ (invalid UTF-8; err says where) or -ENOSPC. */
MUST_CHECK int ucs2_from_utf8(const char *utf8, size_t len, uint8_t *out, size_t cap, size_t *n_octets,
                              struct errbuf *err);

/* UTF-16BE octets -> UTF-8, NUL-terminated.  3 bytes per code unit plus 1
 * always suffice.  *out_len (may be NULL) receives the length without the
 * NUL.  Returns 0, -EINVAL for an odd octet count, -ENOSPC. */
MUST_CHECK int ucs2_to_utf8(const uint8_t *in, size_t len, char *out, size_t cap, size_t *out_len);

#endif
