/* result: see result.h. */
#include "exec/result.h"

#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "codec/utf8.h"
#include "http/jsonptr.h"
#include "util.h"

char *exec_first_line(const char *s, size_t n, size_t max)
{
	const char *nl = s ? memchr(s, '\n', n) : NULL;
	if (nl)
		n = (size_t)(nl - s);
	char *o = xmalloc(max + 1);
	size_t len = 0, pos = 0;
	while (pos < n) {
		size_t at = pos;
		uint32_t cp;
		if (utf8_decode_next(s, n, &pos, &cp)) {
			pos = at + 1;
			cp = '?';
		} else if (cp < 0x20 || cp == 0x7F) {
			cp = cp == '\t' || cp == '\r' ? ' ' : '?';
		}
		char enc[4];
		size_t k = cp < 0x80 ? (enc[0] = (char)cp, 1) : utf8_encode(cp, enc);
		if (len + k > max)
			break;
		memcpy(o + len, enc, k);
		len += k;
	}
	o[len] = 0;
	size_t b = 0;
	while (o[b] == ' ')
		b++;
	while (len > b && o[len - 1] == ' ')
		len--;
	o[len] = 0;
	if (b)
		memmove(o, o + b, len - b + 1);
	return o;
}

/* The text of a failure: stderr's first line, or what describes it. */
static char *failure_text(const struct exec_end *end, const char *fallback)
{
	char *line = exec_first_line(end->err, end->err_len, 300);
	if (*line)
		return line;
	free(line);
	return xstrdup(fallback);
}

static bool clean_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 200 || utf8_validate(s, n, NULL))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7F || *s == 0x1F)
			return false;
	return true;
}

static char *remote_id(const struct exec_result_conf *conf, const struct exec_end *end)
{
	char *id = NULL;
	if (conf->id_json_pointer) {
		json_t *root = json_loadb(end->out ? end->out : "", end->out_len, JSON_DECODE_ANY, NULL);
		if (root)
			id = jsonptr_scalar_text(jsonptr_get(root, conf->id_json_pointer));
		json_decref(root);
	} else {
		const char *nl = end->out ? memchr(end->out, '\n', end->out_len) : NULL;
		size_t n = nl ? (size_t)(nl - end->out) : end->out_len;
		if (n && end->out[n - 1] == '\r')
			n--;
		while (n && (end->out[n - 1] == ' ' || end->out[n - 1] == '\t'))
			n--;
		const char *s = end->out;
		while (n && (*s == ' ' || *s == '\t'))
			s++, n--;
		if (n && !memchr(s, 0, n))
			id = xstrndup(s, n);
	}
	if (id && !clean_id(id)) {
		free(id);
		id = NULL;
	}
	return id;
}

void exec_result_map(const struct exec_result_conf *conf, const struct exec_end *end, struct exec_verdict *v)
{
	memset(v, 0, sizeof *v);
	char what[96];
	if (end->timed_out) {
		v->outcome = MSG_TEMPORARY;
		snprintf(v->code, sizeof v->code, "timeout");
		v->text = xstrdup("no answer within timeout_ms: its process group was killed");
		return;
	}
	if (WIFSIGNALED(end->wait_status)) {
		int sig = WTERMSIG(end->wait_status);
		v->outcome = MSG_TEMPORARY;
		snprintf(v->code, sizeof v->code, "signal:%d", sig);
		snprintf(what, sizeof what, "killed by signal %d (%s)", sig,
		         sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
		v->text = failure_text(end, what);
		return;
	}
	int code = WIFEXITED(end->wait_status) ? WEXITSTATUS(end->wait_status) : 255;
	if (code == 0) {
		v->outcome = MSG_SENT;
		v->remote_id = remote_id(conf, end);
		return;
	}
	v->outcome = MSG_REJECTED;
	for (size_t i = 0; i < conf->ntemporary; i++)
		if (conf->temporary_codes[i] == code)
			v->outcome = MSG_TEMPORARY;
	snprintf(v->code, sizeof v->code, "exit:%d", code);
	snprintf(what, sizeof what, "exit status %d", code);
	v->text = failure_text(end, what);
}

void exec_verdict_clear(struct exec_verdict *v)
{
	free(v->remote_id);
	free(v->text);
	memset(v, 0, sizeof *v);
}

int exec_result_batch_line(const char *line, size_t n, int64_t *id, struct exec_verdict *v)
{
	memset(v, 0, sizeof *v);
	json_t *o = json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL);
	json_t *jid = json_object_get(o, "id"), *rid = json_object_get(o, "remote_id"),
	       *err = json_object_get(o, "error"), *tmp = json_object_get(o, "temporary");
	int rc = -1;
	if (!json_is_object(o) || !json_is_integer(jid) || (!rid == !err) || (rid && !json_is_string(rid)) ||
	    (err && !json_is_string(err)) || (tmp && !json_is_boolean(tmp)))
		goto out;
	*id = (int64_t)json_integer_value(jid);
	if (rid) {
		v->outcome = MSG_SENT;
		v->remote_id = xstrdup(json_string_value(rid));
		if (!clean_id(v->remote_id)) {
			free(v->remote_id);
			v->remote_id = NULL; /* sent, with our own id */
		}
	} else {
		v->outcome = json_is_true(tmp) ? MSG_TEMPORARY : MSG_REJECTED;
		snprintf(v->code, sizeof v->code, "program");
		const char *t = json_string_value(err);
		v->text = exec_first_line(t, json_string_length(err), 300);
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}
