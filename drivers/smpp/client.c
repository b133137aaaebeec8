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
#include "smpp/conf.h"
#include "smpp/pdu.h"
#include "smpp/receipt.h"
#include "smpp/status.h"
#include "smpp/wire.h"
#include "util.h"

enum {
	TICK_MS = 200,
	ID_BUCKETS = 16384, /* recent remote ids, for receipt id matching */
	ID_MEMORY = 65536,
	BAD_PDU_LIMIT = 5,       /* malformed PDUs before the session is dropped */
	STOP_WAIT_MAX_MS = 5000, /* per stop phase: drain, then unbind */
	REASM_MAX_SETS = 1024,
};

enum smpp_state { SMPP_DISCONNECTED, SMPP_CONNECTING, SMPP_BINDING, SMPP_BOUND, SMPP_UNBINDING };
static const char *const state_names[] = {"disconnected", "connecting", "binding", "bound", "unbinding"};

enum smpp_role { ROLE_TRX, ROLE_TX, ROLE_RX };
static const char *const role_names[] = {"trx", "tx", "rx"};

struct client;

struct session {
	struct client *cl;
	enum smpp_role role;
	enum smpp_state state;
	uint64_t gen;      /* changes at each connect: answers to an older session are dropped */
	struct link *link; /* NULL while disconnected */
	uint64_t state_ms;
	int bad_pdus;
};

/* Requests of the session itself in the link's table (submit_sm are
 * struct submits_part). */
static const char req_bind_marker, req_unbind_marker;
#define REQ_BIND ((void *)&req_bind_marker)
#define REQ_UNBIND ((void *)&req_unbind_marker)

struct idnode {
	char *id;
	struct idnode *next;
};

enum id_map { ID_SAME, ID_DEC2HEX, ID_HEX2DEC };

struct client {
	struct conn *c;
	const struct smpp_conf *conf;
	struct session sess[2];
	int nsess;
	struct event *tick_ev, *resume_ev;
	struct dialer dial; /* peers, resolver, TLS, reconnect backoff */
	uint64_t next_gen;
	bool up, stopping, stopped, unbind_sent;
	uint64_t stop_phase_ms;

	struct submits subs;  /* submit_sm outstanding, over both sessions */
	struct msg_list held; /* waiting for a throttle pause to end */
	uint64_t pause_until_ms;
	unsigned concat_ref;

	struct inacks inacks; /* deliveries waiting for the database */

	struct idnode *ids[ID_BUCKETS];
	char **id_ring;
	size_t id_pos;
	enum id_map id_map;
	bool id_lower;
	size_t id_width;

	uint8_t obuf[SMPP_PDU_MAX_LEN];
	struct smpp_pdu in, out;
};

static void client_lost(struct client *cl, const char *reason);
static void stop_progress(struct client *cl);
static void submit_now(struct client *cl, struct msg *m);

/* ---- small helpers ---- */

static const char *cname(const struct client *cl)
{
	return conn_name(cl->c);
}

static void tv_ms(struct timeval *tv, uint64_t ms)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

static const char *status_name(uint32_t status)
{
	const char *n = smpp_status_name(status);
	return n ? n : "unknown_status";
}

static struct session *tx_session(struct client *cl)
{
	return &cl->sess[0]; /* trx, or tx when binds are split */
}

/* ---- transport ---- */

static int session_send(struct session *s, const struct smpp_pdu *p)
{
	struct client *cl = s->cl;
	size_t n;
	struct errbuf err = {""};
	if (!s->link)
		return -1;
	if (smpp_pdu_encode(p, cl->obuf, sizeof cl->obuf, &n, &err)) {
		log_error("smpp_encode_failed", "conn=%s session=%s command=%s error=\"%s\"", cname(cl),
		          role_names[s->role], smpp_pdu_command_name(p->command_id), err.msg);
		return -1;
	}
	return link_send(s->link, cl->obuf, n);
}

/* Sends a response (or generic_nack) to seq; header-only unless OK. */
static void session_respond(struct session *s, uint32_t command_id, uint32_t seq, uint32_t status)
{
	struct smpp_pdu *p = &s->cl->out;
	smpp_wire_pdu_reset(p, command_id, seq);
	p->command_status = status;
	p->body_absent = status != 0 && command_id != SMPP_GENERIC_NACK;
	if (session_send(s, p))
		log_error("smpp_respond_failed", "conn=%s seq=%u", cname(s->cl), seq);
}

static const struct link_ops session_link_ops;

/* Starts the TCP (or TLS) connection.  Returns 0 or -1 with why set. */
static int session_open_socket(struct session *s, char *why, size_t cap)
{
	struct client *cl = s->cl;
	const struct smpp_conf *conf = cl->conf;
	struct link_opts o = {
	    .name = cname(cl),
	    .max_frame = SMPP_PDU_MAX_LEN,
	    .response_timeout_ms = (uint64_t)conf->response_timeout_s * 1000,
	    .keepalive_ms = (uint64_t)conf->enquire_link_s * 1000,
	    .seq_min = 1,
	    .seq_max = 0x7FFFFFFF,
	    .window = 1024, /* the core keeps to the connection's window; this sizes the table */
	};
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
	if (session_send(s, p))
		client_lost(cl, "cannot encode the bind");
}

