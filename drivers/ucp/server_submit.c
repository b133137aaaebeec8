/*
 * ucp server, what a client asks: the login (op 60, checked by the core
 * against smspool.accounts) and submits (op 51, 01, 30), which become
 * outbox rows of the account and are answered after commit with
 * SM = AdC:SCTS, the SCTS derived from the message id (ucp_data_scts_id):
 * unique per message and computable again for its op 53 without storing
 * anything.  The parts of a multipart submit (UDH with a concatenation IE
 * in XSer 01) are held per session (net/join.h) until their set is
 * complete, then become ONE outbox row; each part is ACKed after the
 * commit with its own SCTS (the part number in it), and the row's report
 * goes out as one op 53 per part.  An incomplete set is NACKed 04 after
 * reassembly_timeout_s, so that the client resends; nothing was stored.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include "codec/udh.h"
#include "log.h"
#include "policy.h"
#include "submit_refusal.h"
#include "ucp/data.h"
#include "ucp/nack.h"
#include "ucp/server.h"
#include "util.h"

void server_submit_login(struct sess *s, const struct ucp_frame *f)
{
	struct server *sv = s->sv;
	if (s->hd.state != SRVBASE_OPEN) {
		server_answer(s, f->trn, 60, UCP_EC_NOT_ALLOWED, NULL);
		return;
	}
	char oadc[40], pwd[160];
	uint8_t raw[80];
	if (ucp_frame_get(f, UCP6X_OAdC, oadc, sizeof oadc) < 0 || !ucp_frame_is(f, UCP6X_STYP, "1")) {
		server_answer(s, f->trn, 60, UCP_EC_SYNTAX, NULL);
		return;
	}
	int n = ucp_data_ira_decode(f->f[UCP6X_PWD].p, f->f[UCP6X_PWD].len, raw, sizeof raw - 1);
	if (n < 0) {
		server_answer(s, f->trn, 60, UCP_EC_SYNTAX, NULL);
		return;
	}
	memcpy(pwd, raw, (size_t)n);
	pwd[n] = '\0';
	snprintf(s->hd.login, sizeof s->hd.login, "%.23s", oadc);
	if (sv->base.stopping) {
		server_answer(s, f->trn, 60, UCP_EC_NOT_ALLOWED, NULL);
		return;
	}
	srvbase_sess_set(&s->hd, SRVBASE_AUTH, "op 60");
	core_authenticate(sv->c, oadc, pwd, s->hd.ip, server_pend_add(sv, s, f->trn, 60, NULL, NULL));
}

void server_submit_by_address(struct sess *s, const struct ucp_frame *f, const uint8_t *buf, size_t len)
{
	struct server *sv = s->sv;
	if (sv->base.stopping) {
		server_answer(s, f->trn, f->ot, UCP_EC_NOT_ALLOWED, NULL);
		return;
	}
	s->held = xmalloc(len);
	memcpy(s->held, buf, len);
	s->held_len = len;
	s->by_addr = true;
	link_pause(s->hd.link, true); /* what follows waits for the decision */
	srvbase_sess_set(&s->hd, SRVBASE_AUTH, "operation before op 60: login by address");
	core_authenticate(sv->c, "", NULL, s->hd.ip, server_pend_add(sv, s, f->trn, f->ot, NULL, NULL));
}

void server_submit_authenticated(struct conn *c, uint64_t token, const struct account_info *account, const char *reason)
{
	struct server *sv = conn_driver_data(c);
	struct pend *p = server_pend_take(sv, token);
	if (!p)
		return;
	struct sess *s = p->s;
	unsigned trn = p->trn, ot = p->ot;
	free(p);
	char q[300];
	if (s->hd.state != SRVBASE_AUTH) {
		server_sess_reap(s);
		return;
	}
	const char *why = NULL;
	unsigned ec = 0;
	struct accounts_acct *a = NULL;
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
	} else if (sv->base.stopping) {
		ec = UCP_EC_NOT_ALLOWED;
		why = "stopping";
	} else if (!core_account_bind(c, account)) {
		ec = UCP_EC_NOT_ALLOWED;
		why = auth_refusal_text(AUTH_MAX_BINDS);
	} else {
		a = accounts_get(&sv->accts, account);
	}
	if (ec) {
		log_info("ucp_server_login_refused", "conn=%s sess=%" PRIu64 " peer=%s login=%s ec=%02u reason=%s",
		         server_cname(sv), s->hd.id, s->hd.peer, s->hd.login, ec, log_quote(why, q, sizeof q));
		server_answer(s, trn, ot, ec, NULL); /* the op 60, or the operation held */
		srvbase_sess_set(&s->hd, SRVBASE_OPEN, "login refused");
		link_close_flush(s->hd.link, "login refused");
		return;
	}
	s->hd.acct = a;
	if (!s->by_addr)
		server_answer(s, trn, 60, 0, NULL);
	srvbase_sess_set(&s->hd, SRVBASE_BOUND, "authenticated");
	log_info("ucp_server_logged_in", "conn=%s sess=%" PRIu64 " peer=%s account=%s tls=%s by=%s", server_cname(sv),
	         s->hd.id, s->hd.peer, a->name, link_is_tls(s->hd.link) ? "yes" : "no",
	         s->by_addr ? "address" : "op60");
	if (s->by_addr) {
		snprintf(s->hd.login, sizeof s->hd.login, "%.23s", a->name);
		server_replay_held(s);
	}
	if (sv->base.stopping)
		server_stop_progress(sv);
}

