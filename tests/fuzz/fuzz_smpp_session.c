/*
 * fuzz_smpp_session: the SMPP sessions after a successful decode, on both
 * sides, through the seam below the framing (smpp_server_dispatch /
 * smpp_client_dispatch): binds, submit_sm / data_sm (submission building,
 * concatenated parts joined), deliver_sm / data_sm (receipts, texts, long
 * texts), submit_sm_resp / deliver_sm_resp / generic_nack, unbind, with the
 * core's answers, account events to deliver and stops in between.
 * tests/unit/fake_core.h plays the core (its failed checks abort); each
 * session runs on an in-memory link (link_pair: no socket).
 *
 * Input: byte 0 chooses the side and the settings (bit 0: client, bit 1:
 * gsm_packed / long_mode sar, bits 2-3: data_coding_0), then records
 * [op][length: 2 octets][data]:
 *   0  a PDU (decoded; dispatched when it decodes)
 *   1  server: the oldest authenticate answered (data[0] bit 0: accepted);
 *      client: the oldest received/report acked (data[0] bit 0: committed)
 *   2  server: the oldest submit answered (data[0] % 5: ok, invalid with
 *      data[1..] as text, throttled, temporary, ok with id 0);
 *      client: a message to send, data as its text
 *   3  server: a report event (data[0] client_parts, data[1] state,
 *      data[2..] error code); client: a message with data as hex payload
 *   4  server: an inbound event (data[0] bit 0: data[1..] as payload, else
 *      as text)
 *   5  stop()   6  server: the account revoked   7  the loop run once
 * Checked: what reaches the core is well formed (addresses, a body in
 * valid UTF-8 or an uppercase hex payload, a known encoding), every PDU
 * the session writes decodes, every event and message is answered at most
 * once, nothing leaks (ASan), no crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "codec/utf8.h"
#include "driver.h"
#include "log.h"
#include "msg_sms.h"
#include "net/link.h"
#include "settings.h"
#include "smpp/client.h"
#include "smpp/pdu.h"
#include "smpp/server.h"
#include "smpp/wire.h"
#include "util.h"

#include "../unit/fake_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct smpp_pdu pdu;
static int64_t next_id; /* of the messages and events made here */

/* ---- the core's checks (fake_core.h checks the rest) ---- */

static void check_text(const char *body, const char *payload, const char *encoding)
{
	if (!encoding || (!body == !payload))
		abort();
	static const char *const known[] = {"gsm7", "ascii", "latin1", "ucs2", "binary", "auto"};
	int ok = 0;
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		ok |= strcmp(encoding, known[i]) == 0;
	if (!ok)
		abort();
	if (body && utf8_validate(body, strlen(body), NULL))
		abort();
	for (const char *p = payload; p && *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F')))
			abort();
}

static bool fuzz_received(struct conn *c, const struct inbound *in, uint64_t token)
{
	(void)c, (void)token;
	check_text(in->body, in->payload, in->encoding);
	return true;
}
static bool fuzz_submit(struct conn *c, const struct submission *s, uint64_t token)
{
	(void)c, (void)token;
	check_text(s->body, s->payload, s->encoding);
	if (s->udh && !s->payload)
		abort(); /* a UDH is kept with binary data only */
	if (s->client_parts < 0 || s->client_parts > 255)
		abort();
	return true;
}

static const struct fake_core_hooks fuzz_hooks = {.received = fuzz_received, .submit = fuzz_submit};

/* ---- the harness ---- */

static struct event_base *base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERROR);
	base = event_base_new();
	return 0;
}

/* Every PDU the session wrote must decode. */
static void drain(struct bufferevent *peer)
{
	struct evbuffer *in = bufferevent_get_input(peer);
	static struct smpp_pdu out;
	struct smpp_pdu_error e;
	for (;;) {
		size_t have = evbuffer_get_length(in);
		if (have < 4)
			return;
		uint8_t *b = evbuffer_pullup(in, 4);
		uint32_t len = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		if (len < 16 || len > SMPP_PDU_MAX_LEN || have < len)
			abort(); /* the session wrote something that is no PDU */
		if (smpp_pdu_decode(evbuffer_pullup(in, len), len, &out, &e))
			abort();
		evbuffer_drain(in, len);
	}
}

