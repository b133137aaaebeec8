/*
 * smpp-server: the parts of a concatenated submit (submit_sm, UDH IE 00 in
 * short_message) held by a session when the connection stops or the
 * session goes away before the core answered: server_join.h's cases, with
 * a bound transmitter as the client.  At the stop the client answers the
 * unbind; the held part gets ESME_RSUBMITFAIL, each part of the joined set
 * its "<id>-<part>" after the commit.
 */
#include "server_join.h"

#include "smpp/pdu.h"
#include "smpp/server.h"
#include "smpp/status.h"

static struct smpp_pdu pdu;

static void put(struct bufferevent *peer, const struct smpp_pdu *p)
{
	uint8_t buf[SMPP_PDU_MAX_LEN];
	size_t n;
	assert_int_equal(smpp_pdu_encode(p, buf, sizeof buf, &n, NULL), 0);
	assert_int_equal(bufferevent_write(peer, buf, n), 0);
}

static struct srvbase_sess *sess_new(struct conn *c, struct bufferevent **peer)
{
	struct sess *s = smpp_server_sess_memory(smpp_server_new(c), peer);
	return s ? &s->hd : NULL;
}

static size_t held(struct srvbase_sess *h)
{
	const struct sess *s = (const struct sess *)h;
	return s->join ? smpp_join_held_count(s->join) : 0;
}

static void bind_tx(struct bufferevent *peer)
{
	memset(&pdu, 0, sizeof pdu);
	pdu.command_id = SMPP_BIND_TRANSMITTER;
	pdu.sequence_number = 1;
	snprintf(pdu.system_id, sizeof pdu.system_id, "acme");
	snprintf(pdu.password, sizeof pdu.password, "secret");
	pdu.interface_version = 0x34;
	put(peer, &pdu);
}

static void part(struct bufferevent *peer, unsigned id, unsigned ref, unsigned total, unsigned seq, const char *text)
{
	memset(&pdu, 0, sizeof pdu);
	pdu.command_id = SMPP_SUBMIT_SM;
	pdu.sequence_number = id;
	snprintf(pdu.source_addr, sizeof pdu.source_addr, "12345");
	pdu.dest_addr_ton = 1;
	snprintf(pdu.destination_addr, sizeof pdu.destination_addr, "4915550001");
	pdu.esm_class = 0x40;
	const uint8_t udh[] = {5, 0, 3, (uint8_t)ref, (uint8_t)total, (uint8_t)seq};
	memcpy(pdu.short_message, udh, sizeof udh);
	memcpy(pdu.short_message + sizeof udh, text, strlen(text));
	pdu.sm_length = (uint8_t)(sizeof udh + strlen(text));
	put(peer, &pdu);
}

/* A response, its status by name; an unbind is answered. */
static bool answer(struct bufferevent *peer, struct join_answer *a)
{
	struct evbuffer *in = bufferevent_get_input(peer);
	for (;;) {
		size_t len = evbuffer_get_length(in), plen;
		struct smpp_pdu_error e;
		if (len < 16)
			return false;
		const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)len);
		if (smpp_pdu_frame(p, len, &plen, &e) != 1)
			return false;
		assert_int_equal(smpp_pdu_decode(p, plen, &pdu, &e), 0);
		evbuffer_drain(in, plen);
		if (pdu.command_id == SMPP_UNBIND) {
			uint32_t seq = pdu.sequence_number;
			memset(&pdu, 0, sizeof pdu);
			pdu.command_id = SMPP_UNBIND_RESP;
			pdu.sequence_number = seq;
			put(peer, &pdu);
			continue;
		}
		if (!(pdu.command_id & SMPP_RESP_BIT))
			continue;
		const char *name = smpp_status_name(pdu.command_status);
		*a = (struct join_answer){.id = pdu.sequence_number, .op = pdu.command_id, .ok = !pdu.command_status};
		snprintf(a->code, sizeof a->code, "%s", a->ok ? "" : name ? name : "?");
		snprintf(a->text, sizeof a->text, "%s", pdu.message_id);
		return true;
	}
}

int main(void)
{
	static const struct join_proto smpp = {
	    .drv = &smpp_server_driver,
	    .sess_new = sess_new,
	    .held = held,
	    .login = bind_tx,
	    .login_op = SMPP_BIND_TRANSMITTER_RESP,
	    .part = part,
	    .answer = answer,
	    .refused = "ESME_RSUBMITFAIL",
	    .ids = {"4242-1", "4242-2"},
	    .ids_exact = true,
	};
	return server_join_main(&smpp);
}
