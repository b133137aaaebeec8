/* jsonptr: see jsonptr.h. */
#include "http/jsonptr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

bool jsonptr_valid(const char *ptr)
{
	if (!ptr)
		return false;
	if (*ptr && *ptr != '/')
		return false;
	for (const char *p = ptr; *p; p++)
		if (*p == '~' && p[1] != '0' && p[1] != '1')
			return false;
	return true;
}

/* Unescapes one reference token [s, e) into a new string. */
static char *token(const char *s, const char *e)
{
	char *t = xmalloc((size_t)(e - s) + 1), *o = t;
	for (; s < e; s++) {
		if (*s == '~') {
			*o++ = s[1] == '0' ? '~' : '/';
			s++;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
	return t;
}

json_t *jsonptr_get(const json_t *root, const char *ptr)
{
	if (!root || !jsonptr_valid(ptr))
		return NULL;
	json_t *cur = (json_t *)root;
	const char *p = ptr;
	while (cur && *p == '/') {
		const char *s = p + 1, *e = s;
		while (*e && *e != '/')
			e++;
		char *t = token(s, e);
		if (json_is_object(cur)) {
			cur = json_object_get(cur, t);
		} else if (json_is_array(cur)) {
			size_t len = strlen(t), idx = 0;
			bool ok = len > 0 && len <= 9 && !(len > 1 && t[0] == '0');
			for (size_t i = 0; ok && i < len; i++) {
				ok = isdigit((unsigned char)t[i]);
				idx = idx * 10 + (size_t)(t[i] - '0');
			}
			cur = ok ? json_array_get(cur, idx) : NULL;
		} else {
			cur = NULL;
		}
		free(t);
		p = e;
	}
	return cur;
}

char *jsonptr_scalar_text(const json_t *v)
{
	char buf[64];
	if (!v)
		return NULL;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return xstrndup(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return xstrdup(buf);
	case JSON_REAL:
		snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
		return xstrdup(buf);
	case JSON_TRUE:
		return xstrdup("true");
	case JSON_FALSE:
		return xstrdup("false");
	default:
		return NULL;
	}
}
