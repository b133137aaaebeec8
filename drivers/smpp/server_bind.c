/*
 * smpp server, binds: a bind_transmitter / _receiver / _transceiver asks the
 * core to authenticate (core_authenticate, negative cache and delays are the
 * core's); the bind_resp goes out from authenticated(), with the account's
 * max_binds taken by core_account_bind.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "codec/sms.h"
#include "codec/udh.h"
#include "log.h"
#include "policy.h"
#include "smpp/conf.h"
#include "smpp/server.h"
#include "smpp/status.h"
#include "smpp/wire.h"
#include "util.h"

static const char *const role_names[] = {"none", "transmitter", "receiver", "transceiver"};

static void bind_resp(struct sess *s, uint32_t status)
{
	struct server *sv = s->sv;
	struct smpp_pdu *p = &sv->out;
	smpp_wire_pdu_reset(p, s->bind_cmd | SMPP_RESP_BIT, s->bind_seq);
	p->command_status = status;
	snprintf(p->system_id, sizeof p->system_id, "%s", sv->conf->system_id);
	uint8_t v = sv->version;
	if (status == 0 && s->version >= 0x34 && smpp_pdu_add_tlv(p, SMPP_TLV_SC_INTERFACE_VERSION, &v, 1))
		abort(); /* the first TLV always fits */
	if (smpp_server_send(s, p))
		log_error("smpp_server_respond_failed", "conn=%s sess=%" PRIu64 " seq=%u", smpp_server_cname(sv),
		          s->hd.id, s->bind_seq);
}

void smpp_server_bind_pdu(struct sess *s, const struct smpp_pdu *p)
{
	struct server *sv = s->sv;
	if (s->state != SS_OPEN) {
		uint32_t saved_seq = s->bind_seq, saved_cmd = s->bind_cmd;
		s->bind_seq = p->sequence_number;
		s->bind_cmd = p->command_id;
		bind_resp(s, SMPP_ESME_RALYBND);
		s->bind_seq = saved_seq;
		s->bind_cmd = saved_cmd;
		return;
	}
	s->bind_seq = p->sequence_number;
	s->bind_cmd = p->command_id;
	uint8_t v = p->interface_version < 0x33 ? 0x33 : p->interface_version > 0x50 ? 0x50 : p->interface_version;
	s->version = v < sv->version ? v : sv->version;
	snprintf(s->system_id, sizeof s->system_id, "%s", p->system_id);
	s->role = p->command_id == SMPP_BIND_TRANSMITTER ? SESS_ROLE_TX
	          : p->command_id == SMPP_BIND_RECEIVER  ? SESS_ROLE_RX
	                                                 : SESS_ROLE_TRX;
	if (sv->base.stopping) {
		bind_resp(s, SMPP_ESME_RBINDFAIL);
		smpp_server_close_later(s, "bind while stopping");
		return;
	}
	smpp_server_sess_set(s, SS_BINDING, "bind");
	uint64_t token = smpp_server_pend_add(sv, s, p->sequence_number, p->command_id, NULL);
	core_authenticate(sv->c, p->system_id, p->password, s->hd.ip, token);
}

void smpp_server_bind_authenticated(struct conn *c, uint64_t token, const struct account_info *account,
                                    const char *reason)
{
	struct server *sv = conn_driver_data(c);
	struct pend *p = smpp_server_pend_take(sv, token);
	if (!p)
		return;
	struct sess *s = p->s;
	free(p);
	char q[300];
	if (s->state != SS_BINDING) {
		log_debug("smpp_server_auth_dropped", "conn=%s sess=%" PRIu64 " reason=\"session gone\"",
		          smpp_server_cname(sv), s->hd.id);
		goto out;
	}
	uint32_t status = 0;
	const char *why = NULL;
	struct accounts_acct *a = NULL;
	if (!account) {
		status = smpp_server_bind_status(reason);
		why = reason ? reason : "refused";
	} else if (sv->base.stopping) {
		status = SMPP_ESME_RBINDFAIL;
		why = "stopping";
	} else {
		a = accounts_get(&sv->accts, account);
		if (!core_account_bind(c, account)) {
			status = SMPP_ESME_RBINDFAIL;
			why = auth_refusal_text(AUTH_MAX_BINDS);
		}
	}
	if (status) {
		/* At most one line a second: a client failing in a loop does
		 * not flood the log (the core counts what it leaves out). */
		uint64_t now = now_mono_ms();
		if (now - sv->bind_refused_log_ms >= 1000 || !sv->bind_refused_log_ms) {
			char qs[80];
			log_info("smpp_server_bind_refused",
			         "conn=%s sess=%" PRIu64
			         " peer=%s system_id=%s mode=%s status=%s reason=%s not_logged=%u",
			         smpp_server_cname(sv), s->hd.id, s->hd.peer, log_quote(s->system_id, qs, sizeof qs),
			         role_names[s->role], smpp_status_text(status), log_quote(why, q, sizeof q),
			         sv->bind_refused_quiet);
			sv->bind_refused_log_ms = now;
			sv->bind_refused_quiet = 0;
		} else {
			sv->bind_refused_quiet++;
		}
		bind_resp(s, status);
		smpp_server_close_later(s, "bind refused");
		goto out;
	}
	s->hd.acct = a;
	smpp_server_sess_set(s, SS_BOUND, "authenticated");
	bind_resp(s, 0);
	log_info("smpp_server_bound", "conn=%s sess=%" PRIu64 " peer=%s account=%s mode=%s version=0x%02X tls=%s",
	         smpp_server_cname(sv), s->hd.id, s->hd.peer, a->name, role_names[s->role], s->version,
	         s->tls ? "yes" : "no");
	link_set_bound(s->hd.link);
out:
	smpp_server_close_if_done(s);
	if (sv->base.stopping)
		smpp_server_stop_progress(sv);
}
