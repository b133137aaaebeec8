/*
 * link convert: the core's structs <-> the link's frame messages (pure, no
 * I/O).  The sending side turns an outbox message into a Message; the
 * receiving side turns it into a submission of the account, and its
 * account events (reports, inbound texts) into State and Inbound, which the
 * sending side turns into a report of its own row and an inbox row.
 *
 * Messages built by link_convert_* for sending point into their source (a
 * msg, an account_event) and into a struct link_convert_buf for the
 * decoded bytes: free them with link_convert_buf_free() after packing.
 */
#ifndef SMSPOOL_LINK_CONVERT_H
#define SMSPOOL_LINK_CONVERT_H

#include "errbuf.h"
#include "link/frame.h"
#include "msg.h"

/* Bytes decoded from hex for one frame (payloads, UDHs). */
struct link_convert_buf {
	uint8_t **p;
	size_t n, cap;
};
void link_convert_buf_free(struct link_convert_buf *b);

/* m as a Message with key (borrowed).  Returns 0, or -1 with err set (a
 * payload or UDH that is not hex). */
int link_convert_msg(const struct msg *m, const char *key, Smspool__Link__Message *out, struct link_convert_buf *b,
                     struct errbuf *err);
/* A Message as a submission of account (new, keyed by its key). */
struct submission *link_convert_submission(const Smspool__Link__Message *in, const char *account);
/* A report event as a State, key "<instance>:<event id>" into key (cap
 * bytes).  The outbox state names become report states (failed becomes
 * undelivered: the sending side cannot do better than that). */
void link_convert_state(const struct account_event *ev, const char *instance, Smspool__Link__State *out, char *key,
                        size_t cap);
/* An inbound event as an Inbound (key as above). */
void link_convert_inbound(const struct account_event *ev, const char *instance, Smspool__Link__Inbound *out,
                          struct link_convert_buf *b, char *key, size_t cap);
/* A State as a report of the row whose remote id is the State's id (new),
 * or NULL when it carries no id. */
struct report *link_convert_report(const Smspool__Link__State *in);
/* An Inbound as an inbox row (new), its key kept so that it is stored once. */
struct inbound *link_convert_inbox(const Smspool__Link__Inbound *in);

#endif
