/*
 * ucp server, deliveries: account events (reports, inbound texts) go out
 * to a session of the account as op 53 / op 52 (one per part), through the
 * shared account bookkeeping (src/net/accounts.c); an event is done when
 * every frame of it got its result (ACK: delivered).
 *
 * A report carries the recipient and the SCTS of the ACK of the submit
 * (ucp_data_scts_id), so that the client matches it; a message joined from
 * N parts (outbox.client_parts N) gets N op 53, one per part's SCTS.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "codec/sms.h"
#include "log.h"
#include "ucp/data.h"
#include "ucp/server.h"
#include "util.h"

static const char reserved_marker;
#define RESERVED ((void *)&reserved_marker)

bool server_deliver_reserved(const void *data)
{
	return data == RESERVED;
}

/* Dst and Rsn of a report state. */
static const char *report_dst(const char *state)
{
	if (!strcmp(state, "delivered"))
		return "0";
	if (!strcmp(state, "enroute") || !strcmp(state, "accepted") || !strcmp(state, "sent") ||
	    !strcmp(state, "buffered"))
		return "1";
	return "2";
}

/* The op 53 of report ev for part (0: a message submitted whole) into f
 * (sv->sm), its TRN taken into *trn.  Returns 0 or -1 with err set. */
static int report_frame(struct server *sv, struct sess *s, const struct account_event *ev, unsigned part, int64_t now,
                        uint32_t *trn, struct ucp_frame *f, struct errbuf *err)
{
	struct ucp_sm *sm = &sv->sm;
	ucp_sm_reset(sm);
	if (ucp_sm_adc(ev->recipient ? ev->recipient : "", sm->oadc, sizeof sm->oadc))
		snprintf(sm->oadc, sizeof sm->oadc, "%.39s", ev->recipient ? ev->recipient : "");
	snprintf(sm->adc, sizeof sm->adc, "%.39s", ev->sender ? ev->sender : "");
	if (ev->sender && ucp_sm_adc(ev->sender, sm->adc, sizeof sm->adc))
		sm->adc[0] = '\0'; /* an alphanumeric sender has no AdC form */
	ucp_data_scts_id(ev->message_id, part, sm->scts);
	const char *dst = report_dst(ev->state ? ev->state : "");
	snprintf(sm->dst, sizeof sm->dst, "%s", dst);
	const char *ec = ev->error_code;
	bool ec_ok = ec && *ec && strlen(ec) <= 3 && strspn(ec, "0123456789") == strlen(ec);
	snprintf(sm->rsn, sizeof sm->rsn, "%03d", ec_ok ? atoi(ec) : 0);
	ucp_data_scts_format(ev->done_s > 0 ? ev->done_s : now, sm->dscts);
	char text[160];
	snprintf(text, sizeof text, "Message %s %s", sm->scts,
	         dst[0] == '0'   ? "delivered"
	         : dst[0] == '1' ? "buffered"
	                         : "not delivered");
	ucp_sm_set_text(sm, text);
	if (link_next_seq(s->hd.link, trn))
		return errbuf_set(err, "no free TRN");
	ucp_sm_frame(sm, *trn, 53, f);
	return 0;
}

/* The op 52/53 frames of ev on s, one per part, into buf: returns the parts
 * (trns set), or -1 with err set. */
