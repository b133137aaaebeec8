/*
 * link server: connection type "link-server", accepting other smspools'
 * "link" connections as accounts (drivers/link/FORMAT.md).
 *
 * - codec: frame.c (pure, fuzzed), convert.c (frame messages <-> rows);
 * - session: the state machine of net/srvbase.c (srvbase_sess_set(): one
 *   switch, every transition logged at debug):  OPEN -> AUTH
 *   (core_authenticate asked) -> BOUND -> CLOSED; server_enter() adds what
 *   the link does on entering a state;
 * - transport: the link layer (src/net/link.c): framing, size limit, the
 *   request table for states/inbounds frames (window, deadlines), hello and
 *   idle timeouts, back-pressure, TLS, per-address limits.
 *
 * Login: account + password of the hello (core_authenticate), or, with
 * tls_client_ca_file, a client certificate that chains to those CAs and is
 * mapped to an account by tls_client_accounts (the account is then checked
 * without a password: it exists, is enabled, the address is allowed).
 *
 * A batch: every message becomes a submission of the account with its key
 * as idempotency key (core_submit; the store writes an account's pending
 * submissions in one statement, so a batch is one transaction unless it
 * meets the store between two statements; either way the keys make every
 * message once); its messages are marked claim_now, so that the rows the
 * daemon can send at once are inserted already claimed by it and go to its
 * connections without a claim (smspool.submit_claim, 048).  The batch_ack
 * goes out when every message is answered,
 * that is committed or refused.  Account events (reports, inbound texts)
 * that the core hands to deliver() go to a bound session of their account
 * in states/inbounds frames (events.c, over the shared account
 * bookkeeping of src/net/accounts.c); each gets exactly one
 * core_event_done().  When the account's access changes in the database
 * (password, enabled, allowed_addresses, ...), its bound sessions get an
 * error frame (auth, "account changed") and are closed (srvbase_revoke).
 * A session lives on (CLOSED, without link) until every core answer it
 * waits for has come.
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
#include "link/server.h"
#include "link/wire.h"
#include "log.h"
#include "net/link.h"
#include "net/srvbase.h"
#include "policy.h"
#include "util.h"

enum {
	OUT_HIGH = 4 * 1024 * 1024,
	OUT_LOW = 1024 * 1024,
	MAX_BATCHES = 64, /* batches of a client being written at once */
};

/* A batch of the client being written. */
struct sbatch {
	struct sess *s;
	uint64_t seq;
	int n, answered;
	char **keys;
	int64_t *ids;
	char **cls, **errs;
	const char **fields; /* static: the field refused ("" or NULL: none) */
};

/* A core call waiting for its answer (auth: b NULL). */
struct pend {
	struct sess *s;
	struct sbatch *b;
	int idx;
};

static const char *cname(const struct server *sv)
{
	return conn_name(sv->c);
}

/* ---- pending core calls ---- */

static uint64_t pend_add(struct server *sv, struct sess *s, struct sbatch *b, int idx)
{
	struct pend *p = xcalloc(1, sizeof *p);
	p->s = s;
	p->b = b;
	p->idx = idx;
	return srvbase_pend_add(&sv->base, &s->hd, p);
}

static struct pend *pend_take(struct server *sv, uint64_t token)
{
	return srvbase_pend_take(&sv->base, token);
}

/* Frees a closed session once nothing refers to it. */
static void sess_reap(struct sess *s)
{
	srvbase_reap(&s->hd);
}

static void link_server_deliver(struct conn *c, struct account_event *ev)
{
	struct server *sv = conn_driver_data(c);
	accounts_deliver(&sv->accts, ev);
}

/* ---- the session state machine (net/srvbase.c) ---- */

/* Closing: the events waiting on the session go back (refused). */
static void server_enter(struct srvbase_sess *h, enum srvbase_state from, enum srvbase_state to)
{
	(void)from;
	if (to == SRVBASE_CLOSED)
		link_events_refuse((struct sess *)h);
}

