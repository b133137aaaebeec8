/*
 * inacks: answers to an SMSC's deliveries, sent after commit (see
 * inacks.h).  A long text's parts are held in a set keyed as the
 * reassembler keys them: "kind US sender US recipient", which carries what
 * the finished text needs.
 */
#include "net/inacks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "log.h"
#include "msg_sms.h"
#include "util.h"

struct inacks_set {
	char *key;
	unsigned ref, total;
	struct inacks_acc *acc;
	struct inacks_set *next;
};

void inacks_init(struct inacks *ia, struct conn *c, const struct inacks_ops *ops, void *arg, size_t max_sets,
                 uint64_t reasm_timeout_ms)
{
	memset(ia, 0, sizeof *ia);
	ia->conn = conn_name(c);
	ia->c = c;
	ia->ops = ops;
	ia->arg = arg;
	ia->reasm = reasm_new(max_sets, reasm_timeout_ms);
}

void inacks_acc_free(struct inacks_acc *a)
{
	if (a) {
		free(a->refs);
		free(a);
	}
}

static void acc_free_value(void *v)
{
	inacks_acc_free(v);
}

void inacks_free(struct inacks *ia)
{
	tokens_clear(&ia->t, acc_free_value);
	for (struct inacks_set *s = ia->sets, *n; s; s = n) {
		n = s->next;
		inacks_acc_free(s->acc);
		free(s->key);
		free(s);
	}
	ia->sets = NULL;
	reasm_free(ia->reasm);
	ia->reasm = NULL;
}

static void acc_add(struct inacks_acc *a, struct inacks_ref r)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 2;
		a->refs = xrealloc(a->refs, a->cap * sizeof *a->refs);
	}
	a->refs[a->n++] = r;
}

uint64_t inacks_one(struct inacks *ia, struct inacks_ref r)
{
	struct inacks_acc *a = xcalloc(1, sizeof *a);
	acc_add(a, r);
	return tokens_add(&ia->t, a);
}

static struct inacks_set *set_find(struct inacks *ia, const char *key, unsigned ref, unsigned total, bool unlink)
{
	for (struct inacks_set **pp = &ia->sets; *pp; pp = &(*pp)->next) {
		struct inacks_set *s = *pp;
		if (s->ref == ref && s->total == total && strcmp(s->key, key) == 0) {
			if (unlink)
				*pp = s->next;
			return s;
		}
	}
	return NULL;
}

int inacks_part(struct inacks *ia, unsigned kind, const char *sender, const char *recipient, unsigned ref,
                unsigned total, unsigned seq, const uint8_t *data, size_t len, struct inacks_ref r)
{
	size_t n = strlen(sender) + strlen(recipient) + 16;
	char *key = xmalloc(n);
	snprintf(key, n, "%u\x1f%s\x1f%s", kind, sender, recipient);
	struct reasm_part rp = {
	    .conn_id = ia->conn, .originator = key, .ref = ref, .total = total, .seq = seq, .data = data, .len = len};
	enum reasm_add_result res;
	if (len > REASM_PART_MAX || reasm_add(ia->reasm, &rp, now_mono_ms(), &res)) {
		free(key);
		return -1;
	}
	struct inacks_set *s = set_find(ia, key, ref, total, false);
	if (!s) {
		s = xcalloc(1, sizeof *s);
		s->key = key;
		s->ref = ref;
		s->total = total;
		s->acc = xcalloc(1, sizeof *s->acc);
		s->next = ia->sets;
		ia->sets = s;
	} else {
		free(key);
	}
	acc_add(s->acc, r);
	return 0;
}

struct reasm_msg *inacks_poll(struct inacks *ia, struct inbound **in, unsigned *kind, uint64_t *token)
{
	struct reasm_msg *rm;
	while ((rm = reasm_poll(ia->reasm, now_mono_ms()))) {
		struct inacks_set *s = set_find(ia, rm->originator, rm->ref, rm->total, true);
		*token = 0;
		if (s) {
			if (s->acc->n) {
				*token = tokens_add(&ia->t, s->acc);
				s->acc = NULL;
			}
			inacks_acc_free(s->acc);
			free(s->key);
			free(s);
		}
		char *key = xstrdup(rm->originator);
		char *sender = strchr(key, '\x1f');
		char *recipient = sender ? strchr(sender + 1, '\x1f') : NULL;
		if (!recipient) { /* cannot happen: inacks_part made the key */
			free(key);
			reasm_msg_free(rm);
			continue;
		}
		*sender++ = 0;
		*recipient++ = 0;
		*kind = (unsigned)strtoul(key, NULL, 10);
		*in = xcalloc(1, sizeof **in);
		(*in)->sender = xstrdup(sender);
		(*in)->recipient = xstrdup(recipient);
		(*in)->parts = (int)rm->received;
		free(key);
		return rm;
	}
	return NULL;
}

