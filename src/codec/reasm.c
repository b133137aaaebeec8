/*
 * reasm: see reasm.h.
 *
 * Pending sets live in a fixed-size hash table (chained) for lookup and in
 * a doubly linked list in arrival order, so that expiry and eviction look
 * only at the oldest sets.  Finished sets are converted to struct reasm_msg
 * and queued FIFO until the caller polls them.
 */
#include "codec/reasm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct reasm_slot {
	uint8_t *data; /* NULL while missing */
	size_t len;
};

struct reasm_set {
	struct reasm_set *hnext;       /* hash chain */
	struct reasm_set *prev, *next; /* arrival order, oldest first */
	uint32_t hash;
	char *conn_id;
	char *originator;
	unsigned ref, total, received;
	uint64_t first_ms;
	struct reasm_slot *slots; /* total entries */
};

struct reasm {
	size_t max_sets, n_sets;
	uint64_t timeout_ms;
	size_t n_buckets; /* power of two */
	struct reasm_set **buckets;
	struct reasm_set *oldest, *newest;
	struct reasm_msg *ready_head, *ready_tail;
};

static uint32_t reasm_hash(const struct reasm_part *p)
{
	uint32_t h = FNV1A_INIT;
	uint8_t sep = 0, nums[4] = {(uint8_t)(p->ref >> 8), (uint8_t)p->ref, (uint8_t)p->total, 0};

	h = fnv1a(h, p->conn_id, strlen(p->conn_id));
	h = fnv1a(h, &sep, 1);
	h = fnv1a(h, p->originator, strlen(p->originator));
	h = fnv1a(h, &sep, 1);
	return fnv1a(h, nums, sizeof nums);
}

struct reasm *reasm_new(size_t max_sets, uint64_t timeout_ms)
{
	struct reasm *r = xcalloc(1, sizeof *r);

	r->max_sets = max_sets ? max_sets : 1;
	r->timeout_ms = timeout_ms;
	r->n_buckets = 16;
	while (r->n_buckets < 2 * r->max_sets && r->n_buckets < ((size_t)1 << 24))
		r->n_buckets *= 2;
	r->buckets = xcalloc(r->n_buckets, sizeof *r->buckets);
	return r;
}

static void reasm_set_free(struct reasm_set *s)
{
	for (unsigned i = 0; i < s->total; i++)
		free(s->slots[i].data);
	free(s->slots);
	free(s->conn_id);
	free(s->originator);
	free(s);
}

void reasm_msg_free(struct reasm_msg *m)
{
	if (!m)
		return;
	free(m->conn_id);
	free(m->originator);
	free(m->data);
	free(m->parts);
	free(m);
}

void reasm_free(struct reasm *r)
{
	if (!r)
		return;
	for (struct reasm_set *s = r->oldest, *n; s; s = n) {
		n = s->next;
		reasm_set_free(s);
	}
	for (struct reasm_msg *m = r->ready_head, *n; m; m = n) {
		n = m->next;
		reasm_msg_free(m);
	}
	free(r->buckets);
	free(r);
}

/* Unlinks s from the table and the age list, turns it into a message with
 * the given status, queues that and frees s. */
static void reasm_finish(struct reasm *r, struct reasm_set *s, enum reasm_status status)
{
	struct reasm_set **pp = &r->buckets[s->hash & (r->n_buckets - 1)];
	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	if (s->prev)
		s->prev->next = s->next;
	else
		r->oldest = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		r->newest = s->prev;
	r->n_sets--;

	struct reasm_msg *m = xcalloc(1, sizeof *m);
	m->status = status;
	m->conn_id = s->conn_id;
	m->originator = s->originator;
	s->conn_id = s->originator = NULL;
	m->ref = s->ref;
	m->total = s->total;
	m->received = s->received;
	m->first_ms = s->first_ms;
	m->parts = xcalloc(s->total, sizeof *m->parts);
	size_t len = 0;
	for (unsigned i = 0; i < s->total; i++)
		len += s->slots[i].len;
	m->data = xmalloc(len);
	for (unsigned i = 0; i < s->total; i++) {
		if (!s->slots[i].data)
			continue;
		m->parts[i].present = true;
		m->parts[i].off = m->len;
		m->parts[i].len = s->slots[i].len;
		memcpy(m->data + m->len, s->slots[i].data, s->slots[i].len);
		m->len += s->slots[i].len;
	}
	if (r->ready_tail)
		r->ready_tail->next = m;
	else
		r->ready_head = m;
	r->ready_tail = m;
	reasm_set_free(s);
}