/* ---- frames from the client ---- */

static void on_hello(struct sess *s, const Smspool__Link__Hello *h)
{
	struct server *sv = s->sv;
	char why[600];
	if (s->hd.state != SRVBASE_OPEN) {
		link_wire_error(s->hd.link, "malformed", "hello twice");
		return;
	}
	snprintf(s->instance, sizeof s->instance, "%s", h->instance ? h->instance : "");
	snprintf(s->hd.login, sizeof s->hd.login, "%s", h->account ? h->account : "");
	s->part_states = h->part_states;
	s->client_ids = h->client_ids && link_wire_client_ids();
	if (h->version != LINK_VERSION) {
		snprintf(why, sizeof why, "link version %" PRIu32 " is not spoken here (this side speaks version %d)",
		         h->version, LINK_VERSION);
		log_warn("link_server_version_refused", "conn=%s sess=%" PRIu64 " peer=%s instance=%s error=\"%s\"",
		         cname(sv), s->hd.id, s->hd.peer, s->instance, why);
		link_wire_error(s->hd.link, "version", why);
		return;
	}
	if (sv->base.stopping) {
		link_wire_error(s->hd.link, "auth", "the server is stopping");
		return;
	}
	/* Mutual TLS: a client certificate, when one came, decides the
	 * account (no password then); without one the account and password
	 * of the hello do. */
	struct link_peer_cert pc = {0};
	if (sv->conf->tls_client_ca_file)
		link_peer_cert(s->hd.link, &pc);
	if (pc.present) {
		const char *acct = pc.verified ? link_server_conf_cert_account(sv->conf, pc.cn, pc.sha256) : NULL;
		if (!pc.verified)
			snprintf(why, sizeof why, "client certificate not trusted: %s", pc.why);
		else if (!acct)
			snprintf(why, sizeof why, "client certificate CN=%s sha256:%s is not mapped to an account",
			         pc.cn, pc.sha256);
		else if (s->hd.login[0] && strcmp(s->hd.login, acct) != 0)
			snprintf(why, sizeof why, "the client certificate is not of account %s", s->hd.login);
		if (!pc.verified || !acct || (s->hd.login[0] && strcmp(s->hd.login, acct) != 0)) {
			char q[700];
			log_info("link_server_refused", "conn=%s sess=%" PRIu64 " peer=%s account=%s reason=%s",
			         cname(sv), s->hd.id, s->hd.peer, s->hd.login[0] ? s->hd.login : "-",
			         log_quote(why, q, sizeof q));
			link_wire_error(s->hd.link, "auth", why);
			return;
		}
		snprintf(s->hd.login, sizeof s->hd.login, "%s", acct);
		srvbase_sess_set(&s->hd, SRVBASE_AUTH, "hello with a client certificate");
		/* No password: the store checks the account alone (enabled, address). */
		core_authenticate(sv->c, s->hd.login, NULL, s->hd.ip, pend_add(sv, s, NULL, 0));
		return;
	}
	if (!s->hd.login[0]) {
		link_wire_error(s->hd.link, "auth",
		                sv->conf->tls_client_ca_file ? "no account and no client certificate given"
		                                             : "no account given");
		return;
	}
	srvbase_sess_set(&s->hd, SRVBASE_AUTH, "hello");
	core_authenticate(sv->c, s->hd.login, h->password ? h->password : "", s->hd.ip, pend_add(sv, s, NULL, 0));
}

