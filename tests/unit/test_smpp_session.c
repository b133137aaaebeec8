/*
 * The smpp-server session through its seam (smpp_server_dispatch on an
 * in-memory link, fake_core.h playing the core): the spec's status codes
 * where the server used ESME_RSYSERR for application errors (a submit while
 * unbinding, a database that cannot take it now: ESME_RX_T_APPN), and a
 * joined long text: one submission whose client_parts is the number of
 * parts and whose client_ref is the client's own, then one receipt per part
 * with the part's id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "fake_core.h"
#include "settings.h"
#include "smpp/pdu.h"
#include "smpp/server.h"
#include "smpp/status.h"
#include "smpp/wire.h"
#include "util.h"

struct fixture {
	struct conn c;
	struct sess *s;
	struct bufferevent *peer;
	struct smpp_pdu in, out[8];
	int nout;
};

/* The PDUs the session wrote since the last call, decoded into f->out. */
static int written(struct fixture *f)
{
	event_base_loop(f->c.base, EVLOOP_NONBLOCK);
	struct evbuffer *b = bufferevent_get_input(f->peer);
	f->nout = 0;
	while (evbuffer_get_length(b) >= 16 && f->nout < 8) {
		uint8_t *h = evbuffer_pullup(b, 4);
		uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
		assert_true(evbuffer_get_length(b) >= len);
		struct smpp_pdu_error e;
		assert_int_equal(smpp_pdu_decode(evbuffer_pullup(b, len), len, &f->out[f->nout], &e), 0);
		evbuffer_drain(b, len);
		f->nout++;
	}
	return f->nout;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);
	f->c.base = event_base_new();
	f->c.conf = xcalloc(1, smpp_server_driver.conf_size);
	struct errbuf err = {""};
	assert_int_equal(settings_parse(smpp_server_driver.settings, "{\"listen\": \"127.0.0.1:0\"}", f->c.conf, &err),
	                 0);
	struct server *sv = smpp_server_new(&f->c);
	sv->base.up = true; /* no listener: the session is in memory */
	f->s = smpp_server_sess_memory(sv, &f->peer);
	assert_non_null(f->s);
	/* bind_transceiver, accepted */
	smpp_wire_pdu_reset(&f->in, SMPP_BIND_TRANSCEIVER, 1);
	snprintf(f->in.system_id, sizeof f->in.system_id, "esme");
	snprintf(f->in.password, sizeof f->in.password, "pw");
	f->in.interface_version = 0x34;
	smpp_server_dispatch(f->s, &f->in);
	struct account_info a = {.name = "esme"};
	smpp_server_driver.authenticated(&f->c, f->c.auths[0], &a, NULL);
	assert_int_equal(written(f), 1);
	assert_int_equal(f->out[0].command_id, SMPP_BIND_TRANSCEIVER_RESP);
	assert_int_equal(f->out[0].command_status, SMPP_ESME_ROK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	smpp_server_driver.close(&f->c);
	bufferevent_free(f->peer);
	settings_free(smpp_server_driver.settings, f->c.conf);
	free(f->c.conf);
	event_base_free(f->c.base);
	free(f);
	return 0;
}

static void submit(struct fixture *f, uint32_t seq, const uint8_t *sm, size_t n, bool udh)
{
	smpp_wire_pdu_reset(&f->in, SMPP_SUBMIT_SM, seq);
	snprintf(f->in.destination_addr, sizeof f->in.destination_addr, "4915559876");
	f->in.dest_addr_ton = 1;
	f->in.registered_delivery = 1;
	f->in.esm_class = udh ? 0x40 : 0;
	memcpy(f->in.short_message, sm, n);
	f->in.sm_length = (uint8_t)n;
	f->in.known.has_user_message_reference = true;
	f->in.known.user_message_reference = 5;
	smpp_server_dispatch(f->s, &f->in);
}

/* The database cannot take it now: ESME_RX_T_APPN (temporary, resent), not
 * ESME_RSYSERR. */
