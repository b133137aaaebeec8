/*
 * smpp server: smspool as an SMSC for other applications, connection type
 * "smpp-server".
 *
 * Layers, kept apart:
 * - codec: pdu.c / receipt.c / status.c / wire.c (pure, shared with the
 *   client), server_conf.c (settings, SMPP times, status mappings);
 * - session: one `enum sess_state` per accepted TCP session, changed only
 *   through sess_set(), whose single switch does each state's entry work
 *   and logs every transition at debug:
 *     OPEN -> BINDING (core_authenticate asked) -> BOUND (tx, rx or trx)
 *          -> UNBINDING (we sent unbind, on stop) -> CLOSED;
 * - transport: the link layer (net/link.h): listeners with limits in all
 *   and per address, framing, the deliver_sm table with deadlines and the
 *   window, enquire_link as keepalive, bind and inactivity timeouts,
 *   back-pressure, TLS; nothing here blocks.
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
 *   "<outbox id>-<part>"; the message's client_ref "smpp-parts:N" makes its
 *   receipt go out N times, once per part id.  A set not complete within
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
#include "smpp/server_conf.h"
#include "smpp/status.h"
#include "smpp/wire.h"
#include "util.h"

enum {
	TICK_MS = 200,
	BAD_PDU_LIMIT = 5,            /* malformed PDUs before the session is closed */
	STOP_WAIT_MAX_MS = 5000,      /* for unbind_resp on stop */
	OUT_HIGH = 256 * 1024,        /* output bytes above which a session is congested */
	OUT_LOW = 64 * 1024,          /* ... and below which it is not any more */
	OUT_MAX = 4 * 1024 * 1024,    /* output refused beyond this */
	REFUSE_LOG_INTERVAL_MS = 5000 /* rate limit of "too many sessions" */
};

enum sess_state { SS_OPEN, SS_BINDING, SS_BOUND, SS_UNBINDING, SS_CLOSED };
static const char *const state_names[] = {"open", "binding", "bound", "unbinding", "closed"};

enum sess_role { ROLE_NONE, ROLE_TX, ROLE_RX, ROLE_TRX };
static const char *const role_names[] = {"none", "transmitter", "receiver", "transceiver"};

struct server;
struct sess;

struct sess {
	struct server *sv;
	uint64_t id;
	enum sess_state state;
	enum sess_role role;
	struct link *link; /* NULL once closed */
	bool tls;
	char peer[INET6_ADDRSTRLEN + 8]; /* "ip:port" for logs */
	char ip[INET6_ADDRSTRLEN];
	char system_id[16];
	struct accounts_acct *acct; /* set while BOUND or UNBINDING */
	uint8_t version;            /* what we speak with it: min(its bind, ours) */
	uint32_t seq;
	uint32_t bind_seq, bind_cmd;
	uint64_t state_ms;
	int bad_pdus;
	int npend; /* core calls not answered yet */
	bool unbind_done;
	const char *close_reason; /* set: close once written and answered */
	bool revoked;             /* unbinding because the account changed */
	struct smpp_join *join;   /* parts of concatenated submits held, or NULL */
	struct sess *prev, *next;
};

/* A core call waiting for its answer. */
struct pend {
	struct sess *s;
	uint32_t seq, cmd;         /* of the PDU to answer */
	struct smpp_join_set *set; /* a joined submit: answer each of its parts */
};

static const char req_unbind_marker;
#define REQ_UNBIND ((void *)&req_unbind_marker)

struct server {
	struct conn *c;
	const struct smpp_server_conf *conf;
	uint8_t version;
	struct link_listener *lis[2];
	uint64_t listen_retry_ms;
	SSL_CTX *ssl_ctx;
	struct event *tick_ev;
	struct sess *sessions;
	int nopen; /* sessions not CLOSED */
	uint64_t next_sess_id;
	struct accounts accts;
	struct tokens pends;
	unsigned concat_ref;
	bool up, stopping, stopped;
	uint64_t stop_ms, refused_log_ms, bind_refused_log_ms;
	unsigned bind_refused_quiet;
	int refused;

	uint8_t obuf[SMPP_PDU_MAX_LEN];
	struct smpp_pdu in, out;
};

static void sess_set(struct sess *s, enum sess_state to, const char *why);
static void stop_progress(struct server *sv);
static void sess_join_poll(struct sess *s);

/* ---- small helpers ---- */

static const char *cname(const struct server *sv)
{
	return conn_name(sv->c);
}

static const char *status_name(uint32_t status)
{
	const char *n = smpp_status_name(status);
	return n ? n : "unknown_status";
}

static void tv_ms(struct timeval *tv, uint64_t ms)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

/* ---- pending core calls ---- */

static uint64_t pend_add(struct server *sv, struct sess *s, uint32_t seq, uint32_t cmd, struct smpp_join_set *set)
{
	struct pend *p = xcalloc(1, sizeof *p);
	p->s = s;
	p->seq = seq;
	p->cmd = cmd;
	p->set = set;
	s->npend++;
	return tokens_add(&sv->pends, p);
}

/* Frees a pend never answered (on free: its session still exists). */
static void pend_free(void *v)
{
	struct pend *p = v;
	if (p->set)
		smpp_join_set_free(p->s->join, p->set);
	free(p);
}

/* Unlinks the pend of token; the caller frees it. */
static struct pend *pend_take(struct server *sv, uint64_t token)
{
	struct pend *p = tokens_take(&sv->pends, token);
	if (p)
		p->s->npend--;
	return p;
}

/* ---- transport ---- */

static int sess_send(struct sess *s, const struct smpp_pdu *p)
{
	struct server *sv = s->sv;
	size_t n;
	struct errbuf err = {""};
	if (!s->link)
		return -1;
	if (smpp_pdu_encode(p, sv->obuf, sizeof sv->obuf, &n, &err)) {
		log_error("smpp_server_encode_failed", "conn=%s sess=%" PRIu64 " command=%s error=\"%s\"", cname(sv),
		          s->id, smpp_pdu_command_name(p->command_id), err.msg);
		return -1;
	}
	return link_send(s->link, sv->obuf, n);
}

/* Sends a response (or generic_nack) to seq; header-only unless OK. */
static void sess_respond(struct sess *s, uint32_t command_id, uint32_t seq, uint32_t status)
{
	struct smpp_pdu *p = &s->sv->out;
	smpp_wire_pdu_reset(p, command_id, seq);
	p->command_status = status;
	p->body_absent = status != 0 && command_id != SMPP_GENERIC_NACK;
	if (sess_send(s, p))
		log_error("smpp_server_respond_failed", "conn=%s sess=%" PRIu64 " seq=%u", cname(s->sv), s->id, seq);
}

static void sess_bind_resp(struct sess *s, uint32_t status)
{
	struct server *sv = s->sv;
	struct smpp_pdu *p = &sv->out;
	smpp_wire_pdu_reset(p, s->bind_cmd | SMPP_RESP_BIT, s->bind_seq);
	p->command_status = status;
	snprintf(p->system_id, sizeof p->system_id, "%s", sv->conf->system_id);
	uint8_t v = sv->version;
	if (status == 0 && s->version >= 0x34 && smpp_pdu_add_tlv(p, SMPP_TLV_SC_INTERFACE_VERSION, &v, 1))
		abort(); /* the first TLV always fits */
	if (sess_send(s, p))
		log_error("smpp_server_respond_failed", "conn=%s sess=%" PRIu64 " seq=%u", cname(sv), s->id,
		          s->bind_seq);
}

