/* bucket: the one token bucket (see bucket.h). */
#include "bucket.h"

#include <math.h>

int bucket_take(struct bucket *b, double rate, int n, uint64_t now_ms)
{
	if (rate <= 0)
		return 0;
	double burst = rate > 1 ? rate : 1;
	if (!b->started) {
		b->started = true;
		b->tokens = burst;
		b->refill_ms = now_ms;
	}
	if (now_ms > b->refill_ms)
		b->tokens += (double)(now_ms - b->refill_ms) * rate / 1000.0;
	b->refill_ms = now_ms;
	if (b->tokens > burst)
		b->tokens = burst;
	if (b->tokens >= 1) {
		b->tokens -= n > 1 ? n : 1;
		return 0;
	}
	double wait = ceil((1 - b->tokens) / rate);
	return wait < 1 ? 1 : wait > 3600 ? 3600 : (int)wait;
}
