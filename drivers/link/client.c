/*
 * link client: connection type "link", a sending connection towards another
 * smspool's "link-server" (drivers/link/FORMAT.md).
 *
 * - codec: frame.c (pure, fuzzed), convert.c (rows <-> frame messages);
 * - session: one `enum link_state`, changed only through client_set(),
 *   whose switch does each state's entry work and logs every transition at
 *   debug:  DISCONNECTED -> CONNECTING -> HELLO (hello sent) -> UP;
 * - transport: the link layer (src/net/link.c): framing, the request table
 *   (hello, batches, heartbeats) with deadlines and a window of batches,
 *   back-pressure, TLS, backoff.
 *
 * Messages the core submits wait in `pending` until the end of the loop
 * turn (or flush_ms), then go out in batches of up to `batch`, each a
 * request of the window.  A message's key is "<instance>:<outbox id>": the
 * server keeps it with the row, so a batch whose answer was lost (the
 * session dropped, either side killed) and that the core sends again later
 * is answered with the ids it already has.  A batch still outstanding when
 * the session ends completes MSG_TEMPORARY (its fate is unknown; sent again
 * with the same keys it is not inserted twice).
 *
 * States and inbound texts from the server become reports of our rows
 * (matched by the server's id, kept as the row's remote id) and inbox rows;
 * the frame's ack goes out when every one of them is committed
 * (driver.h: acked), and only on the session it came in on: otherwise the
 * server sends it again and the core applies it once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "driver.h"
#include "link/conf.h"
#include "link/convert.h"
#include "link/frame.h"
#include "link/wire.h"
#include "log.h"
#include "msg_parts.h"
#include "net/dialer.h"
#include "net/link.h"
#include "util.h"

enum {
	TICK_MS = 200,
	STOP_WAIT_MAX_MS = 5000,
	RETRY_AFTER_S = 1, /* a batch whose fate is unknown: sent again soon, with the same keys */
};

enum link_state { LS_DISCONNECTED, LS_CONNECTING, LS_HELLO, LS_UP };
static const char *const state_names[] = {"disconnected", "connecting", "hello", "up"};

static const char hello_marker;
#define REQ_HELLO ((void *)&hello_marker)

/* A batch sent and not answered yet: a request of the window. */
struct batch {
	uint32_t seq;
	int n;
	struct msg **m;
	char **keys;
};

/* A states or inbounds frame whose rows are being committed. */
struct fack {
	uint64_t token, gen, seq;
	int left;
	bool failed;
	struct fack *next;
};

struct client {
	struct conn *c;
	const struct link_conf *conf;
	enum link_state state;
	struct link *link;
	uint64_t gen; /* sessions so far: an ack is sent only on its own */
	uint32_t hello_seq;
	bool part_states; /* the server's hello_ack agreed: remote ids per part, states per part */
	struct msg_list pending;
	int inflight; /* messages in outstanding batches */
	struct fack *facks;
	uint64_t next_token;
	struct event *flush_ev, *tick_ev;
	bool flush_armed;
	struct dialer dial; /* peers, resolver, TLS context, reconnect backoff */
	bool stopping, stopped;
	uint64_t stop_ms;
};

static void client_lost(struct client *cl, const char *reason);
static void stop_progress(struct client *cl);
static void flush(struct client *cl);

static const char *cname(const struct client *cl)
{
	return conn_name(cl->c);
}

/* ---- batches ---- */

