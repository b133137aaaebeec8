/*
 * sms: turns a message into SMS parts — chooses the encoding (GSM 7-bit,
 * national language shift tables, UCS-2 or binary), splits it into parts
 * with concatenation headers, and lays each part out the ways drivers need.
 *
 * Contract:
 * - Single part: up to 160 septets / 70 UCS-2 code units / 140 octets, less
 *   whatever UDH the part carries.  Concatenated: 153 / 67 / 134 per part
 *   with 8-bit references, 152 / 66 / 133 with 16-bit ones; national shift
 *   IEs (3 octets each) and caller IEs reduce that further in every part.
 * - An escape sequence (ESC + code, 2 septets) and a surrogate pair (2 code
 *   units) are never split between parts.
 * - SMS_ENC_AUTO picks GSM 7-bit when the default alphabet covers the text;
 *   otherwise a national shift table from opts->national_langs, but only if
 *   it needs fewer parts than UCS-2; otherwise UCS-2.  SMS_ENC_GSM7 uses the
 *   shift tables only when the default alphabet cannot represent the text,
 *   and fails (-EINVAL) if no allowed table can.
 * - Text input MUST be UTF-8; invalid UTF-8 is -EILSEQ.  For SMS_ENC_BINARY
 *   the input is raw octets.
 * - No allocation: the parts array belongs to the caller.
 */
#ifndef SMSPOOL_CODEC_SMS_H
#define SMSPOOL_CODEC_SMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/udh.h"
#include "errbuf.h"
#include "util.h"

#define SMS_MAX_PARTS 255
#define SMS_UD_MAX 140
#define SMS_SEPTETS_MAX 160

/* Bit masks of national language identifiers (enum gsm7_lang) allowed for
 * shift tables.  SMS_LANGS_AUTO allows all of them. */
#define SMS_LANG_BIT(lang) (1u << (lang))
#define SMS_LANGS_NONE 0u
#define SMS_LANGS_AUTO 0x3FFEu

enum sms_encoding {
	SMS_ENC_AUTO = 0,
	SMS_ENC_GSM7,
	SMS_ENC_UCS2,
	SMS_ENC_BINARY,
};

/* "auto", "gsm7", "ucs2", "binary". */
const char *sms_encoding_name(enum sms_encoding enc);
/* Parses one of those names.  Returns 0 or -EINVAL. */
MUST_CHECK int sms_encoding_from_name(const char *name, enum sms_encoding *out);

struct sms_split_opts {
	enum sms_encoding encoding;
	uint32_t national_langs; /* SMS_LANG_BIT() mask; SMS_LANGS_NONE or SMS_LANGS_AUTO */
	bool ref16;              /* 16-bit concatenation reference (IEI 0x08) */
	unsigned concat_ref;     /* reference for this message's parts */
	unsigned max_parts;      /* 0 means SMS_MAX_PARTS */
	/* Extra IEs (IEI, length, data ...; no UDHL) put into every part, e.g.
	 * application ports, or the caller's own UDH body for binary data.
	 * A concatenation IE here is accepted only if the message fits one
	 * part (the caller did its own segmentation); otherwise -EINVAL.
	 * Borrowed for the duration of the call. */
	const uint8_t *extra_ies;
	size_t extra_ies_len;
};

struct sms_part {
	uint8_t udh[UDH_MAX_LEN]; /* UDH with UDHL, or nothing */
	size_t udh_len;           /* 0 when the part has no UDH */
	/* Complete TP-UD as on the air: UDH, then GSM 7-bit septets packed
	 * after the fill bits, or UCS-2 / binary octets. */
	uint8_t ud[SMS_UD_MAX];
	size_t ud_len;
	size_t udl; /* TP-UDL: septets incl. header septets for GSM 7-bit, else octets */
	/* The part's payload without UDH: GSM 7-bit septets unpacked, one per
	 * octet (SMPP data_coding 0), or UCS-2 (UTF-16BE) / binary octets. */
	uint8_t payload[SMS_SEPTETS_MAX];
	size_t payload_len;
};

struct sms_split {
	/* Results. */
	enum sms_encoding encoding; /* GSM7, UCS2 or BINARY, never AUTO */
	int lock_lang;              /* GSM 7-bit locking-shift table, 0 = default */
	int shift_lang;             /* GSM 7-bit single-shift table, 0 = default */
	uint8_t dcs;                /* TP-DCS / SMPP data_coding hint: 0x00, 0x08, 0x04 */
	unsigned n_parts;
	size_t units; /* whole message: septets, UCS-2 code units or octets */
	/* Caller-provided room for the parts (parts may be NULL with
	 * parts_cap 0 to only count). */
	struct sms_part *parts;
	size_t parts_cap;
};

/* Chooses the encoding and splits data (len octets) into out->parts.
 * Returns 0; -EILSEQ invalid UTF-8; -EINVAL unrepresentable text or bad
 * options; -EMSGSIZE more parts than max_parts; -ENOSPC out->parts_cap is
 * smaller than out->n_parts (which is set, so the caller can retry). */
MUST_CHECK int sms_split(const char *data, size_t len, const struct sms_split_opts *opts, struct sms_split *out,
                         struct errbuf *err);

/* The cheap path for the core: the same choice as sms_split, without
 * building parts.  Fills out's result fields (parts ignored).  Same errors
 * except -ENOSPC. */
MUST_CHECK int sms_count_parts(const char *data, size_t len, const struct sms_split_opts *opts, struct sms_split *out,
                               struct errbuf *err);

#endif
