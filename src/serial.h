/*
 * serial: a serial line on the libevent loop, for the drivers that talk to
 * modems and phones (at, fbus).
 *
 * Two paths, chosen per open:
 * - a real port (one the kernel lists under /sys/class/tty, e.g. ttyUSB0,
 *   ttyACM0, ttyS0) is opened and configured through libserialport: baud,
 *   8 data bits, parity, 1 stop bit, flow control;
 * - anything libserialport cannot open — a pseudo-terminal, which has no
 *   /sys entry and rejects TIOCMGET (../shared/PEERS.md) — is opened with
 *   plain termios (raw mode, the same settings; a pty ignores baud and
 *   parity).  Tests use this path.
 *
 * Contract:
 * - A port is named by `port` (a path; symbolic links such as
 *   /dev/serial/by-id/... are followed at every open) or by `usb` =
 *   "VID:PID[:serial]" (hex ids, found by libserialport's enumeration).
 *   Once a port was opened, its USB identity (when it has one) is
 *   remembered, so that a device that comes back under another name after
 *   re-enumeration is found again by serial_open.
 * - Non-blocking: the fd is O_NONBLOCK, reads arrive through read_cb on the
 *   loop, writes are queued and drained on EV_WRITE.  serial_write never
 *   blocks and fails only when the port is closed or the queue exceeds
 *   SERIAL_QUEUE_MAX.
 * - When the line goes away (EOF, EIO/ENXIO from an unplugged device or a
 *   pty whose master closed), closed_cb is called once and the port is
 *   closed; the owner decides when to serial_open again.  Callbacks are
 *   never called after serial_close / serial_free.
 */
#ifndef SMSPOOL_SERIAL_H
#define SMSPOOL_SERIAL_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "errbuf.h"
#include "settings.h"
#include "util.h"

#define SERIAL_QUEUE_MAX (64 * 1024)

/* The settings a serial driver shares; filled by SERIAL_SETTINGS rows. */
struct serial_conf {
	char *port;         /* device path, or NULL */
	char *usb;          /* "VID:PID[:serial]", or NULL */
	long long baud;     /* e.g. 115200 */
	char *parity;       /* "none", "even", "odd" (NULL = none) */
	char *flow_control; /* "none", "rtscts", "xonxoff" (NULL = none) */
};

/* Setting rows for a struct serial_conf that is member `m` of conf type
 * `T`, to put in a driver's settings table.  baud_def is a JSON number
 * string ("115200"). */
/* clang-format off */
#define SERIAL_SETTINGS(T, m, baud_def) \
	{"port", SETTING_STRING, offsetof(T, m.port), false, false, 0, 0, NULL, \
	 "serial device path (/dev/ttyUSB0, /dev/serial/by-id/..., a pty); this or usb"}, \
	{"usb", SETTING_STRING, offsetof(T, m.usb), false, false, 0, 0, NULL, \
	 "USB device as VID:PID[:serial] (hex), found by enumeration; this or port"}, \
	{"baud", SETTING_INT, offsetof(T, m.baud), false, true, 50, 4000000, baud_def, "line speed in bit/s"}, \
	{"parity", SETTING_STRING, offsetof(T, m.parity), false, false, 0, 0, "\"none\"", "none, even or odd", \
	 .choices = "none|even|odd"}, \
	{"flow_control", SETTING_STRING, offsetof(T, m.flow_control), false, false, 0, 0, "\"none\"", \
	 "none, rtscts or xonxoff", .choices = "none|rtscts|xonxoff"}
/* clang-format on */

/* Validates a parsed serial_conf without I/O: exactly one of port and usb,
 * known parity and flow control names, a well-formed usb id. */
MUST_CHECK int serial_conf_check(const struct serial_conf *conf, struct errbuf *err);

struct serial;

struct serial_cbs {
	/* len > 0 octets just read; borrowed for the call. */
	void (*read)(void *arg, const uint8_t *data, size_t len);
	/* The line went away; the port is already closed. */
	void (*closed)(void *arg, const char *why);
};

/* A serial port object (not yet open).  conf is borrowed and must outlive
 * the object. */
struct serial *serial_new(struct event_base *base, const struct serial_conf *conf, const struct serial_cbs *cbs,
                          void *arg);
/* Closes the port if open and frees s (NULL is fine). */
void serial_free(struct serial *s);

/* Finds the device (again) and opens it.  Returns 0, or a negative errno
 * with err saying why (-ENOENT: no such device now, worth retrying). */
MUST_CHECK int serial_open(struct serial *s, struct errbuf *err);
/* Closes the port and drops queued output; s stays usable for serial_open. */
void serial_close(struct serial *s);
bool serial_is_open(const struct serial *s);

/* Queues len octets.  Returns 0, -ENOTCONN (closed) or -ENOBUFS. */
MUST_CHECK int serial_write(struct serial *s, const void *data, size_t len);
/* Octets queued and not yet written. */
size_t serial_pending(const struct serial *s);

/* What is open now, for logs and status: "/dev/ttyUSB0 (libserialport,
 * usb 1a86:7523)" or "/dev/pts/3 (termios)"; "" when closed. */
const char *serial_describe(const struct serial *s);

/* Prints the ports libserialport finds, one per line with their USB ids,
 * for `smspool serial list`.  Returns the number of ports, or -1. */
int serial_list(FILE *out);

#endif
