/*
 * test_serial: the serial layer on a pseudo-terminal (the termios path):
 * bytes both ways through the libevent loop, a symlinked port name
 * followed, the line's loss reported once when the master side closes, and
 * a reopen after it comes back; plus the settings checks.  Of the
 * libserialport path, what runs without hardware: the enumeration behind
 * `smspool serial list` (whatever this machine has, often nothing, listed
 * cleanly), and a `usb` id that no present device has (a clear -ENOENT,
 * the port stays closed and usable).  Opening and configuring a real port
 * (sp_open, baud/parity/flow) needs one and is not exercised here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serial.h"

struct rx {
	char buf[256];
	size_t len;
	int closed;
	struct event_base *base;
};

static void on_read(void *arg, const uint8_t *d, size_t n)
{
	struct rx *rx = arg;
	if (rx->len + n < sizeof rx->buf) {
		memcpy(rx->buf + rx->len, d, n);
		rx->len += n;
	}
	event_base_loopbreak(rx->base);
}

static void on_closed(void *arg, const char *why)
{
	struct rx *rx = arg;
	rx->closed++;
	event_base_loopbreak(rx->base);
}

/* Runs the loop until cond holds, at most ~5 s. */
#define LOOP_UNTIL(base, cond)                                                                                         \
	do {                                                                                                           \
		for (int i_ = 0; i_ < 500 && !(cond); i_++) {                                                          \
			struct timeval tv_ = {0, 10000};                                                               \
			event_base_loopexit(base, &tv_);                                                               \
			event_base_dispatch(base);                                                                     \
		}                                                                                                      \
	} while (0)