static void run_loop(struct bufferevent *peer)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
	if (peer)
		drain(peer);
}

static char *text_of(const uint8_t *d, size_t n)
{
	char *t = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		t[i] = d[i] >= 0x20 && d[i] < 0x7F ? (char)d[i] : 'x';
	t[n] = 0;
	return t;
}

static struct account_event *event_new_of(struct conn *c, int op, const uint8_t *d, size_t n)
{
	static const char *const states[] = {"delivered", "undelivered", "expired", "rejected", "failed", "deleted"};
	if (c->nlent >= FAKE_MAXQ)
		return NULL;
	struct account_event *ev = xcalloc(1, sizeof *ev);
	ev->id = c->nlent + 1;
	ev->account = xstrdup("esme");
	ev->sender = xstrdup(n > 3 && d[3] & 1 ? "Shop" : "+4915551234");
	ev->recipient = xstrdup("+4915559876");
	if (op == 3) {
		ev->kind = ACCOUNT_EVENT_REPORT;
		ev->message_id = ++next_id;
		ev->client_parts = n > 0 ? d[0] : 0;
		ev->state = xstrdup(states[(n > 1 ? d[1] : 0) % 6]);
		ev->error_code = n > 2 ? text_of(d + 2, n - 2 > 8 ? 8 : n - 2) : NULL;
		ev->submitted_s = 1767225600;
		ev->done_s = 1767225660;
	} else {
		ev->kind = ACCOUNT_EVENT_INBOUND;
		ev->message_id = ++next_id;
		if (n > 0 && d[0] & 1) {
			ev->payload = msg_sms_hex(d + 1, n - 1);
			ev->encoding = xstrdup("binary");
			if (n > 1 && d[0] & 2)
				ev->udh = xstrdup("050003010201");
		} else {
			ev->body = text_of(n ? d + 1 : d, n ? n - 1 : 0);
			ev->encoding = xstrdup("auto");
		}
	}
	fake_lend(c, ev);
	return ev;
}

static struct msg *msg_of(struct conn *c, const uint8_t *d, size_t n, bool binary)
{
	struct msg *m = xcalloc(1, sizeof *m);
	m->id = ++next_id;
	m->recipient = xstrdup("+4915559876");
	m->sender = n > 0 && d[0] & 1 ? xstrdup("Shop") : NULL;
	m->msg_class = -1;
	m->want_report = true;
	if (binary) {
		m->payload = msg_sms_hex(d, n);
		m->encoding = xstrdup("binary");
	} else {
		m->body = text_of(d, n);
		m->encoding = xstrdup("auto");
	}
	return m;
}

static void server_op(struct conn *c, struct sess *s, int op, const uint8_t *d, size_t n)
{
	uint64_t token;
	switch (op) {
	case 1:
		if (fake_pop(c->auths, &c->nauths, &token)) {
			struct account_info a = {.name = "esme", .max_binds = 0, .throughput = 0};
			smpp_server_driver.authenticated(c, token, n > 0 && d[0] & 1 ? &a : NULL, "wrong password");
		}
		return;
	case 2:
		if (fake_pop(c->submits, &c->nsubmits, &token)) {
			static const enum submit_error errs[] = {SUBMIT_OK, SUBMIT_INVALID, SUBMIT_THROTTLED,
			                                         SUBMIT_TEMPORARY, SUBMIT_OK};
			int k = n > 0 ? d[0] % 5 : 0;
			char *text = k == 1 && n > 1 ? text_of(d + 1, n - 1) : NULL;
			struct submit_result res = {.message_id = k == 4 ? 0 : ++next_id,
			                            .error = errs[k],
			                            .field = (enum submit_field)(n > 1 ? d[1] % 20 : 0),
			                            .text = text};
			smpp_server_driver.submitted(c, token, &res);
			free(text);
		}
		return;
	case 3:
	case 4: {
		struct account_event *ev = event_new_of(c, op, d, n);
		if (ev)
			smpp_server_driver.deliver(c, ev);
		return;
	}
	case 5:
		smpp_server_driver.stop(c);
		return;
	case 6:
		smpp_server_driver.account_revoked(c, n > 0 && d[0] & 1 ? "" : "esme");
		return;
	default:
		(void)s;
		return;
	}
}

