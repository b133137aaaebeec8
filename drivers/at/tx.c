/*
 * at tx: sending through a GSM modem — a message is split into SMS-SUBMIT
 * TPDUs by the shared src/msg_sms.c (as fbus does) when it is lent to the
 * driver and encoded to hex PDUs here,
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
#include "log.h"
#include "msg_sms.h"
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
	int n = 0;
	struct tpdu *parts = msg_sms_submits(o->m, a->conf->smsc, &n, err);
	if (!parts)
		return -1;
	o->n_parts = n;
	o->pdus = xcalloc((size_t)n, sizeof *o->pdus);
	o->ids = xcalloc((size_t)n, sizeof *o->ids);
	o->tpdu_lens = xcalloc((size_t)n, sizeof *o->tpdu_lens);
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		uint8_t pdu[TPDU_MAX_LEN];
		size_t plen, tlen;
		rc = tpdu_encode(&parts[i], pdu, sizeof pdu, &plen, &tlen, err);
		if (rc == 0) {
			o->pdus[i] = xmalloc(2 * plen + 1);
			hex_encode(pdu, plen, o->pdus[i]);
			o->tpdu_lens[i] = (int)tlen;
		}
	}
	free(parts);
	return rc < 0 ? -1 : 0;
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
		o->ids[o->next_part] = msg_sms_part_id(mr, o->m->recipient);
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