/* The submission of f without its text (account, addresses, report,
 * priority, validity, deferral) into sub, the AdC as sent into adc.
 * Returns 0 or the EC to answer (err set). */
static unsigned submission_head(const struct ucp_frame *f, struct submission *sub, char *adc, size_t adc_cap,
                                struct errbuf *err)
{
	size_t adc_i = f->ot == 1 ? UCP01_AdC : f->ot == 30 ? UCP30_AdC : UCP5X_AdC;
	size_t oadc_i = f->ot == 1 ? UCP01_OAdC : f->ot == 30 ? UCP30_OAdC : UCP5X_OAdC;
	if (f->f[adc_i].len == 0)
		return errbuf_set(err, "AdC is empty"), UCP_EC_ADC_INVALID;
	/* The validity period before the deferred delivery time: the spec's
	 * order of fields, and of their errors (22 before 18). */
	const struct ucp_str *vp = f->ot == 30 ? &f->f[UCP30_VP] : f->ot >= 51 ? &f->f[UCP5X_VP] : NULL;
	int64_t valid_until = 0;
	if (vp && vp->len) {
		char v12[13];
		if (vp->len != 10)
			return errbuf_set(err, "VP malformed (DDMMYYhhmm)"), UCP_EC_TIME_PERIOD;
		memcpy(v12, vp->p, 10);
		memcpy(v12 + 10, "00", 3);
		if (ucp_data_scts_parse(v12, 12, &valid_until) != 0)
			return errbuf_set(err, "VP malformed (DDMMYYhhmm)"), UCP_EC_TIME_PERIOD;
	}
	int64_t send_after = 0;
	if (ucp_sm_deferred(f, &send_after) < 0)
		return errbuf_set(err, "DD/DDT malformed (DD 1 with DDT DDMMYYhhmm)"), UCP_EC_DEFERRED_NOT_ALLOWED;
	sub->recipient = ucp_sm_addr_in(&f->f[adc_i], NULL);
	if (f->f[oadc_i].len)
		sub->sender = ucp_sm_addr_in(&f->f[oadc_i], f->ot >= 51 ? &f->f[UCP5X_OTOA] : NULL);
	sub->want_report =
	    (f->ot == 30 && ucp_frame_is(f, UCP30_NRq, "1")) || (f->ot >= 51 && ucp_frame_is(f, UCP5X_NRq, "1"));
	sub->priority = f->ot >= 51 && ucp_frame_is(f, UCP5X_PR, "1") ? 9 : 0;
	sub->valid_until_s = valid_until;
	sub->send_after_s = send_after; /* DD/DDT: deferred delivery */
	if (ucp_frame_get(f, adc_i, adc, adc_cap) < 0)
		adc[0] = '\0';
	return 0;
}

/* The text of kind d/n (a UDH udh/hl kept for binary data only) into sub. */
static void submission_body(struct submission *sub, int kind, const uint8_t *d, size_t n, const uint8_t *udh, size_t hl)
{
	char *enc = NULL;
	ucp_sm_text_of(kind, d, n, &sub->body, &sub->payload, &enc);
	if (sub->payload) {
		sub->encoding = xstrdup("binary");
		if (hl) {
			sub->udh = xmalloc(2 * hl + 1);
			hex_encode(udh, hl, sub->udh);
		}
	} else {
		sub->encoding = xstrdup(strcmp(enc, "ucs2") == 0 ? "ucs2" : "auto");
	}
	free(enc);
}

/* ---- multipart submits (net/join.h) ---- */

/* What a held part keeps of its operation: the submission without its
 * text, and what the joined text needs (the kind, the UDH). */
struct jmeta {
	struct submission *sub;
	int kind;
	size_t hl;
	uint8_t udh[256];
	char adc[40];
};

static void jmeta_free(void *arg)
{
	struct jmeta *m = arg;
	if (m->sub)
		submission_free(m->sub);
	free(m);
}

