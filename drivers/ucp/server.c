/*
 * ucp server: smspool as an SMSC for EMI/UCP clients (Kannel's emi, other
 * gateways), connection type "ucp-server".
 *
 * Layers, kept apart:
 * - codec: frame.c / data.c / nack.c (pure, fuzzed), sm.c (messages <->
 *   fields), conf.c (settings);
 * - session: the state machine of net/srvbase.c (srvbase_sess_set(): one
 *   switch, every transition logged at debug):  OPEN -> AUTH ("login",
 *   core_authenticate asked) -> BOUND -> CLOSED; server_enter() adds what
 *   UCP does on entering a state;
 * - transport: the link layer (src/net/link.c): framing, TRN table with
 *   deadlines, login and idle timeouts, back-pressure, TLS, per-address
 *   limits.
 *
 * Files: this one (sessions, transport, stop/open/close); server_submit.c
 * (op 60 and the submits, answered after commit); server_deliver.c (account
 * events out as op 52/53).  Accounts, their delivering sessions and waiting
 * events, and the core calls waiting for answers are the shared code of
 * src/net/accounts.c and src/net/tokens.c (as for the SMPP server).  A
 * session lives on (CLOSED, without link) until every core answer it waits
 * for has come.
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
#include "net/srvbase.h"
#include "policy.h"
#include "ucp/conf.h"
#include "ucp/data.h"
#include "ucp/frame.h"
#include "ucp/nack.h"
#include "ucp/server.h"
#include "ucp/sm.h"
#include "util.h"

enum {
	BAD_FRAME_LIMIT = 10, /* malformed frames before a session is dropped */
	OUT_HIGH = 256 * 1024,
	OUT_LOW = 64 * 1024,
};

const char *server_cname(const struct server *sv)
{
	return conn_name(sv->c);
}

static const char *cname(const struct server *sv)
{
	return conn_name(sv->c);
}

/* ---- sending ---- */

int server_send(struct sess *s, const struct ucp_frame *f)
{
	struct server *sv = s->sv;
	size_t n;
	struct errbuf err = {""};
	if (!s->hd.link)
		return -1;
	if (ucp_frame_encode(f, sv->obuf, sizeof sv->obuf, &n, &err)) {
		log_error("ucp_server_encode_failed", "conn=%s sess=%" PRIu64 " ot=%02u error=\"%s\"", cname(sv),
		          s->hd.id, f->ot, err.msg);
		return -1;
	}
	return link_send(s->hd.link, sv->obuf, n);
}

/* ACK (ec 0) or NACK of operation ot with TRN trn; sm may be NULL. */
void server_answer(struct sess *s, unsigned trn, unsigned ot, unsigned ec, const char *sm)
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
	if (server_send(s, &f))
		log_debug("ucp_server_answer_failed", "conn=%s sess=%" PRIu64 " trn=%02u", cname(s->sv), s->hd.id, trn);
}

/* ---- pending core calls ---- */

uint64_t server_pend_add(struct server *sv, struct sess *s, unsigned trn, unsigned ot, const char *adc,
                         struct net_join_set *set)
{
	struct pend *p = xcalloc(1, sizeof *p);
	p->s = s;
	p->trn = trn;
	p->ot = ot;
	snprintf(p->adc, sizeof p->adc, "%s", adc ? adc : "");
	p->set = set;
	return srvbase_pend_add(&sv->base, &s->hd, p);
}

/* Frees a pend never answered (srvbase_close after a forced stop, its
 * session still there): a joined submit's set with it, every part it
 * holds (they are not answered: the client is gone or going). */
static void server_pend_free(void *v)
{
	struct pend *p = v;
	if (p->set)
		net_join_set_free(p->s->join, p->set);
	free(p);
}

/* Unlinks the pend of token; the caller frees it. */
struct pend *server_pend_take(struct server *sv, uint64_t token)
{
	return srvbase_pend_take(&sv->base, token);
}

/* Frees a closed session once nothing refers to it. */
void server_sess_reap(struct sess *s)
{
	srvbase_reap(&s->hd);
}

/* ---- the session state machine (net/srvbase.c) ---- */

/* Closing: held parts have nobody left to answer them (nothing was
 * acknowledged). */
static void server_enter(struct srvbase_sess *h, enum srvbase_state from, enum srvbase_state to)
{
	struct sess *s = (struct sess *)h;
	(void)from;
	if (to != SRVBASE_CLOSED || !s->join)
		return;
	net_join_flush(s->join);
	struct net_join_set *set;
	while ((set = net_join_poll(s->join, now_mono_ms())))
		net_join_set_free(s->join, set);
}

