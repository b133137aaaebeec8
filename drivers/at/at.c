/*
 * at: a GSM modem over a serial line, 27.007/27.005 in PDU mode (`type at`).
 *
 * One command at a time: commands wait in a queue, the one in flight has a
 * timer, and the parser's events (drivers/at/line.c) complete it.  The
 * session is one enum (enum at_state) and at_set_state logs every change.
 * Start-up is a fixed list of steps (enum at_init, init.c) run as
 * commands; a wrong PIN stops the connection for good (AT_ST_PIN_BAD)
 * instead of retrying a SIM into its PUK lock.  Any silence past a timeout, or the device going
 * away, ends the session: lent messages are completed (temporary if their
 * fate is unknown, released if they never left), the port is closed and
 * opened again with backoff, which re-finds a USB device that came back
 * under another name (src/serial.c).  Receiving lives in rx.c.
 */
#include "at/at.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at/resp.h"
#include "codec/sms.h"
#include "log.h"
#include "util.h"

/* clang-format off */
static const struct setting at_settings[] = {
    SERIAL_SETTINGS(struct at_conf, serial, "115200"),
    {"pin", SETTING_STRING, offsetof(struct at_conf, pin), false, false, 0, 0, NULL,
     "SIM PIN, entered once when the SIM asks; a wrong PIN stops the connection (never retried)"},
    {"smsc", SETTING_STRING, offsetof(struct at_conf, smsc), false, false, 0, 0, NULL,
     "SMSC number put in every PDU; unset = the SIM's (AT+CSCA)"},
    {"init", SETTING_ARRAY, offsetof(struct at_conf, init), false, false, 0, 0, NULL,
     "extra commands sent after ATE0, e.g. [\"AT+CFUN=1\"]"},
    {"storage", SETTING_STRING, offsetof(struct at_conf, storage), false, false, 0, 0, "\"SM\"",
     "message storage for AT+CPMS (SM, ME, MT)"},
    {"cnmi", SETTING_STRING, offsetof(struct at_conf, cnmi), false, false, 0, 0, "\"2,1,0,2,0\"",
     "AT+CNMI parameters: new texts as +CMTI, status reports stored and announced as +CDSI (none lost while "
     "the daemon or the modem is away: the sweep finds them)"},
    {"report_storage", SETTING_STRING, offsetof(struct at_conf, report_storage), false, false, 0, 0, NULL,
     "memory where the modem keeps status reports when not in storage (e.g. SR); swept too"},
    {"cnma", SETTING_BOOL, offsetof(struct at_conf, cnma), false, false, 0, 0, "false",
     "acknowledge +CMT/+CDS with AT+CNMA after the commit (modems in +CSMS=1)"},
    {"sweep_s", SETTING_INT, offsetof(struct at_conf, sweep_s), false, true, 1, 86400, "300",
     "AT+CMGL sweep of stored messages, at start and every sweep_s"},
    {"status_s", SETTING_INT, offsetof(struct at_conf, status_s), false, true, 1, 86400, "60",
     "signal and registration poll (AT+CSQ, AT+CREG?)"},
    {"command_timeout_ms", SETTING_INT, offsetof(struct at_conf, command_timeout_ms), false, true, 100, 600000,
     "10000", "answer time for a command before the modem counts as gone"},
    {"send_timeout_ms", SETTING_INT, offsetof(struct at_conf, send_timeout_ms), false, true, 100, 600000, "60000",
     "answer time for AT+CMGS (the network is slow)"},
    {"reconnect_min_ms", SETTING_INT, offsetof(struct at_conf, reconnect_min_ms), false, true, 10, 3600000, "1000",
     "first reopen delay"},
    {"reconnect_max_ms", SETTING_INT, offsetof(struct at_conf, reconnect_max_ms), false, true, 10, 3600000, "30000",
     "longest reopen delay"},
    {"reasm_timeout_s", SETTING_INT, offsetof(struct at_conf, reasm_timeout_s), false, true, 1, 604800, "3600",
     "how long parts of a long text wait for the rest"},
    {"mode", SETTING_STRING, offsetof(struct at_conf, mode), false, false, 0, 0, "\"pdu\"",
     "pdu, or text (the fallback for modems without PDU mode: single-part ASCII texts, a report asked for every text)", .choices = "pdu|text"},
    {"send_interval_ms", SETTING_INT, offsetof(struct at_conf, send_interval_ms), false, true, 0, 3600000, "0",
     "least time between two AT+CMGS of this modem"},
    SETTINGS_END,
};
/* clang-format on */

