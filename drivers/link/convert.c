/* link convert: see convert.h. */
#include "link/convert.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "submit_refusal.h"
#include "util.h"

static char empty[] = "";

static char *s_or_empty(char *s)
{
	return s ? s : empty;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

void link_convert_buf_free(struct link_convert_buf *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->p[i]);
	free(b->p);
	*b = (struct link_convert_buf){0};
}

/* Decodes hex into bytes kept in b. */
static int unhex(const char *hex, ProtobufCBinaryData *out, struct link_convert_buf *b)
{
	*out = (ProtobufCBinaryData){0, NULL};
	if (!hex || !*hex)
		return 0;
	size_t cap = strlen(hex) / 2 + 1;
	uint8_t *p = xmalloc(cap);
	int n = hex_decode(hex, p, cap);
	if (n < 0) {
		free(p);
		return -1;
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 8;
		b->p = xrealloc(b->p, b->cap * sizeof *b->p);
	}
	b->p[b->n++] = p;
	*out = (ProtobufCBinaryData){(size_t)n, p};
	return 0;
}

static char *tohex(const ProtobufCBinaryData *d)
{
	if (!d->len)
		return NULL;
	char *s = xmalloc(2 * d->len + 1);
	hex_encode(d->data, d->len, s);
	return s;
}

int link_convert_msg(const struct msg *m, const char *key, Smspool__Link__Message *out, struct link_convert_buf *b,
                     struct errbuf *err)
{
	smspool__link__message__init(out);
	out->key = (char *)key;
	out->recipient = s_or_empty(m->recipient);
	out->sender = s_or_empty(m->sender);
	out->body = s_or_empty(m->body);
	out->encoding = s_or_empty(m->encoding);
	out->client_ref = s_or_empty(m->client_ref);
	if (unhex(m->payload, &out->payload, b))
		return errbuf_set(err, "payload is not hex");
	if (unhex(m->udh, &out->udh, b))
		return errbuf_set(err, "udh is not hex");
	out->priority = m->priority >= 0 && m->priority <= 9 ? (uint32_t)m->priority : 0;
	out->valid_until_ms = m->valid_until_s > 0 ? m->valid_until_s * 1000 : 0;
	out->want_report = m->want_report;
	out->flash = m->flash;
	out->msg_class = m->msg_class;
	return 0;
}

struct submission *link_convert_submission(const Smspool__Link__Message *in, const char *account)
{
	struct submission *s = xcalloc(1, sizeof *s);
	s->account = xstrdup(account);
	s->recipient = xstrdup(in->recipient ? in->recipient : "");
	s->sender = dup_or_null(in->sender);
	s->payload = tohex(&in->payload);
	s->udh = tohex(&in->udh);
	s->body = s->payload ? NULL : xstrdup(in->body ? in->body : "");
	s->encoding = dup_or_null(in->encoding);
	s->client_ref = dup_or_null(in->client_ref);
	s->priority = (int)in->priority;
	s->want_report = in->want_report;
	s->flash = in->flash;
	s->msg_class = in->msg_class;
	s->send_after_s = in->send_after_ms > 0 ? in->send_after_ms / 1000 : 0;
	s->valid_until_s = in->valid_until_ms > 0 ? (in->valid_until_ms + 999) / 1000 : 0;
	s->idempotency_key = xstrdup(in->key);
	return s;
}

void link_convert_state(const struct account_event *ev, const char *instance, Smspool__Link__State *out, char *key,
                        size_t cap)
{
	smspool__link__state__init(out);
	snprintf(key, cap, "%s:%" PRId64, instance, ev->id);
	out->key = key;
	out->id = ev->message_id;
	out->status = s_or_empty(ev->state);
	out->error_code = s_or_empty(ev->error_code);
	out->at_ms = ev->done_s * 1000;
}

void link_convert_state_parts(const struct account_event *ev, Smspool__Link__State *out, struct link_convert_buf *b)
{
	const char *p = ev->part_status;
	if (!p || *p != '{')
		return;
	/* Elements are report state names (no quotes, commas or braces); a
	 * NULL element becomes "pending". */
	size_t n = 1;
	for (const char *q = p; *q; q++)
		n += *q == ',';
	if (n > 255)
		return;
	char **v = xcalloc(n, sizeof *v);
	char *copy = xstrdup(p + 1);
	size_t k = 0;
	for (char *save = NULL, *t = strtok_r(copy, ",}", &save); t && k < n; t = strtok_r(NULL, ",}", &save))
		v[k++] = strcmp(t, "NULL") == 0 ? "pending" : t;
	if (b->n + 2 > b->cap) {
		b->cap = b->cap ? 2 * b->cap + 2 : 8;
		b->p = xrealloc(b->p, b->cap * sizeof *b->p);
	}
	b->p[b->n++] = (uint8_t *)copy;
	b->p[b->n++] = (uint8_t *)v;
	out->part_status = v;
	out->n_part_status = k;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static const char *const final_status[] = {"delivered", "undelivered", "expired", "rejected",
                                           "failed",    "cancelled",   "deleted", NULL};
static const char *const final_report[] = {"delivered", "undelivered", "expired", "rejected", "deleted", NULL};

bool link_convert_state_is_final(const char *status)
{
	return status && in_list(status, final_status);
}

void link_convert_part_id(int64_t id, int part, int parts, char *out, size_t cap)
{
	if (parts <= 1)
		snprintf(out, cap, "%" PRId64, id);
	else
		snprintf(out, cap, "%" PRId64 "/%d", id, part);
}

int64_t link_convert_client_id(const char *key, const char *instance)
{
	size_t n = instance ? strlen(instance) : 0;
	if (!key || !n || strncmp(key, instance, n) != 0 || key[n] != ':')
		return 0;
	const char *p = key + n + 1;
	if (*p < '1' || *p > '9')
		return 0;
	int64_t v = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || v > (INT64_MAX - (*p - '0')) / 10)
			return 0;
		v = v * 10 + (*p - '0');
	}
	return v;
}

