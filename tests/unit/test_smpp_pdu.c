/*
 * SMPP PDU codec tests, one per vector.  The vectors in tests/vectors/smpp.tsv
 * are the oracle: every vector is one cmocka test that decodes the hex and
 * compares the key=value dump with the `fields` column, encodes the `fields`
 * column back and compares with the hex, and checks error vectors'
 * error_status, reason and expected reaction.  What the vectors do not cover
 * (limits, submit_multi, every truncation) is test_smpp_pdu_cases.c.
 *
 * Run from the repository root, or set SMSPOOL_VECTORS to the vectors dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpp/pdu.h"
#include "util.h"

#include "smpp_pdu_vectors.h"

static char *tohex(const uint8_t *b, size_t n)
{
	char *s = xmalloc(2 * n + 1);
	hex_encode(b, n, s);
	return s;
}

static void pct_decode(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		unsigned v;
		if (*p == '%' && sscanf(p + 1, "%2x", &v) == 1) {
			*o++ = (char)v;
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* Looks up key in a "k=v;k=v" string; returns a new string or NULL. */
static char *field_value(const char *fields, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = fields; p && *p;) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > kl && !strncmp(p, key, kl) && p[kl] == '=')
			return xstrndup(p + kl + 1, n - kl - 1);
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

static void check_fields(const struct vector *v, const uint8_t *buf, size_t len)
{
	struct smpp_pdu *pdu = decode_ok(buf, len);
	char *out = xmalloc(SMPP_PDU_FIELDS_MAX);
	assert_true(smpp_pdu_fields(pdu, out, SMPP_PDU_FIELDS_MAX) > 0);
	assert_fields_equal(v->id, v->fields, out);
	free(out);
	free(pdu);
}

static void check_framing_complete(const uint8_t *buf, size_t len)
{
	size_t need = 0;
	struct smpp_pdu_error err;
	uint8_t *two = xmalloc(2 * len);
	memcpy(two, buf, len);
	memcpy(two + len, buf, len);
	assert_int_equal(smpp_pdu_frame(two, 2 * len, &need, &err), 1);
	assert_int_equal(need, len);
	assert_int_equal(smpp_pdu_frame(buf, len - 1, &need, &err), 0);
	assert_int_equal(need, len);
	free(two);
}

/* Encoding from the fields column alone, independent of the decoder. */
static void check_encode_from_fields(const struct vector *v)
{
	struct smpp_pdu *pdu = xcalloc(1, sizeof *pdu);
	uint8_t *arena_data = xmalloc(SMPP_PDU_MAX_LEN);
	struct smpp_pdu_arena arena = {.data = arena_data, .cap = SMPP_PDU_MAX_LEN};
	char *f = xstrdup(v->fields);
	char *keys[256], *vals[256];
	size_t n = split_fields(f, keys, vals, 256);
	for (size_t i = 0; i < n; i++) {
		struct errbuf eb = {{0}};
		pct_decode(vals[i]);
		if (smpp_pdu_fields_set(pdu, keys[i], vals[i], &arena, &eb))
			fail_msg("%s: set %s: %s", v->id, keys[i], eb.msg);
	}
	uint8_t *out = xmalloc(SMPP_PDU_MAX_LEN);
	size_t olen = 0;
	struct errbuf eb = {{0}};
	if (smpp_pdu_encode(pdu, out, SMPP_PDU_MAX_LEN, &olen, &eb))
		fail_msg("%s: encode: %s", v->id, eb.msg);
	char *hex = tohex(out, olen);
	assert_string_equal(hex, v->hex);
	/* command_length in fields is what the encoder must have computed. */
	char *cl = field_value(v->fields, "command_length");
	assert_non_null(cl);
	assert_int_equal(olen, strtoul(cl, NULL, 10));
	free(cl);
	free(hex);
	free(out);
	free(f);
	free(arena_data);
	free(pdu);
}

