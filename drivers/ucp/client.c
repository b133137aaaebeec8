/*
 * ucp client: smspool as an EMI/UCP client of an SMSC, connection type
 * "ucp".
 *
 * Layers, kept apart:
 * - codec: frame.c / data.c / nack.c (pure, fuzzed), sm.c (messages <->
 *   fields), conf.c (settings);
 * - session: one `enum ucp_state`, changed only through client_set(), whose
 *   switch does each state's entry work and logs every transition at debug:
 *   DISCONNECTED -> CONNECTING -> LOGIN (op 60 sent; skipped without a
 *   login) -> UP;
 * - transport: the link layer (src/net/link.c): framing, the TRN table
 *   (00-99) with deadlines, op 31 keepalives, back-pressure, TLS, reconnect
 *   backoff.
 *
 * Ownership: a message lent by submit() lives in a `struct submit` until
 * every one of its op 51 (01/30 for 3.5) is answered, times out or the
 * session is lost; then it is completed exactly once (a lost session
 * returns it to the queue as MSG_TEMPORARY).  An op 52/53 is handed to the
 * core with a token; its ACK waits in a `struct ack` until acked() says the
 * database committed it (a NACK 04 otherwise, so the SMSC sends it again).
 * A long inbound text is acknowledged part by part only once the whole (or
 * what arrived before the reassembly timeout) is committed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "codec/reasm.h"
#include "codec/sms.h"
#include "codec/udh.h"
#include "driver.h"
#include "log.h"
#include "net/addr.h"
#include "net/link.h"
#include "ucp/conf.h"
#include "ucp/data.h"
#include "ucp/frame.h"
#include "ucp/nack.h"
#include "ucp/sm.h"
#include "util.h"

enum {
	TICK_MS = 200,
	ACK_BUCKETS = 1024,
	BAD_FRAME_LIMIT = 10,
	STOP_WAIT_MAX_MS = 5000,
	REASM_MAX_SETS = 1024,
};

enum ucp_state { UCP_DISCONNECTED, UCP_CONNECTING, UCP_LOGIN, UCP_UP };
static const char *const state_names[] = {"disconnected", "connecting", "login", "up"};

static const char login_marker;
#define REQ_LOGIN ((void *)&login_marker)

/* One message in flight. */
struct submit {
	struct msg *m;
	int nparts, answered;
	char **ids;
	bool failed;
	unsigned ec;           /* of the first NACK; 0 for a local failure */
	const char *local_err; /* static text of a local failure */
};

struct part {
	struct submit *sub;
	int idx;
	char adc[40];
};

struct ack_ref {
	uint64_t gen;
	unsigned trn, ot;
};

struct ack {
	uint64_t token;
	size_t n, cap;
	struct ack_ref *refs;
	struct ack *hnext;
};

struct oset {
	char *key;
	unsigned ref, total;
	struct ack *acc;
	struct oset *next;
};

struct client {
	struct conn *c;
	const struct ucp_conf *conf;
	enum ucp_state state;
	struct link *link;
	uint64_t gen;
	struct event *tick_ev, *reconnect_ev;
	struct evdns_base *dns;
	SSL_CTX *ssl_ctx;
	char peer_host[256];
	int peer_port;
	size_t peer_idx;
	struct link_backoff backoff;
	bool stopping, stopped;
	uint64_t stop_ms;
	int bad_frames;

	int nparts;
	struct msg_list held; /* waiting for TRNs or for a throttle pause to end */
	uint64_t pause_until_ms;
	unsigned concat_ref;

	struct ack *acks[ACK_BUCKETS];
	uint64_t next_token;
	int nacks;
	struct reasm *reasm;
	struct oset *osets;

	uint8_t obuf[UCP_FRAME_MAX];
	struct ucp_frame in;
	struct ucp_sm sm;
};

static void client_lost(struct client *cl, const char *reason);
static void stop_progress(struct client *cl);
static void resume_held(struct client *cl);

static const char *cname(const struct client *cl)
{
	return conn_name(cl->c);
}

/* ---- sending ---- */

static int send_frame(struct client *cl, const struct ucp_frame *f)
{
	size_t n;
	struct errbuf err = {""};
	if (!cl->link)
		return -1;
	if (ucp_frame_encode(f, cl->obuf, sizeof cl->obuf, &n, &err)) {
		log_error("ucp_encode_failed", "conn=%s ot=%02u error=\"%s\"", cname(cl), f->ot, err.msg);
		return -1;
	}
	return link_send(cl->link, cl->obuf, n);
}

/* ACK (ec 0) or NACK of the SMSC's operation ot with TRN trn. */
static void answer(struct client *cl, unsigned trn, unsigned ot, unsigned ec)
{
	struct ucp_frame f = {.trn = trn, .o_r = 'R', .ot = ot};
	char ecs[4];
	snprintf(ecs, sizeof ecs, "%02u", ec % 100);
	bool mvp = ot == 30 || (ot >= 51 && ot <= 58);
	f.f[f.nfields++] = ec ? (struct ucp_str){"N", 1} : (struct ucp_str){"A", 1};
	if (ec)
		f.f[f.nfields++] = (struct ucp_str){ecs, 2};
	else if (mvp)
		f.f[f.nfields++] = (struct ucp_str){"", 0};
	f.f[f.nfields++] = (struct ucp_str){"", 0};
	if (send_frame(cl, &f))
		log_debug("ucp_answer_failed", "conn=%s trn=%02u", cname(cl), trn);
}

/* ---- submits ---- */

