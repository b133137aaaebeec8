/*
 * link_open: opening links (see link.h): connecting (numeric or resolved,
 * TLS with SNI and name or address verification), listening with limits in
 * all and per remote address (refusals logged at a bounded rate), the TLS
 * contexts with their floor (client certificates both ways: mutual TLS),
 * and reconnect backoff with a random generator
 * seeded per process (getrandom; again in a child after fork).  The session itself is link.c.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "net/addr.h"
#include "net/link_int.h"

/* ---- random numbers and backoff ---- */

static uint64_t rng_state;
static pid_t rng_pid; /* the process that seeded rng_state */

/* A seed from the kernel (getrandom), or, where it cannot give one, from the
 * time, the pid and address-space randomisation. */
static uint64_t rng_seed(void)
{
	uint64_t s = 0;
	if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^
		    (uint64_t)(uintptr_t)&ts;
	}
	return s ? s : 0x9E3779B97F4A7C15ull;
}

uint32_t link_random(void)
{
	/* Seeded again in a child after fork(), which inherits the parent's
	 * state: processes that lost the same peer must not retry in step. */
	pid_t pid = getpid();
	if (!rng_state || rng_pid != pid) {
		rng_state = rng_seed();
		rng_pid = pid;
	}
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

uint64_t link_backoff_next(struct link_backoff *b)
{
	b->failures++;
	uint64_t delay = b->min_ms ? b->min_ms : 1;
	for (int i = 1; i < b->failures && delay < b->max_ms; i++)
		delay *= 2;
	delay = delay * (90 + link_random() % 21) / 100;
	if (b->max_ms && delay > b->max_ms)
		delay = b->max_ms;
	return delay;
}

void link_backoff_reset(struct link_backoff *b)
{
	b->failures = 0;
}

/* ---- TLS ---- */

SSL_CTX *link_tls_client_ctx(const char *ca_file, bool verify, struct errbuf *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		errbuf_set(err, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	if (verify || ca_file) {
		int ok =
		    ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx);
		if (ok != 1) {
			ERR_clear_error();
			SSL_CTX_free(ctx);
			errbuf_set(err, "cannot load CA certificates from %s", ca_file ? ca_file : "the system store");
			return NULL;
		}
	}
	return ctx;
}

SSL_CTX *link_tls_server_ctx(const char *cert_file, const char *key_file, struct errbuf *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		errbuf_set(err, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (!cert_file || SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		errbuf_set(err, "cannot load the certificate %s", cert_file ? cert_file : "(none)");
		goto fail;
	}
	if (!key_file || SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		errbuf_set(err, "cannot load the private key %s", key_file ? key_file : "(none)");
		goto fail;
	}
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

int link_tls_use_cert(SSL_CTX *ctx, const char *cert_file, const char *key_file, struct errbuf *err)
{
	if (!cert_file || SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		ERR_clear_error();
		return errbuf_set(err, "cannot load the client certificate %s", cert_file ? cert_file : "(none)");
	}
	if (!key_file || SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		return errbuf_set(err, "cannot load the client key %s", key_file ? key_file : "(none)");
	}
	return 0;
}

/* Every handshake goes on: the session refuses an untrusted certificate
 * itself, with an error frame that tells the client why (a failed
 * handshake would tell it only "alert"). */
static int accept_any_cert(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

int link_tls_verify_clients(SSL_CTX *ctx, const char *ca_file, struct errbuf *err)
{
	if (!ca_file || SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		ERR_clear_error();
		return errbuf_set(err, "cannot load client CA certificates from %s", ca_file ? ca_file : "(none)");
	}
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
	if (names)
		SSL_CTX_set_client_CA_list(ctx, names);
	ERR_clear_error();
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_cert);
	return 0;
}

void link_peer_cert(const struct link *l, struct link_peer_cert *out)
{
	*out = (struct link_peer_cert){0};
	SSL *ssl = l->tls && l->bev ? bufferevent_openssl_get_ssl(l->bev) : NULL;
	X509 *x = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
	if (!x)
		return;
	out->present = true;
	long vr = SSL_get_verify_result(ssl);
	out->verified = vr == X509_V_OK;
	if (!out->verified)
		snprintf(out->why, sizeof out->why, "%s", X509_verify_cert_error_string(vr));
	X509_NAME *subj = X509_get_subject_name(x);
	int i = subj ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;
	ASN1_STRING *cn = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)) : NULL;
	unsigned char *utf8 = NULL;
	int n = cn ? ASN1_STRING_to_UTF8(&utf8, cn) : -1;
	if (n > 0 && (size_t)n < sizeof out->cn && !memchr(utf8, 0, (size_t)n))
		memcpy(out->cn, utf8, (size_t)n);
	OPENSSL_free(utf8);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32)
		hex_encode(md, mdlen, out->sha256);
	X509_free(x);
	ERR_clear_error();
}

