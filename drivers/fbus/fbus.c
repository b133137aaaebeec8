/*
 * fbus: a Nokia DCT3 phone (6110/3310 class) or a DCT4 one (6310/6510
 * class, nokia4.h) over an FBUS v2 cable, `type fbus`.
 *
 * The session is one enum (enum fbus_state) changed only by fbus_set_state,
 * which logs it.  Start-up: open the port, write the 0x55 burst, ask the
 * model (type D1), switch service commands on and ask the IMEI (type 40),
 * ask the SMS centre unless the smsc setting gives it, then CONN_UP.  The
 * model code (or the `family` setting) says whether the phone is a DCT4
 * one: then the IMEI (type 1B), the SMS centre, sending and the SMS memory
 * use the DCT4 messages.
 * Afterwards one request is in flight at a time (enum fbus_op), with a
 * reply timer; the pump picks the next one: deletes owed first, then the
 * reads of a sweep, then the next part of a lent message, then a due sweep.
 *
 * Receiving: a sweep asks the SIM's SMS status and reads locations until
 * every used one was seen (DCT3), or asks the status of the SIM's inbox
 * folder, then of the phone's, and reads the locations each lists (DCT4);
 * texts go to core_received and status reports to
 * core_report with a token naming the location, and the location is deleted
 * only after acked(committed=true); a location handed to the core is not
 * read again until then.  An "SMS arrived" message from the phone starts a
 * sweep at once; otherwise one runs every sweep_s.
 *
 * Recovery: a frame not acknowledged after `retries` resends (link.c), a
 * reply that does not come within its timeout, or the line going away ends
 * the session: the lent message whose part was written completes as
 * MSG_TEMPORARY (its fate is unknown: at-least-once), the others are
 * released, the port is closed and opened again with backoff, which
 * re-synchronises the phone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbus/fbus.h"
#include "log.h"
#include "msg_sms.h"
#include "util.h"

/* clang-format off */
static const struct setting fbus_settings[] = {
    SERIAL_SETTINGS(struct fbus_conf, serial, "115200"),
    {"smsc", SETTING_STRING, offsetof(struct fbus_conf, smsc), false, false, 0, 0, NULL,
     "SMS centre number put in every message; unset = the phone's first SMS centre"},
    {"family", SETTING_STRING, offsetof(struct fbus_conf, family), false, false, 0, 0, "\"auto\"",
     "auto (from the model code the phone reports), dct3 (6110/3310 class) or dct4 (6310/6510 class)", .choices = "auto|dct3|dct4"},
    {"sweep_s", SETTING_INT, offsetof(struct fbus_conf, sweep_s), false, true, 1, 86400, "60",
     "read the SIM (DCT4: the SIM's and the phone's inbox) for texts and status reports at start and every sweep_s"},
    {"ack_timeout_ms", SETTING_INT, offsetof(struct fbus_conf, ack_timeout_ms), false, true, 10, 60000, "1000",
     "wait for the phone's acknowledgement of a frame before sending it again"},
    {"retries", SETTING_INT, offsetof(struct fbus_conf, retries), false, true, 0, 20, "3",
     "resends of an unacknowledged frame before the phone counts as gone"},
    {"reply_timeout_ms", SETTING_INT, offsetof(struct fbus_conf, reply_timeout_ms), false, true, 100, 600000, "5000",
     "answer time for a request before the phone counts as gone"},
    {"send_timeout_ms", SETTING_INT, offsetof(struct fbus_conf, send_timeout_ms), false, true, 100, 600000, "60000",
     "answer time for sending an SMS (the network is slow)"},
    {"reconnect_min_ms", SETTING_INT, offsetof(struct fbus_conf, reconnect_min_ms), false, true, 10, 3600000, "1000",
     "first reopen delay"},
    {"reconnect_max_ms", SETTING_INT, offsetof(struct fbus_conf, reconnect_max_ms), false, true, 10, 3600000, "30000",
     "longest reopen delay"},
    SETTINGS_END,
};
/* clang-format on */

static const char *const fbus_state_names[] = {"closed", "sync", "identify", "ready", "stopped"};
static const char *const fbus_op_names[] = {"none",   "model", "security", "imei", "smsc",
                                            "status", "read",  "delete",   "send", "folder"};

