/*
 * smpp server: smspool as an SMSC for other applications, connection type
 * "smpp-server".
 *
 * Layers, kept apart:
 * - codec: pdu.c / receipt.c / status.c / wire.c (pure, shared with the
 *   client), server_conf.c (settings, SMPP times, status mappings);
 * - session: one `enum sess_state` per accepted TCP session, changed only
 *   through smpp_server_sess_set(), whose single switch does each state's entry work
 *   and logs every transition at debug:
 *     OPEN -> BINDING (core_authenticate asked) -> BOUND (tx, rx or trx)
 *          -> UNBINDING (we sent unbind, on stop) -> CLOSED;
 * - transport: the link layer (net/link.h): listeners with limits in all
 *   and per address, framing, the deliver_sm table with deadlines and the
 *   window, enquire_link as keepalive, bind and inactivity timeouts,
 *   back-pressure, TLS; nothing here blocks;
 * - around the sessions, net/srvbase.c as for ucp-server and link-server:
 *   the session list, accept, the two listeners (listen, tls_listen) with
 *   their retry, the tick, the core calls waiting for answers, and the
 *   stop, whose goodbye phase (server_stop_busy) unbinds the bound
 *   sessions.  The session state machine stays here (SMPP has BINDING and
 *   UNBINDING, and roles that take deliveries or not).
 *
 * Ownership and answers:
 * - Every core_authenticate / core_submit call is a `struct pend` keyed by
 *   its token; the session it came from lives on (CLOSED, without socket)
 *   until every pend of it is answered, so an answer never finds freed
 *   memory.  A client is answered only from authenticated() / submitted().
 * - An account event handed to deliver() is owned here until exactly one
 *   core_event_done(): true when every deliver_sm of it got ESME_ROK, false
 *   on an error, a timeout, a lost session, or when no session had room.
 * - An account is attached to the core while it has at least one bound
 *   receiver or transceiver session here, and detached when the last goes.
 * - Multipart submits (UDH concatenation IE 0x00/0x08, or the SAR TLVs)
 *   are joined (join.h): the parts are held per session until their set is
 *   complete, then ONE submission goes to the core, and every part's
 *   submit_sm is answered only after its commit, with the id
 *   "<outbox id>-<part>"; the message's outbox.client_parts N (its
 *   client_ref stays the client's own) makes its receipt go out N times,
 *   once per part id.  A set not complete within
 *   reassembly_timeout_s (or held when the session unbinds) is answered
 *   ESME_RSUBMITFAIL, part by part, with nothing stored: the client
 *   resends.  A set split across two sessions is not joined (each session
 *   holds its own parts, which then time out).  The client's window must
 *   take the parts of a set, as none is answered before the last arrives.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "codec/sms.h"
#include "codec/udh.h"
#include "driver.h"
#include "log.h"
#include "net/accounts.h"
#include "net/link.h"
#include "net/tokens.h"
#include "policy.h"
#include "smpp/conf.h"
#include "smpp/join.h"
#include "smpp/pdu.h"
#include "smpp/server.h"
#include "smpp/server_conf.h"
#include "smpp/status.h"
#include "smpp/wire.h"
#include "util.h"

static const char *const state_names[] = {"open", "binding", "bound", "unbinding", "closed"};

const char smpp_server_req_unbind = 0;

/* ---- small helpers ---- */

const char *smpp_server_cname(const struct server *sv)
{
	return conn_name(sv->c);
}

/* ---- pending core calls ---- */

uint64_t smpp_server_pend_add(struct server *sv, struct sess *s, uint32_t seq, uint32_t cmd, struct smpp_join_set *set)
{
	struct pend *p = xcalloc(1, sizeof *p);
	p->s = s;
	p->seq = seq;
	p->cmd = cmd;
	p->set = set;
	return srvbase_pend_add(&sv->base, &s->hd, p);
}

/* Frees a pend never answered (on close: its session still exists). */
static void pend_free(void *v)
{
	struct pend *p = v;
	if (p->set)
		smpp_join_set_free(p->s->join, p->set);
	free(p);
}