/* ---- connecting ---- */

struct link *link_connect(struct event_base *base, const struct link_opts *opts, const struct link_ops *ops, void *arg,
                          const char *host, int port, struct evdns_base *dns, SSL_CTX *ssl_ctx, struct errbuf *err)
{
	struct link *l = link_new(base, opts, ops, arg);
	snprintf(l->host, sizeof l->host, "%s", host);
	net_addr_format(host, port, l->peer, sizeof l->peer);
	snprintf(l->ip, sizeof l->ip, "%s", host);
	if (ssl_ctx) {
		SSL *ssl = SSL_new(ssl_ctx);
		if (!ssl) {
			errbuf_set(err, "SSL_new failed");
			goto fail;
		}
		SSL_set_tlsext_host_name(ssl, host);
		/* The name (or address) checked when the context verifies. */
		struct sockaddr_storage ns;
		socklen_t nl;
		if (net_addr_numeric(host, port, &ns, &nl) == 0)
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
		else
			SSL_set1_host(ssl, host);
		l->tls = true;
		l->bev =
		    bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (l->bev)
			bufferevent_openssl_set_allow_dirty_shutdown(l->bev, 1);
	} else {
		l->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!l->bev) {
		errbuf_set(err, "cannot create a socket");
		goto fail;
	}
	bufferevent_setcb(l->bev, link_readcb, link_writecb, link_eventcb, l);
	bufferevent_enable(l->bev, EV_WRITE);
	struct sockaddr_storage ss;
	socklen_t sl;
	int rc;
	if (net_addr_numeric(host, port, &ss, &sl) == 0) {
		rc = bufferevent_socket_connect(l->bev, (struct sockaddr *)&ss, (int)sl);
	} else if (dns) {
		rc = bufferevent_socket_connect_hostname(l->bev, dns, AF_UNSPEC, host, port);
	} else {
		errbuf_set(err, "%s is not a numeric address and no resolver was given", host);
		goto fail;
	}
	if (rc) {
		errbuf_set(err, "connect to %s failed: %s", l->peer,
		           evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		goto fail;
	}
	link_arm(l);
	return l;
fail:
	link_destroy(l);
	return NULL;
}

/* ---- listening ---- */

static struct addr_count *addr_count_get(struct link_listener *ls, const char *ip, bool create)
{
	for (struct addr_count *a = ls->counts; a; a = a->next)
		if (strcmp(a->ip, ip) == 0)
			return a;
	if (!create)
		return NULL;
	struct addr_count *a = xcalloc(1, sizeof *a);
	snprintf(a->ip, sizeof a->ip, "%s", ip);
	a->next = ls->counts;
	ls->counts = a;
	return a;
}

/* The link no longer counts for its listener (it ended or is freed). */
void link_listener_forget(struct link *l)
{
	struct link_listener *ls = l->ls;
	if (!ls)
		return;
	l->ls = NULL;
	if (l->ls_prev)
		l->ls_prev->ls_next = l->ls_next;
	else
		ls->links = l->ls_next;
	if (l->ls_next)
		l->ls_next->ls_prev = l->ls_prev;
	ls->nlinks--;
	for (struct addr_count **pp = &ls->counts; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->ip, l->ip) == 0) {
			if (--(*pp)->n <= 0) {
				struct addr_count *a = *pp;
				*pp = a->next;
				free(a);
			}
			break;
		}
}

static void listener_refused(struct link_listener *ls, const char *ip, const char *why)
{
	ls->refused++;
	uint64_t now = now_mono_ms();
	if (now - ls->refused_log_ms >= LINK_REFUSE_LOG_INTERVAL_MS) {
		char q[100];
		log_warn("link_refused", "conn=%s addr=%s peer=%s reason=\"%s\" sessions=%d refused=%d", ls->name,
		         ls->addr, log_quote(ip, q, sizeof q), why, ls->nlinks, ls->refused);
		ls->refused_log_ms = now;
		ls->refused = 0;
	}
}

