/*
 * driver: the one interface between the core and every connection type.
 *
 * A driver is a directory under drivers/ exporting one constant
 * `struct driver_ops`, listed in drivers/registry.c.  The core owns the
 * database, scheduling, routing, windows and throughput limits; a driver only
 * speaks its protocol.  Everything below runs on the loop thread.
 *
 * Rules (a contract test holds every driver to them):
 * - check() MUST NOT do I/O; it validates the parsed settings.
 * - open() MUST NOT block.  It reports progress with core_conn_state(); the
 *   core submits only while the connection is CONN_UP.
 * - submit() lends the message to the driver until it is completed: every
 *   submit MUST get exactly one core_complete(), with msg_set_sent() or
 *   msg_set_failed() called first.  The driver MUST NOT touch the message
 *   after completing it.  submit() MAY complete synchronously.
 * - The core never submits more than the connection's window at once and
 *   keeps to its throughput limit; a driver MAY report MSG_THROTTLED.
 * - Inbound texts go through core_received(), reports through core_report().
 *   When the peer needs an acknowledgement, the driver sets a token and MUST
 *   acknowledge only from acked(…, committed=true); with committed=false it
 *   MUST make the peer send again (negative answer or no answer).
 * - stop() MUST complete every lent message: sent if the peer accepted it,
 *   MSG_RELEASE if it never left, MSG_TEMPORARY if its fate is unknown (it
 *   will be sent again: delivery is at-least-once).  Then it calls
 *   core_stopped(), possibly from within stop().  After
 *   core_stopped() nothing but close() is called, and the driver MUST NOT
 *   call the core again.
 * - close() frees the driver's state; conf is freed by the core.
 *
 * Server-side drivers (CAP_LISTEN) also:
 * - authenticate a client with core_authenticate(); the answer comes to
 *   authenticated() exactly once per call (account NULL = refused, with a
 *   reason for the log — never tell the client more than the protocol's
 *   code).  Passwords are checked by the database, never by the driver.
 * - hand what a client submits to core_submit(); the answer comes to
 *   submitted() exactly once per call, after the outbox row is committed
 *   (message_id > 0) or refused (message_id 0, with a class, the field
 *   refused and a text).  The driver MUST answer the client only then, and
 *   maps (error, field) to its protocol's code with a table, never by
 *   reading the text (which is for logs and humans).
 * - call core_account_attach() when a session of an account can take
 *   deliveries (reports, inbound texts) and core_account_detach() when it no
 *   longer can (each attach is matched by one detach, at the latest in
 *   stop()).  The core then calls deliver() with events for attached accounts;
 *   each MUST be answered by exactly one core_event_done() (delivered = the
 *   client acknowledged it; false = try again later), possibly after stop()
 *   has begun but before core_stopped().  The driver owns the event until then
 *   and frees it with account_event_free() after core_event_done().
 * - keep the account policy of the core (src/policy.h), which holds across
 *   the daemon: a session counts toward the account's max_binds only if
 *   core_account_bind() said yes (refuse the bind otherwise), and is
 *   released with one core_account_unbind(); a submission takes one
 *   throughput token per PDU it will become with core_account_take()
 *   (answer "throttled" when it says to wait).  A refusal's reason maps to
 *   the protocol's code through auth_refusal_of() (src/policy.h), never by
 *   reading the text.
 * - ask for the state of an account's message with core_query(); the answer
 *   comes to queried() exactly once per call (NULL = no such message of that
 *   account, or the database is away: retry).
 * - end the live sessions of an account in account_revoked() (the core
 *   calls it when the account's access changes in the database).
 */
#ifndef SMSPOOL_DRIVER_H
#define SMSPOOL_DRIVER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "errbuf.h"
#include "msg.h"
#include "settings.h"

enum driver_caps {
	CAP_SEND = 1 << 0,    /* sends messages */
	CAP_RECEIVE = 1 << 1, /* receives texts */
	CAP_REPORTS = 1 << 2, /* receives delivery reports */
	CAP_LISTEN = 1 << 3,  /* accepts peers (server side) */
};

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_UP, CONN_STOPPING };

/* Why a submission was not accepted. */
enum submit_error {
	SUBMIT_OK,
	SUBMIT_INVALID,   /* the row was refused: bad address, empty text, … (field says which) */
	SUBMIT_THROTTLED, /* the account is over its limit: try later */
	SUBMIT_TEMPORARY, /* the database cannot take it now: try later */
};

/* Which part of a submission was refused (decided once, by the core, from
 * what the database reported: src/submit_refusal.c). */