static void client_op(struct conn *c, int op, const uint8_t *d, size_t n)
{
	uint64_t token;
	switch (op) {
	case 1:
		if (fake_pop(c->acks, &c->nacks, &token))
			smpp_driver.acked(c, token, n > 0 && d[0] & 1);
		return;
	case 2:
	case 3:
		if (!c->stopped)
			smpp_driver.submit(c, msg_of(c, d, n, op == 3));
		return;
	case 5:
		if (!c->stopped)
			smpp_driver.stop(c);
		return;
	default:
		return;
	}
}

static void *confs[2][8];

static void *conf_of(int client, int variant)
{
	static const char *const dc0[] = {"gsm7", "latin1", "ascii", "gsm7"};
	if (confs[client][variant])
		return confs[client][variant];
	const struct driver_ops *ops = client ? &smpp_driver : &smpp_server_driver;
	char json[400];
	if (client)
		snprintf(json, sizeof json,
		         "{\"host\": \"127.0.0.1\", \"port\": 9, \"system_id\": \"fuzz\", \"gsm_packed\": %s, "
		         "\"reconnect_min_ms\": 3600000, \"reconnect_max_ms\": 3600000, "
		         "\"long_mode\": \"%s\", \"data_coding_0\": \"%s\"}",
		         variant & 1 ? "true" : "false", variant & 1 ? "sar" : "udh", dc0[variant >> 1]);
	else
		snprintf(json, sizeof json,
		         "{\"listen\": \"127.0.0.1:0\", \"data_coding_0\": \"%s\", \"reassembly_max_parts\": %d}",
		         dc0[variant >> 1], variant & 1 ? 3 : 100);
	void *conf = xcalloc(1, ops->conf_size);
	struct errbuf err = {""};
	if (settings_parse(ops->settings, json, conf, &err) || (ops->check && ops->check(conf, &err))) {
		fprintf(stderr, "fuzz_smpp_session: %s: %s\n", json, err.msg);
		abort();
	}
	return confs[client][variant] = conf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int client = data[0] & 1, variant = (data[0] >> 1) & 7;
	static struct conn c;
	memset(&c, 0, sizeof c);
	c.hooks = &fuzz_hooks;
	next_id = 0;
	c.base = base;
	c.conf = conf_of(client, variant);
	struct bufferevent *peer = NULL;
	struct sess *s = NULL;
	struct client *cl = NULL;
	if (client) {
		cl = smpp_client_new(&c);
		if (!cl || smpp_client_bind_memory(cl, &peer))
			abort();
	} else {
		struct server *sv = smpp_server_new(&c);
		sv->base.up = true; /* listening is not fuzzed: the tick never opens a socket */
		s = smpp_server_sess_memory(sv, &peer);
		if (!s)
			abort();
	}
	size_t i = 1;
	while (i + 3 <= size) {
		int op = data[i] & 7;
		size_t n = (size_t)data[i + 1] << 8 | data[i + 2];
		i += 3;
		if (n > size - i)
			n = size - i;
		const uint8_t *d = data + i;
		i += n;
		if (op == 0) {
			struct smpp_pdu_error e;
			if (smpp_pdu_decode(d, n, &pdu, &e) == 0) {
				/* a session closed by the driver is freed by it: only
				 * live ones get PDUs (as from their link) */
				if (client && cl->sess[0].link)
					smpp_client_dispatch(&cl->sess[0], &pdu);
				else if (!client && s->hd.link)
					smpp_server_dispatch(s, &pdu);
			}
		} else if (op == 7) {
			run_loop(peer);
		} else if (client) {
			client_op(&c, op, d, n);
		} else if (!c.stopped) {
			server_op(&c, s, op, d, n);
		}
		drain(peer);
		if (!client && !c.stopped && s->state == SS_CLOSED)
			break; /* the session is gone (reaped at the next tick) */
	}
	/* What the core still owes is dropped, as a forced close does. */
	(client ? smpp_driver.close : smpp_server_driver.close)(&c);
	bufferevent_free(peer);
	return 0;
}