/* Closes a session marked close_reason once its output is written and its
 * core calls are answered. */
static void sess_close_if_done(struct sess *s)
{
	if (s->state == SS_CLOSED || !s->close_reason || s->npend > 0)
		return;
	if (!s->link)
		sess_set(s, SS_CLOSED, s->close_reason);
	else
		link_close_flush(s->link, s->close_reason); /* then on_down */
}

/* Reads nothing more; closes once the core has answered every call. */
static void sess_close_later(struct sess *s, const char *reason)
{
	s->close_reason = reason;
	link_pause(s->link, true);
	sess_close_if_done(s);
}

/* ---- deliveries ---- */

static bool is_dpart(const void *data)
{
	return data && data != REQ_UNBIND && data != LINK_KEEPALIVE;
}

/* The deliver_sm of session s with this sequence number, taken from the
 * table; NULL if none. */
static struct accounts_part *dpart_take(struct sess *s, uint32_t seq)
{
	return is_dpart(link_request_find(s->link, seq)) ? link_request_take(s->link, seq) : NULL;
}

/* One deliver_sm answered (ok) or given up. */
static void dpart_answer(struct server *sv, struct accounts_part *p, bool ok)
{
	struct accounts_acct *a = ((struct sess *)p->sess)->acct;
	accounts_part_answer(&sv->accts, p, ok);
	if (a)
		accounts_drain(&sv->accts, a); /* the window has room again */
}

/* Sets the addresses of a deliver_sm.  Returns 0 or -1 (too long). */
static int deliver_addresses(struct smpp_pdu *p, const char *src, const char *dst)
{
	uint8_t ton, npi;
	smpp_conf_address(src ? src : "", -1, -1, p->source_addr, sizeof p->source_addr, &ton, &npi);
	p->source_addr_ton = src && *src ? ton : 0;
	p->source_addr_npi = src && *src ? npi : 0;
	smpp_conf_address(dst ? dst : "", -1, -1, p->destination_addr, sizeof p->destination_addr, &ton, &npi);
	p->dest_addr_ton = dst && *dst ? ton : 0;
	p->dest_addr_npi = dst && *dst ? npi : 0;
	return strlen(p->source_addr) > 20 || strlen(p->destination_addr) > 20 ? -1 : 0;
}

/* Encodes the receipt deliver_sm of a REPORT event into buf, with the id
 * "<message id>-<part>" when part > 0.  Returns 0 (*seqp set) or -1. */
static int build_receipt(struct server *sv, struct sess *s, const struct account_event *ev, int part,
                         struct evbuffer *buf, uint32_t *seqp, struct errbuf *err)
{
	struct smpp_pdu *p = &sv->out;
	size_t olen;
	char text[200], id[40];
	if (part > 0)
		snprintf(id, sizeof id, "%lld-%d", (long long)ev->message_id, part);
	else
		snprintf(id, sizeof id, "%lld", (long long)ev->message_id);
	int n = smpp_server_receipt_text_id(ev, id, text, sizeof text);
	if (n < 0 || n > SMPP_PDU_SM_MAX)
		return errbuf_set(err, "receipt text does not fit");
	uint32_t seq;
	if (link_next_seq(s->link, &seq))
		return errbuf_set(err, "no free sequence number");
	smpp_wire_pdu_reset(p, SMPP_DELIVER_SM, seq);
	/* The receipt comes from the handset (the original recipient)
	 * to the ESME's address (the original sender). */
	if (deliver_addresses(p, ev->recipient, ev->sender))
		return errbuf_set(err, "an address is longer than SMPP's 20 characters");
	p->esm_class = 0x04;
	p->data_coding = 0;
	memcpy(p->short_message, text, (size_t)n);
	p->sm_length = (uint8_t)n;
	uint8_t state = smpp_server_message_state(ev->state);
	uint8_t nec[3] = {3, 0, 0}; /* GSM */
	const char *e = ev->error_code;
	bool dec = e && *e && strlen(e) <= 5;
	for (const char *q = e; dec && *q; q++)
		dec = *q >= '0' && *q <= '9';
	if (dec && atoi(e) <= 0xFFFF) {
		nec[1] = (uint8_t)(atoi(e) >> 8);
		nec[2] = (uint8_t)atoi(e);
	}
	if (s->version >= 0x34 && (smpp_pdu_add_tlv(p, SMPP_TLV_RECEIPTED_MESSAGE_ID, id, (uint16_t)(strlen(id) + 1)) ||
	                           smpp_pdu_add_tlv(p, SMPP_TLV_MESSAGE_STATE, &state, 1) ||
	                           (dec && smpp_pdu_add_tlv(p, SMPP_TLV_NETWORK_ERROR_CODE, nec, 3))))
		return errbuf_set(err, "too many TLVs");
	if (smpp_pdu_encode(p, sv->obuf, sizeof sv->obuf, &olen, err))
		return -1;
	evbuffer_add(buf, sv->obuf, olen);
	*seqp = seq;
	return 0;
}

/* Encodes the deliver_sm PDUs of ev for s into buf.  Returns their number
 * (seqs[] filled, new), or -1 with err set. */
static int build_delivers(struct server *sv, struct sess *s, const struct account_event *ev, struct evbuffer *buf,
                          uint32_t **seqs, struct errbuf *err)
{
	struct smpp_pdu *p = &sv->out;
	size_t olen;
	if (ev->kind == ACCOUNT_EVENT_REPORT) {
		/* A joined message: one receipt per part the client submitted,
		 * each with the id its submit_sm_resp gave. */
		unsigned nparts = smpp_join_ref_parts(ev->client_ref);
		*seqs = xcalloc(nparts, sizeof **seqs);
		for (unsigned k = 0; k < nparts; k++)
			if (build_receipt(sv, s, ev, nparts > 1 ? (int)k + 1 : 0, buf, &(*seqs)[k], err)) {
				free(*seqs);
				*seqs = NULL;
				return -1;
			}
		return (int)nparts;
	}

	/* An inbound text: GSM if it fits, else UCS-2; long ones in UDH parts. */
	struct sms_split_opts opts = {0};
	struct sms_split sp = {0};
	uint8_t bin[SMPP_PDU_SM_MAX * 2], udh[UDH_MAX_LEN + 1];
	const char *data;
	size_t len;
	int rc = -1;
	if (ev->payload) {
		int np = hex_decode(ev->payload, bin, sizeof bin);
		int nu = ev->udh ? hex_decode(ev->udh, udh, sizeof udh) : 0;
		if (np < 0 || nu < 0 || (nu > 0 && udh[0] != nu - 1))
			return errbuf_set(err, "payload or udh is not valid hex");
		if (nu > 0) {
			opts.extra_ies = udh + 1;
			opts.extra_ies_len = (size_t)nu - 1;
		}
		opts.encoding = SMS_ENC_BINARY;
		data = (const char *)bin;
		len = (size_t)np;
	} else {
		opts.encoding = SMS_ENC_AUTO;
		data = ev->body ? ev->body : "";
		len = strlen(data);
	}
	opts.concat_ref = sv->concat_ref++ & 0xFF;
	if (sms_count_parts(data, len, &opts, &sp, err))
		return -1;
	sp.parts = xcalloc(sp.n_parts, sizeof *sp.parts);
	sp.parts_cap = sp.n_parts;
	if (sms_split(data, len, &opts, &sp, err))
		goto out;
	uint8_t dc = sp.encoding == SMS_ENC_UCS2 ? 0x08 : sp.encoding == SMS_ENC_BINARY ? 0x04 : 0x00;
	*seqs = xcalloc(sp.n_parts, sizeof **seqs);
	for (unsigned i = 0; i < sp.n_parts; i++) {
		const struct sms_part *pt = &sp.parts[i];
		uint32_t seq;
		if (link_next_seq(s->link, &seq)) {
			errbuf_set(err, "no free sequence number");
			goto out;
		}
		smpp_wire_pdu_reset(p, SMPP_DELIVER_SM, seq);
		if (deliver_addresses(p, ev->sender, ev->recipient)) {
			errbuf_set(err, "an address is longer than SMPP's 20 characters");
			goto out;
		}
		p->data_coding = dc;
		if (pt->udh_len + pt->payload_len > SMPP_PDU_SM_MAX) {
			errbuf_set(err, "part %u does not fit a deliver_sm", i + 1);
			goto out;
		}
		memcpy(p->short_message, pt->udh, pt->udh_len);
		memcpy(p->short_message + pt->udh_len, pt->payload, pt->payload_len);
		p->sm_length = (uint8_t)(pt->udh_len + pt->payload_len);
		if (pt->udh_len)
			p->esm_class = 0x40;
		if (smpp_pdu_encode(p, sv->obuf, sizeof sv->obuf, &olen, err))
			goto out;
		evbuffer_add(buf, sv->obuf, olen);
		(*seqs)[i] = seq;
	}
	rc = (int)sp.n_parts;
out:
	free(sp.parts);
	if (rc < 0) {
		free(*seqs);
		*seqs = NULL;
	}
	return rc;
}

