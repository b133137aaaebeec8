/* sms_held: see sms_held.h.  Short lists: a device holds a few hundred
 * texts at most, and sets and tokens leave as soon as the core has them. */
#include "sms_held.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg_sms.h"
#include "util.h"

void sms_held_init(struct sms_held *h, struct conn *c, unsigned max_sets, uint64_t timeout_ms, const char *event,
                   struct inbound *(*inbound)(void *arg, const char *sender, const struct reasm_msg *rm), void *arg)
{
	memset(h, 0, sizeof *h);
	h->reasm = reasm_new(max_sets, timeout_ms);
	h->c = c;
	h->event = event;
	h->inbound = inbound;
	h->arg = arg;
	h->next_token = 1;
}

void sms_held_free(struct sms_held *h)
{
	if (h->reasm) {
		reasm_flush(h->reasm);
		reasm_free(h->reasm);
	}
	for (struct sms_held_set *s = h->sets, *n; s; s = n) {
		n = s->next;
		free(s->key);
		free(s);
	}
	for (struct sms_held_token *t = h->pending, *n; t; t = n) {
		n = t->next;
		free(t);
	}
	h->reasm = NULL;
	h->sets = NULL;
	h->pending = NULL;
}

static bool held_in(const int64_t *v, int n, int64_t loc)
{
	for (int i = 0; i < n; i++)
		if (v[i] == loc)
			return true;
	return false;
}

bool sms_held_has(const struct sms_held *h, int64_t loc)
{
	for (const struct sms_held_token *t = h->pending; t; t = t->next)
		if (held_in(t->locs, t->n, loc))
			return true;
	for (const struct sms_held_set *s = h->sets; s; s = s->next)
		if (held_in(s->locs, s->n, loc))
			return true;
	return false;
}

uint64_t sms_held_token(struct sms_held *h, const int64_t *locs, int n)
{
	struct sms_held_token *t = xcalloc(1, sizeof *t);
	t->token = h->next_token++;
	t->n = n < REASM_MAX_PARTS ? n : REASM_MAX_PARTS;
	memcpy(t->locs, locs, (size_t)t->n * sizeof *locs);
	t->next = h->pending;
	h->pending = t;
	return t->token;
}

struct sms_held_token *sms_held_take(struct sms_held *h, uint64_t token)
{
	struct sms_held_token **pp = &h->pending, *t;
	while ((t = *pp) && t->token != token)
		pp = &t->next;
	if (t)
		*pp = t->next;
	return t;
}

bool sms_held_is_part(const struct tpdu *t, struct udh *u)
{
	return t->udh_len && udh_parse(t->udh, t->udh_len, u, NULL) == 0 && u->has_concat && u->concat_total > 1 &&
	       u->concat_seq >= 1 && u->concat_seq <= u->concat_total;
}

bool sms_held_part(struct sms_held *h, const struct tpdu *t, const struct udh *u, int64_t loc)
{
	char key[TPDU_ADDR_MAX + 8];
	snprintf(key, sizeof key, "%d\x1f%s", (int)t->alphabet, t->addr.text);
	struct reasm_part rp = {.conn_id = conn_name(h->c),
	                        .originator = key,
	                        .ref = u->concat_ref,
	                        .total = u->concat_total,
	                        .seq = u->concat_seq,
	                        .data = t->payload,
	                        .len = t->payload_len};
	enum reasm_add_result res;
	if (reasm_add(h->reasm, &rp, now_mono_ms(), &res) != 0)
		return false;
	struct sms_held_set *s = h->sets;
	while (s && !(s->ref == u->concat_ref && s->total == u->concat_total && !strcmp(s->key, key)))
		s = s->next;
	if (!s) {
		s = xcalloc(1, sizeof *s);
		s->key = xstrdup(key);
		s->ref = u->concat_ref;
		s->total = u->concat_total;
		s->next = h->sets;
		h->sets = s;
	}
	if (s->n < REASM_MAX_PARTS)
		s->locs[s->n++] = loc;
	sms_held_drain(h);
	return true;
}

void sms_held_drain(struct sms_held *h)
{
	struct reasm_msg *rm;
	while ((rm = reasm_poll(h->reasm, now_mono_ms()))) {
		const char *sender = strchr(rm->originator, '\x1f');
		enum tpdu_alphabet al = (enum tpdu_alphabet)atoi(rm->originator);
		struct inbound *in = h->inbound(h->arg, sender ? sender + 1 : "", rm);
		in->parts = (int)rm->received;
		msg_sms_inbound_text(in, al, rm->data, rm->len);
		if (rm->status != REASM_COMPLETE)
			log_warn(h->event, "conn=%s sender=%s parts=%u of %u", conn_name(h->c), in->sender,
			         rm->received, rm->total);
		struct sms_held_set **pp = &h->sets, *s;
		while ((s = *pp) && !(s->ref == rm->ref && s->total == rm->total && !strcmp(s->key, rm->originator)))
			pp = &s->next;
		uint64_t token = 0;
		if (s) {
			*pp = s->next;
			if (s->n)
				token = sms_held_token(h, s->locs, s->n);
			free(s->key);
			free(s);
		}
		reasm_msg_free(rm);
		core_received(h->c, in, token);
	}
}
