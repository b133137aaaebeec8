/*
 * EMI/UCP codec tests.  Every vector of tests/vectors/ucp.tsv is one cmocka
 * test: frame_pct must be the text between STX and ETX of frame_hex;
 * decoding frame_hex must give the `fields` column (or, for a frame that
 * cannot be decoded, its parse_error); the `expect` column's EC must be what
 * a receiver answers; roundtrip vectors must encode back from their fields
 * to frame_hex exactly.  Hand-written cases cover the stream framer, the
 * field helpers and the error table; their expected values come from the
 * specification or from the vectors, never from the encoder under test.
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

#include "tsv.h"
#include "ucp/data.h"
#include "ucp/frame.h"
#include "ucp/nack.h"
#include "util.h"

static struct tsv vec;

static uint8_t *unhex(const char *hex, size_t *len)
{
	size_t cap = strlen(hex) / 2 + 1;
	uint8_t *b = xmalloc(cap);
	long n = tsv_hex(hex, b, cap);
	assert_true(n >= 0);
	*len = (size_t)n;
	return b;
}

static size_t row_of(const char *id)
{
	for (size_t i = 0; i < vec.n_rows; i++)
		if (!strcmp(tsv_get(&vec, i, "id"), id))
			return i;
	fail_msg("vector %s not found", id);
	return 0;
}

static uint8_t *vector_frame(const char *id, size_t *len)
{
	return unhex(tsv_get(&vec, row_of(id), "frame_hex"), len);
}

/* Compares two field lists key by key, in order. */
static void assert_fields_equal(const char *id, const char *want, const char *got)
{
	if (strcmp(want, got) == 0)
		return;
	size_t i = 0;
	while (want[i] && want[i] == got[i])
		i++;
	fail_msg("%s: fields differ at offset %zu:\n want ...%.80s\n  got ...%.80s", id, i,
	         want + (i > 20 ? i - 20 : 0), got + (i > 20 ? i - 20 : 0));
}

/* The EC a receiver answers for this frame, or 0 when it accepts it. */
static unsigned answer_ec(const uint8_t *buf, size_t len)
{
	struct ucp_frame f;
	struct ucp_error err;
	if (ucp_frame_decode(buf, len, &f, &err) < 0)
		return err.ec;
	if (!f.checksum_ok)
		return UCP_EC_CHECKSUM;
	if (!f.len_ok)
		return UCP_EC_SYNTAX;
	return 0;
}

/* Builds a frame from the vector's fields through ucp_frame_set_field. */
static void encode_from_fields(const char *id, const char *fields, const uint8_t *want, size_t want_len)
{
	char *copy = xstrdup(fields);
	char *vals[64];
	size_t nv = 0;
	struct ucp_frame f = {0};
	struct errbuf eb;
	for (char *save = NULL, *tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(tok, '=');
		assert_non_null(eq);
		*eq = '\0';
		assert_true(nv < ARRAY_LEN(vals));
		vals[nv] = xmalloc(strlen(eq + 1) + 1);
		assert_true(tsv_pct_decode(eq + 1, vals[nv], strlen(eq + 1) + 1) >= 0);
		if (ucp_frame_set_field(&f, tok, vals[nv], &eb) != 0)
			fail_msg("%s: set %s: %s", id, tok, eb.msg);
		nv++;
	}
	uint8_t out[1024];
	size_t olen;
	if (ucp_frame_encode(&f, out, sizeof out, &olen, &eb) != 0)
		fail_msg("%s: encode: %s", id, eb.msg);
	assert_int_equal(olen, want_len);
	assert_memory_equal(out, want, want_len);
	for (size_t i = 0; i < nv; i++)
		free(vals[i]);
	free(copy);
}

