/*
 * at tx: sending through a GSM modem — a message is split into SMS-SUBMIT
 * PDUs (src/codec/sms.c, src/codec/tpdu.c) when it is lent to the driver,
 * then at.c sends one AT+CMGS per part and hands each answer here: the
 * part's TP-MR becomes its remote id, a +CMS ERROR is classed
 * (drivers/at/resp.c) into retry, reject or fail.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at/at.h"
#include "at/resp.h"
#include "codec/sms.h"
#include "log.h"
#include "util.h"

void at_out_free(struct at_out *o)
{
	for (int i = 0; i < o->n_parts; i++) {
		free(o->pdus[i]);
		free(o->ids[i]);
	}
	free(o->pdus);
	free(o->ids);
	free(o->tpdu_lens);
	free(o);
}

/* Completes the first lent message with what msg_set_* recorded. */
void at_out_done(struct at *a)
{
	struct at_out *o = a->out_head;
	a->out_head = o->next;
	if (!a->out_head)
		a->out_tail = &a->out_head;
	struct msg *m = o->m;
	at_out_free(o);
	core_complete(a->c, m);
}

/* Gives every lent message back: `unknown` for the one whose PDU may have
 * left (or whose first parts did), release for the rest. */
void at_out_abort(struct at *a, const char *why)
{
	while (a->out_head) {
		struct at_out *o = a->out_head;
		if (o->pdu_written || o->next_part > 0)
			msg_set_failed(o->m, MSG_TEMPORARY, "modem", why);
		else
			msg_set_failed(o->m, MSG_RELEASE, NULL, why);
		at_out_done(a);
	}
}

/* Splits m into SUBMIT PDUs.  Returns 0 or -1 with err set. */
/* Text mode: the body itself, one part, printable ASCII only (what every
 * modem's character set agrees on). */
static int at_out_build_text(struct at_out *o, struct errbuf *err)
{
	const char *b = o->m->body;
	if (!b || o->m->payload || strlen(b) > 160)
		return errbuf_set(err, "text mode sends texts of at most 160 characters, no binary");
	for (const char *p = b; *p; p++)
		if (*p < 0x20 || *p > 0x7E)
			return errbuf_set(err, "text mode sends printable ASCII only");
	o->n_parts = 1;
	o->pdus = xcalloc(1, sizeof *o->pdus);
	o->ids = xcalloc(1, sizeof *o->ids);
	o->tpdu_lens = xcalloc(1, sizeof *o->tpdu_lens);
	o->pdus[0] = xstrdup(b);
	return 0;
}