/* Whether a session can take one more event now. */
static bool can_take(void *sess, void *arg)
{
	struct sess *s = sess;
	struct server *sv = arg;
	if (s->state != SS_BOUND || !s->link || link_congested(s->link) || s->close_reason)
		return false;
	int inflight = link_outstanding(s->link);
	return inflight == 0 || inflight + 1 <= sv->conf->window;
}

static void server_deliver(struct conn *c, struct account_event *ev)
{
	struct server *sv = conn_driver_data(c);
	accounts_deliver(&sv->accts, ev);
}

/* Sends the deliver_sm PDUs of ev on s (which has room for one more). */
static void deliver_to(struct accounts *as, void *sess, struct accounts_acct *a, struct account_event *ev, void *arg)
{
	struct server *sv = arg;
	struct sess *s = sess;
	struct errbuf err = {""};
	struct evbuffer *buf = evbuffer_new();
	uint32_t *seqs = NULL;
	int n = build_delivers(sv, s, ev, buf, &seqs, &err);
	if (n < 0) {
		evbuffer_free(buf);
		log_error("smpp_server_deliver_failed", "conn=%s account=%s event=%" PRId64 " error=\"%s\"", cname(sv),
		          a->name, ev->id, err.msg);
		accounts_refuse(as, ev);
		return;
	}
	log_debug("smpp_server_deliver", "conn=%s sess=%" PRIu64 " account=%s event=%" PRId64 " kind=%s pdus=%d",
	          cname(sv), s->id, a->name, ev->id, ev->kind == ACCOUNT_EVENT_REPORT ? "report" : "inbound", n);
	int sent = link_send(s->link, evbuffer_pullup(buf, -1), evbuffer_get_length(buf));
	evbuffer_free(buf);
	struct accounts_part **ps = accounts_dlv_new(as, ev, s, n);
	for (int i = 0; i < n; i++)
		ps[i]->seq = seqs[i];
	/* A part that could not be sent or registered fails at once; the
	 * event is done after the last part (then d is freed). */
	for (int i = 0; i < n; i++)
		if (sent || link_request_add(s->link, ps[i]->seq, ps[i], 0, true))
			dpart_answer(sv, ps[i], false);
	free(ps);
	free(seqs);
}

static const struct accounts_ops deliver_ops = {
    .can_take = can_take,
    .deliver = deliver_to,
};

static void dpart_fail_drained(void *arg, uint32_t seq, void *data)
{
	struct sess *s = arg;
	(void)seq;
	if (is_dpart(data))
		dpart_answer(s->sv, data, false);
}

/* ---- the session state machine ---- */