static void fbus_set_state(struct fbus *f, enum fbus_state s)
{
	if (f->state != s)
		log_debug("fbus_state", "conn=%s from=%s to=%s", conn_name(f->c), fbus_state_names[f->state],
		          fbus_state_names[s]);
	f->state = s;
}

static void fbus_timer(struct event *ev, long long ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(ev, &tv);
}

/* ---- lent messages ---- */

static void fbus_out_done(struct fbus *f)
{
	struct fbus_out *o = f->out_head;
	f->out_head = o->next;
	if (!f->out_head)
		f->out_tail = &f->out_head;
	struct msg *m = o->m;
	fbus_out_free(o);
	core_complete(f->c, m);
}

/* Every lent message goes back: temporary when a part may have left. */
static void fbus_out_abort(struct fbus *f, const char *why)
{
	while (f->out_head) {
		struct fbus_out *o = f->out_head;
		if (o->part_in_flight || o->next_part > 0)
			msg_set_failed(o->m, MSG_TEMPORARY, "phone", why);
		else
			msg_set_failed(o->m, MSG_RELEASE, NULL, why);
		fbus_out_done(f);
	}
}

/* ---- session ---- */

static void fbus_request(struct fbus *f, enum fbus_op op, const struct nokia_req *r, long long timeout_ms)
{
	log_debug("fbus_request", "conn=%s op=%s type=%02X", conn_name(f->c), fbus_op_names[op], r->type);
	f->op = op;
	fbus_link_send(&f->link, r);
	fbus_timer(f->ev_reply, timeout_ms);
}

static void fbus_down(struct fbus *f, const char *why)
{
	if (f->state == FB_STOPPED || f->state == FB_CLOSED)
		return;
	log_warn("fbus_down", "conn=%s reason=\"%s\"", conn_name(f->c), why);
	evtimer_del(f->ev_reply);
	evtimer_del(f->ev_sweep);
	evtimer_del(f->ev_sync);
	fbus_link_reset(&f->link);
	serial_close(f->port);
	f->op = OP_NONE;
	f->sweeping = false;
	fbus_out_abort(f, why);
	fbus_set_state(f, FB_CLOSED);
	core_conn_state(f->c, CONN_CONNECTING, why);
	fbus_timer(f->ev_reconnect, (long long)f->reconnect_ms);
	f->reconnect_ms *= 2;
	if (f->reconnect_ms > (uint64_t)f->conf->reconnect_max_ms)
		f->reconnect_ms = (uint64_t)f->conf->reconnect_max_ms;
}

static void fbus_on_read(void *arg, const uint8_t *data, size_t len)
{
	struct fbus *f = arg;
	fbus_link_input(&f->link, data, len);
}

static void fbus_on_closed(void *arg, const char *why)
{
	fbus_down(arg, why);
}

static void fbus_on_reconnect(evutil_socket_t fd, short what, void *arg)
{
	struct fbus *f = arg;
	struct errbuf err = {{0}};
	if (f->state != FB_CLOSED)
		return;
	if (serial_open(f->port, &err) < 0) {
		log_info("fbus_open", "conn=%s problem=\"%s\"", conn_name(f->c), err.msg);
		core_conn_state(f->c, CONN_CONNECTING, err.msg);
		fbus_timer(f->ev_reconnect, (long long)f->reconnect_ms);
		f->reconnect_ms *= 2;
		if (f->reconnect_ms > (uint64_t)f->conf->reconnect_max_ms)
			f->reconnect_ms = (uint64_t)f->conf->reconnect_max_ms;
		return;
	}
	fbus_set_state(f, FB_SYNC);
	f->rx_off = false;
	fbus_link_reset(&f->link);
	fbus_link_sync(&f->link);
	fbus_timer(f->ev_sync, 100); /* the phone wakes on the burst */
}

static void fbus_on_sync(evutil_socket_t fd, short what, void *arg)
{
	struct fbus *f = arg;
	struct nokia_req r;
	fbus_set_state(f, FB_IDENTIFY);
	nokia_req_get_model(&r);
	fbus_request(f, OP_MODEL, &r, f->conf->reply_timeout_ms);
}

static void fbus_ready(struct fbus *f);
static void fbus_publish(struct fbus *f);

