/*
 * The FBUS link: what gnokii and Gammu do between the serial line and the
 * Nokia messages.  Outgoing, one message at a time is cut into frames of at
 * most 120 octets; each frame waits for the phone's acknowledgement (type
 * 7F, [type, seq]) and is sent again after ack_timeout_ms, at most `retries`
 * times, before the phone counts as lost.  Incoming, every data frame is
 * acknowledged at once (a retransmission of the frame just taken is
 * acknowledged again and dropped), blocks are joined by the assembler and
 * whole messages go up to the session.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fbus/fbus.h"
#include "log.h"

static void fbus_link_write_frame(struct fbus_link *l, const struct fbus_frame *f)
{
	uint8_t buf[FBUS_FRAME_MAX];
	int n = fbus_frame_encode(f, buf, sizeof buf);
	if (n < 0 || serial_write(l->port, buf, (size_t)n) < 0)
		log_warn("fbus_write", "problem=\"port closed or output queue full\"");
}

static void fbus_link_arm(struct fbus_link *l)
{
	struct timeval tv = {(time_t)(l->ack_timeout_ms / 1000), (suseconds_t)(l->ack_timeout_ms % 1000) * 1000};
	evtimer_add(l->ev_ack, &tv);
}

/* Writes frame l->frame of the message in flight. */
static void fbus_link_write_current(struct fbus_link *l)
{
	struct fbus_frame f;
	if (fbus_msg_frame(&f, FBUS_FRAME_ID, FBUS_DEV_PHONE, FBUS_DEV_PC, l->out.type, l->out.data, l->out.len,
	                   l->frame, l->frame_seq) < 0)
		abort(); /* NOKIA_REQ_MAX keeps every request within 255 frames */
	fbus_link_write_frame(l, &f);
	fbus_link_arm(l);
}

static void fbus_link_next_frame(struct fbus_link *l)
{
	l->frame_seq = l->seq;
	l->seq = (uint8_t)((l->seq + 1) & 7);
	l->tries = 0;
	fbus_link_write_current(l);
}

static void fbus_link_on_ack_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct fbus_link *l = arg;
	if (!l->busy)
		return;
	if (++l->tries > l->retries) {
		l->busy = false;
		l->cbs->lost(l->arg, "no acknowledgement from the phone");
		return;
	}
	log_debug("fbus_retransmit", "type=%02X seq=%u try=%lld", l->out.type, l->frame_seq, l->tries);
	fbus_link_write_current(l);
}

void fbus_link_init(struct fbus_link *l, struct event_base *base, struct serial *port, const struct fbus_link_cbs *cbs,
                    void *arg, long long ack_timeout_ms, long long retries)
{
	memset(l, 0, sizeof *l);
	l->base = base;
	l->port = port;
	l->cbs = cbs;
	l->arg = arg;
	l->ack_timeout_ms = ack_timeout_ms;
	l->retries = retries;
	l->ev_ack = evtimer_new(base, fbus_link_on_ack_timeout, l);
	fbus_link_reset(l);
}

void fbus_link_free(struct fbus_link *l)
{
	if (l->ev_ack)
		event_free(l->ev_ack);
	l->ev_ack = NULL;
}

void fbus_link_reset(struct fbus_link *l)
{
	evtimer_del(l->ev_ack);
	fbus_reader_init(&l->rd, FBUS_DEV_PC);
	memset(&l->as, 0, sizeof l->as);
	l->busy = false;
	l->seq = 0;
	l->last_rx_type = l->last_rx_seq = -1;
}

void fbus_link_sync(struct fbus_link *l)
{
	uint8_t burst[128];
	memset(burst, FBUS_SYNC_OCTET, sizeof burst);
	if (serial_write(l->port, burst, sizeof burst) < 0)
		log_warn("fbus_write", "problem=\"port closed or output queue full\"");
}

void fbus_link_send(struct fbus_link *l, const struct nokia_req *r)
{
	l->out = *r;
	l->busy = true;
	l->frame = 0;
	l->frames = fbus_frames_for(r->len);
	fbus_link_next_frame(l);
}

static void fbus_link_acked(struct fbus_link *l, const struct fbus_frame *f)
{
	if (!l->busy || f->data[0] != l->out.type || (f->data[1] & 0x07) != l->frame_seq)
		return; /* late or foreign: the frame it acknowledges is done already */
	evtimer_del(l->ev_ack);
	if (++l->frame < l->frames) {
		fbus_link_next_frame(l);
		return;
	}
	l->busy = false;
	l->cbs->sent(l->arg);
}

static void fbus_link_data(struct fbus_link *l, const struct fbus_frame *f)
{
	uint8_t seq = fbus_frame_seq(f);
	struct fbus_frame ack;
	fbus_frame_ack(&ack, f->frame_id, FBUS_DEV_PHONE, FBUS_DEV_PC, f->type, seq);
	fbus_link_write_frame(l, &ack);
	if (f->type == l->last_rx_type && seq == l->last_rx_seq) {
		log_debug("fbus_duplicate", "type=%02X seq=%02X", f->type, seq);
		return;
	}
	l->last_rx_type = f->type;
	l->last_rx_seq = seq;
	int rc = fbus_assemble(&l->as, f);
	if (rc < 0) {
		log_warn("fbus_frame_dropped", "type=%02X seq=%02X problem=\"%s\"", f->type, seq,
		         rc == -EMSGSIZE ? "message too long" : "frame out of sequence");
		return;
	}
	if (rc == 1) {
		/* A reply also means our request arrived, even if its ack was lost. */
		if (l->busy && l->frame + 1 == l->frames) {
			evtimer_del(l->ev_ack);
			l->busy = false;
			l->cbs->sent(l->arg);
		}
		l->cbs->message(l->arg, l->as.type, l->as.msg, l->as.len);
	}
}

void fbus_link_input(struct fbus_link *l, const uint8_t *data, size_t len)
{
	struct fbus_frame f;
	while (len > 0) {
		size_t took = fbus_reader_push(&l->rd, data, len);
		data += took;
		len -= took;
		while (fbus_reader_next(&l->rd, &f) == 1) {
			if (f.type == FBUS_TYPE_ACK)
				fbus_link_acked(l, &f);
			else
				fbus_link_data(l, &f);
		}
	}
}