/* How long the modem's answer to the ESC of a reopen is waited for and
 * dropped. */
#define AT_SETTLE_MS 300

static const char *const at_state_names[] = {"closed", "init", "ready", "pin-bad", "stopping", "stopped"};

bool at_text_mode(const struct at *a)
{
	return a->conf->mode && !strcmp(a->conf->mode, "text");
}

const char *at_name(const struct at *a)
{
	return conn_name(a->c);
}

static void at_set_state(struct at *a, enum at_state s)
{
	if (a->state != s)
		log_debug("at_state", "conn=%s from=%s to=%s", at_name(a), at_state_names[a->state], at_state_names[s]);
	a->state = s;
}

/* What `smspool status` shows about the modem. */
static void at_publish(struct at *a)
{
	char d[512];
	snprintf(d, sizeof d, "%s csq=%d creg=%d operator=\"%s\" imsi=%s imei=%s smsc=%s", serial_describe(a->port),
	         a->csq, a->creg, a->oper, a->imsi[0] ? a->imsi : "-", a->imei[0] ? a->imei : "-",
	         a->conf->smsc    ? a->conf->smsc
	         : a->sim_smsc[0] ? a->sim_smsc
	                          : "-");
	if (strcmp(d, a->published) != 0) { /* a state row per change, not per poll */
		snprintf(a->published, sizeof a->published, "%s", d);
		core_conn_state(a->c, CONN_UP, d);
	}
}

void at_cmd_push(struct at *a, enum at_cmd_kind kind, int arg, const char *fmt, ...)
{
	struct at_cmd *cmd = xcalloc(1, sizeof *cmd);
	cmd->kind = kind;
	cmd->arg = arg;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd->text, sizeof cmd->text, fmt, ap);
	va_end(ap);
	*a->q_tail = cmd;
	a->q_tail = &cmd->next;
}