static void test_vector(void **state)
{
	size_t i = (size_t)(uintptr_t)*state;
	const char *id = tsv_get(&vec, i, "id"), *kind = tsv_get(&vec, i, "kind");
	const char *fields = tsv_get(&vec, i, "fields"), *expect = tsv_get(&vec, i, "expect");
	size_t len;
	uint8_t *buf = unhex(tsv_get(&vec, i, "frame_hex"), &len);

	/* frame_pct is the text between STX and ETX. */
	char pct[1024];
	long plen = tsv_pct_decode(tsv_get(&vec, i, "frame_pct"), pct, sizeof pct);
	assert_true(plen >= 0 && len >= 2);
	assert_int_equal(buf[0], UCP_STX);
	assert_int_equal(buf[len - 1], UCP_ETX);
	assert_int_equal((size_t)plen, len - 2);
	assert_memory_equal(pct, buf + 1, len - 2);

	/* The framer finds exactly this frame. */
	size_t skip, flen;
	assert_int_equal(ucp_frame_scan(buf, len, &skip, &flen), UCP_SCAN_FRAME);
	assert_int_equal(skip, 0);
	assert_int_equal(flen, len);

	struct ucp_frame *f = xmalloc(sizeof *f);
	struct ucp_error err;
	char *out = xmalloc(UCP_FIELDS_MAX);
	if (ucp_frame_decode(buf, len, f, &err) == 0) {
		assert_true(ucp_frame_fields(f, out, UCP_FIELDS_MAX) > 0);
	} else {
		assert_true(err.header_read);
		assert_true(ucp_frame_error_fields(&err, out, UCP_FIELDS_MAX) > 0);
	}
	assert_fields_equal(id, fields, out);

	unsigned ec = answer_ec(buf, len);
	if (!strcmp(kind, "error")) {
		unsigned want;
		assert_int_equal(sscanf(expect, "nack:EC=%u", &want), 1);
		assert_int_equal(ec, want);
	} else {
		assert_int_equal(ec, 0);
	}
	if (!strcmp(kind, "roundtrip"))
		encode_from_fields(id, fields, buf, len);
	free(out);
	free(f);
	free(buf);
}

/* ---- the stream framer ---- */

static void test_scan_stream(void **state)
{
	size_t a_len, b_len;
	uint8_t *a = vector_frame("ucp-001", &a_len), *b = vector_frame("ucp-019", &b_len);
	/* noise, a frame cut by a new STX, frame a, noise, frame b */
	uint8_t s[1024];
	size_t n = 0;
	memcpy(s + n, "xx\x03zz", 5);
	n += 5;
	memcpy(s + n, a, 10); /* unfinished */
	n += 10;
	size_t a_at = n;
	memcpy(s + n, a, a_len);
	n += a_len;
	memcpy(s + n, "\r\n", 2);
	n += 2;
	size_t b_at = n;
	memcpy(s + n, b, b_len);
	n += b_len;

	size_t skip, flen, pos = 0;
	assert_int_equal(ucp_frame_scan(s, n, &skip, &flen), UCP_SCAN_FRAME);
	assert_int_equal(skip, a_at);
	assert_int_equal(flen, a_len);
	pos = skip + flen;
	assert_int_equal(ucp_frame_scan(s + pos, n - pos, &skip, &flen), UCP_SCAN_FRAME);
	assert_int_equal(pos + skip, b_at);
	assert_int_equal(flen, b_len);
	pos += skip + flen;
	assert_int_equal(pos, n);
	assert_int_equal(ucp_frame_scan(s + pos, 0, &skip, &flen), UCP_SCAN_MORE);
	assert_int_equal(skip, 0);

	/* Split across reads at every point: nothing until the ETX arrives, and
	 * the STX is never discarded. */
	for (size_t cut = 0; cut < a_len; cut++) {
		assert_int_equal(ucp_frame_scan(a, cut, &skip, &flen), UCP_SCAN_MORE);
		assert_int_equal(skip, cut ? 0 : 0);
	}
	/* Noise only is discarded whole. */
	assert_int_equal(ucp_frame_scan((const uint8_t *)"abc", 3, &skip, &flen), UCP_SCAN_MORE);
	assert_int_equal(skip, 3);
	free(a);
	free(b);
}

static void test_scan_oversize(void **state)
{
	size_t n = UCP_FRAME_MAX + 10;
	uint8_t *s = xmalloc(n);
	memset(s, 'A', n);
	s[0] = UCP_STX;
	size_t skip, flen;
	assert_int_equal(ucp_frame_scan(s, n, &skip, &flen), UCP_SCAN_OVERSIZE);
	assert_true(skip > 0 && skip <= n);
	/* An unfinished frame below the limit is kept. */
	assert_int_equal(ucp_frame_scan(s, UCP_FRAME_MAX - 1, &skip, &flen), UCP_SCAN_MORE);
	assert_int_equal(skip, 0);
	free(s);
}

