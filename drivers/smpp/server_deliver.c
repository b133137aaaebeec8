/*
 * smpp server, deliveries: the account events the core hands to deliver()
 * (inbound texts, receipts of the account's messages) go out as deliver_sm
 * on a bound receiver or transceiver session with room (net/accounts.c
 * picks it), each PDU in the link's request table until its
 * deliver_sm_resp; the event is done once every PDU is answered.
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
#include "policy.h"
#include "smpp/conf.h"
#include "smpp/server.h"
#include "smpp/status.h"
#include "smpp/wire.h"
#include "util.h"

bool smpp_server_deliver_is_part(const void *data)
{
	return data && data != SERVER_REQ_UNBIND && data != LINK_KEEPALIVE;
}

/* The deliver_sm of session s with this sequence number, taken from the
 * table; NULL if none. */
struct accounts_part *smpp_server_deliver_take(struct sess *s, uint32_t seq)
{
	return smpp_server_deliver_is_part(link_request_find(s->hd.link, seq)) ? link_request_take(s->hd.link, seq)
	                                                                       : NULL;
}

/* One deliver_sm answered (ok) or given up. */
void smpp_server_deliver_answer(struct server *sv, struct accounts_part *p, bool ok)
{
	struct accounts_acct *a = ((struct sess *)p->sess)->hd.acct;
	accounts_part_answer(&sv->accts, p, ok);
	if (a)
		accounts_drain(&sv->accts, a); /* the window has room again */
}

/* Sets the addresses of a deliver_sm.  Returns 0 or -1 (too long). */
static int deliver_addresses(struct smpp_pdu *p, const char *src, const char *dst)
{
	uint8_t ton, npi;
	smpp_conf_address(src ? src : "", -1, -1, p->source_addr, sizeof p->source_addr, &ton, &npi);
	p->source_addr_ton = src && *src ? ton : 0;
	p->source_addr_npi = src && *src ? npi : 0;
	smpp_conf_address(dst ? dst : "", -1, -1, p->destination_addr, sizeof p->destination_addr, &ton, &npi);
	p->dest_addr_ton = dst && *dst ? ton : 0;
	p->dest_addr_npi = dst && *dst ? npi : 0;
	return strlen(p->source_addr) > 20 || strlen(p->destination_addr) > 20 ? -1 : 0;
}

/* Encodes the receipt deliver_sm of a REPORT event into buf, with the id
 * "<message id>-<part>" when part > 0.  Returns 0 (*seqp set) or -1. */
static int build_receipt(struct server *sv, struct sess *s, const struct account_event *ev, int part,
                         struct evbuffer *buf, uint32_t *seqp, struct errbuf *err)
{
	struct smpp_pdu *p = &sv->out;
	size_t olen;
	char text[200], id[40];
	if (part > 0)
		snprintf(id, sizeof id, "%lld-%d", (long long)ev->message_id, part);
	else
		snprintf(id, sizeof id, "%lld", (long long)ev->message_id);
	int n = smpp_server_receipt_text_id(ev, id, text, sizeof text);
	if (n < 0 || n > SMPP_PDU_SM_MAX)
		return errbuf_set(err, "receipt text does not fit");
	uint32_t seq;
	if (link_next_seq(s->hd.link, &seq))
		return errbuf_set(err, "no free sequence number");
	smpp_wire_pdu_reset(p, SMPP_DELIVER_SM, seq);
	/* The receipt comes from the handset (the original recipient)
	 * to the ESME's address (the original sender). */
	if (deliver_addresses(p, ev->recipient, ev->sender))
		return errbuf_set(err, "an address is longer than SMPP's 20 characters");
	p->esm_class = 0x04;
	p->data_coding = 0;
	memcpy(p->short_message, text, (size_t)n);
	p->sm_length = (uint8_t)n;
	uint8_t state = smpp_server_message_state(ev->state);
	uint8_t nec[3] = {3, 0, 0}; /* GSM */
	const char *e = ev->error_code;
	bool dec = e && *e && strlen(e) <= 5;
	for (const char *q = e; dec && *q; q++)
		dec = *q >= '0' && *q <= '9';
	if (dec && atoi(e) <= 0xFFFF) {
		nec[1] = (uint8_t)(atoi(e) >> 8);
		nec[2] = (uint8_t)atoi(e);
	}
	if (s->version >= 0x34 && (smpp_pdu_add_tlv(p, SMPP_TLV_RECEIPTED_MESSAGE_ID, id, (uint16_t)(strlen(id) + 1)) ||
	                           smpp_pdu_add_tlv(p, SMPP_TLV_MESSAGE_STATE, &state, 1) ||
	                           (dec && smpp_pdu_add_tlv(p, SMPP_TLV_NETWORK_ERROR_CODE, nec, 3))))
		return errbuf_set(err, "too many TLVs");
	if (smpp_pdu_encode(p, sv->obuf, sizeof sv->obuf, &olen, err))
		return -1;
	evbuffer_add(buf, sv->obuf, olen);
	*seqp = seq;
	return 0;
}

