/* msg: see msg.h. */
#include "msg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const outcome_names[] = {
    [MSG_SENT] = "sent",     [MSG_TEMPORARY] = "temporary", [MSG_THROTTLED] = "throttled", [MSG_REJECTED] = "rejected",
    [MSG_FAILED] = "failed", [MSG_NO_ROUTE] = "no_route",   [MSG_RELEASE] = "release",     [MSG_EXPIRED] = "expired",
};

const char *msg_outcome_name(enum msg_outcome o)
{
	return (unsigned)o < ARRAY_LEN(outcome_names) ? outcome_names[o] : "failed";
}

void msg_free(struct msg *m)
{
	if (!m)
		return;
	free(m->recipient);
	free(m->sender);
	free(m->body);
	free(m->payload);
	free(m->udh);
	free(m->encoding);
	free(m->client_ref);
	free(m->forced_conn);
	for (int i = 0; i < m->nroute; i++)
		free(m->route[i].conn);
	free(m->route);
	free(m->redirected_from);
	free(m->conn_used);
	free(m->remote_ids);
	free(m->held_ids);
	free(m->held_conn);
	free(m->error_code);
	free(m->error_text);
	free(m);
}

void msg_set_sent(struct msg *m, int parts, const char *const *remote_ids)
{
	size_t len = 1;
	for (int i = 0; i < parts; i++)
		len += strlen(remote_ids[i]) + 1;
	char *joined = xmalloc(len), *p = joined;
	for (int i = 0; i < parts; i++) {
		size_t n = strlen(remote_ids[i]);
		if (i)
			*p++ = '\x1f';
		memcpy(p, remote_ids[i], n);
		p += n;
	}
	*p = '\0';
	free(m->remote_ids);
	m->remote_ids = joined;
	m->parts = parts;
	m->outcome = MSG_SENT;
}

void msg_set_sent_own_ids(struct msg *m, int parts, char prefix)
{
	char **ids = xcalloc((size_t)parts, sizeof *ids);
	for (int i = 0; i < parts; i++) {
		char id[64];
		snprintf(id, sizeof id, "%c%" PRId64 ".%d.%d", prefix, m->id, m->attempts, i + 1);
		ids[i] = xstrdup(id);
	}
	msg_set_sent(m, parts, (const char *const *)ids);
	for (int i = 0; i < parts; i++)
		free(ids[i]);
	free(ids);
}

void msg_set_failed(struct msg *m, enum msg_outcome o, const char *code, const char *text)
{
	m->outcome = o;
	free(m->error_code);
	free(m->error_text);
	m->error_code = code ? xstrdup(code) : NULL;
	m->error_text = text ? xstrdup(text) : NULL;
}

void msg_list_push(struct msg_list *l, struct msg *m)
{
	m->next = NULL;
	if (l->tail)
		l->tail->next = m;
	else
		l->head = m;
	l->tail = m;
	l->len++;
}

struct msg *msg_list_pop(struct msg_list *l)
{
	struct msg *m = l->head;
	if (!m)
		return NULL;
	l->head = m->next;
	if (!l->head)
		l->tail = NULL;
	l->len--;
	m->next = NULL;
	return m;
}

void msg_list_concat(struct msg_list *dst, struct msg_list *src)
{
	if (!src->head)
		return;
	if (dst->tail)
		dst->tail->next = src->head;
	else
		dst->head = src->head;
	dst->tail = src->tail;
	dst->len += src->len;
	src->head = src->tail = NULL;
	src->len = 0;
}

void inbound_free(struct inbound *in)
{
	if (!in)
		return;
	free(in->conn);
	free(in->sender);
	free(in->recipient);
	free(in->body);
	free(in->payload);
	free(in->udh);
	free(in->encoding);
	free(in->key);
	free(in);
}

void report_free(struct report *r)
{
	if (!r)
		return;
	free(r->conn);
	free(r->remote_id);
	free(r->state);
	free(r->error_code);
	free(r->text);
	free(r);
}

void submission_free(struct submission *s)
{
	if (!s)
		return;
	free(s->account);
	free(s->recipient);
	free(s->sender);
	free(s->body);
	free(s->payload);
	free(s->udh);
	free(s->encoding);
	free(s->client_ref);
	free(s->idempotency_key);
	free(s);
}

void account_info_free(struct account_info *a)
{
	if (!a)
		return;
	free(a->name);
	free(a);
}

void account_event_free(struct account_event *e)
{
	if (!e)
		return;
	free(e->account);
	free(e->client_ref);
	free(e->part_status);
	free(e->idempotency_key);
	free(e->state);
	free(e->error_code);
	free(e->sender);
	free(e->recipient);
	free(e->body);
	free(e->payload);
	free(e->udh);
	free(e->encoding);
	free(e);
}

void message_status_free(struct message_status *st)
{
	if (!st)
		return;
	free(st->status);
	free(st->recipient);
	free(st->sender);
	free(st->client_ref);
	free(st->connection_used);
	free(st->error_class);
	free(st->error_code);
	free(st->error_text);
	free(st);
}