static void fbus_on_reply_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct fbus *f = arg;
	/* Service commands (type 40) are answered only while the phone allows
	 * them, and some phones keep no SMS centre: their frames were
	 * acknowledged, so the phone is there; go on without IMEI or SMSC. */
	if (f->state == FB_IDENTIFY && (f->op == OP_SECURITY || f->op == OP_IMEI || f->op == OP_SMSC)) {
		log_info("fbus_no_answer", "conn=%s op=%s problem=\"the phone ignores it; going on\"", conn_name(f->c),
		         fbus_op_names[f->op]);
		struct nokia_req r;
		enum fbus_op was = f->op;
		f->op = OP_NONE;
		if (f->link.busy) {
			fbus_down(f, "the phone acknowledges nothing");
		} else if (!f->conf->smsc && was != OP_SMSC) {
			if (f->dct4)
				nokia4_req_get_smsc(&r, 1);
			else
				nokia_req_get_smsc(&r, 1);
			fbus_request(f, OP_SMSC, &r, f->conf->reply_timeout_ms);
		} else {
			fbus_ready(f);
		}
		return;
	}
	/* A DCT4 phone that acknowledged the folder status but does not answer
	 * it (a model that keeps its SMS elsewhere) still sends: receiving is
	 * switched off until the port is opened again, rather than the
	 * connection going down at every sweep. */
	if (f->state == FB_READY && f->op == OP_FOLDER && !f->link.busy) {
		log_warn("fbus_no_folders",
		         "conn=%s model=%s problem=\"no answer to the SMS folder status: receiving off\"",
		         conn_name(f->c), f->model);
		f->op = OP_NONE;
		f->sweeping = false;
		f->rx_off = true;
		fbus_publish(f);
		fbus_pump(f);
		return;
	}
	char why[96];
	snprintf(why, sizeof why, "no answer from the phone to %s", fbus_op_names[f->op]);
	fbus_down(f, why);
}

static void fbus_on_sweep_timer(evutil_socket_t fd, short what, void *arg)
{
	struct fbus *f = arg;
	f->sweep_due = true;
	fbus_timer(f->ev_sweep, f->conf->sweep_s * 1000);
	fbus_rx_poll(f);
	fbus_pump(f);
}

static void fbus_publish(struct fbus *f)
{
	char d[256];
	snprintf(d, sizeof d, "%s model=%s version=%s imei=%s smsc=%s%s", serial_describe(f->port), f->model,
	         f->version, f->imei[0] ? f->imei : "-",
	         f->conf->smsc ? f->conf->smsc
	         : f->smsc[0]  ? f->smsc
	                       : "-",
	         f->dct4 ? (f->rx_off ? " family=dct4 receive=off" : " family=dct4") : "");
	core_conn_state(f->c, CONN_UP, d);
}

static void fbus_ready(struct fbus *f)
{
	fbus_set_state(f, FB_READY);
	f->reconnect_ms = (uint64_t)f->conf->reconnect_min_ms;
	log_info("fbus_up", "conn=%s model=%s version=%s imei=%s", conn_name(f->c), f->model, f->version, f->imei);
	fbus_publish(f);
	f->sweep_due = true;
	fbus_timer(f->ev_sweep, f->conf->sweep_s * 1000);
}

/* ---- replies ---- */

static void fbus_send_answer(struct fbus *f, const struct nokia_reply *r)
{
	struct fbus_out *o = f->out_head;
	if (!o)
		return;
	o->part_in_flight = false;
	if (r->kind == NOKIA_SENT) {
		o->ids[o->next_part] = msg_sms_part_id(r->mr, o->m->recipient);
		if (++o->next_part == o->n_parts) {
			msg_set_sent(o->m, o->n_parts, (const char *const *)o->ids);
			fbus_out_done(f);
		}
		return;
	}
	char code[8], text[64];
	snprintf(code, sizeof code, "%02X", r->error);
	snprintf(text, sizeof text, "the phone could not send: error 0x%02X", r->error);
	log_info("fbus_send_failed", "conn=%s id=%" PRId64 " part=%d error=%02X", conn_name(f->c), o->m->id,
	         o->next_part + 1, r->error);
	/* DCT3 phones give no documented error classes: the network may take it
	 * later, so the core retries with backoff. */
	msg_set_failed(o->m, MSG_TEMPORARY, code, text);
	fbus_out_done(f);
}

