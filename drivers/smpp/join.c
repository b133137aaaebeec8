/*
 * smpp join: see join.h.
 *
 * The bytes of a set are reasm's (ordering, duplicates, expiry); the PDUs
 * to answer are a list here, each with the set's key, taken out when reasm
 * hands the set over.  The list is short (at most max_parts), so a linear
 * scan is enough.
 */
#include "smpp/join.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/udh.h"
#include "errbuf.h"

struct hold {
	struct smpp_join_held h; /* first: a set's parts point here */
	char *dst, *src;
	unsigned ref, total;
	struct hold *next;
};

struct smpp_join {
	struct reasm *r;
	struct hold *held;
	size_t nheld, max_parts;
	void (*meta_free)(void *);
};

int smpp_join_info(const struct smpp_pdu *p, const uint8_t *d, size_t n, struct smpp_join_info *out)
{
	memset(out, 0, sizeof *out);
	if ((p->esm_class & 0x40) && n > 0) {
		struct udh u;
		struct errbuf err;
		if (udh_parse(d, n, &u, &err))
			return -1;
		out->udh_len = u.len;
		if (u.has_concat) {
			out->ref = u.concat_ref;
			out->total = u.concat_total;
			out->seq = u.concat_seq;
			out->multi = out->total >= 2;
			return 0;
		}
	}
	const struct smpp_pdu_known *k = &p->known;
	if (k->has_sar_msg_ref_num && k->has_sar_total_segments && k->has_sar_segment_seqnum) {
		if (k->sar_total_segments == 0 || k->sar_segment_seqnum == 0 ||
		    k->sar_segment_seqnum > k->sar_total_segments)
			return -1;
		out->ref = k->sar_msg_ref_num;
		out->total = k->sar_total_segments;
		out->seq = k->sar_segment_seqnum;
		out->multi = out->total >= 2;
	}
	return 0;
}

size_t smpp_join_udh_strip(const uint8_t *udh, size_t len, uint8_t *out)
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

unsigned smpp_join_receipts(int client_parts)
{
	return client_parts >= 1 && client_parts <= REASM_MAX_PARTS ? (unsigned)client_parts : 1;
}

struct smpp_join *smpp_join_new(size_t max_parts, uint64_t timeout_ms, void (*meta_free)(void *))
{
	struct smpp_join *j = xcalloc(1, sizeof *j);
	j->max_parts = max_parts ? max_parts : 1;
	/* A set holds at least one part: max_parts sets never evict. */
	j->r = reasm_new(j->max_parts, timeout_ms);
	j->meta_free = meta_free;
	return j;
}

static void hold_free(struct smpp_join *j, struct hold *h)
{
	if (h->h.meta && j->meta_free)
		j->meta_free(h->h.meta);
	free(h->dst);
	free(h->src);
	free(h);
}

void smpp_join_free(struct smpp_join *j)
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

int smpp_join_add(struct smpp_join *j, const char *dst, const char *src, const struct smpp_join_info *info,
                  uint32_t pdu_seq, uint32_t cmd, const uint8_t *data, size_t len, void *meta, uint64_t now_ms)
{
	if (j->nheld >= j->max_parts)
		return -ENOBUFS;
	struct reasm_part part = {.conn_id = dst,
	                          .originator = src,
	                          .ref = info->ref,
	                          .total = info->total,
	                          .seq = info->seq,
	                          .data = data,
	                          .len = len};
	int rc = reasm_add(j->r, &part, now_ms, NULL);
	if (rc)
		return rc;
	struct hold *h = xcalloc(1, sizeof *h);
	h->h.part = info->seq;
	h->h.pdu_seq = pdu_seq;
	h->h.cmd = cmd;
	h->h.meta = meta;
	h->dst = xstrdup(dst);
	h->src = xstrdup(src);
	h->ref = info->ref;
	h->total = info->total;
	h->next = j->held;
	j->held = h;
	j->nheld++;
	return 0;
}

static int part_cmp(const void *a, const void *b)
{
	const struct smpp_join_held *x = *(struct smpp_join_held *const *)a, *y = *(struct smpp_join_held *const *)b;
	return x->part < y->part ? -1 : x->part > y->part ? 1 : x->pdu_seq < y->pdu_seq ? -1 : x->pdu_seq > y->pdu_seq;
}

struct smpp_join_set *smpp_join_poll(struct smpp_join *j, uint64_t now_ms)
{
	struct reasm_msg *m = reasm_poll(j->r, now_ms);
	if (!m)
		return NULL;
	struct smpp_join_set *set = xcalloc(1, sizeof *set);
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

void smpp_join_flush(struct smpp_join *j)
{
	reasm_flush(j->r);
}

size_t smpp_join_held_count(const struct smpp_join *j)
{
	return j ? j->nheld : 0;
}

void smpp_join_set_free(struct smpp_join *j, struct smpp_join_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		hold_free(j, (struct hold *)set->parts[i]);
	free(set->parts);
	reasm_msg_free(set->msg);
	free(set);
}
