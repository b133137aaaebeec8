/*
 * smpp server internals, shared by its files: server.c (sessions, the state
 * machine, transport, reading PDUs, stop/open/close over net/srvbase.c),
 * server_bind.c (binds, answered once the core has authenticated),
 * server_submit.c (submit_sm / data_sm, concatenated parts joined, answered
 * after commit) and server_deliver.c (account events out as deliver_sm).
 */
#ifndef SMSPOOL_SMPP_SERVER_H
#define SMSPOOL_SMPP_SERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "driver.h"
#include "net/accounts.h"
#include "net/link.h"
#include "net/srvbase.h"
#include "net/tokens.h"
#include "smpp/join.h"
#include "smpp/pdu.h"
#include "smpp/server_conf.h"

enum {
	SERVER_BAD_PDU_LIMIT = 5,       /* malformed PDUs before the session is closed */
	SERVER_STOP_WAIT_MAX_MS = 5000, /* for unbind_resp on stop */
	OUT_HIGH = 256 * 1024,          /* output bytes above which a session is congested */
	OUT_LOW = 64 * 1024,            /* ... and below which it is not any more */
	OUT_MAX = 4 * 1024 * 1024,      /* output refused beyond this */
	REFUSE_LOG_INTERVAL_MS = 5000   /* rate limit of "too many sessions" */
};

enum sess_state { SS_OPEN, SS_BINDING, SS_BOUND, SS_UNBINDING, SS_CLOSED };

enum sess_role { SESS_ROLE_NONE, SESS_ROLE_TX, SESS_ROLE_RX, SESS_ROLE_TRX };

struct server;
struct sess;

/* hd.acct is set while BOUND or UNBINDING (hd.revoked: unbinding because
 * the account changed); hd.state is SRVBASE_CLOSED
 * once state is (srvbase reaps by it), hd.login is unused (system_id). */
struct sess {
	struct srvbase_sess hd; /* first: id, peer, ip, link, account, the session list */
	struct server *sv;
	enum sess_state state;
	enum sess_role role;
	bool tls;
	char system_id[16];
	uint8_t version; /* what we speak with it: min(its bind, ours) */
	uint32_t seq;
	uint32_t bind_seq, bind_cmd;
	uint64_t state_ms;
	int bad_pdus;
	bool unbind_done;
	const char *close_reason; /* set: close once written and answered */
	struct smpp_join *join;   /* parts of concatenated submits held, or NULL */
};

/* A core call waiting for its answer. */
struct pend {
	struct sess *s;
	uint32_t seq, cmd;         /* of the PDU to answer */
	struct smpp_join_set *set; /* a joined submit: answer each of its parts */
};

/* The unbind we sent, in the link's request table (the others are the
 * deliver_sm of account events, struct accounts_part, and keepalives). */
extern const char smpp_server_req_unbind;
#define SERVER_REQ_UNBIND ((void *)&smpp_server_req_unbind)

struct server {
	struct srvbase base; /* first: listeners, sessions, tick, pending core calls, stop */
	struct conn *c;
	const struct smpp_server_conf *conf;
	uint8_t version;
	int nopen; /* sessions not CLOSED */
	struct accounts accts;
	unsigned concat_ref;
	uint64_t refused_log_ms, bind_refused_log_ms;
	unsigned bind_refused_quiet;
	int refused;

	uint8_t obuf[SMPP_PDU_MAX_LEN];
	struct smpp_pdu in, out;
};

/* server.c */
extern const struct driver_ops smpp_server_driver;
const char *smpp_server_cname(const struct server *sv);
uint64_t smpp_server_pend_add(struct server *sv, struct sess *s, uint32_t seq, uint32_t cmd, struct smpp_join_set *set);
/* Unlinks the pend of token; the caller frees it. */
struct pend *smpp_server_pend_take(struct server *sv, uint64_t token);
int smpp_server_send(struct sess *s, const struct smpp_pdu *p);
/* Sends a response (or generic_nack) to seq; header-only unless OK. */
void smpp_server_respond(struct sess *s, uint32_t command_id, uint32_t seq, uint32_t status);
/* Closes a session marked close_reason once its output is written and its
 * core calls are answered. */
void smpp_server_close_if_done(struct sess *s);
/* Reads nothing more; closes once the core has answered every call. */
void smpp_server_close_later(struct sess *s, const char *reason);
/* The one place where a session changes state. */
void smpp_server_sess_set(struct sess *s, enum sess_state to, const char *why);
void smpp_server_stop_progress(struct server *sv);
/* Handles one decoded PDU of s: the seam below the framing and the codec
 * (tests/fuzz/fuzz_smpp_session.c drives it with a fake core). */
void smpp_server_dispatch(struct sess *s, const struct smpp_pdu *p);
/* The server of connection c, attached to it (conn_driver_data), not
 * listening yet: open() then listens; a test or fuzz target gives it
 * sessions on in-memory links (link_pair) and frees it with close(). */
struct server *smpp_server_new(struct conn *c);
/* A new session of sv on link l (accepted, or a test's), OPEN. */
struct sess *smpp_server_sess_new(struct server *sv, struct link *l);
struct bufferevent;
/* A new session of sv on an in-memory link (link_pair): what it writes
 * arrives in *peer, which the caller frees after close(). */
struct sess *smpp_server_sess_memory(struct server *sv, struct bufferevent **peer);

/* server_bind.c */
void smpp_server_bind_pdu(struct sess *s, const struct smpp_pdu *p);
void smpp_server_bind_authenticated(struct conn *c, uint64_t token, const struct account_info *account,
                                    const char *reason);

/* server_submit.c */
void smpp_server_submit_pdu(struct sess *s, const struct smpp_pdu *p);
/* Hands on what the session's holder finished: complete sets to the core,
 * the others answered ESME_RSUBMITFAIL. */
void smpp_server_submit_poll(struct sess *s);
void smpp_server_submit_submitted(struct conn *c, uint64_t token, const struct submit_result *res);

/* server_deliver.c */
extern const struct accounts_ops smpp_server_deliver_ops;
void smpp_server_deliver(struct conn *c, struct account_event *ev);
bool smpp_server_deliver_is_part(const void *data);
/* The deliver_sm of session s with this sequence number, taken from the
 * table; NULL if none. */
struct accounts_part *smpp_server_deliver_take(struct sess *s, uint32_t seq);
/* One deliver_sm answered (ok) or given up. */
void smpp_server_deliver_answer(struct server *sv, struct accounts_part *p, bool ok);
/* A deliver_sm_resp, data_sm_resp or generic_nack to a deliver_sm. */
void smpp_server_deliver_resp(struct sess *s, const struct smpp_pdu *p);
/* The link's drain of a closing session: its deliver_sm fail. */
void smpp_server_deliver_drained(void *arg, uint32_t seq, void *data);
/* On close after a forced stop: the core gives up on them. */
void smpp_server_deliver_forget(void *arg, uint32_t seq, void *data);

#endif
