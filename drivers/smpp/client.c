/*
 * smpp client: smspool as an ESME, connection type "smpp".
 *
 * Layers, kept apart:
 * - codec: pdu.c / receipt.c / status.c (pure, fuzzed), conf.c (settings),
 *   wire.c (text and address helpers shared with the server, server.c);
 * - session: the client session layer of src/net/clibase.c (one state
 *   enum: DISCONNECTED -> CONNECTING -> HANDSHAKE, here "binding" ->
 *   UP, here "bound" -> GOODBYE, here "unbinding"; the dialer with backup
 *   hosts, TLS, reconnect backoff, the bounded stop).  With bind_mode
 *   "transceiver" there is one session; with "transmitter+receiver" a pair,
 *   bound and lost together, each unbinding at a stop.  This file gives it
 *   the binds, the unbinds, the link's options and what lent parts become
 *   when a session ends;
 * - transport: the link layer (net/link.h): framing, the table of
 *   outstanding requests with their deadlines, enquire_link as its
 *   keepalive, TLS; nothing here blocks.
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
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "driver.h"
#include "log.h"
#include "net/clibase.h"
#include "net/link.h"
#include "net/submits.h"
#include "smpp/client.h"
#include "smpp/conf.h"
#include "smpp/pdu.h"
#include "smpp/status.h"
#include "smpp/wire.h"
#include "util.h"

static const char *const role_names[] = {"trx", "tx", "rx"};

const char smpp_client_req_bind = 0, smpp_client_req_unbind = 0;

static void client_lost(struct client *cl, const char *reason)
{
	clibase_lost(&cl->base, reason);
}

/* ---- small helpers ---- */