static void submit_finish(struct client *cl, struct submit *sub)
{
	struct msg *m = sub->m;
	if (!sub->failed) {
		msg_set_sent(m, sub->nparts, (const char *const *)sub->ids);
	} else if (sub->local_err) {
		msg_set_failed(m, MSG_TEMPORARY, NULL, sub->local_err);
	} else {
		char code[8];
		snprintf(code, sizeof code, "%02u", sub->ec);
		enum ucp_nack_class cls = ucp_nack_class(sub->ec);
		/* Throttling is not failure (as for SMPP): the message goes back
		 * to the queue after the pause without spending an attempt. */
		enum msg_outcome o = cls == UCP_NACK_REJECT     ? MSG_REJECTED
		                     : cls == UCP_NACK_THROTTLE ? MSG_RELEASE
		                                                : MSG_TEMPORARY;
		const char *name = ucp_nack_name(sub->ec);
		msg_set_failed(m, o, code, name ? name : "unknown error code");
		if (o == MSG_RELEASE)
			m->retry_after_s = (int)((cl->conf->throttle_pause_ms + 999) / 1000) + 1;
	}
	log_debug("ucp_complete", "conn=%s id=%" PRId64 " outcome=%s parts=%d", cname(cl), m->id,
	          msg_outcome_name(m->outcome), sub->nparts);
	for (int i = 0; i < sub->nparts; i++)
		free(sub->ids[i]);
	free(sub->ids);
	free(sub);
	core_complete(cl->c, m);
}

static bool is_part(const void *data)
{
	return data && data != REQ_LOGIN && data != LINK_KEEPALIVE;
}

/* One part's answer: sm (ACK) or ec (NACK) or local (a local failure). */
static void part_answer(struct client *cl, struct part *p, const char *sm, unsigned ec, const char *local)
{
	struct submit *sub = p->sub;
	cl->nparts--;
	if (!local && !ec) {
		/* The remote id is what a notification will name: AdC:SCTS. */
		char id[80];
		if (sm && strchr(sm, ':'))
			snprintf(id, sizeof id, "%.79s", sm);
		else
			snprintf(id, sizeof id, "%.39s:%.39s", p->adc, sm ? sm : "");
		sub->ids[p->idx] = xstrdup(id);
	} else if (!sub->failed) {
		sub->failed = true;
		sub->ec = ec;
		sub->local_err = local;
	}
	free(p);
	if (++sub->answered == sub->nparts)
		submit_finish(cl, sub);
}

static void part_drained(void *arg, uint32_t seq, void *data)
{
	struct client *cl = arg;
	(void)seq;
	if (is_part(data))
		part_answer(cl, data, NULL, 0, cl->stopping ? "stopped before answer" : "connection lost");
}

/* Splits m into parts.  Returns the count, or -1 with err set. */
static int split(struct client *cl, struct msg *m, struct sms_split *sp, uint8_t **bin, struct errbuf *err)
{
	struct sms_split_opts opts = {0};
	const char *data;
	size_t len;
	if (sms_encoding_from_name(m->encoding ? m->encoding : "auto", &opts.encoding))
		return errbuf_set(err, "unknown encoding \"%s\"", m->encoding);
	if (opts.encoding == SMS_ENC_BINARY) {
		size_t plen = m->payload ? strlen(m->payload) / 2 : 0, ulen = m->udh ? strlen(m->udh) / 2 : 0;
		uint8_t *udh = xmalloc(ulen + 1);
		*bin = xmalloc(plen + 1);
		int np = m->payload ? hex_decode(m->payload, *bin, plen) : 0;
		int nu = m->udh ? hex_decode(m->udh, udh, ulen) : 0;
		if (np < 0 || nu < 0 || (nu > 0 && udh[0] != nu - 1)) {
			free(udh);
			return errbuf_set(err, "payload or udh is not valid");
		}
		static uint8_t ies[UDH_MAX_LEN];
		if (nu > 0) {
			memcpy(ies, udh + 1, (size_t)nu - 1);
			opts.extra_ies = ies;
			opts.extra_ies_len = (size_t)nu - 1;
		}
		free(udh);
		data = (const char *)*bin;
		len = (size_t)np;
	} else {
		data = m->body ? m->body : "";
		len = strlen(data);
	}
	/* AMsg carries default-alphabet characters: no national shift tables. */
	opts.national_langs = SMS_LANGS_NONE;
	opts.concat_ref = cl->concat_ref++ & 0xFF;
	if (sms_count_parts(data, len, &opts, sp, err))
		return -1;
	sp->parts = xcalloc(sp->n_parts, sizeof *sp->parts);
	sp->parts_cap = sp->n_parts;
	if (sms_split(data, len, &opts, sp, err))
		return -1;
	return (int)sp->n_parts;
}

