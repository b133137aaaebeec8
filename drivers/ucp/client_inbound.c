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
#include "msg_sms.h"
#include "ucp/client.h"
#include "ucp/data.h"
#include "ucp/nack.h"
#include "util.h"

static struct inacks_ref ref_of(struct client *cl, const struct ucp_frame *f, unsigned ot)
{
	return (struct inacks_ref){.sess = NULL, .gen = cl->base.gen, .seq = f->trn, .op = ot};
}

/* ---- the driver's side of src/net/inacks.c ---- */

static bool ack_live(void *arg, const struct inacks_ref *r)
{
	struct client *cl = arg;
	return clibase_may_answer(&cl->base, cl->link, r->gen);
}

static void ack_answer(void *arg, const struct inacks_ref *r, bool committed)
{
	client_answer(arg, r->seq, r->op, committed ? 0 : UCP_EC_NOT_ALLOWED);
}

/* A text of kind (a ucp_sm_in kind); a long text longer than one field is
 * kept whole as octets. */
static void text_of(void *arg, unsigned kind, const uint8_t *d, size_t n, struct inbound *in)
{
	(void)arg;
	if (n <= UCP_SM_DATA_MAX) {
		ucp_sm_text_of((int)kind, d, n, &in->body, &in->payload, &in->encoding);
		return;
	}
	msg_sms_inbound_binary(in, d, n);
}

const struct inacks_ops client_inbound_ops = {
    .log_prefix = "ucp",
    .live = ack_live,
    .answer = ack_answer,
    .text = text_of,
};

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
	struct inacks_text x = {.sender = ucp_sm_addr_in(&f->f[UCP5X_OAdC], &f->f[UCP5X_OTOA]),
	                        .recipient = ucp_sm_addr_in(&f->f[UCP5X_AdC], NULL),
	                        .kind = (unsigned)t->kind,
	                        .data = t->data,
	                        .len = t->len};
	if (ucp_data_scts_parse(f->f[UCP5X_SCTS].p, f->f[UCP5X_SCTS].len, &x.smsc_ts_s))
		x.smsc_ts_s = 0; /* unknown */
	struct udh u = {0};
	if (t->udh_len && udh_parse(t->udh, t->udh_len, &u, &err) == 0 && u.has_concat && u.concat_total > 1 &&
	    u.concat_seq >= 1 && u.concat_seq <= u.concat_total) {
		x.ref = u.concat_ref;
		x.total = u.concat_total;
		x.seq = u.concat_seq;
	} else if (t->udh_len) {
		x.udh = t->udh; /* not a long text's: kept */
		x.udh_len = t->udh_len;
	}
	inacks_text(&cl->inacks, &x, ref_of(cl, f, f->ot));
	free(t);
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
	inacks_report(&cl->inacks, r, n > 0 ? text : NULL, n > 0 ? (size_t)n : 0, ref_of(cl, f, 53));
}
