/*
 * ucp server internals, shared by its files: server.c (sessions, the
 * state machine, transport, stop/open/close), server_submit.c (op 60 and
 * the submits 51/01/30, answered after commit) and server_deliver.c
 * (account events out as op 52/53).
 */
#ifndef SMSPOOL_UCP_SERVER_H
#define SMSPOOL_UCP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "driver.h"
#include "net/accounts.h"
#include "net/join.h"
#include "net/link.h"
#include "net/srvbase.h"
#include "ucp/conf.h"
#include "ucp/frame.h"
#include "ucp/sm.h"

struct server;

struct sess {
	struct srvbase_sess hd; /* first: id, peer, state, link, login, account, the session list */
	struct server *sv;
	int bad_frames;
	/* A login by address: the first operation, replayed once the session
	 * is authenticated (reading is paused meanwhile). */
	uint8_t *held;
	size_t held_len;
	bool by_addr;
	struct net_join *join; /* parts of multipart submits held, or NULL */
};

/* A core call waiting for its answer, and what to answer. */
struct pend {
	struct sess *s;
	unsigned trn, ot;
	char adc[40];
	struct net_join_set *set; /* a joined submit: answer each of its parts */
};

struct server {
	struct srvbase base; /* first: listener, sessions, tick, pending core calls, stop */
	struct conn *c;
	const struct ucp_server_conf *conf;
	struct accounts accts;
	uint8_t obuf[UCP_FRAME_MAX];
	struct ucp_frame in;
	struct ucp_sm sm;
	struct ucp_sm_in sm_in;
};

/* server.c */
extern const struct driver_ops ucp_server_driver;
const char *server_cname(const struct server *sv);
/* The server of connection c, attached to it (conn_driver_data), not
 * listening: a test gives it sessions on in-memory links and frees it with
 * the driver's close(). */
struct server *server_new(struct conn *c);
struct bufferevent;
/* A new session of sv on an in-memory link (link_pair), OPEN: what it
 * writes arrives in *peer, which the caller frees after close(). */
struct sess *server_sess_memory(struct server *sv, struct bufferevent **peer);
int server_send(struct sess *s, const struct ucp_frame *f);
/* ACK (ec 0) or NACK of operation ot with TRN trn; sm may be NULL. */
void server_answer(struct sess *s, unsigned trn, unsigned ot, unsigned ec, const char *sm);
/* Frees a closed session once nothing refers to it. */
void server_sess_reap(struct sess *s);
void server_stop_progress(struct server *sv);
/* Handles one frame of s (from the link, or held). */
void server_frame(struct sess *s, const uint8_t *buf, size_t len);
/* Replays the operation held during a login by address. */
void server_replay_held(struct sess *s);
uint64_t server_pend_add(struct server *sv, struct sess *s, unsigned trn, unsigned ot, const char *adc,
                         struct net_join_set *set);
struct pend *server_pend_take(struct server *sv, uint64_t token);

/* server_submit.c */
void server_submit_login(struct sess *s, const struct ucp_frame *f);
void server_submit_op(struct sess *s, const struct ucp_frame *f);
/* An operation before any op 60: a login by the client's address alone,
 * the frame (buf) answered once the core has decided. */
void server_submit_by_address(struct sess *s, const struct ucp_frame *f, const uint8_t *buf, size_t len);
void server_submit_authenticated(struct conn *c, uint64_t token, const struct account_info *account,
                                 const char *reason);
void server_submit_submitted(struct conn *c, uint64_t token, const struct submit_result *res);
/* Hands on what s's holder finished: complete sets to the core, the
 * others NACKed (the tick calls it for sets past reassembly_timeout_s). */
void server_submit_join_poll(struct sess *s);
/* The session is closing: its held parts are answered (if it can still
 * write) and dropped. */
void server_submit_join_end(struct sess *s);

/* server_deliver.c */
extern const struct accounts_ops server_deliver_ops;
/* An answer (op 52/53 result) or a timeout of a delivery frame. */
void server_deliver_answer(struct server *sv, struct accounts_part *p, bool ok);
/* The link's drain of a closing session: its frames fail. */
void server_deliver_drained(void *arg, uint32_t seq, void *data);
/* A TRN held while the other parts of a long text are built. */
bool server_deliver_reserved(const void *data);

#endif