/* Sends m's operations; m waits in held when the TRNs do not suffice. */
static void submit_now(struct client *cl, struct msg *m)
{
	const struct ucp_conf *conf = cl->conf;
	struct errbuf err = {""};
	struct sms_split sp = {0};
	uint8_t *bin = NULL;
	int n = split(cl, m, &sp, &bin, &err);
	bool v35 = ucp_conf_is_v35(conf);
	if (n > 0 && v35 && (n > 1 || sp.encoding != SMS_ENC_GSM7))
		n = errbuf_set(&err, "EMI 3.5 carries only GSM texts of one part");
	if (n > 0 && n > link_window_room(cl->link) && link_outstanding(cl->link) > 0) {
		free(sp.parts);
		free(bin);
		msg_list_push(&cl->held, m); /* after the answers in flight */
		return;
	}
	struct ucp_sm *sm = &cl->sm;
	struct submit *sub = NULL;
	struct part **ps = NULL;
	char *frames = NULL;
	size_t flen = 0;
	bool report = m->want_report && conf->request_reports;
	for (int i = 0; n > 0 && i < n; i++) {
		uint32_t trn;
		ucp_sm_reset(sm);
		if (ucp_sm_adc(m->recipient, sm->adc, sizeof sm->adc)) {
			n = errbuf_set(&err, "recipient has no AdC form");
			break;
		}
		if (ucp_sm_oadc(m->sender, sm)) {
			n = errbuf_set(&err, "sender has no OAdC form (11 GSM characters at most)");
			break;
		}
		if (report) {
			snprintf(sm->nrq, sizeof sm->nrq, "1");
			snprintf(sm->nt, sizeof sm->nt, "%lld", conf->notification_type);
			snprintf(sm->npid, sizeof sm->npid, "%s", conf->npid);
		}
		if (m->valid_until_s > 0)
			ucp_data_time10_format(m->valid_until_s, sm->vp);
		if (m->priority >= 5)
			snprintf(sm->pr, sizeof sm->pr, "1");
		int mclass = m->flash ? 0 : m->msg_class;
		if (ucp_sm_set_part(sm, &sp, &sp.parts[i], mclass)) {
			n = errbuf_set(&err, "part %d does not fit", i + 1);
			break;
		}
		if (link_next_seq(cl->link, &trn)) {
			n = errbuf_set(&err, "no free TRN");
			break;
		}
		struct ucp_frame f;
		unsigned ot = !v35 ? 51 : report || m->valid_until_s > 0 ? 30 : 1;
		ucp_sm_frame(sm, trn, ot, &f);
		size_t olen;
		if (ucp_frame_encode(&f, cl->obuf, sizeof cl->obuf, &olen, &err)) {
			n = -1;
			break;
		}
		if (!sub) {
			sub = xcalloc(1, sizeof *sub);
			sub->m = m;
			sub->nparts = n;
			sub->ids = xcalloc((size_t)n, sizeof *sub->ids);
			ps = xcalloc((size_t)n, sizeof *ps);
		}
		frames = xrealloc(frames, flen + olen);
		memcpy(frames + flen, cl->obuf, olen);
		flen += olen;
		ps[i] = xcalloc(1, sizeof *ps[i]);
		ps[i]->sub = sub;
		ps[i]->idx = i;
		snprintf(ps[i]->adc, sizeof ps[i]->adc, "%s", sm->adc);
		/* Taken now so that the next part gets another TRN. */
		if (link_request_add(cl->link, trn, ps[i], 0, true)) {
			n = errbuf_set(&err, "TRN in use");
			free(ps[i]);
			ps[i] = NULL;
			break;
		}
		cl->nparts++;
	}
	free(sp.parts);
	free(bin);
	if (n < 0) {
		/* Nothing was sent: take back what was registered. */
		for (int i = 0; sub && i < sub->nparts; i++)
			if (ps[i]) {
				for (uint32_t t = 0; t < 100; t++)
					if (link_request_find(cl->link, t) == ps[i]) {
						(void)link_request_take(cl->link, t);
						cl->nparts--;
					}
				free(ps[i]);
			}
		if (sub) {
			free(sub->ids);
			free(sub);
		}
		free(ps);
		free(frames);
		log_info("ucp_submit_refused", "conn=%s id=%" PRId64 " error=\"%s\"", cname(cl), m->id, err.msg);
		msg_set_failed(m, MSG_FAILED, "encoding", err.msg);
		core_complete(cl->c, m);
		return;
	}
	if (link_send(cl->link, frames, flen)) {
		/* The output is refused: answer each part (the last completes m). */
		for (int i = 0; i < sub->nparts; i++) {
			for (uint32_t t = 0; t < 100; t++)
				if (link_request_find(cl->link, t) == ps[i])
					(void)link_request_take(cl->link, t);
			part_answer(cl, ps[i], NULL, 0, "cannot send");
		}
	}
	free(ps);
	free(frames);
}

static void resume_held(struct client *cl)
{
	struct msg *m;
	while (cl->state == UCP_UP && !cl->stopping && now_mono_ms() >= cl->pause_until_ms && cl->held.head) {
		int before = cl->held.len;
		m = msg_list_pop(&cl->held);
		submit_now(cl, m);
		if (cl->held.len >= before)
			break; /* it went back: wait for answers */
	}
}

static void release_held(struct client *cl)
{
	struct msg *m;
	while ((m = msg_list_pop(&cl->held))) {
		msg_set_failed(m, MSG_RELEASE, NULL, NULL);
		core_complete(cl->c, m);
	}
}

static void ucp_submit(struct conn *c, struct msg *m)
{
	struct client *cl = conn_driver_data(c);
	if (cl->state != UCP_UP || cl->stopping) {
		msg_set_failed(m, MSG_RELEASE, NULL, NULL);
		core_complete(c, m);
		return;
	}
	if (cl->held.len || now_mono_ms() < cl->pause_until_ms) {
		msg_list_push(&cl->held, m);
		return;
	}
	submit_now(cl, m);
}

/* ---- acknowledgements of the SMSC's operations ---- */

static void ack_add_ref(struct ack *a, struct client *cl, unsigned trn, unsigned ot)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 2;
		a->refs = xrealloc(a->refs, a->cap * sizeof *a->refs);
	}
	a->refs[a->n++] = (struct ack_ref){.gen = cl->gen, .trn = trn, .ot = ot};
}

