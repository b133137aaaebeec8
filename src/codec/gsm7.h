/*
 * gsm7: the GSM 7-bit alphabet of 3GPP TS 23.038 — UTF-8 <-> septets through
 * the default alphabet, its extension table and the national language
 * locking-shift and single-shift tables (Annex A), and septet packing.
 *
 * Contract:
 * - Septets are handled unpacked (one septet per octet, values 0..0x7F) by the
 *   character functions, and packed LSB first by gsm7_pack/gsm7_unpack.
 * - Decoders MUST be given the septet count (TP-UDL minus header septets);
 *   they never derive it from an octet count, because the last octet of an
 *   8n-1 septet message cannot tell "@" (septet 0) from padding.
 * - Decoders never fail on well-formed lengths: an unknown escape code shows
 *   the locking-shift character at that code (23.038 6.2.1.1), ESC ESC shows
 *   a space, an empty table position shows U+FFFD.
 * - A language is its 23.038 national language identifier (enum gsm7_lang).
 *   lock selects the locking-shift table (0 = default alphabet; Spanish has
 *   none), shift the single-shift table (0 = default extension table).
 * - No allocation; every output goes to a buffer the caller owns.
 */
#ifndef SMSPOOL_CODEC_GSM7_H
#define SMSPOOL_CODEC_GSM7_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "util.h"

#define GSM7_ESC 0x1B
#define GSM7_CR 0x0D

enum gsm7_lang {
	GSM7_LANG_DEFAULT = 0,
	GSM7_LANG_TURKISH = 1,
	GSM7_LANG_SPANISH = 2,
	GSM7_LANG_PORTUGUESE = 3,
	GSM7_LANG_BENGALI = 4,
	GSM7_LANG_GUJARATI = 5,
	GSM7_LANG_HINDI = 6,
	GSM7_LANG_KANNADA = 7,
	GSM7_LANG_MALAYALAM = 8,
	GSM7_LANG_ORIYA = 9,
	GSM7_LANG_PUNJABI = 10,
	GSM7_LANG_TAMIL = 11,
	GSM7_LANG_TELUGU = 12,
	GSM7_LANG_URDU = 13,
	GSM7_LANG_COUNT = 14
};

/* Lower-case English name ("default", "turkish" ...), or NULL when lang is
 * out of range. */
const char *gsm7_lang_name(int lang);
/* The identifier for a name as returned by gsm7_lang_name (case-insensitive),
 * or -EINVAL. */
MUST_CHECK int gsm7_lang_from_name(const char *name);
/* True when 23.038 defines a locking-shift table for lang (all but Spanish
 * and out-of-range values). */
bool gsm7_lang_has_lock(int lang);

/* Encodes one code point with the given tables into out[0..1].  Returns the
 * number of septets (1, or 2 for ESC + code), or 0 when the character is in
 * neither table.  Invalid lock/shift values count as "not representable". */
int gsm7_char_encode(uint32_t cp, int lock, int shift, uint8_t out[2]);

/* UTF-8 -> unpacked septets.  septets may be NULL to only count; otherwise it
 * has room for cap septets.  *n_out receives the septet count.  Returns 0,
 * -EILSEQ for invalid UTF-8, -EINVAL for a character the tables cannot
 * represent (err names it), -ENOSPC when cap is too small. */
MUST_CHECK int gsm7_from_utf8(const char *utf8, size_t len, int lock, int shift, uint8_t *septets, size_t cap,
                              size_t *n_out, struct errbuf *err);

/* Unpacked septets -> UTF-8, NUL-terminated.  out has cap bytes; 3 per septet
 * plus 1 always suffices.  *out_len (may be NULL) receives the length without
 * the NUL.  Returns 0, -EINVAL for a septet above 0x7F or a bad language,
 * -ENOSPC when cap is too small. */
MUST_CHECK int gsm7_to_utf8(const uint8_t *septets, size_t n, int lock, int shift, char *out, size_t cap,
                            size_t *out_len);

/* Unpacked default-alphabet septets -> Latin-1 octets (latin1) or IA5/ASCII
 * octets, for peers that take 8-bit characters (SMPP data_coding 1 or 3,
 * EMI's MT=3 with Latin-1).  Returns the length, or -1 when a character
 * has no such octet or cap does not suffice. */
int gsm7_to_8bit(const uint8_t *septets, size_t n, bool latin1, uint8_t *out, size_t cap);

/* Octets needed for n septets that start after fill_bits (0..6) fill bits. */
size_t gsm7_packed_len(size_t n_septets, unsigned fill_bits);

/* Packs n septets LSB first after fill_bits zero bits (the fill that aligns
 * text after a UDH).  With cr_pad, 7 spare bits at the end are filled with
 * CR (23.038 6.1.2.1.1) instead of zeros.  Writes gsm7_packed_len() octets
 * to out (capacity cap) and stores that count in *out_len (may be NULL).
 * Returns 0, -EINVAL for fill_bits > 6 or a septet above 0x7F, -ENOSPC. */
MUST_CHECK int gsm7_pack(const uint8_t *septets, size_t n, unsigned fill_bits, bool cr_pad, uint8_t *out, size_t cap,
                         size_t *out_len);

/* Unpacks n_septets septets that start after fill_bits bits of packed (len
 * octets) into septets (capacity cap).  Returns 0, -EINVAL for fill_bits > 6,
 * -EMSGSIZE when packed is too short for n_septets, -ENOSPC. */
MUST_CHECK int gsm7_unpack(const uint8_t *packed, size_t len, size_t n_septets, unsigned fill_bits, uint8_t *septets,
                           size_t cap);

#endif
