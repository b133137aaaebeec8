/*
 * serial: see serial.h.
 *
 * libserialport opens and configures real ports (it knows their USB
 * identity and the quirks of their drivers); afterwards only its fd is used,
 * with read()/write() from libevent callbacks, because its own blocking and
 * non-blocking calls would not fit the loop.  A pty, which libserialport
 * refuses, goes through termios with the same line settings.
 */
#include "serial.h"

#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"

struct serial {
	struct event_base *base;
	const struct serial_conf *conf;
	struct serial_cbs cbs;
	void *arg;

	int fd;
	struct sp_port *sp; /* non-NULL when opened through libserialport */
	struct event *ev_read, *ev_write;
	struct evbuffer *out;
	char desc[PATH_MAX + 64];

	/* USB identity learnt at the last successful open (0 = none). */
	int vid, pid;
	char usb_serial[128];
};

static int serial_parity(const char *name)
{
	if (!name || !strcmp(name, "none"))
		return 0;
	if (!strcmp(name, "even"))
		return 1;
	if (!strcmp(name, "odd"))
		return 2;
	return -1;
}

static int serial_flow(const char *name)
{
	if (!name || !strcmp(name, "none"))
		return 0;
	if (!strcmp(name, "rtscts"))
		return 1;
	if (!strcmp(name, "xonxoff"))
		return 2;
	return -1;
}

/* Parses "VID:PID[:serial]". */
static int serial_parse_usb(const char *usb, int *vid, int *pid, char *sn, size_t sn_cap)
{
	char *end;
	long v = strtol(usb, &end, 16);
	if (end == usb || *end != ':' || v < 0 || v > 0xFFFF)
		return -1;
	const char *p = end + 1;
	long d = strtol(p, &end, 16);
	if (end == p || (*end != ':' && *end) || d < 0 || d > 0xFFFF)
		return -1;
	*vid = (int)v;
	*pid = (int)d;
	sn[0] = '\0';
	if (*end == ':') {
		if (strlen(end + 1) >= sn_cap || !end[1])
			return -1;
		strcpy(sn, end + 1);
	}
	return 0;
}

int serial_conf_check(const struct serial_conf *conf, struct errbuf *err)
{
	if (!conf->port == !conf->usb)
		return errbuf_set(err, "exactly one of port and usb must be set");
	if (conf->port && !conf->port[0])
		return errbuf_set(err, "port is empty");
	int vid, pid;
	char sn[128];
	if (conf->usb && serial_parse_usb(conf->usb, &vid, &pid, sn, sizeof sn) < 0)
		return errbuf_set(err, "usb '%s' is not VID:PID[:serial] in hex", conf->usb);
	if (serial_parity(conf->parity) < 0)
		return errbuf_set(err, "parity must be none, even or odd");
	if (serial_flow(conf->flow_control) < 0)
		return errbuf_set(err, "flow_control must be none, rtscts or xonxoff");
	return 0;
}

static void serial_on_read(evutil_socket_t fd, short what, void *arg);
static void serial_on_write(evutil_socket_t fd, short what, void *arg);

struct serial *serial_new(struct event_base *base, const struct serial_conf *conf, const struct serial_cbs *cbs,
                          void *arg)
{
	struct serial *s = xcalloc(1, sizeof *s);
	s->base = base;
	s->conf = conf;
	s->cbs = *cbs;
	s->arg = arg;
	s->fd = -1;
	return s;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	serial_close(s);
	free(s);
}

bool serial_is_open(const struct serial *s)
{
	return s->fd >= 0;
}

const char *serial_describe(const struct serial *s)
{
	return s->fd >= 0 ? s->desc : "";
}

/* Finds a port by USB identity; returns a new port or NULL. */
static struct sp_port *serial_find_usb(int vid, int pid, const char *sn)
{
	struct sp_port **list, *found = NULL;
	if (sp_list_ports(&list) != SP_OK)
		return NULL;
	for (size_t i = 0; list[i] && !found; i++) {
		int v, p;
		if (sp_get_port_transport(list[i]) != SP_TRANSPORT_USB ||
		    sp_get_port_usb_vid_pid(list[i], &v, &p) != SP_OK || v != vid || p != pid)
			continue;
		const char *psn = sp_get_port_usb_serial(list[i]);
		if (sn[0] && (!psn || strcmp(psn, sn) != 0))
			continue;
		if (sp_copy_port(list[i], &found) != SP_OK)
			found = NULL;
	}
	sp_free_port_list(list);
	return found;
}

/* Resolves the configured device to a path (and, for a real port, its
 * libserialport handle in *sp).  Returns 0 or -ENOENT. */
