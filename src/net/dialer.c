/*
 * dialer: peers, resolver, TLS context and reconnect backoff of an SMSC
 * client (see dialer.h).
 */
#include "net/dialer.h"

#include <inttypes.h>
#include <stdio.h>

#include <event2/dns.h>

#include "driver.h"
#include "log.h"
#include "net/addr.h"

int dialer_init(struct dialer *d, struct event_base *base, const struct dialer_opts *o, event_callback_fn reconnect,
                void *arg, struct errbuf *err)
{
	d->base = base;
	d->backoff.min_ms = (uint64_t)o->reconnect_min_ms;
	d->backoff.max_ms = (uint64_t)o->reconnect_max_ms;
	if (o->tls) {
		d->ssl_ctx = link_tls_client_ctx(o->tls_ca_file, o->tls_verify, err);
		if (!d->ssl_ctx)
			return -1;
	}
	d->reconnect_ev = evtimer_new(base, reconnect, arg);
	return 0;
}

struct link *dialer_connect(struct dialer *d, const struct link_opts *o, const struct link_ops *ops, void *arg,
                            char *why, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (net_addr_numeric(d->host, d->port, &ss, &sl) && !d->dns) {
		d->dns = evdns_base_new(d->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (!d->dns) {
			snprintf(why, cap, "no DNS resolver");
			return NULL;
		}
	}
	struct errbuf err = {""};
	struct link *l = link_connect(d->base, o, ops, arg, d->host, d->port, d->dns, d->ssl_ctx, &err);
	if (!l)
		snprintf(why, cap, "%s", err.msg);
	return l;
}

uint64_t dialer_retry(struct dialer *d, size_t npeers)
{
	d->idx = (d->idx + 1) % (npeers ? npeers : 1);
	uint64_t delay = link_backoff_next(&d->backoff);
	struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)(delay % 1000) * 1000};
	evtimer_add(d->reconnect_ev, &tv);
	return delay;
}

int dialer_pick(struct dialer *d, const struct dialer_conf *dc, struct conn *c, const char *log_prefix)
{
	char name[64];
	if (dialer_conf_peer(dc, d->idx, d->host, sizeof d->host, &d->port))
		return -1;
	net_addr_format(d->host, d->port, d->peer, sizeof d->peer);
	snprintf(name, sizeof name, "%s_connecting", log_prefix);
	log_info(name, "conn=%s peer=%s tls=%s", conn_name(c), d->peer, dc->tls ? "yes" : "no");
	return 0;
}

void dialer_lost(struct dialer *d, const struct dialer_conf *dc, struct conn *c, const char *log_prefix,
                 const char *reason)
{
	uint64_t delay = dialer_retry(d, dialer_conf_peer_count(dc));
	char detail[600], q[650], name[64];
	snprintf(detail, sizeof detail, "%s; retry in %" PRIu64 " ms", reason, delay);
	snprintf(name, sizeof name, "%s_session_lost", log_prefix);
	log_warn(name, "conn=%s reason=%s", conn_name(c), log_quote(detail, q, sizeof q));
	core_conn_state(c, CONN_CONNECTING, detail);
}

void dialer_up(struct dialer *d)
{
	link_backoff_reset(&d->backoff);
}

void dialer_cancel(struct dialer *d)
{
	if (d->reconnect_ev)
		event_del(d->reconnect_ev);
}

void dialer_free(struct dialer *d)
{
	if (d->reconnect_ev)
		event_free(d->reconnect_ev);
	if (d->dns)
		evdns_base_free(d->dns, 0);
	if (d->ssl_ctx)
		SSL_CTX_free(d->ssl_ctx);
	d->reconnect_ev = NULL;
	d->dns = NULL;
	d->ssl_ctx = NULL;
}
