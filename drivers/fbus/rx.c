/*
 * Receiving for the fbus driver: what a SIM sweep reads goes to the core,
 * and the SIM locations it came from are deleted only once the core says
 * it is committed.  A token names the locations behind one core_received or
 * core_report (several for a long text); those locations stay "held" (not
 * read again) until the token is acked.  Parts of a long text wait in the
 * shared reassembler (src/codec/reasm.c) until the set is complete or
 * overdue (reasm_timeout_s), still stored in the SIM, so a restart loses
 * nothing: the next sweep reads them again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/reasm.h"
#include "codec/udh.h"
#include "fbus/fbus.h"
#include "log.h"
#include "msg_sms.h"
#include "util.h"

#define FBUS_RX_SETS 64
#define FBUS_REASM_TIMEOUT_MS (3600 * 1000)

struct fbus_set {
	char *key;
	unsigned ref, total;
	uint8_t locs[REASM_MAX_PARTS];
	int n;
	struct fbus_set *next;
};

struct fbus_pending {
	uint64_t token;
	uint8_t locs[REASM_MAX_PARTS];
	int n;
	struct fbus_pending *next;
};

void fbus_rx_init(struct fbus *f)
{
	f->reasm = reasm_new(FBUS_RX_SETS, FBUS_REASM_TIMEOUT_MS);
	f->next_token = 1;
}

void fbus_rx_free(struct fbus *f)
{
	reasm_flush(f->reasm);
	reasm_free(f->reasm);
	for (struct fbus_set *s = f->sets, *n; s; s = n) {
		n = s->next;
		free(s->key);
		free(s);
	}
	for (struct fbus_pending *p = f->pending, *n; p; p = n) {
		n = p->next;
		free(p);
	}
}

static uint64_t fbus_rx_token(struct fbus *f, const uint8_t *locs, int n)
{
	struct fbus_pending *p = xcalloc(1, sizeof *p);
	p->token = f->next_token++;
	memcpy(p->locs, locs, (size_t)n);
	p->n = n;
	p->next = f->pending;
	f->pending = p;
	return p->token;
}

void fbus_rx_acked(struct conn *c, uint64_t token, bool committed)
{
	struct fbus *f = conn_driver_data(c);
	if (!f)
		return;
	struct fbus_pending **pp = &f->pending, *p;
	while ((p = *pp) && p->token != token)
		pp = &p->next;
	if (!p)
		return;
	*pp = p->next;
	for (int i = 0; i < p->n; i++) {
		f->held[p->locs[i]] = false;
		if (committed && f->n_deletes < FBUS_LOCATIONS)
			f->deletes[f->n_deletes++] = p->locs[i];
	}
	if (!committed)
		f->sweep_due = true; /* not stored: read it again */
	free(p);
	if (f->state == FB_READY)
		fbus_pump(f);
}

static struct inbound *fbus_rx_inbound(struct fbus *f, const char *sender)
{
	struct inbound *in = xcalloc(1, sizeof *in);
	in->sender = xstrdup(sender[0] ? sender : "unknown");
	in->recipient = xstrdup(conn_name(f->c)); /* the phone knows no number of its own */
	return in;
}

/* Hands every finished (or overdue) long text to the core. */
static void fbus_rx_drain(struct fbus *f)
{
	struct reasm_msg *rm;
	while ((rm = reasm_poll(f->reasm, now_mono_ms()))) {
		const char *sender = strchr(rm->originator, '\x1f');
		enum tpdu_alphabet al = (enum tpdu_alphabet)atoi(rm->originator);
		struct inbound *in = fbus_rx_inbound(f, sender ? sender + 1 : "");
		in->parts = (int)rm->received;
		msg_sms_inbound_text(in, al, rm->data, rm->len);
		if (rm->status != REASM_COMPLETE)
			log_warn("fbus_partial_text", "conn=%s sender=%s parts=%u of %u", conn_name(f->c), in->sender,
			         rm->received, rm->total);
		struct fbus_set **pp = &f->sets, *s;
		while ((s = *pp) && !(s->ref == rm->ref && s->total == rm->total && !strcmp(s->key, rm->originator)))
			pp = &s->next;
		uint64_t token = 0;
		if (s) {
			*pp = s->next;
			token = fbus_rx_token(f, s->locs, s->n);
			free(s->key);
			free(s);
		}
		reasm_msg_free(rm);
		core_received(f->c, in, token);
	}
}

void fbus_rx_poll(struct fbus *f)
{
	fbus_rx_drain(f);
}

static void fbus_rx_report(struct fbus *f, uint8_t loc, const struct tpdu *t)
{
	struct report *rep = msg_sms_report(t);
	log_debug("fbus_report", "conn=%s loc=%u id=%s state=%s", conn_name(f->c), loc, rep->remote_id, rep->state);
	core_report(f->c, rep, fbus_rx_token(f, &loc, 1));
}

void fbus_rx_sms(struct fbus *f, uint8_t loc, const struct tpdu *t)
{
	if (t->type == TPDU_SUBMIT) {
		log_debug("fbus_skip", "conn=%s loc=%u reason=\"an SMS-SUBMIT kept in the phone\"", conn_name(f->c),
		          loc);
		return;
	}
	f->held[loc] = true;
	if (t->type == TPDU_STATUS_REPORT) {
		fbus_rx_report(f, loc, t);
		return;
	}
	struct udh u;
	bool concat = t->udh_len && udh_parse(t->udh, t->udh_len, &u, NULL) == 0 && u.has_concat &&
	              u.concat_total > 1 && u.concat_seq >= 1 && u.concat_seq <= u.concat_total;
	if (concat) {
		char key[TPDU_ADDR_MAX + 8];
		snprintf(key, sizeof key, "%d\x1f%s", (int)t->alphabet, t->addr.text);
		struct reasm_part rp = {.conn_id = conn_name(f->c),
		                        .originator = key,
		                        .ref = u.concat_ref,
		                        .total = u.concat_total,
		                        .seq = u.concat_seq,
		                        .data = t->payload,
		                        .len = t->payload_len};
		enum reasm_add_result res;
		if (reasm_add(f->reasm, &rp, now_mono_ms(), &res) == 0) {
			struct fbus_set *s = f->sets;
			while (s && !(s->ref == u.concat_ref && s->total == u.concat_total && !strcmp(s->key, key)))
				s = s->next;
			if (!s) {
				s = xcalloc(1, sizeof *s);
				s->key = xstrdup(key);
				s->ref = u.concat_ref;
				s->total = u.concat_total;
				s->next = f->sets;
				f->sets = s;
			}
			if (s->n < REASM_MAX_PARTS)
				s->locs[s->n++] = loc;
			fbus_rx_drain(f);
			return;
		}
	}
	struct inbound *in = fbus_rx_inbound(f, t->addr.text);
	in->parts = 1;
	msg_sms_inbound_text(in, t->alphabet, t->payload, t->payload_len);
	if (t->udh_len && !concat) {
		in->udh = xmalloc(2 * t->udh_len + 1);
		hex_encode(t->udh, t->udh_len, in->udh);
	}
	int64_t ts = tpdu_time_unix(&t->scts);
	in->smsc_ts_s = ts > 0 ? ts : 0;
	log_debug("fbus_received", "conn=%s loc=%u sender=%s", conn_name(f->c), loc, in->sender);
	core_received(f->c, in, fbus_rx_token(f, &loc, 1));
}
