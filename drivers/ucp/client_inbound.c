/*
 * ucp client, what the SMSC delivers: op 52 (texts, long ones reassembled
 * from their XSer UDH) into the inbox and op 53 (notifications) as reports,
 * matched to the outbox by the AdC:SCTS of the submit's ACK.  Each is
 * acknowledged only after the database committed what it carried (NACK 04
 * otherwise, so that the SMSC sends it again), through the shared
 * bookkeeping of src/net/inacks.c; a long text's parts are acknowledged
 * once the whole is committed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/udh.h"
#include "log.h"
#include "ucp/client.h"
#include "ucp/data.h"
#include "ucp/nack.h"
#include "util.h"

static struct inacks_ref ref_of(struct client *cl, const struct ucp_frame *f, unsigned ot)
{
	return (struct inacks_ref){.sess = NULL, .gen = cl->base.gen, .seq = f->trn, .op = ot};
}

void client_inbound_acked(struct conn *c, uint64_t token, bool committed)
{
	struct client *cl = conn_driver_data(c);
	struct inacks_acc *a = inacks_take(&cl->inacks, token);
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		struct inacks_ref *r = &a->refs[i];
		if (r->gen != cl->base.gen || !clibase_is_up(&cl->base)) {
			log_debug("ucp_ack_dropped", "conn=%s trn=%02u reason=\"session gone\"", client_cname(cl),
			          r->seq);
			continue;
		}
		client_answer(cl, r->seq, r->op, committed ? 0 : UCP_EC_NOT_ALLOWED);
	}
	inacks_acc_free(a);
	if (cl->base.stopping)
		client_stop_progress(cl);
}

/* Stores every finished (or timed out) long text. */
void client_inbound_drain(struct client *cl)
{
	struct reasm_msg *rm;
	struct inbound *in;
	unsigned kind;
	uint64_t token;
	while ((rm = inacks_poll(&cl->inacks, &in, &kind, &token))) {
		struct ucp_sm_in *t = NULL;
		if (rm->len <= sizeof t->data) {
			t = xcalloc(1, sizeof *t);
			t->kind = (int)kind;
			t->len = rm->len;
			memcpy(t->data, rm->data, t->len);
			ucp_sm_text(t, &in->body, &in->payload, &in->encoding);
			free(t);
		} else { /* longer than one field: keep it whole as octets */
			in->payload = xmalloc(2 * rm->len + 1);
			hex_encode(rm->data, rm->len, in->payload);
			in->encoding = xstrdup("binary");
		}
		if (rm->status != REASM_COMPLETE)
			log_warn("ucp_partial_text", "conn=%s sender=%s parts=%u of %u", client_cname(cl), in->sender,
			         rm->received, rm->total);
		reasm_msg_free(rm);
		core_received(cl->c, in, token);
	}
}

void client_inbound_mo(struct client *cl, const struct ucp_frame *f)
{
	struct ucp_sm_in *t = xmalloc(sizeof *t);
	struct errbuf err = {""};
	unsigned ec = ucp_sm_read(f, t, &err);
	if (ec) {
		log_info("ucp_mo_refused", "conn=%s trn=%02u ec=%02u reason=\"%s\"", client_cname(cl), f->trn, ec,
		         err.msg);
		client_answer(cl, f->trn, f->ot, ec);
		free(t);
		return;
	}
	if (t->kind == UCP_TEXT_GSM && ucp_conf_latin1(cl->conf))
		t->kind = UCP_TEXT_LATIN1; /* the SMSC sends Latin-1 octets in IRA */
	char *sender = ucp_sm_addr_in(&f->f[UCP5X_OAdC], &f->f[UCP5X_OTOA]);
	char *recipient = ucp_sm_addr_in(&f->f[UCP5X_AdC], NULL);
	int64_t ts = 0;
	if (ucp_data_scts_parse(f->f[UCP5X_SCTS].p, f->f[UCP5X_SCTS].len, &ts))
		ts = 0; /* unknown */
	struct udh u = {0};
	bool concat = false;
	if (t->udh_len && udh_parse(t->udh, t->udh_len, &u, &err) == 0 && u.has_concat && u.concat_total > 1 &&
	    u.concat_seq >= 1 && u.concat_seq <= u.concat_total)
		concat = true;
	if (concat && inacks_part(&cl->inacks, (unsigned)t->kind, sender, recipient, u.concat_ref, u.concat_total,
	                          u.concat_seq, t->data, t->len, ref_of(cl, f, f->ot)) == 0) {
		free(sender);
		free(recipient);
		free(t);
		client_inbound_drain(cl);
		return;
	}
	struct inbound *in = xcalloc(1, sizeof *in);
	in->sender = sender;
	in->recipient = recipient;
	in->parts = 1;
	in->smsc_ts_s = ts;
	if (t->udh_len && !concat) {
		in->udh = xmalloc(2 * t->udh_len + 1);
		hex_encode(t->udh, t->udh_len, in->udh);
	}
	ucp_sm_text(t, &in->body, &in->payload, &in->encoding);
	free(t);
	log_debug("ucp_inbound", "conn=%s sender=%s encoding=%s", client_cname(cl), in->sender, in->encoding);
	core_received(cl->c, in, inacks_one(&cl->inacks, ref_of(cl, f, f->ot)));
}

void client_inbound_notification(struct client *cl, const struct ucp_frame *f)
{
	char oadc[40], scts[16];
	if (ucp_frame_get(f, UCP5X_OAdC, oadc, sizeof oadc) < 0 ||
	    ucp_frame_get(f, UCP5X_SCTS, scts, sizeof scts) < 0 || !scts[0]) {
		client_answer(cl, f->trn, 53, UCP_EC_SYNTAX);
		return;
	}
	struct report *r = xcalloc(1, sizeof *r);
	char id[64];
	snprintf(id, sizeof id, "%s:%s", oadc, scts);
	r->remote_id = xstrdup(id);
	const char *st = ucp_frame_is(f, UCP5X_Dst, "0")   ? "delivered"
	                 : ucp_frame_is(f, UCP5X_Dst, "1") ? "enroute"
	                                                   : "undelivered";
	r->state = xstrdup(st);
	if (f->f[UCP5X_Rsn].len) {
		char rsn[8];
		if (ucp_frame_get(f, UCP5X_Rsn, rsn, sizeof rsn) >= 0)
			r->error_code = xstrdup(rsn);
	}
	uint8_t text[UCP_SM_DATA_MAX];
	int n = ucp_data_ira_decode(f->f[UCP5X_Msg].p, f->f[UCP5X_Msg].len, text, sizeof text - 1);
	if (n > 0) {
		char *t = xmalloc((size_t)n + 1);
		for (int i = 0; i < n; i++)
			t[i] = text[i] >= 0x20 && text[i] < 0x7F ? (char)text[i] : '?';
		t[n] = 0;
		r->text = t;
	}
	log_debug("ucp_notification", "conn=%s id=%s state=%s", client_cname(cl), r->remote_id, r->state);
	core_report(cl->c, r, inacks_one(&cl->inacks, ref_of(cl, f, 53)));
}
