/*
 * ucp client internals, shared by its files: client.c (frames in, the
 * login, stop/open/close over src/net/clibase.c), client_submit.c (messages out as
 * op 51/01/30 and their results) and client_inbound.c (op 52/53 in,
 * acknowledged after commit).
 */
#ifndef SMSPOOL_UCP_CLIENT_H
#define SMSPOOL_UCP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "driver.h"
#include "net/clibase.h"
#include "net/inacks.h"
#include "net/link.h"
#include "net/submits.h"
#include "ucp/conf.h"
#include "ucp/frame.h"
#include "ucp/sm.h"

struct client {
	struct clibase base; /* first: the session state, dialer, tick, reconnect, stop */
	struct conn *c;
	const struct ucp_conf *conf;
	struct link *link; /* the session's (set and cleared by clibase) */
	int bad_frames;

	struct submits subs;
	struct msg_list held; /* waiting for TRNs or for a throttle pause to end */
	uint64_t pause_until_ms;
	unsigned concat_ref;

	struct inacks inacks;

	uint8_t obuf[UCP_FRAME_MAX];
	struct ucp_frame in;
	struct ucp_sm sm;
};

/* client.c */
const char *client_cname(const struct client *cl);
int client_send(struct client *cl, const struct ucp_frame *f);
/* ACK (ec 0) or NACK of the SMSC's operation ot with TRN trn. */
void client_answer(struct client *cl, unsigned trn, unsigned ot, unsigned ec);
/* Whether a request's data is a submitted part (not the login, not a keepalive). */
bool client_is_part(const void *data);

/* client_submit.c */
void client_submit_init(struct client *cl);
void client_submit_msg(struct client *cl, struct msg *m);
void client_submit_resume(struct client *cl);
void client_submit_release(struct client *cl);
/* The result (op R) of a part. */
void client_submit_result(struct client *cl, const struct ucp_frame *f);
void client_submit_timeout(struct client *cl, struct submits_part *p, uint32_t trn);
void client_submit_drained(void *arg, uint32_t seq, void *data);
void client_submit_forget(void *arg, uint32_t seq, void *data);

/* client_inbound.c */
void client_inbound_mo(struct client *cl, const struct ucp_frame *f);
void client_inbound_notification(struct client *cl, const struct ucp_frame *f);
/* The driver's side of its inacks (src/net/inacks.c). */
extern const struct inacks_ops client_inbound_ops;

#endif
