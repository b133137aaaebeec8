/*
 * ucp client: smspool as an EMI/UCP client of an SMSC, connection type
 * "ucp".
 *
 * Layers, kept apart:
 * - codec: frame.c / data.c / nack.c (pure, fuzzed), sm.c (messages <->
 *   fields), conf.c (settings);
 * - session: the client session layer of src/net/clibase.c (one state
 *   enum: DISCONNECTED -> CONNECTING -> HANDSHAKE, here "login" (op 60
 *   sent; skipped without a login) -> UP; the dialer with backup hosts,
 *   reconnect backoff, the bounded stop); this file gives it the login,
 *   the link's options and what lent parts become when a session ends;
 * - transport: the link layer (src/net/link.c): framing, the TRN table
 *   (00-99) with deadlines, op 31 keepalives, back-pressure, TLS.
 *
 * Files: this one (frames in, the login, stop/open/close);
 * client_submit.c (messages out, their results, the held queue);
 * client_inbound.c (op 52/53 in).  Messages in flight and acknowledgements
 * after commit are the shared code of src/net/submits.c and inacks.c (as
 * for the SMPP client): a message lent by submit() is completed exactly
 * once (a lost session returns it to the queue as MSG_TEMPORARY); an op
 * 52/53 is answered only after the database committed it (NACK 04
 * otherwise, so that the SMSC sends it again).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "codec/reasm.h"
#include "driver.h"
#include "log.h"
#include "net/clibase.h"
#include "net/link.h"
#include "ucp/client.h"
#include "ucp/conf.h"
#include "ucp/data.h"
#include "ucp/frame.h"
#include "ucp/nack.h"
#include "ucp/sm.h"
#include "util.h"

enum {
	BAD_FRAME_LIMIT = 10,
	REASM_MAX_SETS = 1024,
};

static const char login_marker;
#define REQ_LOGIN ((void *)&login_marker)

static void client_lost(struct client *cl, const char *reason)
{
	clibase_lost(&cl->base, reason);
}

const char *client_cname(const struct client *cl)
{
	return conn_name(cl->c);
}

static const char *cname(const struct client *cl)
{
	return conn_name(cl->c);
}

/* ---- sending ---- */

int client_send(struct client *cl, const struct ucp_frame *f)
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
void client_answer(struct client *cl, unsigned trn, unsigned ot, unsigned ec)
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
	if (client_send(cl, &f))
		log_debug("ucp_answer_failed", "conn=%s trn=%02u", cname(cl), trn);
}

bool client_is_part(const void *data)
{
	return data && data != REQ_LOGIN && data != LINK_KEEPALIVE;
}

/* ---- the session state machine ---- */

/* A session starts (CONNECTING): TRNs 00-99, op 31 keepalives. */
static void session_start(void *arg, struct link_opts *o)
{
	struct client *cl = arg;
	const struct ucp_conf *conf = cl->conf;
	cl->bad_frames = 0;
	o->max_frame = UCP_FRAME_MAX;
	o->response_timeout_ms = (uint64_t)conf->response_timeout_s * 1000;
	o->keepalive_ms = (uint64_t)conf->keepalive_s * 1000;
	o->seq_max = 99;
	o->window = (int)conf->window;
	o->out_high = 256 * 1024;
	o->out_low = 64 * 1024;
}

/* The handshake (HANDSHAKE): op 60, answered in on_result. */
static int send_login(void *arg)
{
	struct client *cl = arg;
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
	return client_send(cl, &f);
}

/* UP: logged in (or connected, without a login). */
static void session_up(void *arg, char *detail, size_t cap)
{
	struct client *cl = arg;
	const struct dialer *d = &cl->base.dial;
	snprintf(detail, cap, "%s %s (EMI %s)", cl->conf->login ? "logged in to" : "connected to", d->peer,
	         cl->conf->version);
	log_info("ucp_up", "conn=%s peer=%s login=%s", cname(cl), d->peer, cl->conf->login ? cl->conf->login : "-");
}

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
		clibase_set(&cl->base, CLIBASE_UP, "op 60 acknowledged");
		return;
	}
	client_submit_result(cl, f);
}

static void ucp_submit(struct conn *c, struct msg *m)
{
	client_submit_msg(conn_driver_data(c), m);
}

