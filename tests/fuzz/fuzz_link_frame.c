/* libFuzzer target: the native link's frame decoder (drivers/link/frame.c)
 * on arbitrary bytes, as the framing hands them over: the length callback
 * first, then the decoder on what it accepted; a decoded frame is printed
 * and encoded again, and the copy must decode too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "link/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long n = link_frame_length(data, size, 1 << 16);
	if (n <= 0 || (size_t)n > size)
		n = (long)size; /* also the decoder's own length checks */
	struct errbuf err;
	link_frame_t *f = link_frame_decode(data, (size_t)n, 1 << 16, &err);
	if (!f)
		return 0;
	FILE *null = fopen("/dev/null", "w");
	if (null) {
		link_frame_print(f, null);
		fclose(null);
	}
	size_t len;
	uint8_t *again = link_frame_encode(f, &len);
	link_frame_t *g = link_frame_decode(again, len, (size_t)len, &err);
	if (!g)
		abort(); /* what we encode we must be able to decode */
	link_frame_free(g);
	free(again);
	link_frame_free(f);
	return 0;
}