/* The one place where a session changes state. */
static void sess_set(struct sess *s, enum sess_state to, const char *why)
{
	struct server *sv = s->sv;
	char q[200];
	if (s->state == to)
		return;
	log_debug("smpp_server_state", "conn=%s sess=%" PRIu64 " peer=%s from=%s to=%s why=%s", cname(sv), s->id,
	          s->peer, state_names[s->state], state_names[to], log_quote(why ? why : "", q, sizeof q));
	enum sess_state from = s->state;
	s->state = to;
	s->state_ms = now_mono_ms();
	switch (to) {
	case SS_OPEN:
		return;
	case SS_BINDING:
		return;
	case SS_BOUND:
		if (s->role == ROLE_RX || s->role == ROLE_TRX)
			accounts_add_rx(&sv->accts, s->acct, s);
		return;
	case SS_UNBINDING: {
		struct smpp_pdu *p = &sv->out;
		if (s->join) { /* held parts will not be completed: the client resends */
			smpp_join_flush(s->join);
			sess_join_poll(s);
		}
		uint32_t seq;
		uint64_t wait = (uint64_t)sv->conf->response_timeout_s * 1000;
		if (link_next_seq(s->link, &seq) ||
		    link_request_add(s->link, seq, REQ_UNBIND, 2 * (wait < STOP_WAIT_MAX_MS ? wait : STOP_WAIT_MAX_MS),
		                     false)) {
			s->unbind_done = true;
			return;
		}
		smpp_wire_pdu_reset(p, SMPP_UNBIND, seq);
		if (sess_send(s, p))
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
		if (s->link) {
			struct link *l = s->link;
			link_request_drain(l, dpart_fail_drained, s);
			s->link = NULL;
			link_free(l);
		}
		sv->nopen--;
		if (s->acct && (from == SS_BOUND || from == SS_UNBINDING)) {
			core_account_unbind(sv->c, s->acct->name);
			if (s->role == ROLE_RX || s->role == ROLE_TRX)
				accounts_remove_rx(&sv->accts, s->acct, s);
		}
		char qs[80];
		/* A session that never bound (a refused or hostile client) is
		 * logged at debug: a flood of them must not flood the log. */
		if (s->acct)
			log_info("smpp_server_closed", "conn=%s sess=%" PRIu64 " peer=%s system_id=%s reason=%s",
			         cname(sv), s->id, s->peer, log_quote(s->system_id, qs, sizeof qs),
			         log_quote(why ? why : "", q, sizeof q));
		else
			log_debug("smpp_server_closed", "conn=%s sess=%" PRIu64 " peer=%s system_id=%s reason=%s",
			          cname(sv), s->id, s->peer, log_quote(s->system_id, qs, sizeof qs),
			          log_quote(why ? why : "", q, sizeof q));
		return;
	}
	abort();
}

/* Frees closed sessions that no core answer refers to any more. */
static void reap_sessions(struct server *sv)
{
	for (struct sess *s = sv->sessions, *next; s; s = next) {
		next = s->next;
		if (s->state != SS_CLOSED || s->npend > 0)
			continue;
		if (s->prev)
			s->prev->next = s->next;
		else
			sv->sessions = s->next;
		if (s->next)
			s->next->prev = s->prev;
		smpp_join_free(s->join);
		free(s);
	}
}

/* ---- binds ---- */

static void on_bind(struct sess *s, const struct smpp_pdu *p)
{
	struct server *sv = s->sv;
	if (s->state != SS_OPEN) {
		uint32_t saved_seq = s->bind_seq, saved_cmd = s->bind_cmd;
		s->bind_seq = p->sequence_number;
		s->bind_cmd = p->command_id;
		sess_bind_resp(s, SMPP_ESME_RALYBND);
		s->bind_seq = saved_seq;
		s->bind_cmd = saved_cmd;
		return;
	}
	s->bind_seq = p->sequence_number;
	s->bind_cmd = p->command_id;
	uint8_t v = p->interface_version < 0x33 ? 0x33 : p->interface_version > 0x50 ? 0x50 : p->interface_version;
	s->version = v < sv->version ? v : sv->version;
	snprintf(s->system_id, sizeof s->system_id, "%s", p->system_id);
	s->role = p->command_id == SMPP_BIND_TRANSMITTER ? ROLE_TX
	          : p->command_id == SMPP_BIND_RECEIVER  ? ROLE_RX
	                                                 : ROLE_TRX;
	if (sv->stopping) {
		sess_bind_resp(s, SMPP_ESME_RBINDFAIL);
		sess_close_later(s, "bind while stopping");
		return;
	}
	sess_set(s, SS_BINDING, "bind");
	uint64_t token = pend_add(sv, s, p->sequence_number, p->command_id, NULL);
	core_authenticate(sv->c, p->system_id, p->password, s->ip, token);
}

static void server_authenticated(struct conn *c, uint64_t token, const struct account_info *account, const char *reason)
{
	struct server *sv = conn_driver_data(c);
	struct pend *p = pend_take(sv, token);
	if (!p)
		return;
	struct sess *s = p->s;
	free(p);
	char q[300];
	if (s->state != SS_BINDING) {
		log_debug("smpp_server_auth_dropped", "conn=%s sess=%" PRIu64 " reason=\"session gone\"", cname(sv),
		          s->id);
		goto out;
	}
	uint32_t status = 0;
	const char *why = NULL;
	struct accounts_acct *a = NULL;
	if (!account) {
		status = smpp_server_bind_status(reason);
		why = reason ? reason : "refused";
	} else if (sv->stopping) {
		status = SMPP_ESME_RBINDFAIL;
		why = "stopping";
	} else {
		a = accounts_get(&sv->accts, account);
		if (!core_account_bind(c, account)) {
			status = SMPP_ESME_RBINDFAIL;
			why = auth_refusal_text(AUTH_MAX_BINDS);
		}
	}
	if (status) {
		/* At most one line a second: a client failing in a loop does
		 * not flood the log (the core counts what it leaves out). */
		uint64_t now = now_mono_ms();
		if (now - sv->bind_refused_log_ms >= 1000 || !sv->bind_refused_log_ms) {
			char qs[80];
			log_info("smpp_server_bind_refused",
			         "conn=%s sess=%" PRIu64
			         " peer=%s system_id=%s mode=%s status=%s reason=%s not_logged=%u",
			         cname(sv), s->id, s->peer, log_quote(s->system_id, qs, sizeof qs), role_names[s->role],
			         status_name(status), log_quote(why, q, sizeof q), sv->bind_refused_quiet);
			sv->bind_refused_log_ms = now;
			sv->bind_refused_quiet = 0;
		} else {
			sv->bind_refused_quiet++;
		}
		sess_bind_resp(s, status);
		sess_close_later(s, "bind refused");
		goto out;
	}
	s->acct = a;
	sess_set(s, SS_BOUND, "authenticated");
	sess_bind_resp(s, 0);
	log_info("smpp_server_bound", "conn=%s sess=%" PRIu64 " peer=%s account=%s mode=%s version=0x%02X tls=%s",
	         cname(sv), s->id, s->peer, a->name, role_names[s->role], s->version, s->tls ? "yes" : "no");
	link_set_bound(s->link);
out:
	sess_close_if_done(s);
	if (sv->stopping)
		stop_progress(sv);
}

/* ---- submits ---- */

/* The user data of a submit_sm or data_sm: short_message or message_payload. */
static void pdu_data(const struct smpp_pdu *p, const uint8_t **d, size_t *n)
{
	*d = p->short_message;
	*n = p->sm_length;
	if (p->command_id == SMPP_DATA_SM || (*n == 0 && p->known.has_message_payload)) {
		*d = p->known.message_payload;
		*n = p->known.has_message_payload ? p->known.message_payload_len : 0;
	}
}

/* Sets the body of sub from user data d/n after a UDH of hl octets (keep_udh:
 * the UDH to keep with binary data, NULL/0 for none). */
static void submission_body(struct sess *s, uint8_t dc, const uint8_t *udh, size_t hl, const uint8_t *d, size_t n,
                            const uint8_t *keep_udh, size_t keep_len, struct submission *sub)
{
	enum smpp_alphabet a = smpp_wire_alphabet_dc0(dc, s->sv->conf->data_coding_0);
	int lock = 0, shift = 0;
	smpp_wire_langs(udh, hl, &lock, &shift);
	char *enc = NULL;
	smpp_wire_text_lang(a, lock, shift, d, n, &sub->body, &sub->payload, &enc);
	if (sub->payload) {
		sub->encoding = xstrdup("binary");
		if (keep_len)
			sub->udh = smpp_wire_hex(keep_udh, keep_len);
	} else {
		sub->encoding = xstrdup(strcmp(enc, "ucs2") == 0 ? "ucs2" : "auto");
	}
	free(enc);
}

/* Fills sub from a submit_sm or data_sm; with head_only, everything but the
 * text.  Returns 0 or the command_status to answer. */
static uint32_t submission_from_pdu(struct sess *s, const struct smpp_pdu *p, struct submission *sub, bool head_only)
{
	const uint8_t *d;
	size_t n;
	pdu_data(p, &d, &n);
	if (!p->destination_addr[0])
		return SMPP_ESME_RINVDSTADR;
	sub->recipient = smpp_wire_address_in(p->dest_addr_ton, p->destination_addr);
	sub->sender = p->source_addr[0] ? smpp_wire_address_in(p->source_addr_ton, p->source_addr) : NULL;
	int64_t now = now_wall_ms() / 1000;
	if (smpp_time_parse(p->schedule_delivery_time, now, &sub->send_after_s))
		return SMPP_ESME_RINVSCHED;
	if (smpp_time_parse(p->validity_period, now, &sub->valid_until_s))
		return SMPP_ESME_RINVEXPIRY;
	/* registered_delivery bits 0-1: 1 a receipt for every final state, 2 on
	 * failure only, 3 on success only (SMPP 5.0; reserved in 3.4). */
	sub->want_report = (p->registered_delivery & 0x03) != 0;
	sub->report_on = (p->registered_delivery & 0x03) == 2 ? 1 : (p->registered_delivery & 0x03) == 3 ? 2 : 0;
	sub->priority = p->priority_flag > 3 ? 9 : p->priority_flag * 3;
	uint8_t dc = p->data_coding;
	sub->msg_class = -1;
	if ((dc & 0xF0) == 0xF0 || ((dc & 0xC0) == 0 && (dc & 0x10)))
		sub->msg_class = dc & 0x03;
	if (p->known.has_user_message_reference) {
		char ref[16];
		snprintf(ref, sizeof ref, "%u", p->known.user_message_reference);
		sub->client_ref = xstrdup(ref);
	}
	/* A UDH: kept for binary data; dropped from a text.  (Concatenated
	 * parts do not come here: they are joined first.) */
	size_t hl = 0;
	if ((p->esm_class & 0x40) && n > 0) {
		struct udh u;
		struct errbuf err;
		if (udh_parse(d, n, &u, &err))
			return SMPP_ESME_RINVMSGLEN;
		hl = u.len;
	}
	if (!head_only)
		submission_body(s, dc, d, hl, d + hl, n - hl, d, hl, sub);
	return 0;
}

/* ---- concatenated submits (join.h) ---- */

/* What a held part keeps of its PDU: the submission without its text, and
 * what the joined text needs (data_coding, the UDH). */
struct jmeta {
	struct submission *sub;
	uint8_t dc;
	size_t hl;
	uint8_t udh[UDH_MAX_LEN + 1];
};

static void jmeta_free(void *arg)
{
	struct jmeta *m = arg;
	if (m->sub)
		submission_free(m->sub);
	free(m);
}

static void sess_respond_id(struct sess *s, uint32_t cmd, uint32_t seq, const char *id)
{
	struct smpp_pdu *r = &s->sv->out;
	smpp_wire_pdu_reset(r, cmd | SMPP_RESP_BIT, seq);
	snprintf(r->message_id, sizeof r->message_id, "%s", id);
	if (sess_send(s, r))
		log_error("smpp_server_respond_failed", "conn=%s sess=%" PRIu64 " seq=%u", cname(s->sv), s->id, seq);
}

/* Answers every part of set with status (never ESME_ROK) and frees it. */
static void join_refuse(struct sess *s, struct smpp_join_set *set, uint32_t status)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct smpp_join_held *h = set->parts[i];
		if (s->link) {
			link_inbound_end(s->link);
			sess_respond(s, h->cmd | SMPP_RESP_BIT, h->pdu_seq, status);
		}
	}
	smpp_join_set_free(s->join, set);
}

