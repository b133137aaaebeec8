/*
 * fbus: a Nokia DCT3 phone over an FBUS v2 serial cable (`type fbus`).
 * Internal to drivers/fbus: the session (fbus.c), its link layer (link.c:
 * frames, acknowledgements, retransmission) and its outbound parts
 * (out.c).  frame.c and nokia.c are the pure codecs underneath.
 */
#ifndef SMSPOOL_FBUS_FBUS_H
#define SMSPOOL_FBUS_FBUS_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "codec/tpdu.h"
#include "driver.h"
#include "fbus/frame.h"
#include "fbus/nokia.h"
#include "serial.h"

struct fbus_conf {
	struct serial_conf serial;
	char *smsc;
	long long sweep_s;
	long long ack_timeout_ms, retries;
	long long reply_timeout_ms, send_timeout_ms;
	long long reconnect_min_ms, reconnect_max_ms;
};

/* ---- link.c: one FBUS message at a time, each frame acknowledged ---- */

struct fbus_link_cbs {
	/* A whole message from the phone (borrowed for the call). */
	void (*message)(void *arg, uint8_t type, const uint8_t *msg, size_t len);
	/* Every frame of the message given to fbus_link_send was acknowledged. */
	void (*sent)(void *arg);
	/* A frame stayed unacknowledged after every retry: the phone is gone. */
	void (*lost)(void *arg, const char *why);
};

struct fbus_link {
	struct event_base *base;
	struct serial *port;
	const struct fbus_link_cbs *cbs;
	void *arg;
	long long ack_timeout_ms, retries;
	struct fbus_reader rd;
	struct fbus_assembler as;
	uint8_t seq;                   /* our next sequence number, 0..7 */
	int last_rx_type, last_rx_seq; /* the last data frame taken, to drop its retransmissions */
	/* The message being sent. */
	struct nokia_req out;
	bool busy;
	size_t frame, frames;
	uint8_t frame_seq;
	long long tries;
	struct event *ev_ack;
};

void fbus_link_init(struct fbus_link *l, struct event_base *base, struct serial *port, const struct fbus_link_cbs *cbs,
                    void *arg, long long ack_timeout_ms, long long retries);
void fbus_link_free(struct fbus_link *l);
/* Forgets everything in flight (the line was reopened). */
void fbus_link_reset(struct fbus_link *l);
/* Writes the 0x55 synchronisation burst. */
void fbus_link_sync(struct fbus_link *l);
/* Sends r (copied) frame by frame.  Only one message at a time. */
void fbus_link_send(struct fbus_link *l, const struct nokia_req *r);
/* Octets read from the line. */
void fbus_link_input(struct fbus_link *l, const uint8_t *data, size_t len);

/* ---- out.c: a lent message and its SUBMIT parts ---- */

struct fbus_out {
	struct msg *m;
	int n_parts, next_part;
	struct tpdu *parts;
	char **ids;
	bool part_in_flight; /* a SUBMIT was written and not answered */
	struct fbus_out *next;
};

/* Builds the parts of m.  Returns NULL with err set when m cannot be sent
 * (bad recipient, unencodable text). */
struct fbus_out *fbus_out_new(struct msg *m, const char *smsc, struct errbuf *err);
void fbus_out_free(struct fbus_out *o);
/* The remote id of a part: "MR/last 8 digits of the recipient", as the
 * at driver writes it (an MR alone wraps after 256 messages). */
char *fbus_out_id(int mr, const char *recipient);

#endif
