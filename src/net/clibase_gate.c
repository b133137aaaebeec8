/* The submit gate of the clients: see clibase_gate.h. */
#include "net/clibase_gate.h"

#include "driver.h"
#include "util.h"

enum clibase_gate clibase_gate_submit(struct clibase *b, struct msg *m, struct msg_list *held, uint64_t pause_until_ms)
{
	if (!clibase_is_up(b) || b->stopping) {
		msg_set_failed(m, MSG_RELEASE, NULL, NULL);
		core_complete(b->c, m);
		return CLIBASE_GATE_RELEASED;
	}
	if (held->len || now_mono_ms() < pause_until_ms) {
		msg_list_push(held, m);
		return CLIBASE_GATE_HELD;
	}
	return CLIBASE_GATE_SEND;
}
