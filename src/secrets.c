/* secrets: see secrets.h.  The expanded text lives only in memory long
 * enough to be parsed, and is wiped before it is freed. */
#include "secrets.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SECRET_MAX = 4096 };

static bool is_env_name(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/* The value of one reference into out (capacity SECRET_MAX); 1 when v is a
 * reference and was resolved, 0 when v is no reference, -1 on error. */
static int resolve(const char *key, const char *v, char *out, struct errbuf *err)
{
	size_t n = strlen(v);
	if (n < 4 || strncmp(v, "${", 2) || v[n - 1] != '}')
		return 0;
	const char *ref = v + 2;
	size_t rl = n - 3;
	if (rl > 5 && strncmp(ref, "file:", 5) == 0) {
		char path[1024];
		if (rl - 5 >= sizeof path || ref[5] != '/')
			return errbuf_set(err, "settings.%s: %s: the file must be an absolute path", key, v);
		memcpy(path, ref + 5, rl - 5);
		path[rl - 5] = '\0';
		FILE *f = fopen(path, "r");
		if (!f)
			return errbuf_set(err, "settings.%s: %s: %s", key, v, strerror(errno));
		size_t got = fread(out, 1, SECRET_MAX - 1, f);
		bool more = fgetc(f) != EOF;
		fclose(f);
		if (more)
			return errbuf_set(err, "settings.%s: %s: longer than %d bytes", key, v, SECRET_MAX - 1);
		out[got] = '\0';
		if (got && out[got - 1] == '\n')
			out[--got] = '\0';
		if (got && out[got - 1] == '\r')
			out[--got] = '\0';
		return 1;
	}
	if (!is_env_name(ref, rl))
		return 0;
	char name[256];
	if (rl >= sizeof name)
		return 0;
	memcpy(name, ref, rl);
	name[rl] = '\0';
	const char *e = getenv(name);
	if (!e)
		return errbuf_set(err, "settings.%s: %s: the environment variable %s is not set", key, v, name);
	if (strlen(e) >= SECRET_MAX)
		return errbuf_set(err, "settings.%s: %s: longer than %d bytes", key, v, SECRET_MAX - 1);
	snprintf(out, SECRET_MAX, "%s", e);
	return 1;
}

char *secrets_expand(const char *json_text, struct errbuf *err)
{
	json_error_t je;
	json_t *o = json_loads(json_text ? json_text : "{}", 0, &je);
	if (!o || !json_is_object(o)) {
		/* Not ours to judge: settings_parse() says what is wrong. */
		json_decref(o);
		return xstrdup(json_text ? json_text : "{}");
	}
	const char *key;
	json_t *val;
	bool changed = false;
	char *buf = xmalloc(SECRET_MAX);
	json_object_foreach(o, key, val)
	{
		if (!json_is_string(val))
			continue;
		int r = resolve(key, json_string_value(val), buf, err);
		if (r < 0) {
			free(buf);
			json_decref(o);
			return NULL;
		}
		if (r > 0) {
			json_string_set(val, buf);
			changed = true;
		}
	}
	explicit_bzero(buf, SECRET_MAX);
	free(buf);
	char *out = changed ? json_dumps(o, JSON_COMPACT) : xstrdup(json_text);
	json_decref(o);
	if (!out)
		abort();
	return out;
}

int secrets_settings_parse(const struct setting *table, const char *json_text, void *conf, struct errbuf *err)
{
	char *text = secrets_expand(json_text, err);
	if (!text)
		return -1;
	int rc = settings_parse(table, text, conf, err);
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}