/* Unlinks the pend of token; the caller frees it. */
struct pend *smpp_server_pend_take(struct server *sv, uint64_t token)
{
	return srvbase_pend_take(&sv->base, token);
}

/* ---- transport ---- */

int smpp_server_send(struct sess *s, const struct smpp_pdu *p)
{
	struct server *sv = s->sv;
	size_t n;
	struct errbuf err = {""};
	if (!s->hd.link)
		return -1;
	if (smpp_pdu_encode(p, sv->obuf, sizeof sv->obuf, &n, &err)) {
		log_error("smpp_server_encode_failed", "conn=%s sess=%" PRIu64 " command=%s error=\"%s\"",
		          smpp_server_cname(sv), s->hd.id, smpp_pdu_command_name(p->command_id), err.msg);
		return -1;
	}
	return link_send(s->hd.link, sv->obuf, n);
}

/* Sends a response (or generic_nack) to seq; header-only unless OK. */
void smpp_server_respond(struct sess *s, uint32_t command_id, uint32_t seq, uint32_t status)
{
	struct smpp_pdu *p = &s->sv->out;
	smpp_wire_pdu_reset(p, command_id, seq);
	p->command_status = status;
	p->body_absent = status != 0 && command_id != SMPP_GENERIC_NACK;
	if (smpp_server_send(s, p))
		log_error("smpp_server_respond_failed", "conn=%s sess=%" PRIu64 " seq=%u", smpp_server_cname(s->sv),
		          s->hd.id, seq);
}

/* Closes a session marked close_reason once its output is written and its
 * core calls are answered. */
void smpp_server_close_if_done(struct sess *s)
{
	if (s->state == SS_CLOSED || !s->close_reason || s->hd.npend > 0)
		return;
	if (!s->hd.link)
		smpp_server_sess_set(s, SS_CLOSED, s->close_reason);
	else
		link_close_flush(s->hd.link, s->close_reason); /* then on_down */
}

/* Reads nothing more; closes once the core has answered every call. */
void smpp_server_close_later(struct sess *s, const char *reason)
{
	s->close_reason = reason;
	link_pause(s->hd.link, true);
	smpp_server_close_if_done(s);
}

/* ---- the session state machine ---- */

/* The one place where a session changes state. */
void smpp_server_sess_set(struct sess *s, enum sess_state to, const char *why)
{
	struct server *sv = s->sv;
	char q[200];
	if (s->state == to)
		return;
	log_debug("smpp_server_state", "conn=%s sess=%" PRIu64 " peer=%s from=%s to=%s why=%s", smpp_server_cname(sv),
	          s->hd.id, s->hd.peer, state_names[s->state], state_names[to], log_quote(why ? why : "", q, sizeof q));
	enum sess_state from = s->state;
	s->state = to;
	s->state_ms = now_mono_ms();
	switch (to) {
	case SS_OPEN:
		return;
	case SS_BINDING:
		return;
	case SS_BOUND:
		if (s->role == SESS_ROLE_RX || s->role == SESS_ROLE_TRX)
			accounts_add_rx(&sv->accts, s->hd.acct, s);
		return;
	case SS_UNBINDING: {
		struct smpp_pdu *p = &sv->out;
		if (s->join) { /* held parts will not be completed: the client resends */
			smpp_join_flush(s->join);
			smpp_server_submit_poll(s);
		}
		uint32_t seq;
		uint64_t wait = (uint64_t)sv->conf->response_timeout_s * 1000;
		if (link_next_seq(s->hd.link, &seq) ||
		    link_request_add(s->hd.link, seq, SERVER_REQ_UNBIND,
		                     2 * (wait < SERVER_STOP_WAIT_MAX_MS ? wait : SERVER_STOP_WAIT_MAX_MS), false)) {
			s->unbind_done = true;
			return;
		}
		smpp_wire_pdu_reset(p, SMPP_UNBIND, seq);
		if (smpp_server_send(s, p))
			s->unbind_done = true;
		return;
	}
	case SS_CLOSED:
		if (s->join) { /* nobody left to answer: nothing was acknowledged */
			smpp_join_flush(s->join);
			struct smpp_join_set *set;
			while ((set = smpp_join_poll(s->join, now_mono_ms())))
				smpp_join_set_free(s->join, set);
		}
		if (s->hd.link) {
			struct link *l = s->hd.link;
			link_request_drain(l, smpp_server_deliver_drained, s);
			s->hd.link = NULL;
			link_free(l);
		}
		sv->nopen--;
		s->hd.state = SRVBASE_CLOSED; /* srvbase reaps it once no core call waits */
		if (s->hd.acct && (from == SS_BOUND || from == SS_UNBINDING)) {
			core_account_unbind(sv->c, s->hd.acct->name);
			if (s->role == SESS_ROLE_RX || s->role == SESS_ROLE_TRX)
				accounts_remove_rx(&sv->accts, s->hd.acct, s);
		}
		char qs[80];
		/* A session that never bound (a refused or hostile client) is
		 * logged at debug: a flood of them must not flood the log. */
		if (s->hd.acct)
			log_info("smpp_server_closed", "conn=%s sess=%" PRIu64 " peer=%s system_id=%s reason=%s",
			         smpp_server_cname(sv), s->hd.id, s->hd.peer, log_quote(s->system_id, qs, sizeof qs),
			         log_quote(why ? why : "", q, sizeof q));
		else
			log_debug("smpp_server_closed", "conn=%s sess=%" PRIu64 " peer=%s system_id=%s reason=%s",
			          smpp_server_cname(sv), s->hd.id, s->hd.peer, log_quote(s->system_id, qs, sizeof qs),
			          log_quote(why ? why : "", q, sizeof q));
		return;
	}
	abort();
}