static void at_queue_clear(struct at *a)
{
	for (struct at_cmd *c = a->q_head, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	a->q_head = NULL;
	a->q_tail = &a->q_head;
	free(a->cur);
	a->cur = NULL;
}

static void at_schedule_reconnect(struct at *a)
{
	struct timeval tv = {(time_t)(a->reconnect_ms / 1000), (suseconds_t)(a->reconnect_ms % 1000) * 1000};
	evtimer_add(a->ev_reconnect, &tv);
	a->reconnect_ms *= 2;
	if (a->reconnect_ms > (uint64_t)a->conf->reconnect_max_ms)
		a->reconnect_ms = (uint64_t)a->conf->reconnect_max_ms;
}

static void at_finish_stop(struct at *a);

/* The session ends: everything lent goes back, the port closes, and a
 * reopen is scheduled (unless stopping or stopped for good). */
void at_down(struct at *a, const char *why)
{
	log_warn("at_down", "conn=%s reason=\"%s\"", at_name(a), why);
	snprintf(a->why, sizeof a->why, "%s", why);
	evtimer_del(a->ev_timeout);
	evtimer_del(a->ev_poll);
	evtimer_del(a->ev_sweep);
	evtimer_del(a->ev_settle);
	a->settling = false;
	at_queue_clear(a);
	at_line_reset(&a->parser);
	serial_close(a->port);
	at_owed_session_end(a); /* a delete in flight may have been carried out */
	at_out_abort(a, why);
	if (a->state == AT_ST_STOPPING) {
		at_finish_stop(a);
		return;
	}
	if (a->state == AT_ST_PIN_BAD)
		return;
	at_set_state(a, AT_ST_CLOSED);
	core_conn_state(a->c, CONN_CONNECTING, why);
	at_schedule_reconnect(a);
}

void at_restart(struct at *a, const char *why)
{
	if (a->state != AT_ST_READY && a->state != AT_ST_INIT)
		return;
	at_down(a, why);
	a->reconnect_ms = (uint64_t)a->conf->reconnect_min_ms;
}

/* ---- start-up (the steps: init.c) ---- */

void at_stop_for_good(struct at *a, const char *why)
{
	at_set_state(a, AT_ST_PIN_BAD);
	log_error("at_sim", "conn=%s problem=\"%s\"", at_name(a), why);
	snprintf(a->why, sizeof a->why, "%s", why);
	at_queue_clear(a);
	evtimer_del(a->ev_timeout);
	serial_close(a->port);
	at_out_abort(a, why);
	core_conn_state(a->c, CONN_DOWN, why);
}

/* The first line of the current answer that starts with name:, or NULL. */
const char *at_answer(const struct at *a, const char *name)
{
	for (int i = 0; i < a->cur_lines && i < 8; i++)
		if (!name ? a->cur_info[i][0] != '+' : at_resp_is(a->cur_info[i], name))
			return a->cur_info[i];
	return NULL;
}

void at_copy_digits(char *dst, size_t cap, const char *line)
{
	size_t n = 0;
	for (; *line && n + 1 < cap; line++)
		if (*line >= '0' && *line <= '9')
			dst[n++] = *line;
	dst[n] = '\0';
}

void at_ready(struct at *a)
{
	at_set_state(a, AT_ST_READY);
	a->published[0] = '\0';
	a->reconnect_ms = (uint64_t)a->conf->reconnect_min_ms;
	a->why[0] = '\0';
	at_publish(a);
	at_rx_resume(a);
	at_rx_sweep(a);
	struct timeval sw = {(time_t)a->conf->sweep_s, 0}, st = {(time_t)a->conf->status_s, 0};
	evtimer_add(a->ev_sweep, &sw);
	evtimer_add(a->ev_poll, &st);
}

/* ---- the command pump ---- */

static void at_write(struct at *a, const char *s)
{
	if (serial_write(a->port, s, strlen(s)) < 0)
		log_warn("at_write", "conn=%s problem=\"output queue full or port closed\"", at_name(a));
}

static void at_start(struct at *a, struct at_cmd *cmd, long long timeout_ms)
{
	a->cur = cmd;
	a->cur_lines = 0;
	a->cur_pdu[0] = '\0';
	at_line_expect_echo(&a->parser, cmd->text);
	log_debug("at_tx", "conn=%s cmd=\"%s\"", at_name(a), cmd->text);
	char line[140];
	snprintf(line, sizeof line, "%s\r", cmd->text);
	at_write(a, line);
	struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
	evtimer_add(a->ev_timeout, &tv);
}

void at_pump(struct at *a)
{
	if (a->cur || !serial_is_open(a->port))
		return;
	/* While stopping only acknowledgements and deletes still go out. */
	while (a->q_head && a->state == AT_ST_STOPPING && a->q_head->kind != AT_CMD_DELETE &&
	       a->q_head->kind != AT_CMD_ACK && a->q_head->kind != AT_CMD_MEM) {
		struct at_cmd *c = a->q_head;
		a->q_head = c->next;
		free(c);
	}
	if (!a->q_head)
		a->q_tail = &a->q_head;
	if (a->q_head) {
		struct at_cmd *c = a->q_head;
		a->q_head = c->next;
		if (!a->q_head)
			a->q_tail = &a->q_head;
		at_start(a, c, a->conf->command_timeout_ms);
		return;
	}
	if (a->state == AT_ST_STOPPING) {
		if (!at_rx_busy(a))
			at_finish_stop(a);
		return;
	}
	if (a->state != AT_ST_READY || !a->out_head)
		return;
	uint64_t now = now_mono_ms();
	if (a->conf->send_interval_ms && now < a->last_send_ms + (uint64_t)a->conf->send_interval_ms) {
		uint64_t wait = a->last_send_ms + (uint64_t)a->conf->send_interval_ms - now;
		struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
		evtimer_add(a->ev_poll, &tv); /* the poll timer doubles as the pacing wake-up */
		return;
	}
	a->last_send_ms = now;
	struct at_out *o = a->out_head;
	struct at_cmd *c = xcalloc(1, sizeof *c);
	c->kind = AT_CMD_SEND;
	if (at_text_mode(a))
		snprintf(c->text, sizeof c->text, "AT+CMGS=\"%s\"", o->m->recipient);
	else
		snprintf(c->text, sizeof c->text, "AT+CMGS=%d", o->tpdu_lens[o->next_part]);
	at_start(a, c, a->conf->send_timeout_ms);
}

/* The current command got its final result code. */
static void at_final(struct at *a, const struct at_ev *ev)
{
	struct at_cmd *cmd = a->cur;
	evtimer_del(a->ev_timeout);
	at_line_expect_echo(&a->parser, NULL);
	log_debug("at_rx_final", "conn=%s cmd=\"%s\" answer=\"%s\"", at_name(a), cmd->text, ev->line);
	switch (cmd->kind) {
	case AT_CMD_INIT:
		at_init_answer(a, ev);
		break;
	case AT_CMD_SEND:
		at_send_answer(a, ev);
		break;
	case AT_CMD_READ:
		if (ev->kind == AT_EV_OK)
			at_rx_read(a, cmd->arg, a->cur_info[0], a->cur_pdu);
		else
			at_rx_read(a, cmd->arg, NULL, NULL);
		break;
	case AT_CMD_DELETE:
		at_rx_deleted(a, cmd->arg, ev->kind == AT_EV_OK || (ev->kind == AT_EV_CMS_ERROR && ev->code == 321));
		break;
	case AT_CMD_LIST:
		at_owed_list_done(a, cmd->arg == 1, ev->kind == AT_EV_OK);
		break;
	case AT_CMD_ACK:
		break;
	case AT_CMD_MEM:
		/* The switch to the other memory failed: the read or delete that
		 * follows would hit the wrong message, so it is dropped. */
		if (cmd->arg == 1 && ev->kind != AT_EV_OK && a->q_head && a->q_head->kind != AT_CMD_MEM) {
			struct at_cmd *next = a->q_head;
			a->q_head = next->next;
			if (!a->q_head)
				a->q_tail = &a->q_head;
			log_warn("at_mem", "conn=%s problem=\"%s failed\" dropped=\"%s\"", at_name(a), cmd->text,
			         next->text);
			free(next);
		}
		break;
	case AT_CMD_POLL: {
		struct at_resp r;
		const char *l;
		if ((l = at_answer(a, "+CSQ")) && at_resp_parse(l, &r) == 0)
			a->csq = (int)at_resp_int(&r, 0, -1);
		if ((l = at_answer(a, "+CREG")) && at_resp_parse(l, &r) == 0)
			a->creg = (int)at_resp_int(&r, r.n >= 2 ? 1 : 0, -1);
		if (a->state == AT_ST_READY && !strcmp(cmd->text, "AT+CREG?"))
			at_publish(a);
		break;
	}
	}
	if (a->cur == cmd) { /* not cleared by at_down */
		free(cmd);
		a->cur = NULL;
	}
	at_pump(a);
}

static void at_on_event(void *arg, const struct at_ev *ev)
{
	struct at *a = arg;
	if (!serial_is_open(a->port) || a->settling)
		return; /* the rest of a read after the session ended; noise after ESC */
	switch (ev->kind) {
	case AT_EV_ECHO:
		return;
	case AT_EV_URC:
		log_debug("at_urc", "conn=%s line=\"%s\"", at_name(a), ev->line);
		at_rx_urc(a, ev);
		return;
	case AT_EV_PROMPT:
		if (a->cur && a->cur->kind == AT_CMD_SEND && a->out_head && !a->out_head->pdu_written) {
			struct at_out *o = a->out_head;
			char *pdu = o->pdus[o->next_part];
			at_line_expect_echo(&a->parser, pdu);
			at_write(a, pdu);
			at_write(a, "\x1a");
			o->pdu_written = true;
		} else {
			at_write(a, "\x1b"); /* a prompt nobody asked for: cancel it */
		}
		return;
	case AT_EV_INFO:
		if (!a->cur) {
			log_debug("at_stray", "conn=%s line=\"%s\"", at_name(a), ev->line);
			return;
		}
		if (a->cur->kind == AT_CMD_LIST && at_resp_is(ev->line, "+CMGL")) {
			at_rx_listed(a, ev->line, ev->pdu, a->cur->arg == 1 ? AT_OTHER_MEM : 0);
			return;
		}
		if (a->cur_lines < 8)
			snprintf(a->cur_info[a->cur_lines], sizeof a->cur_info[0], "%s", ev->line);
		if (a->cur_lines == 0 && ev->pdu[0])
			snprintf(a->cur_pdu, sizeof a->cur_pdu, "%s", ev->pdu);
		a->cur_lines++;
		return;
	default:
		if (!a->cur) {
			log_debug("at_stray", "conn=%s line=\"%s\"", at_name(a), ev->line);
			return;
		}
		at_final(a, ev);
	}
}

/* ---- timers and the port ---- */

static void at_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct at *a = arg;
	char why[200];
	snprintf(why, sizeof why, "no answer to %s", a->cur ? a->cur->text : "?");
	if (a->cur && a->cur->kind == AT_CMD_SEND)
		at_write(a, "\x1b"); /* leave the prompt, if the modem is still in it */
	at_down(a, why);
}

