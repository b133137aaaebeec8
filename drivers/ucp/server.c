/*
 * ucp server: smspool as an SMSC for EMI/UCP clients (Kannel's emi, other
 * gateways), connection type "ucp-server".
 *
 * Layers, kept apart:
 * - codec: frame.c / data.c / nack.c (pure, fuzzed), sm.c (messages <->
 *   fields), conf.c (settings);
 * - session: one `enum sess_state` per accepted session, changed only
 *   through sess_set(), whose switch does each state's entry work and logs
 *   every transition at debug:  OPEN -> LOGIN (core_authenticate asked) ->
 *   BOUND -> CLOSED;
 * - transport: the link layer (src/net/link.c): framing, TRN table with
 *   deadlines, login and idle timeouts, back-pressure, TLS, per-address
 *   limits.
 *
 * Answers: an op 60 is answered from authenticated(), an op 51/01/30 from
 * submitted() (after the outbox row is committed) with SM = AdC:SCTS, where
 * the SCTS is the message id counted in seconds from 2000-01-01 00:00:00
 * UTC: unique per message and computable again for its op 53 notification
 * without storing anything (clients use it as a key, as Kannel does).  A
 * session lives on (CLOSED, without link) until every core answer it waits
 * for has come.  An account event handed to deliver() gets exactly one
 * core_event_done(): true when every op 52/53 of it got an ACK.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "driver.h"
#include "log.h"
#include "net/link.h"
#include "policy.h"
#include "ucp/conf.h"
#include "ucp/data.h"
#include "ucp/frame.h"
#include "ucp/nack.h"
#include "ucp/sm.h"
#include "util.h"

enum {
	PEND_BUCKETS = 1024,
	TICK_MS = 200,
	BAD_FRAME_LIMIT = 10,    /* malformed frames before a session is dropped */
	STOP_WAIT_MAX_MS = 5000, /* for the database's answers at a stop */
	OUT_HIGH = 256 * 1024,
	OUT_LOW = 64 * 1024,
};

#define SCTS_EPOCH 946684800 /* 2000-01-01 00:00:00 UTC */
/* A TRN held while the other parts of a long text are built. */
static const char reserved_marker;
#define RESERVED ((void *)&reserved_marker)

enum sess_state { SS_OPEN, SS_LOGIN, SS_BOUND, SS_CLOSED };
static const char *const state_names[] = {"open", "login", "bound", "closed"};

struct server;

/* An account's sessions here and the events waiting for one of them; its
 * max_binds and throughput are the core's (core_account_bind/take). */
struct account {
	char *name;
	double throughput;
	struct sess **rx;
	int nrx, caprx;
	unsigned rr;
	struct account_event *wait_head, *wait_tail;
	struct account *next;
};

struct sess {
	struct server *sv;
	uint64_t id;
	enum sess_state state;
	struct link *link;
	char peer[80], ip[64], login[24];
	struct account *acct;
	int npend, inflight, bad_frames;
	struct sess *prev, *next;
};

/* A core call waiting for its answer, and what to answer. */
struct pend {
	uint64_t token;
	struct sess *s;
	unsigned trn, ot;
	char adc[40];
	struct pend *hnext;
};

/* An account event being delivered in one or more op 52/53. */
struct dlv {
	struct account_event *ev;
	int nparts, answered;
	bool failed;
};

struct dpart {
	struct dlv *d;
	struct sess *s;
};

struct server {
	struct conn *c;
	const struct ucp_server_conf *conf;
	struct link_listener *ls;
	SSL_CTX *ssl_ctx;
	struct sess *sessions;
	uint64_t next_sess;
	struct account *accounts;
	struct pend *pends[PEND_BUCKETS];
	uint64_t next_token;
	int npend;
	bool stopping, stopped;
	uint64_t stop_ms, listen_retry_ms;
	struct event *tick_ev;
	uint8_t obuf[UCP_FRAME_MAX];
	struct ucp_frame in;
	struct ucp_sm sm;
};

static void sess_set(struct sess *s, enum sess_state to, const char *why);
static void stop_progress(struct server *sv);
static void account_drain(struct server *sv, struct account *a);

static const char *cname(const struct server *sv)
{
	return conn_name(sv->c);
}

/* ---- sending ---- */

static int send_frame(struct sess *s, const struct ucp_frame *f)
{
	struct server *sv = s->sv;
	size_t n;
	struct errbuf err = {""};
	if (!s->link)
		return -1;
	if (ucp_frame_encode(f, sv->obuf, sizeof sv->obuf, &n, &err)) {
		log_error("ucp_server_encode_failed", "conn=%s sess=%" PRIu64 " ot=%02u error=\"%s\"", cname(sv), s->id,
		          f->ot, err.msg);
		return -1;
	}
	return link_send(s->link, sv->obuf, n);
}

