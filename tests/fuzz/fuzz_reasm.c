/*
 * fuzz_reasm: random part sequences into the reassembler.  Each 4-byte
 * record is one operation: add a part (connection, originator, reference,
 * total, sequence and a short payload taken from the record), advance the
 * clock, poll or flush.  Checks that nothing is lost: every part that
 * started or joined a set comes back exactly once through reasm_poll, and
 * complete messages have all their parts.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec/reasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_reasm_drain(struct reasm *r, uint64_t now)
{
	size_t parts = 0;
	struct reasm_msg *m;
	while ((m = reasm_poll(r, now)) != NULL) {
		unsigned present = 0;
		for (unsigned i = 0; i < m->total; i++)
			present += m->parts[i].present;
		assert(present == m->received);
		assert(m->received >= 1 && m->received <= m->total);
		if (m->status == REASM_COMPLETE)
			assert(m->received == m->total);
		else
			assert(m->received < m->total);
		parts += m->received;
		reasm_msg_free(m);
	}
	return parts;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const conns[] = {"smpp-a", "smpp-b"};
	static const char *const origs[] = {"4915112345678", "ALPHA", ""};
	if (size < 1)
		return 0;
	struct reasm *r = reasm_new(1 + data[0] % 8, 100 + data[0]);
	uint64_t now = 0;
	size_t stored = 0, returned = 0;

	for (size_t i = 1; i + 4 <= size; i += 4) {
		const uint8_t *op = data + i;
		switch (op[0] & 3) {
		case 0:
		case 1: {
			struct reasm_part p = {.conn_id = conns[op[0] >> 7],
			                       .originator = origs[(op[0] >> 2) % 3],
			                       .ref = op[1] & 7,
			                       .total = (op[1] >> 3) % 6, /* 0 is invalid */
			                       .seq = op[2] % 7,          /* 0 and > total are invalid */
			                       .data = op,
			                       .len = op[3] % 5};
			enum reasm_add_result res;
			int rc = reasm_add(r, &p, now, &res);
			if (rc == 0 && res != REASM_DUPLICATE)
				stored++;
			assert(reasm_pending(r) <= 1 + (size_t)(data[0] % 8));
			break;
		}
		case 2:
			now += op[1] * 4;
			break;
		default:
			if (op[1] == 0xFF)
				reasm_flush(r);
			break;
		}
		returned += fuzz_reasm_drain(r, now);
	}
	reasm_flush(r);
	returned += fuzz_reasm_drain(r, now);
	assert(returned == stored);
	assert(reasm_pending(r) == 0);
	reasm_free(r);
	return 0;
}
