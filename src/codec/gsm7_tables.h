/*
 * gsm7_tables: the character tables of 3GPP TS 23.038 as data, indexed by
 * the national language identifier (0 = default alphabet, 1 = Turkish ...
 * 13 = Urdu).  Only gsm7.c should need this header.
 */
#ifndef SMSPOOL_CODEC_GSM7_TABLES_H
#define SMSPOOL_CODEC_GSM7_TABLES_H

#include <stddef.h>
#include <stdint.h>

#define GSM7_TABLES_LANG_COUNT 14

/* One reverse-lookup entry: code point -> septet. */
struct gsm7_tables_rev {
	uint16_t cp;
	uint8_t septet;
};

struct gsm7_tables_lang {
	const char *name;
	/* Locking-shift table; NULL when the spec defines none (Spanish). */
	const uint16_t *lock;
	const struct gsm7_tables_rev *lock_rev;
	size_t lock_rev_len;
	/* Single-shift table, reached through ESC (0x1B). */
	const uint16_t *shift;
	const struct gsm7_tables_rev *shift_rev;
	size_t shift_rev_len;
};

extern const struct gsm7_tables_lang gsm7_tables_langs[GSM7_TABLES_LANG_COUNT];

#endif