static uint64_t ack_register(struct client *cl, struct ack *a)
{
	a->token = ++cl->next_token;
	unsigned b = (unsigned)(a->token % ACK_BUCKETS);
	a->hnext = cl->acks[b];
	cl->acks[b] = a;
	cl->nacks++;
	return a->token;
}

static struct ack *ack_take(struct client *cl, uint64_t token)
{
	for (struct ack **pp = &cl->acks[token % ACK_BUCKETS]; *pp; pp = &(*pp)->hnext)
		if ((*pp)->token == token) {
			struct ack *a = *pp;
			*pp = a->hnext;
			cl->nacks--;
			return a;
		}
	return NULL;
}

static void ack_free(struct ack *a)
{
	if (a) {
		free(a->refs);
		free(a);
	}
}

static uint64_t ack_one(struct client *cl, unsigned trn, unsigned ot)
{
	struct ack *a = xcalloc(1, sizeof *a);
	ack_add_ref(a, cl, trn, ot);
	return ack_register(cl, a);
}

static void ucp_acked(struct conn *c, uint64_t token, bool committed)
{
	struct client *cl = conn_driver_data(c);
	struct ack *a = ack_take(cl, token);
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		struct ack_ref *r = &a->refs[i];
		if (r->gen != cl->gen || cl->state != UCP_UP) {
			log_debug("ucp_ack_dropped", "conn=%s trn=%02u reason=\"session gone\"", cname(cl), r->trn);
			continue;
		}
		answer(cl, r->trn, r->ot, committed ? 0 : UCP_EC_NOT_ALLOWED);
	}
	ack_free(a);
	if (cl->stopping)
		stop_progress(cl);
}

/* ---- inbound texts (op 52) and notifications (op 53) ---- */

static struct oset *oset_find(struct client *cl, const char *key, unsigned ref, unsigned total, bool unlink)
{
	for (struct oset **pp = &cl->osets; *pp; pp = &(*pp)->next) {
		struct oset *o = *pp;
		if (o->ref == ref && o->total == total && strcmp(o->key, key) == 0) {
			if (unlink)
				*pp = o->next;
			return o;
		}
	}
	return NULL;
}

/* The reassembly key carries what the finished text needs. */
static char *set_key(int kind, const char *sender, const char *recipient)
{
	size_t n = strlen(sender) + strlen(recipient) + 8;
	char *k = xmalloc(n);
	snprintf(k, n, "%d\x1f%s\x1f%s", kind, sender, recipient);
	return k;
}

static void reasm_drain(struct client *cl)
{
	struct reasm_msg *rm;
	while ((rm = reasm_poll(cl->reasm, now_mono_ms()))) {
		struct oset *o = oset_find(cl, rm->originator, rm->ref, rm->total, true);
		char *key = xstrdup(rm->originator);
		char *sender = strchr(key, '\x1f');
		char *recipient = sender ? strchr(sender + 1, '\x1f') : NULL;
		if (!recipient) { /* cannot happen: we made the key */
			free(key);
			reasm_msg_free(rm);
			continue;
		}
		*sender++ = 0;
		*recipient++ = 0;
		struct inbound *in = xcalloc(1, sizeof *in);
		in->sender = xstrdup(sender);
		in->recipient = xstrdup(recipient);
		in->parts = (int)rm->received;
		struct ucp_sm_in *t = xcalloc(1, sizeof *t);
		t->kind = atoi(key);
		t->len = rm->len < sizeof t->data ? rm->len : sizeof t->data;
		memcpy(t->data, rm->data, t->len);
		if (rm->len > sizeof t->data) { /* longer than one field: keep it whole as UCS-2/GSM octets */
			free(t);
			t = NULL;
		}
		if (t) {
			ucp_sm_text(t, &in->body, &in->payload, &in->encoding);
			free(t);
		} else {
			in->payload = xmalloc(2 * rm->len + 1);
			hex_encode(rm->data, rm->len, in->payload);
			in->encoding = xstrdup("binary");
		}
		if (rm->status != REASM_COMPLETE)
			log_warn("ucp_partial_text", "conn=%s sender=%s parts=%u of %u", cname(cl), sender,
			         rm->received, rm->total);
		uint64_t token = 0;
		if (o && o->acc->n) {
			token = ack_register(cl, o->acc);
			o->acc = NULL;
		}
		if (o) {
			ack_free(o->acc);
			free(o->key);
			free(o);
		}
		free(key);
		reasm_msg_free(rm);
		core_received(cl->c, in, token);
	}
}

