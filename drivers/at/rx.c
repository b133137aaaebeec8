/*
 * at rx: what a modem delivers — texts (+CMTI then AT+CMGR, +CMT, the
 * AT+CMGL sweep) and status reports (+CDS, +CDSI) — turned into inbound
 * rows and reports for the core.
 *
 * Nothing is deleted from the SIM before the database has it: every stored
 * message handed to the core carries a token listing its storage indexes,
 * and AT+CMGD goes out only from acked(committed=true).  An index stays
 * "busy" from its read until its delete is answered, so that a sweep or a
 * repeated +CMTI does not hand it over twice; a failed commit frees it for
 * the next sweep.  Committed indexes whose delete has not been answered are
 * kept across a reconnect, and deleted once the first sweep has shown them
 * still there unchanged (owed.c: the modem may have deleted one and stored
 * a new text at its index while the answer was lost).  Parts of a long text read
 * from storage are joined by src/codec/reasm.c and their indexes travel
 * with the set (src/sms_held.c, shared with fbus); parts pushed with +CMT
 * are committed one by one (see at_rx_cmt_part) and joined by the
 * database.  An incomplete +CMT set is
 * stored with the parts that came once reasm_timeout_s has passed since
 * its first part: a timer sends the database a flush marker then (and one
 * goes at the first sweep, for sets a previous daemon left, and at every
 * sweep once +CMT parts came, for a set the timer found not yet due).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "at/at.h"
#include "at/resp.h"
#include "codec/udh.h"
#include "log.h"
#include "msg_sms.h"
#include "util.h"

#define AT_RX_MAX_SETS 64
#define AT_RX_MAX_DUES 64
/* After reasm_timeout_s, this much more: the database counts the timeout
 * from its commit of the first part, a little after the part came. */
#define AT_RX_DUE_MARGIN_MS 2000

/* A +CMT set with parts committed: when the database will call it overdue. */
struct at_due {
	char *set; /* alphabet/sender/reference, as in the parts' keys */
	uint64_t at_ms;
	struct at_due *next;
};

static void at_rx_on_due(evutil_socket_t fd, short what, void *arg);
static struct inbound *at_rx_inbound(struct at *a, const char *sender);

/* A long text joined from storage (sms_held_drain). */
static struct inbound *at_rx_joined(void *arg, const char *sender, const struct reasm_msg *rm)
{
	(void)rm;
	return at_rx_inbound(arg, sender);
}

void at_rx_init(struct at *a)
{
	a->list_gen = 1; /* an unsure index never seen has seen == 0 */
	a->ev_due = evtimer_new(a->base, at_rx_on_due, a);
	sms_held_init(&a->held, a->c, AT_RX_MAX_SETS, (uint64_t)a->conf->reasm_timeout_s * 1000, "at_partial_text",
	              at_rx_joined, a);
	if (a->conf->report_storage && strcasecmp(a->conf->report_storage, a->conf->storage) != 0)
		snprintf(a->other_mem, sizeof a->other_mem, "%s", a->conf->report_storage);
}

void at_rx_sweep(struct at *a)
{
	if (!a->marker_sent || a->cmt_parts)
		at_rx_flush_parts(a);
	const char *list = at_text_mode(a) ? "AT+CMGL=\"ALL\"" : "AT+CMGL=4";
	at_cmd_push(a, AT_CMD_LIST, 0, "%s", list);
	if (!a->other_mem[0])
		return;
	/* Reports kept apart (+CDSI: "SR",n) while nobody read them: listed
	 * there too, between the same AT+CPMS switches as a read. */
	const char *st = a->conf->storage;
	at_cmd_push(a, AT_CMD_MEM, 1, "AT+CPMS=\"%s\"", a->other_mem);
	at_cmd_push(a, AT_CMD_LIST, 1, "%s", list);
	at_cmd_push(a, AT_CMD_MEM, 0, "AT+CPMS=\"%s\",\"%s\",\"%s\"", st, st, st);
}

