/*
 * smpp client internals, shared by its files: client.c (the bind and
 * unbind over the session layer of src/net/clibase.c, reading PDUs,
 * stop/open/close), client_submit.c
 * (messages out as submit_sm, their answers, throttle pauses) and
 * client_inbound.c (deliver_sm / data_sm in: texts, long texts, receipts
 * and their ids, answered after commit).
 */
#ifndef SMSPOOL_SMPP_CLIENT_H
#define SMSPOOL_SMPP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "driver.h"
#include "hash.h"
#include "msg.h"
#include "net/clibase.h"
#include "net/inacks.h"
#include "net/link.h"
#include "net/submits.h"
#include "smpp/conf.h"
#include "smpp/pdu.h"

enum {
	ID_MEMORY = 65536, /* recent remote ids, for receipt id matching */
	BAD_PDU_LIMIT = 5, /* malformed PDUs before the session is dropped */
	REASM_MAX_SETS = 1024,
};

enum smpp_role { ROLE_TRX, ROLE_TX, ROLE_RX };

struct client;

/* One bind: the connection's only session (transceiver), or one of its
 * pair (transmitter, receiver), a session of src/net/clibase.c. */
struct session {
	struct client *cl;
	enum smpp_role role;
	struct link *link; /* NULL while disconnected (set and cleared by clibase) */
	int bad_pdus;
};

/* Requests of the session itself in the link's table (submit_sm are
 * struct submits_part). */
extern const char smpp_client_req_bind, smpp_client_req_unbind;
#define REQ_BIND ((void *)&smpp_client_req_bind)
#define REQ_UNBIND ((void *)&smpp_client_req_unbind)

enum id_map { ID_SAME, ID_DEC2HEX, ID_HEX2DEC };

struct client {
	struct clibase base; /* first: the connection's state, dialer, tick, reconnect, stop */
	struct conn *c;
	const struct smpp_conf *conf;
	struct session sess[2];
	int nsess;
	struct event *resume_ev;

	struct submits subs;  /* submit_sm outstanding, over both sessions */
	struct msg_list held; /* waiting for a throttle pause to end */
	uint64_t pause_until_ms;
	unsigned concat_ref;

	struct inacks inacks; /* deliveries waiting for the database */

	struct hash *ids; /* the ids in id_ring (src/hash.c; values are the ring's strings) */
	char **id_ring;   /* the last ID_MEMORY ids, owned, the oldest at id_pos */
	size_t id_pos;
	enum id_map id_map;
	bool id_lower;
	size_t id_width;

	uint8_t obuf[SMPP_PDU_MAX_LEN];
	struct smpp_pdu in, out;
};

/* client.c */
extern const struct driver_ops smpp_driver;
/* The client of connection c, attached to it (conn_driver_data), not
 * connecting yet: open() then connects.  NULL when its TLS context cannot
 * be made. */
struct client *smpp_client_new(struct conn *c);
struct bufferevent;
/* Binds cl as a transceiver on an in-memory link (link_pair), up at once:
 * for tests and fuzz targets.  What it writes arrives in *peer, which the
 * caller frees after close().  Returns 0 or -1. */
int smpp_client_bind_memory(struct client *cl, struct bufferevent **peer);
const char *smpp_client_cname(const struct client *cl);
int smpp_client_send(struct session *s, const struct smpp_pdu *p);
/* Sends a response (or generic_nack) to seq; header-only unless OK. */
void smpp_client_respond(struct session *s, uint32_t command_id, uint32_t seq, uint32_t status);
/* Handles one decoded PDU of s: the seam below the framing and the codec
 * (tests/fuzz/fuzz_smpp_session.c drives it with a fake core). */
void smpp_client_dispatch(struct session *s, const struct smpp_pdu *p);

/* client_submit.c */
void smpp_client_submit(struct conn *c, struct msg *m);
void smpp_client_submit_classify(uint32_t status, struct submits_class *k);
/* Whether a request in the link's table is a submit_sm (struct submits_part). */
bool smpp_client_submit_is_part(const void *data);
/* Records one part's answer and completes the message after its last one.
 * status 0 with id: accepted; local: a local failure text. */
void smpp_client_submit_answer(struct client *cl, struct submits_part *p, uint32_t status, const char *id,
                               const char *local);
/* A submit_sm_resp, or a generic_nack to a submit_sm. */
void smpp_client_submit_resp(struct session *s, const struct smpp_pdu *p);
/* The throttle pause's timer: sends what it held. */
void smpp_client_submit_resume(evutil_socket_t fd, short what, void *arg);

/* client_inbound.c */
void smpp_client_inbound_deliver(struct session *s, const struct smpp_pdu *p);
/* The driver's side of its inacks (src/net/inacks.c). */
extern const struct inacks_ops smpp_client_inbound_ops;
/* An id a submit_sm_resp gave, for the receipts that write it otherwise. */
void smpp_client_inbound_remember_id(struct client *cl, const char *id);

#endif