static void check_reencode(const struct vector *v, const uint8_t *buf, size_t len)
{
	struct smpp_pdu *pdu = decode_ok(buf, len);
	uint8_t *out = xmalloc(len);
	size_t olen = 0;
	struct errbuf eb = {{0}};
	if (smpp_pdu_encode(pdu, out, len, &olen, &eb))
		fail_msg("%s: encode: %s", v->id, eb.msg);
	char *hex = tohex(out, olen);
	assert_string_equal(hex, v->hex);
	/* One octet less must be refused, not truncated. */
	assert_int_equal(smpp_pdu_encode(pdu, out, len - 1, &olen, NULL), -ENOSPC);
	free(hex);
	free(out);
	free(pdu);
}

static void check_error(const struct vector *v, const uint8_t *buf, size_t len)
{
	struct smpp_pdu *pdu = xmalloc(sizeof *pdu);
	struct smpp_pdu_error err;
	assert_int_equal(smpp_pdu_decode(buf, len, pdu, &err), -EBADMSG);
	char *want_status = field_value(v->fields, "error_status");
	char *want_reason = field_value(v->fields, "reason");
	assert_non_null(want_status);
	assert_non_null(want_reason);
	pct_decode(want_reason);
	assert_int_equal(err.status, strtoul(want_status, NULL, 16));
	assert_string_equal(err.reason, want_reason);

	/* The printed form is the fields column itself. */
	char out[512];
	assert_true(smpp_pdu_fields_error(&err, out, sizeof out) > 0);
	assert_fields_equal(v->id, v->fields, out);

	/* expect: "generic_nack:k=v;..", "response:k=v" or "incomplete:k=v;..". */
	const char *colon = strchr(v->expect, ':');
	assert_non_null(colon);
	const char *kv = colon + 1;
	char *st = field_value(kv, "status");
	char *seq = field_value(kv, "sequence_number");
	if (st)
		assert_int_equal(err.status, strtoul(st, NULL, 16));
	if (seq) {
		assert_true(err.header_read);
		assert_int_equal(err.sequence_number, strtoul(seq, NULL, 10));
	}
	if (!strncmp(v->expect, "generic_nack:", 13)) {
		assert_true(err.generic_nack);
	} else if (!strncmp(v->expect, "response:", 9)) {
		assert_false(err.generic_nack);
	} else if (!strncmp(v->expect, "incomplete:", 11)) {
		char *need_s = field_value(kv, "need"), *have_s = field_value(kv, "have");
		assert_non_null(need_s);
		assert_non_null(have_s);
		assert_int_equal(len, strtoul(have_s, NULL, 10));
		size_t need = 0;
		assert_int_equal(smpp_pdu_frame(buf, len, &need, &err), 0);
		assert_int_equal(need, strtoul(need_s, NULL, 10));
		free(need_s);
		free(have_s);
	} else {
		fail_msg("%s: unknown expect '%s'", v->id, v->expect);
	}
	free(st);
	free(seq);
	free(want_status);
	free(want_reason);
	free(pdu);
}

static void test_vector(void **state)
{
	const struct vector *v = *state;
	size_t len;
	uint8_t *buf = unhex(v->hex, &len);
	if (!strcmp(v->kind, "error")) {
		check_error(v, buf, len);
	} else if (!strcmp(v->kind, "decode") || !strcmp(v->kind, "roundtrip")) {
		check_fields(v, buf, len);
		check_framing_complete(buf, len);
		if (!strcmp(v->kind, "roundtrip")) {
			check_encode_from_fields(v);
			check_reencode(v, buf, len);
		}
	} else {
		fail_msg("%s: unknown kind %s", v->id, v->kind);
	}
	free(buf);
}

int main(void)
{
	if (load_vectors())
		return 1;
	struct CMUnitTest *tests = xcalloc(nvectors, sizeof *tests);
	for (size_t i = 0; i < nvectors; i++)
		tests[i] =
		    (struct CMUnitTest){.name = vectors[i].id, .test_func = test_vector, .initial_state = &vectors[i]};
	int failed = _cmocka_run_group_tests("smpp_pdu", tests, nvectors, NULL, NULL);
	free(tests);
	return failed;
}
