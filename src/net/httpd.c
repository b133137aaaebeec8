/*
 * httpd: libmicrohttpd on the loop (see httpd.h).  The header deadline:
 * every connection is tracked from MHD's connection notifications; the
 * access handler (wrapped) marks it as in a request, the completion
 * (wrapped) as waiting for the next one; once a second, a connection that
 * waits past the deadline is shut down, which MHD then sees as the peer
 * gone and closes.  MHD has no deadline of its own, only an idle timeout.
 */
#include "net/httpd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "sbuf.h"
#include "util.h"

/* GnuTLS priorities: nothing below TLS 1.2. */
#define TLS_FLOOR "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* One open connection. */
struct track {
	int fd;
	uint64_t since_ms; /* start, or the end of its last request */
	bool in_request, cut;
	struct track *prev, *next;
};

struct httpd {
	struct MHD_Daemon *d;
	struct event *io_ev, *timer_ev, *deadline_ev;
	char *name;
	char last_error[200];
	MHD_AccessHandlerCallback handler;
	MHD_RequestCompletedCallback completed;
	void *cls;
	uint64_t header_timeout_ms;
	struct track *tracks;
	uint64_t cut_total;
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

static struct track *track_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static void notify_cb(void *cls, struct MHD_Connection *mc, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *h = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct track *t = xcalloc(1, sizeof *t);
		t->fd = ci ? ci->connect_fd : -1;
		t->since_ms = now_mono_ms();
		t->next = h->tracks;
		if (h->tracks)
			h->tracks->prev = t;
		h->tracks = t;
		*socket_context = t;
		return;
	}
	struct track *t = *socket_context;
	if (!t)
		return;
	if (t->prev)
		t->prev->next = t->next;
	else
		h->tracks = t->next;
	if (t->next)
		t->next->prev = t->prev;
	free(t);
	*socket_context = NULL;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct track *t = track_of(mc);
	if (t)
		t->in_request = true;
	return h->handler(h->cls, mc, url, method, version, upload_data, upload_data_size, con_cls);
}

static void completed_cb(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct httpd *h = cls;
	struct track *t = track_of(mc);
	if (t) {
		t->in_request = false;
		t->since_ms = now_mono_ms();
	}
	if (h->completed)
		h->completed(h->cls, mc, con_cls, toe);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct httpd *h = arg;
	uint64_t now = now_mono_ms();
	int cut = 0;
	for (struct track *t = h->tracks; t; t = t->next)
		if (!t->in_request && !t->cut && t->fd >= 0 && now - t->since_ms > h->header_timeout_ms) {
			/* MHD owns the descriptor: shut it down, never close it. */
			shutdown(t->fd, SHUT_RDWR);
			t->cut = true;
			cut++;
		}
	if (cut) {
		h->cut_total += (uint64_t)cut;
		log_info("httpd_header_timeout", "conn=%s closed=%d total=%" PRIu64 " timeout_s=%" PRIu64, h->name, cut,
		         h->cut_total, h->header_timeout_ms / 1000);
		httpd_kick(h);
	}
}

struct httpd *httpd_start(struct event_base *base, const struct httpd_opts *o, char *err, size_t cap)
{
	struct httpd *h = xcalloc(1, sizeof *h);
	h->name = xstrdup(o->name ? o->name : "-");
	h->handler = o->handler;
	h->completed = o->completed;
	h->cls = o->cls;
	h->header_timeout_ms = (uint64_t)(o->header_timeout_s ? o->header_timeout_s : HTTPD_HEADER_TIMEOUT_S) * 1000;
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
	h->d = MHD_start_daemon(
	    flags, 0, NULL, NULL, access_cb, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, h, MHD_OPTION_SOCK_ADDR,
	    o->addr, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_URI_LOG_CALLBACK, o->uri_log, o->cls,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h, MHD_OPTION_NOTIFY_CONNECTION, notify_cb, h,
	    MHD_OPTION_CONNECTION_LIMIT, o->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_per_address,
	    MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
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
	h->deadline_ev = event_new(base, -1, EV_PERSIST, deadline_cb, h);
	struct timeval every = {1, 0};
	event_add(h->deadline_ev, &every);
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
	if (h->deadline_ev)
		event_free(h->deadline_ev);
	if (h->d)
		MHD_stop_daemon(h->d); /* its close notifications free the tracks */
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
