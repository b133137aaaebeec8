/*
 * ucp client, messages out: a message lent by submit() is split into
 * parts, each sent as op 51 (01/30 for EMI 3.5) under a TRN of its own, and
 * completed through the shared bookkeeping of src/net/submits.c once every
 * part is answered, timed out or lost with the session.  A message whose
 * parts do not fit the window, or that comes during a throttle pause,
 * waits in `held` (in order) until answers make room.  The connection's
 * window (slots held from submit until the result is committed) may exceed
 * the TRN window of the settings (at most 100): the rest waits in held, and
 * each answer sends the next, so the commit latency does not idle the TRNs.
 *
 * The remote id of a part is what a notification names: AdC:SCTS (the SM
 * field of the ACK).  NACK codes are classed by nack.c's table.
 *
 * A multipart message of which an earlier attempt through this connection
 * got some parts accepted (their ids back from claim(), see submits_held)
 * sends only the others: the held parts count as answered with their ids.
 * The concatenation reference of a stored message follows from its id, so
 * that a part sent again joins the earlier ones on the handset.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/sms.h"
#include "log.h"
#include "msg_sms.h"
#include "net/clibase_gate.h"
#include "ucp/client.h"
#include "ucp/data.h"
#include "ucp/nack.h"
#include "util.h"

static void classify(uint32_t ec, struct submits_class *k)
{
	enum ucp_nack_class cls = ucp_nack_class(ec);
	k->outcome = cls == UCP_NACK_REJECT ? MSG_REJECTED : cls == UCP_NACK_THROTTLE ? MSG_RELEASE : MSG_TEMPORARY;
	snprintf(k->code, sizeof k->code, "%02u", ec % 100);
	k->name = ucp_nack_name(ec);
}

void client_submit_init(struct client *cl)
{
	cl->subs = (struct submits){
	    .c = cl->c, .proto = "ucp", .classify = classify, .throttle_pause_ms = cl->conf->throttle_pause_ms};
}

/* One part's answer: sm (ACK) or ec (NACK) or local (a local failure). */
static void part_answer(struct client *cl, struct submits_part *p, const char *sm, unsigned ec, const char *local)
{
	char id[80] = "";
	if (!local && !ec) {
		/* The remote id is what a notification will name: AdC:SCTS. */
		if (sm && strchr(sm, ':'))
			snprintf(id, sizeof id, "%.79s", sm);
		else
			snprintf(id, sizeof id, "%.39s:%.39s", p->addr, sm ? sm : "");
	}
	submits_answer(&cl->subs, p, id, ec, local);
}

void client_submit_drained(void *arg, uint32_t seq, void *data)
{
	struct client *cl = arg;
	(void)seq;
	if (client_is_part(data))
		part_answer(cl, data, NULL, 0, cl->base.stopping ? "stopped before answer" : "connection lost");
}

void client_submit_forget(void *arg, uint32_t seq, void *data)
{
	(void)arg;
	(void)seq;
	if (client_is_part(data))
		submits_forget(data);
}