static int build_event(struct server *sv, struct sess *s, const struct account_event *ev, struct evbuffer *buf,
                       uint32_t *trns, int max, struct errbuf *err)
{
	struct ucp_sm *sm = &sv->sm;
	struct ucp_frame f;
	size_t n;
	int64_t now = now_wall_ms() / 1000;
	if (ev->kind == ACCOUNT_EVENT_REPORT) {
		/* A joined message: one op 53 per part the client submitted, each
		 * with the SCTS its ACK gave; the TRNs but the last reserved while
		 * the next is taken. */
		unsigned nparts = net_join_receipts(ev->client_parts);
		if ((int)nparts > max)
			return errbuf_set(err, "%u parts, window %d", nparts, max);
		for (unsigned k = 0; k < nparts; k++) {
			if (report_frame(sv, s, ev, nparts > 1 ? k + 1 : 0, now, &trns[k], &f, err) ||
			    ucp_frame_encode(&f, sv->obuf, sizeof sv->obuf, &n, err) ||
			    (k + 1 < nparts && link_request_add(s->hd.link, trns[k], RESERVED, 0, true))) {
				for (unsigned i = 0; i < k; i++)
					(void)link_request_take(s->hd.link, trns[i]);
				if (!err->msg[0])
					errbuf_set(err, "TRN in use");
				return -1;
			}
			evbuffer_add(buf, sv->obuf, n);
		}
		return (int)nparts;
	}
	/* An inbound text, split into parts. */
	struct sms_split_opts opts = {0};
	struct sms_split sp = {0};
	const char *data;
	size_t len;
	uint8_t *bin = NULL;
	int rc = -1, reserved = 0;
	if (sms_encoding_from_name(ev->encoding && strcmp(ev->encoding, "binary") == 0 ? "binary"
	                           : ev->encoding && strcmp(ev->encoding, "ucs2") == 0 ? "ucs2"
	                                                                               : "auto",
	                           &opts.encoding))
		return errbuf_set(err, "bad encoding");
	if (opts.encoding == SMS_ENC_BINARY) {
		size_t cap = ev->payload ? strlen(ev->payload) / 2 + 1 : 1;
		bin = xmalloc(cap);
		int nb = ev->payload ? hex_decode(ev->payload, bin, cap) : 0;
		if (nb < 0) {
			free(bin);
			return errbuf_set(err, "payload is not hex");
		}
		data = (const char *)bin;
		len = (size_t)nb;
	} else {
		data = ev->body ? ev->body : "";
		len = strlen(data);
	}
	opts.concat_ref = link_random() & 0xFF;
	if (sms_count_parts(data, len, &opts, &sp, err))
		goto out;
	if ((int)sp.n_parts > max) {
		errbuf_set(err, "%u parts, window %d", sp.n_parts, max);
		goto out;
	}
	sp.parts = xcalloc(sp.n_parts, sizeof *sp.parts);
	sp.parts_cap = sp.n_parts;
	if (sms_split(data, len, &opts, &sp, err))
		goto out;
	char scts[13];
	ucp_data_scts_format(now, scts);
	for (unsigned i = 0; i < sp.n_parts; i++) {
		ucp_sm_reset(sm);
		if (ucp_sm_adc(ev->recipient ? ev->recipient : "", sm->adc, sizeof sm->adc))
			snprintf(sm->adc, sizeof sm->adc, "%.39s", ev->recipient ? ev->recipient : "");
		if (ucp_sm_oadc(ev->sender, sm)) {
			errbuf_set(err, "sender has no OAdC form");
			goto out;
		}
		memcpy(sm->scts, scts, sizeof scts);
		if (ucp_sm_set_part(sm, &sp, &sp.parts[i], -1) || link_next_seq(s->hd.link, &trns[i])) {
			errbuf_set(err, "part %u does not fit", i + 1);
			goto out;
		}
		ucp_sm_frame(sm, trns[i], 52, &f);
		if (ucp_frame_encode(&f, sv->obuf, sizeof sv->obuf, &n, err))
			goto out;
		evbuffer_add(buf, sv->obuf, n);
		/* The next part needs another TRN: reserve this one now. */
		if (link_request_add(s->hd.link, trns[i], RESERVED, 0, true)) {
			errbuf_set(err, "TRN in use");
			goto out;
		}
		reserved++;
	}
	rc = (int)sp.n_parts;
out:
	/* Reservations are replaced by the caller (or dropped on failure). */
	for (int i = 0; rc < 0 && i < reserved; i++)
		(void)link_request_take(s->hd.link, trns[i]);
	free(sp.parts);
	free(bin);
	return rc;
}

static bool can_take(void *sess, void *arg)
{
	struct sess *s = sess;
	(void)arg;
	return s->hd.state == SRVBASE_BOUND && s->hd.link && !link_congested(s->hd.link) &&
	       link_window_room(s->hd.link) >= 1;
}

void server_deliver_answer(struct server *sv, struct accounts_part *p, bool ok)
{
	struct sess *s = p->sess;
	accounts_part_answer(&sv->accts, p, ok);
	if (s->hd.acct && s->hd.state == SRVBASE_BOUND)
		accounts_drain(&sv->accts, s->hd.acct); /* the window has room again */
}

void server_deliver_drained(void *arg, uint32_t seq, void *data)
{
	(void)seq;
	if (data && data != RESERVED && data != LINK_KEEPALIVE)
		server_deliver_answer(arg, data, false);
}

static void deliver_to(struct accounts *as, void *sess, struct accounts_acct *a, struct account_event *ev, void *arg)
{
	struct server *sv = arg;
	struct sess *s = sess;
	struct errbuf err = {""};
	struct evbuffer *buf = evbuffer_new();
	uint32_t trns[SMS_MAX_PARTS];
	int room = link_window_room(s->hd.link);
	/* The op 53 of a joined message's parts go together, beyond the window
	 * if need be (TRNs permitting): a window smaller than the parts would
	 * otherwise never let its report out. */
	int max = ev->kind == ACCOUNT_EVENT_REPORT ? 100 - link_outstanding(s->hd.link) : room;
	int n = build_event(sv, s, ev, buf, trns, max > 0 ? max : 1, &err);
	if (n < 0) {
		evbuffer_free(buf);
		log_warn("ucp_server_deliver_failed", "conn=%s account=%s event=%" PRId64 " error=\"%s\"",
		         server_cname(sv), a->name, ev->id, err.msg);
		accounts_refuse(as, ev);
		return;
	}
	int sent = link_send(s->hd.link, evbuffer_pullup(buf, -1), evbuffer_get_length(buf));
	evbuffer_free(buf);
	log_debug("ucp_server_deliver", "conn=%s sess=%" PRIu64 " event=%" PRId64 " frames=%d", server_cname(sv),
	          s->hd.id, ev->id, n);
	struct accounts_part **ps = accounts_dlv_new(as, ev, s, n);
	for (int i = 0; i < n; i++) {
		ps[i]->seq = trns[i];
		if (server_deliver_reserved(link_request_find(s->hd.link, trns[i])))
			(void)link_request_take(s->hd.link, trns[i]); /* the reservation */
	}
	/* A part that could not be sent or registered fails at once; the
	 * event is done after the last part. */
	for (int i = 0; i < n; i++)
		if (sent || link_request_add(s->hd.link, trns[i], ps[i], 0, true))
			server_deliver_answer(sv, ps[i], false);
	free(ps);
}

const struct accounts_ops server_deliver_ops = {
    .can_take = can_take,
    .deliver = deliver_to,
};
