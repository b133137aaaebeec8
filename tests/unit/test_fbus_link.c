/*
 * The fbus link layer (drivers/fbus/link.c) on a pseudo-terminal, with this
 * test playing the phone on the master side: a request goes out as a frame
 * with the sequence bit of a first frame; without an acknowledgement it is
 * sent again, the same octets, `retries` times, and then the phone counts
 * as lost; an acknowledgement completes it; a long request goes as several
 * frames, each waiting for its own acknowledgement; a frame from the phone
 * is acknowledged at once and delivered once, its resend acknowledged again
 * and dropped.  Expected octets come from tests/vectors/fbus.tsv's layout
 * and are built here with the framer only for the acknowledgements.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fbus/fbus.h"

struct phone {
	int master;
	struct event_base *base;
	struct serial *port;
	struct serial_conf conf;
	struct fbus_link link;
	int sent, lost, messages;
	uint8_t msg_type;
	uint8_t msg[FBUS_MSG_MAX];
	size_t msg_len;
};

static void on_read(void *arg, const uint8_t *d, size_t n)
{
	struct phone *p = arg;
	fbus_link_input(&p->link, d, n);
}
static void on_closed(void *arg, const char *why)
{
}
static void on_message(void *arg, uint8_t type, const uint8_t *m, size_t n)
{
	struct phone *p = arg;
	p->messages++;
	p->msg_type = type;
	memcpy(p->msg, m, n);
	p->msg_len = n;
}
static void on_sent(void *arg)
{
	((struct phone *)arg)->sent++;
}
static void on_lost(void *arg, const char *why)
{
	((struct phone *)arg)->lost++;
}

static const struct serial_cbs scbs = {on_read, on_closed};
static const struct fbus_link_cbs lcbs = {on_message, on_sent, on_lost};

/* Runs the loop for about ms milliseconds. */
static void spin(struct phone *p, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_base_loopexit(p->base, &tv);
	event_base_dispatch(p->base);
}

/* Reads what the link wrote to the phone, up to cap octets. */
static size_t drain(struct phone *p, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	for (int i = 0; i < 20; i++) {
		ssize_t r = read(p->master, buf + n, cap - n);
		if (r > 0)
			n += (size_t)r;
		else if (n > 0)
			break;
		else
			spin(p, 10);
	}
	return n;
}

static int setup(void **state)
{
	struct phone *p = calloc(1, sizeof *p);
	int slave;
	char name[128];
	assert_int_equal(openpty(&p->master, &slave, name, NULL, NULL), 0);
	fcntl(p->master, F_SETFL, O_NONBLOCK);
	p->base = event_base_new();
	p->conf.port = strdup(name);
	p->conf.baud = 115200;
	p->port = serial_new(p->base, &p->conf, &scbs, p);
	struct errbuf err = {{0}};
	if (serial_open(p->port, &err))
		fail_msg("%s", err.msg);
	close(slave);
	fbus_link_init(&p->link, p->base, p->port, &lcbs, p, 100, 2);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct phone *p = *state;
	fbus_link_free(&p->link);
	serial_free(p->port);
	event_base_free(p->base);
	close(p->master);
	free(p->conf.port);
	free(p);
	return 0;
}

/* No acknowledgement: the same frame three times (1 + 2 retries), then
 * lost.  Waits for the event, not for a time, whatever the machine's speed. */
static void test_resend_then_lost(void **state)
{
	struct phone *p = *state;
	struct nokia_req r;
	nokia_req_get_model(&r);
	fbus_link_send(&p->link, &r);
	static const uint8_t want[] = {0x1E, 0x00, 0x0C, 0xD1, 0x00, 0x07, 0x00, 0x01,
	                               0x00, 0x03, 0x00, 0x01, 0x40, 0x00, 0x52, 0xD5};
	uint8_t buf[256];
	size_t n = 0;
	for (int i = 0; i < 500 && !p->lost; i++) {
		spin(p, 10);
		ssize_t k = read(p->master, buf + n, sizeof buf - n);
		if (k > 0)
			n += (size_t)k;
	}
	ssize_t k = read(p->master, buf + n, sizeof buf - n);
	if (k > 0)
		n += (size_t)k;
	assert_int_equal(p->lost, 1);
	assert_int_equal(p->sent, 0);
	assert_int_equal(n, 3 * sizeof want); /* PEERS.md: Gammu's very first request, three times */
	for (int i = 0; i < 3; i++)
		assert_memory_equal(buf + i * sizeof want, want, sizeof want);
}

