/*
 * bench sink: an SMPP SMSC that answers every submit_sm at once and, when the
 * submit asks for one (registered_delivery & 1), sends a DELIVRD receipt
 * right behind the submit_sm_resp.  Single thread, epoll, smspool's own codec
 * (drivers/smpp/pdu.h) for every PDU it decodes or encodes.
 *
 *   sink [-p PORT] [-P PORTFILE] [-n] [-L LATFILE] [-C COUNTFILE]
 *     -p  port on 127.0.0.1 (0 = any free port, the default)
 *     -P  write the port chosen into PORTFILE once listening
 *     -n  never send receipts
 *     -L  on exit, write one line per submit_sm whose text is "lat <seq>"
 *         (written by pace.c): "<seq> <arrival_us>", microseconds since
 *         the epoch when the PDU was decoded here
 *     -C  every 500 ms, rewrite COUNTFILE with "submits receipts_acked"
 *
 * Any bind (transmitter, receiver, transceiver) with any system_id and
 * password is accepted.  Message ids are decimal (so that hex/decimal
 * conventions of clients such as Kannel's msg-id-type agree).  A receipt for
 * a submit on a transmitter session goes to a bound receiver or transceiver
 * session when there is one.  SIGTERM/SIGINT: write the files, print the
 * counters to stderr, exit 0.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "netbuf.h"
#include "smpp/pdu.h"

#define MAX_CONN 256

struct conn {
	int fd;
	bool used, bound, can_rx, closing;
	uint32_t seq;
	struct nbuf in, out;
	bool want_out;
};

static struct conn conns[MAX_CONN];
static int epfd;
static volatile sig_atomic_t stop;
static bool receipts = true;
static uint64_t n_submits, n_receipts, n_receipt_acks, next_id = 1000000;
static int64_t *lat;
static size_t lat_n, lat_cap;
static struct smpp_pdu in_pdu, resp_pdu, dlr_pdu;

static void on_signal(int sig)
{
	stop = sig;
}

static void set_events(struct conn *c)
{
	bool want = c->out.len > 0;
	if (want == c->want_out)
		return;
	c->want_out = want;
	struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u32 = (uint32_t)(c - conns)};
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(struct conn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in.d);
	free(c->out.d);
	memset(c, 0, sizeof *c);
}

static void emit(struct conn *c, const struct smpp_pdu *p)
{
	size_t n;
	struct errbuf err = {0};
	nbuf_reserve(&c->out, 1024);
	if (smpp_pdu_encode(p, nbuf_tail(&c->out), nbuf_room(&c->out), &n, &err) != 0) {
		fprintf(stderr, "sink: encode 0x%08x failed\n", p->command_id);
		return;
	}
	c->out.len += n;
}

static void answer_header(struct conn *c, uint32_t cmd, uint32_t seq, uint32_t status)
{
	nbuf_reserve(&c->out, 16);
	uint8_t *p = nbuf_tail(&c->out);
	uint32_t v[4] = {htonl(16), htonl(cmd), htonl(status), htonl(seq)};
	memcpy(p, v, 16);
	c->out.len += 16;
}

static struct conn *receiver_for(struct conn *c)
{
	if (c->can_rx)
		return c;
	for (int i = 0; i < MAX_CONN; i++)
		if (conns[i].used && conns[i].bound && conns[i].can_rx && !conns[i].closing)
			return &conns[i];
	return NULL;
}

static void on_submit(struct conn *c, const struct smpp_pdu *p)
{
	n_submits++;
	uint64_t id = next_id++;
	resp_pdu.sequence_number = p->sequence_number;
	snprintf(resp_pdu.message_id, sizeof resp_pdu.message_id, "%" PRIu64, id);
	emit(c, &resp_pdu);
	if (lat && p->sm_length > 4 && memcmp(p->short_message, "lat ", 4) == 0) {
		char tmp[32];
		size_t k = (size_t)p->sm_length - 4 < sizeof tmp - 1 ? (size_t)p->sm_length - 4 : sizeof tmp - 1;
		memcpy(tmp, p->short_message + 4, k);
		tmp[k] = 0;
		if (lat_n + 2 > lat_cap) {
			lat_cap = lat_cap ? lat_cap * 2 : 65536;
			lat = realloc(lat, lat_cap * sizeof *lat);
		}
		lat[lat_n++] = strtoll(tmp, NULL, 10);
		lat[lat_n++] = (int64_t)now_us();
	}
	if (!receipts || !(p->registered_delivery & 1))
		return;
	struct conn *r = receiver_for(c);
	if (!r)
		return;
	dlr_pdu.sequence_number = ++r->seq;
	dlr_pdu.source_addr_ton = p->dest_addr_ton;
	dlr_pdu.source_addr_npi = p->dest_addr_npi;
	memcpy(dlr_pdu.source_addr, p->destination_addr, sizeof dlr_pdu.source_addr);
	dlr_pdu.dest_addr_ton = p->source_addr_ton;
	dlr_pdu.dest_addr_npi = p->source_addr_npi;
	memcpy(dlr_pdu.destination_addr, p->source_addr, sizeof dlr_pdu.destination_addr);
	int n = snprintf((char *)dlr_pdu.short_message, sizeof dlr_pdu.short_message,
	                 "id:%" PRIu64
	                 " sub:001 dlvrd:001 submit date:2611270000 done date:2611270000 stat:DELIVRD err:000 "
	                 "text:",
	                 id);
	dlr_pdu.sm_length = (uint8_t)n;
	static char idbuf[24];
	int idn = snprintf(idbuf, sizeof idbuf, "%" PRIu64, id);
	static const uint8_t state_delivered = 2;
	dlr_pdu.tlv_count = 0;
	if (smpp_pdu_add_tlv(&dlr_pdu, SMPP_TLV_RECEIPTED_MESSAGE_ID, idbuf, (uint16_t)(idn + 1)) ||
	    smpp_pdu_add_tlv(&dlr_pdu, SMPP_TLV_MESSAGE_STATE, &state_delivered, 1))
		return;
	emit(r, &dlr_pdu);
	n_receipts++;
	if (r != c)
		set_events(r);
}

static void on_pdu(struct conn *c, const uint8_t *buf, size_t len)
{
	uint32_t cmd = get_be32(buf + 4), seq = get_be32(buf + 12);
	/* Responses need no decoding: count them and move on. */
	if (cmd == SMPP_DELIVER_SM_RESP) {
		n_receipt_acks++;
		return;
	}
	if (cmd & SMPP_RESP_BIT)
		return;
	struct smpp_pdu_error err;
	if (smpp_pdu_decode(buf, len, &in_pdu, &err) != 0) {
		if (err.generic_nack)
			answer_header(c, SMPP_GENERIC_NACK, seq, err.status);
		else
			answer_header(c, cmd | SMPP_RESP_BIT, seq, err.status);
		return;
	}
	switch (cmd) {
	case SMPP_SUBMIT_SM:
		on_submit(c, &in_pdu);
		break;
	case SMPP_BIND_TRANSMITTER:
	case SMPP_BIND_RECEIVER:
	case SMPP_BIND_TRANSCEIVER: {
		struct smpp_pdu r;
		memset(&r, 0, sizeof r);
		r.command_id = cmd | SMPP_RESP_BIT;
		r.sequence_number = seq;
		strcpy(r.system_id, "benchsink");
		emit(c, &r);
		c->bound = true;
		c->can_rx = cmd != SMPP_BIND_TRANSMITTER;
		break;
	}
	case SMPP_ENQUIRE_LINK:
		answer_header(c, SMPP_ENQUIRE_LINK_RESP, seq, 0);
		break;
	case SMPP_UNBIND:
		answer_header(c, SMPP_UNBIND_RESP, seq, 0);
		c->closing = true;
		break;
	default:
		answer_header(c, cmd | SMPP_RESP_BIT, seq, 0x00000003 /* ESME_RINVCMDID */);
	}
}

