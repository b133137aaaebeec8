/*
 * SMPP PDU codec tests written by hand, for what the vectors of
 * tests/vectors/smpp.tsv (test_smpp_pdu.c) do not cover: every truncation of
 * every vector, limits, TLV errors, unknown commands, submit_multi, encoding
 * errors, names and status codes.  Their expected values are written out
 * from the specification, never produced by the encoder under test.
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
#include "smpp/status.h"
#include "util.h"

#include "smpp_pdu_vectors.h"

static struct smpp_pdu *decode_vector(const char *id, uint8_t **buf)
{
	size_t len;
	*buf = unhex(find_vector(id)->hex, &len);
	return decode_ok(*buf, len);
}

/* Builds a PDU by hand: header with the right command_length + body. */
static uint8_t *build(uint32_t command_id, uint32_t seq, const char *body_hex, size_t *len)
{
	size_t blen = strlen(body_hex) / 2;
	*len = 16 + blen;
	uint8_t *b = xmalloc(*len);
	uint32_t h[4] = {(uint32_t)*len, command_id, 0, seq};
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			b[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
	assert_int_equal(hex_decode(body_hex, b + 16, blen), (int)blen);
	return b;
}

static void expect_reject(const uint8_t *buf, size_t len, uint32_t status, const char *reason_part)
{
	struct smpp_pdu *pdu = xmalloc(sizeof *pdu);
	struct smpp_pdu_error err;
	int rc = smpp_pdu_decode(buf, len, pdu, &err);
	assert_int_equal(rc, -EBADMSG);
	if (err.status != status)
		fail_msg("want status 0x%08X, got 0x%08X (%s)", status, err.status, err.reason);
	if (reason_part && !strstr(err.reason, reason_part))
		fail_msg("reason '%s' lacks '%s'", err.reason, reason_part);
	free(pdu);
}

/* Every prefix of every vector, with command_length both left alone and
 * patched to the prefix: no out-of-bounds read (run under ASan), and a
 * prefix whose command_length disagrees is always rejected. */
static void test_every_truncation(void **state)
{
	for (size_t i = 0; i < nvectors; i++) {
		size_t len;
		uint8_t *full = unhex(vectors[i].hex, &len);
		for (size_t l = 0; l < len; l++) {
			uint8_t *b = xmalloc(l ? l : 1);
			memcpy(b, full, l);
			struct smpp_pdu *pdu = xmalloc(sizeof *pdu);
			struct smpp_pdu_error err;
			if (strcmp(vectors[i].kind, "error"))
				assert_int_equal(smpp_pdu_decode(b, l, pdu, &err), -EBADMSG);
			if (l >= 4) {
				b[0] = (uint8_t)(l >> 24), b[1] = (uint8_t)(l >> 16), b[2] = (uint8_t)(l >> 8),
				b[3] = (uint8_t)l;
				int rc = smpp_pdu_decode(b, l, pdu, &err);
				assert_true(rc == 0 || rc == -EBADMSG);
				if (rc)
					assert_true(err.status != 0 && err.reason[0]);
			}
			free(pdu);
			free(b);
		}
		free(full);
	}
}

static void test_missing_nul(void **state)
{
	size_t len;
	/* submit_sm whose PDU ends inside source_addr ("MyBrand", no NUL). */
	uint8_t *b = build(SMPP_SUBMIT_SM, 5, "0005004D794272616E64", &len);
	expect_reject(b, len, SMPP_ESME_RINVCMDLEN, "source_addr");
	free(b);
	/* bind_transmitter whose system_id never ends. */
	b = build(SMPP_BIND_TRANSMITTER, 1, "41424344", &len);
	expect_reject(b, len, SMPP_ESME_RINVCMDLEN, "system_id");
	free(b);
}

static void test_oversized_cstr(void **state)
{
	size_t len;
	/* source_addr of 21 digits: v3.4 allows 20 + NUL. */
	uint8_t *b = build(SMPP_SUBMIT_SM, 5,
	                   "00"
	                   "0101"
	                   "31323334353637383930313233343536373839303100"
	                   "0101313200"
	                   "000000000000000000000000",
	                   &len);
	expect_reject(b, len, SMPP_ESME_RINVSRCADR, "source_addr");
	free(b);
	/* 20 digits is fine. */
	b = build(SMPP_SUBMIT_SM, 5,
	          "00"
	          "0101"
	          "313233343536373839303132333435363738393000"
	          "0101313200"
	          "00000000000000000000",
	          &len);
	free(decode_ok(b, len));
	free(b);
	/* system_id of 16 octets (max 15 + NUL). */
	b = build(SMPP_BIND_TRANSMITTER, 1,
	          "3132333435363738393031323334353600"
	          "707700"
	          "00"
	          "34"
	          "0000"
	          "00",
	          &len);
	expect_reject(b, len, SMPP_ESME_RINVSYSID, "system_id");
	free(b);
	/* password of 9 octets (max 8 + NUL). */
	b = build(SMPP_BIND_TRANSMITTER, 1,
	          "6100"
	          "31323334353637383900"
	          "00"
	          "34"
	          "0000"
	          "00",
	          &len);
	expect_reject(b, len, SMPP_ESME_RINVPASWD, "password");
	free(b);
}

static void test_length_limits(void **state)
{
	size_t len = SMPP_PDU_MAX_LEN + 1;
	uint8_t *b = xcalloc(1, len);
	b[1] = 0x01, b[3] = 0x01; /* command_length 65537 */
	b[7] = 0x15;              /* enquire_link */
	expect_reject(b, len, SMPP_ESME_RINVCMDLEN, "> 65536");
	size_t need;
	struct smpp_pdu_error err;
	assert_int_equal(smpp_pdu_frame(b, 4, &need, &err), -EBADMSG);
	assert_int_equal(err.status, SMPP_ESME_RINVCMDLEN);
	assert_true(err.generic_nack);
	free(b);

	/* command_length 15 agreeing with the buffer. */
	uint8_t short_pdu[15] = {0, 0, 0, 15, 0, 0, 0, 0x15};
	expect_reject(short_pdu, sizeof short_pdu, SMPP_ESME_RINVCMDLEN, "< 16");
	assert_int_equal(smpp_pdu_frame(short_pdu, 4, &need, &err), -EBADMSG);
	expect_reject(short_pdu, 3, SMPP_ESME_RINVCMDLEN, NULL);
	expect_reject(short_pdu, 0, SMPP_ESME_RINVCMDLEN, NULL);

	/* Framing: fewer than 4 octets is "need the header". */
	assert_int_equal(smpp_pdu_frame(short_pdu, 3, &need, &err), 0);
	assert_int_equal(need, 16);
	uint8_t huge[4] = {0xFF, 0xFF, 0xFF, 0xFF};
	assert_int_equal(smpp_pdu_frame(huge, 4, &need, &err), -EBADMSG);

	/* Trailing octets after command_length are not silently dropped. */
	uint8_t *v;
	size_t vlen;
	v = unhex(find_vector("smpp-011")->hex, &vlen);
	uint8_t *more = xcalloc(1, vlen + 1);
	memcpy(more, v, vlen);
	expect_reject(more, vlen + 1, SMPP_ESME_RINVCMDLEN, "!= 17");
	free(more);
	free(v);
}

static void test_sm_length(void **state)
{
	size_t len;
	/* sm_length 255 with 255 octets present: above the 254 maximum. */
	char body[2 * 300 + 64] = "00"
	                          "0000"
	                          "3100"
	                          "0000"
	                          "3200"
	                          "000000"
	                          "00"
	                          "00"
	                          "00"
	                          "00"
	                          "00"
	                          "00"
	                          "FF";
	for (int i = 0; i < 255; i++)
		strcat(body, "41");
	uint8_t *b = build(SMPP_SUBMIT_SM, 1, body, &len);
	expect_reject(b, len, SMPP_ESME_RINVMSGLEN, "sm_length 255");
	free(b);
	/* sm_length missing altogether. */
	b = build(SMPP_SUBMIT_SM, 1,
	          "00"
	          "0000"
	          "3100"
	          "0000"
	          "3200"
	          "000000"
	          "00"
	          "00"
	          "00"
	          "00"
	          "00"
	          "00",
	          &len);
	expect_reject(b, len, SMPP_ESME_RINVCMDLEN, "sm_length");
	free(b);
}

static void test_tlv_errors(void **state)
{
	size_t len;
	const char *sm = "00"
	                 "0000"
	                 "3100"
	                 "0000"
	                 "3200"
	                 "000000"
	                 "00"
	                 "00"
	                 "00"
	                 "00"
	                 "00"
	                 "00"
	                 "00";
	char body[1024];
	/* Two octets after the mandatory part: not even a TLV header. */
	snprintf(body, sizeof body, "%s0424", sm);
	uint8_t *b = build(SMPP_SUBMIT_SM, 1, body, &len);
	expect_reject(b, len, SMPP_ESME_RINVOPTPARSTREAM, "TLV header");
	free(b);
	/* sar_msg_ref_num must be 2 octets. */
	snprintf(body, sizeof body, "%s020C000101", sm);
	b = build(SMPP_SUBMIT_SM, 1, body, &len);
	expect_reject(b, len, SMPP_ESME_RINVPARLEN, "sar_msg_ref_num");
	free(b);
	/* network_error_code must be 3 octets. */
	snprintf(body, sizeof body, "%s042300020300", sm);
	b = build(SMPP_SUBMIT_SM, 1, body, &len);
	expect_reject(b, len, SMPP_ESME_RINVPARLEN, "network_error_code");
	free(b);
	/* Zero-length unknown TLV is fine and kept. */
	snprintf(body, sizeof body, "%s14010000", sm);
	b = build(SMPP_SUBMIT_SM, 1, body, &len);
	struct smpp_pdu *pdu = decode_ok(b, len);
	assert_int_equal(pdu->tlv_count, 1);
	assert_int_equal(pdu->tlvs[0].tag, 0x1401);
	assert_int_equal(pdu->tlvs[0].len, 0);
	free(pdu);
	free(b);
	/* SMPP_PDU_MAX_TLVS + 1 TLVs. */
	char *many = xmalloc(strlen(sm) + 8 * (SMPP_PDU_MAX_TLVS + 1) + 1);
	strcpy(many, sm);
	for (int i = 0; i <= SMPP_PDU_MAX_TLVS; i++)
		strcat(many, "14000000");
	b = build(SMPP_SUBMIT_SM, 1, many, &len);
	expect_reject(b, len, SMPP_ESME_RINVOPTPARSTREAM, "TLVs");
	free(b);
	free(many);
}

static void test_unknown_command_and_resp_nack(void **state)
{
	size_t len;
	/* query_last_msgs (v3.3 0x23) is not supported: generic_nack. */
	uint8_t *b = build(0x00000023, 9, "", &len);
	struct smpp_pdu *pdu = xmalloc(sizeof *pdu);
	struct smpp_pdu_error err;
	assert_int_equal(smpp_pdu_decode(b, len, pdu, &err), -EBADMSG);
	assert_int_equal(err.status, SMPP_ESME_RINVCMDID);
	assert_true(err.generic_nack);
	assert_int_equal(err.sequence_number, 9);
	free(b);
	/* A broken response cannot be answered by a response. */
	b = build(SMPP_SUBMIT_SM_RESP, 9, "6162", &len);
	assert_int_equal(smpp_pdu_decode(b, len, pdu, &err), -EBADMSG);
	assert_int_equal(err.status, SMPP_ESME_RINVCMDLEN);
	assert_true(err.generic_nack);
	free(b);
	free(pdu);
}

static void test_known_tlvs(void **state)
{
	uint8_t *buf;
	struct smpp_pdu *p = decode_vector("smpp-019", &buf);
	assert_true(p->known.has_sar_msg_ref_num && p->known.has_sar_total_segments && p->known.has_sar_segment_seqnum);
	assert_int_equal(p->known.sar_msg_ref_num, 0x012C);
	assert_int_equal(p->known.sar_total_segments, 2);
	assert_int_equal(p->known.sar_segment_seqnum, 1);
	free(p), free(buf);

	p = decode_vector("smpp-027", &buf);
	assert_string_equal(p->known.receipted_message_id, "1C34");
	assert_int_equal(p->known.message_state, 5);
	assert_int_equal(p->known.network_error_type, 3);
	assert_int_equal(p->known.network_error_code, 1);
	assert_non_null(smpp_pdu_find_tlv(p, SMPP_TLV_NETWORK_ERROR_CODE));
	assert_null(smpp_pdu_find_tlv(p, SMPP_TLV_MESSAGE_PAYLOAD));
	free(p), free(buf);

	p = decode_vector("smpp-030", &buf);
	assert_int_equal(p->known.source_port, 0x23F0);
	assert_int_equal(p->known.destination_port, 0x0B84);
	assert_int_equal(p->known.message_payload_len, 2);
	assert_memory_equal(p->known.message_payload, "\x01\x06", 2);
	free(p), free(buf);

	p = decode_vector("smpp-018", &buf);
	assert_int_equal(p->known.message_payload_len, 300);
	assert_int_equal(p->sm_length, 0);
	free(p), free(buf);

	p = decode_vector("smpp-043", &buf);
	assert_true(p->known.has_congestion_state);
	assert_int_equal(p->known.congestion_state, 80);
	free(p), free(buf);

	p = decode_vector("smpp-040", &buf);
	assert_int_equal(p->known.sc_interface_version, 0x50);
	free(p), free(buf);

	p = decode_vector("smpp-006", &buf);
	assert_true(p->body_absent);
	assert_int_equal(p->command_status, SMPP_ESME_RINVPASWD);
	free(p), free(buf);
}

static const char multi_body[] = "00"
                                 "0101"
                                 "3132333400"
                                 "02"
                                 "01"
                                 "0101"
                                 "34343737303039303030303100"
                                 "02"
                                 "667269656E647300"
                                 "00"
                                 "00"
                                 "00"
                                 "00"
                                 "00"
                                 "01"
                                 "00"
                                 "00"
                                 "00"
                                 "02"
                                 "6869";

static void test_submit_multi(void **state)
{
	size_t len;
	uint8_t *b = build(SMPP_SUBMIT_MULTI, 40, multi_body, &len);
	struct smpp_pdu *p = decode_ok(b, len);
	char out[2048];
	assert_true(smpp_pdu_fields(p, out, sizeof out) > 0);
	assert_fields_equal("submit_multi",
	                    "command_length=62;command_id=0x00000021;command_status=0x00000000;"
	                    "sequence_number=40;command=submit_multi;service_type=;source_addr_ton=1;"
	                    "source_addr_npi=1;source_addr=1234;number_of_dests=2;"
	                    "dest_address.1.dest_flag=1;dest_address.1.dest_addr_ton=1;"
	                    "dest_address.1.dest_addr_npi=1;dest_address.1.destination_addr=447700900001;"
	                    "dest_address.2.dest_flag=2;dest_address.2.dl_name=friends;esm_class=0x00;"
	                    "protocol_id=0x00;priority_flag=0x00;schedule_delivery_time=;validity_period=;"
	                    "registered_delivery=0x01;replace_if_present_flag=0;data_coding=0x00;"
	                    "sm_default_msg_id=0;sm_length=2;short_message_hex=6869",
	                    out);
	uint8_t enc[128];
	size_t elen;
	assert_int_equal(smpp_pdu_encode(p, enc, sizeof enc, &elen, NULL), 0);
	assert_int_equal(elen, len);
	assert_memory_equal(enc, b, len);
	free(p);
	free(b);

	b = build(SMPP_SUBMIT_MULTI_RESP, 40,
	          "6D3100"
	          "01"
	          "0101"
	          "34343737303039303030303200"
	          "0000000B",
	          &len);
	p = decode_ok(b, len);
	assert_true(smpp_pdu_fields(p, out, sizeof out) > 0);
	assert_fields_equal("submit_multi_resp",
	                    "command_length=39;command_id=0x80000021;command_status=0x00000000;sequence_number=40;"
	                    "command=submit_multi_resp;message_id=m1;no_unsuccess=1;unsuccess_sme.1.dest_addr_ton=1;"
	                    "unsuccess_sme.1.dest_addr_npi=1;unsuccess_sme.1.destination_addr=447700900002;"
	                    "unsuccess_sme.1.error_status_code=0x0000000B",
	                    out);
	assert_int_equal(smpp_pdu_encode(p, enc, sizeof enc, &elen, NULL), 0);
	assert_memory_equal(enc, b, len);
	free(p);
	free(b);

	/* dest_flag 3 and number_of_dests 0. */
	b = build(SMPP_SUBMIT_MULTI, 1,
	          "00"
	          "0101"
	          "3100"
	          "01"
	          "03",
	          &len);
	expect_reject(b, len, SMPP_ESME_RINVDESTFLAG, "dest_flag");
	free(b);
	b = build(SMPP_SUBMIT_MULTI, 1,
	          "00"
	          "0101"
	          "3100"
	          "00",
	          &len);
	expect_reject(b, len, SMPP_ESME_RINVNUMDESTS, "number_of_dests");
	free(b);
	/* Truncated error_status_code. */
	b = build(SMPP_SUBMIT_MULTI_RESP, 40,
	          "6D3100"
	          "01"
	          "0101"
	          "3200"
	          "0000",
	          &len);
	expect_reject(b, len, SMPP_ESME_RINVCMDLEN, "error_status_code");
	free(b);
}

static void test_encode_errors(void **state)
{
	struct smpp_pdu *p = xcalloc(1, sizeof *p);
	uint8_t out[512];
	size_t olen;
	struct errbuf eb = {{0}};
	p->command_id = 0x00000200;
	assert_int_equal(smpp_pdu_encode(p, out, sizeof out, &olen, &eb), -EINVAL);
	p->command_id = SMPP_SUBMIT_SM;
	memset(p->source_addr, '1', 21); /* 21 characters: too long for submit_sm */
	assert_int_equal(smpp_pdu_encode(p, out, sizeof out, &olen, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "source_addr"));
	memset(p->source_addr, 0, sizeof p->source_addr);
	memset(p->source_addr, '1', 20);
	assert_int_equal(smpp_pdu_encode(p, out, sizeof out, &olen, &eb), 0);
	p->body_absent = true; /* a request always has its body */
	assert_int_equal(smpp_pdu_encode(p, out, sizeof out, &olen, &eb), -EINVAL);
	p->body_absent = false;
	assert_int_equal(smpp_pdu_add_tlv(p, 0x0424, NULL, 3), 0);
	assert_int_equal(smpp_pdu_encode(p, out, sizeof out, &olen, &eb), -EINVAL);
	p->tlv_count = 0;
	for (int i = 0; i < SMPP_PDU_MAX_TLVS; i++)
		assert_int_equal(smpp_pdu_add_tlv(p, 0x1400, NULL, 0), 0);
	assert_int_equal(smpp_pdu_add_tlv(p, 0x1400, NULL, 0), -ENOSPC);
	assert_int_equal(smpp_pdu_encode(p, out, 16, &olen, &eb), -ENOSPC);
	free(p);
}

static void test_names(void **state)
{
	uint32_t id;
	assert_string_equal(smpp_pdu_command_name(SMPP_DATA_SM_RESP), "data_sm_resp");
	assert_null(smpp_pdu_command_name(0x00000200));
	assert_int_equal(smpp_pdu_command_id("broadcast_sm", &id), 0);
	assert_int_equal(id, 0x00000111);
	assert_int_equal(smpp_pdu_command_id("nope", &id), -EINVAL);
	assert_string_equal(smpp_pdu_tlv_name(0x0424), "message_payload");
	assert_null(smpp_pdu_tlv_name(0x1400));
}

static void test_status(void **state)
{
	assert_string_equal(smpp_status_name(0x58), "ESME_RTHROTTLED");
	assert_string_equal(smpp_status_name(0xC2), "ESME_RINVPARLEN");
	assert_string_equal(smpp_status_name(0x0B), "ESME_RINVDSTADR");
	assert_null(smpp_status_name(0x400));
	assert_int_equal(smpp_status_classify(0x00), SMPP_STATUS_OK);
	assert_int_equal(smpp_status_classify(0x58), SMPP_STATUS_THROTTLED);
	assert_int_equal(smpp_status_classify(0x08), SMPP_STATUS_TEMPORARY);  /* RSYSERR */
	assert_int_equal(smpp_status_classify(0x14), SMPP_STATUS_THROTTLED);  /* RMSGQFUL: slow down */
	assert_int_equal(smpp_status_classify(0x64), SMPP_STATUS_TEMPORARY);  /* RX_T_APPN */
	assert_int_equal(smpp_status_classify(0x0B), SMPP_STATUS_PERMANENT);  /* RINVDSTADR */
	assert_int_equal(smpp_status_classify(0x01), SMPP_STATUS_PERMANENT);  /* RINVMSGLEN */
	assert_int_equal(smpp_status_classify(0x65), SMPP_STATUS_PERMANENT);  /* RX_P_APPN */
	assert_int_equal(smpp_status_classify(0x433), SMPP_STATUS_TEMPORARY); /* vendor */
	assert_string_equal(smpp_status_class_name(SMPP_STATUS_THROTTLED), "throttled");
}

int main(void)
{
	if (load_vectors())
		return 1;
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_missing_nul),
	    cmocka_unit_test(test_oversized_cstr),
	    cmocka_unit_test(test_length_limits),
	    cmocka_unit_test(test_sm_length),
	    cmocka_unit_test(test_tlv_errors),
	    cmocka_unit_test(test_unknown_command_and_resp_nack),
	    cmocka_unit_test(test_known_tlvs),
	    cmocka_unit_test(test_submit_multi),
	    cmocka_unit_test(test_encode_errors),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
