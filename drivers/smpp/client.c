/*
 * smpp client: smspool as an ESME, connection type "smpp".
 *
 * Layers, kept apart:
 * - codec: pdu.c / receipt.c / status.c (pure, fuzzed), conf.c (settings),
 *   wire.c (text and address helpers shared with the server, server.c);
 * - session: one `enum smpp_state` per TCP session, changed only through
 *   session_set(), whose single switch does each state's entry work and logs
 *   every transition at debug.  With bind_mode "transceiver" there is one
 *   session; with "transmitter+receiver" two, bound and lost together;
 * - transport: the link layer (net/link.h): framing, the table of
 *   outstanding requests with their deadlines, enquire_link as its
 *   keepalive, TLS, reconnect backoff; nothing here blocks.
 *
 * Ownership: a message lent by submit() lives in a `struct submits_msg` (src/net/submits.c) until
 * every one of its submit_sm PDUs is answered, times out or its session is
 * lost; then it is completed exactly once.  An inbound text or report is
 * handed to the core with a token; the deliver_sm_resp waits in src/net/inacks.c
 * until acked() says whether the database committed it.  A long inbound
 * text is answered part by part only once the whole (or what arrived before
 * the reassembly timeout) is committed, so a crash never loses a part the
 * SMSC believes delivered.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/ssl.h>

#include "codec/gsm7.h"
#include "codec/reasm.h"
#include "codec/sms.h"
#include "codec/ucs2.h"
#include "codec/udh.h"
#include "codec/utf8.h"
#include "driver.h"
#include "log.h"
#include "msg_sms.h"
#include "net/addr.h"
#include "net/dialer.h"
#include "net/inacks.h"
#include "net/link.h"
#include "net/submits.h"
#include "smpp/client.h"
#include "smpp/conf.h"
#include "smpp/pdu.h"
#include "smpp/receipt.h"
#include "smpp/status.h"
#include "smpp/wire.h"
#include "util.h"

static const char *const state_names[] = {"disconnected", "connecting", "binding", "bound", "unbinding"};
static const char *const role_names[] = {"trx", "tx", "rx"};
enum { TICK_MS = 200 };

const char smpp_client_req_bind = 0, smpp_client_req_unbind = 0;

static void client_lost(struct client *cl, const char *reason);

/* ---- small helpers ---- */

const char *smpp_client_cname(const struct client *cl)
{
	return conn_name(cl->c);
}

static void tv_ms(struct timeval *tv, uint64_t ms)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

/* ---- transport ---- */

int smpp_client_send(struct session *s, const struct smpp_pdu *p)
{
	struct client *cl = s->cl;
	size_t n;
	struct errbuf err = {""};
	if (!s->link)
		return -1;
	if (smpp_pdu_encode(p, cl->obuf, sizeof cl->obuf, &n, &err)) {
		log_error("smpp_encode_failed", "conn=%s session=%s command=%s error=\"%s\"", smpp_client_cname(cl),
		          role_names[s->role], smpp_pdu_command_name(p->command_id), err.msg);
		return -1;
	}
	return link_send(s->link, cl->obuf, n);
}

/* Sends a response (or generic_nack) to seq; header-only unless OK. */
void smpp_client_respond(struct session *s, uint32_t command_id, uint32_t seq, uint32_t status)
{
	struct smpp_pdu *p = &s->cl->out;
	smpp_wire_pdu_reset(p, command_id, seq);
	p->command_status = status;
	p->body_absent = status != 0 && command_id != SMPP_GENERIC_NACK;
	if (smpp_client_send(s, p))
		log_error("smpp_respond_failed", "conn=%s seq=%u", smpp_client_cname(s->cl), seq);
}

static const struct link_ops session_link_ops;

/* The options of a session's link. */
static struct link_opts link_opts_of(const struct client *cl)
{
	const struct smpp_conf *conf = cl->conf;
	return (struct link_opts){
	    .name = smpp_client_cname(cl),
	    .max_frame = SMPP_PDU_MAX_LEN,
	    .response_timeout_ms = (uint64_t)conf->response_timeout_s * 1000,
	    .keepalive_ms = (uint64_t)conf->enquire_link_s * 1000,
	    .seq_min = 1,
	    .seq_max = 0x7FFFFFFF,
	    .window = 1024, /* the core keeps to the connection's window; this sizes the table */
	};
}