/* Sends m's operations; m waits in held when the TRNs do not suffice. */
static void submit_now(struct client *cl, struct msg *m)
{
	const struct ucp_conf *conf = cl->conf;
	struct errbuf err = {""};
	struct sms_split sp = {0};
	/* AMsg carries default-alphabet characters: no national shift tables. */
	unsigned concat_ref = (m->id > 0 ? (unsigned)m->id : cl->concat_ref++) & 0xFF;
	int n = msg_sms_split(m, SMS_LANGS_NONE, concat_ref, &sp, &err);
	bool v35 = ucp_conf_is_v35(conf);
	if (n > 0 && v35 && (n > 1 || sp.encoding != SMS_ENC_GSM7))
		n = errbuf_set(&err, "EMI 3.5 carries only GSM texts of one part");
	/* Parts accepted by an earlier attempt (their ids, NULL for the others). */
	int total = n > 0 ? n : 0;
	char **held = n > 1 ? xcalloc((size_t)n, sizeof *held) : NULL;
	int nheld = held ? submits_held(m, conn_name(cl->c), n, held) : 0;
	if (n > 0 && n - nheld > link_window_room(cl->link) && link_outstanding(cl->link) > 0) {
		for (int i = 0; held && i < n; i++)
			free(held[i]);
		free(held);
		free(sp.parts);
		/* Back at the head of held, after the answers in flight: in
		 * order, and a long message is not overtaken for ever by short
		 * ones taking each TRN freed (held is the normal path when the
		 * connection's window exceeds the TRN window). */
		struct msg_list front = {0};
		msg_list_push(&front, m);
		msg_list_concat(&front, &cl->held);
		cl->held = front;
		return;
	}
	if (nheld)
		log_info("ucp_parts_held", "conn=%s id=%" PRId64 " parts=%d held=%d", client_cname(cl), m->id, n,
		         nheld);
	struct ucp_sm *sm = &cl->sm;
	struct submits_msg *sub = NULL;
	struct submits_part **ps = NULL;
	char *frames = NULL;
	size_t flen = 0;
	bool report = m->want_report && conf->request_reports;
	for (int i = 0; n > 0 && i < n; i++) {
		uint32_t trn;
		if (held && held[i])
			continue; /* accepted by an earlier attempt: not sent again */
		ucp_sm_reset(sm);
		if (ucp_sm_adc(m->recipient, sm->adc, sizeof sm->adc)) {
			n = errbuf_set(&err, "recipient has no AdC form");
			break;
		}
		if (ucp_sm_oadc_ton(m->sender, (enum ucp_sender_ton)ucp_conf_sender_ton(conf), sm)) {
			n = errbuf_set(&err, "sender has no OAdC form (11 GSM characters at most)");
			break;
		}
		if (report) {
			snprintf(sm->nrq, sizeof sm->nrq, "1");
			snprintf(sm->nt, sizeof sm->nt, "%lld", conf->notification_type);
			snprintf(sm->npid, sizeof sm->npid, "%s", conf->npid);
		}
		if (m->valid_until_s > 0)
			ucp_data_time10_format(m->valid_until_s, sm->vp);
		if (m->priority >= 5)
			snprintf(sm->pr, sizeof sm->pr, "1");
		int mclass = m->flash ? 0 : m->msg_class;
		if (ucp_sm_set_part_cs(sm, &sp, &sp.parts[i], mclass, ucp_conf_latin1(conf))) {
			n = errbuf_set(&err,
			               ucp_conf_latin1(conf) ? "part %d does not fit or has no Latin-1 form"
			                                     : "part %d does not fit",
			               i + 1);
			break;
		}
		if (link_next_seq(cl->link, &trn)) {
			n = errbuf_set(&err, "no free TRN");
			break;
		}
		struct ucp_frame f;
		unsigned ot = !v35 ? 51 : report || m->valid_until_s > 0 ? 30 : 1;
		ucp_sm_frame(sm, trn, ot, &f);
		size_t olen;
		if (ucp_frame_encode(&f, cl->obuf, sizeof cl->obuf, &olen, &err)) {
			n = -1;
			break;
		}
		if (!sub) {
			sub = submits_msg_new(m, n);
			ps = xcalloc((size_t)n, sizeof *ps);
		}
		frames = xrealloc(frames, flen + olen);
		memcpy(frames + flen, cl->obuf, olen);
		flen += olen;
		ps[i] = submits_part_new(&cl->subs, sub, i);
		ps[i]->seq = trn;
		snprintf(ps[i]->addr, sizeof ps[i]->addr, "%s", sm->adc);
		/* Taken now so that the next part gets another TRN. */
		if (link_request_add(cl->link, trn, ps[i], 0, true)) {
			n = errbuf_set(&err, "TRN in use");
			free(ps[i]);
			ps[i] = NULL;
			cl->subs.nparts--;
			break;
		}
	}
	free(sp.parts);
	for (int i = 0; held && i < total; i++) {
		if (held[i] && sub && n > 0) { /* answered already, by an earlier attempt */
			sub->ids[i] = held[i];
			sub->answered++;
		} else {
			free(held[i]);
		}
	}
	free(held);
	if (n < 0) {
		/* Nothing was sent: take back what was registered. */
		for (int i = 0; sub && i < sub->nparts; i++)
			if (ps[i]) {
				(void)link_request_take(cl->link, ps[i]->seq);
				cl->subs.nparts--;
				free(ps[i]);
			}
		submits_msg_drop(sub);
		free(ps);
		free(frames);
		log_info("ucp_submit_refused", "conn=%s id=%" PRId64 " error=\"%s\"", client_cname(cl), m->id, err.msg);
		msg_set_failed(m, MSG_FAILED, "encoding", err.msg);
		core_complete(cl->c, m);
		return;
	}
	if (link_send(cl->link, frames, flen)) {
		/* The output is refused: answer each part (the last completes m). */
		/* The last answer frees sub: nothing of it is read after. */
		for (int i = 0; i < total; i++) {
			if (!ps[i])
				continue;
			(void)link_request_take(cl->link, ps[i]->seq);
			part_answer(cl, ps[i], NULL, 0, "cannot send");
		}
	}
	free(ps);
	free(frames);
}

