/*
 * FBUS v2 framer tests.  Every vector of tests/vectors/fbus.tsv is decoded
 * and compared with its `fields` column; roundtrip vectors are also encoded
 * from the `fields` column alone (never from the decoder's output) and must
 * give the hex back; error vectors must fail with the class in `expect`.
 * Hand-written cases cover the stream reader (sync burst, noise, split
 * reads, a bad frame followed by a good one), multi-frame reassembly and
 * splitting, with expectations taken from the vectors or written out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "fbus/frame.h"
#include "tsv.h"

static struct tsv vectors;

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	long n = tsv_hex(hex, out, cap);
	assert_true(n >= 0);
	return (size_t)n;
}

static long hexfield(const char *fields, const char *key)
{
	char buf[64];
	assert_true(tsv_field(fields, key, buf, sizeof buf) >= 0);
	return strtol(buf, NULL, 16);
}

/* Builds the frame from the fields column with the public constructors. */
static int encode_from_fields(const char *fields, uint8_t *out, size_t cap)
{
	struct fbus_frame f;
	uint8_t id = (uint8_t)hexfield(fields, "frame_id"), dst = (uint8_t)hexfield(fields, "dst"),
	        src = (uint8_t)hexfield(fields, "src"), type = (uint8_t)hexfield(fields, "msg_type");
	if (type == FBUS_TYPE_ACK) {
		fbus_frame_ack(&f, id, dst, src, (uint8_t)hexfield(fields, "ack_of_type"),
		               (uint8_t)hexfield(fields, "ack_seq"));
	} else {
		char blockhex[2 * FBUS_DATA_MAX + 1];
		uint8_t block[FBUS_DATA_MAX];
		assert_true(tsv_field(fields, "block", blockhex, sizeof blockhex) >= 0);
		size_t blen = unhex(blockhex, block, sizeof block);
		assert_int_equal(fbus_frame_data(&f, id, dst, src, type, block, blen,
		                                 (uint8_t)tsv_field_long(fields, "frames_to_go", -1),
		                                 (uint8_t)hexfield(fields, "seq")),
		                 0);
	}
	assert_int_equal(f.length, tsv_field_long(fields, "length", -1));
	return fbus_frame_encode(&f, out, cap);
}

static void test_vectors(void **state)
{
	size_t ndecode = 0, nround = 0, nerror = 0;
	for (size_t i = 0; i < vectors.n_rows; i++) {
		const char *id = tsv_get(&vectors, i, "id"), *kind = tsv_get(&vectors, i, "kind"),
		           *hex = tsv_get(&vectors, i, "hex"), *fields = tsv_get(&vectors, i, "fields"),
		           *expect = tsv_get(&vectors, i, "expect");
		uint8_t buf[FBUS_FRAME_MAX + 16];
		size_t len = unhex(hex, buf, sizeof buf);
		struct fbus_frame f;
		struct fbus_error err = {0};
		char out[FBUS_FIELDS_MAX];
		int rc = fbus_frame_decode(buf, len, &f, &err);
		if (!strcmp(kind, "error")) {
			if (rc != -EBADMSG)
				fail_msg("%s: decoded a bad frame", id);
			char want[32];
			snprintf(want, sizeof want, "error:%s", err.what);
			if (strcmp(want, expect))
				fail_msg("%s: %s, want %s", id, want, expect);
			if (!strcmp(err.what, "checksum"))
				assert_true(fbus_frame_fields(&f, out, sizeof out) > 0);
			else
				assert_true(fbus_error_fields(&err, out, sizeof out) > 0);
			nerror++;
		} else {
			if (rc)
				fail_msg("%s: %s", id, err.reason);
			assert_true(fbus_frame_fields(&f, out, sizeof out) > 0);
		}
		if (strcmp(out, fields))
			fail_msg("%s:\n want %s\n got  %s", id, fields, out);
		if (!strcmp(kind, "roundtrip")) {
			uint8_t enc[FBUS_FRAME_MAX];
			int n = encode_from_fields(fields, enc, sizeof enc);
			assert_int_equal(n, (int)len);
			if (memcmp(enc, buf, len))
				fail_msg("%s: encoding differs", id);
			nround++;
		} else if (!strcmp(kind, "decode")) {
			ndecode++;
		}
	}
	/* The file's shape: 4 captures, 5 roundtrips, 2 errors at least. */
	assert_true(ndecode >= 4 && nround >= 5 && nerror >= 2);
}