/* Answers every part of set with ec (a NACK) and frees it. */
static void join_refuse(struct sess *s, struct net_join_set *set, unsigned ec)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct net_join_held *h = set->parts[i];
		if (s->hd.link) {
			link_inbound_end(s->hd.link);
			server_answer(s, h->pdu_seq, h->cmd, ec, NULL);
		}
	}
	net_join_set_free(s->join, set);
}

/* A complete set: one submission with the joined text, to the core.  The
 * message asks a report when one of its parts did (NRq). */
static void join_submit(struct sess *s, struct net_join_set *set)
{
	struct server *sv = s->sv;
	struct jmeta *m = set->parts[0]->meta; /* the lowest part number */
	struct submission *sub = m->sub;
	m->sub = NULL;
	for (size_t i = 1; i < set->n; i++) {
		const struct jmeta *o = set->parts[i]->meta;
		if (o->sub && o->sub->want_report)
			sub->want_report = true;
	}
	uint8_t keep[UDH_MAX_LEN + 1];
	size_t keep_len = m->hl ? net_join_udh_strip(m->udh, m->hl, keep) : 0;
	submission_body(sub, m->kind, set->msg->data, set->msg->len, keep, keep_len);
	sub->client_parts = (int)set->msg->total; /* its report goes out once per part */
	sub->account = xstrdup(s->hd.acct->name);
	log_debug("ucp_server_joined", "conn=%s sess=%" PRIu64 " account=%s ref=%u parts=%u frames=%zu",
	          server_cname(sv), s->hd.id, s->hd.acct->name, set->msg->ref, set->msg->total, set->n);
	core_submit(sv->c, sub, server_pend_add(sv, s, set->parts[0]->pdu_seq, set->parts[0]->cmd, m->adc, set));
}

void server_submit_join_poll(struct sess *s)
{
	struct net_join_set *set;
	uint64_t now = now_mono_ms();
	while (s->join && (set = net_join_poll(s->join, now))) {
		if (set->msg->status == REASM_COMPLETE && s->hd.acct && s->hd.link && s->hd.state == SRVBASE_BOUND &&
		    !s->sv->base.stopping) {
			join_submit(s, set);
			continue;
		}
		log_info("ucp_server_join_incomplete",
		         "conn=%s sess=%" PRIu64 " account=%s ref=%u parts=%u received=%u ec=%02u", server_cname(s->sv),
		         s->hd.id, s->hd.acct ? s->hd.acct->name : "-", set->msg->ref, set->msg->total,
		         set->msg->received, UCP_EC_NOT_ALLOWED);
		join_refuse(s, set, UCP_EC_NOT_ALLOWED);
	}
}

void server_submit_join_end(struct sess *s)
{
	if (!s->join)
		return;
	net_join_flush(s->join);
	server_submit_join_poll(s); /* NACKed while the link is there */
}

/* Holds one part of a multipart submit (its throughput token and inbound
 * slot taken).  Returns 0 (held) or the EC to answer. */
static unsigned join_hold(struct sess *s, const struct ucp_frame *f, const struct ucp_sm_in *in, const struct udh *u,
                          struct errbuf *err)
{
	struct server *sv = s->sv;
	struct jmeta *m = xcalloc(1, sizeof *m);
	m->sub = xcalloc(1, sizeof *m->sub);
	unsigned ec = submission_head(f, m->sub, m->adc, sizeof m->adc, err);
	if (ec) {
		jmeta_free(m);
		return ec;
	}
	m->sub->msg_class = in->msg_class;
	m->kind = (int)in->kind;
	m->hl = in->udh_len;
	memcpy(m->udh, in->udh, in->udh_len);
	size_t oadc_i = f->ot == 1 ? UCP01_OAdC : f->ot == 30 ? UCP30_OAdC : UCP5X_OAdC;
	char oadc[40];
	if (ucp_frame_get(f, oadc_i, oadc, sizeof oadc) < 0)
		oadc[0] = '\0';
	if (!s->join)
		s->join = net_join_new((size_t)sv->conf->reassembly_max_parts,
		                       (uint64_t)sv->conf->reassembly_timeout_s * 1000, jmeta_free);
	int rc = net_join_add(s->join, m->adc, oadc, u->concat_ref, u->concat_total, u->concat_seq, f->trn, f->ot,
	                      in->data, in->len, m, now_mono_ms());
	if (rc) {
		jmeta_free(m);
		if (rc == -ENOBUFS)
			return errbuf_set(err, "%lld parts held (reassembly_max_parts)",
			                  sv->conf->reassembly_max_parts),
			       UCP_EC_NOT_ALLOWED;
		return errbuf_set(err, "part refused by reassembly (%s)", rc == -EMSGSIZE ? "too long" : "invalid"),
		       rc == -EMSGSIZE ? UCP_EC_TOO_LONG : UCP_EC_SYNTAX;
	}
	return 0;
}

