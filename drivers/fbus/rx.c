/*
 * Receiving for the fbus driver: what a sweep reads (the SIM of a DCT3
 * phone; the SIM's and the phone's inbox folders of a DCT4 one) goes to the
 * core, and the locations it came from are deleted only once the core says
 * it is committed.  A token names the locations behind one core_received or
 * core_report (several for a long text); those locations are "held" (not
 * read again) until the token is acked and then until their delete went
 * out (src/sms_held.c, shared with at).  Parts of a long text wait in the
 * shared reassembler (src/codec/reasm.c) until the set is complete or
 * overdue, still stored in the phone, so a restart loses nothing: the next
 * sweep reads them again.
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

#include "codec/udh.h"
#include "fbus/fbus.h"
#include "log.h"
#include "msg_sms.h"
#include "sms_held.h"
#include "util.h"

#define FBUS_RX_SETS 64
#define FBUS_REASM_TIMEOUT_MS (3600 * 1000)

const uint8_t fbus_rx_folders4[FBUS_FOLDERS4][2] = {{NOKIA4_MEM_SIM, NOKIA4_FOLDER_INBOX},
                                                    {NOKIA4_MEM_PHONE, NOKIA4_FOLDER_INBOX}};

static struct inbound *fbus_rx_inbound(struct fbus *f, const char *sender);

/* A long text joined (sms_held_drain): keyed by sender, reference, parts
 * and a hash of the whole. */
static struct inbound *fbus_rx_joined(void *arg, const char *sender, const struct reasm_msg *rm)
{
	struct inbound *in = fbus_rx_inbound(arg, sender);
	char key[TPDU_ADDR_MAX + 64];
	snprintf(key, sizeof key, "fbus-set:%s/%u/%u/%u/%08" PRIx32, in->sender, rm->ref, rm->total, rm->received,
	         fnv1a(2166136261u, rm->data, rm->len));
	in->key = xstrdup(key);
	return in;
}

void fbus_rx_init(struct fbus *f)
{
	sms_held_init(&f->held, f->c, FBUS_RX_SETS, FBUS_REASM_TIMEOUT_MS, "fbus_partial_text", fbus_rx_joined, f);
}

void fbus_rx_free(struct fbus *f)
{
	sms_held_free(&f->held);
}

bool fbus_rx_held(const struct fbus *f, fbus_loc loc)
{
	if (sms_held_has(&f->held, loc))
		return true;
	for (int i = 0; i < f->n_deletes; i++)
		if (f->deletes[i] == loc)
			return true;
	return false;
}

static uint64_t fbus_rx_token(struct fbus *f, fbus_loc loc)
{
	int64_t l = loc;
	return sms_held_token(&f->held, &l, 1);
}

void fbus_rx_acked(struct conn *c, uint64_t token, bool committed)
{
	struct fbus *f = conn_driver_data(c);
	if (!f)
		return;
	struct sms_held_token *p = sms_held_take(&f->held, token);
	if (!p)
		return;
	for (int i = 0; i < p->n; i++) {
		if (committed && f->n_deletes < FBUS_LOCATIONS)
			f->deletes[f->n_deletes++] = (fbus_loc)p->locs[i];
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

void fbus_rx_poll(struct fbus *f)
{
	sms_held_drain(&f->held);
}

static void fbus_rx_report(struct fbus *f, fbus_loc loc, const struct tpdu *t)
{
	struct report *rep = msg_sms_report(t);
	log_debug("fbus_report", "conn=%s loc=%" PRIx32 " id=%s state=%s", conn_name(f->c), loc, rep->remote_id,
	          rep->state);
	core_report(f->c, rep, fbus_rx_token(f, loc));
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
	bool concat = sms_held_is_part(t, &u);
	if (concat && sms_held_part(&f->held, t, &u, loc))
		return;
	struct inbound *in = fbus_rx_inbound(f, t->addr.text);
	msg_sms_inbound_deliver(in, t, !concat);
	int64_t ts = tpdu_time_unix(&t->scts);
	uint32_t h = fnv1a(2166136261u, t->payload, t->payload_len);
	h = fnv1a(h, t->udh, t->udh_len);
	char key[TPDU_ADDR_MAX + 64];
	snprintf(key, sizeof key, "fbus-sms:%s/%" PRId64 "/%d/%08" PRIx32, in->sender, ts, (int)t->alphabet, h);
	in->key = xstrdup(key);
	log_debug("fbus_received", "conn=%s loc=%" PRIx32 " sender=%s", conn_name(f->c), loc, in->sender);
	core_received(f->c, in, fbus_rx_token(f, loc));
}