static const char *vector_hex(const char *id)
{
	for (size_t i = 0; i < vectors.n_rows; i++)
		if (!strcmp(tsv_get(&vectors, i, "id"), id))
			return tsv_get(&vectors, i, "hex");
	fail_msg("no vector %s", id);
	return NULL;
}

/* Gammu's sync burst, noise, a frame with a bad checksum, then good frames
 * fed one octet at a time: exactly the good frames come out, in order. */
static void test_reader_resync(void **state)
{
	uint8_t stream[1024];
	size_t n = 0;
	memset(stream, 0x55, 32);
	n = 32;
	stream[n++] = 0xC1;
	stream[n++] = 0x1E; /* a lone frame id with an absurd length */
	stream[n++] = 0x00;
	stream[n++] = 0x0C;
	stream[n++] = 0xD1;
	stream[n++] = 0xFF;
	stream[n++] = 0xFF;
	n += unhex(vector_hex("fbus-010"), stream + n, sizeof stream - n); /* bad checksum */
	n += unhex(vector_hex("fbus-001"), stream + n, sizeof stream - n);
	n += unhex(vector_hex("fbus-003"), stream + n, sizeof stream - n);
	n += unhex(vector_hex("fbus-004"), stream + n, sizeof stream - n);

	struct fbus_reader r;
	fbus_reader_init(&r, -1);
	struct fbus_frame f;
	uint8_t types[8];
	size_t got = 0;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(fbus_reader_push(&r, stream + i, 1), 1);
		while (fbus_reader_next(&r, &f) == 1) {
			assert_true(got < sizeof types);
			types[got++] = f.type;
		}
	}
	assert_int_equal(got, 3);
	assert_int_equal(types[0], 0xD1);
	assert_int_equal(types[1], 0x7F);
	assert_int_equal(types[2], 0x0A);
	assert_int_equal(r.bad, 1);
	assert_int_equal(r.len, 0);
}

/* A reader that wants frames to the PC skips one to the phone. */
static void test_reader_filter(void **state)
{
	uint8_t stream[256];
	size_t n = unhex(vector_hex("fbus-001"), stream, sizeof stream);   /* to the phone */
	n += unhex(vector_hex("fbus-003"), stream + n, sizeof stream - n); /* to the PC */
	struct fbus_reader r;
	fbus_reader_init(&r, FBUS_DEV_PC);
	assert_int_equal(fbus_reader_push(&r, stream, n), n);
	struct fbus_frame f;
	assert_int_equal(fbus_reader_next(&r, &f), 1);
	assert_int_equal(f.type, FBUS_TYPE_ACK);
	assert_int_equal(fbus_reader_next(&r, &f), 0);
}

/* fbus-006 + fbus-007 are the two frames of one 130-octet message. */
static void test_assemble_two_frames(void **state)
{
	uint8_t b[FBUS_FRAME_MAX];
	struct fbus_frame f1, f2;
	struct fbus_error err;
	struct fbus_assembler a = {0};
	size_t n = unhex(vector_hex("fbus-006"), b, sizeof b);
	assert_int_equal(fbus_frame_decode(b, n, &f1, &err), 0);
	n = unhex(vector_hex("fbus-007"), b, sizeof b);
	assert_int_equal(fbus_frame_decode(b, n, &f2, &err), 0);
	assert_int_equal(fbus_assemble(&a, &f1), 0);
	assert_int_equal(fbus_assemble(&a, &f2), 1);
	assert_int_equal(a.type, 0x02);
	assert_int_equal(a.len, 130);
	assert_int_equal(a.msg[0], 0x00);
	assert_int_equal(a.msg[3], 0x20);
	assert_int_equal(a.msg[129], 0x9E);
	/* A continuation without its first frame is refused. */
	assert_int_equal(fbus_assemble(&a, &f2), -EBADMSG);
}