void at_rx_free(struct at *a)
{
	sms_held_free(&a->held);
	for (struct at_due *d = a->dues, *n; d; d = n) {
		n = d->next;
		free(d->set);
		free(d);
	}
	if (a->ev_due)
		event_free(a->ev_due);
	a->ev_due = NULL;
	a->dues = NULL;
}

/* Busy: handed over, being collected, or waiting for its delete. */
static bool at_rx_is_busy(struct at *a, int idx)
{
	if (at_owed_busy(a, idx) || sms_held_has(&a->held, idx))
		return true;
	for (const struct at_cmd *c = a->q_head; c; c = c->next)
		if (c->kind == AT_CMD_READ && c->arg == idx)
			return true;
	return a->cur && a->cur->kind == AT_CMD_READ && a->cur->arg == idx;
}

bool at_rx_busy(const struct at *a)
{
	return a->held.pending || at_owed_pending(a) > 0;
}

/* A token for one storage index (-1: a pushed +CMT/+CDS, acknowledged with
 * AT+CNMA). */
static uint64_t at_rx_token(struct at *a, int idx)
{
	int64_t l = idx;
	return sms_held_token(&a->held, &l, 1);
}

/* AT+<verb>=<index>, between AT+CPMS switches when the index lives in the
 * other memory (the three commands stay together: the queue is FIFO and
 * nothing is put between them). */
static void at_rx_push_at(struct at *a, enum at_cmd_kind kind, int idx, const char *verb)
{
	if (idx < AT_OTHER_MEM) {
		at_cmd_push(a, kind, idx, "AT+%s=%d", verb, idx);
		return;
	}
	const char *st = a->conf->storage;
	at_cmd_push(a, AT_CMD_MEM, 1, "AT+CPMS=\"%s\"", a->other_mem);
	at_cmd_push(a, kind, idx, "AT+%s=%d", verb, idx - AT_OTHER_MEM);
	at_cmd_push(a, AT_CMD_MEM, 0, "AT+CPMS=\"%s\",\"%s\",\"%s\"", st, st, st);
}

static void at_rx_push_delete(struct at *a, int idx)
{
	at_rx_push_at(a, AT_CMD_DELETE, idx, "CMGD");
}

void at_rx_acked(struct at *a, uint64_t token, bool committed)
{
	struct sms_held_token *t = sms_held_take(&a->held, token);
	if (!t)
		return;
	for (int i = 0; i < t->n; i++) {
		int idx = (int)t->locs[i];
		if (idx < 0) {
			if (committed && a->conf->cnma && serial_is_open(a->port))
				at_cmd_push(a, AT_CMD_ACK, 0, "AT+CNMA");
			continue;
		}
		if (!committed)
			at_owed_forget(a, idx); /* left in storage: the next sweep hands it over again */
		else if (at_owed_commit(a, idx) && serial_is_open(a->port))
			at_rx_push_delete(a, idx);
	}
	free(t);
}

void at_rx_deleted(struct at *a, int index, bool ok)
{
	if (!ok) {
		/* Still owed, so that no sweep hands the text over again; the
		 * delete is tried again at the next sweep. */
		log_warn("at_delete_failed", "conn=%s index=%d", at_name(a), index);
		return;
	}
	at_owed_deleted(a, index);
}

void at_rx_resume(struct at *a)
{
	if (a->cur && a->cur->kind == AT_CMD_DELETE)
		return; /* deletes are under way; they are all queued together */
	for (const struct at_cmd *c = a->q_head; c; c = c->next)
		if (c->kind == AT_CMD_DELETE)
			return;
	for (int i = 0; i < a->n_owed; i++)
		if (a->owed[i].state == AT_OWED_DELETE)
			at_rx_push_delete(a, a->owed[i].idx);
}

static struct inbound *at_rx_inbound(struct at *a, const char *sender)
{
	struct inbound *in = xcalloc(1, sizeof *in);
	in->sender = xstrdup(sender[0] ? sender : "unknown");
	in->recipient = xstrdup(a->imsi[0] ? a->imsi : at_name(a));
	return in;
}

