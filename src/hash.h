/*
 * hash: the one hash table, string keys to pointers (chained, FNV-1a,
 * doubling when the load passes one).  For tables that grow with what peers
 * send (addresses, accounts, cached logins): callers bound them.
 *
 * Ownership: keys are copied; values are the caller's (hash_free calls
 * free_value on each, when given).
 */
#ifndef SMSPOOL_HASH_H
#define SMSPOOL_HASH_H

#include <stdbool.h>
#include <stddef.h>

struct hash;

struct hash *hash_new(void);
void hash_free(struct hash *h, void (*free_value)(void *value));

/* The value of key, or NULL. */
void *hash_get(const struct hash *h, const char *key);
/* Sets key to value (not NULL); returns the value it replaces, or NULL. */
void *hash_put(struct hash *h, const char *key, void *value);
/* Removes key; returns its value, or NULL. */
void *hash_remove(struct hash *h, const char *key);
size_t hash_count(const struct hash *h);
/* Calls fn on every entry; an entry for which fn returns true is removed
 * (fn then owns its value).  fn MUST NOT change h otherwise. */
void hash_each(struct hash *h, bool (*fn)(const char *key, void *value, void *arg), void *arg);

#endif