/* Frees closed sessions that no core answer refers to any more. */
static void smpp_server_reap(struct server *sv)
{
	for (struct srvbase_sess *h = sv->base.sessions, *next; h; h = next) {
		next = h->next;
		srvbase_reap(h);
	}
}

/* ---- reading PDUs ---- */

static void sess_bad_pdu(struct sess *s, const struct smpp_pdu_error *e)
{
	struct server *sv = s->sv;
	char q[200];
	s->bad_pdus++;
	if (s->bad_pdus == 1)
		log_warn("smpp_server_bad_pdu",
		         "conn=%s sess=%" PRIu64 " peer=%s command=0x%08X seq=%u status=%s reason=%s",
		         smpp_server_cname(sv), s->hd.id, s->hd.peer, e->command_id, e->sequence_number,
		         smpp_status_text(e->status), log_quote(e->reason, q, sizeof q));
	if (e->header_read && (e->command_id == SMPP_DELIVER_SM_RESP || e->command_id == SMPP_DATA_SM_RESP)) {
		struct accounts_part *dp = smpp_server_deliver_take(s, e->sequence_number);
		if (dp)
			smpp_server_deliver_answer(sv, dp, false);
	}
	if (e->header_read && !e->generic_nack)
		smpp_server_respond(s, e->command_id | SMPP_RESP_BIT, e->sequence_number, e->status);
	else if (!(e->header_read && (e->command_id & SMPP_RESP_BIT)))
		smpp_server_respond(s, SMPP_GENERIC_NACK, e->header_read ? e->sequence_number : 0, e->status);
	if (s->bad_pdus >= SERVER_BAD_PDU_LIMIT)
		smpp_server_close_later(s, "the ESME keeps sending malformed PDUs");
}

static void smpp_server_pdu(struct sess *s, const uint8_t *buf, size_t len)
{
	struct server *sv = s->sv;
	struct smpp_pdu *p = &sv->in;
	struct smpp_pdu_error e;
	if (smpp_pdu_decode(buf, len, p, &e)) {
		sess_bad_pdu(s, &e);
		return;
	}
	smpp_server_dispatch(s, p);
}

/* The answer (unbind_resp, or a generic_nack: the ESME does not know unbind)
 * to the unbind we sent with sequence number seq, if it is one: the
 * session's goodbye is over.  True when it was. */
