/*
 * Receiving for the fbus driver: what a sweep reads (the SIM of a DCT3
 * phone; the SIM's and the phone's inbox folders of a DCT4 one) goes to the
 * core, and the locations it came from are deleted only once the core says
 * it is committed.  A token names the locations behind one core_received or
 * core_report (several for a long text); those locations are "held" (not
 * read again) until the token is acked and then until their delete went
 * out.  Parts of a long text wait in the shared reassembler
 * (src/codec/reasm.c) until the set is complete or overdue, still stored in
 * the phone, so a restart loses nothing: the next sweep reads them again.
 *
 * A daemon killed after the commit and before the delete reads the same
 * text again after its restart: every text carries a key (sender, SMSC time
 * stamp, a hash of its content; for a long text sender, reference and a
 * hash of the whole), which the database stores once (inbound_keys), so it
 * is not stored twice.  Two texts alike in all of these (same sender, same
 * second, same words) count as one.  A status report applied twice changes
 * nothing.
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
	fbus_loc locs[REASM_MAX_PARTS];
	int n;
	struct fbus_set *next;
};

struct fbus_pending {
	uint64_t token;
	fbus_loc locs[REASM_MAX_PARTS];
	int n;
	struct fbus_pending *next;
};

const uint8_t fbus_rx_folders4[FBUS_FOLDERS4][2] = {{NOKIA4_MEM_SIM, NOKIA4_FOLDER_INBOX},
                                                    {NOKIA4_MEM_PHONE, NOKIA4_FOLDER_INBOX}};

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

static bool fbus_rx_in(const fbus_loc *v, int n, fbus_loc loc)
{
	for (int i = 0; i < n; i++)
		if (v[i] == loc)
			return true;
	return false;
}

bool fbus_rx_held(const struct fbus *f, fbus_loc loc)
{
	for (const struct fbus_pending *p = f->pending; p; p = p->next)
		if (fbus_rx_in(p->locs, p->n, loc))
			return true;
	for (const struct fbus_set *s = f->sets; s; s = s->next)
		if (fbus_rx_in(s->locs, s->n, loc))
			return true;
	return fbus_rx_in(f->deletes, f->n_deletes, loc);
}

static uint64_t fbus_rx_token(struct fbus *f, const fbus_loc *locs, int n)
{
	struct fbus_pending *p = xcalloc(1, sizeof *p);
	p->token = f->next_token++;
	memcpy(p->locs, locs, (size_t)n * sizeof *locs);
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
		char key[TPDU_ADDR_MAX + 64];
		snprintf(key, sizeof key, "fbus-set:%s/%u/%u/%u/%08" PRIx32, in->sender, rm->ref, rm->total,
		         rm->received, fnv1a(2166136261u, rm->data, rm->len));
		in->key = xstrdup(key);
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

static void fbus_rx_report(struct fbus *f, fbus_loc loc, const struct tpdu *t)
{
	struct report *rep = msg_sms_report(t);
	log_debug("fbus_report", "conn=%s loc=%" PRIx32 " id=%s state=%s", conn_name(f->c), loc, rep->remote_id,
	          rep->state);
	core_report(f->c, rep, fbus_rx_token(f, &loc, 1));
}

void fbus_rx_sms(struct fbus *f, fbus_loc loc, const struct tpdu *t)
{
	if (t->type == TPDU_SUBMIT) {
		log_debug("fbus_skip", "conn=%s loc=%" PRIx32 " reason=\"an SMS-SUBMIT kept in the phone\"",
		          conn_name(f->c), loc);
		return;
	}
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
	uint32_t h = fnv1a(2166136261u, t->payload, t->payload_len);
	h = fnv1a(h, t->udh, t->udh_len);
	char key[TPDU_ADDR_MAX + 64];
	snprintf(key, sizeof key, "fbus-sms:%s/%" PRId64 "/%d/%08" PRIx32, in->sender, ts, (int)t->alphabet, h);
	in->key = xstrdup(key);
	log_debug("fbus_received", "conn=%s loc=%" PRIx32 " sender=%s", conn_name(f->c), loc, in->sender);
	core_received(f->c, in, fbus_rx_token(f, &loc, 1));
}