/* Encodes the deliver_sm PDUs of ev for s into buf.  Returns their number
 * (seqs[] filled, new), or -1 with err set. */
static int build_delivers(struct server *sv, struct sess *s, const struct account_event *ev, struct evbuffer *buf,
                          uint32_t **seqs, struct errbuf *err)
{
	struct smpp_pdu *p = &sv->out;
	size_t olen;
	if (ev->kind == ACCOUNT_EVENT_REPORT) {
		/* A joined message: one receipt per part the client submitted,
		 * each with the id its submit_sm_resp gave. */
		unsigned nparts = smpp_join_receipts(ev->client_parts);
		*seqs = xcalloc(nparts, sizeof **seqs);
		for (unsigned k = 0; k < nparts; k++)
			if (build_receipt(sv, s, ev, nparts > 1 ? (int)k + 1 : 0, buf, &(*seqs)[k], err)) {
				free(*seqs);
				*seqs = NULL;
				return -1;
			}
		return (int)nparts;
	}

	/* An inbound text: GSM if it fits, else UCS-2; long ones in UDH parts. */
	struct sms_split_opts opts = {0};
	struct sms_split sp = {0};
	uint8_t bin[SMPP_PDU_SM_MAX * 2], udh[UDH_MAX_LEN + 1];
	const char *data;
	size_t len;
	int rc = -1;
	if (ev->payload) {
		int np = hex_decode(ev->payload, bin, sizeof bin);
		int nu = ev->udh ? hex_decode(ev->udh, udh, sizeof udh) : 0;
		if (np < 0 || nu < 0 || (nu > 0 && udh[0] != nu - 1))
			return errbuf_set(err, "payload or udh is not valid hex");
		if (nu > 0) {
			opts.extra_ies = udh + 1;
			opts.extra_ies_len = (size_t)nu - 1;
		}
		opts.encoding = SMS_ENC_BINARY;
		data = (const char *)bin;
		len = (size_t)np;
	} else {
		opts.encoding = SMS_ENC_AUTO;
		data = ev->body ? ev->body : "";
		len = strlen(data);
	}
	opts.concat_ref = sv->concat_ref++ & 0xFF;
	if (sms_count_parts(data, len, &opts, &sp, err))
		return -1;
	sp.parts = xcalloc(sp.n_parts, sizeof *sp.parts);
	sp.parts_cap = sp.n_parts;
	if (sms_split(data, len, &opts, &sp, err))
		goto out;
	uint8_t dc = sp.encoding == SMS_ENC_UCS2 ? 0x08 : sp.encoding == SMS_ENC_BINARY ? 0x04 : 0x00;
	*seqs = xcalloc(sp.n_parts, sizeof **seqs);
	for (unsigned i = 0; i < sp.n_parts; i++) {
		const struct sms_part *pt = &sp.parts[i];
		uint32_t seq;
		if (link_next_seq(s->hd.link, &seq)) {
			errbuf_set(err, "no free sequence number");
			goto out;
		}
		smpp_wire_pdu_reset(p, SMPP_DELIVER_SM, seq);
		if (deliver_addresses(p, ev->sender, ev->recipient)) {
			errbuf_set(err, "an address is longer than SMPP's 20 characters");
			goto out;
		}
		p->data_coding = dc;
		if (pt->udh_len + pt->payload_len > SMPP_PDU_SM_MAX) {
			errbuf_set(err, "part %u does not fit a deliver_sm", i + 1);
			goto out;
		}
		memcpy(p->short_message, pt->udh, pt->udh_len);
		memcpy(p->short_message + pt->udh_len, pt->payload, pt->payload_len);
		p->sm_length = (uint8_t)(pt->udh_len + pt->payload_len);
		if (pt->udh_len)
			p->esm_class = 0x40;
		if (smpp_pdu_encode(p, sv->obuf, sizeof sv->obuf, &olen, err))
			goto out;
		evbuffer_add(buf, sv->obuf, olen);
		(*seqs)[i] = seq;
	}
	rc = (int)sp.n_parts;
out:
	free(sp.parts);
	if (rc < 0) {
		free(*seqs);
		*seqs = NULL;
	}
	return rc;
}

