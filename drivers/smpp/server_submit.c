/*
 * smpp server, submits: a submit_sm or data_sm becomes a submission of the
 * bound account (throughput and the inbound limit taken first), answered
 * only from submitted(), after commit.  Concatenated parts are held (join.h)
 * until their set is complete, then ONE submission goes to the core and
 * every part is answered with "<outbox id>-<part>".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "codec/sms.h"
#include "codec/udh.h"
#include "log.h"
#include "msg_sms.h"
#include "policy.h"
#include "smpp/conf.h"
#include "smpp/server.h"
#include "smpp/status.h"
#include "smpp/wire.h"
#include "submit_refusal.h"
#include "util.h"

/* The user data of a submit_sm or data_sm: short_message or message_payload. */
static void pdu_data(const struct smpp_pdu *p, const uint8_t **d, size_t *n)
{
	*d = p->short_message;
	*n = p->command_id == SMPP_DATA_SM ? 0 : p->sm_length; /* a data_sm has only the TLV */
	if (p->known.has_message_payload && *n == 0) {
		*d = p->known.message_payload;
		*n = p->known.message_payload_len;
	}
}

/* Sets the body of sub from user data d/n after a UDH of hl octets (keep_udh:
 * the UDH to keep with binary data, NULL/0 for none). */
static void submission_body(struct sess *s, uint8_t dc, const uint8_t *udh, size_t hl, const uint8_t *d, size_t n,
                            const uint8_t *keep_udh, size_t keep_len, struct submission *sub)
{
	enum smpp_alphabet a = smpp_wire_alphabet_dc0(dc, s->sv->conf->data_coding_0);
	int lock = 0, shift = 0;
	smpp_wire_langs(udh, hl, &lock, &shift);
	char *enc = NULL;
	smpp_wire_text_lang(a, lock, shift, d, n, &sub->body, &sub->payload, &enc);
	if (sub->payload) {
		sub->encoding = xstrdup("binary");
		if (keep_len)
			sub->udh = msg_sms_hex(keep_udh, keep_len);
	} else {
		sub->encoding = xstrdup(strcmp(enc, "ucs2") == 0 ? "ucs2" : "auto");
	}
	free(enc);
}

/* Fills sub from a submit_sm or data_sm; with head_only, everything but the
 * text.  Returns 0 or the command_status to answer. */
static uint32_t submission_from_pdu(struct sess *s, const struct smpp_pdu *p, struct submission *sub, bool head_only)
{
	const uint8_t *d;
	size_t n;
	pdu_data(p, &d, &n);
	if (!p->destination_addr[0])
		return SMPP_ESME_RINVDSTADR;
	sub->recipient = smpp_wire_address_in(p->dest_addr_ton, p->destination_addr);
	sub->sender = p->source_addr[0] ? smpp_wire_address_in(p->source_addr_ton, p->source_addr) : NULL;
	int64_t now = now_wall_ms() / 1000;
	if (smpp_time_parse(p->schedule_delivery_time, now, &sub->send_after_s))
		return SMPP_ESME_RINVSCHED;
	if (smpp_time_parse(p->validity_period, now, &sub->valid_until_s))
		return SMPP_ESME_RINVEXPIRY;
	/* registered_delivery bits 0-1: 1 a receipt for every final state, 2 on
	 * failure only, 3 on success only (SMPP 5.0; reserved in 3.4). */
	sub->want_report = (p->registered_delivery & 0x03) != 0;
	sub->report_on = (p->registered_delivery & 0x03) == 2 ? 1 : (p->registered_delivery & 0x03) == 3 ? 2 : 0;
	sub->priority = p->priority_flag > 3 ? 9 : p->priority_flag * 3;
	uint8_t dc = p->data_coding;
	sub->msg_class = -1;
	if ((dc & 0xF0) == 0xF0 || ((dc & 0xC0) == 0 && (dc & 0x10)))
		sub->msg_class = dc & 0x03;
	if (p->known.has_user_message_reference) {
		char ref[16];
		snprintf(ref, sizeof ref, "%u", p->known.user_message_reference);
		sub->client_ref = xstrdup(ref);
	}
	/* A UDH: kept for binary data; dropped from a text.  (Concatenated
	 * parts do not come here: they are joined first.) */
	size_t hl = 0;
	if ((p->esm_class & 0x40) && n > 0) {
		struct udh u;
		struct errbuf err;
		if (udh_parse(d, n, &u, &err))
			return SMPP_ESME_RINVMSGLEN;
		hl = u.len;
	}
	if (!head_only)
		submission_body(s, dc, d, hl, d + hl, n - hl, d, hl, sub);
	return 0;
}