/* Whether reply kind k answers the request op. */
static bool fbus_answers(enum fbus_op op, enum nokia_kind k)
{
	switch (op) {
	case OP_MODEL:
		return k == NOKIA_MODEL;
	case OP_SECURITY:
		return k == NOKIA_SECURITY_ON;
	case OP_IMEI:
		return k == NOKIA_IMEI;
	case OP_SMSC:
		return k == NOKIA_SMSC || k == NOKIA_SMSC_ERROR;
	case OP_STATUS:
		return k == NOKIA_SMS_STATUS || k == NOKIA_SMS_STATUS_ERROR;
	case OP_READ:
		return k == NOKIA_SMS || k == NOKIA_SMS_READ_ERROR;
	case OP_DELETE:
		return k == NOKIA_DELETED || k == NOKIA_DELETE_ERROR;
	case OP_FOLDER:
		return k == NOKIA_FOLDER;
	case OP_SEND:
		return k == NOKIA_SENT || k == NOKIA_SEND_ERROR;
	default:
		return false;
	}
}

static void fbus_on_message(void *arg, uint8_t type, const uint8_t *msg, size_t len)
{
	struct fbus *f = arg;
	struct nokia_reply *r = xmalloc(sizeof *r);
	struct errbuf err = {{0}};
	int rc = f->dct4 ? nokia4_decode(type, msg, len, r, &err) : nokia_decode(type, msg, len, r, &err);
	if (r->kind == NOKIA_INCOMING) {
		f->sweep_due = true; /* also stored in the phone: the sweep reads it */
	} else if (f->op != OP_NONE && fbus_answers(f->op, r->kind)) {
		enum fbus_op op = f->op;
		f->op = OP_NONE;
		evtimer_del(f->ev_reply);
		struct nokia_req next;
		switch (op) {
		case OP_MODEL:
			snprintf(f->model, sizeof f->model, "%s", r->model);
			snprintf(f->version, sizeof f->version, "%s", r->version);
			f->dct4 = !strcmp(f->conf->family, "dct4") ||
			          (!strcmp(f->conf->family, "auto") && nokia4_is_dct4(f->model));
			if (f->dct4) {
				log_info("fbus_dct4", "conn=%s model=%s", conn_name(f->c), f->model);
				nokia4_req_get_imei(&next);
				fbus_request(f, OP_IMEI, &next, f->conf->reply_timeout_ms);
			} else {
				nokia_req_enable_security(&next);
				fbus_request(f, OP_SECURITY, &next, f->conf->reply_timeout_ms);
			}
			break;
		case OP_SECURITY:
			nokia_req_get_imei(&next);
			fbus_request(f, OP_IMEI, &next, f->conf->reply_timeout_ms);
			break;
		case OP_IMEI:
			snprintf(f->imei, sizeof f->imei, "%s", r->imei);
			if (f->conf->smsc) {
				fbus_ready(f);
			} else {
				if (f->dct4)
					nokia4_req_get_smsc(&next, 1);
				else
					nokia_req_get_smsc(&next, 1);
				fbus_request(f, OP_SMSC, &next, f->conf->reply_timeout_ms);
			}
			break;
		case OP_SMSC:
			if (r->kind == NOKIA_SMSC)
				snprintf(f->smsc, sizeof f->smsc, "%s", r->smsc);
			fbus_ready(f);
			break;
		case OP_STATUS:
			f->sweep_due = false;
			if (r->kind == NOKIA_SMS_STATUS && r->used > 0) {
				f->sweeping = true;
				f->sim_size = r->sim_size;
				f->used = r->used;
				f->seen = 0;
				f->next_loc = 1;
			}
			break;
		case OP_FOLDER: {
			const uint8_t *fd = fbus_rx_folders4[f->folder];
			f->n_list = r->n_locs;
			f->i_list = 0;
			for (unsigned i = 0; i < r->n_locs; i++)
				f->list[i] = FBUS_LOC4(fd[0], fd[1], r->locs[i]);
			break;
		}
		case OP_READ:
			f->seen++;
			if (rc < 0)
				log_warn("fbus_bad_sms", "conn=%s loc=%" PRIx32 " problem=\"%s\"", conn_name(f->c),
				         f->op_loc, err.msg);
			else if (r->kind == NOKIA_SMS)
				fbus_rx_sms(f, f->op_loc, &r->sms);
			else
				f->seen--; /* empty location */
			break;
		case OP_DELETE:
			log_debug("fbus_deleted", "conn=%s loc=%" PRIx32 " ok=%d", conn_name(f->c), f->op_loc,
			          r->kind == NOKIA_DELETED);
			break;
		case OP_SEND:
			fbus_send_answer(f, r);
			break;
		default:
			break;
		}
	} else if (rc < 0) {
		log_warn("fbus_bad_message", "conn=%s type=%02X problem=\"%s\"", conn_name(f->c), type, err.msg);
	} else {
		log_debug("fbus_unexpected", "conn=%s type=%02X kind=%d op=%s", conn_name(f->c), type, r->kind,
		          fbus_op_names[f->op]);
	}
	free(r);
	if (f->state == FB_READY)
		fbus_pump(f);
}