/* Whether a session can take one more event now. */
static bool can_take(void *sess, void *arg)
{
	struct sess *s = sess;
	struct server *sv = arg;
	if (s->state != SS_BOUND || !s->hd.link || link_congested(s->hd.link) || s->close_reason)
		return false;
	int inflight = link_outstanding(s->hd.link);
	return inflight == 0 || inflight + 1 <= sv->conf->window;
}

void smpp_server_deliver(struct conn *c, struct account_event *ev)
{
	struct server *sv = conn_driver_data(c);
	accounts_deliver(&sv->accts, ev);
}

/* Sends the deliver_sm PDUs of ev on s (which has room for one more). */
static void deliver_to(struct accounts *as, void *sess, struct accounts_acct *a, struct account_event *ev, void *arg)
{
	struct server *sv = arg;
	struct sess *s = sess;
	struct errbuf err = {""};
	struct evbuffer *buf = evbuffer_new();
	uint32_t *seqs = NULL;
	int n = build_delivers(sv, s, ev, buf, &seqs, &err);
	if (n < 0) {
		evbuffer_free(buf);
		log_error("smpp_server_deliver_failed", "conn=%s account=%s event=%" PRId64 " error=\"%s\"",
		          smpp_server_cname(sv), a->name, ev->id, err.msg);
		accounts_refuse(as, ev);
		return;
	}
	log_debug("smpp_server_deliver", "conn=%s sess=%" PRIu64 " account=%s event=%" PRId64 " kind=%s pdus=%d",
	          smpp_server_cname(sv), s->hd.id, a->name, ev->id,
	          ev->kind == ACCOUNT_EVENT_REPORT ? "report" : "inbound", n);
	int sent = link_send(s->hd.link, evbuffer_pullup(buf, -1), evbuffer_get_length(buf));
	evbuffer_free(buf);
	struct accounts_part **ps = accounts_dlv_new(as, ev, s, n);
	for (int i = 0; i < n; i++)
		ps[i]->seq = seqs[i];
	/* A part that could not be sent or registered fails at once; the
	 * event is done after the last part (then d is freed). */
	for (int i = 0; i < n; i++)
		if (sent || link_request_add(s->hd.link, ps[i]->seq, ps[i], 0, true))
			smpp_server_deliver_answer(sv, ps[i], false);
	free(ps);
	free(seqs);
}

const struct accounts_ops smpp_server_deliver_ops = {
    .can_take = can_take,
    .deliver = deliver_to,
};

void smpp_server_deliver_drained(void *arg, uint32_t seq, void *data)
{
	struct sess *s = arg;
	(void)seq;
	if (smpp_server_deliver_is_part(data))
		smpp_server_deliver_answer(s->sv, data, false);
}

void smpp_server_deliver_resp(struct sess *s, const struct smpp_pdu *p)
{
	struct server *sv = s->sv;
	struct accounts_part *dp = smpp_server_deliver_take(s, p->sequence_number);
	if (!dp) {
		log_debug("smpp_server_unknown_resp", "conn=%s sess=%" PRIu64 " seq=%u status=0x%08X",
		          smpp_server_cname(sv), s->hd.id, p->sequence_number, p->command_status);
		return;
	}
	if (p->command_status)
		log_info("smpp_server_deliver_refused", "conn=%s sess=%" PRIu64 " event=%" PRId64 " status=%s",
		         smpp_server_cname(sv), s->hd.id, dp->d->ev->id, smpp_status_text(p->command_status));
	smpp_server_deliver_answer(sv, dp, p->command_status == 0);
}

void smpp_server_deliver_forget(void *arg, uint32_t seq, void *data)
{
	(void)seq;
	if (smpp_server_deliver_is_part(data))
		accounts_part_forget(arg, data);
}
