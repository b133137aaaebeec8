/*
 * net join: see join.h.
 *
 * The bytes of a set are reasm's (ordering, duplicates, expiry); the PDUs
 * to answer are a list here, each with the set's key, taken out when reasm
 * hands the set over.  The list is short (at most max_parts), so a linear
 * scan is enough.
 */
#include "net/join.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/udh.h"
#include "errbuf.h"

struct hold {
	struct net_join_held h; /* first: a set's parts point here */
	char *dst, *src;
	unsigned ref, total;
	struct hold *next;
};

struct net_join {
	struct reasm *r;
	struct hold *held;
	size_t nheld, max_parts;
	void (*meta_free)(void *);
};

size_t net_join_udh_strip(const uint8_t *udh, size_t len, uint8_t *out)
{
	struct udh u;
	struct errbuf err;
	size_t olen = 0;
	if (udh_parse(udh, len, &u, &err))
		return 0;
	for (size_t i = 0; i < u.n_ies; i++) {
		const struct udh_ie *ie = &u.ies[i];
		if (ie->iei == UDH_IEI_CONCAT8 || ie->iei == UDH_IEI_CONCAT16)
			continue;
		if (udh_add_ie(out, UDH_MAX_LEN + 1, &olen, ie->iei, ie->data, ie->len))
			return 0; /* cannot happen: the result is shorter than the input */
	}
	return olen;
}

unsigned net_join_receipts(int client_parts)
{
	return client_parts >= 1 && client_parts <= REASM_MAX_PARTS ? (unsigned)client_parts : 1;
}

struct net_join *net_join_new(size_t max_parts, uint64_t timeout_ms, void (*meta_free)(void *))
{
	struct net_join *j = xcalloc(1, sizeof *j);
	j->max_parts = max_parts ? max_parts : 1;
	/* A set holds at least one part: max_parts sets never evict. */
	j->r = reasm_new(j->max_parts, timeout_ms);
	j->meta_free = meta_free;
	return j;
}

static void hold_free(struct net_join *j, struct hold *h)
{
	if (h->h.meta && j->meta_free)
		j->meta_free(h->h.meta);
	free(h->dst);
	free(h->src);
	free(h);
}

void net_join_free(struct net_join *j)
{
	if (!j)
		return;
	for (struct hold *h = j->held, *n; h; h = n) {
		n = h->next;
		hold_free(j, h);
	}
	reasm_free(j->r);
	free(j);
}

int net_join_add(struct net_join *j, const char *dst, const char *src, unsigned ref, unsigned total, unsigned seq,
                 uint32_t pdu_seq, uint32_t cmd, const uint8_t *data, size_t len, void *meta, uint64_t now_ms)
{
	if (j->nheld >= j->max_parts)
		return -ENOBUFS;
	struct reasm_part part = {
	    .conn_id = dst, .originator = src, .ref = ref, .total = total, .seq = seq, .data = data, .len = len};
	int rc = reasm_add(j->r, &part, now_ms, NULL);
	if (rc)
		return rc;
	struct hold *h = xcalloc(1, sizeof *h);
	h->h.part = seq;
	h->h.pdu_seq = pdu_seq;
	h->h.cmd = cmd;
	h->h.meta = meta;
	h->dst = xstrdup(dst);
	h->src = xstrdup(src);
	h->ref = ref;
	h->total = total;
	h->next = j->held;
	j->held = h;
	j->nheld++;
	return 0;
}

static int part_cmp(const void *a, const void *b)
{
	const struct net_join_held *x = *(struct net_join_held *const *)a, *y = *(struct net_join_held *const *)b;
	return x->part < y->part ? -1 : x->part > y->part ? 1 : x->pdu_seq < y->pdu_seq ? -1 : x->pdu_seq > y->pdu_seq;
}

struct net_join_set *net_join_poll(struct net_join *j, uint64_t now_ms)
{
	struct reasm_msg *m = reasm_poll(j->r, now_ms);
	if (!m)
		return NULL;
	struct net_join_set *set = xcalloc(1, sizeof *set);
	set->msg = m;
	for (struct hold **hp = &j->held; *hp;) {
		struct hold *h = *hp;
		if (h->ref == m->ref && h->total == m->total && strcmp(h->dst, m->conn_id) == 0 &&
		    strcmp(h->src, m->originator) == 0) {
			*hp = h->next;
			h->next = NULL;
			j->nheld--;
			set->parts = xrealloc(set->parts, (set->n + 1) * sizeof *set->parts);
			set->parts[set->n++] = &h->h;
		} else {
			hp = &h->next;
		}
	}
	qsort(set->parts, set->n, sizeof *set->parts, part_cmp);
	return set;
}

void net_join_flush(struct net_join *j)
{
	reasm_flush(j->r);
}

size_t net_join_held_count(const struct net_join *j)
{
	return j ? j->nheld : 0;
}

void net_join_set_free(struct net_join *j, struct net_join_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		hold_free(j, (struct hold *)set->parts[i]);
	free(set->parts);
	reasm_msg_free(set->msg);
	free(set);
}