static void batch_complete(struct client *cl, struct batch *b, int i, const Smspool__Link__Result *r)
{
	struct msg *m = b->m[i];
	char q[300];
	if (r && r->id > 0) {
		char id[32];
		snprintf(id, sizeof id, "%" PRId64, r->id);
		struct errbuf perr = {""};
		int n = cl->part_states ? msg_parts(m, NULL, &perr) : 1;
		if (n <= 1) {
			const char *ids[1] = {id};
			msg_set_sent(m, 1, ids);
		} else {
			/* One remote id per part, "<id>/<part>": the server's states
			 * per part update each (link_convert_part_reports). */
			char(*pid)[48] = xcalloc((size_t)n, sizeof *pid);
			const char **ids = xcalloc((size_t)n, sizeof *ids);
			for (int k = 0; k < n; k++) {
				link_convert_part_id(r->id, k + 1, n, pid[k], sizeof pid[k]);
				ids[k] = pid[k];
			}
			msg_set_sent(m, n, ids);
			free(ids);
			free(pid);
		}
		log_debug("link_sent", "conn=%s id=%" PRId64 " remote=%s", cname(cl), m->id, id);
	} else if (!r) {
		msg_set_failed(m, MSG_TEMPORARY, "link", "link lost before the batch was answered");
		m->retry_after_s = RETRY_AFTER_S;
	} else {
		const char *cls = r->error_class ? r->error_class : "";
		enum msg_outcome o = !strcmp(cls, "invalid") || !strcmp(cls, "forbidden") ? MSG_REJECTED
		                     : !strcmp(cls, "throttled")                          ? MSG_THROTTLED
		                                                                          : MSG_TEMPORARY;
		log_info("link_refused", "conn=%s id=%" PRId64 " class=%s error=%s", cname(cl), m->id, cls,
		         log_quote(r->error ? r->error : "", q, sizeof q));
		msg_set_failed(m, o, cls, r->error && *r->error ? r->error : cls);
		if (o != MSG_REJECTED)
			m->retry_after_s = RETRY_AFTER_S;
	}
	b->m[i] = NULL;
	cl->inflight--;
	core_complete(cl->c, m);
}

static void batch_free(struct batch *b)
{
	for (int i = 0; i < b->n; i++)
		free(b->keys[i]);
	free(b->keys);
	free(b->m);
	free(b);
}

static void batch_drained(void *arg, uint32_t seq, void *data)
{
	struct client *cl = arg;
	(void)seq;
	if (data == REQ_HELLO)
		return;
	struct batch *b = data;
	for (int i = 0; i < b->n; i++)
		batch_complete(cl, b, i, NULL);
	batch_free(b);
}

/* Sends up to `batch` pending messages as one batch.  Returns 0, or -1 when
 * nothing more can go now. */
static int send_batch(struct client *cl)
{
	const struct link_conf *conf = cl->conf;
	uint32_t seq;
	if (link_next_seq(cl->link, &seq))
		return -1;
	int cap = cl->pending.len < conf->batch ? cl->pending.len : (int)conf->batch;
	struct batch *b = xcalloc(1, sizeof *b);
	b->seq = seq;
	b->m = xcalloc((size_t)cap, sizeof *b->m);
	b->keys = xcalloc((size_t)cap, sizeof *b->keys);
	Smspool__Link__Message *msgs = xcalloc((size_t)cap, sizeof *msgs);
	Smspool__Link__Message **ptrs = xcalloc((size_t)cap, sizeof *ptrs);
	struct link_convert_buf bytes = {0};
	const char *inst = conn_instance(cl->c);
	while (b->n < cap) {
		struct msg *m = msg_list_pop(&cl->pending);
		char key[256];
		struct errbuf err = {""};
		snprintf(key, sizeof key, "%.150s:%" PRId64, inst, m->id);
		if (link_convert_msg(m, key, &msgs[b->n], &bytes, &err)) {
			msg_set_failed(m, MSG_FAILED, "link", err.msg);
			core_complete(cl->c, m);
			cap--;
			continue;
		}
		b->keys[b->n] = xstrdup(key);
		msgs[b->n].key = b->keys[b->n];
		ptrs[b->n] = &msgs[b->n];
		b->m[b->n++] = m;
	}
	int rc = 0;
	if (b->n > 0) {
		Smspool__Link__Batch bb = SMSPOOL__LINK__BATCH__INIT;
		bb.seq = seq;
		bb.n_messages = (size_t)b->n;
		bb.messages = ptrs;
		link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
		f.body_case = SMSPOOL__LINK__FRAME__BODY_BATCH;
		f.batch = &bb;
		cl->inflight += b->n;
		if (link_wire_send(cl->link, &f) || link_request_add(cl->link, seq, b, 0, true)) {
			/* never left: given back */
			for (int i = 0; i < b->n; i++) {
				msg_set_failed(b->m[i], MSG_RELEASE, NULL, NULL);
				cl->inflight--;
				core_complete(cl->c, b->m[i]);
			}
			batch_free(b);
			rc = -1;
		} else {
			log_debug("link_batch_sent", "conn=%s seq=%" PRIu32 " messages=%d", cname(cl), seq, b->n);
		}
	} else {
		batch_free(b);
	}
	link_convert_buf_free(&bytes);
	free(msgs);
	free(ptrs);
	return rc;
}