/* ACK (ec 0) or NACK of operation ot with TRN trn; sm may be NULL. */
static void answer(struct sess *s, unsigned trn, unsigned ot, unsigned ec, const char *sm)
{
	struct ucp_frame f = {.trn = trn, .o_r = 'R', .ot = ot};
	char ecs[4];
	snprintf(ecs, sizeof ecs, "%02u", ec % 100);
	bool mvp = ot == 30 || (ot >= 51 && ot <= 58);
	if (ec == 0) {
		f.f[f.nfields++] = (struct ucp_str){"A", 1};
		if (mvp)
			f.f[f.nfields++] = (struct ucp_str){"", 0};
	} else {
		f.f[f.nfields++] = (struct ucp_str){"N", 1};
		f.f[f.nfields++] = (struct ucp_str){ecs, 2};
	}
	f.f[f.nfields++] = (struct ucp_str){sm ? sm : "", sm ? strlen(sm) : 0};
	if (send_frame(s, &f))
		log_debug("ucp_server_answer_failed", "conn=%s sess=%" PRIu64 " trn=%02u", cname(s->sv), s->id, trn);
}

/* ---- accounts ---- */

static struct account *account_find(struct server *sv, const char *name)
{
	for (struct account *a = sv->accounts; a; a = a->next)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

static struct account *account_get(struct server *sv, const struct account_info *info)
{
	struct account *a = account_find(sv, info->name);
	if (!a) {
		a = xcalloc(1, sizeof *a);
		a->name = xstrdup(info->name);
		a->next = sv->accounts;
		sv->accounts = a;
	}
	a->throughput = info->throughput;
	return a;
}

static void event_refuse(struct server *sv, struct account_event *ev)
{
	core_event_done(sv->c, ev, false);
	account_event_free(ev);
}

static void account_add_rx(struct server *sv, struct account *a, struct sess *s)
{
	if (a->nrx == a->caprx) {
		a->caprx = a->caprx ? 2 * a->caprx : 4;
		a->rx = xrealloc(a->rx, (size_t)a->caprx * sizeof *a->rx);
	}
	a->rx[a->nrx++] = s;
	if (a->nrx == 1)
		core_account_attach(sv->c, a->name);
	account_drain(sv, a);
}

static void account_remove_rx(struct server *sv, struct account *a, struct sess *s)
{
	for (int i = 0; i < a->nrx; i++)
		if (a->rx[i] == s) {
			a->rx[i] = a->rx[--a->nrx];
			if (a->nrx == 0) {
				while (a->wait_head) { /* no session left: back to the database */
					struct account_event *ev = a->wait_head;
					a->wait_head = ev->next;
					ev->next = NULL;
					event_refuse(sv, ev);
				}
				a->wait_tail = NULL;
				core_account_detach(sv->c, a->name);
			}
			return;
		}
}

/* ---- pending core calls ---- */

static uint64_t pend_add(struct server *sv, struct sess *s, unsigned trn, unsigned ot, const char *adc)
{
	struct pend *p = xcalloc(1, sizeof *p);
	p->token = ++sv->next_token;
	p->s = s;
	p->trn = trn;
	p->ot = ot;
	snprintf(p->adc, sizeof p->adc, "%s", adc ? adc : "");
	unsigned b = (unsigned)(p->token % PEND_BUCKETS);
	p->hnext = sv->pends[b];
	sv->pends[b] = p;
	sv->npend++;
	s->npend++;
	return p->token;
}

static struct pend *pend_take(struct server *sv, uint64_t token)
{
	for (struct pend **pp = &sv->pends[token % PEND_BUCKETS]; *pp; pp = &(*pp)->hnext)
		if ((*pp)->token == token) {
			struct pend *p = *pp;
			*pp = p->hnext;
			sv->npend--;
			p->s->npend--;
			return p;
		}
	return NULL;
}

/* Frees a closed session once nothing refers to it. */
static void sess_reap(struct sess *s)
{
	struct server *sv = s->sv;
	if (s->state != SS_CLOSED || s->npend > 0 || s->inflight > 0)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else
		sv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s);
}

/* ---- deliveries (op 52 and 53) ---- */

static void dpart_answer(struct server *sv, struct dpart *p, bool ok)
{
	struct dlv *d = p->d;
	struct sess *s = p->s;
	struct account *a = s->acct;
	s->inflight--;
	free(p);
	if (!ok)
		d->failed = true;
	if (++d->answered == d->nparts) {
		log_debug("ucp_server_event_done", "conn=%s event=%" PRId64 " delivered=%s", cname(sv), d->ev->id,
		          d->failed ? "no" : "yes");
		core_event_done(sv->c, d->ev, !d->failed);
		account_event_free(d->ev);
		free(d);
	}
	if (a && s->state == SS_BOUND)
		account_drain(sv, a); /* the window has room again */
}

static void dpart_drained(void *arg, uint32_t seq, void *data)
{
	(void)seq;
	dpart_answer(arg, data, false);
}

/* Dst and Rsn of a report state. */
static const char *report_dst(const char *state)
{
	if (!strcmp(state, "delivered"))
		return "0";
	if (!strcmp(state, "enroute") || !strcmp(state, "accepted") || !strcmp(state, "sent") ||
	    !strcmp(state, "buffered"))
		return "1";
	return "2";
}

/* The op 52/53 frames of ev on s, one per part, into buf: returns the parts
 * (trns set), or -1 with err set. */