static void link_server_authenticated(struct conn *c, uint64_t token, const struct account_info *account,
                                      const char *reason)
{
	struct server *sv = conn_driver_data(c);
	struct pend *p = pend_take(sv, token);
	if (!p)
		return;
	struct sess *s = p->s;
	free(p);
	char q[300];
	if (s->hd.state != SRVBASE_AUTH) {
		sess_reap(s);
		return;
	}
	const char *why = NULL;
	if (!account)
		why = reason ? reason : "refused";
	else if (sv->base.stopping)
		why = "the server is stopping";
	else if (!core_account_bind(c, account))
		why = auth_refusal_text(AUTH_MAX_BINDS);
	if (why) {
		/* The client learns only that it was refused: the reason is logged. */
		enum auth_refusal r = account ? AUTH_MAX_BINDS : auth_refusal_of(reason);
		bool creds =
		    r == AUTH_UNKNOWN_ACCOUNT || r == AUTH_WRONG_PASSWORD || r == AUTH_DISABLED || r == AUTH_ADDRESS;
		log_info("link_server_refused", "conn=%s sess=%" PRIu64 " peer=%s account=%s reason=%s", cname(sv),
		         s->hd.id, s->hd.peer, s->hd.login, log_quote(why, q, sizeof q));
		srvbase_sess_set(&s->hd, SRVBASE_OPEN, "refused");
		link_wire_error(s->hd.link, "auth", creds ? "authentication failed" : "not now: try again later");
		return;
	}
	s->hd.acct = accounts_get(&sv->accts, account);
	Smspool__Link__HelloAck ha = SMSPOOL__LINK__HELLO_ACK__INIT;
	ha.version = LINK_VERSION;
	ha.instance = (char *)conn_instance(c);
	ha.max_frame = (uint32_t)sv->conf->max_frame;
	ha.part_states = s->part_states;
	ha.client_ids = s->client_ids;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_HELLO_ACK;
	f.hello_ack = &ha;
	if (link_wire_send(s->hd.link, &f)) {
		core_account_unbind(c, account->name);
		srvbase_sess_set(&s->hd, SRVBASE_CLOSED, "cannot send hello_ack");
		return;
	}
	srvbase_sess_set(&s->hd, SRVBASE_BOUND, "authenticated");
	log_info("link_server_bound", "conn=%s sess=%" PRIu64 " peer=%s account=%s instance=%s tls=%s", cname(sv),
	         s->hd.id, s->hd.peer, s->hd.acct->name, s->instance, link_is_tls(s->hd.link) ? "yes" : "no");
}

static void batch_answer(struct sess *s, struct sbatch *b)
{
	struct server *sv = s->sv;
	if (s->hd.link) {
		Smspool__Link__Result *res = xcalloc((size_t)b->n, sizeof *res);
		Smspool__Link__Result **ptrs = xcalloc((size_t)b->n, sizeof *ptrs);
		for (int i = 0; i < b->n; i++) {
			smspool__link__result__init(&res[i]);
			res[i].key = b->keys[i];
			res[i].id = b->ids[i];
			res[i].error_class = b->cls[i] ? b->cls[i] : "";
			res[i].error = b->errs[i] ? b->errs[i] : "";
			res[i].error_field = b->fields[i] ? (char *)b->fields[i] : "";
			ptrs[i] = &res[i];
		}
		Smspool__Link__BatchAck ba = SMSPOOL__LINK__BATCH_ACK__INIT;
		ba.seq = b->seq;
		ba.n_results = (size_t)b->n;
		ba.results = ptrs;
		link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
		f.body_case = SMSPOOL__LINK__FRAME__BODY_BATCH_ACK;
		f.batch_ack = &ba;
		if (link_wire_send(s->hd.link, &f))
			log_info("link_server_batch_ack_failed", "conn=%s sess=%" PRIu64 " seq=%" PRIu64, cname(sv),
			         s->hd.id, b->seq);
		else
			log_debug("link_server_batch_ack", "conn=%s sess=%" PRIu64 " seq=%" PRIu64 " n=%d", cname(sv),
			          s->hd.id, b->seq, b->n);
		link_inbound_end(s->hd.link);
		free(res);
		free(ptrs);
	}
	for (int i = 0; i < b->n; i++) {
		free(b->keys[i]);
		free(b->cls[i]);
		free(b->errs[i]);
	}
	free(b->keys);
	free(b->ids);
	free(b->cls);
	free(b->errs);
	free(b->fields);
	free(b);
}

