/*
 * emulator: a fake SMSC for testing and demos.  Accepts or rejects each
 * message, answers after a latency, sends delivery reports after a delay with
 * a configured mix of outcomes, auto-replies and sends spontaneous inbound
 * texts.  Every decision is a pure function of (seed, message id, attempt),
 * so a run is reproducible whatever the order or timing of the messages.
 *
 * Its "SMSC memory" (reports not yet sent) lives in the daemon: a clean stop
 * sends pending reports at once; a killed daemon loses them, as a real SMSC
 * that crashed would.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver.h"
#include "log.h"
#include "msg_parts.h"
#include "util.h"

struct emulator_conf {
	long long seed;
	double accept_rate;
	double temporary_rate;
	char *reject_code;
	json_t *outcomes;
	long long report_delay_ms;
	long long latency_ms;
	char *auto_reply;
	long long mo_interval_ms;
	char *mo_sender, *mo_recipient, *mo_text;
};

#define O(f) offsetof(struct emulator_conf, f)
static const struct setting emulator_settings[] = {
    {"seed", SETTING_INT, O(seed), false, false, 0, 0, "1", "makes every decision reproducible"},
    {"accept_rate", SETTING_NUMBER, O(accept_rate), false, true, 0, 1, "1", "share of messages accepted"},
    {"temporary_rate", SETTING_NUMBER, O(temporary_rate), false, true, 0, 1, "0",
     "share of accepted attempts answered with a temporary error"},
    {"reject_code", SETTING_STRING, O(reject_code), false, false, 0, 0, "\"0x0000000B\"",
     "error code given to rejected messages"},
    {"outcomes", SETTING_OBJECT, O(outcomes), false, false, 0, 0, "{\"delivered\": 1}",
     "weights of the report outcomes: delivered, undelivered, expired, rejected"},
    {"report_delay_ms", SETTING_INT, O(report_delay_ms), false, true, 0, 86400000, "200",
     "delay between acceptance and report"},
    {"latency_ms", SETTING_INT, O(latency_ms), false, true, 0, 600000, "0", "delay before answering a submit"},
    {"auto_reply", SETTING_STRING, O(auto_reply), false, false, 0, 0, NULL,
     "text returned from the recipient for every accepted message"},
    {"mo_interval_ms", SETTING_INT, O(mo_interval_ms), false, true, 0, 86400000, "0",
     "interval of spontaneous inbound texts (0 = none)"},
    {"mo_sender", SETTING_STRING, O(mo_sender), false, false, 0, 0, "\"+15550000000\"",
     "sender of spontaneous inbound texts"},
    {"mo_recipient", SETTING_STRING, O(mo_recipient), false, false, 0, 0, "\"+15550000001\"",
     "recipient of spontaneous inbound texts"},
    {"mo_text", SETTING_STRING, O(mo_text), false, false, 0, 0, "\"Hello from the emulator\"",
     "text of spontaneous inbound texts"},
    SETTINGS_END,
};
#undef O

static const char *const outcome_keys[] = {"delivered", "undelivered", "expired", "rejected"};
static const char *const outcome_stat[] = {"DELIVRD", "UNDELIV", "EXPIRED", "REJECTD"};
enum { N_OUTCOMES = 4 };

struct timed {
	uint64_t due_ms;
	void *item; /* struct msg or struct report */
	struct timed *next;
};

struct fifo {
	struct timed *head, *tail;
};

struct emulator {
	struct conn *c;
	double weights[N_OUTCOMES], wsum;
	struct fifo submits, reports;
	struct event *submit_ev, *report_ev, *mo_ev;
	uint64_t mo_count;
};

static int emulator_check(const void *p, struct errbuf *err)
{
	const struct emulator_conf *conf = p;
	double sum = 0;
	const char *key;
	json_t *v;
	json_object_foreach(conf->outcomes, key, v)
	{
		bool known = false;
		for (int i = 0; i < N_OUTCOMES; i++)
			known |= strcmp(key, outcome_keys[i]) == 0;
		if (!known)
			return errbuf_set(err,
			                  "settings.outcomes: unknown outcome \"%s\" (delivered, undelivered, "
			                  "expired, rejected)",
			                  key);
		if (!json_is_number(v) || json_number_value(v) < 0)
			return errbuf_set(err, "settings.outcomes.%s: must be a number >= 0", key);
		sum += json_number_value(v);
	}
	if (sum <= 0)
		return errbuf_set(err, "settings.outcomes: the weights must add up to more than 0");
	return 0;
}