static void classify(uint32_t status, struct submits_class *k)
{
	enum smpp_status_class cls = smpp_status_classify(status);
	k->outcome = cls == SMPP_STATUS_PERMANENT   ? MSG_REJECTED
	             : cls == SMPP_STATUS_THROTTLED ? MSG_RELEASE
	                                            : MSG_TEMPORARY;
	snprintf(k->code, sizeof k->code, "0x%08X", status);
	k->name = status_name(status);
}

static bool is_part(const void *data)
{
	return data && data != REQ_BIND && data != REQ_UNBIND && data != LINK_KEEPALIVE;
}

/* Records one part's answer and completes the message after its last one.
 * status 0 with id: accepted; local: a local failure text. */
static void part_answer(struct client *cl, struct submits_part *p, uint32_t status, const char *id, const char *local)
{
	submits_answer(&cl->subs, p, id, status, local);
}

static void part_fail_drained(void *arg, uint32_t seq, void *data)
{
	struct session *s = arg;
	struct client *cl = s->cl;
	(void)seq;
	if (is_part(data))
		part_answer(cl, data, 0, NULL, cl->stopping ? "stopped before answer" : "connection lost");
}

/* ---- the session state machine ---- */

/* The one place where a session changes state.  Returns 0, or -1 when the
 * entry work failed (the caller then treats the session as lost). */