static void on_readable(struct conn *c)
{
	for (;;) {
		ssize_t r = nbuf_read(&c->in, c->fd);
		if (r == 0 || r == -2) {
			conn_close(c);
			return;
		}
		while (c->in.len >= 16) {
			size_t pl;
			struct smpp_pdu_error err;
			int f = smpp_pdu_frame(c->in.d + c->in.off, c->in.len, &pl, &err);
			if (f < 0) {
				conn_close(c);
				return;
			}
			if (f == 0)
				break;
			on_pdu(c, c->in.d + c->in.off, pl);
			nbuf_consume(&c->in, pl);
		}
		if (r == -1)
			break;
	}
	if (nbuf_flush(&c->out, c->fd) < 0) {
		conn_close(c);
		return;
	}
	if (c->closing && !c->out.len) {
		conn_close(c);
		return;
	}
	set_events(c);
}

static void write_files(const char *latfile, const char *countfile)
{
	if (countfile) {
		char tmp[4096];
		snprintf(tmp, sizeof tmp, "%s.tmp", countfile);
		FILE *f = fopen(tmp, "w");
		if (f) {
			fprintf(f, "%" PRIu64 " %" PRIu64 "\n", n_submits, n_receipt_acks);
			fclose(f);
			rename(tmp, countfile);
		}
	}
	if (latfile && lat) {
		FILE *f = fopen(latfile, "w");
		if (f) {
			for (size_t i = 0; i + 1 < lat_n; i += 2)
				fprintf(f, "%" PRId64 " %" PRId64 "\n", lat[i], lat[i + 1]);
			fclose(f);
		}
	}
}