static int serial_resolve(struct serial *s, char *path, size_t cap, struct sp_port **sp, struct errbuf *err)
{
	*sp = NULL;
	if (s->conf->usb) {
		int vid, pid;
		char sn[128];
		if (serial_parse_usb(s->conf->usb, &vid, &pid, sn, sizeof sn) < 0)
			return errbuf_set(err, "bad usb id"), -EINVAL;
		*sp = serial_find_usb(vid, pid, sn);
		if (!*sp)
			return errbuf_set(err, "no USB serial port %s is present", s->conf->usb), -ENOENT;
		snprintf(path, cap, "%s", sp_get_port_name(*sp));
		return 0;
	}
	char real[PATH_MAX];
	if (!realpath(s->conf->port, real)) {
		/* The device is gone or renamed: look for the one we had. */
		if (s->vid && (*sp = serial_find_usb(s->vid, s->pid, s->usb_serial)) != NULL) {
			snprintf(path, cap, "%s", sp_get_port_name(*sp));
			return 0;
		}
		return errbuf_set(err, "%s: %s", s->conf->port, strerror(errno)), -ENOENT;
	}
	snprintf(path, cap, "%s", real);
	if (sp_get_port_by_name(real, sp) != SP_OK)
		*sp = NULL; /* not a port libserialport knows (a pty): termios */
	return 0;
}

static int serial_open_sp(struct serial *s, struct sp_port *sp, struct errbuf *err)
{
	static const enum sp_parity par[] = {SP_PARITY_NONE, SP_PARITY_EVEN, SP_PARITY_ODD};
	static const enum sp_flowcontrol flow[] = {SP_FLOWCONTROL_NONE, SP_FLOWCONTROL_RTSCTS, SP_FLOWCONTROL_XONXOFF};
	if (sp_open(sp, SP_MODE_READ_WRITE) != SP_OK) {
		char *m = sp_last_error_message();
		errbuf_set(err, "%s: %s", sp_get_port_name(sp), m ? m : "cannot open");
		sp_free_error_message(m);
		return -EIO;
	}
	if (sp_set_baudrate(sp, (int)(s->conf->baud ? s->conf->baud : 115200)) != SP_OK ||
	    sp_set_bits(sp, 8) != SP_OK || sp_set_parity(sp, par[serial_parity(s->conf->parity)]) != SP_OK ||
	    sp_set_stopbits(sp, 1) != SP_OK ||
	    sp_set_flowcontrol(sp, flow[serial_flow(s->conf->flow_control)]) != SP_OK) {
		char *m = sp_last_error_message();
		errbuf_set(err, "%s: cannot configure: %s", sp_get_port_name(sp), m ? m : "?");
		sp_free_error_message(m);
		sp_close(sp);
		return -EIO;
	}
	int fd;
	if (sp_get_port_handle(sp, &fd) != SP_OK) {
		sp_close(sp);
		return errbuf_set(err, "no file descriptor"), -EIO;
	}
	s->fd = fd;
	s->sp = sp;
	int v, p;
	if (sp_get_port_transport(sp) == SP_TRANSPORT_USB && sp_get_port_usb_vid_pid(sp, &v, &p) == SP_OK) {
		const char *sn = sp_get_port_usb_serial(sp);
		s->vid = v;
		s->pid = p;
		snprintf(s->usb_serial, sizeof s->usb_serial, "%s", sn ? sn : "");
		snprintf(s->desc, sizeof s->desc, "%s (libserialport, usb %04x:%04x%s%s)", sp_get_port_name(sp), v, p,
		         s->usb_serial[0] ? ":" : "", s->usb_serial);
	} else {
		snprintf(s->desc, sizeof s->desc, "%s (libserialport)", sp_get_port_name(sp));
	}
	return 0;
}

static speed_t serial_speed(long long baud)
{
	static const struct {
		long long baud;
		speed_t speed;
	} speeds[] = {{1200, B1200},     {2400, B2400},     {4800, B4800},    {9600, B9600},
	              {19200, B19200},   {38400, B38400},   {57600, B57600},  {115200, B115200},
	              {230400, B230400}, {460800, B460800}, {921600, B921600}};
	for (size_t i = 0; i < ARRAY_LEN(speeds); i++)
		if (speeds[i].baud == baud)
			return speeds[i].speed;
	return B115200;
}

