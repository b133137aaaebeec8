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

#include <stdbool.h>

#include "errbuf.h"
#include "link/frame.h"
#include "msg.h"

struct submit_result;

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
/* The error_class and error_field of a Result for the core's refusal res
 * (borrowed; static strings; error_field "" when no field). */
void link_convert_refusal(const struct submit_result *res, const char **error_class, const char **error_field);
/* A Message as a submission of account (new, keyed by its key). */
struct submission *link_convert_submission(const Smspool__Link__Message *in, const char *account);
/* A report event as a State, key "<instance>:<event id>" into key (cap
 * bytes).  The outbox state names become report states (failed becomes
 * undelivered: the sending side cannot do better than that). */
void link_convert_state(const struct account_event *ev, const char *instance, Smspool__Link__State *out, char *key,
                        size_t cap);
/* The client's outbox id in a message's idempotency key (borrowed, may be
 * NULL): the <id> of "<instance>:<id>" when the key starts with exactly
 * instance and a colon and <id> is a positive decimal number, else 0
 * (State.client_id, 047). */
int64_t link_convert_client_id(const char *key, const char *instance);
/* The event's part_status (a text[] as PostgreSQL prints it) into
 * out->part_status, the strings kept in b.  Nothing when it has none. */
void link_convert_state_parts(const struct account_event *ev, Smspool__Link__State *out, struct link_convert_buf *b);
/* A State of a message that is not final yet ("sent"): only clients that
 * asked for part_states get them. */
bool link_convert_state_is_final(const char *status);
/* An inbound event as an Inbound (key as above). */
void link_convert_inbound(const struct account_event *ev, const char *instance, Smspool__Link__Inbound *out,
                          struct link_convert_buf *b, char *key, size_t cap);
/* A State as a report of the row whose remote id is the State's id (new),
 * or NULL when it carries no id.  Here and in link_convert_part_reports,
 * by_id (a session that agreed client_ids) gives each report the State's
 * client_id as its message_id: the store applies it to that row (if it was
 * sent over this connection with that remote id), not through
 * report_wait. */
struct report *link_convert_report(const Smspool__Link__State *in, bool by_id);
/* With part_states (the row's remote ids are "<id>/<part>", 1-based, for a
 * message of several parts; "<id>" for one part): the
 * reports of a State, one per part, chained by next (NULL: none).  A final
 * State gives every part its final state (the part's own when it has one,
 * else the message's); a State of a sent message gives the parts in an
 * intermediate state (accepted, enroute, buffered...) theirs and, when no
 * part has a report yet, "sent" to each.  A part that reached a final state
 * while the message is sent waits for the final State (so that no part is
 * reported final twice). */
struct report *link_convert_part_reports(const Smspool__Link__State *in, bool by_id);
/* The remote id of part (1-based) of parts of the server's row id into out:
 * "<id>/<part>", or "<id>" when parts is 1. */
void link_convert_part_id(int64_t id, int part, int parts, char *out, size_t cap);
/* An Inbound as an inbox row (new), its key kept so that it is stored once. */
struct inbound *link_convert_inbox(const Smspool__Link__Inbound *in);

#endif
