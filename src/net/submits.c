/*
 * submits: messages in flight of an SMSC client (see submits.h).
 */
#include "net/submits.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

int submits_held(const struct msg *m, const char *conn, int nparts, char **ids)
{
	if (!m->held_ids || !m->held_conn || !conn || strcmp(m->held_conn, conn) != 0)
		return 0;
	int n = 1, held = 0;
	for (const char *p = m->held_ids; *p; p++)
		n += *p == '\x1f';
	if (n != nparts)
		return 0;
	const char *p = m->held_ids;
	for (int i = 0; i < nparts; i++) {
		size_t len = strcspn(p, "\x1f");
		if (len) {
			ids[i] = xstrndup(p, len);
			held++;
		}
		p += len + (p[len] ? 1 : 0);
	}
	if (held == nparts) {
		for (int i = 0; i < nparts; i++) {
			free(ids[i]);
			ids[i] = NULL;
		}
		return 0;
	}
	return held;
}

struct submits_msg *submits_msg_new(struct msg *m, int nparts)
{
	struct submits_msg *sub = xcalloc(1, sizeof *sub);
	sub->m = m;
	sub->nparts = nparts;
	sub->ids = xcalloc((size_t)nparts, sizeof *sub->ids);
	return sub;
}

void submits_msg_drop(struct submits_msg *sub)
{
	if (!sub)
		return;
	for (int i = 0; i < sub->nparts; i++)
		free(sub->ids[i]);
	free(sub->ids);
	free(sub);
}

struct submits_part *submits_part_new(struct submits *s, struct submits_msg *sub, int idx)
{
	struct submits_part *p = xcalloc(1, sizeof *p);
	p->sub = sub;
	p->idx = idx;
	s->nparts++;
	return p;
}

/* A failed message: the ids of the parts accepted before another failed
 * ("" for the others) go with it, so that its retry sends only the parts
 * without one. */
static void keep_accepted(struct submits_msg *sub)
{
	int accepted = 0;
	for (int i = 0; i < sub->nparts; i++)
		accepted += sub->ids[i] && sub->ids[i][0];
	if (!accepted)
		return;
	const char **ids = xcalloc((size_t)sub->nparts, sizeof *ids);
	for (int i = 0; i < sub->nparts; i++)
		ids[i] = sub->ids[i] ? sub->ids[i] : "";
	msg_set_sent(sub->m, sub->nparts, ids);
	free(ids);
}

static void finish(struct submits *s, struct submits_msg *sub)
{
	struct msg *m = sub->m;
	if (!sub->failed) {
		msg_set_sent(m, sub->nparts, (const char *const *)sub->ids);
	} else if (sub->local_err) {
		keep_accepted(sub);
		msg_set_failed(m, MSG_TEMPORARY, NULL, sub->local_err);
	} else {
		struct submits_class k = {MSG_TEMPORARY, "", NULL};
		s->classify(sub->err, &k);
		keep_accepted(sub);
		/* Throttling is not failure: the message goes back to the queue
		 * without spending an attempt (MSG_RELEASE), after the pause, so
		 * that an SMSC that throttles for minutes fails nothing. */
		msg_set_failed(m, k.outcome, k.code, k.name ? k.name : "unknown error code");
		if (k.outcome == MSG_RELEASE)
			m->retry_after_s = (int)((s->throttle_pause_ms + 999) / 1000) + 1;
	}
	log_debug("submit_complete", "conn=%s proto=%s id=%" PRId64 " outcome=%s parts=%d", conn_name(s->c), s->proto,
	          m->id, msg_outcome_name(m->outcome), sub->nparts);
	submits_msg_drop(sub);
	core_complete(s->c, m);
}

void submits_answer(struct submits *s, struct submits_part *p, const char *id, uint32_t err, const char *local)
{
	struct submits_msg *sub = p->sub;
	s->nparts--;
	if (!local && err == 0) {
		sub->ids[p->idx] = xstrdup(id ? id : "");
	} else if (!sub->failed) {
		sub->failed = true;
		sub->err = err;
		sub->local_err = local;
	}
	free(p);
	if (++sub->answered == sub->nparts)
		finish(s, sub);
}

void submits_forget(struct submits_part *p)
{
	struct submits_msg *sub = p->sub;
	if (++sub->answered == sub->nparts) {
		msg_free(sub->m);
		submits_msg_drop(sub);
	}
	free(p);
}
