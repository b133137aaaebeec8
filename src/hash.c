/* hash: the one hash table (see hash.h). */
#include "hash.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct entry {
	char *key;
	void *value;
	unsigned h;
	struct entry *next;
};

struct hash {
	struct entry **b;
	size_t nb, n;
};

static unsigned key_hash(const char *key)
{
	return fnv1a(FNV1A_INIT, key, strlen(key));
}

struct hash *hash_new(void)
{
	struct hash *h = xcalloc(1, sizeof *h);
	h->nb = 16;
	h->b = xcalloc(h->nb, sizeof *h->b);
	return h;
}

void hash_free(struct hash *h, void (*free_value)(void *value))
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nb; i++)
		for (struct entry *e = h->b[i], *n; e; e = n) {
			n = e->next;
			if (free_value)
				free_value(e->value);
			free(e->key);
			free(e);
		}
	free(h->b);
	free(h);
}

static struct entry **find(const struct hash *h, const char *key, unsigned hv)
{
	struct entry **pp = &h->b[hv & (h->nb - 1)];
	while (*pp && ((*pp)->h != hv || strcmp((*pp)->key, key) != 0))
		pp = &(*pp)->next;
	return pp;
}

void *hash_get(const struct hash *h, const char *key)
{
	struct entry *e = *find(h, key, key_hash(key));
	return e ? e->value : NULL;
}

static void grow(struct hash *h)
{
	size_t nb = h->nb * 2;
	struct entry **b = xcalloc(nb, sizeof *b);
	for (size_t i = 0; i < h->nb; i++)
		for (struct entry *e = h->b[i], *n; e; e = n) {
			n = e->next;
			e->next = b[e->h & (nb - 1)];
			b[e->h & (nb - 1)] = e;
		}
	free(h->b);
	h->b = b;
	h->nb = nb;
}

void *hash_put(struct hash *h, const char *key, void *value)
{
	unsigned hv = key_hash(key);
	struct entry **pp = find(h, key, hv);
	if (*pp) {
		void *old = (*pp)->value;
		(*pp)->value = value;
		return old;
	}
	struct entry *e = xcalloc(1, sizeof *e);
	e->key = xstrdup(key);
	e->value = value;
	e->h = hv;
	*pp = e;
	if (++h->n > h->nb)
		grow(h);
	return NULL;
}

void *hash_remove(struct hash *h, const char *key)
{
	struct entry **pp = find(h, key, key_hash(key));
	struct entry *e = *pp;
	if (!e)
		return NULL;
	void *v = e->value;
	*pp = e->next;
	free(e->key);
	free(e);
	h->n--;
	return v;
}

size_t hash_count(const struct hash *h)
{
	return h->n;
}

void hash_each(struct hash *h, bool (*fn)(const char *key, void *value, void *arg), void *arg)
{
	for (size_t i = 0; i < h->nb; i++)
		for (struct entry **pp = &h->b[i]; *pp;) {
			struct entry *e = *pp;
			if (fn(e->key, e->value, arg)) {
				*pp = e->next;
				free(e->key);
				free(e);
				h->n--;
			} else {
				pp = &e->next;
			}
		}
}