struct inacks_acc *inacks_take(struct inacks *ia, uint64_t token)
{
	return tokens_take(&ia->t, token);
}

int inacks_waiting(const struct inacks *ia)
{
	return ia->t.n;
}

size_t inacks_partial(const struct inacks *ia)
{
	return reasm_pending(ia->reasm);
}

static void ev_name(const struct inacks *ia, const char *what, char *out, size_t cap)
{
	snprintf(out, cap, "%s_%s", ia->ops->log_prefix, what);
}

void inacks_drain(struct inacks *ia)
{
	struct reasm_msg *rm;
	struct inbound *in;
	unsigned kind;
	uint64_t token;
	char name[64];
	while ((rm = inacks_poll(ia, &in, &kind, &token))) {
		ia->ops->text(ia->arg, kind, rm->data, rm->len, in);
		if (rm->status != REASM_COMPLETE) {
			ev_name(ia, "partial_text", name, sizeof name);
			log_warn(name, "conn=%s sender=%s parts=%u of %u reason=%s", ia->conn, in->sender, rm->received,
			         rm->total, rm->status == REASM_EXPIRED ? "timeout" : "evicted");
		}
		reasm_msg_free(rm);
		core_received(ia->c, in, token);
	}
}

void inacks_text(struct inacks *ia, struct inacks_text *t, struct inacks_ref r)
{
	char name[64];
	if (t->total > 1 && t->seq >= 1 && t->seq <= t->total &&
	    inacks_part(ia, t->kind, t->sender, t->recipient, t->ref, t->total, t->seq, t->data, t->len, r) == 0) {
		free(t->sender);
		free(t->recipient);
		inacks_drain(ia);
		return;
	}
	struct inbound *in = xcalloc(1, sizeof *in);
	in->sender = t->sender;
	in->recipient = t->recipient;
	in->parts = 1;
	in->smsc_ts_s = t->smsc_ts_s;
	if (t->udh && t->udh_len)
		in->udh = msg_sms_hex(t->udh, t->udh_len);
	ia->ops->text(ia->arg, t->kind, t->data, t->len, in);
	ev_name(ia, "inbound", name, sizeof name);
	log_debug(name, "conn=%s sender=%s encoding=%s", ia->conn, in->sender, in->encoding);
	core_received(ia->c, in, inacks_one(ia, r));
}

void inacks_report(struct inacks *ia, struct report *rep, const uint8_t *d, size_t n, struct inacks_ref r)
{
	char name[64];
	if (d) {
		char *t = xmalloc(n + 1);
		for (size_t i = 0; i < n; i++)
			t[i] = d[i] >= 0x20 && d[i] < 0x7F ? (char)d[i] : '?';
		t[n] = 0;
		rep->text = t;
	}
	ev_name(ia, "report", name, sizeof name);
	log_debug(name, "conn=%s id=%s state=%s", ia->conn, rep->remote_id, rep->state);
	core_report(ia->c, rep, inacks_one(ia, r));
}

void inacks_acked(struct inacks *ia, uint64_t token, bool committed)
{
	struct inacks_acc *a = inacks_take(ia, token);
	char name[64];
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		const struct inacks_ref *r = &a->refs[i];
		if (ia->ops->live(ia->arg, r)) {
			ia->ops->answer(ia->arg, r, committed);
			continue;
		}
		ev_name(ia, "ack_dropped", name, sizeof name);
		log_debug(name, "conn=%s seq=%u reason=\"session gone\"", ia->conn, r->seq);
	}
	inacks_acc_free(a);
}

void inacks_stopped(const struct inacks *ia)
{
	char name[64];
	if (!inacks_waiting(ia) && !inacks_partial(ia))
		return;
	ev_name(ia, "stop_unanswered", name, sizeof name);
	log_info(name, "conn=%s deliveries=%d partial_texts=%zu", ia->conn, inacks_waiting(ia), inacks_partial(ia));
}
