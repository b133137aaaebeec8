/*
 * test_udh: User Data Header parse/build and per-part capacities against
 * tests/vectors/udh.tsv (every header vector parsed and rebuilt; every
 * segment vector decoded and re-encoded), plus malformed headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codec/gsm7.h"
#include "codec/ucs2.h"
#include "codec/udh.h"
#include "tsv.h"

static const struct udh_ie *find_ie(const struct udh *u, unsigned iei)
{
	const struct udh_ie *found = NULL;
	for (size_t i = 0; i < u->n_ies; i++)
		if (u->ies[i].iei == iei)
			found = &u->ies[i];
	return found;
}

/* Checks the parsed header against the fields common to both kinds. */
static void check_header_fields(const struct udh *u, const char *fields)
{
	long bits = tsv_field_long(fields, "concat_ref_bits", -1);
	if (bits >= 0) {
		assert_true(u->has_concat);
		assert_int_equal(u->concat_ref_bits, bits);
		assert_int_equal(u->concat_ref, tsv_field_long(fields, "concat_ref", -1));
		assert_int_equal(u->concat_total, tsv_field_long(fields, "concat_total", -1));
		assert_int_equal(u->concat_seq, tsv_field_long(fields, "concat_seq", -1));
	} else {
		assert_false(u->has_concat);
	}
	long pbits = tsv_field_long(fields, "port_bits", -1);
	if (pbits >= 0) {
		assert_true(u->has_ports);
		assert_int_equal(u->port_bits, pbits);
		assert_int_equal(u->dst_port, tsv_field_long(fields, "dst_port", -1));
		assert_int_equal(u->src_port, tsv_field_long(fields, "src_port", -1));
	} else {
		assert_false(u->has_ports);
	}
	char list[128];
	assert_true(tsv_field(fields, "iei_list", list, sizeof list) > 0);
	size_t k = 0;
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","), k++) {
		assert_true(k < u->n_ies);
		assert_int_equal(u->ies[k].iei, strtol(tok, NULL, 16));
	}
	assert_int_equal(k, u->n_ies);
	/* Unknown or uninterpreted IEs keep their data: iei_XX=hex. */
	for (size_t i = 0; i < u->n_ies; i++) {
		char key[16], hex[128];
		uint8_t want[64];
		snprintf(key, sizeof key, "iei_%02X", u->ies[i].iei);
		if (tsv_field(fields, key, hex, sizeof hex) < 0)
			continue;
		long n = tsv_hex(hex, want, sizeof want);
		assert_int_equal(u->ies[i].len, n);
		assert_memory_equal(u->ies[i].data, want, (size_t)n);
	}
}

/* Rebuilds a UDH from the vector's fields, IE by IE in iei_list order. */
static size_t rebuild(const char *fields, uint8_t *buf, size_t cap)
{
	char list[128];
	size_t len = 0;
	assert_true(tsv_field(fields, "iei_list", list, sizeof list) > 0);
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		unsigned iei = (unsigned)strtoul(tok, NULL, 16);
		if (iei == UDH_IEI_CONCAT8 || iei == UDH_IEI_CONCAT16) {
			assert_int_equal(udh_add_concat(buf, cap, &len, iei == UDH_IEI_CONCAT16,
			                                (unsigned)tsv_field_long(fields, "concat_ref", -1),
			                                (unsigned)tsv_field_long(fields, "concat_total", -1),
			                                (unsigned)tsv_field_long(fields, "concat_seq", -1)),
			                 0);
		} else if (iei == UDH_IEI_PORTS8 || iei == UDH_IEI_PORTS16) {
			assert_int_equal(udh_add_ports(buf, cap, &len, iei == UDH_IEI_PORTS16,
			                               (unsigned)tsv_field_long(fields, "dst_port", -1),
			                               (unsigned)tsv_field_long(fields, "src_port", -1)),
			                 0);
		} else {
			char key[16], hex[128];
			uint8_t data[64];
			snprintf(key, sizeof key, "iei_%02X", iei);
			assert_true(tsv_field(fields, key, hex, sizeof hex) >= 0);
			long n = tsv_hex(hex, data, sizeof data);
			assert_true(n >= 0);
			assert_int_equal(udh_add_ie(buf, cap, &len, (uint8_t)iei, data, (uint8_t)n), 0);
		}
	}
	return len;
}

