/* link wire: see wire.h. */
#include "link/wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

long link_wire_frame(const uint8_t *buf, size_t len, struct errbuf *err)
{
	(void)err;
	return link_frame_length(buf, len, UINT32_MAX);
}

int link_wire_send(struct link *l, const link_frame_t *f)
{
	size_t n;
	uint8_t *b = link_frame_encode(f, &n);
	int rc = link_send(l, b, n);
	free(b);
	return rc;
}

void link_wire_error(struct link *l, const char *code, const char *text)
{
	Smspool__Link__Error e = SMSPOOL__LINK__ERROR__INIT;
	e.code = (char *)code;
	e.text = (char *)text;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_ERROR;
	f.error = &e;
	(void)link_wire_send(l, &f);
	link_close_flush(l, text);
}

void link_wire_too_big(struct link *l, const char *reason)
{
	Smspool__Link__Error e = SMSPOOL__LINK__ERROR__INIT;
	e.code = "too_big";
	e.text = (char *)reason;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	f.body_case = SMSPOOL__LINK__FRAME__BODY_ERROR;
	f.error = &e;
	(void)link_wire_send(l, &f);
}

int link_wire_heartbeat(struct link *l, uint64_t seq, bool ack)
{
	Smspool__Link__Heartbeat hb = SMSPOOL__LINK__HEARTBEAT__INIT;
	hb.seq = seq;
	link_frame_t f = SMSPOOL__LINK__FRAME__INIT;
	if (ack) {
		f.body_case = SMSPOOL__LINK__FRAME__BODY_HEARTBEAT_ACK;
		f.heartbeat_ack = &hb;
	} else {
		f.body_case = SMSPOOL__LINK__FRAME__BODY_HEARTBEAT;
		f.heartbeat = &hb;
	}
	return link_wire_send(l, &f);
}

bool link_wire_client_ids(void)
{
	const char *e = getenv("SMSPOOL_LINK_CLIENT_IDS");
	return !e || strcmp(e, "0") != 0;
}
