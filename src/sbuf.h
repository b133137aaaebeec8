/* sbuf: a growable string buffer, and PostgreSQL array literals built in it. */
#ifndef SMSPOOL_SBUF_H
#define SMSPOOL_SBUF_H

#include <stddef.h>
#include <stdint.h>

struct sbuf {
	char *buf;
	size_t len, cap;
};

void sbuf_init(struct sbuf *b);
void sbuf_free(struct sbuf *b);
void sbuf_reset(struct sbuf *b);
void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_adds(struct sbuf *b, const char *s);
__attribute__((format(printf, 2, 3))) void sbuf_printf(struct sbuf *b, const char *fmt, ...);

/* Array literal helpers: arr_begin writes "{", each add writes one element
 * (s NULL → NULL), arr_end writes "}". Elements are quoted and escaped. */
void sbuf_arr_begin(struct sbuf *b);
void sbuf_arr_text(struct sbuf *b, const char *s);
void sbuf_arr_int(struct sbuf *b, int64_t v);
void sbuf_arr_end(struct sbuf *b);

#endif
