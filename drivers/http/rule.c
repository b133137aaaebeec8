/* rule: see rule.h. */
#include "http/rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/jsonptr.h"

int http_status_set_parse(struct http_status_set *s, const json_t *list, const char *name, struct errbuf *err)
{
	memset(s, 0, sizeof *s);
	if (!json_is_array(list))
		return errbuf_set(err, "settings.%s: must be an array of status codes", name);
	if (json_array_size(list) > HTTP_RULE_MAX_STATUS)
		return errbuf_set(err, "settings.%s: at most %d entries", name, HTTP_RULE_MAX_STATUS);
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		int lo, hi;
		if (json_is_integer(v)) {
			json_int_t x = json_integer_value(v);
			if (x < 100 || x > 599)
				return errbuf_set(err, "settings.%s[%zu]: %lld is not an HTTP status (100..599)", name,
				                  i, (long long)x);
			lo = hi = (int)x;
		} else if (json_is_string(v) && strlen(json_string_value(v)) == 3 && json_string_value(v)[0] >= '1' &&
		           json_string_value(v)[0] <= '5' && strcmp(json_string_value(v) + 1, "xx") == 0) {
			lo = (json_string_value(v)[0] - '0') * 100;
			hi = lo + 99;
		} else {
			return errbuf_set(err, "settings.%s[%zu]: must be a status code or a class like \"5xx\"", name,
			                  i);
		}
		s->lo[s->n] = lo;
		s->hi[s->n] = hi;
		s->n++;
	}
	return 0;
}

bool http_status_in(const struct http_status_set *s, long status)
{
	for (int i = 0; i < s->n; i++)
		if (status >= s->lo[i] && status <= s->hi[i])
			return true;
	return false;
}

static int compile_re(regex_t *re, bool *has, const char *src, const char *name, bool want_group, struct errbuf *err)
{
	if (!src)
		return 0;
	int rc = regcomp(re, src, REG_EXTENDED | (want_group ? 0 : REG_NOSUB));
	if (rc) {
		char msg[128];
		regerror(rc, re, msg, sizeof msg);
		return errbuf_set(err, "settings.%s: bad regular expression: %s", name, msg);
	}
	*has = true;
	if (want_group && re->re_nsub < 1)
		return errbuf_set(err, "settings.%s: needs a group ( ) around the part to extract", name);
	return 0;
}

static int take_ptr(char **dst, const char *src, const char *name, struct errbuf *err)
{
	if (!src)
		return 0;
	if (!jsonptr_valid(src))
		return errbuf_set(err, "settings.%s: \"%s\" is not a JSON pointer (e.g. \"/messages/0/id\")", name,
		                  src);
	*dst = xstrdup(src);
	return 0;
}

int http_rule_compile(struct http_rule *r, const struct http_rule_conf *c, struct errbuf *err)
{
	json_t *def_ok = NULL, *def_tmp = NULL;
	int rc = -1;
	if (!c->success_status)
		def_ok = json_pack("[iii]", 200, 201, 202);
	if (!c->temporary_status)
		def_tmp = json_pack("[iis]", 408, 429, "5xx");
	if (http_status_set_parse(&r->success, c->success_status ? c->success_status : def_ok, "success_status", err) ||
	    http_status_set_parse(&r->temporary, c->temporary_status ? c->temporary_status : def_tmp,
	                          "temporary_status", err))
		goto out;
	if (r->success.n == 0) {
		errbuf_set(err, "settings.success_status: must not be empty");
		goto out;
	}
	if (c->success_regex && c->success_json_pointer) {
		errbuf_set(err, "settings: success_regex and success_json_pointer exclude each other");
		goto out;
	}
	if (c->id_regex && c->id_json_pointer) {
		errbuf_set(err, "settings: id_regex and id_json_pointer exclude each other");
		goto out;
	}
	if (c->error_text_regex && c->error_json_pointer) {
		errbuf_set(err, "settings: error_text_regex and error_json_pointer exclude each other");
		goto out;
	}
	if (!!c->success_json_pointer != !!c->success_value) {
		errbuf_set(err, "settings: success_json_pointer and success_value go together");
		goto out;
	}
	if (compile_re(&r->success_re, &r->has_success_re, c->success_regex, "success_regex", false, err) ||
	    compile_re(&r->id_re, &r->has_id_re, c->id_regex, "id_regex", true, err) ||
	    compile_re(&r->err_re, &r->has_err_re, c->error_text_regex, "error_text_regex", true, err) ||
	    take_ptr(&r->success_ptr, c->success_json_pointer, "success_json_pointer", err) ||
	    take_ptr(&r->id_ptr, c->id_json_pointer, "id_json_pointer", err) ||
	    take_ptr(&r->err_ptr, c->error_json_pointer, "error_json_pointer", err))
		goto out;
	r->success_value = c->success_value ? xstrdup(c->success_value) : NULL;
	r->needs_json = r->success_ptr || r->id_ptr || r->err_ptr;
	rc = 0;
out:
	json_decref(def_ok);
	json_decref(def_tmp);
	return rc;
}

