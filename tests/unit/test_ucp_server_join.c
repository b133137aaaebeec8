/*
 * ucp-server: the parts of a multipart submit (op 51, MT 3, the UDH in
 * XSer 01) held by a session when the connection stops or the session goes
 * away before the core answered: server_join.h's cases, with a client
 * logged in by op 60.  At the stop the held part is NACKed 04; each part
 * of the joined set is ACKed after the commit with its own SCTS in SM
 * ("<AdC>:<SCTS>").
 */
#include "server_join.h"

#include "ucp/frame.h"
#include "ucp/server.h"

static void put(struct bufferevent *peer, const struct ucp_frame *f)
{
	uint8_t buf[UCP_FRAME_MAX];
	size_t n;
	assert_int_equal(ucp_frame_encode(f, buf, sizeof buf, &n, NULL), 0);
	assert_int_equal(bufferevent_write(peer, buf, n), 0);
}

static struct srvbase_sess *sess_new(struct conn *c, struct bufferevent **peer)
{
	struct sess *s = server_sess_memory(server_new(c), peer);
	return s ? &s->hd : NULL;
}

static size_t held(struct srvbase_sess *h)
{
	const struct sess *s = (const struct sess *)h;
	return s->join ? net_join_held_count(s->join) : 0;
}

static void login(struct bufferevent *peer)
{
	char pwd[16];
	hex_encode((const uint8_t *)"secret", 6, pwd);
	struct ucp_frame f = {.trn = 1, .o_r = 'O', .ot = 60, .nfields = UCP6X_COUNT};
	for (size_t i = 0; i < UCP6X_COUNT; i++)
		f.f[i] = (struct ucp_str){"", 0};
	f.f[UCP6X_OAdC] = (struct ucp_str){"acme", 4};
	f.f[UCP6X_OTON] = (struct ucp_str){"6", 1};
	f.f[UCP6X_ONPI] = (struct ucp_str){"5", 1};
	f.f[UCP6X_STYP] = (struct ucp_str){"1", 1};
	f.f[UCP6X_PWD] = (struct ucp_str){pwd, strlen(pwd)};
	f.f[UCP6X_VERS] = (struct ucp_str){"0100", 4};
	put(peer, &f);
}

static void part(struct bufferevent *peer, unsigned id, unsigned ref, unsigned total, unsigned seq, const char *text)
{
	char msg[64], xser[32];
	hex_encode((const uint8_t *)text, strlen(text), msg);
	snprintf(xser, sizeof xser, "0106050003%02X%02X%02X", ref, total, seq);
	struct ucp_frame f = {.trn = id, .o_r = 'O', .ot = 51, .nfields = UCP5X_COUNT};
	for (size_t i = 0; i < UCP5X_COUNT; i++)
		f.f[i] = (struct ucp_str){"", 0};
	f.f[UCP5X_AdC] = (struct ucp_str){"4915550001", 10};
	f.f[UCP5X_OAdC] = (struct ucp_str){"12345", 5};
	f.f[UCP5X_MT] = (struct ucp_str){"3", 1};
	f.f[UCP5X_Msg] = (struct ucp_str){msg, strlen(msg)};
	f.f[UCP5X_XSer] = (struct ucp_str){xser, strlen(xser)};
	put(peer, &f);
}

/* A result (o_r 'R'): ACK, or NACK with its EC. */
static bool answer(struct bufferevent *peer, struct join_answer *a)
{
	struct evbuffer *in = bufferevent_get_input(peer);
	static struct ucp_frame f;
	for (;;) {
		size_t len = evbuffer_get_length(in), skip, flen;
		if (!len)
			return false;
		const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)len);
		enum ucp_scan r = ucp_frame_scan(p, len, &skip, &flen);
		evbuffer_drain(in, skip);
		if (r != UCP_SCAN_FRAME)
			return false;
		p = evbuffer_pullup(in, (ev_ssize_t)flen);
		struct ucp_error e;
		assert_int_equal(ucp_frame_decode(p, flen, &f, &e), 0);
		evbuffer_drain(in, flen);
		if (f.o_r != 'R')
			continue;
		*a = (struct join_answer){.id = f.trn, .op = f.ot, .ok = f.ack};
		snprintf(a->code, sizeof a->code, "%.*s", f.nack ? (int)f.f[UCPR_EC_OR_MVP].len : 0,
		         f.f[UCPR_EC_OR_MVP].p);
		snprintf(a->text, sizeof a->text, "%.*s", (int)f.f[UCPR_SM3].len, f.f[UCPR_SM3].p);
		return true;
	}
}

int main(void)
{
	static const struct join_proto ucp = {
	    .drv = &ucp_server_driver,
	    .sess_new = sess_new,
	    .held = held,
	    .login = login,
	    .login_op = 60,
	    .login_bound = true,
	    .part = part,
	    .answer = answer,
	    .refused = "04",
	    .ids = {"4915550001:", "4915550001:"},
	};
	return server_join_main(&ucp);
}
