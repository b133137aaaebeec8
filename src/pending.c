/* pending: see pending.h. */
#include "pending.h"

#include <stdlib.h>

#include "util.h"

struct entry {
	uint64_t token;
	void *data;
	struct entry *next;
};

struct pending {
	struct entry **b;
	size_t nb, n;
	uint64_t last;
};

struct pending *pending_new(void)
{
	struct pending *t = xcalloc(1, sizeof *t);
	t->nb = 64;
	t->b = xcalloc(t->nb, sizeof *t->b);
	return t;
}

void pending_free(struct pending *t, void (*fn)(void *data))
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nb; i++)
		for (struct entry *e = t->b[i], *n; e; e = n) {
			n = e->next;
			if (fn)
				fn(e->data);
			free(e);
		}
	free(t->b);
	free(t);
}

static void grow(struct pending *t)
{
	size_t nb = 2 * t->nb;
	struct entry **b = xcalloc(nb, sizeof *b);
	for (size_t i = 0; i < t->nb; i++)
		for (struct entry *e = t->b[i], *n; e; e = n) {
			n = e->next;
			e->next = b[e->token % nb];
			b[e->token % nb] = e;
		}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

uint64_t pending_add(struct pending *t, void *data)
{
	if (t->n >= t->nb)
		grow(t);
	struct entry *e = xmalloc(sizeof *e);
	e->token = ++t->last;
	e->data = data;
	e->next = t->b[e->token % t->nb];
	t->b[e->token % t->nb] = e;
	t->n++;
	return e->token;
}

void *pending_take(struct pending *t, uint64_t token)
{
	for (struct entry **pp = &t->b[token % t->nb]; *pp; pp = &(*pp)->next)
		if ((*pp)->token == token) {
			struct entry *e = *pp;
			void *data = e->data;
			*pp = e->next;
			free(e);
			t->n--;
			return data;
		}
	return NULL;
}

size_t pending_count(const struct pending *t)
{
	return t->n;
}