/* The link layer's framing: frames and noise runs, one unit at a time. */
static void test_link_framing(void **state)
{
	size_t a_len;
	uint8_t *a = vector_frame("ucp-006", &a_len);
	uint8_t s[256];
	size_t n = 0;
	memcpy(s, "zz", 2);
	n += 2;
	memcpy(s + n, a, 5); /* cut by the next STX */
	n += 5;
	memcpy(s + n, a, a_len);
	n += a_len;
	long u = ucp_frame_link(s, n, NULL);
	assert_int_equal(u, 2);
	assert_false(ucp_frame_is_frame(s, 2));
	u = ucp_frame_link(s + 2, n - 2, NULL);
	assert_int_equal(u, 5);
	assert_false(ucp_frame_is_frame(s + 2, 5));
	u = ucp_frame_link(s + 7, n - 7, NULL);
	assert_int_equal(u, (long)a_len);
	assert_true(ucp_frame_is_frame(s + 7, a_len));
	for (size_t cut = 1; cut < a_len; cut++)
		assert_int_equal(ucp_frame_link(a, cut, NULL), 0);
	assert_int_equal(ucp_frame_link(a, 0, NULL), 0);
	/* one octet of noise alone waits for more; line ends are blank noise */
	assert_int_equal(ucp_frame_link((const uint8_t *)"z", 1, NULL), 0);
	assert_int_equal(ucp_frame_link((const uint8_t *)"\r\n\x02", 3, NULL), 2);
	assert_true(ucp_frame_is_blank((const uint8_t *)"\r\n", 2));
	assert_false(ucp_frame_is_blank((const uint8_t *)"\r\nx", 3));
	uint8_t *big = xmalloc(UCP_FRAME_MAX + 1);
	memset(big, 'A', UCP_FRAME_MAX + 1);
	big[0] = UCP_STX;
	assert_int_equal(ucp_frame_link(big, UCP_FRAME_MAX + 1, NULL), (long)UCP_FRAME_MAX + 1);
	assert_int_equal(ucp_frame_link(big, UCP_FRAME_MAX - 1, NULL), 0);
	free(big);
	free(a);
}

/* ---- decoder rejections ---- */

static void expect_reject(const char *text, unsigned ec, const char *reason_part)
{
	size_t n = strlen(text);
	uint8_t *b = xmalloc(n + 2);
	b[0] = UCP_STX;
	memcpy(b + 1, text, n);
	b[n + 1] = UCP_ETX;
	struct ucp_frame f;
	struct ucp_error err;
	assert_int_equal(ucp_frame_decode(b, n + 2, &f, &err), -EBADMSG);
	if (err.ec != ec)
		fail_msg("%s: want EC %02u, got %02u (%s)", text, ec, err.ec, err.reason);
	if (reason_part && !strstr(err.reason, reason_part))
		fail_msg("%s: reason '%s' lacks '%s'", text, err.reason, reason_part);
	free(b);
}

static void test_rejects(void **state)
{
	expect_reject("00/00019/R/60/A//6D/", 2, NULL);             /* trailing field after the checksum */
	expect_reject("0X/00019/R/60/A//6D", 2, "header");          /* TRN not digits */
	expect_reject("00/00019/X/60/A//6D", 2, "header");          /* neither O nor R */
	expect_reject("00/00019/R/60/B//6D", 2, "neither A nor N"); /* result neither A nor N */
	expect_reject("00/00019/O/02/A//6D", 3, "not supported");   /* op 02 */
	expect_reject("00/00019/R/60/A//6", 2, "checksum");         /* checksum one digit */
	expect_reject("00/00019/R/60/A//6G", 2, "checksum");        /* checksum not hex */
	expect_reject("00/00019/R/60/A/6D", 2, "field count");      /* one field missing */
	expect_reject("00/00022/R/51/N/X1//07", 2, "EC");           /* EC not digits */
	expect_reject("00/00019/R/60/A/\x01/6D", 2, "IRA");         /* control octet */
	expect_reject("", 2, NULL);
	expect_reject("00/00019", 2, "header");

	struct ucp_frame f;
	struct ucp_error err;
	assert_int_equal(ucp_frame_decode((const uint8_t *)"\x02", 1, &f, &err), -EBADMSG);
	assert_false(err.header_read);
	assert_int_equal(ucp_frame_decode((const uint8_t *)"00/00019/R/60/A//6D", 19, &f, &err), -EBADMSG);
	uint8_t hi[] = "\x02"
	               "00/00019/R/60/A/\xC3\xA9/6D\x03";
	assert_int_equal(ucp_frame_decode(hi, sizeof hi - 1, &f, &err), -EBADMSG);
	assert_int_equal(err.ec, 2);
	assert_true(err.header_read);
	assert_int_equal(err.ot, 60);
}