static struct sbatch *sbatch_new(struct sess *s, const Smspool__Link__Batch *in)
{
	struct sbatch *b = xcalloc(1, sizeof *b);
	b->s = s;
	b->seq = in->seq;
	b->n = (int)in->n_messages;
	b->keys = xcalloc((size_t)b->n + 1, sizeof *b->keys);
	b->ids = xcalloc((size_t)b->n + 1, sizeof *b->ids);
	b->cls = xcalloc((size_t)b->n + 1, sizeof *b->cls);
	b->errs = xcalloc((size_t)b->n + 1, sizeof *b->errs);
	b->fields = xcalloc((size_t)b->n + 1, sizeof *b->fields);
	for (int i = 0; i < b->n; i++)
		b->keys[i] = xstrdup(in->messages[i]->key);
	return b;
}

static void on_batch(struct sess *s, const Smspool__Link__Batch *in)
{
	struct server *sv = s->sv;
	if (s->hd.state != SRVBASE_BOUND) {
		link_wire_error(s->hd.link, "malformed", "batch before the hello_ack");
		return;
	}
	const char *refuse = NULL;
	if (!link_inbound_begin(s->hd.link)) {
		link_wire_error(s->hd.link, "malformed", "more batches outstanding than the server takes");
		return;
	}
	struct sbatch *b = sbatch_new(s, in);
	if (sv->base.stopping)
		refuse = "the server is stopping";
	else if (b->n && core_account_take(sv->c, s->hd.acct->name, s->hd.acct->throughput, b->n))
		refuse = "over the account's throughput";
	if (refuse || b->n == 0) {
		for (int i = 0; i < b->n; i++) {
			b->cls[i] = xstrdup(sv->base.stopping ? "temporary" : "throttled");
			b->errs[i] = xstrdup(refuse);
		}
		batch_answer(s, b);
		return;
	}
	log_debug("link_server_batch", "conn=%s sess=%" PRIu64 " seq=%" PRIu64 " n=%d", cname(sv), s->hd.id, in->seq,
	          b->n);
	for (int i = 0; i < b->n; i++) {
		/* a whole batch: its rows are claimed as they are inserted
		 * (claim at submit), within the room the loop has */
		struct submission *sub = link_convert_submission(in->messages[i], s->hd.acct->name);
		sub->claim_now = true;
		core_submit(sv->c, sub, pend_add(sv, s, b, i));
	}
}

static void link_server_submitted(struct conn *c, uint64_t token, const struct submit_result *res)
{
	struct server *sv = conn_driver_data(c);
	struct pend *p = pend_take(sv, token);
	if (!p)
		return;
	struct sess *s = p->s;
	struct sbatch *b = p->b;
	int i = p->idx;
	free(p);
	if (res->error == SUBMIT_OK && res->message_id > 0) {
		b->ids[i] = res->message_id;
	} else {
		const char *cls;
		link_convert_refusal(res, &cls, &b->fields[i]);
		b->cls[i] = xstrdup(cls);
		b->errs[i] = xstrdup(res->text ? res->text : "");
	}
	if (++b->answered == b->n)
		batch_answer(s, b);
	sess_reap(s);
	if (sv->base.stopping)
		srvbase_stop_progress(&sv->base);
}

static void on_ack(struct sess *s, const Smspool__Link__Ack *a)
{
	void *data = a->seq <= 0x7FFFFFFF ? link_request_find(s->hd.link, (uint32_t)a->seq) : NULL;
	if (!data || data == LINK_KEEPALIVE) {
		log_info("link_server_unknown_ack", "conn=%s sess=%" PRIu64 " seq=%" PRIu64, cname(s->sv), s->hd.id,
		         a->seq);
		return;
	}
	link_events_done(s->sv, link_request_take(s->hd.link, (uint32_t)a->seq), true);
}

