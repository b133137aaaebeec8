/*
 * smpp client, submitting: a message lent by submit() is split and encoded
 * into its submit_sm PDUs (UDH, SAR or one message_payload, per long_mode),
 * tracked by src/net/submits.c until every PDU is answered; a throttling
 * answer pauses submitting for throttle_pause_ms (messages held meanwhile).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "codec/gsm7.h"
#include "codec/reasm.h"
#include "codec/sms.h"
#include "codec/udh.h"
#include "log.h"
#include "msg_sms.h"
#include "net/clibase_gate.h"
#include "smpp/client.h"
#include "smpp/conf.h"
#include "smpp/receipt.h"
#include "smpp/status.h"
#include "smpp/wire.h"
#include "util.h"

void smpp_client_submit_classify(uint32_t status, struct submits_class *k)
{
	enum smpp_status_class cls = smpp_status_classify(status);
	k->outcome = cls == SMPP_STATUS_PERMANENT   ? MSG_REJECTED
	             : cls == SMPP_STATUS_THROTTLED ? MSG_RELEASE
	                                            : MSG_TEMPORARY;
	snprintf(k->code, sizeof k->code, "0x%08X", status);
	k->name = smpp_status_text(status);
}

bool smpp_client_submit_is_part(const void *data)
{
	return data && data != REQ_BIND && data != REQ_UNBIND && data != LINK_KEEPALIVE;
}

/* Records one part's answer and completes the message after its last one.
 * status 0 with id: accepted; local: a local failure text. */
void smpp_client_submit_answer(struct client *cl, struct submits_part *p, uint32_t status, const char *id,
                               const char *local)
{
	submits_answer(&cl->subs, p, id, status, local);
}

static struct session *tx_session(struct client *cl)
{
	return &cl->sess[0]; /* trx, or tx when binds are split */
}

static void validity_text(int64_t until_s, char *out, size_t cap)
{
	time_t t = (time_t)until_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	char d[16];
	strftime(d, sizeof d, "%y%m%d%H%M%S", &tm);
	snprintf(out, cap, "%s000+", d); /* absolute, UTC */
}

/* The text octets of a part in the chosen data_coding (no UDH). */
static int part_text(const struct smpp_conf *conf, const struct sms_split *sp, const struct sms_part *pt, int dc8,
                     uint8_t *out, size_t cap)
{
	if (sp->encoding == SMS_ENC_GSM7 && dc8)
		return gsm7_to_8bit(pt->payload, pt->payload_len, dc8 == 3, out, cap);
	if (sp->encoding == SMS_ENC_GSM7 && conf->gsm_packed) {
		size_t n;
		if (gsm7_pack(pt->payload, pt->payload_len, 0, false, out, cap, &n))
			return -1;
		return (int)n;
	}
	if (pt->payload_len > cap)
		return -1;
	memcpy(out, pt->payload, pt->payload_len);
	return (int)pt->payload_len;
}

/* Splits m and encodes its submit_sm PDUs into buf, but for the parts an
 * earlier attempt got accepted (their ids in (*held)[i], the others NULL).
 * Returns the number of PDUs (seqs[] filled for the parts sent), or -1 with
 * err set. */