/* Starts the TCP (or TLS) connection.  Returns 0 or -1 with why set. */
static int session_open_socket(struct session *s, char *why, size_t cap)
{
	struct client *cl = s->cl;
	struct link_opts o = link_opts_of(cl);
	s->link = dialer_connect(&cl->dial, &o, &session_link_ops, s, why, cap);
	return s->link ? 0 : -1;
}

static void session_send_bind(struct session *s)
{
	struct client *cl = s->cl;
	const struct smpp_conf *conf = cl->conf;
	static const uint32_t cmd[] = {SMPP_BIND_TRANSCEIVER, SMPP_BIND_TRANSMITTER, SMPP_BIND_RECEIVER};
	struct smpp_pdu *p = &cl->out;
	uint32_t seq;
	if (link_next_seq(s->link, &seq) || link_request_add(s->link, seq, REQ_BIND, 0, false)) {
		client_lost(cl, "no sequence number for the bind");
		return;
	}
	smpp_wire_pdu_reset(p, cmd[s->role], seq);
	snprintf(p->system_id, sizeof p->system_id, "%s", conf->system_id);
	snprintf(p->password, sizeof p->password, "%s", conf->password);
	snprintf(p->system_type, sizeof p->system_type, "%s", conf->system_type);
	snprintf(p->address_range, sizeof p->address_range, "%s", conf->address_range);
	p->interface_version = smpp_conf_version(conf);
	if (smpp_client_send(s, p))
		client_lost(cl, "cannot encode the bind");
}

static void part_fail_drained(void *arg, uint32_t seq, void *data)
{
	struct session *s = arg;
	struct client *cl = s->cl;
	(void)seq;
	if (smpp_client_submit_is_part(data))
		smpp_client_submit_answer(cl, data, 0, NULL,
		                          cl->stopping ? "stopped before answer" : "connection lost");
}

/* ---- the session state machine ---- */

/* The one place where a session changes state.  Returns 0, or -1 when the
 * entry work failed (the caller then treats the session as lost). */
static int session_set(struct session *s, enum smpp_state to, const char *why)
{
	struct client *cl = s->cl;
	char q[200];
	log_debug("smpp_state", "conn=%s session=%s gen=%" PRIu64 " from=%s to=%s why=%s", smpp_client_cname(cl),
	          role_names[s->role], s->gen, state_names[s->state], state_names[to],
	          log_quote(why ? why : "", q, sizeof q));
	s->state = to;
	s->state_ms = now_mono_ms();
	switch (to) {
	case SMPP_DISCONNECTED:
		if (s->link) {
			struct link *l = s->link;
			link_request_drain(l, part_fail_drained, s);
			s->link = NULL;
			link_free(l);
		}
		return 0;
	case SMPP_CONNECTING: {
		s->gen = ++cl->next_gen;
		s->bad_pdus = 0;
		char err[300];
		if (session_open_socket(s, err, sizeof err)) {
			log_warn("smpp_connect_failed", "conn=%s session=%s error=%s", smpp_client_cname(cl),
			         role_names[s->role], log_quote(err, q, sizeof q));
			return -1;
		}
		return 0;
	}
	case SMPP_BINDING:
		session_send_bind(s);
		return 0;
	case SMPP_BOUND:
		link_set_bound(s->link); /* enquire_link from now on */
		return 0;
	case SMPP_UNBINDING: {
		struct smpp_pdu *p = &cl->out;
		uint64_t wait = (uint64_t)cl->conf->response_timeout_s * 1000;
		uint32_t seq;
		if (link_next_seq(s->link, &seq) ||
		    link_request_add(s->link, seq, REQ_UNBIND, wait < STOP_WAIT_MAX_MS ? wait : STOP_WAIT_MAX_MS,
		                     false))
			return -1;
		smpp_wire_pdu_reset(p, SMPP_UNBIND, seq);
		return smpp_client_send(s, p);
	}
	}
	abort();
}

static bool all_sessions(struct client *cl, enum smpp_state st)
{
	for (int i = 0; i < cl->nsess; i++)
		if (cl->sess[i].state != st)
			return false;
	return true;
}

static void release_held(struct client *cl)
{
	struct msg *m;
	while ((m = msg_list_pop(&cl->held))) {
		msg_set_failed(m, MSG_RELEASE, NULL, NULL);
		core_complete(cl->c, m);
	}
}

