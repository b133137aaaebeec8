/*
 * link client: connection type "link", a sending connection towards another
 * smspool's "link-server" (drivers/link/FORMAT.md).
 *
 * - codec: frame.c (pure, fuzzed), convert.c (rows <-> frame messages);
 * - session: the client session layer of src/net/clibase.c (one state
 *   enum: DISCONNECTED -> CONNECTING -> HANDSHAKE, here "hello" (hello
 *   sent) -> UP; the dialer with backup hosts, reconnect backoff, the
 *   bounded stop); this file gives it the hello, the link's options and
 *   what lent batches become when a session ends;
 * - transport: the link layer (src/net/link.c): framing, the request table
 *   (hello, batches, heartbeats) with deadlines and a window of batches,
 *   back-pressure, TLS.
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
#include "net/clibase.h"
#include "net/link.h"
#include "util.h"

enum {
	RETRY_AFTER_S = 1, /* a batch whose fate is unknown: sent again soon, with the same keys */
};

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
	/* first: the session state, dialer, tick, reconnect, stop; its gen
	 * counts sessions (an ack is sent only on its own) */
	struct clibase base;
	struct conn *c;
	const struct link_conf *conf;
	struct link *link; /* the session's (set and cleared by clibase) */
	uint32_t hello_seq;
	bool part_states; /* the server's hello_ack agreed: remote ids per part, states per part */
	bool client_ids;  /* the server's hello_ack agreed: states name our outbox id (no report_wait) */
	struct msg_list pending;
	int inflight; /* messages in outstanding batches */
	struct fack *facks;
	uint64_t next_token;
	struct event *flush_ev;
	bool flush_armed;
};

static void flush(struct client *cl);

static void client_lost(struct client *cl, const char *reason)
{
	clibase_lost(&cl->base, reason);
}