/* A complete set: one submission with the joined text, to the core. */
static void join_submit(struct sess *s, struct smpp_join_set *set)
{
	struct server *sv = s->sv;
	struct jmeta *m = set->parts[0]->meta; /* the lowest part number */
	struct submission *sub = m->sub;
	m->sub = NULL;
	uint8_t keep[UDH_MAX_LEN + 1];
	size_t keep_len = m->hl ? smpp_join_udh_strip(m->udh, m->hl, keep) : 0;
	submission_body(s, m->dc, m->udh, m->hl, set->msg->data, set->msg->len, keep, keep_len, sub);
	char *ref = smpp_join_client_ref(set->msg->total, sub->client_ref);
	free(sub->client_ref);
	sub->client_ref = ref;
	sub->account = xstrdup(s->acct->name);
	log_debug("smpp_server_joined", "conn=%s sess=%" PRIu64 " account=%s ref=%u parts=%u pdus=%zu", cname(sv),
	          s->id, s->acct->name, set->msg->ref, set->msg->total, set->n);
	uint64_t token = pend_add(sv, s, set->parts[0]->pdu_seq, set->parts[0]->cmd, set);
	core_submit(sv->c, sub, token);
}

/* Hands on what the session's holder finished: complete sets to the core,
 * the others answered ESME_RSUBMITFAIL. */
static void sess_join_poll(struct sess *s)
{
	struct smpp_join_set *set;
	uint64_t now = now_mono_ms();
	while (s->join && (set = smpp_join_poll(s->join, now))) {
		if (set->msg->status == REASM_COMPLETE && s->acct && s->link && !s->sv->stopping) {
			join_submit(s, set);
			continue;
		}
		log_info("smpp_server_join_incomplete",
		         "conn=%s sess=%" PRIu64 " account=%s ref=%u parts=%u received=%u status=ESME_RSUBMITFAIL",
		         cname(s->sv), s->id, s->acct ? s->acct->name : "-", set->msg->ref, set->msg->total,
		         set->msg->received);
		join_refuse(s, set, SMPP_ESME_RSUBMITFAIL);
	}
}

/* Holds one part of a concatenated submit (its throughput token and
 * inbound slot taken).  Returns 0 (held) or the status to answer. */
static uint32_t join_hold(struct sess *s, const struct smpp_pdu *p, const struct smpp_join_info *info)
{
	struct server *sv = s->sv;
	const uint8_t *d;
	size_t n;
	pdu_data(p, &d, &n);
	struct jmeta *m = xcalloc(1, sizeof *m);
	m->sub = xcalloc(1, sizeof *m->sub);
	uint32_t status = submission_from_pdu(s, p, m->sub, true);
	if (status) {
		jmeta_free(m);
		return status;
	}
	m->dc = p->data_coding;
	m->hl = info->udh_len;
	memcpy(m->udh, d, m->hl);
	if (!s->join)
		s->join = smpp_join_new((size_t)sv->conf->reassembly_max_parts,
		                        (uint64_t)sv->conf->reassembly_timeout_s * 1000, jmeta_free);
	int rc = smpp_join_add(s->join, p->destination_addr, p->source_addr, info, p->sequence_number, p->command_id,
	                       d + m->hl, n - m->hl, m, now_mono_ms());
	if (rc) {
		jmeta_free(m);
		return rc == -ENOBUFS ? SMPP_ESME_RMSGQFUL : SMPP_ESME_RINVMSGLEN;
	}
	return 0;
}

static void on_submit(struct sess *s, const struct smpp_pdu *p)
{
	struct server *sv = s->sv;
	uint32_t resp = p->command_id | SMPP_RESP_BIT;
	if (s->state == SS_UNBINDING || sv->stopping) {
		sess_respond(s, resp, p->sequence_number, SMPP_ESME_RSYSERR);
		return;
	}
	if (s->state != SS_BOUND || s->role == ROLE_RX) {
		sess_respond(s, resp, p->sequence_number, SMPP_ESME_RINVBNDSTS);
		return;
	}
	if (core_account_take(sv->c, s->acct->name, s->acct->throughput, 1)) {
		log_debug("smpp_server_throttled", "conn=%s sess=%" PRIu64 " account=%s", cname(sv), s->id,
		          s->acct->name);
		sess_respond(s, resp, p->sequence_number, SMPP_ESME_RTHROTTLED);
		return;
	}
	if (!link_inbound_begin(s->link)) {
		/* The client pipelines more than max_pending while the database
		 * answers: refused here, so memory stays bounded. */
		log_debug("smpp_server_pending_full", "conn=%s sess=%" PRIu64 " account=%s", cname(sv), s->id,
		          s->acct->name);
		sess_respond(s, resp, p->sequence_number, SMPP_ESME_RTHROTTLED);
		return;
	}
	const uint8_t *d;
	size_t n;
	struct smpp_join_info info;
	pdu_data(p, &d, &n);
	if (smpp_join_info(p, d, n, &info) == 0 && info.multi) {
		uint32_t st = join_hold(s, p, &info);
		if (st) {
			link_inbound_end(s->link);
			log_info("smpp_server_submit_refused", "conn=%s sess=%" PRIu64 " account=%s seq=%u status=%s",
			         cname(sv), s->id, s->acct->name, p->sequence_number, status_name(st));
			sess_respond(s, resp, p->sequence_number, st);
			return;
		}
		sess_join_poll(s);
		return;
	}
	struct submission *sub = xcalloc(1, sizeof *sub);
	uint32_t status = submission_from_pdu(s, p, sub, false);
	if (status) {
		link_inbound_end(s->link);
		log_info("smpp_server_submit_refused", "conn=%s sess=%" PRIu64 " account=%s seq=%u status=%s",
		         cname(sv), s->id, s->acct->name, p->sequence_number, status_name(status));
		submission_free(sub);
		sess_respond(s, resp, p->sequence_number, status);
		return;
	}
	sub->account = xstrdup(s->acct->name);
	uint64_t token = pend_add(sv, s, p->sequence_number, p->command_id, NULL);
	core_submit(sv->c, sub, token);
}

