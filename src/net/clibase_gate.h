/*
 * clibase_gate: the submit gate every SMSC-style client (SMPP, UCP) puts in
 * front of its submit(), once.  A message handed over while the session is
 * not up or is stopping goes back to the core at once (released, sent again
 * elsewhere or later); one handed over during a throttle pause, or while
 * older messages are held, is held in order.  Kept apart from clibase.c so
 * that the session layer's tests need not link the core.
 */
#ifndef SMSPOOL_NET_CLIBASE_GATE_H
#define SMSPOOL_NET_CLIBASE_GATE_H

#include <stdint.h>

#include "msg.h"
#include "net/clibase.h"

enum clibase_gate {
	CLIBASE_GATE_SEND,     /* up and not paused: send it now */
	CLIBASE_GATE_RELEASED, /* not up, or stopping: it was given back to the core */
	CLIBASE_GATE_HELD,     /* pushed onto held: the caller sends it when the pause ends */
};

/* Decides for message m of the client whose session layer is b: gives it back when b is
 * not up or is stopping, holds it while held is not empty or until pause_until_ms
 * (now_mono_ms clock). */
enum clibase_gate clibase_gate_submit(struct clibase *b, struct msg *m, struct msg_list *held, uint64_t pause_until_ms);

#endif
