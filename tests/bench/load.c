/*
 * bench load: an SMPP ESME that blasts submit_sm over one or more binds,
 * windowed, with smspool's own codec (drivers/smpp/pdu.h).
 *
 *   load -p PORT [-H 127.0.0.1] [-u SYSTEM_ID] [-w PASSWORD] [-b tx|trx]
 *        [-s SESSIONS] [-n TOTAL] [-W WINDOW] [-r] [-t TIMEOUT_S]
 *     -s  binds (ESMEs), each its own TCP session; TOTAL is split among them
 *     -W  submit_sm outstanding per session
 *     -r  ask for receipts (registered_delivery 1) and wait for one per
 *         message (needs -b trx); deliver_sm are answered at once
 *
 * Prints one line of key=value pairs: submitted, ok, errors, receipts,
 * resp_s (first submit to last submit_sm_resp), resp_per_s, receipt_s,
 * receipt_per_s.  Exit status 0 when every submit got ESME_ROK (and every
 * receipt arrived with -r), else 1.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "netbuf.h"
#include "smpp/pdu.h"

struct sess {
	int fd;
	bool bound, unbound, dead;
	uint32_t seq;
	uint64_t target, sent, answered, receipts;
	struct nbuf in, out;
};

static struct smpp_pdu sub_pdu, in_pdu, dresp_pdu;
static uint64_t n_ok, n_err, n_receipts, t_last_resp, t_last_receipt;
static bool want_receipts;

static void emit(struct sess *s, const struct smpp_pdu *p)
{
	size_t n;
	nbuf_reserve(&s->out, 1024);
	if (smpp_pdu_encode(p, nbuf_tail(&s->out), nbuf_room(&s->out), &n, NULL) != 0) {
		fprintf(stderr, "load: encode failed\n");
		exit(1);
	}
	s->out.len += n;
}

static void fill(struct sess *s, unsigned window, uint64_t base)
{
	while (s->bound && s->sent < s->target && s->sent - s->answered < window) {
		uint64_t i = base + s->sent;
		sub_pdu.sequence_number = ++s->seq;
		snprintf(sub_pdu.destination_addr, sizeof sub_pdu.destination_addr, "1555%07" PRIu64, i % 10000000);
		sub_pdu.sm_length = (uint8_t)snprintf((char *)sub_pdu.short_message, sizeof sub_pdu.short_message,
		                                      "bench load message %" PRIu64, i);
		emit(s, &sub_pdu);
		s->sent++;
	}
}

static void on_pdu(struct sess *s, const uint8_t *buf, size_t len)
{
	uint32_t cmd = get_be32(buf + 4), status = get_be32(buf + 8), seq = get_be32(buf + 12);
	switch (cmd) {
	case SMPP_SUBMIT_SM_RESP:
		s->answered++;
		if (status == 0)
			n_ok++;
		else if (n_err++ < 5)
			fprintf(stderr, "load: submit_sm_resp status 0x%08x\n", status);
		t_last_resp = mono_us();
		break;
	case SMPP_BIND_TRANSMITTER_RESP:
	case SMPP_BIND_TRANSCEIVER_RESP:
		if (status) {
			fprintf(stderr, "load: bind refused, status 0x%08x\n", status);
			exit(1);
		}
		s->bound = true;
		break;
	case SMPP_DELIVER_SM: {
		struct smpp_pdu_error err;
		if (smpp_pdu_decode(buf, len, &in_pdu, &err) == 0 && (in_pdu.esm_class & 0x3C)) {
			s->receipts++;
			n_receipts++;
			t_last_receipt = mono_us();
		}
		dresp_pdu.sequence_number = seq;
		emit(s, &dresp_pdu);
		break;
	}
	case SMPP_ENQUIRE_LINK: {
		uint32_t v[4] = {htonl(16), htonl(SMPP_ENQUIRE_LINK_RESP), 0, htonl(seq)};
		nbuf_reserve(&s->out, 16);
		memcpy(nbuf_tail(&s->out), v, 16);
		s->out.len += 16;
		break;
	}
	case SMPP_UNBIND_RESP:
		s->unbound = true;
		break;
	default:
		break;
	}
}

static bool sess_done(const struct sess *s)
{
	return s->answered >= s->target && (!want_receipts || s->receipts >= s->target);
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *sysid = "bench", *pw = "bench", *mode = "trx";
	int port = 0, opt;
	unsigned sessions = 1, window = 100, timeout_s = 600;
	uint64_t total = 10000;
	while ((opt = getopt(argc, argv, "H:p:u:w:b:s:n:W:rt:")) != -1) {
		switch (opt) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'u':
			sysid = optarg;
			break;
		case 'w':
			pw = optarg;
			break;
		case 'b':
			mode = optarg;
			break;
		case 's':
			sessions = (unsigned)atoi(optarg);
			break;
		case 'n':
			total = strtoull(optarg, NULL, 10);
			break;
		case 'W':
			window = (unsigned)atoi(optarg);
			break;
		case 'r':
			want_receipts = true;
			break;
		case 't':
			timeout_s = (unsigned)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: load -p PORT [-H HOST] [-u ID] [-w PW] [-b tx|trx] [-s N] [-n TOTAL] "
			                "[-W WINDOW] [-r] [-t S]\n");
			return 2;
		}
	}
	if (!port || !sessions || !window) {
		fprintf(stderr, "load: -p PORT is required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	bool trx = strcmp(mode, "trx") == 0;

	sub_pdu.command_id = SMPP_SUBMIT_SM;
	sub_pdu.source_addr_ton = 5;
	strcpy(sub_pdu.source_addr, "bench");
	sub_pdu.dest_addr_ton = 1;
	sub_pdu.dest_addr_npi = 1;
	sub_pdu.registered_delivery = want_receipts ? 1 : 0;
	dresp_pdu.command_id = SMPP_DELIVER_SM_RESP;

	struct sess *ss = calloc(sessions, sizeof *ss);
	int epfd = epoll_create1(0);
	for (unsigned i = 0; i < sessions; i++) {
		struct sess *s = &ss[i];
		s->target = total / sessions + (i < total % sessions ? 1 : 0);
		s->fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		inet_pton(AF_INET, host, &a.sin_addr);
		if (connect(s->fd, (struct sockaddr *)&a, sizeof a)) {
			perror("load: connect");
			return 1;
		}
		int one = 1;
		setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		fcntl(s->fd, F_SETFL, O_NONBLOCK);
		struct smpp_pdu b;
		memset(&b, 0, sizeof b);
		b.command_id = trx ? SMPP_BIND_TRANSCEIVER : SMPP_BIND_TRANSMITTER;
		b.sequence_number = ++s->seq;
		snprintf(b.system_id, sizeof b.system_id, "%s", sysid);
		snprintf(b.password, sizeof b.password, "%s", pw);
		b.interface_version = 0x34;
		emit(s, &b);
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = i};
		epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev);
	}
	uint64_t t_start = 0, deadline = mono_us() + (uint64_t)timeout_s * 1000000u;
	uint64_t base = 0;
	for (;;) {
		bool all_bound = true, all_done = true;
		for (unsigned i = 0; i < sessions; i++) {
			all_bound &= ss[i].bound;
			all_done &= sess_done(&ss[i]) || ss[i].dead;
		}
		if (all_done && all_bound)
			break;
		if (mono_us() > deadline) {
			fprintf(stderr, "load: timeout\n");
			break;
		}
		if (all_bound && !t_start)
			t_start = mono_us();
		if (t_start) { /* all bound: start every session together */
			base = 0;
			for (unsigned i = 0; i < sessions; i++) {
				fill(&ss[i], window, base);
				base += ss[i].target;
			}
		}
		for (unsigned i = 0; i < sessions; i++)
			if (!ss[i].dead && nbuf_flush(&ss[i].out, ss[i].fd) < 0)
				ss[i].dead = true;
		struct epoll_event evs[16];
		int n = epoll_wait(epfd, evs, 16, 100);
		for (int k = 0; k < n; k++) {
			struct sess *s = &ss[evs[k].data.u32];
			if (s->dead)
				continue;
			for (;;) {
				ssize_t r = nbuf_read(&s->in, s->fd);
				if (r == 0 || r == -2) {
					fprintf(stderr, "load: session %u closed by peer\n", evs[k].data.u32);
					s->dead = true;
					epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
					break;
				}
				while (s->in.len >= 16) {
					size_t pl;
					struct smpp_pdu_error err;
					int f = smpp_pdu_frame(s->in.d + s->in.off, s->in.len, &pl, &err);
					if (f < 0) {
						fprintf(stderr, "load: bad framing\n");
						return 1;
					}
					if (f == 0)
						break;
					on_pdu(s, s->in.d + s->in.off, pl);
					nbuf_consume(&s->in, pl);
				}
				if (r == -1)
					break;
			}
			struct epoll_event ev = {.events = EPOLLIN | (s->out.len ? EPOLLOUT : 0),
			                         .data.u32 = evs[k].data.u32};
			epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev);
		}
	}
	uint64_t submitted = 0;
	for (unsigned i = 0; i < sessions; i++)
		submitted += ss[i].sent;
	/* polite unbind, up to 2 s */
	for (unsigned i = 0; i < sessions; i++) {
		struct sess *s = &ss[i];
		if (s->dead)
			continue;
		uint32_t v[4] = {htonl(16), htonl(SMPP_UNBIND), 0, htonl(++s->seq)};
		nbuf_reserve(&s->out, 16);
		memcpy(nbuf_tail(&s->out), v, 16);
		s->out.len += 16;
		nbuf_flush(&s->out, s->fd);
	}
	uint64_t unbind_deadline = mono_us() + 2000000;
	while (mono_us() < unbind_deadline) {
		bool all = true;
		for (unsigned i = 0; i < sessions; i++) {
			struct sess *s = &ss[i];
			if (s->dead || s->unbound)
				continue;
			all = false;
			struct pollfd p = {.fd = s->fd, .events = POLLIN};
			if (poll(&p, 1, 50) > 0) {
				ssize_t r = nbuf_read(&s->in, s->fd);
				if (r == 0 || r == -2) {
					s->dead = true;
					continue;
				}
				size_t pl;
				struct smpp_pdu_error err;
				while (s->in.len >= 16 &&
				       smpp_pdu_frame(s->in.d + s->in.off, s->in.len, &pl, &err) == 1) {
					if (get_be32(s->in.d + s->in.off + 4) == SMPP_UNBIND_RESP)
						s->unbound = true;
					nbuf_consume(&s->in, pl);
				}
			}
		}
		if (all)
			break;
	}
	double resp_s = t_start && t_last_resp > t_start ? (double)(t_last_resp - t_start) / 1e6 : 0;
	double rcpt_s = t_start && t_last_receipt > t_start ? (double)(t_last_receipt - t_start) / 1e6 : 0;
	printf("submitted=%" PRIu64 " ok=%" PRIu64 " errors=%" PRIu64 " receipts=%" PRIu64
	       " resp_s=%.3f resp_per_s=%.0f receipt_s=%.3f receipt_per_s=%.0f\n",
	       submitted, n_ok, n_err, n_receipts, resp_s, resp_s > 0 ? (double)n_ok / resp_s : 0, rcpt_s,
	       rcpt_s > 0 ? (double)n_receipts / rcpt_s : 0);
	return n_ok == total && (!want_receipts || n_receipts == total) ? 0 : 1;
}