static void on_mo(struct client *cl, const struct ucp_frame *f)
{
	struct ucp_sm_in *t = xmalloc(sizeof *t);
	struct errbuf err = {""};
	unsigned ec = ucp_sm_read(f, t, &err);
	if (ec) {
		log_info("ucp_mo_refused", "conn=%s trn=%02u ec=%02u reason=\"%s\"", cname(cl), f->trn, ec, err.msg);
		answer(cl, f->trn, f->ot, ec);
		free(t);
		return;
	}
	char *sender = ucp_sm_addr_in(&f->f[UCP5X_OAdC], &f->f[UCP5X_OTOA]);
	char *recipient = ucp_sm_addr_in(&f->f[UCP5X_AdC], NULL);
	int64_t ts = 0;
	if (ucp_data_scts_parse(f->f[UCP5X_SCTS].p, f->f[UCP5X_SCTS].len, &ts))
		ts = 0; /* unknown */
	struct udh u = {0};
	bool concat = false;
	if (t->udh_len && udh_parse(t->udh, t->udh_len, &u, &err) == 0 && u.has_concat && u.concat_total > 1 &&
	    u.concat_seq >= 1 && u.concat_seq <= u.concat_total && t->len <= REASM_PART_MAX)
		concat = true;
	if (concat) {
		char *key = set_key((int)t->kind, sender, recipient);
		struct reasm_part rp = {.conn_id = cname(cl),
		                        .originator = key,
		                        .ref = u.concat_ref,
		                        .total = u.concat_total,
		                        .seq = u.concat_seq,
		                        .data = t->data,
		                        .len = t->len};
		enum reasm_add_result res;
		if (reasm_add(cl->reasm, &rp, now_mono_ms(), &res) == 0) {
			struct oset *o = oset_find(cl, key, u.concat_ref, u.concat_total, false);
			if (!o) {
				o = xcalloc(1, sizeof *o);
				o->key = xstrdup(key);
				o->ref = u.concat_ref;
				o->total = u.concat_total;
				o->acc = xcalloc(1, sizeof *o->acc);
				o->next = cl->osets;
				cl->osets = o;
			}
			ack_add_ref(o->acc, cl, f->trn, f->ot);
			free(key);
			free(sender);
			free(recipient);
			free(t);
			reasm_drain(cl);
			return;
		}
		free(key);
	}
	struct inbound *in = xcalloc(1, sizeof *in);
	in->sender = sender;
	in->recipient = recipient;
	in->parts = 1;
	in->smsc_ts_s = ts;
	if (t->udh_len && !concat) {
		in->udh = xmalloc(2 * t->udh_len + 1);
		hex_encode(t->udh, t->udh_len, in->udh);
	}
	ucp_sm_text(t, &in->body, &in->payload, &in->encoding);
	free(t);
	log_debug("ucp_inbound", "conn=%s sender=%s encoding=%s", cname(cl), in->sender, in->encoding);
	core_received(cl->c, in, ack_one(cl, f->trn, f->ot));
}

static void on_notification(struct client *cl, const struct ucp_frame *f)
{
	char oadc[40], scts[16];
	if (ucp_frame_get(f, UCP5X_OAdC, oadc, sizeof oadc) < 0 ||
	    ucp_frame_get(f, UCP5X_SCTS, scts, sizeof scts) < 0 || !scts[0]) {
		answer(cl, f->trn, 53, UCP_EC_SYNTAX);
		return;
	}
	struct report *r = xcalloc(1, sizeof *r);
	char id[64];
	snprintf(id, sizeof id, "%s:%s", oadc, scts);
	r->remote_id = xstrdup(id);
	const char *st = ucp_frame_is(f, UCP5X_Dst, "0")   ? "delivered"
	                 : ucp_frame_is(f, UCP5X_Dst, "1") ? "enroute"
	                                                   : "undelivered";
	r->state = xstrdup(st);
	if (f->f[UCP5X_Rsn].len) {
		char rsn[8];
		if (ucp_frame_get(f, UCP5X_Rsn, rsn, sizeof rsn) >= 0)
			r->error_code = xstrdup(rsn);
	}
	uint8_t text[UCP_SM_DATA_MAX];
	int n = ucp_data_ira_decode(f->f[UCP5X_Msg].p, f->f[UCP5X_Msg].len, text, sizeof text - 1);
	if (n > 0) {
		char *t = xmalloc((size_t)n + 1);
		for (int i = 0; i < n; i++)
			t[i] = text[i] >= 0x20 && text[i] < 0x7F ? (char)text[i] : '?';
		t[n] = 0;
		r->text = t;
	}
	log_debug("ucp_notification", "conn=%s id=%s state=%s", cname(cl), r->remote_id, r->state);
	core_report(cl->c, r, ack_one(cl, f->trn, 53));
}

/* ---- the session state machine ---- */

static const struct link_ops client_link_ops;

static int open_link(struct client *cl, char *why, size_t cap)
{
	const struct ucp_conf *conf = cl->conf;
	struct event_base *base = conn_event_base(cl->c);
	struct link_opts o = {
	    .name = cname(cl),
	    .max_frame = UCP_FRAME_MAX,
	    .response_timeout_ms = (uint64_t)conf->response_timeout_s * 1000,
	    .keepalive_ms = (uint64_t)conf->keepalive_s * 1000,
	    .seq_min = 0,
	    .seq_max = 99,
	    .window = (int)conf->window,
	    .max_inbound = 0,
	    .out_high = 256 * 1024,
	    .out_low = 64 * 1024,
	};
	struct sockaddr_storage ss;
	socklen_t sl;
	if (net_addr_numeric(cl->peer_host, cl->peer_port, &ss, &sl) && !cl->dns) {
		cl->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (!cl->dns) {
			snprintf(why, cap, "no DNS resolver");
			return -1;
		}
	}
	struct errbuf err = {""};
	cl->link = link_connect(base, &o, &client_link_ops, cl, cl->peer_host, cl->peer_port, cl->dns,
	                        conf->tls ? cl->ssl_ctx : NULL, &err);
	if (!cl->link) {
		snprintf(why, cap, "%s", err.msg);
		return -1;
	}
	return 0;
}