int main(int argc, char **argv)
{
	int port = 0, opt;
	const char *portfile = NULL, *latfile = NULL, *countfile = NULL;
	while ((opt = getopt(argc, argv, "p:P:nL:C:")) != -1) {
		switch (opt) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'P':
			portfile = optarg;
			break;
		case 'n':
			receipts = false;
			break;
		case 'L':
			latfile = optarg;
			break;
		case 'C':
			countfile = optarg;
			break;
		default:
			fprintf(stderr, "usage: sink [-p PORT] [-P PORTFILE] [-n] [-L LATFILE] [-C COUNTFILE]\n");
			return 2;
		}
	}
	if (latfile) {
		lat_cap = 65536;
		lat = malloc(lat_cap * sizeof *lat);
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	resp_pdu.command_id = SMPP_SUBMIT_SM_RESP;
	dlr_pdu.command_id = SMPP_DELIVER_SM;
	dlr_pdu.esm_class = 0x04;

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 64)) {
		perror("sink: bind/listen");
		return 1;
	}
	socklen_t al = sizeof a;
	getsockname(ls, (struct sockaddr *)&a, &al);
	if (portfile) {
		char tmp[4096];
		snprintf(tmp, sizeof tmp, "%s.tmp", portfile);
		FILE *f = fopen(tmp, "w");
		fprintf(f, "%d\n", ntohs(a.sin_port));
		fclose(f);
		rename(tmp, portfile);
	}
	epfd = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
	epoll_ctl(epfd, EPOLL_CTL_ADD, ls, &ev);
	uint64_t last_count = 0;
	while (!stop) {
		struct epoll_event evs[64];
		int n = epoll_wait(epfd, evs, 64, 200);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == UINT32_MAX) {
				int fd;
				while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					int k;
					for (k = 0; k < MAX_CONN && conns[k].used; k++)
						;
					if (k == MAX_CONN) {
						close(fd);
						continue;
					}
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					conns[k].used = true;
					conns[k].fd = fd;
					struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)k};
					epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
				}
				continue;
			}
			struct conn *c = &conns[evs[i].data.u32];
			if (!c->used)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				on_readable(c);
			} else if (evs[i].events & EPOLLOUT) {
				if (nbuf_flush(&c->out, c->fd) < 0 || (c->closing && !c->out.len))
					conn_close(c);
				else
					set_events(c);
			}
		}
		/* receipts queued on other sessions */
		for (int k = 0; k < MAX_CONN; k++)
			if (conns[k].used && conns[k].out.len && !conns[k].want_out) {
				if (nbuf_flush(&conns[k].out, conns[k].fd) < 0)
					conn_close(&conns[k]);
				else
					set_events(&conns[k]);
			}
		if (countfile && mono_us() - last_count > 500000) {
			last_count = mono_us();
			write_files(NULL, countfile);
		}
	}
	write_files(latfile, countfile);
	fprintf(stderr, "sink: submits %" PRIu64 " receipts %" PRIu64 " receipt_acks %" PRIu64 "\n", n_submits,
	        n_receipts, n_receipt_acks);
	return 0;
}
