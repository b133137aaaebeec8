/*
 * tokens: calls to the core waiting for their answer (see tokens.h).
 */
#include "net/tokens.h"

#include <stdlib.h>

#include "util.h"

struct tokens_node {
	uint64_t token;
	void *value;
	struct tokens_node *next;
};

uint64_t tokens_add(struct tokens *t, void *value)
{
	struct tokens_node *n = xmalloc(sizeof *n);
	n->token = ++t->next;
	n->value = value;
	unsigned b = (unsigned)(n->token % TOKENS_BUCKETS);
	n->next = t->b[b];
	t->b[b] = n;
	t->n++;
	return n->token;
}

void *tokens_take(struct tokens *t, uint64_t token)
{
	for (struct tokens_node **pp = &t->b[token % TOKENS_BUCKETS]; *pp; pp = &(*pp)->next)
		if ((*pp)->token == token) {
			struct tokens_node *n = *pp;
			void *v = n->value;
			*pp = n->next;
			free(n);
			t->n--;
			return v;
		}
	return NULL;
}

void tokens_clear(struct tokens *t, void (*free_value)(void *value))
{
	for (int i = 0; i < TOKENS_BUCKETS; i++)
		for (struct tokens_node *n = t->b[i], *next; n; n = next) {
			next = n->next;
			if (free_value)
				free_value(n->value);
			free(n);
		}
	for (int i = 0; i < TOKENS_BUCKETS; i++)
		t->b[i] = NULL;
	t->n = 0;
}