static int session_set(struct session *s, enum smpp_state to, const char *why)
{
	struct client *cl = s->cl;
	char q[200];
	log_debug("smpp_state", "conn=%s session=%s gen=%" PRIu64 " from=%s to=%s why=%s", cname(cl),
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
			log_warn("smpp_connect_failed", "conn=%s session=%s error=%s", cname(cl), role_names[s->role],
			         log_quote(err, q, sizeof q));
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
		return session_send(s, p);
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
		log_info("smpp_stop_unanswered", "conn=%s deliveries=%d partial_texts=%zu", cname(cl),
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

/* ---- remote ids: receipts may write them differently ---- */

static unsigned id_hash(const char *s)
{
	return fnv1a(FNV1A_INIT, s, strlen(s)) % ID_BUCKETS;
}

static bool id_known(struct client *cl, const char *id)
{
	for (struct idnode *n = cl->ids[id_hash(id)]; n; n = n->next)
		if (strcmp(n->id, id) == 0)
			return true;
	return false;
}

static void id_forget(struct client *cl, const char *id)
{
	for (struct idnode **pp = &cl->ids[id_hash(id)]; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id) {
			struct idnode *n = *pp;
			*pp = n->next;
			free(n->id);
			free(n);
			return;
		}
}

static void id_remember(struct client *cl, const char *id)
{
	if (!*id || strlen(id) > 64 || id_known(cl, id))
		return;
	if (cl->id_ring[cl->id_pos])
		id_forget(cl, cl->id_ring[cl->id_pos]);
	struct idnode *n = xmalloc(sizeof *n);
	n->id = xstrdup(id);
	unsigned h = id_hash(id);
	n->next = cl->ids[h];
	cl->ids[h] = n;
	cl->id_ring[cl->id_pos] = n->id;
	cl->id_pos = (cl->id_pos + 1) % ID_MEMORY;
	/* The style of hex ids, for receipts of ids this memory forgot. */
	for (const char *p = id; *p; p++)
		if ((*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')) {
			cl->id_lower = *p >= 'a';
			break;
		}
	cl->id_width = id[0] == '0' ? strlen(id) : 0;
}

static bool all_in(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

/* The id a receipt names, written as the submit_sm_resp wrote it: as is if
 * the SMSC gave that id recently, else decimal <-> hexadecimal if that form
 * was given, else the way that worked last time. */
static void receipt_id(struct client *cl, const char *id, char *out, size_t cap)
{
	snprintf(out, cap, "%s", id);
	/* A configured relation needs no ids seen first (a fresh process gets
	 * the receipts the SMSC kept while it was away before any response). */
	const char *mode = cl->conf->receipt_ids;
	if (strcmp(mode, "same") == 0)
		return;
	if (strncmp(mode, "dec2hex", 7) == 0) {
		if (all_in(id, "0123456789") && strlen(id) <= 19)
			snprintf(out, cap, strcmp(mode, "dec2hex_lower") == 0 ? "%llx" : "%llX",
			         strtoull(id, NULL, 10));
		return;
	}
	if (strcmp(mode, "hex2dec") == 0) {
		if (all_in(id, "0123456789abcdefABCDEF") && strlen(id) <= 16)
			snprintf(out, cap, "%llu", strtoull(id, NULL, 16));
		return;
	}
	if (id_known(cl, id)) {
		cl->id_map = ID_SAME;
		return;
	}
	char cand[4][40];
	int nc = 0;
	bool dec = all_in(id, "0123456789") && strlen(id) <= 19;
	bool hex = all_in(id, "0123456789abcdefABCDEF") && strlen(id) <= 16;
	if (dec) {
		unsigned long long v = strtoull(id, NULL, 10);
		snprintf(cand[nc++], sizeof cand[0], "%llX", v);
		snprintf(cand[nc++], sizeof cand[0], "%llx", v);
		if (cl->id_width > 0 && cl->id_width < 30) {
			snprintf(cand[nc++], sizeof cand[0], "%0*llX", (int)cl->id_width, v);
			snprintf(cand[nc++], sizeof cand[0], "%0*llx", (int)cl->id_width, v);
		}
		for (int i = 0; i < nc; i++)
			if (id_known(cl, cand[i])) {
				snprintf(out, cap, "%.39s", cand[i]);
				cl->id_map = ID_DEC2HEX;
				return;
			}
	}
	if (hex) {
		char d[40];
		snprintf(d, sizeof d, "%llu", strtoull(id, NULL, 16));
		if (id_known(cl, d)) {
			snprintf(out, cap, "%s", d);
			cl->id_map = ID_HEX2DEC;
			return;
		}
	}
	if (cl->id_map == ID_DEC2HEX && dec) {
		unsigned long long v = strtoull(id, NULL, 10);
		if (cl->id_width)
			snprintf(out, cap, cl->id_lower ? "%0*llx" : "%0*llX", (int)cl->id_width, v);
		else
			snprintf(out, cap, cl->id_lower ? "%llx" : "%llX", v);
	} else if (cl->id_map == ID_HEX2DEC && hex) {
		snprintf(out, cap, "%llu", strtoull(id, NULL, 16));
	}
}

/* ---- submitting ---- */

static void validity_text(int64_t until_s, char *out, size_t cap)
{
	time_t t = (time_t)until_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	char d[16];
	strftime(d, sizeof d, "%y%m%d%H%M%S", &tm);
	snprintf(out, cap, "%s000+", d); /* absolute, UTC */
}

/* The text octets of a part in the chosen data_coding (no UDH). */
static int part_text(const struct smpp_conf *conf, const struct sms_split *sp, const struct sms_part *pt, int dc8,
                     uint8_t *out, size_t cap)
{
	if (sp->encoding == SMS_ENC_GSM7 && dc8)
		return gsm7_to_8bit(pt->payload, pt->payload_len, dc8 == 3, out, cap);
	if (sp->encoding == SMS_ENC_GSM7 && conf->gsm_packed) {
		size_t n;
		if (gsm7_pack(pt->payload, pt->payload_len, 0, false, out, cap, &n))
			return -1;
		return (int)n;
	}
	if (pt->payload_len > cap)
		return -1;
	memcpy(out, pt->payload, pt->payload_len);
	return (int)pt->payload_len;
}

/* Splits m and encodes its submit_sm PDUs into buf, but for the parts an
 * earlier attempt got accepted (their ids in (*held)[i], the others NULL).
 * Returns the number of PDUs (seqs[] filled for the parts sent), or -1 with
 * err set. */
static int build_submits(struct client *cl, struct session *s, struct msg *m, struct evbuffer *buf, uint32_t **seqs,
                         char ***held, struct errbuf *err)
{
	const struct smpp_conf *conf = cl->conf;
	struct sms_split sp = {0};
	uint8_t *big = NULL;
	int rc = -1, npdu = 0;
	/* A stored message's reference follows from its id, so that a part
	 * sent again (the others held, see submits_held) joins the parts the
	 * handset got from the earlier attempt. */
	unsigned concat_ref = (m->id > 0 ? (unsigned)m->id : cl->concat_ref++) & 0xFF;
	if (msg_sms_split(m, smpp_conf_langs(conf), concat_ref, &sp, err) < 0)
		goto out;

	/* data_coding */
	int mclass = m->flash ? 0 : m->msg_class;
	int dc8 = 0; /* 1 or 3 when GSM texts go as 8-bit characters */
	uint8_t dc;
	if (sp.encoding == SMS_ENC_UCS2)
		dc = mclass >= 0 ? (uint8_t)(0x18 | mclass) : 0x08;
	else if (sp.encoding == SMS_ENC_BINARY)
		dc = mclass >= 0 ? (uint8_t)(0xF4 | mclass) : 0x04;
	else if (mclass >= 0)
		dc = (uint8_t)(0xF0 | mclass);
	else {
		dc = (uint8_t)conf->default_data_coding;
		if (sp.lock_lang || sp.shift_lang)
			dc = 0; /* national tables exist only in GSM 7-bit */
		if (dc != 0) {
			uint8_t tmp[SMS_SEPTETS_MAX];
			dc8 = dc;
			for (unsigned i = 0; i < sp.n_parts && dc8; i++)
				if (gsm7_to_8bit(sp.parts[i].payload, sp.parts[i].payload_len, dc8 == 3, tmp,
				                 sizeof tmp) < 0)
					dc8 = 0;
			if (!dc8)
				dc = 0; /* a character without an IA5/Latin-1 octet: GSM after all */
		}
	}

	enum smpp_long_mode mode = smpp_conf_long_mode(conf);
	if (sp.n_parts == 1 || sp.encoding == SMS_ENC_BINARY || sp.lock_lang || sp.shift_lang)
		mode = SMPP_LONG_UDH; /* the caller's UDH, or shift IEs, travel in every part */
	npdu = mode == SMPP_LONG_PAYLOAD ? 1 : (int)sp.n_parts;
	*seqs = xcalloc((size_t)npdu, sizeof **seqs);
	*held = xcalloc((size_t)npdu, sizeof **held);
	if (npdu > 1 && submits_held(m, conn_name(cl->c), npdu, *held))
		log_info("smpp_parts_held", "conn=%s id=%" PRId64 " parts=%d", cname(cl), m->id, npdu);

	char validity[20] = "";
	if (m->valid_until_s > 0)
		validity_text(m->valid_until_s, validity, sizeof validity);
	bool report = m->want_report && conf->request_reports;
	size_t big_cap = (size_t)sp.n_parts * SMS_SEPTETS_MAX + 1;
	if (mode == SMPP_LONG_PAYLOAD)
		big = xmalloc(big_cap);

	for (int i = 0; i < npdu; i++) {
		struct smpp_pdu *p = &cl->out;
		const struct sms_part *pt = &sp.parts[i];
		uint32_t seq;
		if ((*held)[i])
			continue; /* accepted by an earlier attempt: not sent again */
		if (link_next_seq(s->link, &seq)) {
			errbuf_set(err, "no free sequence number");
			goto out;
		}
		smpp_wire_pdu_reset(p, SMPP_SUBMIT_SM, seq);
		uint8_t ton, npi;
		smpp_conf_address(m->sender ? m->sender : "", conf->source_ton, conf->source_npi, p->source_addr,
		                  sizeof p->source_addr, &ton, &npi);
		p->source_addr_ton = m->sender ? ton : 0;
		p->source_addr_npi = m->sender ? npi : 0;
		smpp_conf_address(m->recipient, conf->dest_ton, conf->dest_npi, p->destination_addr,
		                  sizeof p->destination_addr, &ton, &npi);
		if (strlen(p->destination_addr) > 20 || strlen(p->source_addr) > 20) {
			errbuf_set(err, "an address is longer than SMPP's 20 characters");
			goto out;
		}
		p->dest_addr_ton = ton;
		p->dest_addr_npi = npi;
		p->registered_delivery = report ? 1 : 0;
		p->data_coding = dc;
		snprintf(p->validity_period, sizeof p->validity_period, "%s", validity);
		uint8_t ref[2] = {0, (uint8_t)concat_ref}, total = (uint8_t)sp.n_parts, segno = (uint8_t)(i + 1);
		int n;
		switch (mode) {
		case SMPP_LONG_UDH:
			if (sp.encoding == SMS_ENC_GSM7 && conf->gsm_packed && !dc8) {
				/* TP-UD as on the air: UDH, fill bits, packed septets */
				memcpy(p->short_message, pt->ud, pt->ud_len);
				n = (int)pt->ud_len;
			} else {
				memcpy(p->short_message, pt->udh, pt->udh_len);
				n = part_text(conf, &sp, pt, dc8, p->short_message + pt->udh_len,
				              sizeof p->short_message - pt->udh_len);
				if (n >= 0)
					n += (int)pt->udh_len;
			}
			if (pt->udh_len)
				p->esm_class |= 0x40;
			break;
		case SMPP_LONG_SAR:
			n = part_text(conf, &sp, pt, dc8, p->short_message, sizeof p->short_message);
			if (smpp_pdu_add_tlv(p, SMPP_TLV_SAR_MSG_REF_NUM, ref, 2) ||
			    smpp_pdu_add_tlv(p, SMPP_TLV_SAR_TOTAL_SEGMENTS, &total, 1) ||
			    smpp_pdu_add_tlv(p, SMPP_TLV_SAR_SEGMENT_SEQNUM, &segno, 1))
				n = -1;
			break;
		case SMPP_LONG_PAYLOAD: {
			/* The whole text in one PDU: the parts' texts joined. */
			size_t bl = 0;
			uint8_t *septets = xmalloc(big_cap);
			for (unsigned j = 0; j < sp.n_parts; j++) {
				memcpy(septets + bl, sp.parts[j].payload, sp.parts[j].payload_len);
				bl += sp.parts[j].payload_len;
			}
			if (sp.encoding == SMS_ENC_GSM7 && dc8) {
				n = gsm7_to_8bit(septets, bl, dc8 == 3, big, big_cap);
			} else if (sp.encoding == SMS_ENC_GSM7 && conf->gsm_packed) {
				size_t pl;
				n = gsm7_pack(septets, bl, 0, false, big, big_cap, &pl) ? -1 : (int)pl;
			} else {
				memcpy(big, septets, bl);
				n = (int)bl;
			}
			free(septets);
			if (n >= 0 && smpp_pdu_add_tlv(p, SMPP_TLV_MESSAGE_PAYLOAD, big, (uint16_t)n))
				n = -1;
			n = n >= 0 ? 0 : -1;
			break;
		}
		default:
			abort();
		}
		if (n < 0 || n > SMPP_PDU_SM_MAX) {
			errbuf_set(err, "part %d does not fit a submit_sm", i + 1);
			goto out;
		}
		p->sm_length = (uint8_t)n;
		size_t olen;
		if (smpp_pdu_encode(p, cl->obuf, sizeof cl->obuf, &olen, err))
			goto out;
		evbuffer_add(buf, cl->obuf, olen);
		(*seqs)[i] = seq;
	}
	rc = npdu;
out:
	free(sp.parts);
	free(big);
	if (rc < 0) {
		free(*seqs);
		*seqs = NULL;
		for (int i = 0; *held && i < npdu; i++)
			free((*held)[i]);
		free(*held);
		*held = NULL;
	}
	return rc;
}

static void submit_now(struct client *cl, struct msg *m)
{
	struct session *s = tx_session(cl);
	struct errbuf err = {""};
	struct evbuffer *buf = evbuffer_new();
	uint32_t *seqs = NULL;
	char **held = NULL;
	int n = build_submits(cl, s, m, buf, &seqs, &held, &err);
	if (n < 0) {
		evbuffer_free(buf);
		log_info("smpp_submit_refused", "conn=%s id=%" PRId64 " error=\"%s\"", cname(cl), m->id, err.msg);
		msg_set_failed(m, MSG_FAILED, "encoding", err.msg);
		core_complete(cl->c, m);
		return;
	}
	struct submits_msg *sub = submits_msg_new(m, n);
	struct submits_part **ps = xcalloc((size_t)n, sizeof *ps);
	for (int i = 0; i < n; i++) {
		if (held[i]) { /* answered already, by an earlier attempt */
			sub->ids[i] = held[i];
			sub->answered++;
			continue;
		}
		ps[i] = submits_part_new(&cl->subs, sub, i);
		ps[i]->sess = s;
		ps[i]->seq = seqs[i];
	}
	free(held);
	size_t len = evbuffer_get_length(buf);
	int sent = link_send(s->link, evbuffer_pullup(buf, -1), len);
	evbuffer_free(buf);
	/* Registered after the write: answering one (on a failure) may
	 * complete the message, after which nothing of it may be touched. */
	for (int i = 0; i < n; i++)
		if (ps[i] && (sent || link_request_add(s->link, ps[i]->seq, ps[i], 0, true)))
			part_answer(cl, ps[i], 0, NULL, "cannot send");
	free(seqs);
	free(ps);
}

static void arm_resume(struct client *cl)
{
	uint64_t now = now_mono_ms();
	struct timeval tv;
	tv_ms(&tv, cl->pause_until_ms > now ? cl->pause_until_ms - now : 0);
	evtimer_add(cl->resume_ev, &tv);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	if (now_mono_ms() < cl->pause_until_ms) {
		arm_resume(cl);
		return;
	}
	struct msg *m;
	while (cl->up && !cl->stopping && now_mono_ms() >= cl->pause_until_ms && (m = msg_list_pop(&cl->held)))
		submit_now(cl, m);
	if (cl->held.len)
		arm_resume(cl);
}

static void smpp_submit(struct conn *c, struct msg *m)
{
	struct client *cl = conn_driver_data(c);
	if (!cl->up || cl->stopping) {
		msg_set_failed(m, MSG_RELEASE, NULL, NULL);
		core_complete(c, m);
		return;
	}
	if (cl->held.len || now_mono_ms() < cl->pause_until_ms) {
		msg_list_push(&cl->held, m);
		arm_resume(cl);
		return;
	}
	submit_now(cl, m);
}

static void on_submit_resp(struct session *s, const struct smpp_pdu *p)
{
	struct client *cl = s->cl;
	void *data = link_request_find(s->link, p->sequence_number);
	struct submits_part *pt = is_part(data) ? link_request_take(s->link, p->sequence_number) : NULL;
	if (!pt) {
		log_debug("smpp_unknown_resp", "conn=%s seq=%u status=0x%08X", cname(cl), p->sequence_number,
		          p->command_status);
		return;
	}
	if (p->command_status == 0) {
		const char *id = p->body_absent ? "" : p->message_id;
		id_remember(cl, id);
		part_answer(cl, pt, 0, id, NULL);
	} else {
		if (smpp_status_classify(p->command_status) == SMPP_STATUS_THROTTLED) {
			cl->pause_until_ms = now_mono_ms() + (uint64_t)cl->conf->throttle_pause_ms;
			log_info("smpp_throttled", "conn=%s pause_ms=%lld", cname(cl), cl->conf->throttle_pause_ms);
		}
		log_debug("smpp_submit_error", "conn=%s seq=%u status=%s", cname(cl), p->sequence_number,
		          status_name(p->command_status));
		part_answer(cl, pt, p->command_status, NULL, NULL);
	}
}

/* ---- deliveries: acknowledgements ---- */

static uint64_t ack_one(struct client *cl, struct session *s, const struct smpp_pdu *p)
{
	return inacks_one(&cl->inacks, (struct inacks_ref){s, s->gen, p->sequence_number, p->command_id});
}

static void smpp_acked(struct conn *c, uint64_t token, bool committed)
{
	struct client *cl = conn_driver_data(c);
	struct inacks_acc *a = inacks_take(&cl->inacks, token);
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		struct inacks_ref *r = &a->refs[i];
		struct session *rs = r->sess;
		if (rs->gen != r->gen || (rs->state != SMPP_BOUND && rs->state != SMPP_UNBINDING)) {
			log_debug("smpp_ack_dropped", "conn=%s seq=%u reason=\"session gone\"", cname(cl), r->seq);
			continue;
		}
		struct smpp_pdu *p = &cl->out;
		smpp_wire_pdu_reset(p, r->op | SMPP_RESP_BIT, r->seq);
		/* Not stored (yet): the spec's "ESME receiver temporary application
		 * error", which SMSCs retry, not a system error. */
		p->command_status = committed ? SMPP_ESME_ROK : SMPP_ESME_RX_T_APPN;
		p->body_absent = !committed;
		if (session_send(rs, p))
			log_error("smpp_respond_failed", "conn=%s seq=%u", cname(cl), r->seq);
	}
	inacks_acc_free(a);
	if (cl->stopping)
		stop_progress(cl);
}

/* ---- deliveries: contents ---- */

/* Stores every finished (or timed out) long text. */
static void reasm_drain(struct client *cl)
{
	struct reasm_msg *rm;
	struct inbound *in;
	unsigned kind; /* data_coding and the national language tables as one number (on_deliver) */
	uint64_t token;
	while ((rm = inacks_poll(&cl->inacks, &in, &kind, &token))) {
		smpp_wire_text_lang(smpp_wire_alphabet_dc0((uint8_t)(kind & 0xFF), cl->conf->data_coding_0),
		                    (int)((kind >> 8) & 0xFF), (int)((kind >> 16) & 0xFF), rm->data, rm->len, &in->body,
		                    &in->payload, &in->encoding);
		if (rm->status != REASM_COMPLETE)
			log_warn("smpp_partial_text", "conn=%s sender=%s parts=%u of %u reason=%s", cname(cl),
			         in->sender, rm->received, rm->total,
			         rm->status == REASM_EXPIRED ? "timeout" : "evicted");
		reasm_msg_free(rm);
		core_received(cl->c, in, token);
	}
}

/* A receipt: reported with a token.  Returns false if p is no receipt. */
static bool on_receipt(struct session *s, const struct smpp_pdu *p, const uint8_t *d, size_t n)
{
	struct client *cl = s->cl;
	struct smpp_receipt rc;
	bool text_ok = smpp_receipt_parse((const char *)d, n, &rc) == 0;
	const char *raw_id = p->known.has_receipted_message_id && p->known.receipted_message_id[0]
	                         ? p->known.receipted_message_id
	                     : text_ok ? rc.id
	                               : NULL;
	if (!raw_id)
		return false;
	enum smpp_receipt_state st = SMPP_RECEIPT_UNKNOWN;
	bool accepted = false;
	if (p->known.has_message_state) {
		st = smpp_receipt_state_from_message_state(p->known.message_state);
		accepted = p->known.message_state == 6;
	} else if (text_ok && rc.has_stat) {
		st = rc.state;
		accepted = strncasecmp(rc.stat, "ACCEPT", 6) == 0;
	}
	struct report *r = xcalloc(1, sizeof *r);
	char id[80];
	receipt_id(cl, raw_id, id, sizeof id);
	r->remote_id = xstrdup(id);
	r->state = xstrdup(st == SMPP_RECEIPT_INTERMEDIATE ? (accepted ? "accepted" : "enroute")
	                                                   : smpp_receipt_state_name(st));
	if (text_ok && rc.has_err)
		r->error_code = xstrdup(rc.err);
	else if (p->known.has_network_error_code) {
		char e[16];
		snprintf(e, sizeof e, "%u", p->known.network_error_code);
		r->error_code = xstrdup(e);
	}
	char *t = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		t[i] = d[i] >= 0x20 && d[i] < 0x7F ? (char)d[i] : '?';
	t[n] = 0;
	r->text = t;
	log_debug("smpp_receipt", "conn=%s id=%s state=%s", cname(cl), r->remote_id, r->state);
	core_report(cl->c, r, ack_one(cl, s, p));
	return true;
}

static void on_deliver(struct session *s, const struct smpp_pdu *p)
{
	struct client *cl = s->cl;
	const uint8_t *d = p->short_message;
	size_t n = p->sm_length;
	if (n == 0 && p->known.has_message_payload) {
		d = p->known.message_payload;
		n = p->known.message_payload_len;
	}
	if ((p->esm_class & 0x3C) && on_receipt(s, p, d, n))
		return;

	char *sender = smpp_wire_address_in(p->source_addr_ton, p->source_addr);
	char *recipient = smpp_wire_address_in(p->dest_addr_ton, p->destination_addr);
	uint8_t dc = p->data_coding;
	enum smpp_alphabet a = smpp_wire_alphabet_dc0(dc, cl->conf->data_coding_0);
	struct udh u = {0};
	bool has_udh = false;
	struct errbuf err;
	if ((p->esm_class & 0x40) && n > 0 && udh_parse(d, n, &u, &err) == 0)
		has_udh = true;
	size_t hl = has_udh ? u.len : 0;
	int lock = 0, shift = 0;
	if (has_udh)
		smpp_wire_langs(d, hl, &lock, &shift);
	uint8_t *text = NULL;
	size_t tn = n - hl;
	if (a == SMPP_ALPHA_GSM && cl->conf->gsm_packed) {
		size_t fill = udh_fill_bits(hl);
		size_t nsept = (tn * 8 - (tn ? fill : 0)) / 7;
		text = xmalloc(nsept + 1);
		if (gsm7_unpack(d + hl, tn, nsept, (unsigned)fill, text, nsept + 1))
			nsept = 0;
		tn = nsept;
	} else {
		text = xmalloc(tn + 1);
		memcpy(text, d + hl, tn);
	}
	unsigned ref = 0, total = 0, seq = 0;
	if (has_udh && u.has_concat) {
		ref = u.concat_ref;
		total = u.concat_total;
		seq = u.concat_seq;
	} else if (p->known.has_sar_msg_ref_num && p->known.has_sar_total_segments && p->known.has_sar_segment_seqnum) {
		ref = p->known.sar_msg_ref_num;
		total = p->known.sar_total_segments;
		seq = p->known.sar_segment_seqnum;
	}
	if (total > 1 && seq >= 1 && seq <= total &&
	    inacks_part(&cl->inacks, (unsigned)dc | (unsigned)lock << 8 | (unsigned)shift << 16, sender, recipient, ref,
	                total, seq, text, tn, (struct inacks_ref){s, s->gen, p->sequence_number, p->command_id}) == 0) {
		free(text);
		free(sender);
		free(recipient);
		reasm_drain(cl);
		return;
	}
	struct inbound *in = xcalloc(1, sizeof *in);
	in->sender = sender;
	in->recipient = recipient;
	in->parts = 1;
	if (has_udh && !u.has_concat)
		in->udh = smpp_wire_hex(d, hl);
	smpp_wire_text_lang(a, lock, shift, text, tn, &in->body, &in->payload, &in->encoding);
	free(text);
	log_debug("smpp_inbound", "conn=%s sender=%s encoding=%s", cname(cl), in->sender, in->encoding);
	core_received(cl->c, in, ack_one(cl, s, p));
}

/* ---- reading PDUs ---- */

static void session_bad_pdu(struct session *s, const struct smpp_pdu_error *e)
{
	struct client *cl = s->cl;
	char q[200];
	s->bad_pdus++;
	if (s->bad_pdus == 1)
		log_warn("smpp_bad_pdu", "conn=%s session=%s command=0x%08X seq=%u status=%s reason=%s", cname(cl),
		         role_names[s->role], e->command_id, e->sequence_number, status_name(e->status),
		         log_quote(e->reason, q, sizeof q));
	if (e->header_read && e->command_id == SMPP_SUBMIT_SM_RESP) {
		if (is_part(link_request_find(s->link, e->sequence_number)))
			part_answer(cl, link_request_take(s->link, e->sequence_number), 0, NULL,
			            "malformed submit_sm_resp");
	}
	if (e->header_read && !e->generic_nack)
		session_respond(s, e->command_id | SMPP_RESP_BIT, e->sequence_number, e->status);
	else if (!(e->header_read && (e->command_id & SMPP_RESP_BIT)))
		session_respond(s, SMPP_GENERIC_NACK, e->header_read ? e->sequence_number : 0, e->status);
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
		snprintf(why, sizeof why, "bind failed: %s (0x%08X)", status_name(p->command_status),
		         p->command_status);
		client_lost(cl, why);
		return;
	}
	log_info("smpp_bound", "conn=%s session=%s peer=%s:%d smsc=%s", cname(cl), role_names[s->role], cl->dial.host,
	         cl->dial.port, p->body_absent ? "" : p->system_id);
	session_bound(s);
}

static void session_pdu(struct session *s, const uint8_t *buf, size_t len)
{
	struct client *cl = s->cl;
	struct smpp_pdu *p = &cl->in;
	struct smpp_pdu_error e;
	if (smpp_pdu_decode(buf, len, p, &e)) {
		session_bad_pdu(s, &e);
		return;
	}
	log_debug("smpp_rx", "conn=%s session=%s command=%s seq=%u status=0x%08X", cname(cl), role_names[s->role],
	          smpp_pdu_command_name(p->command_id), p->sequence_number, p->command_status);
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
			stop_progress(cl);
			return;
		}
		on_submit_resp(s, p);
		return;
	case SMPP_SUBMIT_SM_RESP:
		on_submit_resp(s, p);
		return;
	case SMPP_ENQUIRE_LINK:
		session_respond(s, SMPP_ENQUIRE_LINK_RESP, p->sequence_number, 0);
		return;
	case SMPP_ENQUIRE_LINK_RESP:
		if (link_request_find(s->link, p->sequence_number) == LINK_KEEPALIVE)
			(void)link_request_take(s->link, p->sequence_number);
		return;
	case SMPP_DELIVER_SM:
	case SMPP_DATA_SM:
		if (s->state != SMPP_BOUND || s->role == ROLE_TX)
			session_respond(s, p->command_id | SMPP_RESP_BIT, p->sequence_number, SMPP_ESME_RINVBNDSTS);
		else if (cl->stopping)
			session_respond(s, p->command_id | SMPP_RESP_BIT, p->sequence_number, SMPP_ESME_RX_T_APPN);
		else
			on_deliver(s, p);
		return;
	case SMPP_UNBIND:
		session_respond(s, SMPP_UNBIND_RESP, p->sequence_number, 0);
		link_close_flush(s->link, "unbind from the SMSC");
		return;
	case SMPP_UNBIND_RESP:
		if (s->state == SMPP_UNBINDING && link_request_find(s->link, p->sequence_number) == REQ_UNBIND) {
			session_set(s, SMPP_DISCONNECTED, "unbind_resp");
			stop_progress(cl);
		}
		return;
	case SMPP_ALERT_NOTIFICATION:
	case SMPP_OUTBIND:
		return; /* nothing to answer */
	default:
		if (!(p->command_id & SMPP_RESP_BIT))
			session_respond(s, SMPP_GENERIC_NACK, p->sequence_number, SMPP_ESME_RINVCMDID);
		return;
	}
}

/* ---- link callbacks ---- */

static void link_on_frame(struct link *l, void *arg, const uint8_t *buf, size_t len)
{
	(void)l;
	session_pdu(arg, buf, len);
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
		stop_progress(cl);
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
		stop_progress(cl);
	} else {
		struct submits_part *pt = data;
		log_info("smpp_response_timeout", "conn=%s seq=%u id=%" PRId64, cname(cl), seq, pt->sub->m->id);
		part_answer(cl, pt, 0, NULL, "response timeout");
	}
}