static int build_event(struct server *sv, struct sess *s, const struct account_event *ev, struct evbuffer *buf,
                       uint32_t *trns, int max, struct errbuf *err)
{
	struct ucp_sm *sm = &sv->sm;
	struct ucp_frame f;
	size_t n;
	int64_t now = now_wall_ms() / 1000;
	if (ev->kind == ACCOUNT_EVENT_REPORT) {
		ucp_sm_reset(sm);
		if (ucp_sm_adc(ev->recipient ? ev->recipient : "", sm->oadc, sizeof sm->oadc))
			snprintf(sm->oadc, sizeof sm->oadc, "%.39s", ev->recipient ? ev->recipient : "");
		snprintf(sm->adc, sizeof sm->adc, "%.39s", ev->sender ? ev->sender : "");
		if (ev->sender && ucp_sm_adc(ev->sender, sm->adc, sizeof sm->adc))
			sm->adc[0] = '\0'; /* an alphanumeric sender has no AdC form */
		ucp_data_scts_format(SCTS_EPOCH + ev->message_id, sm->scts);
		const char *dst = report_dst(ev->state ? ev->state : "");
		snprintf(sm->dst, sizeof sm->dst, "%s", dst);
		const char *ec = ev->error_code;
		bool ec_ok = ec && *ec && strlen(ec) <= 3 && strspn(ec, "0123456789") == strlen(ec);
		snprintf(sm->rsn, sizeof sm->rsn, "%03d", ec_ok ? atoi(ec) : 0);
		ucp_data_scts_format(ev->done_s > 0 ? ev->done_s : now, sm->dscts);
		char text[160];
		snprintf(text, sizeof text, "Message %s %s", sm->scts,
		         dst[0] == '0'   ? "delivered"
		         : dst[0] == '1' ? "buffered"
		                         : "not delivered");
		ucp_sm_set_text(sm, text);
		if (link_next_seq(s->link, &trns[0]))
			return errbuf_set(err, "no free TRN");
		ucp_sm_frame(sm, trns[0], 53, &f);
		if (ucp_frame_encode(&f, sv->obuf, sizeof sv->obuf, &n, err))
			return -1;
		evbuffer_add(buf, sv->obuf, n);
		return 1;
	}
	/* An inbound text, split into parts. */
	struct sms_split_opts opts = {0};
	struct sms_split sp = {0};
	const char *data;
	size_t len;
	uint8_t *bin = NULL;
	int rc = -1, reserved = 0;
	if (sms_encoding_from_name(ev->encoding && strcmp(ev->encoding, "binary") == 0 ? "binary"
	                           : ev->encoding && strcmp(ev->encoding, "ucs2") == 0 ? "ucs2"
	                                                                               : "auto",
	                           &opts.encoding))
		return errbuf_set(err, "bad encoding");
	if (opts.encoding == SMS_ENC_BINARY) {
		size_t cap = ev->payload ? strlen(ev->payload) / 2 + 1 : 1;
		bin = xmalloc(cap);
		int nb = ev->payload ? hex_decode(ev->payload, bin, cap) : 0;
		if (nb < 0) {
			free(bin);
			return errbuf_set(err, "payload is not hex");
		}
		data = (const char *)bin;
		len = (size_t)nb;
	} else {
		data = ev->body ? ev->body : "";
		len = strlen(data);
	}
	opts.concat_ref = link_random() & 0xFF;
	if (sms_count_parts(data, len, &opts, &sp, err))
		goto out;
	if ((int)sp.n_parts > max) {
		errbuf_set(err, "%u parts, window %d", sp.n_parts, max);
		goto out;
	}
	sp.parts = xcalloc(sp.n_parts, sizeof *sp.parts);
	sp.parts_cap = sp.n_parts;
	if (sms_split(data, len, &opts, &sp, err))
		goto out;
	char scts[13];
	ucp_data_scts_format(now, scts);
	for (unsigned i = 0; i < sp.n_parts; i++) {
		ucp_sm_reset(sm);
		if (ucp_sm_adc(ev->recipient ? ev->recipient : "", sm->adc, sizeof sm->adc))
			snprintf(sm->adc, sizeof sm->adc, "%.39s", ev->recipient ? ev->recipient : "");
		if (ucp_sm_oadc(ev->sender, sm)) {
			errbuf_set(err, "sender has no OAdC form");
			goto out;
		}
		memcpy(sm->scts, scts, sizeof scts);
		if (ucp_sm_set_part(sm, &sp, &sp.parts[i], -1) || link_next_seq(s->link, &trns[i])) {
			errbuf_set(err, "part %u does not fit", i + 1);
			goto out;
		}
		ucp_sm_frame(sm, trns[i], 52, &f);
		if (ucp_frame_encode(&f, sv->obuf, sizeof sv->obuf, &n, err))
			goto out;
		evbuffer_add(buf, sv->obuf, n);
		/* The next part needs another TRN: reserve this one now. */
		if (link_request_add(s->link, trns[i], RESERVED, 0, true)) {
			errbuf_set(err, "TRN in use");
			goto out;
		}
		reserved++;
	}
	rc = (int)sp.n_parts;
out:
	/* Reservations are replaced by the caller (or dropped on failure). */
	for (int i = 0; rc < 0 && i < reserved; i++)
		(void)link_request_take(s->link, trns[i]);
	free(sp.parts);
	free(bin);
	return rc;
}