/* Every prefix of every vector, closed by an ETX, decodes or is refused
 * without reading past its end (ASan checks the reads: the copy is exact). */
static void test_every_truncation(void **state)
{
	for (size_t i = 0; i < vec.n_rows; i++) {
		size_t len;
		uint8_t *buf = unhex(tsv_get(&vec, i, "frame_hex"), &len);
		for (size_t cut = 0; cut + 1 < len; cut++) {
			uint8_t *t = xmalloc(cut + 1);
			memcpy(t, buf, cut);
			t[cut] = UCP_ETX;
			struct ucp_frame f;
			struct ucp_error err;
			if (ucp_frame_decode(t, cut + 1, &f, &err) == 0)
				assert_false(f.len_ok && f.checksum_ok);
			else
				assert_true(err.ec == 2 || err.ec == 3);
			free(t);
		}
		free(buf);
	}
}

static void test_encode_refuses(void **state)
{
	struct ucp_frame f = {.trn = 1, .o_r = 'O', .ot = 31, .nfields = 2};
	f.f[0] = (struct ucp_str){"12/34", 5};
	f.f[1] = (struct ucp_str){"0539", 4};
	uint8_t out[64];
	size_t n;
	struct errbuf eb;
	assert_int_equal(ucp_frame_encode(&f, out, sizeof out, &n, &eb), -EINVAL);
	f.f[0] = (struct ucp_str){"1234", 4};
	assert_int_equal(ucp_frame_encode(&f, out, 10, &n, &eb), -ENOSPC);
	f.trn = 100;
	assert_int_equal(ucp_frame_encode(&f, out, sizeof out, &n, &eb), -EINVAL);
	/* The spec's op 31 example (ucp-005) from its parts. */
	f.trn = 2;
	f.f[0] = (struct ucp_str){"0234765439845", 13};
	f.f[1] = (struct ucp_str){"0139", 4};
	assert_int_equal(ucp_frame_encode(&f, out, sizeof out, &n, &eb), 0);
	size_t vlen;
	uint8_t *v = vector_frame("ucp-005", &vlen);
	assert_int_equal(n, vlen);
	assert_memory_equal(out, v, vlen);
	free(v);
}

/* ---- field contents ---- */

static void test_oadc_alpha(void **state)
{
	char out[64];
	/* ucp-023: "ALPHA@NUM" is 10412614190438AB4D (16 semi-octets). */
	assert_int_equal(ucp_data_oadc_alpha_encode("ALPHA@NUM", out, sizeof out), 0);
	assert_string_equal(out, "10412614190438AB4D");
	assert_int_equal(ucp_data_oadc_alpha_decode("10412614190438AB4D", 18, out, sizeof out), 0);
	assert_string_equal(out, "ALPHA@NUM");
	/* ucp-024 wrote 14 semi-octets for 7 characters: read as 8, '@' last. */
	assert_int_equal(ucp_data_oadc_alpha_decode("0ECDBC501E769301", 16, out, sizeof out), 0);
	assert_string_equal(out, "MyBrand@");
	/* We write ceil(7*7/4) = 13 semi-octets, which reads back exactly. */
	assert_int_equal(ucp_data_oadc_alpha_encode("MyBrand", out, sizeof out), 0);
	assert_string_equal(out, "0DCDBC501E769301");
	assert_int_equal(ucp_data_oadc_alpha_decode(out, strlen(out), out, sizeof out), 0);
	assert_string_equal(out, "MyBrand");
	/* 12 characters do not fit; neither does a character outside GSM. */
	assert_int_equal(ucp_data_oadc_alpha_encode("ABCDEFGHIJKL", out, sizeof out), -EINVAL);
	assert_int_equal(ucp_data_oadc_alpha_encode("\xe4\xb8\xad", out, sizeof out), -EINVAL);
	/* A count beyond the octets present is clamped, odd hex refused. */
	assert_int_equal(ucp_data_oadc_alpha_decode("FF41", 4, out, sizeof out), 0);
	assert_string_equal(out, "A");
	assert_int_equal(ucp_data_oadc_alpha_decode("0E4", 3, out, sizeof out), -EINVAL);
}

