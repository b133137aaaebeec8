/*
 * loopback: a connection that sends nowhere.  Every message is accepted,
 * reported delivered, and comes back as an inbound text with sender and
 * recipient swapped — an end-to-end check of the whole spool without a peer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "msg_parts.h"
#include "util.h"

struct loopback_conf {
	char *reply_sender; /* recipient of the returned text when the message had no sender */
};

static const struct setting loopback_settings[] = {
    {"reply_sender", SETTING_STRING, offsetof(struct loopback_conf, reply_sender), false, false, 0, 0, "\"loopback\"",
     "recipient of the returned text when the message had no sender"},
    SETTINGS_END,
};

static int loopback_open(struct conn *c)
{
	core_conn_state(c, CONN_UP, NULL);
	return 0;
}

static void loopback_submit(struct conn *c, struct msg *m)
{
	const struct loopback_conf *conf = conn_conf(c);
	struct errbuf err;
	const char *encoding = "gsm7";
	int parts = msg_parts(m, &encoding, &err);
	if (parts < 0) {
		msg_set_failed(m, MSG_FAILED, "encoding", err.msg);
		core_complete(c, m);
		return;
	}
	msg_set_sent_own_ids(m, parts, 'L');
	if (m->want_report)
		for (const char *p = m->remote_ids; p;) {
			const char *sep = strchr(p, '\x1f');
			struct report *r = xcalloc(1, sizeof *r);
			r->remote_id = sep ? xstrndup(p, (size_t)(sep - p)) : xstrdup(p);
			r->state = xstrdup("delivered");
			r->error_code = xstrdup("000");
			core_report(c, r, 0);
			p = sep ? sep + 1 : NULL;
		}
	struct inbound *in = xcalloc(1, sizeof *in);
	in->sender = xstrdup(m->recipient);
	in->recipient = xstrdup(m->sender ? m->sender : conf->reply_sender);
	in->body = m->body ? xstrdup(m->body) : NULL;
	in->payload = m->payload ? xstrdup(m->payload) : NULL;
	in->udh = m->udh ? xstrdup(m->udh) : NULL;
	in->encoding = xstrdup(encoding);
	in->parts = parts;
	core_complete(c, m);
	core_received(c, in, 0);
}

static void loopback_stop(struct conn *c)
{
	core_stopped(c); /* nothing is ever held */
}

static void loopback_close(struct conn *c)
{
}

const struct driver_ops loopback_driver = {
    .name = "loopback",
    .caps = CAP_SEND | CAP_RECEIVE | CAP_REPORTS,
    .settings = loopback_settings,
    .conf_size = sizeof(struct loopback_conf),
    .open = loopback_open,
    .submit = loopback_submit,
    .stop = loopback_stop,
    .close = loopback_close,
};
