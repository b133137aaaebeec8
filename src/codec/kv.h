/*
 * kv: the writer of the test vectors' key=value dump (see kv.c).
 */
#ifndef SMSPOOL_CODEC_KV_H
#define SMSPOOL_CODEC_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kv {
	char *out; /* the caller's buffer of cap bytes */
	size_t cap, len;
	bool overflow; /* something did not fit */
};

void kv_raw(struct kv *w, const char *s, size_t n);
/* The vectors' percent-encoding: %, ;, =, controls, DEL and non-ASCII. */
void kv_pct(struct kv *w, const uint8_t *s, size_t n);
/* ";key=" (no ';' first). */
void kv_key(struct kv *w, const char *key);
void kv_str(struct kv *w, const char *key, const char *value);
/* For values that never need escaping (numbers, hex). */
__attribute__((format(printf, 3, 4))) void kv_fmt(struct kv *w, const char *key, const char *fmt, ...);
/* The value in uppercase hex. */
void kv_hex(struct kv *w, const char *key, const uint8_t *v, size_t n);

#endif