static void on_frame(struct link *l, void *arg, const uint8_t *buf, size_t len)
{
	struct sess *s = arg;
	struct server *sv = s->sv;
	struct errbuf err = {""};
	char q[1200];
	link_frame_t *f = link_frame_decode(buf, len, (size_t)sv->conf->max_frame, &err);
	if (!f) {
		log_warn("link_server_bad_frame", "conn=%s sess=%" PRIu64 " peer=%s error=%s", cname(sv), s->hd.id,
		         s->hd.peer, log_quote(err.msg, q, sizeof q));
		link_wire_error(l, "malformed", err.msg);
		return;
	}
	log_debug("link_server_rx", "conn=%s sess=%" PRIu64 " type=%s", cname(sv), s->hd.id, link_frame_type(f));
	switch (f->body_case) {
	case SMSPOOL__LINK__FRAME__BODY_HELLO:
		on_hello(s, f->hello);
		break;
	case SMSPOOL__LINK__FRAME__BODY_BATCH:
		on_batch(s, f->batch);
		break;
	case SMSPOOL__LINK__FRAME__BODY_ACK:
		if (s->hd.state == SRVBASE_BOUND)
			on_ack(s, f->ack);
		break;
	case SMSPOOL__LINK__FRAME__BODY_HEARTBEAT:
		if (link_wire_heartbeat(l, f->heartbeat->seq, true))
			log_debug("link_server_heartbeat_ack_failed", "conn=%s sess=%" PRIu64, cname(sv), s->hd.id);
		break;
	case SMSPOOL__LINK__FRAME__BODY_HEARTBEAT_ACK:
		break;
	case SMSPOOL__LINK__FRAME__BODY_ERROR:
		log_warn("link_server_peer_error", "conn=%s sess=%" PRIu64 " code=%s text=%s", cname(sv), s->hd.id,
		         f->error->code, log_quote(f->error->text, q, sizeof q));
		link_close_flush(l, "the client sent an error");
		break;
	default:
		link_wire_error(l, "malformed", "a frame a client does not send");
		break;
	}
	link_frame_free(f);
	if (s->hd.state == SRVBASE_BOUND)
		link_events_flush(s);
}

/* ---- link callbacks ---- */

static void on_timeout(struct link *l, void *arg, uint32_t seq, void *data)
{
	struct sess *s = arg;
	(void)l;
	if (data == LINK_KEEPALIVE)
		return;
	log_info("link_server_ack_timeout", "conn=%s sess=%" PRIu64 " seq=%" PRIu32, cname(s->sv), s->hd.id, seq);
	link_events_done(s->sv, data, false);
}

static void on_bad_stream(struct link *l, void *arg, const char *reason)
{
	struct sess *s = arg;
	log_warn("link_server_bad_stream", "conn=%s sess=%" PRIu64 " peer=%s reason=\"%s\"", cname(s->sv), s->hd.id,
	         s->hd.peer, reason);
	link_wire_too_big(l, reason);
}

static void on_writable(struct link *l, void *arg)
{
	(void)l;
	link_events_flush(arg);
}

static const struct link_ops sess_ops = {
    .frame = link_wire_frame,
    .frame_min = LINK_HEADER,
    .on_frame = on_frame,
    .on_down = srvbase_link_down,
    .on_timeout = on_timeout,
    .on_bad_stream = on_bad_stream,
    .on_writable = on_writable,
};

/* ---- stop, open, close ---- */

static void server_free_sess(struct srvbase_sess *h)
{
	link_events_forget((struct sess *)h);
}

static void server_finish(void *arg)
{
	struct server *sv = arg;
	event_del(sv->flush_ev);
}

static void server_stopping(void *arg)
{
	struct server *sv = arg;
	accounts_stop(&sv->accts);
	for (struct srvbase_sess *h = sv->base.sessions; h; h = h->next)
		link_events_refuse((struct sess *)h);
}