static struct sess *pick_session(struct server *sv, struct account *a)
{
	for (int i = 0; i < a->nrx; i++) {
		unsigned k = (a->rr + (unsigned)i) % (unsigned)a->nrx;
		struct sess *s = a->rx[k];
		if (s->state != SS_BOUND || !s->link || link_congested(s->link) || link_window_room(s->link) < 1)
			continue;
		a->rr = k + 1;
		return s;
	}
	return NULL;
}

static void deliver_to(struct server *sv, struct sess *s, struct account_event *ev)
{
	struct errbuf err = {""};
	struct evbuffer *buf = evbuffer_new();
	uint32_t trns[SMS_MAX_PARTS];
	int room = link_window_room(s->link);
	int n = build_event(sv, s, ev, buf, trns, room > 0 ? room : 1, &err);
	if (n < 0) {
		evbuffer_free(buf);
		log_warn("ucp_server_deliver_failed", "conn=%s account=%s event=%" PRId64 " error=\"%s\"", cname(sv),
		         ev->account, ev->id, err.msg);
		event_refuse(sv, ev);
		return;
	}
	struct dlv *d = xcalloc(1, sizeof *d);
	d->ev = ev;
	d->nparts = n;
	int sent = link_send(s->link, evbuffer_pullup(buf, -1), evbuffer_get_length(buf));
	evbuffer_free(buf);
	log_debug("ucp_server_deliver", "conn=%s sess=%" PRIu64 " event=%" PRId64 " frames=%d", cname(sv), s->id,
	          ev->id, n);
	for (int i = 0; i < n; i++) {
		struct dpart *p = xcalloc(1, sizeof *p);
		p->d = d;
		p->s = s;
		s->inflight++;
		if (ev->kind == ACCOUNT_EVENT_INBOUND)
			(void)link_request_take(s->link, trns[i]); /* the reservation */
		if (sent || link_request_add(s->link, trns[i], p, 0, true))
			dpart_answer(sv, p, false);
	}
}

static void account_drain(struct server *sv, struct account *a)
{
	struct sess *s;
	while (a->wait_head && !sv->stopping && (s = pick_session(sv, a))) {
		struct account_event *ev = a->wait_head;
		a->wait_head = ev->next;
		if (!a->wait_head)
			a->wait_tail = NULL;
		ev->next = NULL;
		deliver_to(sv, s, ev);
	}
}

static void server_deliver(struct conn *c, struct account_event *ev)
{
	struct server *sv = conn_driver_data(c);
	struct account *a = sv->stopping ? NULL : account_find(sv, ev->account);
	if (!a || a->nrx == 0) {
		event_refuse(sv, ev);
		return;
	}
	ev->next = NULL;
	if (a->wait_tail)
		a->wait_tail->next = ev;
	else
		a->wait_head = ev;
	a->wait_tail = ev;
	account_drain(sv, a);
}

/* ---- the session state machine ---- */

static void sess_set(struct sess *s, enum sess_state to, const char *why)
{
	struct server *sv = s->sv;
	char q[200];
	if (s->state == to)
		return;
	log_debug("ucp_server_state", "conn=%s sess=%" PRIu64 " peer=%s from=%s to=%s why=%s", cname(sv), s->id,
	          s->peer, state_names[s->state], state_names[to], log_quote(why ? why : "", q, sizeof q));
	enum sess_state from = s->state;
	s->state = to;
	switch (to) {
	case SS_OPEN:
	case SS_LOGIN:
		return;
	case SS_BOUND:
		link_set_bound(s->link);
		account_add_rx(sv, s->acct, s);
		return;
	case SS_CLOSED:
		if (s->acct && from == SS_BOUND) {
			core_account_unbind(sv->c, s->acct->name);
			account_remove_rx(sv, s->acct, s);
		}
		if (s->link) {
			struct link *l = s->link;
			link_request_drain(l, dpart_drained, sv);
			s->link = NULL;
			link_free(l);
		}
		log_info("ucp_server_closed", "conn=%s sess=%" PRIu64 " peer=%s login=%s reason=%s", cname(sv), s->id,
		         s->peer, s->login[0] ? s->login : "-", log_quote(why ? why : "", q, sizeof q));
		sess_reap(s);
		return;
	}
	abort();
}

/* ---- operations from the client ---- */