static void fbus_on_sent(void *arg)
{
	(void)arg; /* the request is with the phone; its reply timer runs */
}

static void fbus_on_lost(void *arg, const char *why)
{
	fbus_down(arg, why);
}

static const struct fbus_link_cbs fbus_link_cbs = {fbus_on_message, fbus_on_sent, fbus_on_lost};

/* ---- the pump ---- */

static void fbus_req_delete(struct fbus *f, struct nokia_req *r, fbus_loc loc)
{
	if (f->dct4)
		nokia4_req_delete_sms(r, (uint8_t)(loc >> 24), (uint8_t)(loc >> 16), (uint16_t)loc);
	else
		nokia_req_delete_sms(r, (uint8_t)loc);
}

/* The next request of a DCT4 sweep: the next location listed, else the
 * next folder's status.  Returns false when the sweep is over. */
static bool fbus_sweep4(struct fbus *f)
{
	struct nokia_req r;
	while (f->i_list < f->n_list) {
		fbus_loc loc = f->list[f->i_list++];
		if (fbus_rx_held(f, loc))
			continue;
		f->op_loc = loc;
		nokia4_req_read_sms(&r, (uint8_t)(loc >> 24), (uint8_t)(loc >> 16), (uint16_t)loc);
		fbus_request(f, OP_READ, &r, f->conf->reply_timeout_ms);
		return true;
	}
	if (f->folder + 1 >= FBUS_FOLDERS4)
		return false;
	f->folder++;
	f->n_list = f->i_list = 0;
	nokia4_req_folder_status(&r, fbus_rx_folders4[f->folder][0], fbus_rx_folders4[f->folder][1]);
	fbus_request(f, OP_FOLDER, &r, f->conf->reply_timeout_ms);
	return true;
}

void fbus_pump(struct fbus *f)
{
	struct nokia_req r;
	if (f->state != FB_READY || f->op != OP_NONE || f->link.busy)
		return;
	if (f->n_deletes > 0) {
		f->op_loc = f->deletes[--f->n_deletes];
		fbus_req_delete(f, &r, f->op_loc);
		fbus_request(f, OP_DELETE, &r, f->conf->reply_timeout_ms);
		return;
	}
	if (f->sweeping && f->dct4) {
		if (fbus_sweep4(f))
			return;
		f->sweeping = false;
	}
	while (f->sweeping) {
		if (f->seen >= f->used || f->next_loc == 0 || f->next_loc > f->sim_size) {
			f->sweeping = false;
			break;
		}
		uint8_t loc = f->next_loc++;
		if (fbus_rx_held(f, loc)) {
			f->seen++;
			continue;
		}
		f->op_loc = loc;
		nokia_req_read_sms(&r, loc);
		fbus_request(f, OP_READ, &r, f->conf->reply_timeout_ms);
		return;
	}
	if (f->out_head) {
		struct fbus_out *o = f->out_head;
		struct errbuf err = {{0}};
		int rc = f->dct4 ? nokia4_req_send_sms(&r, &o->parts[o->next_part], &err)
		                 : nokia_req_send_sms(&r, &o->parts[o->next_part], &err);
		if (rc < 0) {
			msg_set_failed(o->m, MSG_FAILED, "encoding", err.msg);
			fbus_out_done(f);
			fbus_pump(f);
			return;
		}
		o->part_in_flight = true;
		fbus_request(f, OP_SEND, &r, f->conf->send_timeout_ms);
		return;
	}
	if (f->sweep_due && f->dct4 && f->rx_off) {
		f->sweep_due = false;
	} else if (f->sweep_due && f->dct4) {
		f->sweep_due = false;
		f->sweeping = true;
		f->folder = 0;
		f->n_list = f->i_list = 0;
		nokia4_req_folder_status(&r, fbus_rx_folders4[0][0], fbus_rx_folders4[0][1]);
		fbus_request(f, OP_FOLDER, &r, f->conf->reply_timeout_ms);
	} else if (f->sweep_due) {
		nokia_req_sms_status(&r);
		fbus_request(f, OP_STATUS, &r, f->conf->reply_timeout_ms);
	}
}