static void on_result(struct sess *s, const struct ucp_frame *f)
{
	void *data = link_request_find(s->hd.link, f->trn);
	if (!data || data == LINK_KEEPALIVE || server_deliver_reserved(data))
		return;
	struct accounts_part *p = link_request_take(s->hd.link, f->trn);
	if (f->nack)
		log_info("ucp_server_nacked", "conn=%s sess=%" PRIu64 " ot=%02u ec=%.*s", cname(s->sv), s->hd.id, f->ot,
		         (int)f->f[UCPR_EC_OR_MVP].len, f->f[UCPR_EC_OR_MVP].p);
	server_deliver_answer(s->sv, p, f->ack);
}

void server_frame(struct sess *s, const uint8_t *buf, size_t len)
{
	struct server *sv = s->sv;
	struct ucp_frame *f = &sv->in;
	struct ucp_error e;
	char q[200];
	if (!ucp_frame_is_frame(buf, len) && ucp_frame_is_blank(buf, len))
		return; /* line ends between frames */
	if (!ucp_frame_is_frame(buf, len) || ucp_frame_decode(buf, len, f, &e) < 0) {
		bool frame = ucp_frame_is_frame(buf, len);
		if (++s->bad_frames == 1)
			log_warn("ucp_server_bad_frame", "conn=%s sess=%" PRIu64 " peer=%s reason=%s", cname(sv),
			         s->hd.id, s->hd.peer,
			         log_quote(frame ? e.reason : "octets outside a frame", q, sizeof q));
		if (frame && e.header_read && e.o_r == 'O')
			server_answer(s, e.trn, e.ot, e.ec, NULL);
		if (s->bad_frames >= BAD_FRAME_LIMIT)
			link_close_flush(s->hd.link, "the client keeps sending malformed frames");
		return;
	}
	if (!f->checksum_ok || !f->len_ok) {
		s->bad_frames++;
		log_info("ucp_server_bad_frame", "conn=%s sess=%" PRIu64 " trn=%02u ot=%02u reason=%s", cname(sv),
		         s->hd.id, f->trn, f->ot, f->checksum_ok ? "LEN" : "checksum");
		if (f->o_r == 'O')
			server_answer(s, f->trn, f->ot, f->checksum_ok ? UCP_EC_SYNTAX : UCP_EC_CHECKSUM, NULL);
		return;
	}
	log_debug("ucp_server_rx", "conn=%s sess=%" PRIu64 " trn=%02u or=%c ot=%02u", cname(sv), s->hd.id, f->trn,
	          f->o_r, f->ot);
	if (f->o_r == 'R') {
		on_result(s, f);
		return;
	}
	if (f->ot == 60) {
		server_submit_login(s, f);
		return;
	}
	/* A first submit or keep-alive without op 60: a login by address (an
	 * IP-authorised client keeps its session alive with op 31). */
	if (s->hd.state == SRVBASE_OPEN && (f->ot == 1 || f->ot == 30 || f->ot == 51 || f->ot == 31)) {
		server_submit_by_address(s, f, buf, len);
		return;
	}
	switch (f->ot) {
	case 31:
		server_answer(s, f->trn, 31, 0, NULL);
		return;
	case 1:
	case 30:
	case 51:
		server_submit_op(s, f);
		return;
	default:
		server_answer(s, f->trn, f->ot, UCP_EC_NOT_SUPPORTED, NULL);
		return;
	}
}

static void on_frame(struct link *l, void *arg, const uint8_t *buf, size_t len)
{
	(void)l;
	server_frame(arg, buf, len);
}

void server_replay_held(struct sess *s)
{
	uint8_t *buf = s->held;
	size_t len = s->held_len;
	s->held = NULL;
	s->held_len = 0;
	if (buf && s->hd.link)
		server_frame(s, buf, len);
	free(buf);
	link_pause(s->hd.link, false);
}

/* ---- link callbacks ---- */

static void on_timeout(struct link *l, void *arg, uint32_t seq, void *data)
{
	struct sess *s = arg;
	(void)l;
	if (server_deliver_reserved(data) || data == LINK_KEEPALIVE)
		return;
	log_info("ucp_server_result_timeout", "conn=%s sess=%" PRIu64 " trn=%02u", cname(s->sv), s->hd.id, seq);
	server_deliver_answer(s->sv, data, false);
}

static const struct link_ops sess_ops = {
    .frame = ucp_frame_link,
    .frame_min = 1,
    .on_frame = on_frame,
    .on_down = srvbase_link_down,
    .on_timeout = on_timeout,
};

/* ---- stop, open, close ---- */

static void server_free_sess(struct srvbase_sess *h)
{
	struct sess *s = (struct sess *)h;
	net_join_free(s->join);
	free(s->held);
}