/* ---- concatenated submits (join.h) ---- */

/* What a held part keeps of its PDU: the submission without its text, and
 * what the joined text needs (data_coding, the UDH). */
struct jmeta {
	struct submission *sub;
	uint8_t dc;
	size_t hl;
	uint8_t udh[UDH_MAX_LEN + 1];
};

static void jmeta_free(void *arg)
{
	struct jmeta *m = arg;
	if (m->sub)
		submission_free(m->sub);
	free(m);
}

static void sess_respond_id(struct sess *s, uint32_t cmd, uint32_t seq, const char *id)
{
	struct smpp_pdu *r = &s->sv->out;
	smpp_wire_pdu_reset(r, cmd | SMPP_RESP_BIT, seq);
	snprintf(r->message_id, sizeof r->message_id, "%s", id);
	if (smpp_server_send(s, r))
		log_error("smpp_server_respond_failed", "conn=%s sess=%" PRIu64 " seq=%u", smpp_server_cname(s->sv),
		          s->hd.id, seq);
}

/* Answers every part of set with status (never ESME_ROK) and frees it. */
static void join_refuse(struct sess *s, struct smpp_join_set *set, uint32_t status)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct smpp_join_held *h = set->parts[i];
		if (s->hd.link) {
			link_inbound_end(s->hd.link);
			smpp_server_respond(s, h->cmd | SMPP_RESP_BIT, h->pdu_seq, status);
		}
	}
	smpp_join_set_free(s->join, set);
}

/* A complete set: one submission with the joined text, to the core. */
static void join_submit(struct sess *s, struct smpp_join_set *set)
{
	struct server *sv = s->sv;
	struct jmeta *m = set->parts[0]->meta; /* the lowest part number */
	struct submission *sub = m->sub;
	m->sub = NULL;
	uint8_t keep[UDH_MAX_LEN + 1];
	size_t keep_len = m->hl ? smpp_join_udh_strip(m->udh, m->hl, keep) : 0;
	submission_body(s, m->dc, m->udh, m->hl, set->msg->data, set->msg->len, keep, keep_len, sub);
	sub->client_parts = (int)set->msg->total; /* its receipt goes out once per part */
	sub->account = xstrdup(s->hd.acct->name);
	log_debug("smpp_server_joined", "conn=%s sess=%" PRIu64 " account=%s ref=%u parts=%u pdus=%zu",
	          smpp_server_cname(sv), s->hd.id, s->hd.acct->name, set->msg->ref, set->msg->total, set->n);
	uint64_t token = smpp_server_pend_add(sv, s, set->parts[0]->pdu_seq, set->parts[0]->cmd, set);
	core_submit(sv->c, sub, token);
}

/* Hands on what the session's holder finished: complete sets to the core,
 * the others answered ESME_RSUBMITFAIL. */
void smpp_server_submit_poll(struct sess *s)
{
	struct smpp_join_set *set;
	uint64_t now = now_mono_ms();
	while (s->join && (set = smpp_join_poll(s->join, now))) {
		if (set->msg->status == REASM_COMPLETE && s->hd.acct && s->hd.link && !s->sv->base.stopping) {
			join_submit(s, set);
			continue;
		}
		log_info("smpp_server_join_incomplete",
		         "conn=%s sess=%" PRIu64 " account=%s ref=%u parts=%u received=%u status=ESME_RSUBMITFAIL",
		         smpp_server_cname(s->sv), s->hd.id, s->hd.acct ? s->hd.acct->name : "-", set->msg->ref,
		         set->msg->total, set->msg->received);
		join_refuse(s, set, SMPP_ESME_RSUBMITFAIL);
	}
}

