/*
 * ucp server, what a client asks: the login (op 60, checked by the core
 * against smspool.accounts) and submits (op 51, 01, 30), which become
 * outbox rows of the account and are answered after commit with
 * SM = AdC:SCTS, the SCTS being UCP_UCP_SCTS_EPOCH + the message id: unique per
 * message and computable again for its op 53 without storing anything.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy.h"
#include "ucp/data.h"
#include "ucp/nack.h"
#include "ucp/server.h"
#include "util.h"

void server_submit_login(struct sess *s, const struct ucp_frame *f)
{
	struct server *sv = s->sv;
	if (s->state != SS_OPEN) {
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
	snprintf(s->login, sizeof s->login, "%.23s", oadc);
	if (sv->base.stopping) {
		server_answer(s, f->trn, 60, UCP_EC_NOT_ALLOWED, NULL);
		return;
	}
	server_sess_set(s, SS_LOGIN, "op 60");
	core_authenticate(sv->c, oadc, pwd, s->hd.ip, server_pend_add(sv, s, f->trn, 60, NULL));
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
	link_pause(s->link, true); /* what follows waits for the decision */
	server_sess_set(s, SS_LOGIN, "operation before op 60: login by address");
	core_authenticate(sv->c, "", NULL, s->hd.ip, server_pend_add(sv, s, f->trn, f->ot, NULL));
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
	if (s->state != SS_LOGIN) {
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
		         server_cname(sv), s->hd.id, s->hd.peer, s->login, ec, log_quote(why, q, sizeof q));
		server_answer(s, trn, ot, ec, NULL); /* the op 60, or the operation held */
		server_sess_set(s, SS_OPEN, "login refused");
		link_close_flush(s->link, "login refused");
		return;
	}
	s->acct = a;
	if (!s->by_addr)
		server_answer(s, trn, 60, 0, NULL);
	server_sess_set(s, SS_BOUND, "authenticated");
	log_info("ucp_server_logged_in", "conn=%s sess=%" PRIu64 " peer=%s account=%s tls=%s by=%s", server_cname(sv),
	         s->hd.id, s->hd.peer, a->name, link_is_tls(s->link) ? "yes" : "no", s->by_addr ? "address" : "op60");
	if (s->by_addr) {
		snprintf(s->login, sizeof s->login, "%.23s", a->name);
		server_replay_held(s);
	}
	if (sv->base.stopping)
		server_stop_progress(sv);
}

void server_submit_op(struct sess *s, const struct ucp_frame *f)
{
	struct server *sv = s->sv;
	struct errbuf err = {""};
	if (s->state != SS_BOUND) {
		server_answer(s, f->trn, f->ot, UCP_EC_AUTH, NULL);
		return;
	}
	if (sv->base.stopping || core_account_take(sv->c, s->acct->name, s->acct->throughput, 1) ||
	    !link_inbound_begin(s->link)) {
		server_answer(s, f->trn, f->ot, UCP_EC_NOT_ALLOWED, NULL);
		return;
	}
	struct ucp_sm_in *in = &sv->sm_in; /* the loop's scratch: no allocation per submit */
	unsigned ec = ucp_sm_read(f, in, &err);
	size_t adc_i = f->ot == 1 ? UCP01_AdC : f->ot == 30 ? UCP30_AdC : UCP5X_AdC;
	size_t oadc_i = f->ot == 1 ? UCP01_OAdC : f->ot == 30 ? UCP30_OAdC : UCP5X_OAdC;
	if (!ec && f->f[adc_i].len == 0)
		ec = UCP_EC_ADC_INVALID, errbuf_set(&err, "AdC is empty");
	int64_t send_after = 0;
	if (!ec && ucp_sm_deferred(f, &send_after) < 0)
		ec = UCP_EC_SYNTAX, errbuf_set(&err, "DD/DDT malformed (DD 1 with DDT DDMMYYhhmm)");
	if (ec) {
		log_info("ucp_server_submit_refused",
		         "conn=%s sess=%" PRIu64 " account=%s trn=%02u ec=%02u reason=\"%s\"", server_cname(sv),
		         s->hd.id, s->acct->name, f->trn, ec, err.msg);
		link_inbound_end(s->link);
		server_answer(s, f->trn, f->ot, ec, NULL);
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
	sub->send_after_s = send_after; /* DD/DDT: deferred delivery */
	char adc[40];
	if (ucp_frame_get(f, adc_i, adc, sizeof adc) < 0)
		adc[0] = '\0';
	core_submit(sv->c, sub, server_pend_add(sv, s, f->trn, f->ot, adc));
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

void server_submit_submitted(struct conn *c, uint64_t token, int64_t message_id, enum submit_error error,
                             const char *text)
{
	struct server *sv = conn_driver_data(c);
	struct pend *p = server_pend_take(sv, token);
	if (!p)
		return;
	struct sess *s = p->s;
	if (s->link)
		link_inbound_end(s->link);
	char q[300];
	if (error != SUBMIT_OK || message_id <= 0) {
		unsigned ec = error == SUBMIT_OK ? UCP_EC_NOT_ALLOWED : submit_ec(error, text);
		log_info("ucp_server_submit_refused", "conn=%s sess=%" PRIu64 " trn=%02u ec=%02u text=%s",
		         server_cname(sv), s->hd.id, p->trn, ec, log_quote(text ? text : "", q, sizeof q));
		if (s->link)
			server_answer(s, p->trn, p->ot, ec, NULL);
	} else if (s->link) {
		char sm[64], scts[13];
		ucp_data_scts_format(UCP_SCTS_EPOCH + message_id, scts);
		snprintf(sm, sizeof sm, "%.40s:%s", p->adc, scts);
		log_debug("ucp_server_submitted", "conn=%s sess=%" PRIu64 " trn=%02u id=%" PRId64 " sm=%s",
		          server_cname(sv), s->hd.id, p->trn, message_id, sm);
		server_answer(s, p->trn, p->ot, 0, sm);
	}
	free(p);
	server_sess_reap(s);
	if (sv->base.stopping)
		server_stop_progress(sv);
}