static void client_connect(struct client *cl)
{
	struct dialer_conf dc = DIALER_CONF_OF(cl->conf);
	if (dialer_pick(&cl->dial, &dc, cl->c, "smpp")) {
		client_lost(cl, "bad peer address");
		return;
	}
	for (int i = 0; i < cl->nsess; i++)
		if (session_set(&cl->sess[i], SMPP_CONNECTING, "connect")) {
			client_lost(cl, "cannot connect");
			return;
		}
}

static void reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	if (!cl->stopping)
		client_connect(cl);
}

static void client_finish_stop(struct client *cl)
{
	if (cl->stopped)
		return;
	for (int i = 0; i < cl->nsess; i++)
		if (cl->sess[i].state != SMPP_DISCONNECTED)
			session_set(&cl->sess[i], SMPP_DISCONNECTED, "stopped");
	release_held(cl);
	/* Deliveries not yet committed, and parts of long texts, were never
	 * answered: the SMSC sends them again. */
	if (inacks_waiting(&cl->inacks) || inacks_partial(&cl->inacks))
		log_info("smpp_stop_unanswered", "conn=%s deliveries=%d partial_texts=%zu", smpp_client_cname(cl),
		         inacks_waiting(&cl->inacks), inacks_partial(&cl->inacks));
	cl->stopped = true;
	event_del(cl->tick_ev);
	dialer_cancel(&cl->dial);
	event_del(cl->resume_ev);
	core_conn_state(cl->c, CONN_DOWN, "stopped");
	core_stopped(cl->c);
}

/* Every session is given up; retry after a backoff (or finish a stop). */
static void client_lost(struct client *cl, const char *reason)
{
	if (cl->stopped)
		return;
	for (int i = 0; i < cl->nsess; i++)
		if (cl->sess[i].state != SMPP_DISCONNECTED)
			session_set(&cl->sess[i], SMPP_DISCONNECTED, reason);
	cl->up = false;
	if (cl->stopping) {
		client_finish_stop(cl);
		return;
	}
	release_held(cl);
	struct dialer_conf dc = DIALER_CONF_OF(cl->conf);
	dialer_lost(&cl->dial, &dc, cl->c, "smpp", reason);
}

static void session_bound(struct session *s)
{
	struct client *cl = s->cl;
	if (session_set(s, SMPP_BOUND, "bind_resp ok"))
		return;
	if (!all_sessions(cl, SMPP_BOUND))
		return;
	cl->up = true;
	dialer_up(&cl->dial);
	char detail[300];
	snprintf(detail, sizeof detail, "bound to %s:%d as %s", cl->dial.host, cl->dial.port,
	         cl->nsess == 2 ? "transmitter+receiver" : "transceiver");
	core_conn_state(cl->c, CONN_UP, detail);
}

/* ---- reading PDUs ---- */

static void session_bad_pdu(struct session *s, const struct smpp_pdu_error *e)
{
	struct client *cl = s->cl;
	char q[200];
	s->bad_pdus++;
	if (s->bad_pdus == 1)
		log_warn("smpp_bad_pdu", "conn=%s session=%s command=0x%08X seq=%u status=%s reason=%s",
		         smpp_client_cname(cl), role_names[s->role], e->command_id, e->sequence_number,
		         smpp_status_text(e->status), log_quote(e->reason, q, sizeof q));
	if (e->header_read && e->command_id == SMPP_SUBMIT_SM_RESP) {
		if (smpp_client_submit_is_part(link_request_find(s->link, e->sequence_number)))
			smpp_client_submit_answer(cl, link_request_take(s->link, e->sequence_number), 0, NULL,
			                          "malformed submit_sm_resp");
	}
	if (e->header_read && !e->generic_nack)
		smpp_client_respond(s, e->command_id | SMPP_RESP_BIT, e->sequence_number, e->status);
	else if (!(e->header_read && (e->command_id & SMPP_RESP_BIT)))
		smpp_client_respond(s, SMPP_GENERIC_NACK, e->header_read ? e->sequence_number : 0, e->status);
	if (s->bad_pdus >= BAD_PDU_LIMIT)
		link_close_flush(s->link, "the SMSC keeps sending malformed PDUs"); /* the nack goes out first */
}