static int link_on_keepalive(struct link *l, void *arg, uint32_t seq)
{
	struct session *s = arg;
	struct smpp_pdu *p = &s->cl->out;
	(void)l;
	smpp_wire_pdu_reset(p, SMPP_ENQUIRE_LINK, seq);
	return session_send(s, p);
}

static void link_on_bad_stream(struct link *l, void *arg, const char *reason)
{
	struct session *s = arg;
	char q[200];
	(void)l;
	log_warn("smpp_bad_stream", "conn=%s session=%s reason=%s", cname(s->cl), role_names[s->role],
	         log_quote(reason, q, sizeof q));
	session_respond(s, SMPP_GENERIC_NACK, 0, SMPP_ESME_RINVCMDLEN);
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
	reasm_drain(cl);
	if (cl->stopping)
		stop_progress(cl);
}

/* ---- stop ---- */

/* Stop in two phases, each bounded: wait for answers to submits and for the
 * database to commit deliveries; then unbind and wait for unbind_resp. */
static void stop_progress(struct client *cl)
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
	log_info("smpp_stopping", "conn=%s in_flight_parts=%d held=%d", cname(cl), cl->subs.nparts, cl->held.len);
	cl->stopping = true;
	cl->stop_phase_ms = now_mono_ms();
	dialer_cancel(&cl->dial);
	release_held(cl);
	if (!cl->up) {
		client_finish_stop(cl);
		return;
	}
	core_conn_state(c, CONN_STOPPING, "unbinding");
	stop_progress(cl);
}

