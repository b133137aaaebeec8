/*
 * link server internals, shared by its files: server.c (sessions, the
 * state machine, batches in, transport, stop/open/close) and
 * events.c (account events out in states/inbounds frames, through
 * the shared account bookkeeping of src/net/accounts.c).
 */
#ifndef SMSPOOL_LINK_SERVER_H
#define SMSPOOL_LINK_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "driver.h"
#include "link/conf.h"
#include "net/accounts.h"
#include "net/link.h"
#include "net/srvbase.h"

/* Deliveries (one frame part each) waiting to go out on a session. */
struct partq {
	struct accounts_part **v;
	int head, n, cap;
};

struct sess {
	struct srvbase_sess hd; /* first: id, peer, state, link, login, account, the session list */
	struct server *sv;
	char instance[130];
	bool part_states; /* the client's hello asked for per-part and intermediate states */
	bool client_ids;  /* the client's hello asked for State.client_id (and this side offers it) */
	struct partq reports, inbounds;
};

struct server {
	struct srvbase base; /* first: listener, sessions, tick, pending core calls, stop */
	struct conn *c;
	const struct link_server_conf *conf;
	struct accounts accts;
	bool flush_armed;
	struct event *flush_ev;
};

/* events.c */
extern const struct accounts_ops link_events_ops;
/* Events of the next frame, of `queued` waiting with `room` frames free in
 * the window: what waits is spread over the room (a frame's events are done
 * only when its ack comes, after the client committed all of them: in
 * several frames they are acked, done and replaced as each commits, rather
 * than the window idling while one big frame is committed), at least
 * FRAME_MIN (32) when that many wait, at most batch. */
int link_events_frame_size(int queued, int room, int batch);
/* Sends what waits on s while its window has room. */
void link_events_flush(struct sess *s);
/* Flushes every session soon (from the loop). */
void link_events_arm(struct server *sv);
void link_events_flush_cb(evutil_socket_t fd, short what, void *arg);
/* A states/inbounds frame (a link request's data) acked by the client
 * (true) or given up (false). */
void link_events_done(struct server *sv, void *frame, bool delivered);
/* link_request_drain callback: every frame of a closing session given up. */
void link_events_drained(void *arg, uint32_t seq, void *data);
/* What waits on s goes back (refused), or is freed unanswered (forget, at
 * close). */
void link_events_refuse(struct sess *s);
void link_events_forget(struct sess *s);

#endif