static struct reasm_set *reasm_find(struct reasm *r, const struct reasm_part *p, uint32_t h)
{
	for (struct reasm_set *s = r->buckets[h & (r->n_buckets - 1)]; s; s = s->hnext)
		if (s->hash == h && s->ref == p->ref && s->total == p->total && strcmp(s->conn_id, p->conn_id) == 0 &&
		    strcmp(s->originator, p->originator) == 0)
			return s;
	return NULL;
}

int reasm_add(struct reasm *r, const struct reasm_part *p, uint64_t now_ms, enum reasm_add_result *res)
{
	if (!p->conn_id || !p->originator || (!p->data && p->len))
		return -EINVAL;
	if (p->total < 1 || p->total > REASM_MAX_PARTS || p->seq < 1 || p->seq > p->total)
		return -EINVAL;
	if (p->len > REASM_PART_MAX)
		return -EMSGSIZE;

	uint32_t h = reasm_hash(p);
	struct reasm_set *s = reasm_find(r, p, h);
	if (!s) {
		if (r->n_sets >= r->max_sets)
			reasm_finish(r, r->oldest, REASM_EVICTED);
		s = xcalloc(1, sizeof *s);
		s->hash = h;
		s->conn_id = xstrdup(p->conn_id);
		s->originator = xstrdup(p->originator);
		s->ref = p->ref;
		s->total = p->total;
		s->first_ms = now_ms;
		s->slots = xcalloc(p->total, sizeof *s->slots);
		struct reasm_set **b = &r->buckets[h & (r->n_buckets - 1)];
		s->hnext = *b;
		*b = s;
		s->prev = r->newest;
		if (r->newest)
			r->newest->next = s;
		else
			r->oldest = s;
		r->newest = s;
		r->n_sets++;
	}
	struct reasm_slot *slot = &s->slots[p->seq - 1];
	if (slot->data) {
		if (res)
			*res = REASM_DUPLICATE;
		return 0;
	}
	/* A zero-length part is still "present": allocate one byte so that
	 * data != NULL marks it. */
	slot->data = xmalloc(p->len ? p->len : 1);
	if (p->len)
		memcpy(slot->data, p->data, p->len);
	slot->len = p->len;
	s->received++;
	if (s->received == s->total) {
		reasm_finish(r, s, REASM_COMPLETE);
		if (res)
			*res = REASM_COMPLETED;
		return 0;
	}
	if (res)
		*res = REASM_ADDED;
	return 0;
}

struct reasm_msg *reasm_poll(struct reasm *r, uint64_t now_ms)
{
	while (r->oldest && now_ms >= r->oldest->first_ms && now_ms - r->oldest->first_ms >= r->timeout_ms)
		reasm_finish(r, r->oldest, REASM_EXPIRED);
	struct reasm_msg *m = r->ready_head;
	if (m) {
		r->ready_head = m->next;
		if (!r->ready_head)
			r->ready_tail = NULL;
		m->next = NULL;
	}
	return m;
}

void reasm_flush(struct reasm *r)
{
	while (r->oldest)
		reasm_finish(r, r->oldest, REASM_EXPIRED);
}

size_t reasm_pending(const struct reasm *r)
{
	return r->n_sets;
}
