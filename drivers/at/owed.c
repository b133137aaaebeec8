/*
 * at owed: what the driver owes the modem's storage — the AT+CMGD of every
 * stored message the database has committed — and what it may no longer
 * assume about it.
 *
 * An AT+CMGD whose answer was lost (the modem unplugged, silent, restarted)
 * may have been carried out.  The modem then reuses the freed index for
 * the next text it stores (the lowest free one, and a full SIM fills it at
 * once with what the network held back), so deleting that index again
 * after the reconnect would delete a text nobody has read.  Every owed
 * delete is therefore "unsure" after a session ends, and the first sweep
 * decides: the index still holds the very message that was committed (the
 * same fingerprint) — delete it; it holds another — that one is new and is
 * handed over; it is empty — the delete went through.  A +CMTI for an
 * unsure index says the same as an empty one: the modem stored there anew.
 *
 * The fingerprint is taken when a stored message is read: the PDU in PDU
 * mode; in text mode the header fields after <stat> that +CMGR and +CMGL
 * both give, and the text (<stat> itself changes from unread to read).  Two texts with the same PDU are
 * the same text (their SCTS, to the second, is in it).  Without a
 * fingerprint (more indexes in flight than the table holds) an unsure
 * index is handed over again: a text twice in the inbox, never one lost.
 */
#include <ctype.h>
#include <string.h>

#include "at/at.h"
#include "at/resp.h"
#include "log.h"
#include "util.h"

static struct at_owed *at_owed_find(struct at *a, int idx)
{
	for (int i = 0; i < a->n_owed; i++)
		if (a->owed[i].idx == idx)
			return &a->owed[i];
	return NULL;
}

static void at_owed_remove(struct at *a, struct at_owed *o)
{
	*o = a->owed[--a->n_owed];
}

static uint32_t at_owed_hash(uint32_t h, const char *s, bool fold)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)(fold ? toupper((unsigned char)*s) : *s);
		h = fnv1a(h, &c, 1);
	}
	return h;
}

uint32_t at_owed_fingerprint(const struct at_resp *r, int first, const char *body, bool text_mode)
{
	uint32_t h = 2166136261u;
	if (text_mode) {
		/* Only the fields +CMGR and +CMGL share whatever +CSDH says: a
		 * text's <oa>,<alpha>,<scts>; a report's <fo> to <st>. */
		bool report = first < r->n && !r->quoted[first] && r->v[first][0] &&
		              strspn(r->v[first], "0123456789") == strlen(r->v[first]);
		int end = first + (report ? 7 : 3);
		for (int i = first; i < r->n && i < end; i++) {
			h = at_owed_hash(h, r->v[i], false);
			h = fnv1a(h, "\x1f", 1);
		}
	}
	h = at_owed_hash(h, body ? body : "", !text_mode); /* hex: case is not content */
	return h ? h : 1;                                  /* 0 means "unknown" */
}

void at_owed_read(struct at *a, int idx, uint32_t fp)
{
	struct at_owed *o = at_owed_find(a, idx);
	if (o) {
		if (o->state != AT_OWED_READ)
			return; /* busy: nothing is handed over twice */
		o->fp = fp;
		return;
	}
	if (a->n_owed >= (int)ARRAY_LEN(a->owed)) {
		/* Stale reads (handed over and forgotten by the modem) go first. */
		for (int i = 0; i < a->n_owed; i++)
			if (a->owed[i].state == AT_OWED_READ && !sms_held_has(&a->held, a->owed[i].idx)) {
				at_owed_remove(a, &a->owed[i]);
				break;
			}
		if (a->n_owed >= (int)ARRAY_LEN(a->owed))
			return;
	}
	a->owed[a->n_owed++] = (struct at_owed){.idx = idx, .fp = fp, .state = AT_OWED_READ};
}

bool at_owed_commit(struct at *a, int idx)
{
	struct at_owed *o = at_owed_find(a, idx);
	if (o && o->state != AT_OWED_READ)
		return false; /* already owed */
	if (!o) {
		if (a->n_owed >= (int)ARRAY_LEN(a->owed)) {
			log_warn("at_owed_full",
			         "conn=%s index=%d problem=\"too many deletes owed: left for the next sweep\"",
			         at_name(a), idx);
			return false;
		}
		o = &a->owed[a->n_owed++];
		*o = (struct at_owed){.idx = idx, .fp = 0};
	}
	o->state = AT_OWED_DELETE;
	return true;
}

void at_owed_forget(struct at *a, int idx)
{
	struct at_owed *o = at_owed_find(a, idx);
	if (o && o->state == AT_OWED_READ)
		at_owed_remove(a, o);
}

bool at_owed_busy(struct at *a, int idx)
{
	struct at_owed *o = at_owed_find(a, idx);
	return o && o->state != AT_OWED_READ;
}

int at_owed_pending(const struct at *a)
{
	int n = 0;
	for (int i = 0; i < a->n_owed; i++)
		n += a->owed[i].state == AT_OWED_DELETE;
	return n;
}

void at_owed_deleted(struct at *a, int idx)
{
	struct at_owed *o = at_owed_find(a, idx);
	if (o)
		at_owed_remove(a, o);
}

void at_owed_session_end(struct at *a)
{
	for (int i = 0; i < a->n_owed; i++)
		if (a->owed[i].state == AT_OWED_DELETE)
			a->owed[i].state = AT_OWED_UNSURE;
}

bool at_owed_stored_anew(struct at *a, int idx)
{
	struct at_owed *o = at_owed_find(a, idx);
	if (!o || o->state != AT_OWED_UNSURE)
		return false;
	log_info("at_delete_confirmed", "conn=%s index=%d how=\"the modem stored a new text there\"", at_name(a), idx);
	at_owed_remove(a, o);
	return true;
}

enum at_owed_verdict at_owed_listed(struct at *a, int idx, uint32_t fp)
{
	struct at_owed *o = at_owed_find(a, idx);
	if (!o || o->state == AT_OWED_READ)
		return AT_OWED_NEW;
	if (o->state == AT_OWED_DELETE)
		return AT_OWED_BUSY;
	o->seen = a->list_gen;
	if (o->fp && o->fp == fp) {
		o->state = AT_OWED_DELETE;
		return AT_OWED_VERIFIED;
	}
	if (o->fp)
		log_info("at_delete_confirmed", "conn=%s index=%d how=\"another text is there now\"", at_name(a), idx);
	else
		log_warn("at_delete_unverified", "conn=%s index=%d problem=\"no fingerprint: handed over again\"",
		         at_name(a), idx);
	at_owed_remove(a, o);
	return AT_OWED_NEW;
}

void at_owed_list_done(struct at *a, bool other_mem, bool ok)
{
	if (ok)
		for (int i = 0; i < a->n_owed;) {
			struct at_owed *o = &a->owed[i];
			bool here = (o->idx >= AT_OTHER_MEM) == other_mem;
			if (here && o->state == AT_OWED_UNSURE && o->seen != a->list_gen) {
				log_info("at_delete_confirmed", "conn=%s index=%d how=\"the index is empty\"",
				         at_name(a), o->idx);
				at_owed_remove(a, o);
				continue;
			}
			i++;
		}
	a->list_gen++;
}
