/* argv: see argv.h.  One compiled template per element of the vector. */
#include "exec/argv.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

struct exec_argv {
	struct http_tpl **tpl;
	size_t n;
	char *program; /* the first element when it is literal */
};

/* Variables of the http template engine that belong to HTTP only. */
static const enum http_var http_only[] = {HV_USERNAME, HV_PASSWORD, HV_TOKEN, HV_CALLBACK_URL};

int exec_argv_compile(const json_t *arr, bool per_message, const char *what, struct exec_argv **out, struct errbuf *err)
{
	*out = NULL;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return errbuf_set(err, "%s: must be a non-empty array of strings", what);
	struct exec_argv *a = xcalloc(1, sizeof *a);
	a->tpl = xcalloc(json_array_size(arr), sizeof *a->tpl);
	size_t i;
	json_t *el;
	json_array_foreach(arr, i, el)
	{
		char w[96];
		snprintf(w, sizeof w, "%s[%zu]", what, i);
		if (!json_is_string(el) || memchr(json_string_value(el), 0, json_string_length(el))) {
			errbuf_set(err, "%s: must be a string", w);
			goto fail;
		}
		if (http_tpl_compile(json_string_value(el), HF_NONE, w, &a->tpl[i], err))
			goto fail;
		a->n = i + 1;
		for (int v = 0; v < HV_COUNT; v++) {
			bool banned = !per_message;
			for (size_t k = 0; k < ARRAY_LEN(http_only); k++)
				banned = banned || v == (int)http_only[k];
			if (banned && http_tpl_uses(a->tpl[i], (enum http_var)v)) {
				errbuf_set(err, "%s: placeholder {%s} is not available here", w,
				           http_var_name((enum http_var)v));
				goto fail;
			}
		}
	}
	if (json_string_length(json_array_get(arr, 0)) == 0) {
		errbuf_set(err, "%s[0]: the program must not be empty", what);
		goto fail;
	}
	bool literal = true;
	for (int v = 0; v < HV_COUNT; v++)
		literal = literal && !http_tpl_uses(a->tpl[0], (enum http_var)v);
	if (literal && !strstr(json_string_value(json_array_get(arr, 0)), "{{"))
		a->program = xstrdup(json_string_value(json_array_get(arr, 0)));
	*out = a;
	return 0;
fail:
	exec_argv_free(a);
	return -1;
}

void exec_argv_free(struct exec_argv *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		http_tpl_free(a->tpl[i]);
	free(a->tpl);
	free(a->program);
	free(a);
}

const char *exec_argv_program(const struct exec_argv *a)
{
	return a->program;
}

char **exec_argv_expand(const struct exec_argv *a, const struct http_tpl_vals *vs, struct errbuf *err)
{
	static const char *const none[HV_COUNT];
	char **v = xcalloc(a->n + 1, sizeof *v);
	for (size_t i = 0; i < a->n; i++) {
		struct sbuf b;
		sbuf_init(&b);
		if (http_tpl_expand(a->tpl[i], vs ? vs->v : none, &b, err)) {
			sbuf_free(&b);
			exec_strv_free(v);
			return NULL;
		}
		sbuf_add(&b, "", 0);
		v[i] = b.buf ? b.buf : xstrdup("");
	}
	if (!v[0][0]) {
		errbuf_set(err, "the program's name expands to nothing");
		exec_strv_free(v);
		return NULL;
	}
	return v;
}

/* Message variables given as SMSPOOL_<NAME> (the others are HTTP's, or
 * derived from these). */
static const enum http_var env_vars[] = {
    HV_ID,    HV_RECIPIENT, HV_SENDER,  HV_TEXT,        HV_CLIENT_REF, HV_ENCODING,
    HV_PARTS, HV_PART_HEX,  HV_UDH_HEX, HV_VALID_UNTIL, HV_ATTEMPT,    HV_WANT_REPORT,
};

static char *env_pair(const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	char *s = xmalloc(nl + vl + 2);
	memcpy(s, name, nl);
	s[nl] = '=';
	memcpy(s + nl + 1, value, vl + 1);
	return s;
}

char **exec_env_build(const char *path, const char *conn, const struct http_tpl_vals *vs, const json_t *extra)
{
	size_t cap = 3 + ARRAY_LEN(env_vars) + (extra ? json_object_size(extra) : 0), n = 0;
	char **e = xcalloc(cap, sizeof *e);
	e[n++] = env_pair("PATH", path ? path : "/usr/local/bin:/usr/bin:/bin");
	e[n++] = env_pair("SMSPOOL_CONNECTION", conn ? conn : "");
	for (size_t i = 0; vs && i < ARRAY_LEN(env_vars); i++) {
		const char *val = vs->v[env_vars[i]];
		if (!val)
			continue;
		char name[64] = "SMSPOOL_";
		const char *vn = http_var_name(env_vars[i]);
		if (env_vars[i] == HV_PART_HEX)
			vn = "payload_hex";
		size_t k = strlen(name);
		for (; *vn && k < sizeof name - 1; vn++)
			name[k++] = (char)toupper((unsigned char)*vn);
		name[k] = 0;
		e[n++] = env_pair(name, val);
	}
	const char *key;
	json_t *v;
	if (extra)
		json_object_foreach((json_t *)extra, key, v)
		{
			if (json_is_string(v))
				e[n++] = env_pair(key, json_string_value(v));
		}
	e[n] = NULL;
	return e;
}

int exec_env_check(const json_t *extra, struct errbuf *err)
{
	if (!extra)
		return 0;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)extra, key, v)
	{
		bool good = *key && (isalpha((unsigned char)*key) || *key == '_');
		for (const char *p = key; good && *p; p++)
			good = isalnum((unsigned char)*p) || *p == '_';
		if (!good || strlen(key) > 60)
			return errbuf_set(err, "settings.env: \"%.60s\" is not a variable name", key);
		if (!strcmp(key, "PATH") || !strncmp(key, "SMSPOOL_", 8))
			return errbuf_set(err, "settings.env: %s is set by smspool itself", key);
		if (!json_is_string(v) || memchr(json_string_value(v), 0, json_string_length(v)))
			return errbuf_set(err, "settings.env.%s: must be a string", key);
	}
	return 0;
}

static void set_str(json_t *o, const char *key, const char *val)
{
	if (val)
		json_object_set_new(o, key, json_string(val));
}

char *exec_msg_json(const struct msg *m, const char *conn, const char *encoding, int parts)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(m->id));
	set_str(o, "connection", conn);
	set_str(o, "recipient", m->recipient);
	set_str(o, "sender", m->sender);
	set_str(o, "text", m->body);
	set_str(o, "payload", m->payload);
	set_str(o, "udh", m->udh);
	set_str(o, "encoding", encoding);
	json_object_set_new(o, "parts", json_integer(parts));
	set_str(o, "client_ref", m->client_ref);
	json_object_set_new(o, "want_report", json_boolean(m->want_report));
	json_object_set_new(o, "flash", json_boolean(m->flash));
	if (m->msg_class >= 0)
		json_object_set_new(o, "class", json_integer(m->msg_class));
	if (m->valid_until_s)
		json_object_set_new(o, "valid_until", json_integer(m->valid_until_s));
	json_object_set_new(o, "attempt", json_integer(m->attempts));
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (!s)
		abort();
	size_t n = strlen(s);
	char *line = xmalloc(n + 2);
	memcpy(line, s, n);
	line[n] = '\n';
	line[n + 1] = 0;
	free(s);
	return line;
}

void exec_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}
