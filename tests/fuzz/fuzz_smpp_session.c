/*
 * fuzz_smpp_session: what the SMPP sessions do with a PDU after it decoded.
 * For a deliver_sm / data_sm (client side): receipt detection, addresses,
 * UDH, packed or unpacked GSM and the text conversion; for a submit_sm
 * (server side, submission building): the scheduled and validity times,
 * UDH and text, and for a concatenated part the join (join.c: the part's
 * place, the holder, the UDH kept).  Any input that smpp_pdu_decode accepts must go through
 * without a crash, and what would reach the core is well formed: a body in
 * valid UTF-8 or a payload in uppercase hex, with a known encoding.
 *
 * The session functions themselves (client.c on_deliver/on_receipt,
 * server.c submission_from_pdu) are static and tied to a live session, so
 * this target drives the same pure pieces in the same order; a seam that
 * returns the inbound / submission of a PDU would let it call them directly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/gsm7.h"
#include "codec/udh.h"
#include "codec/utf8.h"
#include "smpp/join.h"
#include "smpp/pdu.h"
#include "smpp/receipt.h"
#include "smpp/server_conf.h"
#include "smpp/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct smpp_pdu pdu;

static void check_text(char *body, char *payload, char *encoding)
{
	if (!encoding || (!body == !payload))
		abort();
	static const char *const known[] = {"gsm7", "ascii", "latin1", "ucs2", "binary"};
	int ok = 0;
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		ok |= strcmp(encoding, known[i]) == 0;
	if (!ok)
		abort();
	if (body && utf8_validate(body, strlen(body), NULL))
		abort();
	if (payload)
		for (const char *p = payload; *p; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F')))
				abort();
	free(body);
	free(payload);
	free(encoding);
}

static void free_addr(char *a)
{
	if (!a)
		abort();
	free(a);
}

/* A concatenated part as the server holds it: it leaves in exactly one set. */
static void join_of(const struct smpp_pdu *p, const uint8_t *d, size_t n)
{
	struct smpp_join_info ji;
	if (smpp_join_info(p, d, n, &ji))
		return;
	if (ji.udh_len > n || (ji.multi && (ji.seq < 1 || ji.seq > ji.total)))
		abort();
	if (!ji.multi)
		return;
	uint8_t strip[UDH_MAX_LEN + 1];
	if (ji.udh_len && smpp_join_udh_strip(d, ji.udh_len, strip) > ji.udh_len)
		abort();
	struct smpp_join *j = smpp_join_new(4, 1000, NULL);
	int rc = smpp_join_add(j, p->destination_addr, p->source_addr, &ji, p->sequence_number, p->command_id,
	                       d + ji.udh_len, n - ji.udh_len, NULL, 0);
	smpp_join_flush(j);
	struct smpp_join_set *set = smpp_join_poll(j, 0);
	if (rc == 0 && (!set || set->n != 1 || set->msg->len != n - ji.udh_len))
		abort();
	if (rc != 0 && set)
		abort();
	smpp_join_set_free(j, set);
	smpp_join_free(j);
}

static void text_of(const struct smpp_pdu *p, const uint8_t *d, size_t n, bool packed)
{
	enum smpp_alphabet a = smpp_wire_alphabet(p->data_coding);
	struct udh u = {0};
	struct errbuf err;
	size_t hl = 0;
	if ((p->esm_class & 0x40) && n > 0 && udh_parse(d, n, &u, &err) == 0)
		hl = u.len;
	if (hl > n)
		abort();
	size_t tn = n - hl;
	uint8_t *text;
	if (a == SMPP_ALPHA_GSM && packed) {
		size_t fill = udh_fill_bits(hl);
		size_t nsept = (tn * 8 - (tn ? fill : 0)) / 7;
		text = malloc(nsept + 1);
		if (gsm7_unpack(d + hl, tn, nsept, (unsigned)fill, text, nsept + 1))
			nsept = 0;
		tn = nsept;
	} else {
		text = malloc(tn + 1);
		memcpy(text, d + hl, tn);
	}
	char *body = NULL, *payload = NULL, *enc = NULL;
	smpp_wire_text(a, text, tn, &body, &payload, &enc);
	free(text);
	check_text(body, payload, enc);
	if (hl) {
		char *h = smpp_wire_hex(d, hl);
		if (strlen(h) != 2 * hl)
			abort();
		free(h);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smpp_pdu_error err;
	if (size < 1 || smpp_pdu_decode(data + 1, size - 1, &pdu, &err))
		return 0;
	bool packed = data[0] & 1;
	const struct smpp_pdu *p = &pdu;
	const uint8_t *d = p->short_message;
	size_t n = p->sm_length;
	if ((p->command_id == SMPP_DATA_SM || n == 0) && p->known.has_message_payload) {
		d = p->known.message_payload;
		n = p->known.message_payload_len;
	}
	switch (p->command_id) {
	case SMPP_DELIVER_SM:
	case SMPP_DATA_SM: {
		struct smpp_receipt rc;
		if ((p->esm_class & 0x3C) && smpp_receipt_parse((const char *)d, n, &rc) == 0) {
			if (!rc.has_id || strlen(rc.id) >= sizeof rc.id)
				abort();
			(void)smpp_receipt_state_name(rc.state);
		}
		free_addr(smpp_wire_address_in(p->source_addr_ton, p->source_addr));
		free_addr(smpp_wire_address_in(p->dest_addr_ton, p->destination_addr));
		text_of(p, d, n, packed);
		break;
	}
	case SMPP_SUBMIT_SM: {
		int64_t t;
		int64_t now = 1767225600; /* 2026-01-01 */
		(void)!smpp_time_parse(p->schedule_delivery_time, now, &t);
		(void)!smpp_time_parse(p->validity_period, now, &t);
		free_addr(smpp_wire_address_in(p->dest_addr_ton, p->destination_addr));
		text_of(p, d, n, false);
		join_of(p, d, n);
		break;
	}
	default:
		break;
	}
	return 0;
}