void at_rx_poll(struct at *a)
{
	sms_held_drain(&a->held);
}

static void at_rx_report(struct at *a, const struct tpdu *t, int idx)
{
	struct report *r = msg_sms_report(t);
	log_debug("at_report", "conn=%s id=%s state=%s", at_name(a), r->remote_id, r->state);
	uint64_t token = idx >= 0 || a->conf->cnma ? at_rx_token(a, idx) : 0;
	core_report(a->c, r, token);
}

void at_rx_flush_parts(struct at *a)
{
	struct inbound *in = at_rx_inbound(a, "");
	in->body = xstrdup("");
	in->parts = 1;
	in->key = xstrdup("sms-parts-due");
	a->marker_sent = true;
	log_debug("at_parts_due", "conn=%s", at_name(a));
	core_received(a->c, in, 0);
}

static void at_rx_due_arm(struct at *a)
{
	evtimer_del(a->ev_due);
	if (!a->dues)
		return;
	uint64_t first = a->dues->at_ms, now = now_mono_ms();
	for (struct at_due *d = a->dues; d; d = d->next)
		if (d->at_ms < first)
			first = d->at_ms;
	uint64_t ms = first > now ? first - now : 0;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(a->ev_due, &tv);
}

/* The first part of a set seen by this daemon starts its clock. */
static void at_rx_due_add(struct at *a, const char *set)
{
	int n = 0;
	for (struct at_due *d = a->dues; d; d = d->next, n++)
		if (!strcmp(d->set, set))
			return;
	if (n >= AT_RX_MAX_DUES)
		return; /* the sweep's marker flushes it */
	struct at_due *d = xcalloc(1, sizeof *d);
	d->set = xstrdup(set);
	d->at_ms = now_mono_ms() + (uint64_t)a->conf->reasm_timeout_s * 1000 + AT_RX_DUE_MARGIN_MS;
	d->next = a->dues;
	a->dues = d;
	at_rx_due_arm(a);
}

static void at_rx_on_due(evutil_socket_t fd, short what, void *arg)
{
	struct at *a = arg;
	uint64_t now = now_mono_ms();
	bool due = false;
	for (struct at_due **pp = &a->dues, *d; (d = *pp);) {
		if (d->at_ms <= now) {
			*pp = d->next;
			free(d->set);
			free(d);
			due = true;
		} else {
			pp = &d->next;
		}
	}
	/* A complete set was joined already: the marker then finds nothing.
	 * Not up (reopening, stopping): the marker of the next start does it. */
	if (due && a->state == AT_ST_READY)
		at_rx_flush_parts(a);
	at_rx_due_arm(a);
}

/* A part of a long text pushed with +CMT: the modem pushes no next part
 * before this one's AT+CNMA, and the network does not wait long for it, so
 * the part cannot wait in memory for the rest of its set.  It is committed
 * on its own (record_inbound keeps it in smspool.inbound_parts, see
 * sql/029_modem2.sql, and makes the set one inbox row when it is complete
 * or overdue), and acknowledged only after that commit. */
static void at_rx_cmt_part(struct at *a, const struct tpdu *t, const struct udh *u)
{
	struct inbound *in = at_rx_inbound(a, t->addr.text);
	msg_sms_inbound_deliver(in, t, false);
	char key[TPDU_ADDR_MAX + 64], set[TPDU_ADDR_MAX + 32];
	snprintf(set, sizeof set, "%d/%s/%u", (int)t->alphabet, in->sender, u->concat_ref);
	snprintf(key, sizeof key, "sms-part:%lld:%u:%u:%s", a->conf->reasm_timeout_s, u->concat_total, u->concat_seq,
	         set);
	in->key = xstrdup(key);
	a->cmt_parts = true;
	at_rx_due_add(a, set);
	log_debug("at_inbound_part", "conn=%s sender=%s part=%u of %u", at_name(a), in->sender, u->concat_seq,
	          u->concat_total);
	int idx = -1;
	core_received(a->c, in, a->conf->cnma ? at_rx_token(a, idx) : 0);
}