static void at_on_read(void *arg, const uint8_t *data, size_t len)
{
	struct at *a = arg;
	at_line_feed(&a->parser, data, len, at_on_event, a);
}

static void at_on_closed(void *arg, const char *why)
{
	struct at *a = arg;
	char w[200];
	snprintf(w, sizeof w, "device gone: %s", why);
	at_down(a, w);
}

static void at_on_reconnect(evutil_socket_t fd, short what, void *arg)
{
	struct at *a = arg;
	if (a->state != AT_ST_CLOSED)
		return;
	struct errbuf err;
	if (serial_open(a->port, &err) < 0) {
		log_info("at_open_failed", "conn=%s reason=\"%s\"", at_name(a), err.msg);
		core_conn_state(a->c, CONN_CONNECTING, err.msg);
		at_schedule_reconnect(a);
		return;
	}
	log_info("at_open", "conn=%s device=\"%s\"", at_name(a), serial_describe(a->port));
	at_line_reset(&a->parser);
	at_set_state(a, AT_ST_INIT);
	at_init_reset(a);
	/* ESC leaves a prompt a previous session may have left open; whatever
	 * the modem answers to it (or still had to say) is let pass for a
	 * moment and dropped, so that no stray OK is taken for the answer to
	 * the first command and every answer after it shifted by one. */
	at_write(a, "\x1b\r");
	a->settling = true;
	struct timeval tv = {0, AT_SETTLE_MS * 1000};
	evtimer_add(a->ev_settle, &tv);
}