/* ---- driver ops ---- */

static int fbus_check(const void *conf, struct errbuf *err)
{
	const struct fbus_conf *cf = conf;
	if (serial_conf_check(&cf->serial, err) < 0)
		return -1;
	struct tpdu_addr a;
	if (cf->smsc && (tpdu_addr_set(&a, cf->smsc) < 0 || a.toa == 0xD0))
		return errbuf_set(err, "smsc \"%s\" is not a phone number", cf->smsc);
	if (strcmp(cf->family, "auto") != 0 && strcmp(cf->family, "dct3") != 0 && strcmp(cf->family, "dct4") != 0)
		return errbuf_set(err, "family must be auto, dct3 or dct4");
	return 0;
}

static int fbus_open(struct conn *c)
{
	struct fbus *f = xcalloc(1, sizeof *f);
	f->c = c;
	f->conf = conn_conf(c);
	f->base = conn_event_base(c);
	f->out_tail = &f->out_head;
	static const struct serial_cbs cbs = {fbus_on_read, fbus_on_closed};
	f->port = serial_new(f->base, &f->conf->serial, &cbs, f);
	fbus_link_init(&f->link, f->base, f->port, &fbus_link_cbs, f, f->conf->ack_timeout_ms, f->conf->retries);
	f->ev_reply = evtimer_new(f->base, fbus_on_reply_timeout, f);
	f->ev_reconnect = evtimer_new(f->base, fbus_on_reconnect, f);
	f->ev_sweep = evtimer_new(f->base, fbus_on_sweep_timer, f);
	f->ev_sync = evtimer_new(f->base, fbus_on_sync, f);
	f->reconnect_ms = (uint64_t)f->conf->reconnect_min_ms;
	fbus_rx_init(f);
	conn_set_driver_data(c, f);
	fbus_set_state(f, FB_CLOSED);
	core_conn_state(c, CONN_CONNECTING, "opening the port");
	fbus_timer(f->ev_reconnect, 0);
	return 0;
}

static void fbus_submit(struct conn *c, struct msg *m)
{
	struct fbus *f = conn_driver_data(c);
	struct errbuf err = {{0}};
	struct fbus_out *o = fbus_out_new(m, f->conf->smsc ? f->conf->smsc : f->smsc[0] ? f->smsc : NULL, &err);
	if (!o) {
		msg_set_failed(m, MSG_FAILED, "encoding", err.msg);
		core_complete(c, m);
		return;
	}
	*f->out_tail = o;
	f->out_tail = &o->next;
	fbus_pump(f);
}

static void fbus_stop(struct conn *c)
{
	struct fbus *f = conn_driver_data(c);
	fbus_set_state(f, FB_STOPPED);
	evtimer_del(f->ev_reply);
	evtimer_del(f->ev_reconnect);
	evtimer_del(f->ev_sweep);
	evtimer_del(f->ev_sync);
	fbus_link_reset(&f->link);
	serial_close(f->port);
	fbus_out_abort(f, "connection stopped");
	core_stopped(c);
}

static void fbus_close(struct conn *c)
{
	struct fbus *f = conn_driver_data(c);
	if (!f)
		return;
	fbus_link_free(&f->link);
	event_free(f->ev_reply);
	event_free(f->ev_reconnect);
	event_free(f->ev_sweep);
	event_free(f->ev_sync);
	serial_free(f->port);
	fbus_rx_free(f);
	free(f);
	conn_set_driver_data(c, NULL);
}

const struct driver_ops fbus_driver = {
    .name = "fbus",
    .caps = CAP_SEND | CAP_RECEIVE | CAP_REPORTS,
    .settings = fbus_settings,
    .conf_size = sizeof(struct fbus_conf),
    .check = fbus_check,
    .open = fbus_open,
    .submit = fbus_submit,
    .stop = fbus_stop,
    .close = fbus_close,
    .acked = fbus_rx_acked,
};