static bool sess_unbind_answered(struct sess *s, uint32_t seq)
{
	if (s->state != SS_UNBINDING || link_request_find(s->hd.link, seq) != SERVER_REQ_UNBIND)
		return false;
	(void)link_request_take(s->hd.link, seq);
	s->unbind_done = true;
	if (s->hd.revoked)
		smpp_server_close_later(s, "account changed: unbound");
	smpp_server_stop_progress(s->sv);
	return true;
}

void smpp_server_dispatch(struct sess *s, const struct smpp_pdu *p)
{
	struct server *sv = s->sv;
	log_debug("smpp_server_rx", "conn=%s sess=%" PRIu64 " command=%s seq=%u status=0x%08X", smpp_server_cname(sv),
	          s->hd.id, smpp_pdu_command_name(p->command_id), p->sequence_number, p->command_status);
	switch (p->command_id) {
	case SMPP_BIND_TRANSCEIVER:
	case SMPP_BIND_TRANSMITTER:
	case SMPP_BIND_RECEIVER:
		smpp_server_bind_pdu(s, p);
		return;
	case SMPP_SUBMIT_SM:
	case SMPP_DATA_SM:
		smpp_server_submit_pdu(s, p);
		return;
	case SMPP_DELIVER_SM_RESP:
	case SMPP_DATA_SM_RESP:
		smpp_server_deliver_resp(s, p);
		return;
	case SMPP_GENERIC_NACK:
		if (link_request_find(s->hd.link, p->sequence_number) == LINK_KEEPALIVE) {
			(void)link_request_take(s->hd.link, p->sequence_number);
			return;
		}
		if (!sess_unbind_answered(s, p->sequence_number))
			smpp_server_deliver_resp(s, p);
		return;
	case SMPP_ENQUIRE_LINK:
		smpp_server_respond(s, SMPP_ENQUIRE_LINK_RESP, p->sequence_number, 0);
		return;
	case SMPP_ENQUIRE_LINK_RESP:
		if (link_request_find(s->hd.link, p->sequence_number) == LINK_KEEPALIVE)
			(void)link_request_take(s->hd.link, p->sequence_number);
		return;
	case SMPP_UNBIND:
		smpp_server_respond(s, SMPP_UNBIND_RESP, p->sequence_number, 0);
		smpp_server_close_later(s, "unbind from the ESME");
		return;
	case SMPP_UNBIND_RESP:
		(void)sess_unbind_answered(s, p->sequence_number);
		return;
	case SMPP_QUERY_SM:
		smpp_server_respond(s, SMPP_QUERY_SM_RESP, p->sequence_number, SMPP_ESME_RQUERYFAIL);
		return;
	case SMPP_CANCEL_SM:
		smpp_server_respond(s, SMPP_CANCEL_SM_RESP, p->sequence_number, SMPP_ESME_RCANCELFAIL);
		return;
	case SMPP_REPLACE_SM:
		smpp_server_respond(s, SMPP_REPLACE_SM_RESP, p->sequence_number, SMPP_ESME_RREPLACEFAIL);
		return;
	default:
		if (!(p->command_id & SMPP_RESP_BIT))
			smpp_server_respond(s, SMPP_GENERIC_NACK, p->sequence_number, SMPP_ESME_RINVCMDID);
		return;
	}
}

/* ---- link callbacks ---- */

static void link_on_frame(struct link *l, void *arg, const uint8_t *buf, size_t len)
{
	(void)l;
	smpp_server_pdu(arg, buf, len);
}

static void link_on_down(struct link *l, void *arg, const char *reason)
{
	struct sess *s = arg;
	struct server *sv = s->sv;
	(void)l;
	char why[400];
	snprintf(why, sizeof why, "%s (%s)", reason, state_names[s->state]);
	smpp_server_sess_set(s, SS_CLOSED, why);
	if (sv->base.stopping)
		smpp_server_stop_progress(sv);
}