static int send_login(struct client *cl)
{
	const struct ucp_conf *conf = cl->conf;
	uint32_t trn;
	if (link_next_seq(cl->link, &trn) || link_request_add(cl->link, trn, REQ_LOGIN, 0, false))
		return -1;
	char oton[4], onpi[4], styp[4], pwd[2 * 64 + 1];
	snprintf(oton, sizeof oton, "%lld", conf->oton);
	snprintf(onpi, sizeof onpi, "%lld", conf->onpi);
	snprintf(styp, sizeof styp, "%lld", conf->styp);
	if (ucp_data_ira_encode((const uint8_t *)conf->password, strlen(conf->password), pwd, sizeof pwd))
		return -1;
	struct ucp_frame f = {.trn = trn, .o_r = 'O', .ot = 60, .nfields = UCP6X_COUNT};
	for (size_t i = 0; i < UCP6X_COUNT; i++)
		f.f[i] = (struct ucp_str){"", 0};
	f.f[UCP6X_OAdC] = (struct ucp_str){conf->login, strlen(conf->login)};
	f.f[UCP6X_OTON] = (struct ucp_str){oton, strlen(oton)};
	f.f[UCP6X_ONPI] = (struct ucp_str){onpi, strlen(onpi)};
	f.f[UCP6X_STYP] = (struct ucp_str){styp, strlen(styp)};
	f.f[UCP6X_PWD] = (struct ucp_str){pwd, strlen(pwd)};
	f.f[UCP6X_VERS] = (struct ucp_str){conf->vers, strlen(conf->vers)};
	return send_frame(cl, &f);
}

/* The one place where the session changes state.  Returns 0, or -1 when
 * the entry work failed (the caller treats the session as lost). */
static int client_set(struct client *cl, enum ucp_state to, const char *why)
{
	char q[200];
	log_debug("ucp_state", "conn=%s gen=%" PRIu64 " from=%s to=%s why=%s", cname(cl), cl->gen,
	          state_names[cl->state], state_names[to], log_quote(why ? why : "", q, sizeof q));
	cl->state = to;
	switch (to) {
	case UCP_DISCONNECTED:
		if (cl->link) {
			struct link *l = cl->link;
			link_request_drain(l, part_drained, cl);
			cl->link = NULL;
			link_free(l);
		}
		return 0;
	case UCP_CONNECTING: {
		cl->gen++;
		cl->bad_frames = 0;
		char err[300];
		if (open_link(cl, err, sizeof err)) {
			log_warn("ucp_connect_failed", "conn=%s error=%s", cname(cl), log_quote(err, q, sizeof q));
			return -1;
		}
		return 0;
	}
	case UCP_LOGIN:
		return send_login(cl);
	case UCP_UP: {
		link_set_bound(cl->link); /* op 31 keepalives from now on */
		link_backoff_reset(&cl->backoff);
		char detail[300];
		snprintf(detail, sizeof detail, "%s %s:%d (EMI %s)", cl->conf->login ? "logged in to" : "connected to",
		         cl->peer_host, cl->peer_port, cl->conf->version);
		log_info("ucp_up", "conn=%s peer=%s:%d login=%s", cname(cl), cl->peer_host, cl->peer_port,
		         cl->conf->login ? cl->conf->login : "-");
		core_conn_state(cl->c, CONN_UP, detail);
		return 0;
	}
	}
	abort();
}

static void client_connect(struct client *cl)
{
	if (ucp_conf_peer(cl->conf, cl->peer_idx, cl->peer_host, sizeof cl->peer_host, &cl->peer_port)) {
		client_lost(cl, "bad peer address");
		return;
	}
	log_info("ucp_connecting", "conn=%s peer=%s:%d tls=%s", cname(cl), cl->peer_host, cl->peer_port,
	         cl->conf->tls ? "yes" : "no");
	if (client_set(cl, UCP_CONNECTING, "connect"))
		client_lost(cl, "cannot connect");
}

static void reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	(void)fd;
	(void)what;
	if (!cl->stopping)
		client_connect(cl);
}

static void client_finish_stop(struct client *cl)
{
	if (cl->stopped)
		return;
	if (cl->state != UCP_DISCONNECTED)
		client_set(cl, UCP_DISCONNECTED, "stopped");
	release_held(cl);
	if (cl->nacks || cl->osets || reasm_pending(cl->reasm))
		log_info("ucp_stop_unanswered", "conn=%s deliveries=%d partial_texts=%zu", cname(cl), cl->nacks,
		         reasm_pending(cl->reasm));
	cl->stopped = true;
	event_del(cl->tick_ev);
	event_del(cl->reconnect_ev);
	core_conn_state(cl->c, CONN_DOWN, "stopped");
	core_stopped(cl->c);
}

static void client_lost(struct client *cl, const char *reason)
{
	if (cl->stopped)
		return;
	if (cl->state != UCP_DISCONNECTED)
		client_set(cl, UCP_DISCONNECTED, reason);
	if (cl->stopping) {
		client_finish_stop(cl);
		return;
	}
	release_held(cl);
	cl->peer_idx = (cl->peer_idx + 1) % ucp_conf_peer_count(cl->conf);
	uint64_t delay = link_backoff_next(&cl->backoff);
	char detail[400], q[450];
	snprintf(detail, sizeof detail, "%s; retry in %" PRIu64 " ms", reason, delay);
	log_warn("ucp_session_lost", "conn=%s reason=%s", cname(cl), log_quote(detail, q, sizeof q));
	core_conn_state(cl->c, CONN_CONNECTING, detail);
	struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)(delay % 1000) * 1000};
	evtimer_add(cl->reconnect_ev, &tv);
}