static void test_xser(void **state)
{
	struct ucp_xser x;
	assert_int_equal(ucp_data_xser_parse("0106050003CC0201", 16, &x), 0); /* ucp-024 */
	assert_int_equal(x.udh_len, 6);
	assert_memory_equal(x.udh, "\x05\x00\x03\xCC\x02\x01", 6);
	assert_false(x.has_dcs);
	assert_int_equal(ucp_data_xser_parse("020108", 6, &x), 0); /* ucp-025 */
	assert_true(x.has_dcs);
	assert_int_equal(x.dcs, 0x08);
	assert_int_equal(x.udh_len, 0);
	/* unknown type 0C skipped by its length */
	assert_int_equal(ucp_data_xser_parse("0C02ABCD020100", 14, &x), 0);
	assert_true(x.has_dcs);
	assert_int_equal(x.dcs, 0);
	assert_int_equal(ucp_data_xser_parse("0107050003", 10, &x), -EINVAL); /* overrun */
	assert_int_equal(ucp_data_xser_parse("01", 2, &x), -EINVAL);
	assert_int_equal(ucp_data_xser_parse("01010G", 6, &x), -EINVAL);
	char out[64];
	assert_int_equal(ucp_data_xser_build((const uint8_t *)"\x05\x00\x03\xCC\x02\x01", 6, 8, out, sizeof out), 0);
	assert_string_equal(out, "0106050003CC0201020108");
	assert_int_equal(ucp_data_xser_build(NULL, 0, -1, out, sizeof out), 0);
	assert_string_equal(out, "");
	assert_int_equal(ucp_data_xser_build(NULL, 0, 8, out, 6), -ENOSPC);
}