static void test_udh_header_vectors(void **state)
{
	struct tsv t;
	size_t n_headers = 0;
	assert_int_equal(tsv_load("udh.tsv", &t), 0);
	for (size_t i = 0; i < t.n_rows; i++) {
		if (strcmp(tsv_get(&t, i, "kind"), "header") != 0)
			continue;
		const char *fields = tsv_get(&t, i, "fields");
		uint8_t raw[160], built[160];
		print_message("vector %s\n", tsv_get(&t, i, "id"));
		long n = tsv_hex(tsv_get(&t, i, "udh_hex"), raw, sizeof raw);
		assert_true(n > 0);

		struct udh u;
		assert_int_equal(udh_parse(raw, (size_t)n, &u, NULL), 0);
		assert_int_equal(u.len, tsv_field_long(fields, "udh_octets", -1));
		assert_int_equal(raw[0], tsv_field_long(fields, "udhl", -1));
		check_header_fields(&u, fields);

		assert_int_equal(udh_fill_bits(u.len), tsv_field_long(fields, "gsm7_fill_bits", -1));
		assert_int_equal(udh_header_septets(u.len), tsv_field_long(fields, "gsm7_header_septets", -1));
		assert_int_equal(udh_max_septets(u.len), tsv_field_long(fields, "max_gsm7_septets", -1));
		assert_int_equal(udh_max_octets(u.len), tsv_field_long(fields, "max_8bit_octets", -1));
		assert_int_equal(udh_max_ucs2_units(u.len), tsv_field_long(fields, "max_ucs2_chars", -1));

		size_t blen = rebuild(fields, built, sizeof built);
		assert_int_equal(blen, (size_t)n);
		assert_memory_equal(built, raw, blen);
		n_headers++;
	}
	assert_true(n_headers >= 8);
	tsv_free(&t);
}

static void test_udh_segment_vectors(void **state)
{
	struct tsv t;
	size_t n_segments = 0;
	assert_int_equal(tsv_load("udh.tsv", &t), 0);
	for (size_t i = 0; i < t.n_rows; i++) {
		if (strcmp(tsv_get(&t, i, "kind"), "segment") != 0)
			continue;
		const char *fields = tsv_get(&t, i, "fields");
		char hex[400], text[1024], got[1024];
		uint8_t ud[200], hdr[160], built[200];
		print_message("vector %s\n", tsv_get(&t, i, "id"));
		assert_true(tsv_field(fields, "ud_hex", hex, sizeof hex) > 0);
		long n = tsv_hex(hex, ud, sizeof ud);
		assert_true(n > 0 && n <= 140);
		assert_true(tsv_field(fields, "part_text", text, sizeof text) >= 0);
		long udl = tsv_field_long(fields, "udl", -1);
		long units = tsv_field_long(fields, "part_chars_units", -1);
		long dcs;
		char dcsbuf[8];
		assert_true(tsv_field(fields, "dcs", dcsbuf, sizeof dcsbuf) > 0);
		dcs = strtol(dcsbuf, NULL, 16);

		/* The udh_hex column is the header alone. */
		long hn = tsv_hex(tsv_get(&t, i, "udh_hex"), hdr, sizeof hdr);
		assert_true(hn > 0 && hn <= n);
		assert_memory_equal(ud, hdr, (size_t)hn);

		/* Decode. */
		struct udh u;
		assert_int_equal(udh_parse(ud, (size_t)n, &u, NULL), 0);
		assert_int_equal(u.len, (size_t)hn);
		check_header_fields(&u, fields);
		assert_int_equal(u.concat_seq, tsv_field_long(fields, "part", -1));
		assert_int_equal(u.concat_total, tsv_field_long(fields, "parts", -1));
		/* Fill bits exist only for GSM 7-bit text. */
		assert_int_equal(dcs == 0x00 ? udh_fill_bits(u.len) : 0, tsv_field_long(fields, "fill_bits", -1));
		size_t len = 0;
		if (dcs == 0x00) {
			size_t hs = udh_header_septets(u.len);
			assert_true((size_t)udl >= hs);
			size_t ns = (size_t)udl - hs;
			uint8_t sept[200];
			assert_int_equal(ns, (size_t)units);
			assert_int_equal((size_t)n, gsm7_packed_len((size_t)udl, 0)); /* UD octets = ceil(UDL*7/8) */
			assert_int_equal(
			    gsm7_unpack(ud + u.len, (size_t)n - u.len, ns, udh_fill_bits(u.len), sept, sizeof sept), 0);
			assert_int_equal(gsm7_to_utf8(sept, ns, 0, 0, got, sizeof got, NULL), 0);
			assert_string_equal(got, text);

			/* Encode the same part from its text. */
			assert_int_equal(udh_add_concat(built, sizeof built, &len, u.concat_ref_bits == 16,
			                                u.concat_ref, u.concat_total, u.concat_seq),
			                 0);
			size_t ns2, packed;
			assert_int_equal(gsm7_from_utf8(text, strlen(text), 0, 0, sept, sizeof sept, &ns2, NULL), 0);
			assert_int_equal(ns2, ns);
			assert_int_equal(
			    gsm7_pack(sept, ns2, udh_fill_bits(len), false, built + len, sizeof built - len, &packed),
			    0);
			assert_int_equal(udh_header_septets(len) + ns2, (size_t)udl);
			len += packed;
		} else {
			assert_int_equal(dcs, 0x08);
			assert_int_equal(udl, n);
			assert_int_equal((size_t)(n - hn), (size_t)units * 2);
			assert_int_equal(ucs2_to_utf8(ud + u.len, (size_t)n - u.len, got, sizeof got, NULL), 0);
			assert_string_equal(got, text);

			assert_int_equal(udh_add_concat(built, sizeof built, &len, u.concat_ref_bits == 16,
			                                u.concat_ref, u.concat_total, u.concat_seq),
			                 0);
			size_t no;
			assert_int_equal(ucs2_from_utf8(text, strlen(text), built + len, sizeof built - len, &no, NULL),
			                 0);
			len += no;
		}
		assert_int_equal(len, (size_t)n);
		assert_memory_equal(built, ud, len);
		n_segments++;
	}
	assert_true(n_segments >= 10);
	tsv_free(&t);
}