/* One received PDU: idx >= 0 for stored ones, -1 for +CMT/+CDS. */
static void at_rx_pdu(struct at *a, int idx, const char *hex, long length)
{
	struct tpdu t;
	struct errbuf err;
	bool ack = idx >= 0 || a->conf->cnma;
	if (at_resp_pdu(hex, length, &t, &err) < 0) {
		/* Kept, not dropped: the raw PDU goes to the inbox as binary. */
		log_warn("at_bad_pdu", "conn=%s index=%d problem=\"%s\"", at_name(a), idx, err.msg);
		struct inbound *in = at_rx_inbound(a, "unknown");
		in->encoding = xstrdup("binary");
		in->payload = xstrdup(hex);
		in->parts = 1;
		core_received(a->c, in, ack ? at_rx_token(a, idx) : 0);
		return;
	}
	if (t.type == TPDU_STATUS_REPORT) {
		at_rx_report(a, &t, idx);
		return;
	}
	if (t.type != TPDU_DELIVER) {
		log_info("at_skip", "conn=%s index=%d reason=\"not a received text\"", at_name(a), idx);
		return;
	}
	struct udh u;
	bool concat = sms_held_is_part(&t, &u);
	if (concat && idx < 0) {
		at_rx_cmt_part(a, &t, &u);
		return;
	}
	if (concat && sms_held_part(&a->held, &t, &u, idx))
		return;
	struct inbound *in = at_rx_inbound(a, t.addr.text);
	msg_sms_inbound_deliver(in, &t, !concat);
	log_debug("at_inbound", "conn=%s index=%d sender=%s", at_name(a), idx, in->sender);
	core_received(a->c, in, ack ? at_rx_token(a, idx) : 0);
}

/* ---- text mode (+CMGF=1) ---- */

static bool at_rx_numeric(const struct at_resp *r, int i)
{
	return i < r->n && !r->quoted[i] && r->v[i][0] && strspn(r->v[i], "0123456789") == strlen(r->v[i]);
}

/* A text-mode status report: fo,mr,"ra",tora,"scts","dt",st from param
 * `at` of r on. */
static void at_rx_text_report(struct at *a, const struct at_resp *r, int at, int idx)
{
	struct tpdu t = {.type = TPDU_STATUS_REPORT};
	t.mr = (uint8_t)at_resp_int(r, at + 1, 0);
	snprintf(t.addr.text, sizeof t.addr.text, "%s", at + 2 < r->n ? r->v[at + 2] : "");
	t.st = (uint8_t)at_resp_int(r, at + 6, 0);
	at_rx_report(a, &t, idx);
}

/* A text-mode text: sender in param `at` of r, the text on the next line. */
static void at_rx_text_msg(struct at *a, const struct at_resp *r, int at, const char *text, int idx)
{
	struct inbound *in = at_rx_inbound(a, at < r->n ? r->v[at] : "");
	in->parts = 1;
	in->encoding = xstrdup("gsm7");
	in->body = xstrdup(text);
	log_debug("at_inbound", "conn=%s index=%d sender=%s mode=text", at_name(a), idx, in->sender);
	core_received(a->c, in, idx >= 0 || a->conf->cnma ? at_rx_token(a, idx) : 0);
}

