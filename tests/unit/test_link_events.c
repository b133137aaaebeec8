/*
 * test_link_events: how the link-server sizes its states/inbounds frames
 * (drivers/link/events.c, link_events_frame_size): what waits is spread over
 * the free frames of the window, so that the client's acks (each after the
 * commit of its whole frame) come back one frame at a time; never fewer than
 * 32 events per frame while that many wait, never more than `batch`, and
 * everything that waits goes out in at most `room` frames when it fits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "link/server.h"

static void spread_over_the_window(void **state)
{
	(void)state;
	assert_int_equal(link_events_frame_size(1000, 8, 500), 125);
	assert_int_equal(link_events_frame_size(1001, 8, 500), 126);
	assert_int_equal(link_events_frame_size(4000, 8, 500), 500);
	assert_int_equal(link_events_frame_size(9000, 8, 500), 500); /* batch bounds it */
	assert_int_equal(link_events_frame_size(300, 2, 500), 150);
}

static void last_free_frame_takes_all(void **state)
{
	(void)state;
	assert_int_equal(link_events_frame_size(1000, 1, 500), 500);
	assert_int_equal(link_events_frame_size(70, 1, 500), 70);
	assert_int_equal(link_events_frame_size(70, 1, 10), 10);
}

static void small_frames_are_not_split_further(void **state)
{
	(void)state;
	assert_int_equal(link_events_frame_size(100, 8, 500), 32);
	assert_int_equal(link_events_frame_size(20, 8, 500), 20);
	assert_int_equal(link_events_frame_size(1, 8, 500), 1);
	assert_int_equal(link_events_frame_size(100, 8, 10), 10); /* a batch below 32 still bounds it */
}

/* Whatever the numbers, a frame takes at least one event and never more than
 * wait or batch; and `room` frames carry everything that fits in them. */
static void bounds(void **state)
{
	(void)state;
	for (int q = 1; q <= 3000; q += 7)
		for (int room = 1; room <= 16; room++)
			for (int batch = 1; batch <= 600; batch += 53) {
				int n = link_events_frame_size(q, room, batch);
				assert_true(n >= 1);
				assert_true(n <= q && n <= batch);
				/* sending n per frame while room lasts empties the queue
				 * whenever q fits in room frames of batch */
				int left = q;
				for (int r = room; r > 0 && left > 0; r--)
					left -= link_events_frame_size(left, r, batch);
				if (q <= room * batch)
					assert_int_equal(left, 0);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(spread_over_the_window),
	    cmocka_unit_test(last_free_frame_takes_all),
	    cmocka_unit_test(small_frames_are_not_split_further),
	    cmocka_unit_test(bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