static void stop_progress(struct client *cl)
{
	clibase_stop_progress(&cl->base);
}

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
		/* Its states will name it by our id (State.client_id): the
		 * store records it sent without report_wait rows. */
		m->report_by_id = cl->client_ids;
		log_debug("link_sent", "conn=%s id=%" PRId64 " remote=%s", cname(cl), m->id, id);
	} else if (!r) {
		msg_set_failed(m, MSG_TEMPORARY, "link", "link lost before the batch was answered");
		m->retry_after_s = RETRY_AFTER_S;
	} else {
		const char *cls = r->error_class ? r->error_class : "";
		enum msg_outcome o = !strcmp(cls, "invalid") || !strcmp(cls, "forbidden") ? MSG_REJECTED
		                     : !strcmp(cls, "throttled")                          ? MSG_THROTTLED
		                                                                          : MSG_TEMPORARY;
		log_info("link_refused", "conn=%s id=%" PRId64 " class=%s field=%s error=%s", cname(cl), m->id, cls,
		         r->error_field && *r->error_field ? r->error_field : "-",
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
	while (cl->pending.len && clibase_is_up(&cl->base) && cl->link && link_window_room(cl->link) > 0 &&
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
	if (!clibase_is_up(&cl->base) || cl->base.stopping) {
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
	a->gen = cl->base.gen;
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
	if (!a->failed && a->gen == cl->base.gen && clibase_is_up(&cl->base))
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
	if (cl->base.stopping)
		stop_progress(cl);
}

static void on_states(struct client *cl, const Smspool__Link__States *st)
{
	struct fack *a = fack_new(cl, st->seq);
	a->left = 1; /* held until every report is handed over */
	for (size_t i = 0; i < st->n_states; i++) {
		/* By our id when the server gave it (client_ids); else by its
		 * id through report_wait, as before. */
		bool by_id = cl->client_ids && st->states[i]->client_id > 0;
		struct report *r = cl->part_states ? link_convert_part_reports(st->states[i], by_id)
		                                   : link_convert_report(st->states[i], by_id);
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

/* A session starts (CONNECTING): a window of batches, heartbeats. */
static void session_start(void *arg, struct link_opts *o)
{
	struct client *cl = arg;
	const struct link_conf *conf = cl->conf;
	*o = (struct link_opts){
	    .name = o->name,
	    .max_frame = (size_t)conf->max_frame + LINK_HEADER,
	    .response_timeout_ms = (uint64_t)conf->response_timeout_s * 1000,
	    .keepalive_ms = (uint64_t)conf->keepalive_s * 1000,
	    .seq_min = 1,
	    .seq_max = 0x7FFFFFFF,
	    .window = (int)conf->window,
	    .out_high = 4 * 1024 * 1024,
	    .out_low = 1024 * 1024,
	};
}

/* The handshake (HANDSHAKE): the hello, answered by hello_ack. */
static int send_hello(void *arg)
{
	struct client *cl = arg;
	if (link_next_seq(cl->link, &cl->hello_seq) || link_request_add(cl->link, cl->hello_seq, REQ_HELLO, 0, false))
		return -1;
	Smspool__Link__Hello h = SMSPOOL__LINK__HELLO__INIT;
	h.version = LINK_VERSION;
	h.instance = (char *)conn_instance(cl->c);
	h.account = cl->conf->account ? cl->conf->account : ""; /* empty: the client certificate tells */
	h.part_states = true;
	h.client_ids = link_wire_client_ids();
	h.password = cl->conf->password;
	h.max_frame = (uint32_t)cl->conf->max_frame;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_HELLO;
	f.hello = &h;
	return link_wire_send(cl->link, &f);
}

/* UP: the server acknowledged the hello. */
static void session_up(void *arg, char *detail, size_t cap)
{
	struct client *cl = arg;
	const struct dialer *d = &cl->base.dial;
	const char *acct = cl->conf->account ? cl->conf->account : "(client certificate)";
	snprintf(detail, cap, "linked to %s as %s", d->peer, acct);
	log_info("link_up", "conn=%s peer=%s account=%s tls=%s", cname(cl), d->peer, acct,
	         cl->conf->tls ? "yes" : "no");
}

/* ---- reading ---- */

static void on_hello_ack(struct client *cl, const Smspool__Link__HelloAck *h)
{
	char why[300];
	if (cl->base.state != CLIBASE_HANDSHAKE) {
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
	cl->client_ids = h->client_ids && link_wire_client_ids();
	log_debug("link_hello_ack", "conn=%s server=%s max_frame=%" PRIu32 " part_states=%d client_ids=%d", cname(cl),
	          h->instance ? h->instance : "", h->max_frame, (int)h->part_states, (int)cl->client_ids);
	clibase_set(&cl->base, CLIBASE_UP, "hello_ack");
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
	bool up = clibase_is_up(&cl->base);
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
	case SMSPOOL__LINK__FRAME__BODY_HEARTBEAT:
		if (link_wire_heartbeat(l, f->heartbeat->seq, true))
			log_debug("link_heartbeat_ack_failed", "conn=%s", cname(cl));
		break;
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
	if (clibase_is_up(&cl->base))
		flush(cl);
	if (cl->base.stopping)
		stop_progress(cl);
}

/* ---- link callbacks ---- */

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
	return link_wire_heartbeat(l, seq, false);
}

static void on_bad_stream(struct link *l, void *arg, const char *reason)
{
	struct client *cl = arg;
	log_warn("link_bad_stream", "conn=%s reason=\"%s\"", cname(cl), reason);
	link_wire_too_big(l, reason);
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
    .on_up = clibase_link_up,
    .on_down = clibase_link_down,
    .on_timeout = on_timeout,
    .on_keepalive = on_keepalive,
    .on_bad_stream = on_bad_stream,
    .on_writable = on_writable,
};

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

/* ---- the lifecycle (src/net/clibase.c) ---- */

static void base_release(void *arg)
{
	release_pending(arg);
}

/* Stopping: answers to outstanding batches and commits of states awaited. */
static bool base_busy(void *arg)
{
	struct client *cl = arg;
	return cl->inflight || cl->facks;
}

static void base_stopped(void *arg)
{
	struct client *cl = arg;
	event_del(cl->flush_ev);
}

/* The client certificate of mutual TLS, when the settings give one. */
static int base_tls_setup(void *arg, SSL_CTX *ctx, struct errbuf *err)
{
	struct client *cl = arg;
	return cl->conf->tls_cert ? link_tls_use_cert(ctx, cl->conf->tls_cert, cl->conf->tls_key, err) : 0;
}

static const struct clibase_ops base_ops = {
    .log_prefix = "link",
    .handshake_name = "hello",
    .link_ops = &client_link_ops,
    .start = session_start,
    .handshake = send_hello,
    .up = session_up,
    .drained = batch_drained,
    .forget = batch_forget,
    .release = base_release,
    .busy = base_busy,
    .stopped = base_stopped,
    .tls_setup = base_tls_setup,
};

static void link_client_stop(struct conn *c)
{
	struct client *cl = conn_driver_data(c);
	log_info("link_stopping", "conn=%s in_flight=%d pending=%d", cname(cl), cl->inflight, cl->pending.len);
	clibase_stop(&cl->base, "waiting for batch answers");
}

/* ---- open / close ---- */

static int link_client_open(struct conn *c)
{
	const struct link_conf *conf = conn_conf(c);
	struct client *cl = xcalloc(1, sizeof *cl);
	cl->c = c;
	cl->conf = conf;
	cl->flush_ev = evtimer_new(conn_event_base(c), flush_cb, cl);
	conn_set_driver_data(c, cl);
	if (CLIBASE_OPEN(&cl->base, c, &base_ops, cl, &cl->link, conf)) {
		conn_set_driver_data(c, NULL);
		event_free(cl->flush_ev);
		free(cl);
		return -1;
	}
	return 0;
}

static void link_client_close(struct conn *c)
{
	struct client *cl = conn_driver_data(c);
	if (!cl)
		return;
	struct msg *m;
	while ((m = msg_list_pop(&cl->pending)))
		msg_free(m);
	for (struct fack *a = cl->facks, *n; a; a = n) {
		n = a->next;
		free(a);
	}
	event_free(cl->flush_ev);
	clibase_close(&cl->base);
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
