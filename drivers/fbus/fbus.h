/*
 * fbus: a Nokia DCT3 phone over an FBUS v2 serial cable (`type fbus`).
 * Internal to drivers/fbus: the session (fbus.c), its link layer (link.c:
 * frames, acknowledgements, retransmission) and its outbound parts
 * (out.c), receiving (rx.c).  frame.c and nokia.c are the pure codecs
 * underneath; src/msg_sms.c turns messages into TPDUs and back.
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
#include "fbus/nokia4.h"
#include "serial.h"
#include "sms_held.h"

struct fbus_conf {
	struct serial_conf serial;
	char *smsc;
	char *family; /* "auto" (from the model code), "dct3" or "dct4" */
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

/* ---- fbus.c: the session ---- */

enum fbus_state { FB_CLOSED, FB_SYNC, FB_IDENTIFY, FB_READY, FB_STOPPED };

enum fbus_op { OP_NONE, OP_MODEL, OP_SECURITY, OP_IMEI, OP_SMSC, OP_STATUS, OP_READ, OP_DELETE, OP_SEND, OP_FOLDER };

#define FBUS_LOCATIONS 256

/* A storage location: the SIM location on a DCT3 phone; on a DCT4 one the
 * memory, folder and 16-bit location (FBUS_LOC4). */
typedef uint32_t fbus_loc;
#define FBUS_LOC4(mem, folder, loc) ((fbus_loc)(mem) << 24 | (fbus_loc)(folder) << 16 | (fbus_loc)(loc))

struct fbus {
	struct conn *c;
	const struct fbus_conf *conf;
	struct event_base *base;
	enum fbus_state state;
	struct serial *port;
	struct fbus_link link;
	enum fbus_op op;
	fbus_loc op_loc;
	struct event *ev_reply, *ev_reconnect, *ev_sweep, *ev_sync;
	uint64_t reconnect_ms;

	struct fbus_out *out_head, **out_tail;

	/* Receiving. */
	bool sweep_due, sweeping;
	unsigned sim_size, used, seen;
	uint8_t next_loc;
	fbus_loc deletes[FBUS_LOCATIONS]; /* committed: delete these */
	int n_deletes;
	/* DCT4: the inbox being swept (an index of fbus_rx_folders4) and the
	 * locations its folder status listed. */
	unsigned folder;
	fbus_loc list[NOKIA_FOLDER_MAX];
	unsigned n_list, i_list;

	struct sms_held held; /* parts of long texts, and what the core has not acked */

	char model[16], version[16], imei[20], smsc[TPDU_ADDR_MAX];
	bool dct4;   /* a DCT4 phone (nokia4.h) */
	bool rx_off; /* a DCT4 phone that left the folder status unanswered: sends only, until reopened */
};

/* Starts the next request when the phone is idle. */
void fbus_pump(struct fbus *f);

/* ---- rx.c: texts and reports read from the SIM ---- */

/* The DCT4 folders a sweep reads: the SIM's inbox, then the phone's. */
#define FBUS_FOLDERS4 2
extern const uint8_t fbus_rx_folders4[FBUS_FOLDERS4][2];

void fbus_rx_init(struct fbus *f);
void fbus_rx_free(struct fbus *f);
/* Whether loc was handed to the core (not acked yet), or is waiting for
 * its delete: a sweep does not read it again. */
bool fbus_rx_held(const struct fbus *f, fbus_loc loc);
/* The SMS read at location loc (an SMS-SUBMIT kept in the phone is left). */
void fbus_rx_sms(struct fbus *f, fbus_loc loc, const struct tpdu *t);
void fbus_rx_acked(struct conn *c, uint64_t token, bool committed);
/* Hands long texts whose missing parts are overdue to the core. */
void fbus_rx_poll(struct fbus *f);

#endif