void http_rule_free(struct http_rule *r)
{
	if (r->has_success_re)
		regfree(&r->success_re);
	if (r->has_id_re)
		regfree(&r->id_re);
	if (r->has_err_re)
		regfree(&r->err_re);
	free(r->success_ptr);
	free(r->success_value);
	free(r->id_ptr);
	free(r->err_ptr);
	memset(r, 0, sizeof *r);
}

char *http_excerpt(const char *body, size_t len, size_t max)
{
	char *out = xmalloc(max + 1);
	size_t o = 0;
	bool space = true; /* drops leading spaces */
	for (size_t i = 0; i < len && o < max; i++) {
		unsigned char ch = (unsigned char)body[i];
		if (ch < 0x20 || ch == 0x7F || ch == ' ') {
			if (!space)
				out[o++] = ' ';
			space = true;
			continue;
		}
		size_t n = 1; /* keep UTF-8 sequences whole */
		if (ch >= 0xF0)
			n = 4;
		else if (ch >= 0xE0)
			n = 3;
		else if (ch >= 0xC0)
			n = 2;
		/* A lead byte is followed by continuation bytes, or it is a lone
		 * byte: what follows it (a control character, say) is not copied
		 * unchecked as part of a sequence. */
		for (size_t k = 1; k < n; k++)
			if (i + k >= len || ((unsigned char)body[i + k] & 0xC0) != 0x80) {
				n = 1;
				break;
			}
		if (o + n > max)
			break;
		memcpy(out + o, body + i, n);
		o += n;
		i += n - 1;
		space = false;
	}
	while (o && out[o - 1] == ' ')
		o--;
	out[o] = 0;
	return out;
}

/* The first group of re in body, or NULL. */
static char *re_group(const regex_t *re, const char *body)
{
	regmatch_t m[2];
	if (regexec(re, body, 2, m, 0) != 0 || m[1].rm_so < 0)
		return NULL;
	return xstrndup(body + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
}

static char *ptr_text(const json_t *root, const char *ptr)
{
	return root ? jsonptr_scalar_text(jsonptr_get(root, ptr)) : NULL;
}

static void fail_text(const struct http_rule *r, const json_t *root, const char *body, size_t len,
                      struct http_verdict *v, const char *why)
{
	char *t = NULL;
	if (r->has_err_re)
		t = re_group(&r->err_re, body);
	else if (r->err_ptr)
		t = ptr_text(root, r->err_ptr);
	if (t) { /* the provider's text, printable; nothing left = none */
		char *e = http_excerpt(t, strlen(t), 2 * HTTP_RULE_EXCERPT);
		free(t);
		t = e;
		if (!*t) {
			free(t);
			t = NULL;
		}
	}
	if (!t) {
		t = http_excerpt(body, len, HTTP_RULE_EXCERPT);
		if (!*t) {
			free(t);
			t = xstrdup(why);
		}
	}
	v->text = t;
}

void http_rule_eval(const struct http_rule *r, long status, const char *body, size_t len, struct http_verdict *v)
{
	memset(v, 0, sizeof *v);
	snprintf(v->code, sizeof v->code, "%ld", status);
	json_t *root = NULL;
	if (r->needs_json)
		root = json_loadb(body, len, JSON_DECODE_ANY, NULL);
	if (http_status_in(&r->success, status)) {
		bool ok = true;
		if (r->has_success_re)
			ok = regexec(&r->success_re, body, 0, NULL, 0) == 0;
		if (ok && r->success_ptr) {
			char *got = ptr_text(root, r->success_ptr);
			ok = got && strcmp(got, r->success_value) == 0;
			free(got);
		}
		if (ok) {
			v->outcome = MSG_SENT;
			if (r->has_id_re)
				v->id = re_group(&r->id_re, body);
			else if (r->id_ptr)
				v->id = ptr_text(root, r->id_ptr);
			if (v->id && !*v->id) {
				free(v->id);
				v->id = NULL;
			}
		} else {
			v->outcome = MSG_REJECTED;
			fail_text(r, root, body, len, v, "the response did not match the success rule");
		}
	} else {
		if (status == 429)
			v->outcome = MSG_THROTTLED;
		else if (http_status_in(&r->temporary, status))
			v->outcome = MSG_TEMPORARY;
		else
			v->outcome = MSG_REJECTED;
		fail_text(r, root, body, len, v, "HTTP error without a body");
	}
	json_decref(root);
}

void http_verdict_clear(struct http_verdict *v)
{
	free(v->id);
	free(v->text);
	v->id = v->text = NULL;
}
