/*
 * libFuzzer target for the AT line parser and the answer helpers.  The
 * input is fed twice, whole and in uneven chunks: both must give the same
 * events (the parser keeps no state that depends on how reads are cut),
 * every event line must be a NUL-terminated string within AT_LINE_MAX, and
 * every PDU, answer and error code must go through the helpers the driver
 * uses without misbehaving.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "at/line.h"
#include "at/resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVS 512

struct evs {
	size_t n;
	uint32_t hash[MAX_EVS];
};

static uint32_t hash_str(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void on_ev(void *arg, const struct at_ev *ev)
{
	struct evs *e = arg;
	if (strlen(ev->line) > AT_LINE_MAX || strlen(ev->pdu) > AT_LINE_MAX)
		abort();
	struct at_resp r;
	if (at_resp_parse(ev->line, &r) == 0) {
		for (int i = 0; i < r.n; i++)
			(void)at_resp_int(&r, i, -1);
		if (ev->pdu[0]) {
			struct tpdu t;
			struct errbuf err;
			if (at_resp_pdu(ev->pdu, at_resp_int(&r, r.n - 1, -1), &t, &err) == 0) {
				char text[481];
				(void)tpdu_text(&t, text, sizeof text, NULL);
			}
		}
	}
	if (ev->kind == AT_EV_CMS_ERROR) {
		(void)at_cms_name(ev->code);
		(void)at_cms_class(ev->code);
	}
	if (e->n < MAX_EVS)
		e->hash[e->n] = hash_str(hash_str(2166136261u ^ (uint32_t)ev->kind, ev->line), ev->pdu);
	e->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct at_line a, b;
	static struct evs ea, eb;
	at_line_init(&a);
	at_line_init(&b);
	at_line_expect_echo(&a, "AT+CMGS=42\r");
	at_line_expect_echo(&b, "AT+CMGS=42\r");
	ea.n = eb.n = 0;
	at_line_feed(&a, data, size, on_ev, &ea);
	/* Chunks of 1, 2, 3 ... octets; a chunk ending in the middle of a
	 * "> " may legitimately report the prompt earlier, so only inputs
	 * without '>' must match event for event. */
	size_t off = 0, step = 1;
	while (off < size) {
		size_t n = step < size - off ? step : size - off;
		at_line_feed(&b, data + off, n, on_ev, &eb);
		off += n;
		step = step % 7 + 1;
	}
	if (!memchr(data, '>', size)) {
		if (ea.n != eb.n)
			abort();
		for (size_t i = 0; i < ea.n && i < MAX_EVS; i++)
			if (ea.hash[i] != eb.hash[i])
				abort();
	}
	return 0;
}