void at_rx_urc(struct at *a, const struct at_ev *ev)
{
	struct at_resp r;
	if (!strcmp(ev->line, "RDY") || !strcmp(ev->line, "^SYSSTART")) {
		/* It restarted and forgot echo, PDU mode and CNMI: start again. */
		at_restart(a, "the modem restarted");
		return;
	}
	if (at_resp_parse(ev->line, &r) < 0)
		return;
	if (!strcmp(r.name, "+CMTI") || !strcmp(r.name, "+CDSI")) {
		long idx = at_resp_int(&r, 1, -1);
		if (idx < 0 || idx >= AT_OTHER_MEM || a->state != AT_ST_READY)
			return;
		if (r.v[0][0] && strcasecmp(r.v[0], a->conf->storage) != 0) {
			if (strlen(r.v[0]) >= sizeof a->other_mem || strpbrk(r.v[0], "\"\r\n"))
				return;
			snprintf(a->other_mem, sizeof a->other_mem, "%s", r.v[0]);
			idx += AT_OTHER_MEM;
		}
		at_owed_stored_anew(a, (int)idx);
		if (at_rx_is_busy(a, (int)idx))
			return;
		at_rx_push_at(a, AT_CMD_READ, (int)idx, "CMGR");
		at_pump(a);
	} else if (at_text_mode(a) && !strcmp(r.name, "+CMT")) {
		at_rx_text_msg(a, &r, 0, ev->pdu, -1);
	} else if (at_text_mode(a) && !strcmp(r.name, "+CDS")) {
		at_rx_text_report(a, &r, 0, -1);
	} else if (!strcmp(r.name, "+CMT") && ev->pdu[0]) {
		at_rx_pdu(a, -1, ev->pdu, at_resp_int(&r, r.n - 1, -1));
	} else if (!strcmp(r.name, "+CDS") && ev->pdu[0]) {
		at_rx_pdu(a, -1, ev->pdu, at_resp_int(&r, r.n - 1, -1));
	}
}

void at_rx_read(struct at *a, int index, const char *hdr, const char *pdu)
{
	struct at_resp r;
	if (!hdr || !pdu || at_resp_parse(hdr, &r) < 0 || strcmp(r.name, "+CMGR") != 0 ||
	    (!pdu[0] && !(at_text_mode(a) && at_rx_numeric(&r, 1)))) {
		log_debug("at_read_empty", "conn=%s index=%d", at_name(a), index);
		return;
	}
	at_owed_read(a, index, at_owed_fingerprint(&r, 1, pdu, at_text_mode(a)));
	if (at_text_mode(a)) { /* "stat","oa",... or "stat",fo,mr,"ra",... */
		if (at_rx_numeric(&r, 1))
			at_rx_text_report(a, &r, 1, index);
		else
			at_rx_text_msg(a, &r, 1, pdu, index);
		return;
	}
	at_rx_pdu(a, index, pdu, at_resp_int(&r, r.n - 1, -1));
}

void at_rx_listed(struct at *a, const char *hdr, const char *pdu, int base)
{
	struct at_resp r;
	if (at_resp_parse(hdr, &r) < 0 || (!pdu[0] && !at_text_mode(a)))
		return;
	long idx = at_resp_int(&r, 0, -1), stat = at_resp_int(&r, 1, -1);
	if (idx < 0 || idx >= AT_OTHER_MEM)
		return;
	idx += base;
	uint32_t fp = at_owed_fingerprint(&r, 2, pdu, at_text_mode(a));
	switch (at_owed_listed(a, (int)idx, fp)) {
	case AT_OWED_VERIFIED:
		at_rx_push_delete(a, (int)idx);
		return;
	case AT_OWED_BUSY:
		return;
	case AT_OWED_NEW:
		break;
	}
	if (at_text_mode(a)) {
		bool received = !strcmp(r.v[1], "REC UNREAD") || !strcmp(r.v[1], "REC READ");
		if (!received || at_rx_is_busy(a, (int)idx))
			return;
		at_owed_read(a, (int)idx, fp);
		if (at_rx_numeric(&r, 2))
			at_rx_text_report(a, &r, 2, (int)idx);
		else
			at_rx_text_msg(a, &r, 2, pdu, (int)idx);
		return;
	}
	if ((stat != 0 && stat != 1) || at_rx_is_busy(a, (int)idx))
		return; /* stored outgoing messages are not ours to take */
	at_owed_read(a, (int)idx, fp);
	at_rx_pdu(a, (int)idx, pdu, at_resp_int(&r, r.n - 1, -1));
}