static void server_submitted(struct conn *c, uint64_t token, int64_t message_id, enum submit_error error,
                             const char *text)
{
	struct server *sv = conn_driver_data(c);
	struct pend *p = pend_take(sv, token);
	if (!p)
		return;
	struct sess *s = p->s;
	uint32_t seq = p->seq, cmd = p->cmd;
	struct smpp_join_set *set = p->set;
	free(p);
	uint32_t status = error == SUBMIT_OK && message_id > 0 ? 0 : smpp_server_submit_status(error, text);
	if (error == SUBMIT_OK && message_id <= 0)
		status = SMPP_ESME_RSYSERR;
	if (set) {
		/* A joined submit: every part answered now that it is committed,
		 * each with its own id (the receipts use the same ones). */
		log_debug("smpp_server_submitted", "conn=%s sess=%" PRIu64 " id=%" PRId64 " parts=%zu status=%s",
		          cname(sv), s->id, message_id, set->n, status ? status_name(status) : "ESME_ROK");
		if (status)
			join_refuse(s, set, status);
		else {
			for (size_t i = 0; i < set->n; i++) {
				char id[40];
				snprintf(id, sizeof id, "%" PRId64 "-%u", message_id, set->parts[i]->part);
				if (s->link) {
					link_inbound_end(s->link);
					sess_respond_id(s, set->parts[i]->cmd, set->parts[i]->pdu_seq, id);
				}
			}
			smpp_join_set_free(s->join, set);
		}
		sess_close_if_done(s);
		if (sv->stopping)
			stop_progress(sv);
		return;
	}
	char q[300];
	if (status)
		log_info("smpp_server_submit_refused", "conn=%s sess=%" PRIu64 " account=%s seq=%u status=%s text=%s",
		         cname(sv), s->id, s->acct ? s->acct->name : "-", seq, status_name(status),
		         log_quote(text ? text : "", q, sizeof q));
	else
		log_debug("smpp_server_submitted", "conn=%s sess=%" PRIu64 " seq=%u id=%" PRId64, cname(sv), s->id, seq,
		          message_id);
	if (s->link)
		link_inbound_end(s->link);
	if (!s->link) {
		log_debug("smpp_server_answer_dropped", "conn=%s sess=%" PRIu64 " seq=%u reason=\"session gone\"",
		          cname(sv), s->id, seq);
	} else if (status) {
		sess_respond(s, cmd | SMPP_RESP_BIT, seq, status);
	} else {
		struct smpp_pdu *r = &sv->out;
		smpp_wire_pdu_reset(r, cmd | SMPP_RESP_BIT, seq);
		snprintf(r->message_id, sizeof r->message_id, "%" PRId64, message_id);
		if (sess_send(s, r))
			log_error("smpp_server_respond_failed", "conn=%s sess=%" PRIu64 " seq=%u", cname(sv), s->id,
			          seq);
	}
	sess_close_if_done(s);
	if (sv->stopping)
		stop_progress(sv);
}

/* ---- reading PDUs ---- */

static void sess_bad_pdu(struct sess *s, const struct smpp_pdu_error *e)
{
	struct server *sv = s->sv;
	char q[200];
	s->bad_pdus++;
	if (s->bad_pdus == 1)
		log_warn("smpp_server_bad_pdu",
		         "conn=%s sess=%" PRIu64 " peer=%s command=0x%08X seq=%u status=%s reason=%s", cname(sv), s->id,
		         s->peer, e->command_id, e->sequence_number, status_name(e->status),
		         log_quote(e->reason, q, sizeof q));
	if (e->header_read && (e->command_id == SMPP_DELIVER_SM_RESP || e->command_id == SMPP_DATA_SM_RESP)) {
		struct accounts_part *dp = dpart_take(s, e->sequence_number);
		if (dp)
			dpart_answer(sv, dp, false);
	}
	if (e->header_read && !e->generic_nack)
		sess_respond(s, e->command_id | SMPP_RESP_BIT, e->sequence_number, e->status);
	else if (!(e->header_read && (e->command_id & SMPP_RESP_BIT)))
		sess_respond(s, SMPP_GENERIC_NACK, e->header_read ? e->sequence_number : 0, e->status);
	if (s->bad_pdus >= BAD_PDU_LIMIT)
		sess_close_later(s, "the ESME keeps sending malformed PDUs");
}

static void on_deliver_resp(struct sess *s, const struct smpp_pdu *p)
{
	struct server *sv = s->sv;
	struct accounts_part *dp = dpart_take(s, p->sequence_number);
	if (!dp) {
		log_debug("smpp_server_unknown_resp", "conn=%s sess=%" PRIu64 " seq=%u status=0x%08X", cname(sv), s->id,
		          p->sequence_number, p->command_status);
		return;
	}
	if (p->command_status)
		log_info("smpp_server_deliver_refused", "conn=%s sess=%" PRIu64 " event=%" PRId64 " status=%s",
		         cname(sv), s->id, dp->d->ev->id, status_name(p->command_status));
	dpart_answer(sv, dp, p->command_status == 0);
}

static void sess_pdu(struct sess *s, const uint8_t *buf, size_t len)
{
	struct server *sv = s->sv;
	struct smpp_pdu *p = &sv->in;
	struct smpp_pdu_error e;
	if (smpp_pdu_decode(buf, len, p, &e)) {
		sess_bad_pdu(s, &e);
		return;
	}
	log_debug("smpp_server_rx", "conn=%s sess=%" PRIu64 " command=%s seq=%u status=0x%08X", cname(sv), s->id,
	          smpp_pdu_command_name(p->command_id), p->sequence_number, p->command_status);
	switch (p->command_id) {
	case SMPP_BIND_TRANSCEIVER:
	case SMPP_BIND_TRANSMITTER:
	case SMPP_BIND_RECEIVER:
		on_bind(s, p);
		return;
	case SMPP_SUBMIT_SM:
	case SMPP_DATA_SM:
		on_submit(s, p);
		return;
	case SMPP_DELIVER_SM_RESP:
	case SMPP_DATA_SM_RESP:
		on_deliver_resp(s, p);
		return;
	case SMPP_GENERIC_NACK:
		if (link_request_find(s->link, p->sequence_number) == LINK_KEEPALIVE) {
			(void)link_request_take(s->link, p->sequence_number);
			return;
		}
		if (s->state == SS_UNBINDING && link_request_find(s->link, p->sequence_number) == REQ_UNBIND) {
			(void)link_request_take(s->link, p->sequence_number);
			s->unbind_done = true;
			if (s->revoked)
				sess_close_later(s, "account changed: unbound");
			stop_progress(sv);
			return;
		}
		on_deliver_resp(s, p);
		return;
	case SMPP_ENQUIRE_LINK:
		sess_respond(s, SMPP_ENQUIRE_LINK_RESP, p->sequence_number, 0);
		return;
	case SMPP_ENQUIRE_LINK_RESP:
		if (link_request_find(s->link, p->sequence_number) == LINK_KEEPALIVE)
			(void)link_request_take(s->link, p->sequence_number);
		return;
	case SMPP_UNBIND:
		sess_respond(s, SMPP_UNBIND_RESP, p->sequence_number, 0);
		sess_close_later(s, "unbind from the ESME");
		return;
	case SMPP_UNBIND_RESP:
		if (s->state == SS_UNBINDING && link_request_find(s->link, p->sequence_number) == REQ_UNBIND) {
			(void)link_request_take(s->link, p->sequence_number);
			s->unbind_done = true;
			if (s->revoked)
				sess_close_later(s, "account changed: unbound");
			stop_progress(sv);
		}
		return;
	case SMPP_QUERY_SM:
		sess_respond(s, SMPP_QUERY_SM_RESP, p->sequence_number, SMPP_ESME_RQUERYFAIL);
		return;
	case SMPP_CANCEL_SM:
		sess_respond(s, SMPP_CANCEL_SM_RESP, p->sequence_number, SMPP_ESME_RCANCELFAIL);
		return;
	case SMPP_REPLACE_SM:
		sess_respond(s, SMPP_REPLACE_SM_RESP, p->sequence_number, SMPP_ESME_RREPLACEFAIL);
		return;
	default:
		if (!(p->command_id & SMPP_RESP_BIT))
			sess_respond(s, SMPP_GENERIC_NACK, p->sequence_number, SMPP_ESME_RINVCMDID);
		return;
	}
}

