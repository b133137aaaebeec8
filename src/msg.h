/*
 * msg: one outbound message while the daemon holds it, and the inbound texts
 * and delivery reports that connections receive.  Each struct is owned by
 * exactly one thread at a time; handing it over (queue item, driver submit)
 * hands over ownership.
 */
#ifndef SMSPOOL_MSG_H
#define SMSPOOL_MSG_H

#include <stdbool.h>
#include <stdint.h>

/* What became of a submitted message; names match smspool.record_results. */
enum msg_outcome {
	MSG_SENT,      /* accepted by the peer: remote ids known */
	MSG_TEMPORARY, /* retry later with backoff */
	MSG_THROTTLED, /* peer asked us to slow down; retry later */
	MSG_REJECTED,  /* the peer refused it for good */
	MSG_FAILED,    /* we cannot send it (encoding, bad data) */
	MSG_NO_ROUTE,  /* no route matches its recipient */
	MSG_RELEASE,   /* given back unsent, no attempt counted */
	MSG_EXPIRED,   /* validity passed before it could be sent */
};

const char *msg_outcome_name(enum msg_outcome o);

struct route_cand {
	char *conn;
	int position;
	int weight;
};

struct msg {
	int64_t id;
	char *recipient;
	char *sender;     /* NULL: the connection's default */
	char *body;       /* UTF-8; NULL for binary */
	char *payload;    /* hex, binary only */
	char *udh;        /* hex, binary only */
	char *encoding;   /* auto, gsm7, ucs2, binary */
	char *client_ref; /* may be NULL */
	char *forced_conn;
	int priority;
	bool want_report;
	bool flash;
	int msg_class;         /* -1 = none */
	int64_t valid_until_s; /* unix seconds, 0 = none */
	int attempts;          /* including this one */

	int nroute;
	struct route_cand *route;
	char *redirected_from; /* routed or forced to this one, sent through its redirect_to */

	/* Filled in when the message completes. */
	enum msg_outcome outcome;
	char *conn_used;
	int parts;
	char *remote_ids; /* one id per part, joined by 0x1F; failed: the parts accepted ("" for the others) or NULL */
	char *error_code;
	char *error_text;
	int retry_after_s; /* -1: the database's backoff */
	/* Sent: its reports will name it by its id (struct report.message_id),
	 * not by its remote ids: no report_wait rows (047_link_ids). */
	bool report_by_id;

	/* From claim: the ids of the parts an earlier attempt got accepted
	 * through held_conn (joined by 0x1F, "" for a part not accepted), when
	 * some were not; NULL: none.  That connection sends only the others. */
	char *held_ids;
	char *held_conn;

	/* The connection whose window slot this message holds from its submit
	 * until its result is committed (0: none): after a crash, at most a
	 * window of messages can have gone out without a committed result. */
	uint64_t slot_conn;
	int slots;             /* window slots it takes: one per PDU (its parts), 0 = not counted yet */
	uint64_t submitted_ns; /* when it was handed to the driver (metrics.h) */

	struct msg *next; /* list link for whoever owns it now */
};

void msg_free(struct msg *m);
/* Records success: parts and their remote ids (copied, joined by 0x1F). */
void msg_set_sent(struct msg *m, int parts, const char *const *remote_ids);
/* Records success with ids of our own, "<prefix><id>.<attempt>.<part>", for
 * connections whose peer gives none (loopback, emulator). */
void msg_set_sent_own_ids(struct msg *m, int parts, char prefix);
/* Records a failure of class o with an optional code and text (copied). */
void msg_set_failed(struct msg *m, enum msg_outcome o, const char *code, const char *text);

/* A FIFO of messages linked through msg.next. */
struct msg_list {
	struct msg *head, *tail;
	int len;
};
void msg_list_push(struct msg_list *l, struct msg *m);
struct msg *msg_list_pop(struct msg_list *l);
/* Moves every message of src to the end of dst. */
void msg_list_concat(struct msg_list *dst, struct msg_list *src);