static void on_bind_resp(struct session *s, const struct smpp_pdu *p)
{
	struct client *cl = s->cl;
	if (s->state != SMPP_BINDING || link_request_find(s->link, p->sequence_number) != REQ_BIND)
		return;
	(void)link_request_take(s->link, p->sequence_number);
	if (p->command_status) {
		char why[160];
		snprintf(why, sizeof why, "bind failed: %s (0x%08X)", smpp_status_text(p->command_status),
		         p->command_status);
		client_lost(cl, why);
		return;
	}
	log_info("smpp_bound", "conn=%s session=%s peer=%s:%d smsc=%s", smpp_client_cname(cl), role_names[s->role],
	         cl->dial.host, cl->dial.port, p->body_absent ? "" : p->system_id);
	session_bound(s);
}

static void smpp_client_pdu(struct session *s, const uint8_t *buf, size_t len)
{
	struct client *cl = s->cl;
	struct smpp_pdu *p = &cl->in;
	struct smpp_pdu_error e;
	if (smpp_pdu_decode(buf, len, p, &e)) {
		session_bad_pdu(s, &e);
		return;
	}
	smpp_client_dispatch(s, p);
}

void smpp_client_dispatch(struct session *s, const struct smpp_pdu *p)
{
	struct client *cl = s->cl;
	log_debug("smpp_rx", "conn=%s session=%s command=%s seq=%u status=0x%08X", smpp_client_cname(cl),
	          role_names[s->role], smpp_pdu_command_name(p->command_id), p->sequence_number, p->command_status);
	switch (p->command_id) {
	case SMPP_BIND_TRANSCEIVER_RESP:
	case SMPP_BIND_TRANSMITTER_RESP:
	case SMPP_BIND_RECEIVER_RESP:
		on_bind_resp(s, p);
		return;
	case SMPP_GENERIC_NACK:
		if (s->state == SMPP_BINDING && link_request_find(s->link, p->sequence_number) == REQ_BIND) {
			on_bind_resp(s, p);
			return;
		}
		if (link_request_find(s->link, p->sequence_number) == LINK_KEEPALIVE) {
			(void)link_request_take(s->link, p->sequence_number); /* it answered: the link is alive */
			return;
		}
		if (link_request_find(s->link, p->sequence_number) == REQ_UNBIND && s->state == SMPP_UNBINDING) {
			session_set(s, SMPP_DISCONNECTED, "unbind answered by generic_nack");
			smpp_client_stop_progress(cl);
			return;
		}
		smpp_client_submit_resp(s, p);
		return;
	case SMPP_SUBMIT_SM_RESP:
		smpp_client_submit_resp(s, p);
		return;
	case SMPP_ENQUIRE_LINK:
		smpp_client_respond(s, SMPP_ENQUIRE_LINK_RESP, p->sequence_number, 0);
		return;
	case SMPP_ENQUIRE_LINK_RESP:
		if (link_request_find(s->link, p->sequence_number) == LINK_KEEPALIVE)
			(void)link_request_take(s->link, p->sequence_number);
		return;
	case SMPP_DELIVER_SM:
	case SMPP_DATA_SM:
		if (s->state != SMPP_BOUND || s->role == ROLE_TX)
			smpp_client_respond(s, p->command_id | SMPP_RESP_BIT, p->sequence_number, SMPP_ESME_RINVBNDSTS);
		else if (cl->stopping)
			smpp_client_respond(s, p->command_id | SMPP_RESP_BIT, p->sequence_number, SMPP_ESME_RX_T_APPN);
		else
			smpp_client_inbound_deliver(s, p);
		return;
	case SMPP_UNBIND:
		smpp_client_respond(s, SMPP_UNBIND_RESP, p->sequence_number, 0);
		link_close_flush(s->link, "unbind from the SMSC");
		return;
	case SMPP_UNBIND_RESP:
		if (s->state == SMPP_UNBINDING && link_request_find(s->link, p->sequence_number) == REQ_UNBIND) {
			session_set(s, SMPP_DISCONNECTED, "unbind_resp");
			smpp_client_stop_progress(cl);
		}
		return;
	case SMPP_ALERT_NOTIFICATION:
	case SMPP_OUTBIND:
		return; /* nothing to answer */
	default:
		if (!(p->command_id & SMPP_RESP_BIT))
			smpp_client_respond(s, SMPP_GENERIC_NACK, p->sequence_number, SMPP_ESME_RINVCMDID);
		return;
	}
}

/* ---- link callbacks ---- */

static void link_on_frame(struct link *l, void *arg, const uint8_t *buf, size_t len)
{
	(void)l;
	smpp_client_pdu(arg, buf, len);
}