const char *smpp_client_cname(const struct client *cl)
{
	return conn_name(cl->c);
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
static void link_opts_of(const struct client *cl, struct link_opts *o)
{
	const struct smpp_conf *conf = cl->conf;
	o->max_frame = SMPP_PDU_MAX_LEN;
	o->response_timeout_ms = (uint64_t)conf->response_timeout_s * 1000;
	o->keepalive_ms = (uint64_t)conf->enquire_link_s * 1000;
	o->seq_min = 1;
	o->seq_max = 0x7FFFFFFF;
	o->window = 1024; /* the core keeps to the connection's window; this sizes the table */
}

/* ---- the session layer's side (src/net/clibase.c) ---- */

/* A session starts (CONNECTING). */
static void session_start(void *arg, struct link_opts *o)
{
	struct session *s = arg;
	s->bad_pdus = 0;
	link_opts_of(s->cl, o);
}

/* The handshake (HANDSHAKE): the bind of the session's role, answered in
 * on_bind_resp. */
static int send_bind(void *arg)
{
	struct session *s = arg;
	const struct smpp_conf *conf = s->cl->conf;
	static const uint32_t cmd[] = {SMPP_BIND_TRANSCEIVER, SMPP_BIND_TRANSMITTER, SMPP_BIND_RECEIVER};
	struct smpp_pdu *p = &s->cl->out;
	uint32_t seq;
	if (link_next_seq(s->link, &seq) || link_request_add(s->link, seq, REQ_BIND, 0, false))
		return -1;
	smpp_wire_pdu_reset(p, cmd[s->role], seq);
	snprintf(p->system_id, sizeof p->system_id, "%s", conf->system_id);
	snprintf(p->password, sizeof p->password, "%s", conf->password);
	snprintf(p->system_type, sizeof p->system_type, "%s", conf->system_type);
	snprintf(p->address_range, sizeof p->address_range, "%s", conf->address_range);
	p->interface_version = smpp_conf_version(conf);
	return smpp_client_send(s, p);
}

/* The goodbye (GOODBYE): unbind, answered by unbind_resp (or its
 * timeout, the stop's bound). */
static int send_unbind(void *arg)
{
	struct session *s = arg;
	struct smpp_pdu *p = &s->cl->out;
	uint32_t seq;
	if (link_next_seq(s->link, &seq) || link_request_add(s->link, seq, REQ_UNBIND, s->cl->base.stop_wait_ms, false))
		return -1;
	smpp_wire_pdu_reset(p, SMPP_UNBIND, seq);
	return smpp_client_send(s, p);
}

/* UP: every session bound. */
static void session_up(void *arg, char *detail, size_t cap)
{
	struct client *cl = arg;
	snprintf(detail, cap, "bound to %s as %s", cl->base.dial.peer,
	         cl->nsess == 2 ? "transmitter+receiver" : "transceiver");
}

static void part_fail_drained(void *arg, uint32_t seq, void *data)
{
	struct session *s = arg;
	struct client *cl = s->cl;
	(void)seq;
	if (smpp_client_submit_is_part(data))
		smpp_client_submit_answer(cl, data, 0, NULL,
		                          cl->base.stopping ? "stopped before answer" : "connection lost");
}

static void part_forget(void *arg, uint32_t seq, void *data)
{
	(void)arg;
	(void)seq;
	if (smpp_client_submit_is_part(data))
		submits_forget(data);
}

static void release_held(void *arg)
{
	struct client *cl = arg;
	struct msg *m;
	while ((m = msg_list_pop(&cl->held))) {
		msg_set_failed(m, MSG_RELEASE, NULL, NULL);
		core_complete(cl->c, m);
	}
}

/* The stop is over (the timers of connects, binds, unbinds, enquire_links
 * and submit_sm are the link's). */
static void base_stopped(void *arg)
{
	struct client *cl = arg;
	event_del(cl->resume_ev);
}

static const struct clibase_ops base_ops = {
    .log_prefix = "smpp",
    .handshake_name = "binding",
    .up_name = "bound",
    .goodbye_name = "unbinding",
    .link_ops = &session_link_ops,
    .start = session_start,
    .handshake = send_bind,
    .goodbye = send_unbind,
    .up = session_up,
    .drained = part_fail_drained,
    .forget = part_forget,
    .release = release_held,
    .stopped = base_stopped,
};

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
	if (cl->base.state != CLIBASE_HANDSHAKE || link_request_find(s->link, p->sequence_number) != REQ_BIND)
		return;
	(void)link_request_take(s->link, p->sequence_number);
	if (p->command_status) {
		char why[160];
		snprintf(why, sizeof why, "bind failed: %s (0x%08X)", smpp_status_text(p->command_status),
		         p->command_status);
		client_lost(cl, why);
		return;
	}
	log_info("smpp_bound", "conn=%s session=%s peer=%s smsc=%s", smpp_client_cname(cl), role_names[s->role],
	         cl->base.dial.peer, p->body_absent ? "" : p->system_id);
	clibase_ready(&cl->base, s->link, "bind_resp ok");
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
		if (cl->base.state == CLIBASE_HANDSHAKE && link_request_find(s->link, p->sequence_number) == REQ_BIND) {
			on_bind_resp(s, p);
			return;
		}
		if (link_request_find(s->link, p->sequence_number) == LINK_KEEPALIVE) {
			(void)link_request_take(s->link, p->sequence_number); /* it answered: the link is alive */
			return;
		}
		if (link_request_find(s->link, p->sequence_number) == REQ_UNBIND && cl->base.state == CLIBASE_GOODBYE) {
			clibase_sess_end(&cl->base, s->link, "unbind answered by generic_nack");
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
		if (!clibase_sess_ready(&cl->base, s->link) || s->role == ROLE_TX)
			smpp_client_respond(s, p->command_id | SMPP_RESP_BIT, p->sequence_number, SMPP_ESME_RINVBNDSTS);
		else if (cl->base.stopping)
			smpp_client_respond(s, p->command_id | SMPP_RESP_BIT, p->sequence_number, SMPP_ESME_RX_T_APPN);
		else
			smpp_client_inbound_deliver(s, p);
		return;
	case SMPP_UNBIND:
		smpp_client_respond(s, SMPP_UNBIND_RESP, p->sequence_number, 0);
		link_close_flush(s->link, "unbind from the SMSC");
		return;
	case SMPP_UNBIND_RESP:
		if (cl->base.state == CLIBASE_GOODBYE && link_request_find(s->link, p->sequence_number) == REQ_UNBIND)
			clibase_sess_end(&cl->base, s->link, "unbind_resp");
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
	clibase_sess_up(&s->cl->base, l);
}

static void link_on_down(struct link *l, void *arg, const char *reason)
{
	struct session *s = arg;
	clibase_sess_down(&s->cl->base, l, reason);
}

static void link_on_timeout(struct link *l, void *arg, uint32_t seq, void *data)
{
	struct session *s = arg;
	struct client *cl = s->cl;
	if (data == REQ_BIND) {
		client_lost(cl, "bind timeout");
	} else if (data == REQ_UNBIND) {
		clibase_sess_end(&cl->base, l, "unbind timeout");
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

/* ---- stop ---- */

/* Stop in two phases, each bounded (clibase): wait for answers to submits
 * and for the database to commit deliveries; then unbind each session and
 * wait for its unbind_resp. */
static void smpp_stop(struct conn *c)
{
	struct client *cl = conn_driver_data(c);
	log_info("smpp_stopping", "conn=%s in_flight_parts=%d held=%d", smpp_client_cname(cl), cl->subs.nparts,
	         cl->held.len);
	clibase_stop(&cl->base, "unbinding");
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
		clibase_add_session(&cl->base, &cl->sess[i].link, &cl->sess[i]);
	}
	cl->base.subs = &cl->subs;
	cl->base.inacks = &cl->inacks;
	cl->ids = hash_new();
	cl->id_ring = xcalloc(ID_MEMORY, sizeof *cl->id_ring);
	inacks_init(&cl->inacks, c, &smpp_client_inbound_ops, cl, REASM_MAX_SETS,
	            (uint64_t)conf->reasm_timeout_s * 1000);
	cl->subs = (struct submits){.c = c,
	                            .proto = "smpp",
	                            .classify = smpp_client_submit_classify,
	                            .throttle_pause_ms = conf->throttle_pause_ms};
	cl->concat_ref = link_random();
	struct dialer_conf dc = DIALER_CONF_OF(conf);
	struct dialer_opts dopts = DIALER_OPTS_OF(conf);
	if (clibase_init(&cl->base, c, &base_ops, cl, &cl->sess[0].link, &dc, &dopts,
	                 (uint64_t)conf->response_timeout_s * 1000)) {
		inacks_free(&cl->inacks);
		hash_free(cl->ids, NULL);
		free(cl->id_ring);
		free(cl);
		return NULL;
	}
	cl->resume_ev = evtimer_new(conn_event_base(c), smpp_client_submit_resume, cl);
	conn_set_driver_data(c, cl);
	return cl;
}

int smpp_client_bind_memory(struct client *cl, struct bufferevent **peer)
{
	struct link_opts o = {.name = smpp_client_cname(cl)};
	cl->nsess = 1;
	struct session *s = &cl->sess[0];
	s->role = ROLE_TRX;
	link_opts_of(cl, &o);
	s->link = link_pair(conn_event_base(cl->c), &o, &session_link_ops, s, peer);
	if (!s->link)
		return -1;
	clibase_up_on(&cl->base, s->link, "in-memory bind");
	return 0;
}

static int smpp_open(struct conn *c)
{
	struct client *cl = smpp_client_new(c);
	if (!cl)
		return -1;
	clibase_start(&cl->base);
	return 0;
}

static void smpp_close(struct conn *c)
{
	struct client *cl = conn_driver_data(c);
	if (!cl)
		return;
	/* Only after a forced stop is anything left; the core gives up on it. */
	clibase_close(&cl->base);
	struct msg *m;
	while ((m = msg_list_pop(&cl->held)))
		msg_free(m);
	inacks_free(&cl->inacks);
	hash_free(cl->ids, NULL);
	for (size_t i = 0; i < ID_MEMORY; i++)
		free(cl->id_ring[i]);
	free(cl->id_ring);
	event_free(cl->resume_ev);
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
    .acked = clibase_acked,
};