/* ---- reading ---- */

static void on_result(struct client *cl, const struct ucp_frame *f)
{
	void *data = link_request_find(cl->link, f->trn);
	if (data == LINK_KEEPALIVE) {
		(void)link_request_take(cl->link, f->trn);
		return;
	}
	if (data == REQ_LOGIN && f->ot == 60) {
		(void)link_request_take(cl->link, f->trn);
		if (f->nack) {
			char why[160];
			unsigned ec = (unsigned)atoi(f->f[UCPR_EC_OR_MVP].p);
			const char *name = ucp_nack_name(ec);
			snprintf(why, sizeof why, "login refused: NACK %02u (%s)", ec, name ? name : "unknown");
			client_lost(cl, why);
			return;
		}
		client_set(cl, UCP_UP, "op 60 acknowledged");
		return;
	}
	if (!is_part(data)) {
		log_debug("ucp_unknown_result", "conn=%s trn=%02u ot=%02u", cname(cl), f->trn, f->ot);
		return;
	}
	struct part *p = link_request_take(cl->link, f->trn);
	if (f->ack) {
		char sm[80];
		size_t smi = f->nfields - 1;
		if (ucp_frame_get(f, smi, sm, sizeof sm) < 0)
			sm[0] = '\0';
		part_answer(cl, p, sm, 0, NULL);
	} else {
		unsigned ec = (unsigned)atoi(f->f[UCPR_EC_OR_MVP].p);
		if (ucp_nack_class(ec) == UCP_NACK_THROTTLE) {
			cl->pause_until_ms = now_mono_ms() + (uint64_t)cl->conf->throttle_pause_ms;
			log_info("ucp_throttled", "conn=%s pause_ms=%lld", cname(cl), cl->conf->throttle_pause_ms);
		}
		log_debug("ucp_nack", "conn=%s trn=%02u ec=%02u", cname(cl), f->trn, ec);
		part_answer(cl, p, NULL, ec ? ec : 99, NULL);
	}
	resume_held(cl);
}

static void on_frame(struct link *l, void *arg, const uint8_t *buf, size_t len)
{
	struct client *cl = arg;
	struct ucp_frame *f = &cl->in;
	struct ucp_error e;
	char q[200];
	(void)l;
	if (!ucp_frame_is_frame(buf, len) && ucp_frame_is_blank(buf, len))
		return; /* line ends between frames */
	if (!ucp_frame_is_frame(buf, len) || ucp_frame_decode(buf, len, f, &e) < 0) {
		bool frame = ucp_frame_is_frame(buf, len);
		if (++cl->bad_frames == 1)
			log_warn("ucp_bad_frame", "conn=%s reason=%s", cname(cl),
			         log_quote(frame ? e.reason : "octets outside a frame", q, sizeof q));
		if (frame && e.header_read && e.o_r == 'O')
			answer(cl, e.trn, e.ot, e.ec);
		if (cl->bad_frames >= BAD_FRAME_LIMIT)
			link_close_flush(cl->link, "the SMSC keeps sending malformed frames");
		return;
	}
	if (!f->checksum_ok || !f->len_ok) {
		cl->bad_frames++;
		log_info("ucp_bad_frame", "conn=%s trn=%02u ot=%02u reason=%s", cname(cl), f->trn, f->ot,
		         f->checksum_ok ? "LEN" : "checksum");
		if (f->o_r == 'O')
			answer(cl, f->trn, f->ot, f->checksum_ok ? UCP_EC_SYNTAX : UCP_EC_CHECKSUM);
		return;
	}
	log_debug("ucp_rx", "conn=%s trn=%02u or=%c ot=%02u", cname(cl), f->trn, f->o_r, f->ot);
	if (f->o_r == 'R') {
		on_result(cl, f);
		return;
	}
	switch (f->ot) {
	case 31:
		answer(cl, f->trn, 31, 0);
		return;
	case 52:
	case 53:
		if (cl->state != UCP_UP || cl->stopping) {
			answer(cl, f->trn, f->ot, UCP_EC_NOT_ALLOWED);
			return;
		}
		if (f->ot == 52)
			on_mo(cl, f);
		else
			on_notification(cl, f);
		return;
	default:
		answer(cl, f->trn, f->ot, UCP_EC_NOT_SUPPORTED);
		return;
	}
}

/* ---- link callbacks ---- */

static void on_up(struct link *l, void *arg)
{
	struct client *cl = arg;
	(void)l;
	if (cl->conf->login && *cl->conf->login) {
		if (client_set(cl, UCP_LOGIN, "connected"))
			client_lost(cl, "cannot send the login");
	} else {
		client_set(cl, UCP_UP, "connected (no login)");
	}
}

static void on_down(struct link *l, void *arg, const char *reason)
{
	struct client *cl = arg;
	(void)l;
	char why[400];
	snprintf(why, sizeof why, "%s (%s)", reason, state_names[cl->state]);
	client_lost(cl, why);
}

static void on_timeout(struct link *l, void *arg, uint32_t seq, void *data)
{
	struct client *cl = arg;
	(void)l;
	if (data == REQ_LOGIN) {
		client_lost(cl, "login timeout");
		return;
	}
	if (!is_part(data))
		return;
	struct part *p = data;
	log_info("ucp_result_timeout", "conn=%s trn=%02u id=%" PRId64, cname(cl), seq, p->sub->m->id);
	part_answer(cl, p, NULL, 0, "result timeout");
	resume_held(cl);
}