/* The other tests acknowledge by hand: a timeout that never fires first. */
static void slow_acks(struct phone *p)
{
	fbus_link_free(&p->link);
	fbus_link_init(&p->link, p->base, p->port, &lcbs, p, 60000, 2);
}

static void ack(struct phone *p, uint8_t type, uint8_t seq)
{
	struct fbus_frame f;
	uint8_t buf[16];
	fbus_frame_ack(&f, FBUS_FRAME_ID, FBUS_DEV_PC, FBUS_DEV_PHONE, type, seq);
	int n = fbus_frame_encode(&f, buf, sizeof buf);
	assert_int_equal(write(p->master, buf, (size_t)n), n);
}

/* 130 octets: two frames, the second only after the first's ack. */
static void test_two_frames_each_acked(void **state)
{
	struct phone *p = *state;
	slow_acks(p);
	struct nokia_req r = {.type = 0x02, .len = 130};
	for (size_t i = 0; i < r.len; i++)
		r.data[i] = (uint8_t)i;
	fbus_link_send(&p->link, &r);
	uint8_t buf[512];
	size_t n = drain(p, buf, sizeof buf);
	assert_int_equal(n, 6 + 122 + 2);
	assert_int_equal(buf[6 + 120], 2);    /* FramesToGo */
	assert_int_equal(buf[6 + 121], 0x40); /* first frame, sequence 0 */
	ack(p, 0x02, 0x00);
	n = drain(p, buf, sizeof buf);
	assert_int_equal(n, 6 + 12 + 2);
	assert_int_equal(buf[6 + 10], 1);    /* last frame */
	assert_int_equal(buf[6 + 11], 0x01); /* sequence 1, no first bit */
	assert_int_equal(p->sent, 0);
	ack(p, 0x02, 0x01);
	spin(p, 30);
	assert_int_equal(p->sent, 1);
	assert_int_equal(p->lost, 0);
}

/* fbus-004 (a captured phone reply) is acknowledged as fbus-005 says, and
 * delivered once; its resend is acknowledged again and not delivered. */
static void test_receive_ack_and_dedupe(void **state)
{
	struct phone *p = *state;
	static const uint8_t frame[] = {0x1E, 0x0C, 0x00, 0x0A, 0x00, 0x15, 0x01, 0x08, 0x00, 0x71,
	                                0x01, 0x00, 0x01, 0x0B, 0x01, 0x02, 0x0C, 0x97, 0x1D, 0x4D,
	                                0x02, 0xF8, 0x01, 0x00, 0x00, 0x01, 0x47, 0x00, 0x4B, 0x40};
	static const uint8_t want_ack[] = {0x1E, 0x00, 0x0C, 0x7F, 0x00, 0x02, 0x0A, 0x07, 0x18, 0x7A};
	slow_acks(p);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(write(p->master, frame, sizeof frame), (ssize_t)sizeof frame);
		uint8_t buf[64];
		size_t n = drain(p, buf, sizeof buf);
		assert_int_equal(n, sizeof want_ack);
		assert_memory_equal(buf, want_ack, sizeof want_ack);
		assert_int_equal(p->messages, 1);
	}
	assert_int_equal(p->msg_type, 0x0A);
	assert_int_equal(p->msg_len, 19);
	assert_int_equal(p->msg[3], 0x71);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_resend_then_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_frames_each_acked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_receive_ack_and_dedupe, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