/* The account's access changed (srvbase_revoke): a bound session is told
 * so in an error frame (code auth, "account changed") and closed once it
 * is written; the client logs in again under the new rules.  Batches of
 * the session not answered yet are given back to the client's spool by its
 * side (no batch_ack); the rows already written keep their keys. */
static bool server_revoke(struct srvbase_sess *h)
{
	if (h->state != SRVBASE_BOUND)
		return false;
	link_wire_error(h->link, "auth", "account changed");
	return true;
}

/* The frame limit is the server's setting. */
static void server_listen_opts(void *arg, struct link_listen_opts *lo)
{
	struct server *sv = arg;
	lo->link.max_frame = (size_t)sv->conf->max_frame + LINK_HEADER;
}

static const struct srvbase_ops base_ops = {
    .log_prefix = "link_server",
    .sess_ops = &sess_ops,
    .link =
        {
            .seq_min = 1,
            .seq_max = 0x7FFFFFFF,
            .max_inbound = MAX_BATCHES,
            .out_high = OUT_HIGH,
            .out_low = OUT_LOW,
        },
    SRVBASE_SESS(struct sess, sv),
    .state_names = {"open", "auth", "bound", "closed"},
    .login_key = "account",
    .enter = server_enter,
    .drained = link_events_drained,
    /* A session ends (its link ended, or the stop is over: srvbase waited,
     * bounded, for the database's answers to batches, so that clients got
     * their batch_ack) by srvbase_sess_set(CLOSED). */
    .listen_opts = server_listen_opts,
    .stopping = server_stopping,
    .free_sess = server_free_sess,
    .revoke = server_revoke,
    .finish = server_finish,
};

static void link_server_close(struct conn *c);

static int link_server_open(struct conn *c)
{
	const struct link_server_conf *conf = conn_conf(c);
	struct server *sv = xcalloc(1, sizeof *sv);
	sv->c = c;
	sv->conf = conf;
	sv->accts = (struct accounts){.c = c, .ops = &link_events_ops, .arg = sv, .wait_per_session = (int)conf->batch};
	sv->flush_ev = event_new(conn_event_base(c), -1, 0, link_events_flush_cb, sv);
	conn_set_driver_data(c, sv);
	if (srvbase_open(&sv->base, c, &base_ops, sv, &sv->accts, &SRVBASE_CONF_OF(conf, hello_timeout_s))) {
		conn_set_driver_data(c, NULL);
		event_free(sv->flush_ev);
		free(sv);
		return -1;
	}
	struct errbuf err = {""};
	if (conf->tls_client_ca_file && link_tls_verify_clients(sv->base.ssl_ctx, conf->tls_client_ca_file, &err)) {
		char q[300];
		log_error("link_server_tls", "conn=%s error=%s", cname(sv), log_quote(err.msg, q, sizeof q));
		link_server_close(c);
		return -1;
	}
	return 0;
}

static void link_server_close(struct conn *c)
{
	struct server *sv = conn_driver_data(c);
	if (!sv)
		return;
	srvbase_close(&sv->base);
	accounts_free(&sv->accts);
	if (sv->flush_ev)
		event_free(sv->flush_ev);
	free(sv);
	conn_set_driver_data(c, NULL);
}

const struct driver_ops link_server_driver = {
    .name = "link-server",
    .caps = CAP_LISTEN,
    .settings = link_server_conf_settings,
    .conf_size = sizeof(struct link_server_conf),
    .check = link_server_conf_check,
    .open = link_server_open,
    .submit = NULL,
    .stop = srvbase_conn_stop,
    .close = link_server_close,
    .authenticated = link_server_authenticated,
    .submitted = link_server_submitted,
    .deliver = link_server_deliver,
    .account_revoked = srvbase_conn_account_revoked,
};