static void link_on_timeout(struct link *l, void *arg, uint32_t seq, void *data)
{
	struct sess *s = arg;
	struct server *sv = s->sv;
	(void)l;
	if (data == SERVER_REQ_UNBIND) {
		if (s->hd.revoked)
			smpp_server_close_later(s, "account changed: no unbind_resp");
		smpp_server_stop_progress(sv); /* closes it: no unbind_resp */
		return;
	}
	struct accounts_part *p = data;
	log_info("smpp_server_deliver_timeout", "conn=%s sess=%" PRIu64 " seq=%u event=%" PRId64, smpp_server_cname(sv),
	         s->hd.id, seq, p->d->ev->id);
	smpp_server_deliver_answer(sv, p, false);
}

static int link_on_keepalive(struct link *l, void *arg, uint32_t seq)
{
	struct sess *s = arg;
	struct smpp_pdu *p = &s->sv->out;
	(void)l;
	smpp_wire_pdu_reset(p, SMPP_ENQUIRE_LINK, seq);
	return smpp_server_send(s, p);
}

static void link_on_bad_stream(struct link *l, void *arg, const char *reason)
{
	struct sess *s = arg;
	(void)l;
	(void)reason; /* logged by the link */
	smpp_server_respond(s, SMPP_GENERIC_NACK, 0, SMPP_ESME_RINVCMDLEN);
	s->close_reason = "the ESME sent a stream that cannot be framed";
}

static void link_on_writable(struct link *l, void *arg)
{
	struct sess *s = arg;
	(void)l;
	if (s->hd.acct)
		accounts_drain(&s->sv->accts, s->hd.acct);
	if (s->sv->base.stopping)
		smpp_server_stop_progress(s->sv);
}

static const struct link_ops sess_link_ops = {
    .frame = smpp_wire_frame,
    .frame_min = 4,
    .on_frame = link_on_frame,
    .on_down = link_on_down,
    .on_timeout = link_on_timeout,
    .on_keepalive = link_on_keepalive,
    .on_bad_stream = link_on_bad_stream,
    .on_writable = link_on_writable,
};

/* ---- accepting ---- */

/* A new session (srvbase listed it): OPEN. */
static void sess_accept(void *arg, struct srvbase_sess *h, struct link *l)
{
	struct server *sv = arg;
	struct sess *s = (struct sess *)h;
	s->tls = link_is_tls(l);
	s->state = SS_OPEN;
	s->state_ms = now_mono_ms();
	sv->nopen++;
}

static struct link_opts link_opts_of(const struct server *sv);

struct sess *smpp_server_sess_new(struct server *sv, struct link *l)
{
	return (struct sess *)srvbase_sess_add(&sv->base, NULL, l);
}

struct sess *smpp_server_sess_memory(struct server *sv, struct bufferevent **peer)
{
	struct link_opts o = link_opts_of(sv);
	struct sess *s = xcalloc(1, sizeof *s);
	struct link *l = link_pair(conn_event_base(sv->c), &o, &sess_link_ops, s, peer);
	if (!l) {
		free(s);
		return NULL;
	}
	return (struct sess *)srvbase_sess_add(&sv->base, s, l);
}

/* Sessions beyond max_sessions are refused (logged at most every 5 s). */
static bool sess_admit(void *arg)
{
	struct server *sv = arg;
	if (sv->nopen < sv->conf->max_sessions)
		return true;
	sv->refused++;
	uint64_t now = now_mono_ms();
	if (now - sv->refused_log_ms >= REFUSE_LOG_INTERVAL_MS) {
		log_warn("smpp_server_refused", "conn=%s sessions=%d max_sessions=%lld refused=%d",
		         smpp_server_cname(sv), sv->nopen, sv->conf->max_sessions, sv->refused);
		sv->refused_log_ms = now;
		sv->refused = 0;
	}
	return false;
}