static void flush(struct client *cl)
{
	cl->flush_armed = false;
	while (cl->pending.len && cl->state == LS_UP && cl->link && link_window_room(cl->link) > 0 &&
	       !link_congested(cl->link))
		if (send_batch(cl))
			break;
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush(arg);
}

static void release_pending(struct client *cl)
{
	struct msg *m;
	while ((m = msg_list_pop(&cl->pending))) {
		msg_set_failed(m, MSG_RELEASE, NULL, NULL);
		core_complete(cl->c, m);
	}
}

static void link_client_submit(struct conn *c, struct msg *m)
{
	struct client *cl = conn_driver_data(c);
	if (cl->state != LS_UP || cl->stopping) {
		msg_set_failed(m, MSG_RELEASE, NULL, NULL);
		core_complete(c, m);
		return;
	}
	msg_list_push(&cl->pending, m);
	if (cl->pending.len >= cl->conf->batch && link_window_room(cl->link) > 0) {
		flush(cl);
		return;
	}
	if (!cl->flush_armed) {
		cl->flush_armed = true;
		struct timeval tv = {(time_t)(cl->conf->flush_ms / 1000),
		                     (suseconds_t)(cl->conf->flush_ms % 1000) * 1000};
		evtimer_add(cl->flush_ev, &tv);
	}
}

/* ---- states and inbound texts: acknowledged after commit ---- */

static struct fack *fack_new(struct client *cl, uint64_t seq)
{
	struct fack *a = xcalloc(1, sizeof *a);
	a->token = ++cl->next_token;
	a->gen = cl->gen;
	a->seq = seq;
	a->next = cl->facks;
	cl->facks = a;
	return a;
}

static void send_ack(struct client *cl, uint64_t seq)
{
	Smspool__Link__Ack ack = SMSPOOL__LINK__ACK__INIT;
	ack.seq = seq;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_ACK;
	f.ack = &ack;
	if (link_wire_send(cl->link, &f))
		log_debug("link_ack_failed", "conn=%s seq=%" PRIu64, cname(cl), seq);
}