static struct report *part_report(const Smspool__Link__State *in, int part, int parts, const char *state, bool by_id)
{
	struct report *r = xcalloc(1, sizeof *r);
	r->message_id = by_id ? in->client_id : 0;
	char id[48];
	link_convert_part_id(in->id, part, parts, id, sizeof id);
	r->remote_id = xstrdup(id);
	r->state = xstrdup(state);
	r->error_code = dup_or_null(in->error_code);
	r->text = dup_or_null(in->error_text);
	return r;
}

struct report *link_convert_part_reports(const Smspool__Link__State *in, bool by_id)
{
	if (in->id <= 0)
		return NULL;
	struct report *head = NULL, **tail = &head;
	size_t n = in->n_part_status ? in->n_part_status : 1;
	bool final = link_convert_state_is_final(in->status);
	const char *msg_state = final && in_list(in->status, final_report) ? in->status : "undelivered";
	bool any = false;
	for (size_t i = 0; i < in->n_part_status; i++)
		any = any || strcmp(in->part_status[i], "pending") != 0;
	for (size_t i = 0; i < n; i++) {
		const char *ps = i < in->n_part_status ? in->part_status[i] : "pending";
		const char *st;
		if (final)
			st = in_list(ps, final_report) ? ps : msg_state;
		else if (!any)
			st = "sent";
		else if (strcmp(ps, "pending") != 0 && !in_list(ps, final_report))
			st = ps;
		else
			continue;
		*tail = part_report(in, (int)i + 1, (int)n, st, by_id);
		tail = &(*tail)->next;
	}
	return head;
}

void link_convert_inbound(const struct account_event *ev, const char *instance, Smspool__Link__Inbound *out,
                          struct link_convert_buf *b, char *key, size_t cap)
{
	smspool__link__inbound__init(out);
	snprintf(key, cap, "%s:%" PRId64, instance, ev->id);
	out->key = key;
	out->sender = s_or_empty(ev->sender);
	out->recipient = s_or_empty(ev->recipient);
	out->body = s_or_empty(ev->body);
	out->encoding = s_or_empty(ev->encoding);
	if (unhex(ev->payload, &out->payload, b))
		out->payload = (ProtobufCBinaryData){0, NULL};
	if (unhex(ev->udh, &out->udh, b))
		out->udh = (ProtobufCBinaryData){0, NULL};
	out->parts = 1;
}

struct report *link_convert_report(const Smspool__Link__State *in, bool by_id)
{
	if (in->id <= 0)
		return NULL;
	static const char *const same[] = {"delivered", "undelivered", "expired", "rejected", "deleted",
	                                   "accepted",  "enroute",     "unknown", NULL};
	const char *st = "undelivered"; /* failed, cancelled: not delivered */
	for (const char *const *p = same; *p; p++)
		if (strcmp(in->status, *p) == 0)
			st = *p;
	struct report *r = xcalloc(1, sizeof *r);
	r->message_id = by_id ? in->client_id : 0;
	char id[32];
	snprintf(id, sizeof id, "%" PRId64, in->id);
	r->remote_id = xstrdup(id);
	r->state = xstrdup(st);
	r->error_code = dup_or_null(in->error_code);
	r->text = dup_or_null(in->error_text);
	return r;
}

struct inbound *link_convert_inbox(const Smspool__Link__Inbound *in)
{
	struct inbound *r = xcalloc(1, sizeof *r);
	r->sender = xstrdup(in->sender ? in->sender : "");
	r->recipient = xstrdup(in->recipient ? in->recipient : "");
	r->payload = tohex(&in->payload);
	r->udh = tohex(&in->udh);
	r->body = r->payload ? NULL : xstrdup(in->body ? in->body : "");
	r->encoding = dup_or_null(in->encoding);
	r->parts = in->parts ? (int)in->parts : 1;
	r->smsc_ts_s = in->smsc_ts_ms / 1000;
	r->key = xstrdup(in->key);
	return r;
}

void link_convert_refusal(const struct submit_result *res, const char **error_class, const char **error_field)
{
	static const char *const cls[] = {[SUBMIT_OK] = "temporary",
	                                  [SUBMIT_INVALID] = "invalid",
	                                  [SUBMIT_THROTTLED] = "throttled",
	                                  [SUBMIT_TEMPORARY] = "temporary"};
	*error_class = (size_t)res->error < ARRAY_LEN(cls) ? cls[res->error] : "temporary";
	*error_field = "";
	if (res->error != SUBMIT_INVALID)
		return;
	if (res->field == SUBMIT_FIELD_ACCOUNT) /* disabled since the login (smspool.submit) */
		*error_class = "forbidden";
	else
		*error_field = submit_field_column(res->field);
}