static int build_submits(struct client *cl, struct session *s, struct msg *m, struct evbuffer *buf, uint32_t **seqs,
                         char ***held, struct errbuf *err)
{
	const struct smpp_conf *conf = cl->conf;
	struct sms_split sp = {0};
	uint8_t *big = NULL;
	int rc = -1, npdu = 0;
	/* A stored message's reference follows from its id, so that a part
	 * sent again (the others held, see submits_held) joins the parts the
	 * handset got from the earlier attempt. */
	unsigned concat_ref = (m->id > 0 ? (unsigned)m->id : cl->concat_ref++) & 0xFF;
	if (msg_sms_split(m, smpp_conf_langs(conf), concat_ref, &sp, err) < 0)
		goto out;

	/* data_coding */
	int mclass = m->flash ? 0 : m->msg_class;
	int dc8 = 0; /* 1 or 3 when GSM texts go as 8-bit characters */
	uint8_t dc;
	if (sp.encoding == SMS_ENC_UCS2)
		dc = mclass >= 0 ? (uint8_t)(0x18 | mclass) : 0x08;
	else if (sp.encoding == SMS_ENC_BINARY)
		dc = mclass >= 0 ? (uint8_t)(0xF4 | mclass) : 0x04;
	else if (mclass >= 0)
		dc = (uint8_t)(0xF0 | mclass);
	else {
		dc = (uint8_t)conf->default_data_coding;
		if (sp.lock_lang || sp.shift_lang)
			dc = 0; /* national tables exist only in GSM 7-bit */
		if (dc != 0) {
			uint8_t tmp[SMS_SEPTETS_MAX];
			dc8 = dc;
			for (unsigned i = 0; i < sp.n_parts && dc8; i++)
				if (gsm7_to_8bit(sp.parts[i].payload, sp.parts[i].payload_len, dc8 == 3, tmp,
				                 sizeof tmp) < 0)
					dc8 = 0;
			if (!dc8)
				dc = 0; /* a character without an IA5/Latin-1 octet: GSM after all */
		}
	}

	enum smpp_long_mode mode = smpp_conf_long_mode(conf);
	if (sp.n_parts == 1 || sp.encoding == SMS_ENC_BINARY || sp.lock_lang || sp.shift_lang)
		mode = SMPP_LONG_UDH; /* the caller's UDH, or shift IEs, travel in every part */
	npdu = mode == SMPP_LONG_PAYLOAD ? 1 : (int)sp.n_parts;
	*seqs = xcalloc((size_t)npdu, sizeof **seqs);
	*held = xcalloc((size_t)npdu, sizeof **held);
	if (npdu > 1 && submits_held(m, conn_name(cl->c), npdu, *held))
		log_info("smpp_parts_held", "conn=%s id=%" PRId64 " parts=%d", smpp_client_cname(cl), m->id, npdu);

	char validity[20] = "";
	if (m->valid_until_s > 0)
		validity_text(m->valid_until_s, validity, sizeof validity);
	bool report = m->want_report && conf->request_reports;
	size_t big_cap = (size_t)sp.n_parts * SMS_SEPTETS_MAX + 1;
	if (mode == SMPP_LONG_PAYLOAD)
		big = xmalloc(big_cap);

	for (int i = 0; i < npdu; i++) {
		struct smpp_pdu *p = &cl->out;
		const struct sms_part *pt = &sp.parts[i];
		uint32_t seq;
		if ((*held)[i])
			continue; /* accepted by an earlier attempt: not sent again */
		if (link_next_seq(s->link, &seq)) {
			errbuf_set(err, "no free sequence number");
			goto out;
		}
		smpp_wire_pdu_reset(p, SMPP_SUBMIT_SM, seq);
		uint8_t ton, npi;
		smpp_conf_address(m->sender ? m->sender : "", conf->source_ton, conf->source_npi, p->source_addr,
		                  sizeof p->source_addr, &ton, &npi);
		p->source_addr_ton = m->sender ? ton : 0;
		p->source_addr_npi = m->sender ? npi : 0;
		smpp_conf_address(m->recipient, conf->dest_ton, conf->dest_npi, p->destination_addr,
		                  sizeof p->destination_addr, &ton, &npi);
		if (strlen(p->destination_addr) > 20 || strlen(p->source_addr) > 20) {
			errbuf_set(err, "an address is longer than SMPP's 20 characters");
			goto out;
		}
		p->dest_addr_ton = ton;
		p->dest_addr_npi = npi;
		p->registered_delivery = report ? 1 : 0;
		p->data_coding = dc;
		snprintf(p->validity_period, sizeof p->validity_period, "%s", validity);
		uint8_t ref[2] = {0, (uint8_t)concat_ref}, total = (uint8_t)sp.n_parts, segno = (uint8_t)(i + 1);
		int n;
		switch (mode) {
		case SMPP_LONG_UDH:
			if (sp.encoding == SMS_ENC_GSM7 && conf->gsm_packed && !dc8) {
				/* TP-UD as on the air: UDH, fill bits, packed septets */
				memcpy(p->short_message, pt->ud, pt->ud_len);
				n = (int)pt->ud_len;
			} else {
				memcpy(p->short_message, pt->udh, pt->udh_len);
				n = part_text(conf, &sp, pt, dc8, p->short_message + pt->udh_len,
				              sizeof p->short_message - pt->udh_len);
				if (n >= 0)
					n += (int)pt->udh_len;
			}
			if (pt->udh_len)
				p->esm_class |= 0x40;
			break;
		case SMPP_LONG_SAR:
			n = part_text(conf, &sp, pt, dc8, p->short_message, sizeof p->short_message);
			if (smpp_pdu_add_tlv(p, SMPP_TLV_SAR_MSG_REF_NUM, ref, 2) ||
			    smpp_pdu_add_tlv(p, SMPP_TLV_SAR_TOTAL_SEGMENTS, &total, 1) ||
			    smpp_pdu_add_tlv(p, SMPP_TLV_SAR_SEGMENT_SEQNUM, &segno, 1))
				n = -1;
			break;
		case SMPP_LONG_PAYLOAD: {
			/* The whole text in one PDU: the parts' texts joined. */
			size_t bl = 0;
			uint8_t *septets = xmalloc(big_cap);
			for (unsigned j = 0; j < sp.n_parts; j++) {
				memcpy(septets + bl, sp.parts[j].payload, sp.parts[j].payload_len);
				bl += sp.parts[j].payload_len;
			}
			if (sp.encoding == SMS_ENC_GSM7 && dc8) {
				n = gsm7_to_8bit(septets, bl, dc8 == 3, big, big_cap);
			} else if (sp.encoding == SMS_ENC_GSM7 && conf->gsm_packed) {
				size_t pl;
				n = gsm7_pack(septets, bl, 0, false, big, big_cap, &pl) ? -1 : (int)pl;
			} else {
				memcpy(big, septets, bl);
				n = (int)bl;
			}
			free(septets);
			if (n >= 0 && smpp_pdu_add_tlv(p, SMPP_TLV_MESSAGE_PAYLOAD, big, (uint16_t)n))
				n = -1;
			n = n >= 0 ? 0 : -1;
			break;
		}
		default:
			abort();
		}
		if (n < 0 || n > SMPP_PDU_SM_MAX) {
			errbuf_set(err, "part %d does not fit a submit_sm", i + 1);
			goto out;
		}
		p->sm_length = (uint8_t)n;
		size_t olen;
		if (smpp_pdu_encode(p, cl->obuf, sizeof cl->obuf, &olen, err))
			goto out;
		evbuffer_add(buf, cl->obuf, olen);
		(*seqs)[i] = seq;
	}
	rc = npdu;
out:
	free(sp.parts);
	free(big);
	if (rc < 0) {
		free(*seqs);
		*seqs = NULL;
		for (int i = 0; *held && i < npdu; i++)
			free((*held)[i]);
		free(*held);
		*held = NULL;
	}
	return rc;
}

