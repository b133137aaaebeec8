/*
 * bench ucp sink: an EMI/UCP SMSC that acknowledges every op 51 at once
 * (SM = AdC:SCTS, the SCTS unique per message) and, when the submit asks
 * for a notification (NRq 1), sends an op 53 "delivered" right behind the
 * ACK.  Op 60 logins (any) and op 31 are acknowledged.  Single thread,
 * libevent, smspool's own codec (drivers/ucp/frame.h) for every frame.
 *
 *   ucp_sink [-P PORTFILE]     listens on 127.0.0.1, a free port
 *
 * SIGTERM/SIGINT: prints "submits=N notifications=N notification_acks=N"
 * to stderr and exits 0.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "ucp/data.h"
#include "ucp/frame.h"

static uint64_t n_submits, n_notes, n_note_acks, n_scts;
static unsigned out_trn;
static struct ucp_frame in;
static uint8_t obuf[UCP_FRAME_MAX];

static void put(struct bufferevent *bev, const struct ucp_frame *f)
{
	size_t n;
	if (ucp_frame_encode(f, obuf, sizeof obuf, &n, NULL) == 0)
		bufferevent_write(bev, obuf, n);
}

static void ack(struct bufferevent *bev, unsigned trn, unsigned ot, const char *sm)
{
	struct ucp_frame f = {.trn = trn, .o_r = 'R', .ot = ot};
	f.f[f.nfields++] = (struct ucp_str){"A", 1};
	if (ot == 51)
		f.f[f.nfields++] = (struct ucp_str){"", 0};
	f.f[f.nfields++] = (struct ucp_str){sm, strlen(sm)};
	put(bev, &f);
}

static void on_submit(struct bufferevent *bev, const struct ucp_frame *s)
{
	char scts[13], sm[80];
	n_submits++;
	ucp_data_scts_format(1700000000 + (int64_t)++n_scts, scts);
	snprintf(sm, sizeof sm, "%.*s:%s", (int)(s->f[UCP5X_AdC].len < 40 ? s->f[UCP5X_AdC].len : 40),
	         s->f[UCP5X_AdC].p, scts);
	ack(bev, s->trn, 51, sm);
	if (!ucp_frame_is(s, UCP5X_NRq, "1"))
		return;
	struct ucp_frame f = {.trn = out_trn, .o_r = 'O', .ot = 53, .nfields = UCP5X_COUNT};
	out_trn = (out_trn + 1) % 100;
	for (size_t i = 0; i < UCP5X_COUNT; i++)
		f.f[i] = (struct ucp_str){"", 0};
	f.f[UCP5X_AdC] = s->f[UCP5X_OAdC];
	f.f[UCP5X_OAdC] = s->f[UCP5X_AdC];
	f.f[UCP5X_SCTS] = (struct ucp_str){scts, 12};
	f.f[UCP5X_Dst] = (struct ucp_str){"0", 1};
	f.f[UCP5X_Rsn] = (struct ucp_str){"000", 3};
	f.f[UCP5X_DSCTS] = (struct ucp_str){scts, 12};
	f.f[UCP5X_MT] = (struct ucp_str){"3", 1};
	put(bev, &f);
	n_notes++;
}

static void readcb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *ib = bufferevent_get_input(bev);
	(void)arg;
	for (;;) {
		size_t len = evbuffer_get_length(ib), skip, flen;
		if (len == 0)
			return;
		const uint8_t *p = evbuffer_pullup(ib, (ev_ssize_t)len);
		enum ucp_scan r = ucp_frame_scan(p, len, &skip, &flen);
		evbuffer_drain(ib, skip);
		if (r != UCP_SCAN_FRAME) {
			if (r == UCP_SCAN_OVERSIZE)
				continue;
			return;
		}
		p = evbuffer_pullup(ib, (ev_ssize_t)flen);
		struct ucp_error e;
		if (ucp_frame_decode(p, flen, &in, &e) == 0) {
			if (in.o_r == 'R') {
				if (in.ot == 53 && in.ack)
					n_note_acks++;
			} else if (in.ot == 51) {
				on_submit(bev, &in);
			} else if (in.ot == 60 || in.ot == 31) {
				ack(bev, in.trn, in.ot, "");
			}
		}
		evbuffer_drain(ib, flen);
	}
}

static void eventcb(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
	(void)sa;
	(void)len;
	(void)arg;
	struct bufferevent *bev = bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, readcb, NULL, eventcb, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	const char *portfile = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "P:")) != -1)
		if (opt == 'P')
			portfile = optarg;
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7F000001)};
	struct evconnlistener *l = evconnlistener_new_bind(
	    base, accept_cb, NULL, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE, 64, (struct sockaddr *)&sin, sizeof sin);
	if (!l) {
		perror("ucp_sink: listen");
		return 1;
	}
	struct sockaddr_in got;
	socklen_t gl = sizeof got;
	getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&got, &gl);
	if (portfile) {
		char tmp[4096];
		snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
		FILE *f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d\n", ntohs(got.sin_port)) < 0 || fclose(f) || rename(tmp, portfile))
			return 1;
	}
	struct event *s1 = evsignal_new(base, SIGTERM, on_signal, base),
	             *s2 = evsignal_new(base, SIGINT, on_signal, base);
	event_add(s1, NULL);
	event_add(s2, NULL);
	event_base_dispatch(base);
	fprintf(stderr, "submits=%" PRIu64 " notifications=%" PRIu64 " notification_acks=%" PRIu64 "\n", n_submits,
	        n_notes, n_note_acks);
	return 0;
}