/* The options of every session's link. */
static struct link_opts link_opts_of(const struct server *sv)
{
	const struct smpp_server_conf *conf = sv->conf;
	return (struct link_opts){
	    .name = smpp_server_cname(sv),
	    .max_frame = (size_t)conf->max_pdu_len,
	    .response_timeout_ms = (uint64_t)conf->response_timeout_s * 1000,
	    .keepalive_ms = (uint64_t)conf->enquire_link_s * 1000,
	    .idle_timeout_ms = (uint64_t)conf->inactivity_timeout_s * 1000,
	    .unbound_timeout_ms = (uint64_t)conf->bind_timeout_s * 1000,
	    .seq_min = 1,
	    .seq_max = 0x7FFFFFFF,
	    .window = (int)conf->window,
	    .max_inbound = (int)conf->max_pending,
	    .out_high = OUT_HIGH,
	    .out_low = OUT_LOW,
	    .out_max = OUT_MAX,
	    .stuck_ms = (uint64_t)conf->inactivity_timeout_s * 1000,
	};
}

static void sess_listen_opts(void *arg, struct link_listen_opts *lo)
{
	lo->link = link_opts_of(arg);
}

/* ---- timers ---- */

/* Session timeouts (deliver_sm, enquire_link, bind, inactivity, a peer
 * that does not read) are the link's; srvbase's tick retries listening and
 * moves a stop on; this one times out held parts and frees closed
 * sessions. */
static void server_tick(void *arg)
{
	struct server *sv = arg;
	for (struct srvbase_sess *h = sv->base.sessions; h; h = h->next) {
		struct sess *s = (struct sess *)h;
		if (s->join && s->state == SS_BOUND)
			smpp_server_submit_poll(s); /* incomplete sets past reassembly_timeout_s */
	}
	smpp_server_reap(sv);
}

/* ---- stop ---- */

/* Every event we hold goes back before core_stopped(). */
static void server_finish(void *arg)
{
	struct server *sv = arg;
	accounts_stop(&sv->accts);
}

static void server_stopping(void *arg)
{
	struct server *sv = arg;
	sv->accts.stopping = true;
}

/* The stop's goodbye: unbound sessions close at once; bound ones are sent
 * unbind and close on unbind_resp (or after a bounded wait) once their
 * submits are answered.  True while a session is left. */
static bool server_stop_busy(void *arg)
{
	struct server *sv = arg;
	uint64_t now = now_mono_ms();
	uint64_t limit = (uint64_t)sv->conf->response_timeout_s * 1000;
	if (limit > SERVER_STOP_WAIT_MAX_MS)
		limit = SERVER_STOP_WAIT_MAX_MS;
	bool any = false;
	for (struct srvbase_sess *h = sv->base.sessions; h; h = h->next) {
		struct sess *s = (struct sess *)h;
		switch (s->state) {
		case SS_OPEN:
			smpp_server_sess_set(s, SS_CLOSED, "stopping");
			break;
		case SS_BINDING: /* authenticated() refuses it and sets close_reason */
			break;
		case SS_BOUND:
			smpp_server_sess_set(s, SS_UNBINDING, "stop");
			break;
		case SS_UNBINDING:
			if (s->hd.npend == 0 && (s->unbind_done || now - s->state_ms > limit) &&
			    (!s->hd.link || link_output_len(s->hd.link) == 0 || now - s->state_ms > 2 * limit))
				smpp_server_sess_set(s, SS_CLOSED, s->unbind_done ? "unbound" : "no unbind_resp");
			break;
		case SS_CLOSED:
			break;
		}
		any |= s->state != SS_CLOSED;
	}
	return any;
}

/* The server stops when no session is left and the core's answers came
 * (closed sessions are freed by close()). */
void smpp_server_stop_progress(struct server *sv)
{
	srvbase_stop_progress(&sv->base);
}

static void server_stop(struct conn *c)
{
	struct server *sv = conn_driver_data(c);
	srvbase_stop(&sv->base, "unbinding");
}

/* The account's access changed (srvbase_revoke): a bound session gets an
 * unbind and is closed at its unbind_resp (or the response timeout);
 * sessions still binding are refused by the login's answer or bind again
 * later, unbinding ones are ending already. */