/* ---- open / close ---- */

static int smpp_open(struct conn *c)
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
	cl->subs = (struct submits){
	    .c = c, .proto = "smpp", .classify = classify, .throttle_pause_ms = conf->throttle_pause_ms};
	cl->concat_ref = link_random();
	struct event_base *base = conn_event_base(c);
	struct dialer_opts dopts = DIALER_OPTS_OF(conf);
	struct errbuf err = {""};
	if (dialer_init(&cl->dial, base, &dopts, reconnect_cb, cl, &err)) {
		char q[300];
		log_error("smpp_tls", "conn=%s error=%s", conn_name(c), log_quote(err.msg, q, sizeof q));
		goto fail;
	}
	cl->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, cl);
	cl->resume_ev = evtimer_new(base, resume_cb, cl);
	struct timeval tv;
	tv_ms(&tv, TICK_MS);
	event_add(cl->tick_ev, &tv);
	conn_set_driver_data(c, cl);
	client_connect(cl);
	return 0;
fail:
	dialer_free(&cl->dial);
	inacks_free(&cl->inacks);
	free(cl->id_ring);
	free(cl);
	return -1;
}

static void part_forget(void *arg, uint32_t seq, void *data)
{
	(void)arg;
	(void)seq;
	if (is_part(data))
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
    .submit = smpp_submit,
    .stop = smpp_stop,
    .close = smpp_close,
    .acked = smpp_acked,
};
