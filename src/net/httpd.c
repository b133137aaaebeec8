/* httpd: libmicrohttpd on the loop (see httpd.h). */
#include "net/httpd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sbuf.h"
#include "util.h"

/* GnuTLS priorities: nothing below TLS 1.2. */
#define TLS_FLOOR "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct httpd {
	struct MHD_Daemon *d;
	struct event *io_ev, *timer_ev;
	char *name;
	char last_error[200];
};

static void rearm(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG to;
	if (h->d && MHD_get_timeout(h->d, &to) == MHD_YES) {
		struct timeval tv = {(time_t)(to / 1000), (suseconds_t)(to % 1000) * 1000};
		evtimer_add(h->timer_ev, &tv);
	} else {
		evtimer_del(h->timer_ev);
	}
}

static void run_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	httpd_run(arg);
}

void httpd_run(struct httpd *h)
{
	if (!h || !h->d)
		return;
	MHD_run(h->d);
	rearm(h);
}

void httpd_kick(struct httpd *h)
{
	struct timeval now = {0, 0};
	if (h)
		evtimer_add(h->timer_ev, &now);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	struct httpd *h = cls;
	vsnprintf(h->last_error, sizeof h->last_error, fmt, ap);
	size_t n = strlen(h->last_error);
	while (n && (h->last_error[n - 1] == '\n' || h->last_error[n - 1] == ' '))
		h->last_error[--n] = 0;
	char q[256];
	log_debug("httpd_mhd", "conn=%s message=%s", h->name, log_quote(h->last_error, q, sizeof q));
}

struct httpd *httpd_start(struct event_base *base, const struct httpd_opts *o, char *err, size_t cap)
{
	struct httpd *h = xcalloc(1, sizeof *h);
	h->name = xstrdup(o->name ? o->name : "-");
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (o->addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (o->tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls_opts[] = {
	    {o->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)o->cert_pem},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->key_pem},
	    {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_FLOOR},
	    {MHD_OPTION_END, 0, NULL},
	};
	/* The logger first: libmicrohttpd logs the options that follow with it. */
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, o->handler, o->cls, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, h,
	                        MHD_OPTION_SOCK_ADDR, o->addr, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
	                        MHD_OPTION_URI_LOG_CALLBACK, o->uri_log, o->cls, MHD_OPTION_NOTIFY_COMPLETED,
	                        o->completed, o->cls, MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
	                        MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_per_address, MHD_OPTION_CONNECTION_TIMEOUT,
	                        o->timeout_s, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
	const union MHD_DaemonInfo *info = h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (!info) {
		snprintf(err, cap, "%s",
		         h->last_error[0] ? h->last_error
		         : h->d           ? "no epoll descriptor"
		                          : strerror(errno));
		httpd_free(h);
		return NULL;
	}
	h->io_ev = event_new(base, info->epoll_fd, EV_READ | EV_PERSIST, run_cb, h);
	h->timer_ev = evtimer_new(base, run_cb, h);
	event_add(h->io_ev, NULL);
	rearm(h);
	return h;
}

struct MHD_Daemon *httpd_mhd(struct httpd *h)
{
	return h ? h->d : NULL;
}

int httpd_port(struct httpd *h)
{
	const union MHD_DaemonInfo *pi = h && h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	return pi ? pi->port : 0;
}

void httpd_free(struct httpd *h)
{
	if (!h)
		return;
	if (h->io_ev)
		event_free(h->io_ev);
	if (h->timer_ev)
		event_free(h->timer_ev);
	if (h->d)
		MHD_stop_daemon(h->d);
	free(h->name);
	free(h);
}

char *httpd_read_pem(const char *path)
{
	FILE *f = path ? fopen(path, "rb") : NULL;
	if (!f)
		return NULL;
	struct sbuf b;
	sbuf_init(&b);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0 && b.len < 1024 * 1024)
		sbuf_add(&b, buf, n);
	fclose(f);
	sbuf_add(&b, "", 1); /* the NUL */
	return b.buf;
}
