/*
 * bucket: the one token bucket (account throughput on every server-side
 * type, and any other rate).  Pure: the caller passes the clock.
 *
 * rate tokens per second, a burst of one second's worth (at least one);
 * starts full.  A take of n tokens (the PDUs of a long message) succeeds
 * while at least one token is there and may leave the bucket in debt, so
 * that a message of more parts than the burst still goes, and the next
 * waits until the debt is paid.
 */
#ifndef SMSPOOL_BUCKET_H
#define SMSPOOL_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct bucket {
	double tokens;
	uint64_t refill_ms;
	bool started;
};

/* Takes n (>= 1) tokens.  Returns 0, or the seconds to wait (1..3600)
 * when empty (nothing is taken then).  rate <= 0: unlimited. */
int bucket_take(struct bucket *b, double rate, int n, uint64_t now_ms);
/* The same with a burst of its own (at least one token) and the wait in
 * milliseconds (1..3600000): a connection's throughput, whose burst is a
 * tenth of a second's worth (src/spool_dispatch.c).  0 when taken. */
uint64_t bucket_take_ms(struct bucket *b, double rate, double burst, int n, uint64_t now_ms);
/* Sets b to hold tokens as of now_ms: a rate that changed starts again. */
void bucket_reset(struct bucket *b, double tokens, uint64_t now_ms);

#endif
