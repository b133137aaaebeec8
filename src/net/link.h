/*
 * link: one TCP/TLS session of a windowed request/response protocol (SMPP
 * both sides, EMI/UCP both sides, the native smspool link), on the core's
 * libevent loop.  The protocol keeps its codec and its session state
 * machine; the link does everything that is the same for all of them:
 *
 * - framing: a codec callback says how long the frame at the start of the
 *   input is; whole frames are handed to the protocol one at a time;
 * - size limits: a frame longer than max_frame ends the session;
 * - the request table: requests we sent, keyed by sequence number, each
 *   with its own deadline; free sequence numbers in [seq_min, seq_max]
 *   (SMPP 1..0x7FFFFFFF, UCP TRN 0..99) and the window's room;
 * - the peer's requests not answered yet, bounded (max_inbound);
 * - keepalive (after keepalive_ms without input the protocol sends one),
 *   idle and unbound timeouts;
 * - back-pressure: reading stops while the output is above out_high (the
 *   peer does not read) or while the protocol pauses it (the database is
 *   slow), and resumes below out_low; output beyond out_max is refused;
 * - TLS set-up and teardown (libevent_openssl, a TLS 1.2 floor);
 * - connecting (numeric or DNS) and listening (accept, a limit of sessions
 *   in all and per remote address, refusals logged at a bounded rate);
 * - reconnect delays: exponential backoff with jitter from a random
 *   generator seeded once per process.
 *
 * Contract (the protocol is "the owner"; everything runs on the loop thread):
 * - A link calls its owner only through struct link_ops, never after
 *   link_free(), and never again after ops->down().
 * - ops->frame gets one whole frame (borrowed, valid only during the call).
 *   The owner MAY call any link function from within any callback,
 *   link_free() included; the link notices and stops.
 * - ops->down is called exactly once when the session ends for a reason the
 *   owner did not ask for with link_free() (peer closed, I/O or TLS error,
 *   a timeout, a stream that cannot be framed, link_close_flush() done).  The
 *   owner MUST then call link_free() (from within down() or later); until
 *   then the link stays, inert, and link_send() fails.
 * - A request added with link_request_add() ends exactly once: the owner
 *   takes it back with link_request_take() when its response arrives, or
 *   ops->timeout() gets it at its deadline, or the owner walks the rest
 *   with link_request_drain() (on down, before link_free()).  link_free()
 *   forgets any left; their data is the owner's.
 * - ops->on_down is never called from within a link function the owner
 *   called; ops->on_frame MAY be (link_pause(l, false) hands over what
 *   arrived meanwhile), but never while the owner is inside on_frame.
 * - Keepalives start once the owner calls link_set_bound().  They are the
 *   link's own: the owner sends the frame from
 *   ops->keepalive(seq) and, when a response with that seq comes, calls
 *   link_request_take() as for any other (it returns LINK_KEEPALIVE).  No
 *   answer within response_timeout_ms ends the session ("keepalive timeout").
 * - An accepted link that the owner has not marked with link_set_bound()
 *   within unbound_timeout_ms ends ("unbound timeout").
 * - link_inbound_begin() MUST be matched by one link_inbound_end() when the
 *   owner has answered that peer request (or given up on it).
 * - link_send, link_close_flush, link_pause, link_set_bound,
 *   link_request_find and link_request_take accept NULL (a session already freed) and do nothing.
 * - Names and reasons the owner passes are copied; strings returned are
 *   owned by the link and live until link_free().
 */
#ifndef SMSPOOL_NET_LINK_H
#define SMSPOOL_NET_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "errbuf.h"
#include "util.h"

struct link;
struct link_listener;
struct evdns_base;

/* Returned by link_request_take() for the answer to a keepalive. */
#define LINK_KEEPALIVE ((void *)&link_keepalive_marker)
extern const char link_keepalive_marker;

/* Framing: the length of the frame that starts at buf[0] given the len
 * bytes available (len >= frame_min).  Returns the frame length (> 0, may be
 * more than len: then more input is awaited), 0 when more input is needed
 * to tell, or -1 with err set when the stream cannot be framed (e.g. a
 * command_length below the header, bytes before STX).  MUST be pure. */
typedef long (*link_frame_fn)(const uint8_t *buf, size_t len, struct errbuf *err);