/* ---- reading ---- */

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
			client_answer(cl, e.trn, e.ot, e.ec);
		if (cl->bad_frames >= BAD_FRAME_LIMIT)
			link_close_flush(cl->link, "the SMSC keeps sending malformed frames");
		return;
	}
	if (!f->checksum_ok || !f->len_ok) {
		cl->bad_frames++;
		log_info("ucp_bad_frame", "conn=%s trn=%02u ot=%02u reason=%s", cname(cl), f->trn, f->ot,
		         f->checksum_ok ? "LEN" : "checksum");
		if (f->o_r == 'O')
			client_answer(cl, f->trn, f->ot, f->checksum_ok ? UCP_EC_SYNTAX : UCP_EC_CHECKSUM);
		return;
	}
	log_debug("ucp_rx", "conn=%s trn=%02u or=%c ot=%02u", cname(cl), f->trn, f->o_r, f->ot);
	if (f->o_r == 'R') {
		on_result(cl, f);
		return;
	}
	switch (f->ot) {
	case 31:
		client_answer(cl, f->trn, 31, 0);
		return;
	case 52:
	case 53:
		if (!clibase_is_up(&cl->base) || cl->base.stopping) {
			client_answer(cl, f->trn, f->ot, UCP_EC_NOT_ALLOWED);
			return;
		}
		if (f->ot == 52)
			client_inbound_mo(cl, f);
		else
			client_inbound_notification(cl, f);
		return;
	default:
		client_answer(cl, f->trn, f->ot, UCP_EC_NOT_SUPPORTED);
		return;
	}
}

/* ---- link callbacks ---- */

static void on_timeout(struct link *l, void *arg, uint32_t seq, void *data)
{
	struct client *cl = arg;
	(void)l;
	if (data == REQ_LOGIN) {
		client_lost(cl, "login timeout");
		return;
	}
	if (client_is_part(data))
		client_submit_timeout(cl, data, seq);
}

static int on_keepalive(struct link *l, void *arg, uint32_t seq)
{
	struct client *cl = arg;
	(void)l;
	const char *adc = cl->conf->login ? cl->conf->login : "";
	struct ucp_frame f = {.trn = seq, .o_r = 'O', .ot = 31, .nfields = 2};
	f.f[UCP31_AdC] = (struct ucp_str){adc, strlen(adc)};
	f.f[UCP31_PID] = (struct ucp_str){"0539", 4};
	return client_send(cl, &f);
}

static const struct link_ops client_link_ops = {
    .frame = ucp_frame_link,
    .frame_min = 1,
    .on_frame = on_frame,
    .on_up = clibase_link_up,
    .on_down = clibase_link_down,
    .on_timeout = on_timeout,
    .on_keepalive = on_keepalive,
};

/* ---- the lifecycle (src/net/clibase.c) ---- */

static void base_release(void *arg)
{
	client_submit_release(arg);
}

/* Every 200 ms (after clibase handed over finished long texts). */
static void base_tick(void *arg)
{
	struct client *cl = arg;
	if (!cl->base.stopping && cl->held.len)
		client_submit_resume(cl);
}

static const struct clibase_ops base_ops = {
    .log_prefix = "ucp",
    .handshake_name = "login",
    .link_ops = &client_link_ops,
    .start = session_start,
    .handshake = send_login,
    .up = session_up,
    .drained = client_submit_drained,
    .forget = client_submit_forget,
    .release = base_release,
    .tick = base_tick,
};

static void ucp_stop(struct conn *c)
{
	struct client *cl = conn_driver_data(c);
	log_info("ucp_stopping", "conn=%s in_flight_parts=%d held=%d", cname(cl), cl->subs.nparts, cl->held.len);
	clibase_stop(&cl->base, "waiting for results");
}

/* ---- open / close ---- */

static int ucp_open(struct conn *c)
{
	const struct ucp_conf *conf = conn_conf(c);
	struct client *cl = xcalloc(1, sizeof *cl);
	cl->c = c;
	cl->conf = conf;
	inacks_init(&cl->inacks, c, &client_inbound_ops, cl, REASM_MAX_SETS, (uint64_t)conf->reasm_timeout_s * 1000);
	client_submit_init(cl);
	cl->concat_ref = link_random();
	conn_set_driver_data(c, cl);
	cl->base.no_handshake = !conf->login || !*conf->login;
	cl->base.subs = &cl->subs;
	cl->base.inacks = &cl->inacks;
	if (CLIBASE_OPEN(&cl->base, c, &base_ops, cl, &cl->link, conf)) {
		conn_set_driver_data(c, NULL);
		inacks_free(&cl->inacks);
		free(cl);
		return -1;
	}
	return 0;
}

static void ucp_close(struct conn *c)
{
	struct client *cl = conn_driver_data(c);
	if (!cl)
		return;
	struct msg *m;
	while ((m = msg_list_pop(&cl->held)))
		msg_free(m);
	inacks_free(&cl->inacks);
	clibase_close(&cl->base);
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
    .acked = clibase_acked,
};
