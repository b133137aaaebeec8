/*
 * smpp client, inbound: deliver_sm / data_sm from the SMSC, a receipt (its
 * id matched to the form the submit_sm_resp gave) or a text (long ones
 * reassembled by src/net/inacks.c), handed to the core with a token and
 * answered only once acked() says the database committed it.
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
#include "hash.h"
#include "log.h"
#include "msg_sms.h"
#include "smpp/client.h"
#include "smpp/conf.h"
#include "smpp/receipt.h"
#include "smpp/status.h"
#include "smpp/wire.h"
#include "util.h"

/* ---- remote ids: receipts may write them differently ---- */

static bool id_known(struct client *cl, const char *id)
{
	return hash_get(cl->ids, id) != NULL;
}

void smpp_client_inbound_remember_id(struct client *cl, const char *id)
{
	if (!*id || strlen(id) > 64 || id_known(cl, id))
		return;
	char **slot = &cl->id_ring[cl->id_pos];
	if (*slot) { /* the oldest is forgotten */
		(void)hash_remove(cl->ids, *slot);
		free(*slot);
	}
	*slot = xstrdup(id);
	(void)hash_put(cl->ids, *slot, *slot);
	cl->id_pos = (cl->id_pos + 1) % ID_MEMORY;
	/* The style of hex ids, for receipts of ids this memory forgot. */
	for (const char *p = id; *p; p++)
		if ((*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')) {
			cl->id_lower = *p >= 'a';
			break;
		}
	cl->id_width = id[0] == '0' ? strlen(id) : 0;
}

static bool all_in(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

/* The id a receipt names, written as the submit_sm_resp wrote it: as is if
 * the SMSC gave that id recently, else decimal <-> hexadecimal if that form
 * was given, else the way that worked last time. */
static void receipt_id(struct client *cl, const char *id, char *out, size_t cap)
{
	snprintf(out, cap, "%s", id);
	/* A configured relation needs no ids seen first (a fresh process gets
	 * the receipts the SMSC kept while it was away before any response). */
	const char *mode = cl->conf->receipt_ids;
	if (strcmp(mode, "same") == 0)
		return;
	if (strncmp(mode, "dec2hex", 7) == 0) {
		if (all_in(id, "0123456789") && strlen(id) <= 19)
			snprintf(out, cap, strcmp(mode, "dec2hex_lower") == 0 ? "%llx" : "%llX",
			         strtoull(id, NULL, 10));
		return;
	}
	if (strcmp(mode, "hex2dec") == 0) {
		if (all_in(id, "0123456789abcdefABCDEF") && strlen(id) <= 16)
			snprintf(out, cap, "%llu", strtoull(id, NULL, 16));
		return;
	}
	if (id_known(cl, id)) {
		cl->id_map = ID_SAME;
		return;
	}
	char cand[4][40];
	int nc = 0;
	bool dec = all_in(id, "0123456789") && strlen(id) <= 19;
	bool hex = all_in(id, "0123456789abcdefABCDEF") && strlen(id) <= 16;
	if (dec) {
		unsigned long long v = strtoull(id, NULL, 10);
		snprintf(cand[nc++], sizeof cand[0], "%llX", v);
		snprintf(cand[nc++], sizeof cand[0], "%llx", v);
		if (cl->id_width > 0 && cl->id_width < 30) {
			snprintf(cand[nc++], sizeof cand[0], "%0*llX", (int)cl->id_width, v);
			snprintf(cand[nc++], sizeof cand[0], "%0*llx", (int)cl->id_width, v);
		}
		for (int i = 0; i < nc; i++)
			if (id_known(cl, cand[i])) {
				snprintf(out, cap, "%.39s", cand[i]);
				cl->id_map = ID_DEC2HEX;
				return;
			}
	}
	if (hex) {
		char d[40];
		snprintf(d, sizeof d, "%llu", strtoull(id, NULL, 16));
		if (id_known(cl, d)) {
			snprintf(out, cap, "%s", d);
			cl->id_map = ID_HEX2DEC;
			return;
		}
	}
	if (cl->id_map == ID_DEC2HEX && dec) {
		unsigned long long v = strtoull(id, NULL, 10);
		if (cl->id_width)
			snprintf(out, cap, cl->id_lower ? "%0*llx" : "%0*llX", (int)cl->id_width, v);
		else
			snprintf(out, cap, cl->id_lower ? "%llx" : "%llX", v);
	} else if (cl->id_map == ID_HEX2DEC && hex) {
		snprintf(out, cap, "%llu", strtoull(id, NULL, 16));
	}
}

/* ---- deliveries: the driver's side of src/net/inacks.c ---- */

static struct inacks_ref ref_of(struct session *s, const struct smpp_pdu *p)
{
	return (struct inacks_ref){s, s->cl->base.gen, p->sequence_number, p->command_id};
}

static bool ack_live(void *arg, const struct inacks_ref *r)
{
	struct client *cl = arg;
	const struct session *rs = r->sess;
	return clibase_may_answer(&cl->base, rs->link, r->gen);
}

static void ack_answer(void *arg, const struct inacks_ref *r, bool committed)
{
	struct client *cl = arg;
	struct smpp_pdu *p = &cl->out;
	smpp_wire_pdu_reset(p, r->op | SMPP_RESP_BIT, r->seq);
	/* Not stored (yet): the spec's "ESME receiver temporary application
	 * error", which SMSCs retry, not a system error. */
	p->command_status = committed ? SMPP_ESME_ROK : SMPP_ESME_RX_T_APPN;
	p->body_absent = !committed;
	if (smpp_client_send(r->sess, p))
		log_error("smpp_respond_failed", "conn=%s seq=%u", smpp_client_cname(cl), r->seq);
}

/* kind: data_coding and the national language tables as one number
 * (smpp_client_inbound_deliver). */
static void text_of(void *arg, unsigned kind, const uint8_t *d, size_t n, struct inbound *in)
{
	struct client *cl = arg;
	smpp_wire_text_lang(smpp_wire_alphabet_dc0((uint8_t)(kind & 0xFF), cl->conf->data_coding_0),
	                    (int)((kind >> 8) & 0xFF), (int)((kind >> 16) & 0xFF), d, n, &in->body, &in->payload,
	                    &in->encoding);
}

const struct inacks_ops smpp_client_inbound_ops = {
    .log_prefix = "smpp",
    .live = ack_live,
    .answer = ack_answer,
    .text = text_of,
};

/* ---- deliveries: contents ---- */

/* A receipt: reported with a token.  Returns false if p is no receipt. */
static bool on_receipt(struct session *s, const struct smpp_pdu *p, const uint8_t *d, size_t n)
{
	struct client *cl = s->cl;
	struct smpp_receipt rc;
	bool text_ok = smpp_receipt_parse((const char *)d, n, &rc) == 0;
	const char *raw_id = p->known.has_receipted_message_id && p->known.receipted_message_id[0]
	                         ? p->known.receipted_message_id
	                     : text_ok ? rc.id
	                               : NULL;
	if (!raw_id)
		return false;
	enum smpp_receipt_state st = SMPP_RECEIPT_UNKNOWN;
	bool accepted = false;
	if (p->known.has_message_state) {
		st = smpp_receipt_state_from_message_state(p->known.message_state);
		accepted = p->known.message_state == 6;
	} else if (text_ok && rc.has_stat) {
		st = rc.state;
		accepted = strncasecmp(rc.stat, "ACCEPT", 6) == 0;
	}
	struct report *r = xcalloc(1, sizeof *r);
	char id[80];
	receipt_id(cl, raw_id, id, sizeof id);
	r->remote_id = xstrdup(id);
	r->state = xstrdup(st == SMPP_RECEIPT_INTERMEDIATE ? (accepted ? "accepted" : "enroute")
	                                                   : smpp_receipt_state_name(st));
	if (text_ok && rc.has_err)
		r->error_code = xstrdup(rc.err);
	else if (p->known.has_network_error_code) {
		char e[16];
		snprintf(e, sizeof e, "%u", p->known.network_error_code);
		r->error_code = xstrdup(e);
	}
	inacks_report(&cl->inacks, r, d, n, ref_of(s, p));
	return true;
}

void smpp_client_inbound_deliver(struct session *s, const struct smpp_pdu *p)
{
	struct client *cl = s->cl;
	const uint8_t *d = p->short_message;
	size_t n = p->sm_length;
	if (n == 0 && p->known.has_message_payload) {
		d = p->known.message_payload;
		n = p->known.message_payload_len;
	}
	if ((p->esm_class & 0x3C) && on_receipt(s, p, d, n))
		return;

	uint8_t dc = p->data_coding;
	enum smpp_alphabet a = smpp_wire_alphabet_dc0(dc, cl->conf->data_coding_0);
	struct udh u = {0};
	bool has_udh = false;
	struct errbuf err;
	if ((p->esm_class & 0x40) && n > 0 && udh_parse(d, n, &u, &err) == 0)
		has_udh = true;
	size_t hl = has_udh ? u.len : 0;
	int lock = 0, shift = 0;
	if (has_udh)
		smpp_wire_langs(d, hl, &lock, &shift);
	uint8_t *text = NULL;
	size_t tn = n - hl;
	if (a == SMPP_ALPHA_GSM && cl->conf->gsm_packed) {
		size_t fill = udh_fill_bits(hl);
		size_t nsept = (tn * 8 - (tn ? fill : 0)) / 7;
		text = xmalloc(nsept + 1);
		if (gsm7_unpack(d + hl, tn, nsept, (unsigned)fill, text, nsept + 1))
			nsept = 0;
		tn = nsept;
	} else {
		text = xmalloc(tn + 1);
		memcpy(text, d + hl, tn);
	}
	struct inacks_text x = {.sender = smpp_wire_address_in(p->source_addr_ton, p->source_addr),
	                        .recipient = smpp_wire_address_in(p->dest_addr_ton, p->destination_addr),
	                        .kind = (unsigned)dc | (unsigned)lock << 8 | (unsigned)shift << 16,
	                        .data = text,
	                        .len = tn};
	if (has_udh && u.has_concat) {
		x.ref = u.concat_ref;
		x.total = u.concat_total;
		x.seq = u.concat_seq;
	} else if (p->known.has_sar_msg_ref_num && p->known.has_sar_total_segments && p->known.has_sar_segment_seqnum) {
		x.ref = p->known.sar_msg_ref_num;
		x.total = p->known.sar_total_segments;
		x.seq = p->known.sar_segment_seqnum;
	}
	if (has_udh && !u.has_concat) {
		x.udh = d; /* not a long text's: kept */
		x.udh_len = hl;
	}
	inacks_text(&cl->inacks, &x, ref_of(s, p));
	free(text);
}