/* ---- link callbacks ---- */

static void link_on_frame(struct link *l, void *arg, const uint8_t *buf, size_t len)
{
	(void)l;
	sess_pdu(arg, buf, len);
}

static void link_on_down(struct link *l, void *arg, const char *reason)
{
	struct sess *s = arg;
	struct server *sv = s->sv;
	(void)l;
	char why[400];
	snprintf(why, sizeof why, "%s (%s)", reason, state_names[s->state]);
	sess_set(s, SS_CLOSED, why);
	if (sv->stopping)
		stop_progress(sv);
}

static void link_on_timeout(struct link *l, void *arg, uint32_t seq, void *data)
{
	struct sess *s = arg;
	struct server *sv = s->sv;
	(void)l;
	if (data == REQ_UNBIND) {
		if (s->revoked)
			sess_close_later(s, "account changed: no unbind_resp");
		stop_progress(sv); /* closes it: no unbind_resp */
		return;
	}
	struct accounts_part *p = data;
	log_info("smpp_server_deliver_timeout", "conn=%s sess=%" PRIu64 " seq=%u event=%" PRId64, cname(sv), s->id, seq,
	         p->d->ev->id);
	dpart_answer(sv, p, false);
}

static int link_on_keepalive(struct link *l, void *arg, uint32_t seq)
{
	struct sess *s = arg;
	struct smpp_pdu *p = &s->sv->out;
	(void)l;
	smpp_wire_pdu_reset(p, SMPP_ENQUIRE_LINK, seq);
	return sess_send(s, p);
}

static void link_on_bad_stream(struct link *l, void *arg, const char *reason)
{
	struct sess *s = arg;
	(void)l;
	(void)reason; /* logged by the link */
	sess_respond(s, SMPP_GENERIC_NACK, 0, SMPP_ESME_RINVCMDLEN);
	s->close_reason = "the ESME sent a stream that cannot be framed";
}

static void link_on_writable(struct link *l, void *arg)
{
	struct sess *s = arg;
	(void)l;
	if (s->acct)
		accounts_drain(&s->sv->accts, s->acct);
	if (s->sv->stopping)
		stop_progress(s->sv);
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

static void *accept_cb(struct link_listener *ls, void *arg, struct link *l)
{
	struct server *sv = arg;
	(void)ls;
	if (sv->stopping || sv->nopen >= sv->conf->max_sessions) {
		sv->refused++;
		uint64_t now = now_mono_ms();
		if (now - sv->refused_log_ms >= REFUSE_LOG_INTERVAL_MS) {
			log_warn("smpp_server_refused", "conn=%s sessions=%d max_sessions=%lld refused=%d", cname(sv),
			         sv->nopen, sv->conf->max_sessions, sv->refused);
			sv->refused_log_ms = now;
			sv->refused = 0;
		}
		return NULL;
	}
	struct sess *s = xcalloc(1, sizeof *s);
	s->sv = sv;
	s->id = ++sv->next_sess_id;
	s->link = l;
	s->tls = link_is_tls(l);
	s->state = SS_OPEN;
	s->state_ms = now_mono_ms();
	snprintf(s->ip, sizeof s->ip, "%s", link_peer_ip(l));
	snprintf(s->peer, sizeof s->peer, "%s", link_peer(l));
	s->next = sv->sessions;
	if (sv->sessions)
		sv->sessions->prev = s;
	sv->sessions = s;
	sv->nopen++;
	log_debug("smpp_server_accepted", "conn=%s sess=%" PRIu64 " peer=%s tls=%s", cname(sv), s->id, s->peer,
	          s->tls ? "yes" : "no");
	return s;
}

/* Opens listener i (0 listen, 1 tls_listen).  Returns 0 or -1 with why. */
static int listen_one(struct server *sv, int i, const char *addr, char *why, size_t cap)
{
	const struct smpp_server_conf *conf = sv->conf;
	uint64_t timeout = (uint64_t)conf->response_timeout_s * 1000;
	struct link_listen_opts o = {
	    .addr = addr,
	    .ssl_ctx = i == 1 || conf->tls ? sv->ssl_ctx : NULL,
	    .max_sessions = (int)conf->max_sessions,
	    .max_per_address = (int)conf->max_sessions_per_address,
	    .link =
	        {
	            .name = cname(sv),
	            .max_frame = (size_t)conf->max_pdu_len,
	            .response_timeout_ms = timeout,
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
	        },
	};
	struct errbuf err = {""};
	sv->lis[i] = link_listen(conn_event_base(sv->c), &o, &sess_link_ops, accept_cb, sv, &err);
	if (!sv->lis[i]) {
		snprintf(why, cap, "%s", err.msg);
		return -1;
	}
	return 0;
}

/* Opens the listeners; reports CONN_UP, or retries from the tick. */
static void server_listen(struct server *sv)
{
	const struct smpp_server_conf *conf = sv->conf;
	char why[400], detail[700];
	for (int i = 0; i < 2; i++) {
		const char *addr = i == 0 ? conf->listen : conf->tls_listen;
		if (!addr || sv->lis[i])
			continue;
		if (listen_one(sv, i, addr, why, sizeof why)) {
			log_warn("smpp_server_listen_failed", "conn=%s error=\"%s\" retry_ms=5000", cname(sv), why);
			snprintf(detail, sizeof detail, "%s; retry in 5000 ms", why);
			core_conn_state(sv->c, CONN_CONNECTING, detail);
			sv->listen_retry_ms = now_mono_ms() + 5000;
			return;
		}
	}
	bool plain_tls = conf->tls;
	const char *a0 = link_listener_addr(sv->lis[0]), *a1 = sv->lis[1] ? link_listener_addr(sv->lis[1]) : "-";
	snprintf(detail, sizeof detail, "listening on %s%s%s%s", a0, plain_tls ? " (tls)" : "",
	         conf->tls_listen ? " and tls " : "", conf->tls_listen ? a1 : "");
	log_info("smpp_server_listening", "conn=%s addr=%s tls=%s tls_addr=%s", cname(sv), a0, plain_tls ? "yes" : "no",
	         a1);
	sv->up = true;
	core_conn_state(sv->c, CONN_UP, detail);
}

/* ---- timers ---- */

/* Session timeouts (deliver_sm, enquire_link, bind, inactivity, a peer
 * that does not read) are the link's; this tick retries listening, frees
 * closed sessions and moves a stop on. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *sv = arg;
	if (!sv->up && !sv->stopping && now_mono_ms() >= sv->listen_retry_ms)
		server_listen(sv);
	for (struct sess *s = sv->sessions; s; s = s->next)
		if (s->join && s->state == SS_BOUND)
			sess_join_poll(s); /* incomplete sets past reassembly_timeout_s */
	reap_sessions(sv);
	if (sv->stopping)
		stop_progress(sv);
}