static void link_on_up(struct link *l, void *arg)
{
	struct session *s = arg;
	(void)l;
	if (session_set(s, SMPP_BINDING, "connected"))
		client_lost(s->cl, "cannot bind");
}

static void link_on_down(struct link *l, void *arg, const char *reason)
{
	struct session *s = arg;
	struct client *cl = s->cl;
	(void)l;
	char why[400];
	snprintf(why, sizeof why, "%s (%s)", reason, state_names[s->state]);
	if (s->state == SMPP_UNBINDING) {
		session_set(s, SMPP_DISCONNECTED, why);
		smpp_client_stop_progress(cl);
		return;
	}
	client_lost(cl, why);
}

static void link_on_timeout(struct link *l, void *arg, uint32_t seq, void *data)
{
	struct session *s = arg;
	struct client *cl = s->cl;
	(void)l;
	if (data == REQ_BIND) {
		client_lost(cl, "bind timeout");
	} else if (data == REQ_UNBIND) {
		session_set(s, SMPP_DISCONNECTED, "unbind timeout");
		smpp_client_stop_progress(cl);
	} else {
		struct submits_part *pt = data;
		log_info("smpp_response_timeout", "conn=%s seq=%u id=%" PRId64, smpp_client_cname(cl), seq,
		         pt->sub->m->id);
		smpp_client_submit_answer(cl, pt, 0, NULL, "response timeout");
	}
}

static int link_on_keepalive(struct link *l, void *arg, uint32_t seq)
{
	struct session *s = arg;
	struct smpp_pdu *p = &s->cl->out;
	(void)l;
	smpp_wire_pdu_reset(p, SMPP_ENQUIRE_LINK, seq);
	return smpp_client_send(s, p);
}

static void link_on_bad_stream(struct link *l, void *arg, const char *reason)
{
	struct session *s = arg;
	char q[200];
	(void)l;
	log_warn("smpp_bad_stream", "conn=%s session=%s reason=%s", smpp_client_cname(s->cl), role_names[s->role],
	         log_quote(reason, q, sizeof q));
	smpp_client_respond(s, SMPP_GENERIC_NACK, 0, SMPP_ESME_RINVCMDLEN);
}

static const struct link_ops session_link_ops = {
    .frame = smpp_wire_frame,
    .frame_min = 4,
    .on_frame = link_on_frame,
    .on_up = link_on_up,
    .on_down = link_on_down,
    .on_timeout = link_on_timeout,
    .on_keepalive = link_on_keepalive,
    .on_bad_stream = link_on_bad_stream,
};

/* ---- timers ---- */

/* Timeouts of connects, binds, unbinds, enquire_links and submit_sm are
 * the link's; this tick finishes long texts and moves a stop on. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	smpp_client_inbound_drain(cl);
	if (cl->stopping)
		smpp_client_stop_progress(cl);
}

/* ---- stop ---- */

/* Stop in two phases, each bounded: wait for answers to submits and for the
 * database to commit deliveries; then unbind and wait for unbind_resp. */
void smpp_client_stop_progress(struct client *cl)
{
	if (!cl->stopping || cl->stopped)
		return;
	uint64_t now = now_mono_ms();
	uint64_t limit = (uint64_t)cl->conf->response_timeout_s * 1000;
	if (limit > STOP_WAIT_MAX_MS)
		limit = STOP_WAIT_MAX_MS;
	if (!cl->unbind_sent) {
		if ((cl->subs.nparts || inacks_waiting(&cl->inacks)) && now - cl->stop_phase_ms < limit)
			return;
		cl->unbind_sent = true;
		cl->stop_phase_ms = now;
		for (int i = 0; i < cl->nsess; i++)
			if (cl->sess[i].state == SMPP_BOUND && session_set(&cl->sess[i], SMPP_UNBINDING, "stop"))
				session_set(&cl->sess[i], SMPP_DISCONNECTED, "cannot unbind");
	}
	if (all_sessions(cl, SMPP_DISCONNECTED))
		client_finish_stop(cl);
}

static void smpp_stop(struct conn *c)
{
	struct client *cl = conn_driver_data(c);
	log_info("smpp_stopping", "conn=%s in_flight_parts=%d held=%d", smpp_client_cname(cl), cl->subs.nparts,
	         cl->held.len);
	cl->stopping = true;
	cl->stop_phase_ms = now_mono_ms();
	dialer_cancel(&cl->dial);
	release_held(cl);
	if (!cl->up) {
		client_finish_stop(cl);
		return;
	}
	core_conn_state(c, CONN_STOPPING, "unbinding");
	smpp_client_stop_progress(cl);
}

