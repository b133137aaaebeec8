/*
 * libFuzzer target for the SMPP codec.  Any input: framing and decoding
 * must not misbehave; whatever decodes must re-encode to the very same
 * octets and decode again to the same fields (the codec keeps everything,
 * TLV order included).  The same octets are also fed to the delivery
 * receipt parser, whose formatted output must parse back to the same id
 * and state.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smpp/pdu.h"
#include "smpp/receipt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct smpp_pdu pdu1, pdu2;
static uint8_t enc[SMPP_PDU_MAX_LEN];
static char fields1[SMPP_PDU_FIELDS_MAX], fields2[SMPP_PDU_FIELDS_MAX];

static void fuzz_receipt(const uint8_t *data, size_t size)
{
	struct smpp_receipt r, back;
	if (smpp_receipt_parse((const char *)data, size, &r))
		return;
	char text[512];
	int n = smpp_receipt_format(&r, text, sizeof text);
	if (n < 0)
		abort(); /* every field is bounded well below 512 in total */
	if (smpp_receipt_parse(text, (size_t)n, &back) || strcmp(r.id, back.id) || r.state != back.state)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smpp_pdu_error err;
	size_t need;
	int framed = smpp_pdu_frame(data, size, &need, &err);

	if (smpp_pdu_decode(data, size, &pdu1, &err) == 0) {
		if (framed != 1 || need != size)
			abort();
		if (smpp_pdu_fields(&pdu1, fields1, sizeof fields1) < 0)
			abort();
		size_t elen;
		if (smpp_pdu_encode(&pdu1, enc, sizeof enc, &elen, NULL) != 0)
			abort();
		if (elen != size || memcmp(enc, data, size) != 0)
			abort();
		if (smpp_pdu_decode(enc, elen, &pdu2, &err) != 0)
			abort();
		if (smpp_pdu_fields(&pdu2, fields2, sizeof fields2) < 0 || strcmp(fields1, fields2) != 0)
			abort();
	} else if (err.status == 0 || err.reason[0] == '\0') {
		abort();
	}

	fuzz_receipt(data, size);
	return 0;
}