/* splitmix64: a good 64-bit mix, so that decisions look random per message. */
static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

static double unit(uint64_t h)
{
	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

static void fifo_push(struct fifo *f, uint64_t due, void *item)
{
	struct timed *t = xmalloc(sizeof *t);
	t->due_ms = due;
	t->item = item;
	t->next = NULL;
	if (f->tail)
		f->tail->next = t;
	else
		f->head = t;
	f->tail = t;
}

static void *fifo_pop(struct fifo *f)
{
	struct timed *t = f->head;
	if (!t)
		return NULL;
	f->head = t->next;
	if (!f->head)
		f->tail = NULL;
	void *item = t->item;
	free(t);
	return item;
}

static void arm(struct event *ev, struct fifo *f)
{
	if (!f->head || evtimer_pending(ev, NULL))
		return;
	uint64_t now = now_mono_ms(), due = f->head->due_ms;
	uint64_t wait = due > now ? due - now : 0;
	struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
	evtimer_add(ev, &tv);
}

static void format_date(char *out, size_t cap)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, cap, "%y%m%d%H%M", &tm);
}

static void schedule_reports(struct emulator *e, const struct emulator_conf *conf, struct msg *m, uint64_t h)
{
	double x = unit(mix(h ^ 0x5151)) * e->wsum;
	int outcome = 0;
	for (int i = 0; i < N_OUTCOMES; i++) {
		if (x < e->weights[i]) {
			outcome = i;
			break;
		}
		x -= e->weights[i];
		outcome = i;
	}
	char date[16];
	format_date(date, sizeof date);
	const char *p = m->remote_ids;
	uint64_t due = now_mono_ms() + (uint64_t)conf->report_delay_ms;
	/* With no delay the report goes to the core before the result, which
	 * posts reports to the store before results (flush_cb in spool.c): a
	 * killed daemon may have committed the report without the result (the
	 * message is sent again), never the result without the report, which
	 * would leave the message sent for good (an in-process SMSC dies with
	 * the daemon). */
	bool now = conf->report_delay_ms == 0;
	while (p) {
		const char *sep = strchr(p, '\x1f');
		struct report *r = xcalloc(1, sizeof *r);
		r->remote_id = sep ? xstrndup(p, (size_t)(sep - p)) : xstrdup(p);
		r->state = xstrdup(outcome_keys[outcome]);
		r->error_code = xstrdup(outcome == 0 ? "000" : "001");
		char text[256];
		snprintf(text, sizeof text,
		         "id:%s sub:001 dlvrd:%s submit date:%s done date:%s stat:%s err:%s text:", r->remote_id,
		         outcome == 0 ? "001" : "000", date, date, outcome_stat[outcome], r->error_code);
		r->text = xstrdup(text);
		if (now)
			core_report(e->c, r, 0);
		else
			fifo_push(&e->reports, due, r);
		p = sep ? sep + 1 : NULL;
	}
	arm(e->report_ev, &e->reports);
}

static void inbound(struct conn *c, const char *from, const char *to, const char *text)
{
	struct inbound *in = xcalloc(1, sizeof *in);
	in->sender = xstrdup(from);
	in->recipient = xstrdup(to);
	in->body = xstrdup(text);
	in->encoding = xstrdup("auto");
	in->parts = 1;
	core_received(c, in, 0);
}

/* Decides and completes one message. */
static void answer(struct emulator *e, struct msg *m)
{
	struct conn *c = e->c;
	const struct emulator_conf *conf = conn_conf(c);
	uint64_t h = mix(mix((uint64_t)conf->seed) ^ (uint64_t)m->id);
	uint64_t ha = mix(h ^ (uint64_t)m->attempts);
	struct errbuf err;
	const char *encoding = NULL;
	int parts = msg_parts(m, &encoding, &err);
	if (parts < 0) {
		msg_set_failed(m, MSG_FAILED, "encoding", err.msg);
	} else if (unit(h) >= conf->accept_rate) {
		msg_set_failed(m, MSG_REJECTED, conf->reject_code, "rejected by the emulator");
	} else if (unit(mix(ha ^ 0x7777)) < conf->temporary_rate) {
		msg_set_failed(m, MSG_TEMPORARY, "0x00000008", "temporary error from the emulator");
	} else {
		msg_set_sent_own_ids(m, parts, 'E');
		if (m->want_report)
			schedule_reports(e, conf, m, h);
		if (conf->auto_reply)
			inbound(c, m->recipient, m->sender ? m->sender : conf->mo_recipient, conf->auto_reply);
	}
	core_complete(c, m);
}