/* ---- open / close ---- */

struct client *smpp_client_new(struct conn *c)
{
	const struct smpp_conf *conf = conn_conf(c);
	struct client *cl = xcalloc(1, sizeof *cl);
	cl->c = c;
	cl->conf = conf;
	cl->nsess = smpp_conf_split_binds(conf) ? 2 : 1;
	for (int i = 0; i < cl->nsess; i++) {
		cl->sess[i].cl = cl;
		cl->sess[i].role = cl->nsess == 1 ? ROLE_TRX : i == 0 ? ROLE_TX : ROLE_RX;
	}
	cl->id_ring = xcalloc(ID_MEMORY, sizeof *cl->id_ring);
	inacks_init(&cl->inacks, conn_name(c), REASM_MAX_SETS, (uint64_t)conf->reasm_timeout_s * 1000);
	cl->subs = (struct submits){.c = c,
	                            .proto = "smpp",
	                            .classify = smpp_client_submit_classify,
	                            .throttle_pause_ms = conf->throttle_pause_ms};
	cl->concat_ref = link_random();
	struct event_base *base = conn_event_base(c);
	struct dialer_opts dopts = DIALER_OPTS_OF(conf);
	struct errbuf err = {""};
	if (dialer_init(&cl->dial, base, &dopts, reconnect_cb, cl, &err)) {
		char q[300];
		log_error("smpp_tls", "conn=%s error=%s", conn_name(c), log_quote(err.msg, q, sizeof q));
		dialer_free(&cl->dial);
		inacks_free(&cl->inacks);
		free(cl->id_ring);
		free(cl);
		return NULL;
	}
	cl->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, cl);
	cl->resume_ev = evtimer_new(base, smpp_client_submit_resume, cl);
	struct timeval tv;
	tv_ms(&tv, TICK_MS);
	event_add(cl->tick_ev, &tv);
	conn_set_driver_data(c, cl);
	return cl;
}

int smpp_client_bind_memory(struct client *cl, struct bufferevent **peer)
{
	struct link_opts o = link_opts_of(cl);
	cl->nsess = 1;
	struct session *s = &cl->sess[0];
	s->role = ROLE_TRX;
	s->gen = ++cl->next_gen;
	s->link = link_pair(conn_event_base(cl->c), &o, &session_link_ops, s, peer);
	if (!s->link)
		return -1;
	session_bound(s);
	return 0;
}

static int smpp_open(struct conn *c)
{
	struct client *cl = smpp_client_new(c);
	if (!cl)
		return -1;
	client_connect(cl);
	return 0;
}

static void part_forget(void *arg, uint32_t seq, void *data)
{
	(void)arg;
	(void)seq;
	if (smpp_client_submit_is_part(data))
		submits_forget(data);
}

static void smpp_close(struct conn *c)
{
	struct client *cl = conn_driver_data(c);
	if (!cl)
		return;
	/* Only after a forced stop is anything left; the core gives up on it. */
	for (int i = 0; i < cl->nsess; i++)
		if (cl->sess[i].link) {
			link_request_drain(cl->sess[i].link, part_forget, NULL);
			link_free(cl->sess[i].link);
		}
	struct msg *m;
	while ((m = msg_list_pop(&cl->held)))
		msg_free(m);
	inacks_free(&cl->inacks);
	for (int i = 0; i < ID_BUCKETS; i++)
		for (struct idnode *n = cl->ids[i], *nx; n; n = nx) {
			nx = n->next;
			free(n->id);
			free(n);
		}
	free(cl->id_ring);
	event_free(cl->tick_ev);
	event_free(cl->resume_ev);
	dialer_free(&cl->dial);
	free(cl);
	conn_set_driver_data(c, NULL);
}

const struct driver_ops smpp_driver = {
    .name = "smpp",
    .caps = CAP_SEND | CAP_RECEIVE | CAP_REPORTS,
    .settings = smpp_conf_settings,
    .conf_size = sizeof(struct smpp_conf),
    .check = smpp_conf_check,
    .open = smpp_open,
    .submit = smpp_client_submit,
    .stop = smpp_stop,
    .close = smpp_close,
    .acked = smpp_client_inbound_acked,
};