static void on_login(struct sess *s, const struct ucp_frame *f)
{
	struct server *sv = s->sv;
	if (s->state != SS_OPEN) {
		answer(s, f->trn, 60, UCP_EC_NOT_ALLOWED, NULL);
		return;
	}
	char oadc[40], pwd[160];
	uint8_t raw[80];
	if (ucp_frame_get(f, UCP6X_OAdC, oadc, sizeof oadc) < 0 || !ucp_frame_is(f, UCP6X_STYP, "1")) {
		answer(s, f->trn, 60, UCP_EC_SYNTAX, NULL);
		return;
	}
	int n = ucp_data_ira_decode(f->f[UCP6X_PWD].p, f->f[UCP6X_PWD].len, raw, sizeof raw - 1);
	if (n < 0) {
		answer(s, f->trn, 60, UCP_EC_SYNTAX, NULL);
		return;
	}
	memcpy(pwd, raw, (size_t)n);
	pwd[n] = '\0';
	snprintf(s->login, sizeof s->login, "%.23s", oadc);
	if (sv->stopping) {
		answer(s, f->trn, 60, UCP_EC_NOT_ALLOWED, NULL);
		return;
	}
	sess_set(s, SS_LOGIN, "op 60");
	core_authenticate(sv->c, oadc, pwd, s->ip, pend_add(sv, s, f->trn, 60, NULL));
}

static void server_authenticated(struct conn *c, uint64_t token, const struct account_info *account, const char *reason)
{
	struct server *sv = conn_driver_data(c);
	struct pend *p = pend_take(sv, token);
	if (!p)
		return;
	struct sess *s = p->s;
	unsigned trn = p->trn;
	free(p);
	char q[300];
	if (s->state != SS_LOGIN) {
		sess_reap(s);
		return;
	}
	const char *why = NULL;
	unsigned ec = 0;
	struct account *a = NULL;
	if (!account) {
		switch (auth_refusal_of(reason)) {
		case AUTH_UNKNOWN_ACCOUNT:
		case AUTH_WRONG_PASSWORD:
		case AUTH_DISABLED:
		case AUTH_ADDRESS:
			ec = UCP_EC_AUTH;
			break;
		default: /* max_binds, blocked, busy, the database away: not now */
			ec = UCP_EC_NOT_ALLOWED;
			break;
		}
		why = reason ? reason : "refused";
	} else if (sv->stopping) {
		ec = UCP_EC_NOT_ALLOWED;
		why = "stopping";
	} else if (!core_account_bind(c, account)) {
		ec = UCP_EC_NOT_ALLOWED;
		why = auth_refusal_text(AUTH_MAX_BINDS);
	} else {
		a = account_get(sv, account);
	}
	if (ec) {
		log_info("ucp_server_login_refused", "conn=%s sess=%" PRIu64 " peer=%s login=%s ec=%02u reason=%s",
		         cname(sv), s->id, s->peer, s->login, ec, log_quote(why, q, sizeof q));
		answer(s, trn, 60, ec, NULL);
		sess_set(s, SS_OPEN, "login refused");
		link_close_flush(s->link, "login refused");
		return;
	}
	s->acct = a;
	answer(s, trn, 60, 0, NULL);
	sess_set(s, SS_BOUND, "authenticated");
	log_info("ucp_server_logged_in", "conn=%s sess=%" PRIu64 " peer=%s account=%s tls=%s", cname(sv), s->id,
	         s->peer, a->name, link_is_tls(s->link) ? "yes" : "no");
	if (sv->stopping)
		stop_progress(sv);
}

static void on_submit(struct sess *s, const struct ucp_frame *f)
{
	struct server *sv = s->sv;
	struct errbuf err = {""};
	if (s->state != SS_BOUND) {
		answer(s, f->trn, f->ot, UCP_EC_AUTH, NULL);
		return;
	}
	if (sv->stopping || core_account_take(sv->c, s->acct->name, s->acct->throughput, 1) ||
	    !link_inbound_begin(s->link)) {
		answer(s, f->trn, f->ot, UCP_EC_NOT_ALLOWED, NULL);
		return;
	}
	struct ucp_sm_in *in = xmalloc(sizeof *in);
	unsigned ec = ucp_sm_read(f, in, &err);
	size_t adc_i = f->ot == 1 ? UCP01_AdC : f->ot == 30 ? UCP30_AdC : UCP5X_AdC;
	size_t oadc_i = f->ot == 1 ? UCP01_OAdC : f->ot == 30 ? UCP30_OAdC : UCP5X_OAdC;
	if (!ec && f->f[adc_i].len == 0)
		ec = UCP_EC_ADC_INVALID, errbuf_set(&err, "AdC is empty");
	if (ec) {
		log_info("ucp_server_submit_refused",
		         "conn=%s sess=%" PRIu64 " account=%s trn=%02u ec=%02u reason=\"%s\"", cname(sv), s->id,
		         s->acct->name, f->trn, ec, err.msg);
		free(in);
		link_inbound_end(s->link);
		answer(s, f->trn, f->ot, ec, NULL);
		return;
	}
	struct submission *sub = xcalloc(1, sizeof *sub);
	sub->account = xstrdup(s->acct->name);
	sub->recipient = ucp_sm_addr_in(&f->f[adc_i], NULL);
	if (f->f[oadc_i].len)
		sub->sender = ucp_sm_addr_in(&f->f[oadc_i], f->ot >= 51 ? &f->f[UCP5X_OTOA] : NULL);
	char *enc = NULL;
	ucp_sm_text(in, &sub->body, &sub->payload, &enc);
	if (sub->payload) {
		sub->encoding = xstrdup("binary");
		if (in->udh_len) {
			sub->udh = xmalloc(2 * in->udh_len + 1);
			hex_encode(in->udh, in->udh_len, sub->udh);
		}
	} else {
		sub->encoding = xstrdup(strcmp(enc, "ucs2") == 0 ? "ucs2" : "auto");
	}
	free(enc);
	sub->msg_class = in->msg_class;
	sub->want_report =
	    (f->ot == 30 && ucp_frame_is(f, UCP30_NRq, "1")) || (f->ot >= 51 && ucp_frame_is(f, UCP5X_NRq, "1"));
	sub->priority = f->ot >= 51 && ucp_frame_is(f, UCP5X_PR, "1") ? 9 : 0;
	const struct ucp_str *vp = f->ot == 30 ? &f->f[UCP30_VP] : f->ot >= 51 ? &f->f[UCP5X_VP] : NULL;
	if (vp && vp->len == 10) {
		char v12[13];
		memcpy(v12, vp->p, 10);
		memcpy(v12 + 10, "00", 3);
		int64_t t;
		if (ucp_data_scts_parse(v12, 12, &t) == 0)
			sub->valid_until_s = t;
	}
	free(in);
	char adc[40];
	if (ucp_frame_get(f, adc_i, adc, sizeof adc) < 0)
		adc[0] = '\0';
	core_submit(sv->c, sub, pend_add(sv, s, f->trn, f->ot, adc));
}