static void submit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct emulator *e = arg;
	uint64_t now = now_mono_ms();
	while (e->submits.head && e->submits.head->due_ms <= now)
		answer(e, fifo_pop(&e->submits));
	arm(e->submit_ev, &e->submits);
}

static void report_cb(evutil_socket_t fd, short what, void *arg)
{
	struct emulator *e = arg;
	uint64_t now = now_mono_ms();
	while (e->reports.head && e->reports.head->due_ms <= now)
		core_report(e->c, fifo_pop(&e->reports), 0);
	arm(e->report_ev, &e->reports);
}

static void mo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct emulator *e = arg;
	const struct emulator_conf *conf = conn_conf(e->c);
	e->mo_count++;
	inbound(e->c, conf->mo_sender, conf->mo_recipient, conf->mo_text);
}

static int emulator_open(struct conn *c)
{
	const struct emulator_conf *conf = conn_conf(c);
	struct emulator *e = xcalloc(1, sizeof *e);
	e->c = c;
	for (int i = 0; i < N_OUTCOMES; i++) {
		json_t *w = json_object_get(conf->outcomes, outcome_keys[i]);
		e->weights[i] = json_is_number(w) ? json_number_value(w) : 0;
		e->wsum += e->weights[i];
	}
	struct event_base *base = conn_event_base(c);
	e->submit_ev = evtimer_new(base, submit_cb, e);
	e->report_ev = evtimer_new(base, report_cb, e);
	e->mo_ev = event_new(base, -1, EV_PERSIST, mo_cb, e);
	if (conf->mo_interval_ms > 0) {
		struct timeval tv = {(time_t)(conf->mo_interval_ms / 1000),
		                     (suseconds_t)(conf->mo_interval_ms % 1000) * 1000};
		event_add(e->mo_ev, &tv);
	}
	conn_set_driver_data(c, e);
	core_conn_state(c, CONN_UP, NULL);
	return 0;
}

static void emulator_submit(struct conn *c, struct msg *m)
{
	struct emulator *e = conn_driver_data(c);
	const struct emulator_conf *conf = conn_conf(c);
	if (conf->latency_ms == 0) {
		answer(e, m);
		return;
	}
	fifo_push(&e->submits, now_mono_ms() + (uint64_t)conf->latency_ms, m);
	arm(e->submit_ev, &e->submits);
}

static void emulator_stop(struct conn *c)
{
	struct emulator *e = conn_driver_data(c);
	struct msg *m;
	/* Not yet answered: never accepted, so given back. */
	while ((m = fifo_pop(&e->submits))) {
		msg_set_failed(m, MSG_RELEASE, NULL, NULL);
		core_complete(c, m);
	}
	struct report *r;
	while ((r = fifo_pop(&e->reports)))
		core_report(c, r, 0);
	event_del(e->mo_ev);
	event_del(e->submit_ev);
	event_del(e->report_ev);
	core_conn_state(c, CONN_DOWN, "stopped");
	core_stopped(c);
}

static void emulator_close(struct conn *c)
{
	struct emulator *e = conn_driver_data(c);
	if (!e)
		return;
	struct msg *m;
	while ((m = fifo_pop(&e->submits)))
		msg_free(m);
	struct report *r;
	while ((r = fifo_pop(&e->reports)))
		report_free(r);
	event_free(e->submit_ev);
	event_free(e->report_ev);
	event_free(e->mo_ev);
	free(e);
}

const struct driver_ops emulator_driver = {
    .name = "emulator",
    .caps = CAP_SEND | CAP_RECEIVE | CAP_REPORTS,
    .settings = emulator_settings,
    .conf_size = sizeof(struct emulator_conf),
    .check = emulator_check,
    .open = emulator_open,
    .submit = emulator_submit,
    .stop = emulator_stop,
    .close = emulator_close,
};