static void test_serial_pty(void **state)
{
	(void)state;
	int master, slave;
	char name[128];
	assert_int_equal(openpty(&master, &slave, name, NULL, NULL), 0);
	close(slave); /* the serial layer opens it by name */
	char link[64];
	snprintf(link, sizeof link, "/tmp/test_serial_%d", (int)getpid());
	unlink(link);
	assert_int_equal(symlink(name, link), 0);

	struct event_base *base = event_base_new();
	struct rx rx = {.base = base};
	struct serial_conf conf = {.port = link, .baud = 115200};
	struct serial_cbs cbs = {on_read, on_closed};
	struct serial *s = serial_new(base, &conf, &cbs, &rx);
	struct errbuf err;
	assert_int_equal(serial_open(s, &err), 0);
	assert_non_null(strstr(serial_describe(s), "(termios)"));
	assert_non_null(strstr(serial_describe(s), name));

	assert_int_equal(serial_write(s, "AT\r", 3), 0);
	char got[16] = {0};
	size_t have = 0;
	for (int i = 0; i < 500 && have < 3; i++) {
		struct timeval tv = {0, 10000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		ssize_t n = read(master, got + have, sizeof got - 1 - have);
		if (n > 0)
			have += (size_t)n;
	}
	assert_string_equal(got, "AT\r"); /* raw mode: no CR/LF translation */

	assert_int_equal(write(master, "\r\nOK\r\n", 6), 6);
	LOOP_UNTIL(base, rx.len >= 6);
	assert_int_equal(rx.len, 6);
	assert_memory_equal(rx.buf, "\r\nOK\r\n", 6);

	/* The master goes away: the line is lost, reported once. */
	close(master);
	LOOP_UNTIL(base, rx.closed);
	assert_int_equal(rx.closed, 1);
	assert_false(serial_is_open(s));
	assert_int_equal(serial_write(s, "x", 1), -ENOTCONN);

	/* A new pty under the same link name: found again. */
	assert_int_equal(openpty(&master, &slave, name, NULL, NULL), 0);
	close(slave);
	unlink(link);
	assert_int_equal(symlink(name, link), 0);
	assert_int_equal(serial_open(s, &err), 0);
	assert_int_equal(write(master, "+CMTI: \"SM\",1\r\n", 15), 15);
	rx.len = 0;
	LOOP_UNTIL(base, rx.len >= 15);
	assert_int_equal(rx.len, 15);

	serial_free(s);
	close(master);
	unlink(link);
	/* Gone for good: a clear -ENOENT. */
	s = serial_new(base, &conf, &cbs, &rx);
	assert_int_equal(serial_open(s, &err), -ENOENT);
	serial_free(s);
	event_base_free(base);
}

static void test_serial_conf(void **state)
{
	(void)state;
	struct errbuf err;
	struct serial_conf c = {0};
	assert_int_equal(serial_conf_check(&c, &err), -1);
	c.port = "/dev/ttyUSB0";
	assert_int_equal(serial_conf_check(&c, &err), 0);
	c.usb = "1a86:7523";
	assert_int_equal(serial_conf_check(&c, &err), -1); /* both */
	c.port = NULL;
	assert_int_equal(serial_conf_check(&c, &err), 0);
	c.usb = "1a86:7523:A9XYZ";
	assert_int_equal(serial_conf_check(&c, &err), 0);
	c.usb = "1a86";
	assert_int_equal(serial_conf_check(&c, &err), -1);
	c.usb = "zz:7523";
	assert_int_equal(serial_conf_check(&c, &err), -1);
	c.usb = "1a86:7523";
	c.parity = "mark";
	assert_int_equal(serial_conf_check(&c, &err), -1);
	c.parity = "even";
	c.flow_control = "dtrdsr";
	assert_int_equal(serial_conf_check(&c, &err), -1);
	c.flow_control = "rtscts";
	assert_int_equal(serial_conf_check(&c, &err), 0);
}

/* serial_list: one line per port it counts, "path<TAB>usb id or -<TAB>
 * description"; pseudo-terminals are never among them. */
static void test_serial_list(void **state)
{
	(void)state;
	int master, slave;
	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	int n = serial_list(f);
	fclose(f);
	assert_true(n >= 0);
	int lines = 0;
	for (char *l = buf, *e; l && *l; l = e + 1, lines++) {
		e = strchr(l, '\n');
		assert_non_null(e);
		*e = '\0';
		assert_true(l[0] == '/');
		char *t1 = strchr(l, '\t');
		assert_non_null(t1);
		assert_non_null(strchr(t1 + 1, '\t'));
		assert_null(strstr(l, "/dev/pts/"));
	}
	assert_int_equal(lines, n);
	free(buf);
	close(slave);
	close(master);
}

/* A usb id no present device has: -ENOENT with the id in the reason, the
 * port closed and still usable; a port path that does not exist likewise. */
static void test_serial_absent(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct rx rx = {.base = base};
	struct serial_cbs cbs = {on_read, on_closed};
	const char *ids[] = {"ffff:fffe", "ffff:fffe:NOSUCHSERIAL"};
	for (size_t i = 0; i < 2; i++) {
		struct serial_conf c = {.usb = (char *)ids[i], .baud = 115200};
		struct errbuf err = {0};
		assert_int_equal(serial_conf_check(&c, &err), 0);
		struct serial *s = serial_new(base, &c, &cbs, &rx);
		assert_int_equal(serial_open(s, &err), -ENOENT);
		char want[80];
		snprintf(want, sizeof want, "no USB serial port %s is present", ids[i]);
		assert_string_equal(err.msg, want);
		assert_false(serial_is_open(s));
		assert_string_equal(serial_describe(s), "");
		assert_int_equal(serial_write(s, "AT\r", 3), -ENOTCONN);
		assert_int_equal(serial_open(s, &err), -ENOENT); /* tried again: same answer */
		serial_free(s);
	}
	struct serial_conf c = {.port = "/nonexistent/ttyUSB9", .baud = 115200};
	struct errbuf err = {0};
	struct serial *s = serial_new(base, &c, &cbs, &rx);
	assert_int_equal(serial_open(s, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/ttyUSB9"));
	serial_free(s);
	assert_int_equal(rx.closed, 0);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_serial_pty),
	    cmocka_unit_test(test_serial_conf),
	    cmocka_unit_test(test_serial_list),
	    cmocka_unit_test(test_serial_absent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