enum submit_field {
	SUBMIT_FIELD_NONE,        /* no one field (or the refusal named none) */
	SUBMIT_FIELD_RECIPIENT,   /* outbox.recipient */
	SUBMIT_FIELD_SENDER,      /* outbox.sender */
	SUBMIT_FIELD_BODY,        /* outbox.body: empty, not in the encoding, too long (parts) */
	SUBMIT_FIELD_PAYLOAD,     /* outbox.payload (binary data) */
	SUBMIT_FIELD_UDH,         /* outbox.udh */
	SUBMIT_FIELD_DATA_CODING, /* outbox.encoding */
	SUBMIT_FIELD_VALIDITY,    /* outbox.valid_until */
	SUBMIT_FIELD_SCHEDULE,    /* outbox.send_after */
	SUBMIT_FIELD_PRIORITY,    /* outbox.priority */
	SUBMIT_FIELD_MSG_CLASS,   /* outbox.msg_class */
	SUBMIT_FIELD_REPORT,      /* outbox.want_report, report_on */
	SUBMIT_FIELD_PARTS,       /* outbox.client_parts */
	SUBMIT_FIELD_CONNECTION,  /* outbox.connection */
	SUBMIT_FIELD_ACCOUNT,     /* the account is unknown or disabled */
	SUBMIT_FIELD_KEY,         /* client_ref / idempotency key already taken: taken_id */
};

/* The answer to one core_submit(); lent to submitted() for the call. */
struct submit_result {
	int64_t message_id;      /* > 0: committed; 0: refused */
	enum submit_error error; /* SUBMIT_OK when committed */
	enum submit_field field; /* SUBMIT_INVALID: what was refused */
	const char *text;        /* for logs and humans (NULL when committed) */
	int64_t taken_id;        /* SUBMIT_FIELD_KEY: the message that has the key, else 0 */
};

struct conn;

struct driver_ops {
	const char *name; /* value of connections.type */
	unsigned caps;
	const struct setting *settings;
	size_t conf_size; /* size of the struct the settings fill */
	int (*check)(const void *conf, struct errbuf *err);
	int (*open)(struct conn *c);
	void (*submit)(struct conn *c, struct msg *m);
	void (*stop)(struct conn *c);
	void (*close)(struct conn *c);
	void (*acked)(struct conn *c, uint64_t token, bool committed); /* may be NULL */
	/* Server side (may be NULL for drivers without CAP_LISTEN). */
	void (*authenticated)(struct conn *c, uint64_t token, const struct account_info *account, const char *reason);
	void (*submitted)(struct conn *c, uint64_t token, const struct submit_result *res);
	void (*deliver)(struct conn *c, struct account_event *ev);
	void (*queried)(struct conn *c, uint64_t token, const struct message_status *st);
	/* The account's access changed in the database (password, enabled,
	 * allowed_addresses, connections, name; "" = every account): end its
	 * live sessions within seconds, with the protocol's goodbye where it
	 * has one, so that the client logs in again under the new rules. */
	void (*account_revoked)(struct conn *c, const char *account);
};

/* The registry: every driver, ending with NULL. */
extern const struct driver_ops *const driver_registry[];
const struct driver_ops *driver_find(const char *name);

/* What the core offers a driver. */
const char *conn_name(const struct conn *c);
const void *conn_conf(const struct conn *c);
void *conn_driver_data(const struct conn *c);
void conn_set_driver_data(struct conn *c, void *data);
struct event_base *conn_event_base(const struct conn *c);
const char *conn_instance(const struct conn *c);

void core_conn_state(struct conn *c, enum conn_state state, const char *detail);
void core_complete(struct conn *c, struct msg *m);
/* Takes ownership of in / r.  token 0 = no acknowledgement wanted. */
void core_received(struct conn *c, struct inbound *in, uint64_t token);
void core_report(struct conn *c, struct report *r, uint64_t token);
void core_stopped(struct conn *c);

/* Server side.  Strings are copied; s is taken over.  core_authenticate
 * with account "" and password NULL asks for a login by peer_addr alone
 * (accounts.login_by_address); an account with password NULL is a login
 * by a client certificate the driver verified and mapped to that account
 * (the account must exist, be enabled and allow peer_addr). */
void core_authenticate(struct conn *c, const char *account, const char *password, const char *peer_addr,
                       uint64_t token);
void core_submit(struct conn *c, struct submission *s, uint64_t token);
void core_account_attach(struct conn *c, const char *account);
void core_account_detach(struct conn *c, const char *account);
void core_event_done(struct conn *c, const struct account_event *ev, bool delivered);
/* Account policy across the daemon: a bound session of account a (false:
 * max_binds reached), its end, and n throughput tokens at rate per second
 * (returns 0, or the seconds to wait). */
bool core_account_bind(struct conn *c, const struct account_info *a);
void core_account_unbind(struct conn *c, const char *account);
int core_account_take(struct conn *c, const char *account, double rate, int n);
void core_query(struct conn *c, const char *account, int64_t message_id, uint64_t token);

#endif