static void temporary_is_rx_t_appn(void **state)
{
	struct fixture *f = *state;
	submit(f, 2, (const uint8_t *)"hello", 5, false);
	assert_int_equal(f->c.submitted, 1);
	smpp_server_driver.submitted(
	    &f->c, f->c.submits[0], &(struct submit_result){.error = SUBMIT_TEMPORARY, .text = "database unavailable"});
	assert_int_equal(written(f), 1);
	assert_int_equal(f->out[0].command_id, SMPP_SUBMIT_SM_RESP);
	assert_int_equal(f->out[0].sequence_number, 2);
	assert_int_equal(f->out[0].command_status, SMPP_ESME_RX_T_APPN);
}

/* A submit while the session unbinds (the account changed): refused with
 * ESME_RX_T_APPN, nothing handed to the core. */
static void unbinding_is_rx_t_appn(void **state)
{
	struct fixture *f = *state;
	smpp_server_driver.account_revoked(&f->c, "esme");
	assert_int_equal(written(f), 1);
	assert_int_equal(f->out[0].command_id, SMPP_UNBIND);
	submit(f, 3, (const uint8_t *)"late", 4, false);
	assert_int_equal(written(f), 1);
	assert_int_equal(f->out[0].command_id, SMPP_SUBMIT_SM_RESP);
	assert_int_equal(f->out[0].command_status, SMPP_ESME_RX_T_APPN);
	assert_int_equal(f->c.submitted, 0);
}

/* Two UDH parts: one submission, client_parts 2, the client's reference
 * kept; each part answered "<id>-<k>"; the report goes out once per part. */
static void joined_parts(void **state)
{
	struct fixture *f = *state;
	const uint8_t p1[] = {5, 0, 3, 0x42, 2, 1, 'a', 'b'}, p2[] = {5, 0, 3, 0x42, 2, 2, 'c'};
	submit(f, 4, p1, sizeof p1, true);
	assert_int_equal(f->c.submitted, 0);
	submit(f, 5, p2, sizeof p2, true);
	assert_int_equal(f->c.submitted, 1);
	assert_int_equal(f->c.client_parts, 2);
	assert_string_equal(f->c.client_ref, "5");
	smpp_server_driver.submitted(&f->c, f->c.submits[0], &(struct submit_result){.message_id = 77});
	assert_int_equal(written(f), 2);
	assert_string_equal(f->out[0].message_id, "77-1");
	assert_string_equal(f->out[1].message_id, "77-2");

	struct account_event *ev = xcalloc(1, sizeof *ev);
	ev->id = 1;
	ev->account = xstrdup("esme");
	ev->kind = ACCOUNT_EVENT_REPORT;
	ev->message_id = 77;
	ev->client_parts = 2;
	ev->state = xstrdup("delivered");
	ev->recipient = xstrdup("+4915559876");
	fake_lend(&f->c, ev);
	smpp_server_driver.deliver(&f->c, ev);
	assert_int_equal(written(f), 2);
	for (int i = 0; i < 2; i++) {
		char want[16];
		snprintf(want, sizeof want, "77-%d", i + 1);
		assert_int_equal(f->out[i].command_id, SMPP_DELIVER_SM);
		assert_true(f->out[i].known.has_receipted_message_id);
		assert_string_equal(f->out[i].known.receipted_message_id, want);
	}
	uint32_t seqs[2] = {f->out[0].sequence_number, f->out[1].sequence_number};
	for (int i = 0; i < 2; i++) {
		smpp_wire_pdu_reset(&f->in, SMPP_DELIVER_SM_RESP, seqs[i]);
		smpp_server_dispatch(f->s, &f->in);
	}
	assert_int_equal(f->c.events_done, 1);
	assert_int_equal(f->c.events_delivered, 1); /* and the driver freed ev */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(temporary_is_rx_t_appn, setup, teardown),
	    cmocka_unit_test_setup_teardown(unbinding_is_rx_t_appn, setup, teardown),
	    cmocka_unit_test_setup_teardown(joined_parts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
