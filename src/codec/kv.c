/*
 * kv: the writer of the test vectors' key=value dump ("key=value;key=value",
 * values percent-encoded), shared by the codecs' dump functions (smpp
 * pdu.c; ucp frame.c and codec/tpdu_fields.c have copies to move here).
 * Writes into a caller's buffer, NUL-terminated; what does not fit sets
 * overflow and is dropped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codec/kv.h"

void kv_raw(struct kv *w, const char *s, size_t n)
{
	if (w->overflow || n >= w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->out + w->len, s, n);
	w->len += n;
	w->out[w->len] = '\0';
}

/* The vectors' percent-encoding: %, ;, =, controls, DEL and non-ASCII. */
void kv_pct(struct kv *w, const uint8_t *s, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (c < 0x20 || c >= 0x7F || c == '%' || c == ';' || c == '=') {
			char e[3] = {'%', digits[c >> 4], digits[c & 15]};
			kv_raw(w, e, 3);
		} else {
			kv_raw(w, (const char *)&c, 1);
		}
	}
}

void kv_key(struct kv *w, const char *key)
{
	if (w->len)
		kv_raw(w, ";", 1);
	kv_raw(w, key, strlen(key));
	kv_raw(w, "=", 1);
}

void kv_str(struct kv *w, const char *key, const char *value)
{
	kv_key(w, key);
	kv_pct(w, (const uint8_t *)value, strlen(value));
}

/* For values that never need escaping (numbers, hex). */
__attribute__((format(printf, 3, 4))) void kv_fmt(struct kv *w, const char *key, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	kv_key(w, key);
	kv_raw(w, buf, n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void kv_hex(struct kv *w, const char *key, const uint8_t *v, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";
	kv_key(w, key);
	for (size_t i = 0; i < n; i++) {
		char h[2] = {digits[v[i] >> 4], digits[v[i] & 15]};
		kv_raw(w, h, 2);
	}
}