void server_stop_progress(struct server *sv)
{
	srvbase_stop_progress(&sv->base);
}

static void server_stopping(void *arg)
{
	struct server *sv = arg;
	accounts_stop(&sv->accts);
	for (struct srvbase_sess *h = sv->base.sessions; h; h = h->next)
		server_submit_join_end((struct sess *)h); /* held parts will not be completed: NACKed */
}

/* Sets of held parts past reassembly_timeout_s are NACKed. */
static void server_tick(void *arg)
{
	struct server *sv = arg;
	for (struct srvbase_sess *h = sv->base.sessions; h; h = h->next) {
		struct sess *s = (struct sess *)h;
		if (s->join && s->hd.state == SRVBASE_BOUND)
			server_submit_join_poll(s);
	}
}

static const struct srvbase_ops base_ops = {
    .log_prefix = "ucp_server",
    .sess_ops = &sess_ops,
    .link =
        {
            .max_frame = UCP_FRAME_MAX,
            .seq_max = 99,
            .max_inbound = 100, /* TRN 00-99: a client cannot have more open */
            .out_high = OUT_HIGH,
            .out_low = OUT_LOW,
        },
    SRVBASE_SESS(struct sess, sv),
    .state_names = {"open", "login", "bound", "closed"},
    .login_key = "login",
    .enter = server_enter,
    .drained = server_deliver_drained,
    /* A session ends (its link ended, or the stop is over: srvbase waited,
     * bounded, for the database's answers to what clients sent, so that
     * they got their ACK) by srvbase_sess_set(CLOSED). */
    .stopping = server_stopping,
    .pend_free = server_pend_free,
    .free_sess = server_free_sess,
    .tick = server_tick,
};

static void server_deliver(struct conn *c, struct account_event *ev)
{
	struct server *sv = conn_driver_data(c);
	accounts_deliver(&sv->accts, ev);
}

static struct server *server_alloc(struct conn *c)
{
	const struct ucp_server_conf *conf = conn_conf(c);
	struct server *sv = xcalloc(1, sizeof *sv);
	sv->c = c;
	sv->conf = conf;
	sv->accts =
	    (struct accounts){.c = c, .ops = &server_deliver_ops, .arg = sv, .wait_per_session = 2 * (int)conf->window};
	conn_set_driver_data(c, sv);
	return sv;
}

struct server *server_new(struct conn *c)
{
	struct server *sv = server_alloc(c);
	srvbase_init(&sv->base, c, &base_ops, sv, &sv->accts, &SRVBASE_CONF_OF(sv->conf, login_timeout_s));
	return sv;
}

/* The link options of an accepted session (srvbase's listener sets the
 * same from the settings). */
struct sess *server_sess_memory(struct server *sv, struct bufferevent **peer)
{
	const struct ucp_server_conf *conf = sv->conf;
	struct link_opts o = base_ops.link;
	o.name = cname(sv);
	o.response_timeout_ms = (uint64_t)conf->response_timeout_s * 1000;
	o.idle_timeout_ms = (uint64_t)conf->inactivity_timeout_s * 1000;
	o.unbound_timeout_ms = (uint64_t)conf->login_timeout_s * 1000;
	o.window = (int)conf->window;
	o.stuck_ms = (uint64_t)conf->inactivity_timeout_s * 1000;
	struct sess *s = xcalloc(1, sizeof *s);
	struct link *l = link_pair(conn_event_base(sv->c), &o, &sess_ops, s, peer);
	if (!l) {
		free(s);
		return NULL;
	}
	return (struct sess *)srvbase_sess_add(&sv->base, s, l);
}

static int server_open(struct conn *c)
{
	struct server *sv = server_alloc(c);
	if (srvbase_open(&sv->base, c, &base_ops, sv, &sv->accts, &SRVBASE_CONF_OF(sv->conf, login_timeout_s))) {
		conn_set_driver_data(c, NULL);
		free(sv);
		return -1;
	}
	return 0;
}

const struct driver_ops ucp_server_driver = {
    .name = "ucp-server",
    .caps = CAP_LISTEN,
    .settings = ucp_server_conf_settings,
    .conf_size = sizeof(struct ucp_server_conf),
    .check = ucp_server_conf_check,
    .open = server_open,
    .submit = NULL,
    .stop = srvbase_conn_stop,
    .close = srvbase_conn_close,
    .authenticated = server_submit_authenticated,
    .submitted = server_submit_submitted,
    .deliver = server_deliver,
    /* EMI has no logout the SMSC can send: srvbase_revoke closes the
     * sessions of a changed account once what was written is flushed. */
    .account_revoked = srvbase_conn_account_revoked,
};