static int on_keepalive(struct link *l, void *arg, uint32_t seq)
{
	struct client *cl = arg;
	(void)l;
	const char *adc = cl->conf->login ? cl->conf->login : "";
	struct ucp_frame f = {.trn = seq, .o_r = 'O', .ot = 31, .nfields = 2};
	f.f[UCP31_AdC] = (struct ucp_str){adc, strlen(adc)};
	f.f[UCP31_PID] = (struct ucp_str){"0539", 4};
	return send_frame(cl, &f);
}

static const struct link_ops client_link_ops = {
    .frame = ucp_frame_link,
    .frame_min = 1,
    .on_frame = on_frame,
    .on_up = on_up,
    .on_down = on_down,
    .on_timeout = on_timeout,
    .on_keepalive = on_keepalive,
};

/* ---- timers, stop ---- */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	(void)fd;
	(void)what;
	reasm_drain(cl);
	if (cl->stopping)
		stop_progress(cl);
	else if (cl->held.len)
		resume_held(cl);
}

/* Waits (bounded) for results of submits and commits of deliveries. */
static void stop_progress(struct client *cl)
{
	if (!cl->stopping || cl->stopped)
		return;
	uint64_t limit = (uint64_t)cl->conf->response_timeout_s * 1000;
	if (limit > STOP_WAIT_MAX_MS)
		limit = STOP_WAIT_MAX_MS;
	if ((cl->nparts || cl->nacks) && cl->state == UCP_UP && now_mono_ms() - cl->stop_ms < limit)
		return;
	client_finish_stop(cl);
}

static void ucp_stop(struct conn *c)
{
	struct client *cl = conn_driver_data(c);
	log_info("ucp_stopping", "conn=%s in_flight_parts=%d held=%d", cname(cl), cl->nparts, cl->held.len);
	cl->stopping = true;
	cl->stop_ms = now_mono_ms();
	event_del(cl->reconnect_ev);
	release_held(cl);
	if (cl->state != UCP_UP) {
		client_finish_stop(cl);
		return;
	}
	core_conn_state(c, CONN_STOPPING, "waiting for results");
	stop_progress(cl);
}

/* ---- open / close ---- */

static int ucp_open(struct conn *c)
{
	const struct ucp_conf *conf = conn_conf(c);
	struct client *cl = xcalloc(1, sizeof *cl);
	cl->c = c;
	cl->conf = conf;
	cl->reasm = reasm_new(REASM_MAX_SETS, (uint64_t)conf->reasm_timeout_s * 1000);
	cl->concat_ref = link_random();
	cl->backoff.min_ms = (uint64_t)conf->reconnect_min_ms;
	cl->backoff.max_ms = (uint64_t)conf->reconnect_max_ms;
	if (conf->tls) {
		struct errbuf err = {""};
		cl->ssl_ctx = link_tls_client_ctx(conf->tls_ca_file, conf->tls_verify, &err);
		if (!cl->ssl_ctx) {
			char q[300];
			log_error("ucp_tls", "conn=%s error=%s", conn_name(c), log_quote(err.msg, q, sizeof q));
			reasm_free(cl->reasm);
			free(cl);
			return -1;
		}
	}
	struct event_base *base = conn_event_base(c);
	cl->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, cl);
	cl->reconnect_ev = evtimer_new(base, reconnect_cb, cl);
	struct timeval tv = {0, TICK_MS * 1000};
	event_add(cl->tick_ev, &tv);
	conn_set_driver_data(c, cl);
	core_conn_state(c, CONN_CONNECTING, "connecting");
	client_connect(cl);
	return 0;
}

static void part_forget(void *arg, uint32_t seq, void *data)
{
	(void)arg;
	(void)seq;
	if (!is_part(data))
		return;
	struct part *p = data;
	struct submit *sub = p->sub;
	if (++sub->answered == sub->nparts) {
		for (int i = 0; i < sub->nparts; i++)
			free(sub->ids[i]);
		free(sub->ids);
		msg_free(sub->m);
		free(sub);
	}
	free(p);
}

static void ucp_close(struct conn *c)
{
	struct client *cl = conn_driver_data(c);
	if (!cl)
		return;
	if (cl->link) { /* only after a forced stop */
		link_request_drain(cl->link, part_forget, NULL);
		link_free(cl->link);
	}
	struct msg *m;
	while ((m = msg_list_pop(&cl->held)))
		msg_free(m);
	for (int i = 0; i < ACK_BUCKETS; i++)
		for (struct ack *a = cl->acks[i], *n; a; a = n) {
			n = a->hnext;
			ack_free(a);
		}
	for (struct oset *o = cl->osets, *n; o; o = n) {
		n = o->next;
		ack_free(o->acc);
		free(o->key);
		free(o);
	}
	reasm_free(cl->reasm);
	event_free(cl->tick_ev);
	event_free(cl->reconnect_ev);
	if (cl->dns)
		evdns_base_free(cl->dns, 0);
	if (cl->ssl_ctx)
		SSL_CTX_free(cl->ssl_ctx);
	free(cl);
	conn_set_driver_data(c, NULL);
}

const struct driver_ops ucp_driver = {
    .name = "ucp",
    .caps = CAP_SEND | CAP_RECEIVE | CAP_REPORTS,
    .settings = ucp_conf_settings,
    .conf_size = sizeof(struct ucp_conf),
    .check = ucp_conf_check,
    .open = ucp_open,
    .submit = ucp_submit,
    .stop = ucp_stop,
    .close = ucp_close,
    .acked = ucp_acked,
};