struct link_ops {
	link_frame_fn frame;
	size_t frame_min; /* bytes needed before frame() is asked (SMPP 4, UCP 1) */
	/* One whole frame; the owner decodes and handles it. */
	void (*on_frame)(struct link *l, void *arg, const uint8_t *buf, size_t len);
	/* Connected (TCP, then TLS when asked).  MAY be NULL (accepted links
	 * are up from the start). */
	void (*on_up)(struct link *l, void *arg);
	/* The session ended: reason says why (for logs).  See the contract. */
	void (*on_down)(struct link *l, void *arg, const char *reason);
	/* Request seq (data as added) got no response by its deadline; it is
	 * no longer in the table.  MAY be NULL: the session then ends. */
	void (*on_timeout)(struct link *l, void *arg, uint32_t seq, void *data);
	/* Send a keepalive request with this sequence number.  Returns 0, or -1
	 * when it could not be sent.  NULL = no keepalive. */
	int (*on_keepalive)(struct link *l, void *arg, uint32_t seq);
	/* The stream cannot be framed (reason) or a frame is too long: the
	 * owner MAY send a last answer (generic_nack, a NAK); the link then
	 * writes it and ends the session.  MAY be NULL. */
	void (*on_bad_stream)(struct link *l, void *arg, const char *reason);
	/* The output fell below out_low after having been above out_high: the
	 * owner MAY send what it held back.  MAY be NULL. */
	void (*on_writable)(struct link *l, void *arg);
};

struct link_opts {
	const char *name;             /* for logs: the connection's name (copied) */
	size_t max_frame;             /* longer frames end the session */
	uint64_t response_timeout_ms; /* deadline of a request (link_request_add with 0), and of a keepalive */
	uint64_t keepalive_ms;        /* no input for this long: a keepalive; 0 = never */
	uint64_t idle_timeout_ms;     /* no input for this long: end; 0 = never */
	uint64_t unbound_timeout_ms;  /* accepted, not link_set_bound() within: end; 0 = never */
	uint32_t seq_min, seq_max;    /* link_next_seq() hands out these, cyclically */
	int window;                   /* requests outstanding at once, counted by link_window_room() */
	int max_inbound;              /* peer requests unanswered at once; 0 = no limit */
	size_t out_high, out_low;     /* reading stops above out_high, resumes below out_low */
	size_t out_max;               /* link_send() refuses beyond this much output; 0 = no limit */
	uint64_t stuck_ms; /* output above out_high for this long: end ("the peer does not read"); 0 = never */
};

/* TLS contexts with a TLS 1.2 floor.  Return a new context, or NULL with err
 * set.  The client context verifies the server against ca_file (NULL = the
 * system's store) when verify is true. */
SSL_CTX *link_tls_client_ctx(const char *ca_file, bool verify, struct errbuf *err);
SSL_CTX *link_tls_server_ctx(const char *cert_file, const char *key_file, struct errbuf *err);
/* Mutual TLS, the client: ctx presents cert_file (a PEM chain) with
 * key_file.  Returns 0, or -1 with err set. */
int link_tls_use_cert(SSL_CTX *ctx, const char *cert_file, const char *key_file, struct errbuf *err);
/* Mutual TLS, the server: ctx asks clients for a certificate and checks it
 * against the CAs of ca_file; the handshake goes on whatever the outcome (a
 * client without one may log in otherwise), the session decides from
 * link_peer_cert().  Returns 0, or -1 with err set. */
int link_tls_verify_clients(SSL_CTX *ctx, const char *ca_file, struct errbuf *err);

/* The certificate the peer presented over TLS. */
struct link_peer_cert {
	bool present;    /* the peer sent one */
	bool verified;   /* it chains to a trusted CA (else why says why) */
	char cn[256];    /* subject common name ("" when none) */
	char sha256[65]; /* fingerprint of the DER, upper-case hex */
	char why[160];
};
/* Fills out for l (present false without TLS or certificate). */
void link_peer_cert(const struct link *l, struct link_peer_cert *out);

/* ---- the connecting side ---- */

/* Starts connecting to host:port (numeric, else resolved with dns, which
 * the caller owns and MAY be NULL for numeric hosts).  With ssl_ctx
 * (borrowed, outlives the link) TLS is spoken, with SNI and name/IP
 * verification for host.  ops and arg are borrowed for the link's life.
 * Returns the link (ops->on_up or ops->on_down follows), or NULL with err
 * set when nothing could be started. */
struct link *link_connect(struct event_base *base, const struct link_opts *opts, const struct link_ops *ops, void *arg,
                          const char *host, int port, struct evdns_base *dns, SSL_CTX *ssl_ctx, struct errbuf *err);

/* ---- in memory, for tests and fuzz targets ---- */

struct bufferevent;

/* A link already up (as if accepted) over an in-memory bufferevent pair:
 * no socket.  What the link sends arrives in *peer's input, what is
 * written to *peer is framed and read as from a socket.  The caller frees
 * *peer after the link. */
struct link *link_pair(struct event_base *base, const struct link_opts *opts, const struct link_ops *ops, void *arg,
                       struct bufferevent **peer);

/* ---- the listening side ---- */

struct link_listen_opts {
	const char *addr;      /* "host:port" or "[v6]:port", numeric; port 0 = a free one */
	SSL_CTX *ssl_ctx;      /* borrowed; NULL = plain TCP */
	int max_sessions;      /* open links of this listener at once; 0 = no limit */
	int max_per_address;   /* of them from one remote address; 0 = no limit */
	struct link_opts link; /* for every accepted link */
};