/* Holds one part of a concatenated submit (its throughput token and
 * inbound slot taken).  Returns 0 (held) or the status to answer. */
static uint32_t join_hold(struct sess *s, const struct smpp_pdu *p, const struct smpp_join_info *info)
{
	struct server *sv = s->sv;
	const uint8_t *d;
	size_t n;
	pdu_data(p, &d, &n);
	struct jmeta *m = xcalloc(1, sizeof *m);
	m->sub = xcalloc(1, sizeof *m->sub);
	uint32_t status = submission_from_pdu(s, p, m->sub, true);
	if (status) {
		jmeta_free(m);
		return status;
	}
	m->dc = p->data_coding;
	m->hl = info->udh_len;
	memcpy(m->udh, d, m->hl);
	if (!s->join)
		s->join = smpp_join_new((size_t)sv->conf->reassembly_max_parts,
		                        (uint64_t)sv->conf->reassembly_timeout_s * 1000, jmeta_free);
	int rc = smpp_join_add(s->join, p->destination_addr, p->source_addr, info, p->sequence_number, p->command_id,
	                       d + m->hl, n - m->hl, m, now_mono_ms());
	if (rc) {
		jmeta_free(m);
		return rc == -ENOBUFS ? SMPP_ESME_RMSGQFUL : SMPP_ESME_RINVMSGLEN;
	}
	return 0;
}

void smpp_server_submit_pdu(struct sess *s, const struct smpp_pdu *p)
{
	struct server *sv = s->sv;
	uint32_t resp = p->command_id | SMPP_RESP_BIT;
	if (s->state == SS_UNBINDING || sv->base.stopping) {
		/* Going away: temporary, resend on the next bind (no fault). */
		smpp_server_respond(s, resp, p->sequence_number, SMPP_ESME_RX_T_APPN);
		return;
	}
	if (s->state != SS_BOUND || s->role == SESS_ROLE_RX) {
		smpp_server_respond(s, resp, p->sequence_number, SMPP_ESME_RINVBNDSTS);
		return;
	}
	if (core_account_take(sv->c, s->hd.acct->name, s->hd.acct->throughput, 1)) {
		log_debug("smpp_server_throttled", "conn=%s sess=%" PRIu64 " account=%s", smpp_server_cname(sv),
		          s->hd.id, s->hd.acct->name);
		smpp_server_respond(s, resp, p->sequence_number, SMPP_ESME_RTHROTTLED);
		return;
	}
	if (!link_inbound_begin(s->hd.link)) {
		/* The client pipelines more than max_pending while the database
		 * answers: refused here, so memory stays bounded. */
		log_debug("smpp_server_pending_full", "conn=%s sess=%" PRIu64 " account=%s", smpp_server_cname(sv),
		          s->hd.id, s->hd.acct->name);
		smpp_server_respond(s, resp, p->sequence_number, SMPP_ESME_RTHROTTLED);
		return;
	}
	const uint8_t *d;
	size_t n;
	struct smpp_join_info info;
	pdu_data(p, &d, &n);
	if (smpp_join_info(p, d, n, &info) == 0 && info.multi) {
		uint32_t st = join_hold(s, p, &info);
		if (st) {
			link_inbound_end(s->hd.link);
			log_info("smpp_server_submit_refused", "conn=%s sess=%" PRIu64 " account=%s seq=%u status=%s",
			         smpp_server_cname(sv), s->hd.id, s->hd.acct->name, p->sequence_number,
			         smpp_status_text(st));
			smpp_server_respond(s, resp, p->sequence_number, st);
			return;
		}
		smpp_server_submit_poll(s);
		return;
	}
	struct submission *sub = xcalloc(1, sizeof *sub);
	uint32_t status = submission_from_pdu(s, p, sub, false);
	if (status) {
		link_inbound_end(s->hd.link);
		log_info("smpp_server_submit_refused", "conn=%s sess=%" PRIu64 " account=%s seq=%u status=%s",
		         smpp_server_cname(sv), s->hd.id, s->hd.acct->name, p->sequence_number,
		         smpp_status_text(status));
		submission_free(sub);
		smpp_server_respond(s, resp, p->sequence_number, status);
		return;
	}
	sub->account = xstrdup(s->hd.acct->name);
	uint64_t token = smpp_server_pend_add(sv, s, p->sequence_number, p->command_id, NULL);
	core_submit(sv->c, sub, token);
}