/* ---- stop ---- */

static void server_finish_stop(struct server *sv)
{
	/* Every event we hold goes back before core_stopped(). */
	accounts_stop(&sv->accts);
	sv->stopped = true;
	event_del(sv->tick_ev);
	core_conn_state(sv->c, CONN_DOWN, "stopped");
	core_stopped(sv->c);
}

/* Unbound sessions close at once; bound ones are sent unbind and close on
 * unbind_resp (or after a bounded wait) once their submits are answered;
 * the server stops when no session and no core call is left. */
static void stop_progress(struct server *sv)
{
	if (!sv->stopping || sv->stopped)
		return;
	uint64_t now = now_mono_ms();
	uint64_t limit = (uint64_t)sv->conf->response_timeout_s * 1000;
	if (limit > STOP_WAIT_MAX_MS)
		limit = STOP_WAIT_MAX_MS;
	bool any = false;
	for (struct sess *s = sv->sessions; s; s = s->next) {
		switch (s->state) {
		case SS_OPEN:
			sess_set(s, SS_CLOSED, "stopping");
			break;
		case SS_BINDING: /* authenticated() refuses it and sets close_reason */
			break;
		case SS_BOUND:
			sess_set(s, SS_UNBINDING, "stop");
			break;
		case SS_UNBINDING:
			if (s->npend == 0 && (s->unbind_done || now - s->state_ms > limit) &&
			    (!s->link || link_output_len(s->link) == 0 || now - s->state_ms > 2 * limit))
				sess_set(s, SS_CLOSED, s->unbind_done ? "unbound" : "no unbind_resp");
			break;
		case SS_CLOSED:
			break;
		}
		any |= s->state != SS_CLOSED;
	}
	if (any || sv->pends.n > 0)
		return;
	server_finish_stop(sv); /* closed sessions are freed by close() */
}

static void server_stop(struct conn *c)
{
	struct server *sv = conn_driver_data(c);
	log_info("smpp_server_stopping", "conn=%s sessions=%d pending=%d deliveries=%d", cname(sv), sv->nopen,
	         sv->pends.n, sv->accts.nparts);
	sv->stopping = true;
	sv->accts.stopping = true;
	sv->stop_ms = now_mono_ms();
	for (int i = 0; i < 2; i++)
		if (sv->lis[i]) {
			link_listener_free(sv->lis[i]);
			sv->lis[i] = NULL;
		}
	core_conn_state(c, CONN_STOPPING, "unbinding");
	stop_progress(sv);
}

/* The account's access changed: each of its bound sessions gets an unbind
 * and is closed at its unbind_resp (or the response timeout); sessions still
 * binding are refused by the login's answer or bind again later. */
static void server_account_revoked(struct conn *c, const char *account)
{
	struct server *sv = conn_driver_data(c);
	char q[80];
	for (struct sess *s = sv->sessions; s; s = s->next) {
		if (s->state != SS_BOUND || !s->acct || (*account && strcmp(s->acct->name, account) != 0))
			continue;
		log_info("smpp_server_revoked",
		         "conn=%s sess=%" PRIu64 " peer=%s account=%s reason=\"account changed\"", cname(sv), s->id,
		         s->peer, log_quote(s->acct->name, q, sizeof q));
		s->revoked = true;
		/* Submits from now on are refused (UNBINDING); the unbind_resp is
		 * still read. */
		sess_set(s, SS_UNBINDING, "account changed");
		if (s->unbind_done)
			sess_close_later(s, "account changed");
	}
}

/* ---- open / close ---- */

static int server_open(struct conn *c)
{
	const struct smpp_server_conf *conf = conn_conf(c);
	struct server *sv = xcalloc(1, sizeof *sv);
	sv->c = c;
	sv->conf = conf;
	sv->version = smpp_server_conf_version(conf);
	sv->concat_ref = link_random();
	sv->accts =
	    (struct accounts){.c = c, .ops = &deliver_ops, .arg = sv, .wait_per_session = 2 * (int)conf->window};
	if (conf->tls || conf->tls_listen) {
		char q[300];
		struct errbuf err = {""};
		sv->ssl_ctx = link_tls_server_ctx(conf->tls_cert_file, conf->tls_key_file, &err);
		if (!sv->ssl_ctx) {
			log_error("smpp_server_tls", "conn=%s error=%s", conn_name(c), log_quote(err.msg, q, sizeof q));
			goto fail;
		}
	}
	sv->tick_ev = event_new(conn_event_base(c), -1, EV_PERSIST, tick_cb, sv);
	struct timeval tv;
	tv_ms(&tv, TICK_MS);
	event_add(sv->tick_ev, &tv);
	conn_set_driver_data(c, sv);
	server_listen(sv);
	return 0;
fail:
	ERR_clear_error();
	if (sv->ssl_ctx)
		SSL_CTX_free(sv->ssl_ctx);
	free(sv);
	return -1;
}

static void dpart_forget(void *arg, uint32_t seq, void *data)
{
	(void)seq;
	if (is_dpart(data))
		accounts_part_forget(arg, data);
}

static void server_close(struct conn *c)
{
	struct server *sv = conn_driver_data(c);
	if (!sv)
		return;
	for (int i = 0; i < 2; i++)
		link_listener_free(sv->lis[i]);
	/* Only after a forced stop is anything left; the core gives up on it. */
	for (struct sess *s = sv->sessions; s; s = s->next)
		if (s->link) {
			link_request_drain(s->link, dpart_forget, &sv->accts);
			link_free(s->link);
			s->link = NULL;
		}
	tokens_clear(&sv->pends, pend_free);
	for (struct sess *s = sv->sessions, *n; s; s = n) {
		n = s->next;
		smpp_join_free(s->join);
		free(s);
	}
	accounts_free(&sv->accts);
	event_free(sv->tick_ev);
	if (sv->ssl_ctx)
		SSL_CTX_free(sv->ssl_ctx);
	free(sv);
	conn_set_driver_data(c, NULL);
}

const struct driver_ops smpp_server_driver = {
    .name = "smpp-server",
    .caps = CAP_LISTEN,
    .settings = smpp_server_conf_settings,
    .conf_size = sizeof(struct smpp_server_conf),
    .check = smpp_server_conf_check,
    .open = server_open,
    .stop = server_stop,
    .close = server_close,
    .authenticated = server_authenticated,
    .submitted = server_submitted,
    .deliver = server_deliver,
    .account_revoked = server_account_revoked,
};