int at_out_build(struct at *a, struct at_out *o, struct errbuf *err)
{
	if (at_text_mode(a))
		return at_out_build_text(o, err);
	struct msg *m = o->m;
	struct sms_split_opts opts = {0};
	struct sms_split sp = {0};
	uint8_t *bin = NULL;
	const char *data;
	size_t len;
	int rc = -1;
	if (sms_encoding_from_name(m->encoding ? m->encoding : "auto", &opts.encoding))
		return errbuf_set(err, "unknown encoding \"%s\"", m->encoding);
	uint8_t udh[UDH_MAX_LEN];
	if (opts.encoding == SMS_ENC_BINARY) {
		size_t plen = m->payload ? strlen(m->payload) / 2 : 0;
		bin = xmalloc(plen + 1);
		int np = m->payload ? hex_decode(m->payload, bin, plen) : 0;
		int nu = m->udh ? hex_decode(m->udh, udh, sizeof udh) : 0;
		if (np < 0 || nu < 0 || (nu > 0 && udh[0] != nu - 1)) {
			free(bin);
			return errbuf_set(err, "payload or udh is not valid hex");
		}
		if (nu > 0) {
			opts.extra_ies = udh + 1;
			opts.extra_ies_len = (size_t)nu - 1;
		}
		data = (const char *)bin;
		len = (size_t)np;
	} else {
		data = m->body ? m->body : "";
		len = strlen(data);
	}
	opts.concat_ref = (unsigned)(m->id & 0xFF);
	if (sms_count_parts(data, len, &opts, &sp, err))
		goto out;
	sp.parts = xcalloc(sp.n_parts, sizeof *sp.parts);
	sp.parts_cap = sp.n_parts;
	if (sms_split(data, len, &opts, &sp, err))
		goto out;
	int mclass = m->flash ? 0 : m->msg_class;
	uint8_t dcs = sp.dcs;
	if (mclass >= 0)
		dcs = sp.encoding == SMS_ENC_UCS2     ? (uint8_t)(0x18 | mclass)
		      : sp.encoding == SMS_ENC_BINARY ? (uint8_t)(0xF4 | mclass)
		                                      : (uint8_t)(0xF0 | mclass);
	o->n_parts = (int)sp.n_parts;
	o->pdus = xcalloc(sp.n_parts, sizeof *o->pdus);
	o->ids = xcalloc(sp.n_parts, sizeof *o->ids);
	o->tpdu_lens = xcalloc(sp.n_parts, sizeof *o->tpdu_lens);
	for (unsigned i = 0; i < sp.n_parts; i++) {
		struct tpdu t = {.has_smsc = true, .type = TPDU_SUBMIT, .srr = m->want_report, .dcs = dcs};
		if (a->conf->smsc && tpdu_addr_set(&t.smsc, a->conf->smsc) < 0) {
			errbuf_set(err, "smsc setting is not a number");
			goto out;
		}
		if (tpdu_addr_set(&t.addr, m->recipient) < 0 || t.addr.toa == 0xD0) {
			errbuf_set(err, "recipient \"%s\" is not a phone number", m->recipient);
			goto out;
		}
		t.vpf = TPDU_VP_RELATIVE;
		t.vp_rel = 0xAA; /* 4 days */
		if (m->valid_until_s > 0) {
			int64_t left = m->valid_until_s - now_wall_ms() / 1000;
			t.vp_rel = tpdu_vp_from_minutes(left > 300 ? (unsigned)(left / 60) : 5);
		}
		t.udhi = sp.parts[i].udh_len > 0;
		t.udl = sp.parts[i].udl;
		memcpy(t.ud, sp.parts[i].ud, sp.parts[i].ud_len);
		t.ud_len = sp.parts[i].ud_len;
		uint8_t pdu[TPDU_MAX_LEN];
		size_t plen, tlen;
		if (tpdu_encode(&t, pdu, sizeof pdu, &plen, &tlen, err) < 0)
			goto out;
		o->pdus[i] = xmalloc(2 * plen + 1);
		hex_encode(pdu, plen, o->pdus[i]);
		o->tpdu_lens[i] = (int)tlen;
	}
	rc = 0;
out:
	free(sp.parts);
	free(bin);
	return rc;
}

/* The remote id of a part: TP-MR and the recipient's last 8 digits, which
 * is what a status report carries back (TP-MR, TP-RA) — an MR alone wraps
 * after 256 messages. */
static char *at_part_id(int mr, const char *recipient)
{
	char digits[32];
	at_copy_digits(digits, sizeof digits, recipient);
	size_t n = strlen(digits);
	char id[48];
	snprintf(id, sizeof id, "%d/%s", mr, digits + (n > 8 ? n - 8 : 0));
	return xstrdup(id);
}

void at_send_answer(struct at *a, const struct at_ev *ev)
{
	struct at_out *o = a->out_head;
	if (!o)
		return;
	o->pdu_written = false;
	if (ev->kind == AT_EV_OK) {
		const char *l = at_answer(a, "+CMGS");
		struct at_resp r;
		int mr = l && at_resp_parse(l, &r) == 0 ? (int)at_resp_int(&r, 0, -1) : -1;
		o->ids[o->next_part] = at_part_id(mr, o->m->recipient);
		if (++o->next_part == o->n_parts) {
			msg_set_sent(o->m, o->n_parts, (const char *const *)o->ids);
			at_out_done(a);
		}
		return;
	}
	char code[16], text[160];
	enum msg_outcome oc = MSG_TEMPORARY;
	if (ev->kind == AT_EV_CMS_ERROR) {
		snprintf(code, sizeof code, "%d", ev->code);
		enum at_cms_class cl = at_cms_class(ev->code);
		oc = cl == AT_CMS_TEMPORARY ? MSG_TEMPORARY : cl == AT_CMS_BAD_PDU ? MSG_FAILED : MSG_REJECTED;
		snprintf(text, sizeof text, "+CMS ERROR %d: %s (%s)", ev->code, at_cms_name(ev->code),
		         at_cms_class_name(cl));
	} else {
		snprintf(code, sizeof code, "%s", ev->kind == AT_EV_CME_ERROR ? "CME" : "ERROR");
		snprintf(text, sizeof text, "%s", ev->line);
	}
	log_info("at_send_failed", "conn=%s id=%" PRId64 " part=%d answer=\"%s\"", at_name(a), o->m->id,
	         o->next_part + 1, text);
	msg_set_failed(o->m, oc, code, text);
	at_out_done(a);
}