/* An inbound text (sender → recipient), already reassembled. */
struct inbound {
	char *conn, *sender, *recipient;
	char *body;     /* UTF-8, NULL for binary */
	char *payload;  /* hex, NULL for text */
	char *udh;      /* hex or NULL */
	char *encoding; /* gsm7, ucs2, latin1, binary … as received */
	int parts;
	int64_t smsc_ts_s;       /* 0 = unknown */
	char *key;               /* NULL, or a key unique per connection: stored once (inbound_keys) */
	uint64_t conn_id, token; /* where the commit acknowledgement goes */
	struct inbound *next;
};
void inbound_free(struct inbound *in);

/* A delivery report as the peer sent it. */
struct report {
	char *conn, *remote_id;
	char *state; /* delivered, undelivered, expired, rejected, deleted, accepted, enroute, unknown */
	char *error_code, *text;
	/* 0: matched by (remote_id, conn) through report_wait.  Else the
	 * outbox id the peer says it is about (a link server's
	 * State.client_id): applied to that row only if it was sent over conn
	 * and remote_id is one of its remote ids (047_link_ids). */
	int64_t message_id;
	uint64_t conn_id, token;
	struct report *next;
};
void report_free(struct report *r);

/* A message that a client of a server-side connection hands to smspool
 * (SMPP submit_sm, HTTP send API): it becomes an outbox row of its account. */
struct submission {
	char *account; /* the authenticated account (smspool.accounts.system_id) */
	char *recipient, *sender;
	char *body;       /* UTF-8, NULL for binary */
	char *payload;    /* hex, binary only */
	char *udh;        /* hex, binary only */
	char *encoding;   /* auto, gsm7, ucs2, binary */
	char *client_ref; /* the client's own reference, may be NULL */
	int priority;     /* 0..9 */
	bool want_report;
	int report_on; /* with want_report: 0 = every final state, 1 = failures only, 2 = delivered only */
	bool flash;
	int msg_class;         /* -1 = none */
	int64_t send_after_s;  /* unix seconds, 0 = now */
	int64_t valid_until_s; /* unix seconds, 0 = none */
	char *idempotency_key; /* NULL, or a key unique per account: a second submission with it gets the first's id */
	int client_parts; /* 0, or the parts the client submitted it in, joined by the driver (outbox.client_parts) */
	/* The core may insert it already claimed by this daemon and send it at
	 * once, when its loop has room (smspool.submit_claim): the link-server
	 * sets it for the messages of its batches. */
	bool claim_now;
	uint64_t conn_id, token;
	struct submission *next;
};
void submission_free(struct submission *s);

/* What the database says about an account that asked to authenticate. */
struct account_info {
	char *name;
	int max_binds;     /* sessions at once, 0 = unlimited */
	double throughput; /* messages per second it may submit, 0 = unlimited */
};
void account_info_free(struct account_info *a);

/* Something to deliver to an account's client: a delivery report for a
 * message it submitted, or an inbound text routed to it. */
enum account_event_kind { ACCOUNT_EVENT_REPORT, ACCOUNT_EVENT_INBOUND };

struct account_event {
	int64_t id; /* smspool.account_events.id */
	char *account;
	enum account_event_kind kind;
	/* REPORT: the message it is about (message_id as text is the id the
	 * client was given when it submitted), its state and timestamps. */
	int64_t message_id;
	char *client_ref;
	int client_parts; /* 0, or the parts the client submitted it in (outbox.client_parts) */
	char *state;      /* delivered, undelivered, expired, rejected, failed, … */
	char *error_code; /* may be NULL */
	/* A message that came over a link: its part_status as PostgreSQL
	 * prints a text[] ("{pending,delivered}"); NULL otherwise (034_link). */
	char *part_status;
	/* REPORT: the message's idempotency key (the link's
	 * "<client instance>:<client outbox id>"), NULL if none (047). */
	char *idempotency_key;
	int64_t submitted_s, done_s;
	/* Both: the addresses (REPORT: the original message's). */
	char *sender, *recipient;
	/* INBOUND: the text. */
	char *body, *payload, *udh, *encoding;
	uint64_t conn_id;
	struct account_event *next;
};
void account_event_free(struct account_event *e);

/* A message's state, as a client of a server-side connection may ask it. */
struct message_status {
	int64_t id;
	char *status, *recipient, *sender, *client_ref, *connection_used;
	int parts;
	char *error_class, *error_code, *error_text;
	int64_t created_s, sent_s, done_s; /* unix seconds, 0 = not yet */
};
void message_status_free(struct message_status *st);

#endif