static void at_on_settle(evutil_socket_t fd, short what, void *arg)
{
	struct at *a = arg;
	a->settling = false;
	if (a->state != AT_ST_INIT || !serial_is_open(a->port))
		return;
	at_line_reset(&a->parser);
	at_init_push(a);
	at_pump(a);
}

static void at_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct at *a = arg;
	at_rx_poll(a);
	if (a->state != AT_ST_READY)
		return;
	at_rx_resume(a); /* deletes that failed before */
	at_rx_sweep(a);
	struct timeval tv = {(time_t)a->conf->sweep_s, 0};
	evtimer_add(a->ev_sweep, &tv);
	at_pump(a);
}

static void at_on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct at *a = arg;
	if (a->state != AT_ST_READY)
		return;
	at_cmd_push(a, AT_CMD_POLL, 0, "AT+CSQ");
	at_cmd_push(a, AT_CMD_POLL, 0, "AT+CREG?");
	struct timeval tv = {(time_t)a->conf->status_s, 0};
	evtimer_add(a->ev_poll, &tv);
	at_pump(a);
}

static void at_on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	at_finish_stop(arg);
}

/* ---- driver operations ---- */

static int at_check(const void *conf, struct errbuf *err)
{
	const struct at_conf *cf = conf;
	if (serial_conf_check(&cf->serial, err) < 0)
		return -1;
	if (strcmp(cf->mode, "pdu") != 0 && strcmp(cf->mode, "text") != 0)
		return errbuf_set(err, "mode must be pdu or text");
	if (cf->reconnect_min_ms > cf->reconnect_max_ms)
		return errbuf_set(err, "reconnect_min_ms exceeds reconnect_max_ms");
	if (cf->pin && (strlen(cf->pin) < 4 || strlen(cf->pin) > 8 || strspn(cf->pin, "0123456789") != strlen(cf->pin)))
		return errbuf_set(err, "pin must be 4 to 8 digits");
	struct tpdu_addr sa;
	if (cf->smsc && (tpdu_addr_set(&sa, cf->smsc) < 0 || sa.toa == 0xD0))
		return errbuf_set(err, "smsc must be a phone number");
	if (strpbrk(cf->storage, "\"\r\n") || strpbrk(cf->cnmi, "\"\r\n") ||
	    (cf->report_storage && strpbrk(cf->report_storage, "\"\r\n")))
		return errbuf_set(err, "storage, report_storage and cnmi must not contain quotes or line ends");
	if (cf->report_storage && strlen(cf->report_storage) >= sizeof((struct at *)0)->other_mem)
		return errbuf_set(err, "report_storage is a memory name such as SR");
	for (size_t i = 0; cf->init && i < json_array_size(cf->init); i++) {
		json_t *v = json_array_get(cf->init, i);
		if (!json_is_string(v) || strlen(json_string_value(v)) >= 120 || strpbrk(json_string_value(v), "\r\n"))
			return errbuf_set(err, "init must be an array of command strings (one line each, < 120 bytes)");
	}
	return 0;
}