static void test_udh_malformed(void **state)
{
	struct udh u;
	struct errbuf err = {{0}};
	const uint8_t overrun_udhl[] = {0x05, 0x00, 0x03, 0x01};
	assert_int_equal(udh_parse(overrun_udhl, sizeof overrun_udhl, &u, &err), -EMSGSIZE);
	assert_non_null(strstr(err.msg, "UDHL"));
	const uint8_t overrun_ie[] = {0x04, 0x00, 0x03, 0x01, 0x02};
	assert_int_equal(udh_parse(overrun_ie, sizeof overrun_ie, &u, &err), -EMSGSIZE);
	const uint8_t half_ie[] = {0x01, 0x00};
	assert_int_equal(udh_parse(half_ie, sizeof half_ie, &u, &err), -EMSGSIZE);
	assert_int_equal(udh_parse(half_ie, 0, &u, &err), -EMSGSIZE);
	const uint8_t empty[] = {0x00};
	assert_int_equal(udh_parse(empty, 1, &u, &err), 0);
	assert_int_equal(u.n_ies, 0);
	assert_int_equal(u.len, 1);
}

/* 23.040 9.2.3.24.1: total 0, seq 0 or seq > total make the IE ignored;
 * a repeated IE: the last one counts. */
static void test_udh_semantics(void **state)
{
	struct udh u;
	const uint8_t seq0[] = {0x05, 0x00, 0x03, 0x10, 0x02, 0x00};
	assert_int_equal(udh_parse(seq0, sizeof seq0, &u, NULL), 0);
	assert_false(u.has_concat);
	assert_int_equal(u.n_ies, 1);
	const uint8_t seq_gt[] = {0x05, 0x00, 0x03, 0x10, 0x02, 0x03};
	assert_int_equal(udh_parse(seq_gt, sizeof seq_gt, &u, NULL), 0);
	assert_false(u.has_concat);
	const uint8_t twice[] = {0x0A, 0x00, 0x03, 0x10, 0x02, 0x01, 0x00, 0x03, 0x11, 0x03, 0x02};
	assert_int_equal(udh_parse(twice, sizeof twice, &u, NULL), 0);
	assert_true(u.has_concat);
	assert_int_equal(u.concat_ref, 0x11);
	assert_int_equal(u.concat_seq, 2);
	assert_non_null(find_ie(&u, 0x00));
	/* National language shifts, 23.040 9.2.3.24.15/16. */
	const uint8_t shifts[] = {0x06, 0x24, 0x01, 0x02, 0x25, 0x01, 0x01};
	assert_int_equal(udh_parse(shifts, sizeof shifts, &u, NULL), 0);
	assert_int_equal(u.single_shift, 2);
	assert_int_equal(u.locking_shift, 1);
	const uint8_t none[] = {0x00};
	assert_int_equal(udh_parse(none, 1, &u, NULL), 0);
	assert_int_equal(u.single_shift, -1);
	assert_int_equal(u.locking_shift, -1);

	uint8_t b[8];
	size_t len = 0;
	assert_int_equal(udh_add_shift(b, sizeof b, &len, false, 2), 0);
	assert_int_equal(udh_add_shift(b, sizeof b, &len, true, 1), 0);
	const uint8_t want[] = {0x06, 0x24, 0x01, 0x02, 0x25, 0x01, 0x01};
	assert_int_equal(len, sizeof want);
	assert_memory_equal(b, want, len);
	assert_int_equal(udh_add_shift(b, sizeof b, &len, true, 1), -ENOSPC);
	assert_int_equal(udh_add_concat(b, sizeof b, &len, false, 1, 0, 1), -EINVAL);
	assert_int_equal(udh_add_concat(b, sizeof b, &len, false, 1, 2, 3), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_udh_header_vectors),
	    cmocka_unit_test(test_udh_segment_vectors),
	    cmocka_unit_test(test_udh_malformed),
	    cmocka_unit_test(test_udh_semantics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