static int serial_open_termios(struct serial *s, const char *path, struct errbuf *err)
{
	int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errbuf_set(err, "%s: %s", path, strerror(errno)), errno == ENOENT ? -ENOENT : -EIO;
	struct termios tio;
	if (tcgetattr(fd, &tio) < 0) {
		int e = errno;
		close(fd);
		return errbuf_set(err, "%s: not a terminal: %s", path, strerror(e)), -EIO;
	}
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	tio.c_cflag &= ~(tcflag_t)(PARENB | PARODD | CSTOPB | CRTSCTS);
	int par = serial_parity(s->conf->parity), flow = serial_flow(s->conf->flow_control);
	if (par)
		tio.c_cflag |= PARENB | (par == 2 ? PARODD : 0);
	if (flow == 1)
		tio.c_cflag |= CRTSCTS;
	if (flow == 2)
		tio.c_iflag |= IXON | IXOFF;
	speed_t sp = serial_speed(s->conf->baud);
	cfsetispeed(&tio, sp);
	cfsetospeed(&tio, sp);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &tio) < 0) {
		int e = errno;
		close(fd);
		return errbuf_set(err, "%s: cannot configure: %s", path, strerror(e)), -EIO;
	}
	s->fd = fd;
	snprintf(s->desc, sizeof s->desc, "%s (termios)", path);
	return 0;
}

int serial_open(struct serial *s, struct errbuf *err)
{
	if (s->fd >= 0)
		return 0;
	char path[PATH_MAX];
	struct sp_port *sp;
	int rc = serial_resolve(s, path, sizeof path, &sp, err);
	if (rc < 0)
		return rc;
	rc = sp ? serial_open_sp(s, sp, err) : serial_open_termios(s, path, err);
	if (rc < 0) {
		if (sp)
			sp_free_port(sp);
		return rc;
	}
	int fl = fcntl(s->fd, F_GETFL);
	if (fl < 0 || fcntl(s->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		serial_close(s);
		return errbuf_set(err, "cannot make the port non-blocking"), -EIO;
	}
	tcflush(s->fd, TCIOFLUSH); /* stale bytes from before this open */
	s->out = evbuffer_new();
	s->ev_read = event_new(s->base, s->fd, EV_READ | EV_PERSIST, serial_on_read, s);
	s->ev_write = event_new(s->base, s->fd, EV_WRITE, serial_on_write, s);
	if (!s->out || !s->ev_read || !s->ev_write)
		abort();
	event_add(s->ev_read, NULL);
	log_debug("serial_open", "device=%s", s->desc);
	return 0;
}

void serial_close(struct serial *s)
{
	if (s->ev_read)
		event_free(s->ev_read);
	if (s->ev_write)
		event_free(s->ev_write);
	if (s->out)
		evbuffer_free(s->out);
	s->ev_read = s->ev_write = NULL;
	s->out = NULL;
	if (s->sp) {
		sp_close(s->sp); /* closes the fd */
		sp_free_port(s->sp);
		s->sp = NULL;
	} else if (s->fd >= 0) {
		close(s->fd);
	}
	s->fd = -1;
}

/* The line is gone: close, then tell the owner (who may free s). */
static void serial_lost(struct serial *s, const char *why)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%s", why);
	serial_close(s);
	if (s->cbs.closed)
		s->cbs.closed(s->arg, buf);
}

static void serial_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct serial *s = arg;
	uint8_t buf[1024];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n > 0) {
		s->cbs.read(s->arg, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	serial_lost(s, n == 0 ? "end of file" : strerror(errno));
}

static void serial_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct serial *s = arg;
	int n = evbuffer_write(s->out, fd);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		serial_lost(s, strerror(errno));
		return;
	}
	if (evbuffer_get_length(s->out) > 0)
		event_add(s->ev_write, NULL);
}

int serial_write(struct serial *s, const void *data, size_t len)
{
	if (s->fd < 0)
		return -ENOTCONN;
	if (evbuffer_get_length(s->out) + len > SERIAL_QUEUE_MAX)
		return -ENOBUFS;
	if (evbuffer_add(s->out, data, len) < 0)
		abort();
	event_add(s->ev_write, NULL);
	return 0;
}

size_t serial_pending(const struct serial *s)
{
	return s->out ? evbuffer_get_length(s->out) : 0;
}

int serial_list(FILE *out)
{
	struct sp_port **list;
	if (sp_list_ports(&list) != SP_OK)
		return -1;
	int n = 0;
	for (; list[n]; n++) {
		struct sp_port *p = list[n];
		const char *desc = sp_get_port_description(p);
		int v, d;
		if (sp_get_port_transport(p) == SP_TRANSPORT_USB && sp_get_port_usb_vid_pid(p, &v, &d) == SP_OK) {
			const char *sn = sp_get_port_usb_serial(p), *mf = sp_get_port_usb_manufacturer(p);
			fprintf(out, "%s\tusb=%04x:%04x%s%s\t%s%s%s\n", sp_get_port_name(p), v, d, sn ? ":" : "",
			        sn ? sn : "", mf ? mf : "", mf ? " " : "", desc ? desc : "");
		} else {
			fprintf(out, "%s\t-\t%s\n", sp_get_port_name(p), desc ? desc : "");
		}
	}
	sp_free_port_list(list);
	return n;
}
