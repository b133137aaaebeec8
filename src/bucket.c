/* bucket: the one token bucket (see bucket.h). */
#include "bucket.h"

#include <math.h>

/* Takes n tokens if at least one is there: returns 0, else the seconds
 * until there is one (nothing taken). */
static double take(struct bucket *b, double rate, double burst, int n, uint64_t now_ms)
{
	if (!b->started)
		bucket_reset(b, burst, now_ms);
	if (now_ms > b->refill_ms)
		b->tokens += (double)(now_ms - b->refill_ms) * rate / 1000.0;
	b->refill_ms = now_ms;
	if (b->tokens > burst)
		b->tokens = burst;
	if (b->tokens >= 1) {
		b->tokens -= n > 1 ? n : 1;
		return 0;
	}
	return (1 - b->tokens) / rate;
}

int bucket_take(struct bucket *b, double rate, int n, uint64_t now_ms)
{
	if (rate <= 0)
		return 0;
	double wait = take(b, rate, rate > 1 ? rate : 1, n, now_ms);
	if (wait == 0)
		return 0;
	wait = ceil(wait);
	return wait < 1 ? 1 : wait > 3600 ? 3600 : (int)wait;
}

uint64_t bucket_take_ms(struct bucket *b, double rate, double burst, int n, uint64_t now_ms)
{
	if (rate <= 0)
		return 0;
	double wait = take(b, rate, burst > 1 ? burst : 1, n, now_ms);
	if (wait == 0)
		return 0;
	wait = wait * 1000.0 + 1;
	return wait > 3600000 ? 3600000 : (uint64_t)wait;
}

void bucket_reset(struct bucket *b, double tokens, uint64_t now_ms)
{
	b->started = true;
	b->tokens = tokens;
	b->refill_ms = now_ms;
}