static unsigned submit_ec(enum submit_error error, const char *text)
{
	switch (error) {
	case SUBMIT_INVALID:
		return text && strstr(text, "recipient") ? UCP_EC_ADC_INVALID : UCP_EC_SYNTAX;
	case SUBMIT_THROTTLED:
	case SUBMIT_TEMPORARY:
	default:
		return UCP_EC_NOT_ALLOWED;
	}
}

static void server_submitted(struct conn *c, uint64_t token, int64_t message_id, enum submit_error error,
                             const char *text)
{
	struct server *sv = conn_driver_data(c);
	struct pend *p = pend_take(sv, token);
	if (!p)
		return;
	struct sess *s = p->s;
	if (s->link)
		link_inbound_end(s->link);
	char q[300];
	if (error != SUBMIT_OK || message_id <= 0) {
		unsigned ec = error == SUBMIT_OK ? UCP_EC_NOT_ALLOWED : submit_ec(error, text);
		log_info("ucp_server_submit_refused", "conn=%s sess=%" PRIu64 " trn=%02u ec=%02u text=%s", cname(sv),
		         s->id, p->trn, ec, log_quote(text ? text : "", q, sizeof q));
		if (s->link)
			answer(s, p->trn, p->ot, ec, NULL);
	} else if (s->link) {
		char sm[64], scts[13];
		ucp_data_scts_format(SCTS_EPOCH + message_id, scts);
		snprintf(sm, sizeof sm, "%.40s:%s", p->adc, scts);
		log_debug("ucp_server_submitted", "conn=%s sess=%" PRIu64 " trn=%02u id=%" PRId64 " sm=%s", cname(sv),
		          s->id, p->trn, message_id, sm);
		answer(s, p->trn, p->ot, 0, sm);
	}
	free(p);
	sess_reap(s);
	if (sv->stopping)
		stop_progress(sv);
}

static void on_result(struct sess *s, const struct ucp_frame *f)
{
	void *data = link_request_find(s->link, f->trn);
	if (!data || data == LINK_KEEPALIVE || data == RESERVED)
		return;
	struct dpart *p = link_request_take(s->link, f->trn);
	if (f->nack)
		log_info("ucp_server_nacked", "conn=%s sess=%" PRIu64 " ot=%02u ec=%.*s", cname(s->sv), s->id, f->ot,
		         (int)f->f[UCPR_EC_OR_MVP].len, f->f[UCPR_EC_OR_MVP].p);
	dpart_answer(s->sv, p, f->ack);
}

static void on_frame(struct link *l, void *arg, const uint8_t *buf, size_t len)
{
	struct sess *s = arg;
	struct server *sv = s->sv;
	struct ucp_frame *f = &sv->in;
	struct ucp_error e;
	char q[200];
	(void)l;
	if (!ucp_frame_is_frame(buf, len) && ucp_frame_is_blank(buf, len))
		return; /* line ends between frames */
	if (!ucp_frame_is_frame(buf, len) || ucp_frame_decode(buf, len, f, &e) < 0) {
		bool frame = ucp_frame_is_frame(buf, len);
		if (++s->bad_frames == 1)
			log_warn("ucp_server_bad_frame", "conn=%s sess=%" PRIu64 " peer=%s reason=%s", cname(sv), s->id,
			         s->peer, log_quote(frame ? e.reason : "octets outside a frame", q, sizeof q));
		if (frame && e.header_read && e.o_r == 'O')
			answer(s, e.trn, e.ot, e.ec, NULL);
		if (s->bad_frames >= BAD_FRAME_LIMIT)
			link_close_flush(s->link, "the client keeps sending malformed frames");
		return;
	}
	if (!f->checksum_ok || !f->len_ok) {
		s->bad_frames++;
		log_info("ucp_server_bad_frame", "conn=%s sess=%" PRIu64 " trn=%02u ot=%02u reason=%s", cname(sv),
		         s->id, f->trn, f->ot, f->checksum_ok ? "LEN" : "checksum");
		if (f->o_r == 'O')
			answer(s, f->trn, f->ot, f->checksum_ok ? UCP_EC_SYNTAX : UCP_EC_CHECKSUM, NULL);
		return;
	}
	log_debug("ucp_server_rx", "conn=%s sess=%" PRIu64 " trn=%02u or=%c ot=%02u", cname(sv), s->id, f->trn, f->o_r,
	          f->ot);
	if (f->o_r == 'R') {
		on_result(s, f);
		return;
	}
	switch (f->ot) {
	case 60:
		on_login(s, f);
		return;
	case 31:
		answer(s, f->trn, 31, 0, NULL);
		return;
	case 1:
	case 30:
	case 51:
		on_submit(s, f);
		return;
	default:
		answer(s, f->trn, f->ot, UCP_EC_NOT_SUPPORTED, NULL);
		return;
	}
}