/* The frame's rows are all answered: ack it if they committed. */
static void fack_settle(struct client *cl, struct fack *a)
{
	for (struct fack **pp = &cl->facks; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	if (!a->failed && a->gen == cl->gen && cl->state == LS_UP)
		send_ack(cl, a->seq);
	else
		log_debug("link_ack_dropped", "conn=%s seq=%" PRIu64 " committed=%s", cname(cl), a->seq,
		          a->failed ? "no" : "yes");
	free(a);
}

static void link_client_acked(struct conn *c, uint64_t token, bool committed)
{
	struct client *cl = conn_driver_data(c);
	for (struct fack *a = cl->facks; a; a = a->next)
		if (a->token == token) {
			if (!committed)
				a->failed = true;
			if (--a->left <= 0)
				fack_settle(cl, a);
			break;
		}
	if (cl->stopping)
		stop_progress(cl);
}

static void on_states(struct client *cl, const Smspool__Link__States *st)
{
	struct fack *a = fack_new(cl, st->seq);
	a->left = 1; /* held until every report is handed over */
	for (size_t i = 0; i < st->n_states; i++) {
		struct report *r =
		    cl->part_states ? link_convert_part_reports(st->states[i]) : link_convert_report(st->states[i]);
		if (!r && st->states[i]->id <= 0)
			log_info("link_state_ignored", "conn=%s key=%s reason=\"no id\"", cname(cl),
			         st->states[i]->key);
		for (struct report *next; r; r = next) {
			next = r->next;
			r->next = NULL;
			log_debug("link_state", "conn=%s remote=%s state=%s", cname(cl), r->remote_id, r->state);
			a->left++;
			core_report(cl->c, r, a->token);
		}
	}
	if (--a->left == 0)
		fack_settle(cl, a);
}

static void on_inbounds(struct client *cl, const Smspool__Link__Inbounds *in)
{
	struct fack *a = fack_new(cl, in->seq);
	a->left = 1;
	for (size_t i = 0; i < in->n_messages; i++) {
		struct inbound *r = link_convert_inbox(in->messages[i]);
		a->left++;
		core_received(cl->c, r, a->token);
	}
	if (--a->left == 0)
		fack_settle(cl, a);
}

/* ---- the session state machine ---- */

static const struct link_ops client_link_ops;

static int open_link(struct client *cl, char *why, size_t cap)
{
	const struct link_conf *conf = cl->conf;
	struct link_opts o = {
	    .name = cname(cl),
	    .max_frame = (size_t)conf->max_frame + LINK_HEADER,
	    .response_timeout_ms = (uint64_t)conf->response_timeout_s * 1000,
	    .keepalive_ms = (uint64_t)conf->keepalive_s * 1000,
	    .seq_min = 1,
	    .seq_max = 0x7FFFFFFF,
	    .window = (int)conf->window,
	    .out_high = 4 * 1024 * 1024,
	    .out_low = 1024 * 1024,
	};
	cl->link = dialer_connect(&cl->dial, &o, &client_link_ops, cl, why, cap);
	return cl->link ? 0 : -1;
}

static int send_hello(struct client *cl)
{
	if (link_next_seq(cl->link, &cl->hello_seq) || link_request_add(cl->link, cl->hello_seq, REQ_HELLO, 0, false))
		return -1;
	Smspool__Link__Hello h = SMSPOOL__LINK__HELLO__INIT;
	h.version = LINK_VERSION;
	h.instance = (char *)conn_instance(cl->c);
	h.account = cl->conf->account ? cl->conf->account : ""; /* empty: the client certificate tells */
	h.part_states = true;
	h.password = cl->conf->password;
	h.max_frame = (uint32_t)cl->conf->max_frame;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_HELLO;
	f.hello = &h;
	return link_wire_send(cl->link, &f);
}

/* The one place where the session changes state.  Returns 0, or -1 when
 * the entry work failed (the caller treats the session as lost). */
static int client_set(struct client *cl, enum link_state to, const char *why)
{
	char q[300];
	log_debug("link_state", "conn=%s gen=%" PRIu64 " from=%s to=%s why=%s", cname(cl), cl->gen,
	          state_names[cl->state], state_names[to], log_quote(why ? why : "", q, sizeof q));
	cl->state = to;
	switch (to) {
	case LS_DISCONNECTED:
		if (cl->link) {
			struct link *l = cl->link;
			link_request_drain(l, batch_drained, cl);
			cl->link = NULL;
			link_free(l);
		}
		return 0;
	case LS_CONNECTING: {
		cl->gen++;
		char err[300];
		if (open_link(cl, err, sizeof err)) {
			log_warn("link_connect_failed", "conn=%s error=%s", cname(cl), log_quote(err, q, sizeof q));
			return -1;
		}
		return 0;
	}
	case LS_HELLO:
		return send_hello(cl);
	case LS_UP: {
		link_set_bound(cl->link);
		dialer_up(&cl->dial);
		char detail[300];
		const char *acct = cl->conf->account ? cl->conf->account : "(client certificate)";
		snprintf(detail, sizeof detail, "linked to %s:%d as %s", cl->dial.host, cl->dial.port, acct);
		log_info("link_up", "conn=%s peer=%s:%d account=%s tls=%s", cname(cl), cl->dial.host, cl->dial.port,
		         acct, cl->conf->tls ? "yes" : "no");
		core_conn_state(cl->c, CONN_UP, detail);
		return 0;
	}
	}
	abort();
}

static void client_connect(struct client *cl)
{
	struct dialer_conf dc = DIALER_CONF_OF(cl->conf);
	if (dialer_pick(&cl->dial, &dc, cl->c, "link")) {
		client_lost(cl, "bad peer address");
		return;
	}
	if (client_set(cl, LS_CONNECTING, "connect"))
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
	if (cl->state != LS_DISCONNECTED)
		client_set(cl, LS_DISCONNECTED, "stopped");
	release_pending(cl);
	cl->stopped = true;
	event_del(cl->tick_ev);
	dialer_cancel(&cl->dial);
	event_del(cl->flush_ev);
	core_conn_state(cl->c, CONN_DOWN, "stopped");
	core_stopped(cl->c);
}

static void client_lost(struct client *cl, const char *reason)
{
	if (cl->stopped)
		return;
	if (cl->state != LS_DISCONNECTED)
		client_set(cl, LS_DISCONNECTED, reason);
	release_pending(cl);
	if (cl->stopping) {
		client_finish_stop(cl);
		return;
	}
	struct dialer_conf dc = DIALER_CONF_OF(cl->conf);
	dialer_lost(&cl->dial, &dc, cl->c, "link", reason);
}

/* ---- reading ---- */

static void on_hello_ack(struct client *cl, const Smspool__Link__HelloAck *h)
{
	char why[300];
	if (cl->state != LS_HELLO) {
		link_wire_error(cl->link, "malformed", "hello_ack outside the hello");
		return;
	}
	(void)link_request_take(cl->link, cl->hello_seq);
	if (h->version != LINK_VERSION) {
		snprintf(why, sizeof why, "the server speaks link version %" PRIu32 ", this side %d", h->version,
		         LINK_VERSION);
		log_error("link_version_refused", "conn=%s error=\"%s\"", cname(cl), why);
		link_wire_error(cl->link, "version", why);
		return;
	}
	cl->part_states = h->part_states;
	log_debug("link_hello_ack", "conn=%s server=%s max_frame=%" PRIu32 " part_states=%d", cname(cl),
	          h->instance ? h->instance : "", h->max_frame, (int)h->part_states);
	client_set(cl, LS_UP, "hello_ack");
}

static void on_batch_ack(struct client *cl, const Smspool__Link__BatchAck *ba)
{
	void *data = ba->seq <= 0x7FFFFFFF ? link_request_find(cl->link, (uint32_t)ba->seq) : NULL;
	if (!data || data == LINK_KEEPALIVE || data == REQ_HELLO) {
		log_info("link_unknown_batch_ack", "conn=%s seq=%" PRIu64, cname(cl), ba->seq);
		return;
	}
	struct batch *b = link_request_take(cl->link, (uint32_t)ba->seq);
	log_debug("link_batch_ack", "conn=%s seq=%" PRIu64 " results=%zu", cname(cl), ba->seq, ba->n_results);
	for (int i = 0; i < b->n; i++) {
		const Smspool__Link__Result *r = (size_t)i < ba->n_results ? ba->results[i] : NULL;
		if (r && (!r->key || strcmp(r->key, b->keys[i]) != 0)) {
			log_warn("link_result_mismatch", "conn=%s seq=%" PRIu64 " index=%d", cname(cl), ba->seq, i);
			r = NULL; /* fate unknown: sent again, the key makes it once */
		}
		batch_complete(cl, b, i, r);
	}
	batch_free(b);
}

static void on_frame(struct link *l, void *arg, const uint8_t *buf, size_t len)
{
	struct client *cl = arg;
	struct errbuf err = {""};
	char q[1200];
	link_frame_t *f = link_frame_decode(buf, len, (size_t)cl->conf->max_frame, &err);
	if (!f) {
		log_warn("link_bad_frame", "conn=%s error=%s", cname(cl), log_quote(err.msg, q, sizeof q));
		link_wire_error(l, "malformed", err.msg);
		return;
	}
	log_debug("link_rx", "conn=%s type=%s", cname(cl), link_frame_type(f));
	bool up = cl->state == LS_UP;
	switch (f->body_case) {
	case SMSPOOL__LINK__FRAME__BODY_HELLO_ACK:
		on_hello_ack(cl, f->hello_ack);
		break;
	case SMSPOOL__LINK__FRAME__BODY_BATCH_ACK:
		if (up)
			on_batch_ack(cl, f->batch_ack);
		break;
	case SMSPOOL__LINK__FRAME__BODY_STATES:
		if (up)
			on_states(cl, f->states);
		break;
	case SMSPOOL__LINK__FRAME__BODY_INBOUNDS:
		if (up)
			on_inbounds(cl, f->inbounds);
		break;
	case SMSPOOL__LINK__FRAME__BODY_HEARTBEAT: {
		Smspool__Link__Heartbeat hb = SMSPOOL__LINK__HEARTBEAT__INIT;
		hb.seq = f->heartbeat->seq;
		link_frame_t a = SMSPOOL__LINK__FRAME__INIT;
		a.body_case = SMSPOOL__LINK__FRAME__BODY_HEARTBEAT_ACK;
		a.heartbeat_ack = &hb;
		if (link_wire_send(l, &a))
			log_debug("link_heartbeat_ack_failed", "conn=%s", cname(cl));
		break;
	}
	case SMSPOOL__LINK__FRAME__BODY_HEARTBEAT_ACK:
		if (f->heartbeat_ack->seq <= 0x7FFFFFFF &&
		    link_request_find(l, (uint32_t)f->heartbeat_ack->seq) == LINK_KEEPALIVE)
			(void)link_request_take(l, (uint32_t)f->heartbeat_ack->seq);
		break;
	case SMSPOOL__LINK__FRAME__BODY_ERROR: {
		char why[1200];
		snprintf(why, sizeof why, "the server ended the link: %s: %s", f->error->code, f->error->text);
		log_error("link_peer_error", "conn=%s code=%s text=%s", cname(cl), f->error->code,
		          log_quote(f->error->text, q, sizeof q));
		link_frame_free(f);
		client_lost(cl, why);
		return;
	}
	default:
		log_warn("link_unexpected_frame", "conn=%s type=%s", cname(cl), link_frame_type(f));
		link_wire_error(l, "malformed", "a frame a server does not send");
		break;
	}
	link_frame_free(f);
	if (cl->state == LS_UP)
		flush(cl);
	if (cl->stopping)
		stop_progress(cl);
}

/* ---- link callbacks ---- */

static void on_up(struct link *l, void *arg)
{
	struct client *cl = arg;
	(void)l;
	if (client_set(cl, LS_HELLO, "connected"))
		client_lost(cl, "cannot send the hello");
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
	if (data == REQ_HELLO) {
		client_lost(cl, "no hello_ack in time");
		return;
	}
	/* A batch without answer: the server is stuck; its fate is unknown. */
	log_warn("link_batch_timeout", "conn=%s seq=%" PRIu32, cname(cl), seq);
	batch_drained(cl, seq, data);
	client_lost(cl, "batch_ack timeout");
}

static int on_keepalive(struct link *l, void *arg, uint32_t seq)
{
	(void)arg;
	Smspool__Link__Heartbeat hb = SMSPOOL__LINK__HEARTBEAT__INIT;
	hb.seq = seq;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_HEARTBEAT;
	f.heartbeat = &hb;
	return link_wire_send(l, &f);
}

static void on_bad_stream(struct link *l, void *arg, const char *reason)
{
	struct client *cl = arg;
	log_warn("link_bad_stream", "conn=%s reason=\"%s\"", cname(cl), reason);
	Smspool__Link__Error e = SMSPOOL__LINK__ERROR__INIT;
	e.code = "too_big";
	e.text = (char *)reason;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_ERROR;
	f.error = &e;
	(void)link_wire_send(l, &f);
}

static void on_writable(struct link *l, void *arg)
{
	(void)l;
	flush(arg);
}

static const struct link_ops client_link_ops = {
    .frame = link_wire_frame,
    .frame_min = LINK_HEADER,
    .on_frame = on_frame,
    .on_up = on_up,
    .on_down = on_down,
    .on_timeout = on_timeout,
    .on_keepalive = on_keepalive,
    .on_bad_stream = on_bad_stream,
    .on_writable = on_writable,
};

/* ---- timers, stop ---- */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	(void)fd;
	(void)what;
	if (cl->stopping)
		stop_progress(cl);
}