void smpp_server_submit_submitted(struct conn *c, uint64_t token, const struct submit_result *res)
{
	struct server *sv = conn_driver_data(c);
	struct pend *p = smpp_server_pend_take(sv, token);
	if (!p)
		return;
	struct sess *s = p->s;
	uint32_t seq = p->seq, cmd = p->cmd;
	struct smpp_join_set *set = p->set;
	free(p);
	int64_t message_id = res->message_id;
	const char *text = res->text;
	uint32_t status = smpp_server_submit_status(res);
	if (set) {
		/* A joined submit: every part answered now that it is committed,
		 * each with its own id (the receipts use the same ones). */
		log_debug("smpp_server_submitted", "conn=%s sess=%" PRIu64 " id=%" PRId64 " parts=%zu status=%s",
		          smpp_server_cname(sv), s->hd.id, message_id, set->n,
		          status ? smpp_status_text(status) : "ESME_ROK");
		if (status)
			join_refuse(s, set, status);
		else {
			for (size_t i = 0; i < set->n; i++) {
				char id[40];
				snprintf(id, sizeof id, "%" PRId64 "-%u", message_id, set->parts[i]->part);
				if (s->hd.link) {
					link_inbound_end(s->hd.link);
					sess_respond_id(s, set->parts[i]->cmd, set->parts[i]->pdu_seq, id);
				}
			}
			smpp_join_set_free(s->join, set);
		}
		smpp_server_close_if_done(s);
		if (sv->base.stopping)
			smpp_server_stop_progress(sv);
		return;
	}
	char q[300];
	if (status)
		log_info("smpp_server_submit_refused",
		         "conn=%s sess=%" PRIu64 " account=%s seq=%u status=%s field=%s text=%s", smpp_server_cname(sv),
		         s->hd.id, s->hd.acct ? s->hd.acct->name : "-", seq, smpp_status_text(status),
		         submit_field_column(res->field), log_quote(text ? text : "", q, sizeof q));
	else
		log_debug("smpp_server_submitted", "conn=%s sess=%" PRIu64 " seq=%u id=%" PRId64, smpp_server_cname(sv),
		          s->hd.id, seq, message_id);
	if (s->hd.link)
		link_inbound_end(s->hd.link);
	if (!s->hd.link) {
		log_debug("smpp_server_answer_dropped", "conn=%s sess=%" PRIu64 " seq=%u reason=\"session gone\"",
		          smpp_server_cname(sv), s->hd.id, seq);
	} else if (status) {
		smpp_server_respond(s, cmd | SMPP_RESP_BIT, seq, status);
	} else {
		struct smpp_pdu *r = &sv->out;
		smpp_wire_pdu_reset(r, cmd | SMPP_RESP_BIT, seq);
		snprintf(r->message_id, sizeof r->message_id, "%" PRId64, message_id);
		if (smpp_server_send(s, r))
			log_error("smpp_server_respond_failed", "conn=%s sess=%" PRIu64 " seq=%u",
			          smpp_server_cname(sv), s->hd.id, seq);
	}
	smpp_server_close_if_done(s);
	if (sv->base.stopping)
		smpp_server_stop_progress(sv);
}