static void submit_now(struct client *cl, struct msg *m)
{
	struct session *s = tx_session(cl);
	struct errbuf err = {""};
	struct evbuffer *buf = evbuffer_new();
	uint32_t *seqs = NULL;
	char **held = NULL;
	int n = build_submits(cl, s, m, buf, &seqs, &held, &err);
	if (n < 0) {
		evbuffer_free(buf);
		log_info("smpp_submit_refused", "conn=%s id=%" PRId64 " error=\"%s\"", smpp_client_cname(cl), m->id,
		         err.msg);
		msg_set_failed(m, MSG_FAILED, "encoding", err.msg);
		core_complete(cl->c, m);
		return;
	}
	struct submits_msg *sub = submits_msg_new(m, n);
	struct submits_part **ps = xcalloc((size_t)n, sizeof *ps);
	for (int i = 0; i < n; i++) {
		if (held[i]) { /* answered already, by an earlier attempt */
			sub->ids[i] = held[i];
			sub->answered++;
			continue;
		}
		ps[i] = submits_part_new(&cl->subs, sub, i);
		ps[i]->sess = s;
		ps[i]->seq = seqs[i];
	}
	free(held);
	size_t len = evbuffer_get_length(buf);
	int sent = link_send(s->link, evbuffer_pullup(buf, -1), len);
	evbuffer_free(buf);
	/* Registered after the write: answering one (on a failure) may
	 * complete the message, after which nothing of it may be touched. */
	for (int i = 0; i < n; i++)
		if (ps[i] && (sent || link_request_add(s->link, ps[i]->seq, ps[i], 0, true)))
			smpp_client_submit_answer(cl, ps[i], 0, NULL, "cannot send");
	free(seqs);
	free(ps);
}

static void arm_resume(struct client *cl)
{
	uint64_t now = now_mono_ms();
	uint64_t ms = cl->pause_until_ms > now ? cl->pause_until_ms - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(cl->resume_ev, &tv);
}

void smpp_client_submit_resume(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	if (now_mono_ms() < cl->pause_until_ms) {
		arm_resume(cl);
		return;
	}
	struct msg *m;
	while (clibase_is_up(&cl->base) && !cl->base.stopping && now_mono_ms() >= cl->pause_until_ms &&
	       (m = msg_list_pop(&cl->held)))
		submit_now(cl, m);
	if (cl->held.len)
		arm_resume(cl);
}

void smpp_client_submit(struct conn *c, struct msg *m)
{
	struct client *cl = conn_driver_data(c);
	switch (clibase_gate_submit(&cl->base, m, &cl->held, cl->pause_until_ms)) {
	case CLIBASE_GATE_SEND:
		submit_now(cl, m);
		break;
	case CLIBASE_GATE_HELD:
		arm_resume(cl);
		break;
	case CLIBASE_GATE_RELEASED:
		break;
	}
}

void smpp_client_submit_resp(struct session *s, const struct smpp_pdu *p)
{
	struct client *cl = s->cl;
	void *data = link_request_find(s->link, p->sequence_number);
	struct submits_part *pt =
	    smpp_client_submit_is_part(data) ? link_request_take(s->link, p->sequence_number) : NULL;
	if (!pt) {
		log_debug("smpp_unknown_resp", "conn=%s seq=%u status=0x%08X", smpp_client_cname(cl),
		          p->sequence_number, p->command_status);
		return;
	}
	if (p->command_status == 0) {
		const char *id = p->body_absent ? "" : p->message_id;
		smpp_client_inbound_remember_id(cl, id);
		smpp_client_submit_answer(cl, pt, 0, id, NULL);
	} else {
		if (smpp_status_classify(p->command_status) == SMPP_STATUS_THROTTLED) {
			cl->pause_until_ms = now_mono_ms() + (uint64_t)cl->conf->throttle_pause_ms;
			log_info("smpp_throttled", "conn=%s pause_ms=%lld", smpp_client_cname(cl),
			         cl->conf->throttle_pause_ms);
		}
		log_debug("smpp_submit_error", "conn=%s seq=%u status=%s", smpp_client_cname(cl), p->sequence_number,
		          smpp_status_text(p->command_status));
		smpp_client_submit_answer(cl, pt, p->command_status, NULL, NULL);
	}
}
