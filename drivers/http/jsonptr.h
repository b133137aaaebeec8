/*
 * jsonptr: RFC 6901 JSON pointers over jansson values (jansson has none).
 * Pure; used by the response rules and the callback field mapping.
 */
#ifndef SMSPOOL_HTTP_JSONPTR_H
#define SMSPOOL_HTTP_JSONPTR_H

#include <jansson.h>
#include <stdbool.h>

/* True when ptr is a syntactically valid pointer: "" or "/…" with only
 * ~0 and ~1 escapes. */
bool jsonptr_valid(const char *ptr);
/* The value ptr designates in root (borrowed from root), or NULL when it
 * does not exist or ptr is invalid.  Array indexes are decimal without
 * leading zeros; "-" designates nothing. */
json_t *jsonptr_get(const json_t *root, const char *ptr);
/* A scalar as text: strings as they are, integers and reals in decimal,
 * true/false.  Returns a new string, or NULL for NULL, null, objects, arrays. */
char *jsonptr_scalar_text(const json_t *v);

#endif