void client_submit_resume(struct client *cl)
{
	struct msg *m;
	while (clibase_is_up(&cl->base) && !cl->base.stopping && now_mono_ms() >= cl->pause_until_ms && cl->held.head) {
		int before = cl->held.len;
		m = msg_list_pop(&cl->held);
		submit_now(cl, m);
		if (cl->held.len >= before)
			break; /* it went back: wait for answers */
	}
}

void client_submit_release(struct client *cl)
{
	struct msg *m;
	while ((m = msg_list_pop(&cl->held))) {
		msg_set_failed(m, MSG_RELEASE, NULL, NULL);
		core_complete(cl->c, m);
	}
}

void client_submit_msg(struct client *cl, struct msg *m)
{
	/* held: sent again when TRNs come back or the pause ends (client_submit_resume) */
	if (clibase_gate_submit(&cl->base, m, &cl->held, cl->pause_until_ms) == CLIBASE_GATE_SEND)
		submit_now(cl, m);
}

void client_submit_result(struct client *cl, const struct ucp_frame *f)
{
	void *data = link_request_find(cl->link, f->trn);
	if (!client_is_part(data)) {
		log_debug("ucp_unknown_result", "conn=%s trn=%02u ot=%02u", client_cname(cl), f->trn, f->ot);
		return;
	}
	struct submits_part *p = link_request_take(cl->link, f->trn);
	if (f->ack) {
		char sm[80];
		size_t smi = f->nfields - 1;
		if (ucp_frame_get(f, smi, sm, sizeof sm) < 0)
			sm[0] = '\0';
		part_answer(cl, p, sm, 0, NULL);
	} else {
		unsigned ec = (unsigned)atoi(f->f[UCPR_EC_OR_MVP].p);
		if (ucp_nack_class(ec) == UCP_NACK_THROTTLE) {
			cl->pause_until_ms = now_mono_ms() + (uint64_t)cl->conf->throttle_pause_ms;
			log_info("ucp_throttled", "conn=%s pause_ms=%lld", client_cname(cl),
			         cl->conf->throttle_pause_ms);
		}
		log_debug("ucp_nack", "conn=%s trn=%02u ec=%02u", client_cname(cl), f->trn, ec);
		part_answer(cl, p, NULL, ec ? ec : 99, NULL);
	}
	client_submit_resume(cl);
}

void client_submit_timeout(struct client *cl, struct submits_part *p, uint32_t trn)
{
	log_info("ucp_result_timeout", "conn=%s trn=%02u id=%" PRId64, client_cname(cl), trn, p->sub->m->id);
	part_answer(cl, p, NULL, 0, "result timeout");
	client_submit_resume(cl);
}