/* Waits (bounded) for answers to outstanding batches and commits of states. */
static void stop_progress(struct client *cl)
{
	if (!cl->stopping || cl->stopped)
		return;
	uint64_t limit = (uint64_t)cl->conf->response_timeout_s * 1000;
	if (limit > STOP_WAIT_MAX_MS)
		limit = STOP_WAIT_MAX_MS;
	if ((cl->inflight || cl->facks) && cl->state == LS_UP && now_mono_ms() - cl->stop_ms < limit)
		return;
	client_finish_stop(cl);
}

static void link_client_stop(struct conn *c)
{
	struct client *cl = conn_driver_data(c);
	log_info("link_stopping", "conn=%s in_flight=%d pending=%d", cname(cl), cl->inflight, cl->pending.len);
	cl->stopping = true;
	cl->stop_ms = now_mono_ms();
	dialer_cancel(&cl->dial);
	release_pending(cl);
	if (cl->state != LS_UP) {
		client_finish_stop(cl);
		return;
	}
	core_conn_state(c, CONN_STOPPING, "waiting for batch answers");
	stop_progress(cl);
}

/* ---- open / close ---- */

static int link_client_open(struct conn *c)
{
	const struct link_conf *conf = conn_conf(c);
	struct client *cl = xcalloc(1, sizeof *cl);
	cl->c = c;
	cl->conf = conf;
	struct event_base *base = conn_event_base(c);
	struct dialer_opts dopts = DIALER_OPTS_OF(conf);
	struct errbuf err = {""};
	if (dialer_init(&cl->dial, base, &dopts, reconnect_cb, cl, &err) ||
	    (conf->tls_cert && link_tls_use_cert(cl->dial.ssl_ctx, conf->tls_cert, conf->tls_key, &err))) {
		char q[300];
		log_error("link_tls", "conn=%s error=%s", conn_name(c), log_quote(err.msg, q, sizeof q));
		dialer_free(&cl->dial);
		free(cl);
		return -1;
	}
	cl->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, cl);
	cl->flush_ev = evtimer_new(base, flush_cb, cl);
	struct timeval tv = {0, TICK_MS * 1000};
	event_add(cl->tick_ev, &tv);
	conn_set_driver_data(c, cl);
	core_conn_state(c, CONN_CONNECTING, "connecting");
	client_connect(cl);
	return 0;
}