static int at_open(struct conn *c)
{
	struct at *a = xcalloc(1, sizeof *a);
	a->c = c;
	a->conf = conn_conf(c);
	a->base = conn_event_base(c);
	a->q_tail = &a->q_head;
	a->out_tail = &a->out_head;
	at_line_init(&a->parser);
	struct serial_cbs cbs = {at_on_read, at_on_closed};
	a->port = serial_new(a->base, &a->conf->serial, &cbs, a);
	a->ev_timeout = evtimer_new(a->base, at_on_timeout, a);
	a->ev_reconnect = evtimer_new(a->base, at_on_reconnect, a);
	a->ev_sweep = evtimer_new(a->base, at_on_sweep, a);
	a->ev_poll = evtimer_new(a->base, at_on_poll, a);
	a->ev_stop = evtimer_new(a->base, at_on_stop_timer, a);
	a->ev_settle = evtimer_new(a->base, at_on_settle, a);
	a->reconnect_ms = (uint64_t)a->conf->reconnect_min_ms;
	a->csq = a->creg = -1;
	at_rx_init(a);
	conn_set_driver_data(c, a);
	at_set_state(a, AT_ST_CLOSED);
	core_conn_state(c, CONN_CONNECTING, "opening the port");
	struct timeval now = {0, 0};
	evtimer_add(a->ev_reconnect, &now);
	return 0;
}

