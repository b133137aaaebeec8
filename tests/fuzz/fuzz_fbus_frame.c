/*
 * libFuzzer target for the FBUS v2 framer.  Any input: a frame that decodes
 * must re-encode to the very same octets (unless its pad octet was not zero:
 * receivers ignore the pad, as Gammu does) and print its fields; the stream
 * reader, fed the input in two slices, must return only frames that decode
 * on their own and must never hold more than its buffer; the assembler takes
 * whatever the reader gives and must stay within its bounds, and every
 * message it completes (and the raw input, its first octet as the type)
 * goes through the Nokia message decoders (DCT3 and DCT4).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fbus/frame.h"
#include "fbus/nokia.h"
#include "fbus/nokia4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fbus_frame frame;
static struct fbus_reader reader;
static struct fbus_assembler assembler;
static uint8_t enc[FBUS_FRAME_MAX];
static char fields[FBUS_FIELDS_MAX];
static struct nokia_reply reply;

static void fuzz_nokia(uint8_t type, const uint8_t *msg, size_t len)
{
	struct errbuf err;
	if (nokia_decode(type, msg, len, &reply, &err) == 0 &&
	    (reply.kind == NOKIA_SMS || reply.kind == NOKIA_INCOMING) && reply.sms.ud_len > TPDU_UD_MAX)
		abort();
	/* The DCT4 decoder on the same message: bounded strings, no crash, a
	 * stored SMS (DCT4 frame) within the TPDU's bounds, a folder status
	 * within its array. */
	if (nokia4_decode(type, msg, len, &reply, &err) == 0 &&
	    (strnlen(reply.imei, sizeof reply.imei) == sizeof reply.imei ||
	     strnlen(reply.smsc, sizeof reply.smsc) == sizeof reply.smsc ||
	     (reply.kind == NOKIA_SMS && reply.sms.ud_len > TPDU_UD_MAX) ||
	     (reply.kind == NOKIA_FOLDER && reply.n_locs > NOKIA_FOLDER_MAX)))
		abort();
}

static void fuzz_check_frame(const struct fbus_frame *f)
{
	int n = fbus_frame_encode(f, enc, sizeof enc);
	if (n < 0)
		abort();
	struct fbus_frame back;
	struct fbus_error err;
	if (fbus_frame_decode(enc, (size_t)n, &back, &err) != 0 || back.length != f->length ||
	    memcmp(back.data, f->data, f->length) != 0)
		abort();
	if (fbus_frame_fields(f, fields, sizeof fields) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fbus_error err = {0};
	int rc = fbus_frame_decode(data, size, &frame, &err);
	if (rc == 0) {
		int n = fbus_frame_encode(&frame, enc, sizeof enc);
		bool odd_pad = frame.length % 2 && data[FBUS_HEADER_LEN + frame.length] != 0;
		if (n < 0 || (size_t)n != size || (!odd_pad && memcmp(enc, data, size) != 0))
			abort();
		if (fbus_frame_fields(&frame, fields, sizeof fields) < 0)
			abort();
	} else if (!err.what || !err.reason[0] || fbus_error_fields(&err, fields, sizeof fields) < 0) {
		abort();
	}

	if (size)
		fuzz_nokia(data[0], data + 1, size - 1);

	fbus_reader_init(&reader, size && data[0] & 1 ? FBUS_DEV_PC : -1);
	memset(&assembler, 0, sizeof assembler);
	size_t cut = size ? data[0] % (size + 1) : 0;
	const uint8_t *parts[2] = {data, data + cut};
	size_t lens[2] = {cut, size - cut};
	for (int p = 0; p < 2; p++) {
		size_t off = 0;
		while (off < lens[p]) {
			off += fbus_reader_push(&reader, parts[p] + off, lens[p] - off);
			if (reader.len > sizeof reader.buf)
				abort();
			while (fbus_reader_next(&reader, &frame) == 1) {
				fuzz_check_frame(&frame);
				if (frame.type != FBUS_TYPE_ACK) {
					int a = fbus_assemble(&assembler, &frame);
					if (a == 1 && assembler.len > sizeof assembler.msg)
						abort();
					if (a == 1)
						fuzz_nokia(assembler.type, assembler.msg, assembler.len);
				}
			}
		}
	}
	return 0;
}
