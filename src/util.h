/*
 * util: allocation that aborts on failure (the database keeps the truth, so a
 * daemon that cannot allocate is better dead than half-alive), hex helpers
 * and clocks.
 */
#ifndef SMSPOOL_UTIL_H
#define SMSPOOL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MUST_CHECK __attribute__((warn_unused_result))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Writes 2*n uppercase hex digits and a NUL into out (capacity >= 2n+1). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* The value of one hex digit (either case), or -1. */
int hex_digit(char c);
/* Decodes a hex string of even length into out (capacity cap). Returns the
 * number of octets, or -1 on odd length, a non-hex digit or overflow. */
MUST_CHECK int hex_decode(const char *hex, uint8_t *out, size_t cap);

/* FNV-1a over n bytes, continuing from h (FNV1A_INIT to start): for hash
 * tables and for spreading keys over lanes, not for secrecy. */
#define FNV1A_INIT 2166136261u
uint32_t fnv1a(uint32_t h, const void *p, size_t n);

/* Monotonic and wall clocks in milliseconds. */
uint64_t now_mono_ms(void);
int64_t now_wall_ms(void);

#endif