/* Called for each accepted link (not refused by the limits).  Returns the
 * arg of the link's callbacks, or NULL to refuse it (the link is freed). */
typedef void *(*link_accept_fn)(struct link_listener *ls, void *arg, struct link *l);

/* Listens.  Returns the listener, or NULL with err set (bad address,
 * address in use). */
struct link_listener *link_listen(struct event_base *base, const struct link_listen_opts *opts,
                                  const struct link_ops *ops, link_accept_fn accept, void *arg, struct errbuf *err);
/* The address really listened on ("127.0.0.1:40123"). */
const char *link_listener_addr(const struct link_listener *ls);
/* Open links of this listener. */
int link_listener_sessions(const struct link_listener *ls);
/* Stops accepting and frees the listener.  Links it accepted live on (each
 * is freed by its owner). */
void link_listener_free(struct link_listener *ls);

/* ---- a session ---- */

/* Frees the link at once (closing the socket without waiting for output),
 * forgetting outstanding requests.  No callback follows.  NULL is fine. */
void link_free(struct link *l);

/* Stops reading; once what was sent is written (or after
 * response_timeout_ms), ends the session with ops->on_down(reason). */
void link_close_flush(struct link *l, const char *reason);

/* Appends n bytes to the output.  Returns 0, or -1 when the link is down
 * or the output is above out_max (nothing is appended then). */
MUST_CHECK int link_send(struct link *l, const void *buf, size_t n);

/* The output is above out_high (the peer does not keep up). */
bool link_congested(const struct link *l);
/* Bytes waiting to be written. */
size_t link_output_len(const struct link *l);

/* The owner stops reading (paused = true: e.g. its database is slow) and
 * resumes it.  Pauses nest with back-pressure: reading runs only when
 * neither holds it. */
void link_pause(struct link *l, bool paused);

/* The session has authenticated: the unbound timeout no longer applies. */
void link_set_bound(struct link *l);

/* "ip:port" of the peer, and its address alone ("ip"). */
const char *link_peer(const struct link *l);
const char *link_peer_ip(const struct link *l);
/* TLS is spoken on this link. */
bool link_is_tls(const struct link *l);
/* Milliseconds (monotonic) of the last input. */
uint64_t link_last_rx_ms(const struct link *l);

/* ---- requests we send ---- */

/* The next sequence number in [seq_min, seq_max] that no outstanding
 * request uses.  Returns 0 on success, -1 when every one is in use. */
MUST_CHECK int link_next_seq(struct link *l, uint32_t *seq);
/* Registers request seq (data: the owner's, not NULL) with a deadline
 * timeout_ms from now (0 = response_timeout_ms).  counts: it takes a slot
 * of the window.  Returns 0, or -1 when seq is already outstanding. */
MUST_CHECK int link_request_add(struct link *l, uint32_t seq, void *data, uint64_t timeout_ms, bool counts);
/* The response to seq arrived: returns its data (removed from the table),
 * LINK_KEEPALIVE for a keepalive, or NULL when seq is not outstanding. */
void *link_request_take(struct link *l, uint32_t seq);
/* Finds request seq without removing it (NULL = none). */
void *link_request_find(const struct link *l, uint32_t seq);
/* Removes every outstanding request (oldest first), calling fn on each
 * (keepalives are dropped silently). */
void link_request_drain(struct link *l, void (*fn)(void *owner_arg, uint32_t seq, void *data), void *owner_arg);
/* Requests outstanding that take a window slot, and the room left
 * (window minus them; never below 0). */
int link_outstanding(const struct link *l);
int link_window_room(const struct link *l);

/* ---- requests the peer sends ---- */

/* A peer request is being handled (e.g. a submit waits for the database).
 * Returns false, counting nothing, when max_inbound are already open: the
 * owner then answers at once with its protocol's "throttled" code. */
MUST_CHECK bool link_inbound_begin(struct link *l);
void link_inbound_end(struct link *l);
int link_inbound(const struct link *l);

/* ---- reconnecting ---- */

struct link_backoff {
	uint64_t min_ms, max_ms;
	int failures;
};

/* The delay before the next attempt after one more failure: min_ms doubled
 * per consecutive failure, capped at max_ms, times a jitter of +-10% (so
 * that daemons restarted together spread out). */
uint64_t link_backoff_next(struct link_backoff *b);
/* A success: the next failure starts again from min_ms. */
void link_backoff_reset(struct link_backoff *b);

/* A random 32-bit number from a generator seeded per process (getrandom,
 * seeded again when the pid changed: a forked child draws its own
 * sequence), for jitter and references, never for secrecy. */
uint32_t link_random(void);

#endif