static bool server_revoke(struct srvbase_sess *h)
{
	struct sess *s = (struct sess *)h;
	if (s->state != SS_BOUND)
		return false;
	/* Submits from now on are refused (UNBINDING); the unbind_resp is
	 * still read. */
	smpp_server_sess_set(s, SS_UNBINDING, "account changed");
	if (s->unbind_done)
		smpp_server_close_later(s, "account changed");
	return true;
}

/* ---- open / close ---- */

/* The link ended, or the stop is over. */
static void server_end_sess(struct srvbase_sess *h, const char *reason)
{
	smpp_server_sess_set((struct sess *)h, SS_CLOSED, reason);
}

/* A closed session, or at close (after a forced stop: the core gives up on
 * its deliver_sm). */
static void server_free_sess(struct srvbase_sess *h)
{
	struct sess *s = (struct sess *)h;
	if (s->hd.link) {
		link_request_drain(s->hd.link, smpp_server_deliver_forget, &s->sv->accts);
		link_free(s->hd.link);
		s->hd.link = NULL;
	}
	smpp_join_free(s->join);
}

static const struct srvbase_ops base_ops = {
    .log_prefix = "smpp_server",
    .sess_ops = &sess_link_ops,
    SRVBASE_SESS(struct sess, sv),
    .admit = sess_admit,
    .accept = sess_accept,
    .quiet = true,
    .listen_opts = sess_listen_opts,
    .stopping = server_stopping,
    .stop_busy = server_stop_busy,
    .pend_free = pend_free,
    .end_sess = server_end_sess,
    .free_sess = server_free_sess,
    .revoke = server_revoke,
    .finish = server_finish,
    .tick = server_tick,
};

static struct server *server_alloc(struct conn *c)
{
	const struct smpp_server_conf *conf = conn_conf(c);
	struct server *sv = xcalloc(1, sizeof *sv);
	sv->c = c;
	sv->conf = conf;
	sv->version = smpp_server_conf_version(conf);
	sv->concat_ref = link_random();
	sv->accts = (struct accounts){
	    .c = c, .ops = &smpp_server_deliver_ops, .arg = sv, .wait_per_session = 2 * (int)conf->window};
	conn_set_driver_data(c, sv);
	return sv;
}

static struct srvbase_conf base_conf(const struct smpp_server_conf *conf)
{
	return (struct srvbase_conf){
	    .listen = conf->listen,
	    .tls = conf->tls,
	    .tls_listen = conf->tls_listen,
	    .tls_cert_file = conf->tls_cert_file,
	    .tls_key_file = conf->tls_key_file,
	    .max_sessions = conf->max_sessions,
	    .max_per_address = conf->max_sessions_per_address,
	    .response_timeout_s = conf->response_timeout_s,
	    .inactivity_timeout_s = conf->inactivity_timeout_s,
	    .unbound_timeout_s = conf->bind_timeout_s,
	    .window = conf->window,
	};
}

struct server *smpp_server_new(struct conn *c)
{
	struct server *sv = server_alloc(c);
	struct srvbase_conf bc = base_conf(sv->conf);
	srvbase_init(&sv->base, c, &base_ops, sv, &sv->accts, &bc);
	return sv;
}

static int server_open(struct conn *c)
{
	struct server *sv = server_alloc(c);
	struct srvbase_conf bc = base_conf(sv->conf);
	if (srvbase_open(&sv->base, c, &base_ops, sv, &sv->accts, &bc)) {
		conn_set_driver_data(c, NULL);
		free(sv);
		return -1;
	}
	return 0;
}

const struct driver_ops smpp_server_driver = {
    .name = "smpp-server",
    .caps = CAP_LISTEN,
    .settings = smpp_server_conf_settings,
    .conf_size = sizeof(struct smpp_server_conf),
    .check = smpp_server_conf_check,
    .open = server_open,
    .stop = server_stop,
    .close = srvbase_conn_close,
    .authenticated = smpp_server_bind_authenticated,
    .submitted = smpp_server_submit_submitted,
    .deliver = smpp_server_deliver,
    .account_revoked = srvbase_conn_account_revoked,
};