static void listener_accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen,
                               void *arg)
{
	(void)lis;
	(void)salen;
	struct link_listener *ls = arg;
	char ip[64];
	int port;
	net_addr_from_sockaddr(sa, ip, sizeof ip, &port);
	if (ls->opts.max_sessions > 0 && ls->nlinks >= ls->opts.max_sessions) {
		evutil_closesocket(fd);
		listener_refused(ls, ip, "max_sessions");
		return;
	}
	struct addr_count *ac = addr_count_get(ls, ip, false);
	if (ls->opts.max_per_address > 0 && ac && ac->n >= ls->opts.max_per_address) {
		evutil_closesocket(fd);
		listener_refused(ls, ip, "max_sessions_per_address");
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct link *l = link_new(ls->base, &ls->opts.link, ls->ops, NULL);
	snprintf(l->ip, sizeof l->ip, "%s", ip);
	net_addr_format(ip, port, l->peer, sizeof l->peer);
	snprintf(l->host, sizeof l->host, "%s", ip);
	if (ls->opts.ssl_ctx) {
		SSL *ssl = SSL_new(ls->opts.ssl_ctx);
		l->tls = true;
		l->bev = ssl ? bufferevent_openssl_socket_new(ls->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		                                              BEV_OPT_CLOSE_ON_FREE)
		             : NULL;
		if (l->bev)
			bufferevent_openssl_set_allow_dirty_shutdown(l->bev, 1);
	} else {
		l->bev = bufferevent_socket_new(ls->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!l->bev) {
		log_error("link_accept_failed", "conn=%s peer=%s", ls->name, l->peer);
		evutil_closesocket(fd);
		link_destroy(l);
		return;
	}
	l->ls = ls;
	l->ls_next = ls->links;
	if (ls->links)
		ls->links->ls_prev = l;
	ls->links = l;
	ls->nlinks++;
	addr_count_get(ls, ip, true)->n++;
	l->up = true;
	bufferevent_setcb(l->bev, link_readcb, link_writecb, link_eventcb, l);
	bufferevent_enable(l->bev, EV_WRITE);
	l->busy++;
	l->arg = ls->accept(ls, ls->arg, l);
	if (!l->arg) {
		l->busy--;
		link_destroy(l);
		return;
	}
	link_update_read(l);
	if (!l->freed)
		link_arm(l);
	link_leave(l);
}

struct link *link_pair(struct event_base *base, const struct link_opts *opts, const struct link_ops *ops, void *arg,
                       struct bufferevent **peer)
{
	struct bufferevent *pair[2];
	if (bufferevent_pair_new(base, 0, pair))
		return NULL;
	struct link *l = link_new(base, opts, ops, arg);
	snprintf(l->ip, sizeof l->ip, "%s", "memory");
	snprintf(l->peer, sizeof l->peer, "%s", "memory");
	snprintf(l->host, sizeof l->host, "%s", "memory");
	l->bev = pair[0];
	l->up = true;
	bufferevent_setcb(l->bev, link_readcb, link_writecb, link_eventcb, l);
	bufferevent_enable(l->bev, EV_WRITE);
	link_update_read(l);
	link_arm(l);
	bufferevent_enable(pair[1], EV_READ);
	*peer = pair[1];
	return l;
}

struct link_listener *link_listen(struct event_base *base, const struct link_listen_opts *opts,
                                  const struct link_ops *ops, link_accept_fn accept, void *arg, struct errbuf *err)
{
	char host[256];
	int port;
	struct sockaddr_storage ss;
	socklen_t sl;
	if (net_addr_split(opts->addr, host, sizeof host, &port, 0)) {
		errbuf_set(err, "bad address %s", opts->addr ? opts->addr : "(none)");
		return NULL;
	}
	if (net_addr_numeric(host, port, &ss, &sl)) {
		errbuf_set(err, "%s is not a numeric address", host);
		return NULL;
	}
	struct link_listener *ls = xcalloc(1, sizeof *ls);
	ls->base = base;
	ls->opts = *opts;
	ls->opts.addr = NULL;
	ls->name = xstrdup(opts->link.name ? opts->link.name : "-");
	ls->opts.link.name = ls->name;
	ls->ops = ops;
	ls->accept = accept;
	ls->arg = arg;
	ls->lis = evconnlistener_new_bind(base, listener_accept_cb, ls,
	                                  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
	                                  (struct sockaddr *)&ss, (int)sl);
	if (!ls->lis) {
		char hp[300];
		net_addr_format(host, port, hp, sizeof hp);
		errbuf_set(err, "cannot listen on %s: %s", hp, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		free(ls->name);
		free(ls);
		return NULL;
	}
	struct sockaddr_storage got;
	socklen_t gl = sizeof got;
	int real = port;
	char ip[64];
	if (getsockname(evconnlistener_get_fd(ls->lis), (struct sockaddr *)&got, &gl) == 0)
		net_addr_from_sockaddr((struct sockaddr *)&got, ip, sizeof ip, &real);
	net_addr_format(host, real, ls->addr, sizeof ls->addr);
	return ls;
}

const char *link_listener_addr(const struct link_listener *ls)
{
	return ls->addr;
}

int link_listener_sessions(const struct link_listener *ls)
{
	return ls->nlinks;
}

void link_listener_free(struct link_listener *ls)
{
	if (!ls)
		return;
	while (ls->links)
		link_listener_forget(ls->links);
	evconnlistener_free(ls->lis);
	free(ls->name);
	free(ls);
}