static void at_submit(struct conn *c, struct msg *m)
{
	struct at *a = conn_driver_data(c);
	struct at_out *o = xcalloc(1, sizeof *o);
	o->m = m;
	struct errbuf err;
	if (at_out_build(a, o, &err) < 0) {
		msg_set_failed(m, MSG_FAILED, "encoding", err.msg);
		at_out_free(o);
		core_complete(c, m);
		return;
	}
	if (a->state != AT_ST_READY) {
		msg_set_failed(m, MSG_RELEASE, NULL, "modem not ready");
		at_out_free(o);
		core_complete(c, m);
		return;
	}
	*a->out_tail = o;
	a->out_tail = &o->next;
	at_pump(a);
}

static void at_acked(struct conn *c, uint64_t token, bool committed)
{
	struct at *a = conn_driver_data(c);
	at_rx_acked(a, token, committed);
	at_pump(a);
}

static void at_finish_stop(struct at *a)
{
	if (a->state == AT_ST_STOPPED)
		return;
	evtimer_del(a->ev_stop);
	evtimer_del(a->ev_timeout);
	at_queue_clear(a);
	at_out_abort(a, "connection stopped");
	serial_close(a->port);
	at_set_state(a, AT_ST_STOPPED);
	core_stopped(a->c);
}

static void at_stop(struct conn *c)
{
	struct at *a = conn_driver_data(c);
	evtimer_del(a->ev_reconnect);
	evtimer_del(a->ev_sweep);
	evtimer_del(a->ev_poll);
	bool open = serial_is_open(a->port) && a->state == AT_ST_READY;
	at_set_state(a, AT_ST_STOPPING);
	/* Messages not started go back now; the part whose PDU is out waits
	 * for its answer (or the command timeout). */
	struct at_out *keep = a->out_head && a->out_head->pdu_written ? a->out_head : NULL;
	if (keep) {
		a->out_head = keep->next;
		keep->next = NULL;
	}
	at_out_abort(a, "connection stopped");
	if (keep) {
		a->out_head = keep;
		a->out_tail = &keep->next;
	}
	if (!open || (!a->cur && !at_rx_busy(a))) {
		at_finish_stop(a);
		return;
	}
	struct timeval tv = {5, 0}; /* deletes of committed texts get this long */
	evtimer_add(a->ev_stop, &tv);
	at_pump(a);
}

static void at_close(struct conn *c)
{
	struct at *a = conn_driver_data(c);
	if (!a)
		return;
	at_queue_clear(a);
	while (a->out_head) { /* cannot happen after stop(); never leak */
		struct at_out *o = a->out_head;
		a->out_head = o->next;
		msg_free(o->m);
		at_out_free(o);
	}
	at_rx_free(a);
	serial_free(a->port);
	event_free(a->ev_timeout);
	event_free(a->ev_reconnect);
	event_free(a->ev_sweep);
	event_free(a->ev_poll);
	event_free(a->ev_stop);
	event_free(a->ev_settle);
	free(a);
	conn_set_driver_data(c, NULL);
}

const struct driver_ops at_driver = {
    .name = "at",
    .caps = CAP_SEND | CAP_RECEIVE | CAP_REPORTS,
    .settings = at_settings,
    .conf_size = sizeof(struct at_conf),
    .check = at_check,
    .open = at_open,
    .submit = at_submit,
    .stop = at_stop,
    .close = at_close,
    .acked = at_acked,
};