/* ---- link callbacks ---- */

static void on_down(struct link *l, void *arg, const char *reason)
{
	(void)l;
	sess_set(arg, SS_CLOSED, reason);
}

static void on_timeout(struct link *l, void *arg, uint32_t seq, void *data)
{
	struct sess *s = arg;
	(void)l;
	if (data == RESERVED || data == LINK_KEEPALIVE)
		return;
	log_info("ucp_server_result_timeout", "conn=%s sess=%" PRIu64 " trn=%02u", cname(s->sv), s->id, seq);
	dpart_answer(s->sv, data, false);
}

static const struct link_ops sess_ops = {
    .frame = ucp_frame_link,
    .frame_min = 1,
    .on_frame = on_frame,
    .on_down = on_down,
    .on_timeout = on_timeout,
};

static void *on_accept(struct link_listener *ls, void *arg, struct link *l)
{
	struct server *sv = arg;
	(void)ls;
	if (sv->stopping)
		return NULL;
	struct sess *s = xcalloc(1, sizeof *s);
	s->sv = sv;
	s->id = ++sv->next_sess;
	s->link = l;
	snprintf(s->peer, sizeof s->peer, "%s", link_peer(l));
	snprintf(s->ip, sizeof s->ip, "%s", link_peer_ip(l));
	s->next = sv->sessions;
	if (sv->sessions)
		sv->sessions->prev = s;
	sv->sessions = s;
	log_info("ucp_server_accepted", "conn=%s sess=%" PRIu64 " peer=%s", cname(sv), s->id, s->peer);
	return s;
}

/* ---- stop, open, close ---- */

static void server_finish_stop(struct server *sv)
{
	if (sv->stopped)
		return;
	for (struct sess *s = sv->sessions, *n; s; s = n) {
		n = s->next;
		if (s->state != SS_CLOSED)
			sess_set(s, SS_CLOSED, "stopped");
	}
	sv->stopped = true;
	event_del(sv->tick_ev);
	core_conn_state(sv->c, CONN_DOWN, "stopped");
	core_stopped(sv->c);
}

/* Waits (bounded) for the database's answers to what clients sent, so that
 * they get their ACK, then closes every session. */
static void stop_progress(struct server *sv)
{
	if (!sv->stopping || sv->stopped)
		return;
	if (sv->npend > 0 && now_mono_ms() - sv->stop_ms < STOP_WAIT_MAX_MS)
		return;
	server_finish_stop(sv);
}

static void server_listen(struct server *sv);

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *sv = arg;
	(void)fd;
	(void)what;
	if (sv->stopping)
		stop_progress(sv);
	else if (!sv->ls && now_mono_ms() >= sv->listen_retry_ms)
		server_listen(sv);
}

static void server_stop(struct conn *c)
{
	struct server *sv = conn_driver_data(c);
	log_info("ucp_server_stopping", "conn=%s pending=%d", cname(sv), sv->npend);
	sv->stopping = true;
	sv->stop_ms = now_mono_ms();
	if (sv->ls) {
		link_listener_free(sv->ls);
		sv->ls = NULL;
	}
	for (struct account *a = sv->accounts; a; a = a->next)
		while (a->wait_head) {
			struct account_event *ev = a->wait_head;
			a->wait_head = ev->next;
			ev->next = NULL;
			event_refuse(sv, ev);
		}
	core_conn_state(c, CONN_STOPPING, "closing sessions");
	stop_progress(sv);
}

