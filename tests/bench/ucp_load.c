/*
 * bench ucp load: C EMI/UCP clients that log in to a ucp-server and submit
 * op 51 as fast as their windows allow, for the ingest figure.
 *
 *   ucp_load -p PORT -n TOTAL [-c CONNS] [-W WINDOW] [-u USER] [-w PASSWORD]
 *
 * Each of CONNS sessions logs in (op 60); once all are logged in, each
 * keeps WINDOW (at most 100, TRN 00-99) op 51 outstanding until TOTAL are
 * answered in all.  Prints "acked=N nacked=N msg_per_s=N" (from the first
 * submit to the last answer) and exits 0, or 1 when a login is refused or
 * a session is lost.  As load.c (the SMPP ESME of the same figure) does:
 * TCP_NODELAY (with Nagle, a burst written while an earlier one is not
 * acknowledged yet waits for the server's delayed ACK, up to 40 ms, while
 * the server holds its answers for the commit), and every session starts
 * at once (the logins are checked one after another by the database).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "ucp/frame.h"
#include "util.h"

struct sess {
	struct bufferevent *bev;
	bool up;
	unsigned next_trn;
	int inflight;
};

static struct event_base *base;
static struct sess *sessions;
static int nsess, nup;
static long total, sent, answered, acked, nacked, window = 100;
static const char *user = "bench", *password = "bench";
static uint64_t t_first, t_last;
static int failed;
static uint8_t obuf[4096];
static struct ucp_frame in;

static void put(struct sess *s, const struct ucp_frame *f)
{
	size_t n;
	if (ucp_frame_encode(f, obuf, sizeof obuf, &n, NULL) == 0)
		bufferevent_write(s->bev, obuf, n);
}

static void fill(struct sess *s)
{
	static const char text[] = "62656E6368206D657373616765"; /* "bench message" */
	while (s->up && nup == nsess && s->inflight < window && sent < total) {
		char adc[16];
		snprintf(adc, sizeof adc, "1555%07ld", sent % 10000000);
		struct ucp_frame f = {.trn = s->next_trn, .o_r = 'O', .ot = 51, .nfields = UCP5X_COUNT};
		s->next_trn = (s->next_trn + 1) % 100;
		for (size_t i = 0; i < UCP5X_COUNT; i++)
			f.f[i] = (struct ucp_str){"", 0};
		f.f[UCP5X_AdC] = (struct ucp_str){adc, strlen(adc)};
		f.f[UCP5X_OAdC] = (struct ucp_str){"12345", 5};
		f.f[UCP5X_MT] = (struct ucp_str){"3", 1};
		f.f[UCP5X_Msg] = (struct ucp_str){text, sizeof text - 1};
		put(s, &f);
		if (!t_first)
			t_first = now_mono_ms();
		sent++;
		s->inflight++;
	}
}

static void readcb(struct bufferevent *bev, void *arg)
{
	struct sess *s = arg;
	struct evbuffer *ib = bufferevent_get_input(bev);
	for (;;) {
		size_t len = evbuffer_get_length(ib), skip, flen;
		if (len == 0)
			break;
		const uint8_t *p = evbuffer_pullup(ib, (ev_ssize_t)len);
		enum ucp_scan r = ucp_frame_scan(p, len, &skip, &flen);
		evbuffer_drain(ib, skip);
		if (r != UCP_SCAN_FRAME)
			break;
		p = evbuffer_pullup(ib, (ev_ssize_t)flen);
		struct ucp_error e;
		if (ucp_frame_decode(p, flen, &in, &e) == 0 && in.o_r == 'R') {
			if (in.ot == 60) {
				if (!in.ack) {
					fprintf(stderr, "ucp_load: login refused\n");
					failed = 1;
					event_base_loopbreak(base);
					return;
				}
				s->up = true;
				if (++nup == nsess) /* all logged in: every session starts */
					for (int i = 0; i < nsess; i++)
						if (&sessions[i] != s)
							fill(&sessions[i]);
			} else if (in.ot == 51) {
				s->inflight--;
				answered++;
				if (in.ack)
					acked++;
				else
					nacked++;
				t_last = now_mono_ms();
			}
		} else if (in.o_r == 'O') { /* a notification: acknowledge it */
			struct ucp_frame f = {.trn = in.trn, .o_r = 'R', .ot = in.ot, .nfields = 3};
			f.f[0] = (struct ucp_str){"A", 1};
			f.f[1] = f.f[2] = (struct ucp_str){"", 0};
			put(s, &f);
		}
		evbuffer_drain(ib, flen);
	}
	if (answered >= total)
		event_base_loopbreak(base);
	else
		fill(s);
}

static void eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct sess *s = arg;
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		char pwd[130];
		hex_encode((const uint8_t *)password, strlen(password), pwd);
		struct ucp_frame f = {.trn = 0, .o_r = 'O', .ot = 60, .nfields = UCP6X_COUNT};
		for (size_t i = 0; i < UCP6X_COUNT; i++)
			f.f[i] = (struct ucp_str){"", 0};
		f.f[UCP6X_OAdC] = (struct ucp_str){user, strlen(user)};
		f.f[UCP6X_OTON] = (struct ucp_str){"6", 1};
		f.f[UCP6X_ONPI] = (struct ucp_str){"5", 1};
		f.f[UCP6X_STYP] = (struct ucp_str){"1", 1};
		f.f[UCP6X_PWD] = (struct ucp_str){pwd, strlen(pwd)};
		f.f[UCP6X_VERS] = (struct ucp_str){"0100", 4};
		s->next_trn = 1;
		put(s, &f);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		fprintf(stderr, "ucp_load: session lost\n");
		failed = 1;
		event_base_loopbreak(base);
	}
}

int main(int argc, char **argv)
{
	int port = 0, conns = 4, opt;
	while ((opt = getopt(argc, argv, "p:n:c:W:u:w:")) != -1)
		switch (opt) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'n':
			total = atol(optarg);
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 'W':
			window = atol(optarg) > 100 ? 100 : atol(optarg);
			break;
		case 'u':
			user = optarg;
			break;
		case 'w':
			password = optarg;
			break;
		default:
			return 2;
		}
	if (!port || total <= 0 || conns <= 0 || strlen(password) > 64)
		return 2;
	base = event_base_new();
	struct sess *ss = xcalloc((size_t)conns, sizeof *ss);
	sessions = ss;
	nsess = conns;
	struct sockaddr_in sin = {
	    .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(0x7F000001)};
	for (int i = 0; i < conns; i++) {
		ss[i].bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
		bufferevent_setcb(ss[i].bev, readcb, NULL, eventcb, &ss[i]);
		bufferevent_enable(ss[i].bev, EV_READ | EV_WRITE);
		if (bufferevent_socket_connect(ss[i].bev, (struct sockaddr *)&sin, sizeof sin))
			return 1;
	}
	event_base_dispatch(base);
	uint64_t ms = t_last > t_first ? t_last - t_first : 1;
	printf("acked=%ld nacked=%ld msg_per_s=%.0f\n", acked, nacked, (double)answered * 1000.0 / (double)ms);
	return failed;
}