static void test_times(void **state)
{
	int64_t t;
	assert_int_equal(ucp_data_scts_parse("010624120000", 12, &t), 0); /* ucp-026 */
	assert_int_equal(t, 1717243200);                                  /* 2024-06-01 12:00:00 UTC */
	char s[13], s10[11];
	ucp_data_scts_format(t, s);
	assert_string_equal(s, "010624120000");
	ucp_data_time10_format(t + 59, s10);
	assert_string_equal(s10, "0106241200");
	assert_int_equal(ucp_data_scts_parse("310424120000", 12, &t), -EINVAL); /* 31 April */
	assert_int_equal(ucp_data_scts_parse("0106241200", 10, &t), -EINVAL);
	assert_int_equal(ucp_data_scts_parse("01062412000X", 12, &t), -EINVAL);
	assert_int_equal(ucp_data_scts_parse("001324120000", 12, &t), -EINVAL);
	uint8_t o[8];
	assert_int_equal(ucp_data_ira_decode("48656c6C6F", 10, o, sizeof o), 5);
	assert_memory_equal(o, "Hello", 5);
	assert_int_equal(ucp_data_ira_decode("486", 3, o, sizeof o), -EINVAL);
	assert_int_equal(ucp_data_ira_decode("48656C6C6F", 10, o, 4), -ENOSPC);
	assert_int_equal(ucp_data_digits("00042", 5, 5), 42);
	assert_int_equal(ucp_data_digits("99", 2, 2), 99);
	assert_int_equal(ucp_data_digits("4", 1, 2), -1);  /* too short */
	assert_int_equal(ucp_data_digits("4 ", 2, 2), -1); /* not a digit */
	assert_int_equal(ucp_data_digits("-4", 2, 2), -1);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The ucp-server's SCTS of a message (part 0) and of each part of a joined
 * one: valid dates, all distinct over a range of ids, parts apart from
 * whole messages. */
static void test_scts_id(void **state)
{
	char s[13];
	ucp_data_scts_id(1, 0, s);
	assert_string_equal(s, "010100000001"); /* 2000-01-01 00:00:01 */
	ucp_data_scts_id(1, 1, s);
	assert_string_equal(s, "190168031823"); /* 2^31 + 255 s after 2000 */
	ucp_data_scts_id(7, 3, s);
	assert_string_equal(s, "190168034355"); /* 2^31 + 255 * 7 + 2 */
	char w[13];
	ucp_data_scts_id(((int64_t)1 << 31) + 5, 0, s); /* the documented wrap */
	ucp_data_scts_id(5, 0, w);
	assert_string_equal(s, w);
	enum { IDS = 5000, PARTS = 6 };
	int64_t *t = malloc(sizeof *t * IDS * (PARTS + 1));
	size_t n = 0;
	for (int64_t id = 3921000; id < 3921000 + IDS; id++) /* across the 10^9 wrap */
		for (unsigned k = 0; k <= PARTS; k++) {
			ucp_data_scts_id(id, k, s);
			assert_int_equal(ucp_data_scts_parse(s, 12, &t[n]), 0);
			n++;
		}
	qsort(t, n, sizeof *t, cmp_i64);
	for (size_t i = 1; i < n; i++)
		assert_true(t[i] > t[i - 1]);
	free(t);
}

static void test_nack_table(void **state)
{
	assert_string_equal(ucp_nack_name(1), "Checksum error");
	assert_string_equal(ucp_nack_name(7), "Authentication failure");
	assert_string_equal(ucp_nack_name(24), "Message too long");
	assert_null(ucp_nack_name(99));
	assert_int_equal(ucp_nack_class(4), UCP_NACK_THROTTLE);
	assert_int_equal(ucp_nack_class(24), UCP_NACK_REJECT);
	assert_int_equal(ucp_nack_class(6), UCP_NACK_REJECT);
	assert_int_equal(ucp_nack_class(1), UCP_NACK_RETRY);
	assert_int_equal(ucp_nack_class(99), UCP_NACK_RETRY); /* unknown codes are retried */
	assert_string_equal(ucp_nack_class_name(UCP_NACK_REJECT), "reject");
}

static void test_names(void **state)
{
	assert_int_equal(ucp_frame_field_count('O', 51, false), 33);
	assert_int_equal(ucp_frame_field_count('O', 1, false), 5);
	assert_int_equal(ucp_frame_field_count('O', 30, false), 10);
	assert_int_equal(ucp_frame_field_count('R', 51, true), 3);
	assert_int_equal(ucp_frame_field_count('R', 31, true), 2);
	assert_int_equal(ucp_frame_field_count('R', 60, false), 3);
	assert_int_equal(ucp_frame_field_count('O', 2, false), 0);
	assert_string_equal(ucp_frame_field_name('O', 52, false, UCP5X_SCTS, 0), "SCTS");
	assert_string_equal(ucp_frame_field_name('O', 52, false, UCP5X_Msg, '4'), "TMsg");
	assert_string_equal(ucp_frame_field_name('O', 1, false, UCP01_Msg, '2'), "NMsg");
	assert_string_equal(ucp_frame_field_name('O', 30, false, UCP30_AMsg, 0), "AMsg");
	assert_null(ucp_frame_field_name('O', 31, false, 2, 0));
}

int main(void)
{
	if (tsv_load("ucp.tsv", &vec))
		return 1;
	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_scan_stream),    cmocka_unit_test(test_scan_oversize),
	    cmocka_unit_test(test_rejects),        cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_encode_refuses), cmocka_unit_test(test_oadc_alpha),
	    cmocka_unit_test(test_xser),           cmocka_unit_test(test_times),
	    cmocka_unit_test(test_nack_table),     cmocka_unit_test(test_link_framing),
	    cmocka_unit_test(test_names),          cmocka_unit_test(test_scts_id),
	};
	size_t n = vec.n_rows + ARRAY_LEN(fixed);
	struct CMUnitTest *tests = xcalloc(n, sizeof *tests);
	for (size_t i = 0; i < vec.n_rows; i++)
		tests[i] = (struct CMUnitTest){
		    .name = tsv_get(&vec, i, "id"), .test_func = test_vector, .initial_state = (void *)(uintptr_t)i};
	memcpy(tests + vec.n_rows, fixed, sizeof fixed);
	int failed = _cmocka_run_group_tests("ucp_frame", tests, n, NULL, NULL);
	free(tests);
	tsv_free(&vec);
	return failed;
}