static void batch_forget(void *arg, uint32_t seq, void *data)
{
	(void)arg;
	(void)seq;
	if (data == REQ_HELLO)
		return;
	struct batch *b = data;
	for (int i = 0; i < b->n; i++)
		msg_free(b->m[i]);
	batch_free(b);
}

static void link_client_close(struct conn *c)
{
	struct client *cl = conn_driver_data(c);
	if (!cl)
		return;
	if (cl->link) { /* only after a forced stop */
		link_request_drain(cl->link, batch_forget, NULL);
		link_free(cl->link);
	}
	struct msg *m;
	while ((m = msg_list_pop(&cl->pending)))
		msg_free(m);
	for (struct fack *a = cl->facks, *n; a; a = n) {
		n = a->next;
		free(a);
	}
	event_free(cl->tick_ev);
	event_free(cl->flush_ev);
	dialer_free(&cl->dial);
	free(cl);
	conn_set_driver_data(c, NULL);
}

const struct driver_ops link_driver = {
    .name = "link",
    .caps = CAP_SEND | CAP_RECEIVE | CAP_REPORTS,
    .settings = link_conf_settings,
    .conf_size = sizeof(struct link_conf),
    .check = link_conf_check,
    .open = link_client_open,
    .submit = link_client_submit,
    .stop = link_client_stop,
    .close = link_client_close,
    .acked = link_client_acked,
};