/* Splitting the same 130 octets gives back the vectors' exact frames. */
static void test_split_message(void **state)
{
	uint8_t msg[130];
	msg[0] = 0x00;
	msg[1] = 0x01;
	msg[2] = 0x00;
	for (size_t i = 3; i < sizeof msg; i++)
		msg[i] = (uint8_t)(0x20 + i - 3);
	assert_int_equal(fbus_frames_for(sizeof msg), 2);
	uint8_t want[FBUS_FRAME_MAX], enc[FBUS_FRAME_MAX];
	struct fbus_frame f;
	const char *ids[] = {"fbus-006", "fbus-007"};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(fbus_msg_frame(&f, FBUS_FRAME_ID, FBUS_DEV_PHONE, FBUS_DEV_PC, 0x02, msg, sizeof msg,
		                                i, (uint8_t)(3 + i)),
		                 0);
		int n = fbus_frame_encode(&f, enc, sizeof enc);
		size_t wn = unhex(vector_hex(ids[i]), want, sizeof want);
		assert_int_equal(n, (int)wn);
		assert_memory_equal(enc, want, wn);
	}
}

/* Gammu's first request (../shared/PEERS.md) and the ack our phone gives. */
static void test_gammu_get_model(void **state)
{
	static const uint8_t req[] = {0x1E, 0x00, 0x0C, 0xD1, 0x00, 0x07, 0x00, 0x01,
	                              0x00, 0x03, 0x00, 0x01, 0x40, 0x00, 0x52, 0xD5};
	struct fbus_frame f;
	struct fbus_error err;
	assert_int_equal(fbus_frame_decode(req, sizeof req, &f, &err), 0);
	assert_int_equal(fbus_frame_seq(&f), 0x40);
	struct fbus_frame ack;
	fbus_frame_ack(&ack, FBUS_FRAME_ID, FBUS_DEV_PC, FBUS_DEV_PHONE, f.type, fbus_frame_seq(&f));
	uint8_t enc[16];
	assert_int_equal(fbus_frame_encode(&ack, enc, sizeof enc), 10);
	static const uint8_t want[] = {0x1E, 0x0C, 0x00, 0x7F, 0x00, 0x02, 0xD1, 0x00};
	assert_memory_equal(enc, want, sizeof want);
	/* The XOR of every 16-bit word of a good frame is zero. */
	uint8_t x0 = 0, x1 = 0;
	for (size_t i = 0; i < 10; i += 2) {
		x0 ^= enc[i];
		x1 ^= enc[i + 1];
	}
	assert_int_equal(x0 | x1, 0);
}

static void test_decode_limits(void **state)
{
	struct fbus_frame f;
	struct fbus_error err;
	static const uint8_t short_frame[] = {0x1E, 0x00, 0x0C};
	assert_int_equal(fbus_frame_decode(short_frame, sizeof short_frame, &f, &err), -EBADMSG);
	assert_string_equal(err.what, "short");
	static const uint8_t bad_id[] = {0x1F, 0x0C, 0x00, 0x7F, 0x00, 0x02, 0x0A, 0x00, 0x14, 0x71};
	assert_int_equal(fbus_frame_decode(bad_id, sizeof bad_id, &f, &err), -EBADMSG);
	assert_string_equal(err.what, "frame_id");
	uint8_t enc[8];
	fbus_frame_ack(&f, FBUS_FRAME_ID, 0, 0x0C, 1, 1);
	assert_int_equal(fbus_frame_encode(&f, enc, sizeof enc), -ENOSPC);
}

int main(void)
{
	if (tsv_load("fbus.tsv", &vectors))
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),       cmocka_unit_test(test_reader_resync),
	    cmocka_unit_test(test_reader_filter), cmocka_unit_test(test_assemble_two_frames),
	    cmocka_unit_test(test_split_message), cmocka_unit_test(test_gammu_get_model),
	    cmocka_unit_test(test_decode_limits),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tsv_free(&vectors);
	return rc;
}