static const struct link_listen_opts *listen_opts(struct server *sv, struct link_listen_opts *lo)
{
	const struct ucp_server_conf *conf = sv->conf;
	*lo = (struct link_listen_opts){
	    .addr = conf->listen,
	    .ssl_ctx = sv->ssl_ctx,
	    .max_sessions = (int)conf->max_sessions,
	    .max_per_address = (int)conf->max_per_address,
	    .link =
	        {
	            .name = cname(sv),
	            .max_frame = UCP_FRAME_MAX,
	            .response_timeout_ms = (uint64_t)conf->response_timeout_s * 1000,
	            .idle_timeout_ms = (uint64_t)conf->inactivity_timeout_s * 1000,
	            .unbound_timeout_ms = (uint64_t)conf->login_timeout_s * 1000,
	            .seq_min = 0,
	            .seq_max = 99,
	            .window = (int)conf->window,
	            .max_inbound = 100, /* TRN 00-99: a client cannot have more open */
	            .out_high = OUT_HIGH,
	            .out_low = OUT_LOW,
	            .stuck_ms = (uint64_t)conf->inactivity_timeout_s * 1000,
	        },
	};
	return lo;
}

/* Listens, or says why not and retries from the tick. */
static void server_listen(struct server *sv)
{
	struct link_listen_opts lo;
	struct errbuf err = {""};
	char detail[400], q[450];
	sv->ls = link_listen(conn_event_base(sv->c), listen_opts(sv, &lo), &sess_ops, on_accept, sv, &err);
	if (!sv->ls) {
		snprintf(detail, sizeof detail, "cannot listen on %s: %s; retry in 5000 ms", sv->conf->listen, err.msg);
		log_warn("ucp_server_listen_failed", "conn=%s error=%s", cname(sv), log_quote(detail, q, sizeof q));
		core_conn_state(sv->c, CONN_CONNECTING, detail);
		sv->listen_retry_ms = now_mono_ms() + 5000;
		return;
	}
	snprintf(detail, sizeof detail, "listening on %s%s", link_listener_addr(sv->ls), sv->conf->tls ? " (tls)" : "");
	log_info("ucp_server_listening", "conn=%s addr=%s tls=%s", cname(sv), link_listener_addr(sv->ls),
	         sv->conf->tls ? "yes" : "no");
	core_conn_state(sv->c, CONN_UP, detail);
}

static int server_open(struct conn *c)
{
	const struct ucp_server_conf *conf = conn_conf(c);
	struct server *sv = xcalloc(1, sizeof *sv);
	sv->c = c;
	sv->conf = conf;
	if (conf->tls) {
		struct errbuf err = {""};
		char q[300];
		sv->ssl_ctx = link_tls_server_ctx(conf->tls_cert_file, conf->tls_key_file, &err);
		if (!sv->ssl_ctx) {
			log_error("ucp_server_tls", "conn=%s error=%s", conn_name(c), log_quote(err.msg, q, sizeof q));
			free(sv);
			return -1;
		}
	}
	conn_set_driver_data(c, sv);
	sv->tick_ev = event_new(conn_event_base(c), -1, EV_PERSIST, tick_cb, sv);
	struct timeval tv = {0, TICK_MS * 1000};
	event_add(sv->tick_ev, &tv);
	server_listen(sv);
	return 0;
}

static void server_close(struct conn *c)
{
	struct server *sv = conn_driver_data(c);
	if (!sv)
		return;
	if (sv->ls)
		link_listener_free(sv->ls);
	for (struct sess *s = sv->sessions, *n; s; s = n) {
		n = s->next;
		link_free(s->link); /* only after a forced stop: its requests are forgotten */
		free(s);
	}
	for (int i = 0; i < PEND_BUCKETS; i++)
		for (struct pend *p = sv->pends[i], *n; p; p = n) {
			n = p->hnext;
			free(p);
		}
	for (struct account *a = sv->accounts, *n; a; a = n) {
		n = a->next;
		while (a->wait_head) {
			struct account_event *ev = a->wait_head;
			a->wait_head = ev->next;
			account_event_free(ev);
		}
		free(a->rx);
		free(a->name);
		free(a);
	}
	if (sv->tick_ev)
		event_free(sv->tick_ev);
	if (sv->ssl_ctx)
		SSL_CTX_free(sv->ssl_ctx);
	free(sv);
	conn_set_driver_data(c, NULL);
}

/* The account's access changed: EMI has no logout the SMSC can send, so
 * its logged-in sessions are closed once what was written is flushed; the
 * client logs in again under the new rules. */
static void server_account_revoked(struct conn *c, const char *account)
{
	struct server *sv = conn_driver_data(c);
	char q[80];
	for (struct sess *s = sv->sessions; s; s = s->next) {
		if (s->state != SS_BOUND || !s->acct || !s->link || (*account && strcmp(s->acct->name, account) != 0))
			continue;
		log_info("ucp_server_revoked", "conn=%s sess=%" PRIu64 " peer=%s account=%s reason=\"account changed\"",
		         cname(sv), s->id, s->peer, log_quote(s->acct->name, q, sizeof q));
		link_close_flush(s->link, "account changed");
	}
}

const struct driver_ops ucp_server_driver = {
    .name = "ucp-server",
    .caps = CAP_LISTEN,
    .settings = ucp_server_conf_settings,
    .conf_size = sizeof(struct ucp_server_conf),
    .check = ucp_server_conf_check,
    .open = server_open,
    .submit = NULL,
    .stop = server_stop,
    .close = server_close,
    .authenticated = server_authenticated,
    .submitted = server_submitted,
    .deliver = server_deliver,
    .account_revoked = server_account_revoked,
};