void server_submit_op(struct sess *s, const struct ucp_frame *f)
{
	struct server *sv = s->sv;
	struct errbuf err = {""};
	if (s->hd.state != SRVBASE_BOUND) {
		server_answer(s, f->trn, f->ot, UCP_EC_AUTH, NULL);
		return;
	}
	if (sv->base.stopping || core_account_take(sv->c, s->hd.acct->name, s->hd.acct->throughput, 1) ||
	    !link_inbound_begin(s->hd.link)) {
		server_answer(s, f->trn, f->ot, UCP_EC_NOT_ALLOWED, NULL);
		return;
	}
	struct ucp_sm_in *in = &sv->sm_in; /* the loop's scratch: no allocation per submit */
	unsigned ec = ucp_sm_read(f, in, &err);
	struct udh u = {0};
	struct errbuf uerr;
	if (!ec && in->udh_len && udh_parse(in->udh, in->udh_len, &u, &uerr) == 0 && u.has_concat &&
	    u.concat_total >= 2) {
		ec = join_hold(s, f, in, &u, &err);
		if (!ec) {
			server_submit_join_poll(s);
			return;
		}
	}
	struct submission *sub = NULL;
	char adc[40];
	if (!ec) {
		sub = xcalloc(1, sizeof *sub);
		ec = submission_head(f, sub, adc, sizeof adc, &err);
	}
	if (ec) {
		log_info("ucp_server_submit_refused",
		         "conn=%s sess=%" PRIu64 " account=%s trn=%02u ec=%02u reason=\"%s\"", server_cname(sv),
		         s->hd.id, s->hd.acct->name, f->trn, ec, err.msg);
		if (sub)
			submission_free(sub);
		link_inbound_end(s->hd.link);
		server_answer(s, f->trn, f->ot, ec, NULL);
		return;
	}
	sub->account = xstrdup(s->hd.acct->name);
	submission_body(sub, (int)in->kind, in->data, in->len, in->udh, in->udh_len);
	sub->msg_class = in->msg_class;
	core_submit(sv->c, sub, server_pend_add(sv, s, f->trn, f->ot, adc, NULL));
}

void server_submit_submitted(struct conn *c, uint64_t token, const struct submit_result *res)
{
	struct server *sv = conn_driver_data(c);
	struct pend *p = server_pend_take(sv, token);
	if (!p)
		return;
	struct sess *s = p->s;
	char q[300];
	int64_t message_id = res->message_id;
	unsigned ec = ucp_nack_of_submit(res);
	if (ec)
		log_info("ucp_server_submit_refused",
		         "conn=%s sess=%" PRIu64 " trn=%02u ec=%02u field=%s parts=%zu text=%s", server_cname(sv),
		         s->hd.id, p->trn, ec, submit_field_column(res->field), p->set ? p->set->n : 1,
		         log_quote(res->text ? res->text : "", q, sizeof q));
	if (p->set) {
		/* A joined submit: every part answered now that it is committed,
		 * each with its own SCTS (its op 53 carries the same). */
		if (ec) {
			join_refuse(s, p->set, ec);
		} else {
			for (size_t i = 0; i < p->set->n; i++) {
				const struct net_join_held *h = p->set->parts[i];
				char sm[64], scts[13];
				ucp_data_scts_id(message_id, h->part, scts);
				snprintf(sm, sizeof sm, "%.40s:%s", p->adc, scts);
				if (s->hd.link) {
					link_inbound_end(s->hd.link);
					server_answer(s, h->pdu_seq, h->cmd, 0, sm);
				}
			}
			log_debug("ucp_server_submitted", "conn=%s sess=%" PRIu64 " id=%" PRId64 " parts=%zu",
			          server_cname(sv), s->hd.id, message_id, p->set->n);
			net_join_set_free(s->join, p->set);
		}
	} else if (s->hd.link) {
		link_inbound_end(s->hd.link);
		if (ec) {
			server_answer(s, p->trn, p->ot, ec, NULL);
		} else {
			char sm[64], scts[13];
			ucp_data_scts_id(message_id, 0, scts);
			snprintf(sm, sizeof sm, "%.40s:%s", p->adc, scts);
			log_debug("ucp_server_submitted", "conn=%s sess=%" PRIu64 " trn=%02u id=%" PRId64 " sm=%s",
			          server_cname(sv), s->hd.id, p->trn, message_id, sm);
			server_answer(s, p->trn, p->ot, 0, sm);
		}
	}
	free(p);
	server_sess_reap(s);
	if (sv->base.stopping)
		server_stop_progress(sv);
}
